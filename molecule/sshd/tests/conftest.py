# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sshd scenario's node, reached three ways: testinfra's podman backend (to look at the real
system), plain ssh from the controller (to try logins), and ansible-playbook (to run the role again
with other variables, the way an operator would)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import testinfra

SCENARIO = Path(__file__).resolve().parents[1]
INVENTORY = SCENARIO / "inventory" / "sshd.orocloud.yml"
sys.path.insert(0, str(SCENARIO.parents[1] / "tests" / "lab"))

from scenario import load_inventory, project_lab_dir, run_playbook  # noqa: E402


def inventory():
    return load_inventory(INVENTORY)


def node_name():
    (name,) = inventory()["orocloud"]["hosts"]
    return name


def hostvars():
    return inventory()["_meta"]["hostvars"][node_name()]


def lab_dir():
    return project_lab_dir(hostvars()["orocloud_project"])


@pytest.fixture(scope="session")
def node():
    return testinfra.get_host("podman://" + node_name())


@pytest.fixture(scope="session")
def address():
    return hostvars()["orocloud_address"]


def ssh(address, *options, command="true"):
    """A new SSH connection from the controller (no multiplexing), as root with the lab's key."""
    argv = ["ssh", "-F", str(lab_dir() / "ssh_config"), "-o", "ControlPath=none", "-o", "BatchMode=yes"]
    argv += ["-o", "ConnectTimeout=5", *options, "root@" + address, command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def playbook(path, extra_vars=None, check=False):
    return run_playbook(INVENTORY, path, extra_vars, check, cwd=SCENARIO)


def converge(extra_vars=None, check=False):
    return playbook(SCENARIO / "converge.yml", extra_vars, check)
