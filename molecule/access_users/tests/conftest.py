# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The access_users scenario's node, reached three ways: testinfra's podman backend (to look at the real
system), plain ssh from the controller with the people's own keys (to try their logins), and ansible-playbook
(to apply changed records, the way an operator would)."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest
import testinfra

SCENARIO = Path(__file__).resolve().parents[1]
INVENTORY = SCENARIO / "inventory" / "access_users.orocloud.yml"
sys.path.insert(0, str(SCENARIO.parents[1] / "tests" / "lab"))

from scenario import BIN, ansible_env, load_inventory, project_lab_dir, run_playbook  # noqa: E402


def inventory():
    return load_inventory(INVENTORY)


def node_name():
    (name,) = inventory()["orocloud"]["hosts"]
    return name


def hostvars():
    return inventory()["_meta"]["hostvars"][node_name()]


def lab_dir():
    return project_lab_dir(hostvars()["orocloud_project"])


def key_path(name):
    """The private key of a key pair that tasks/keys.yml made."""
    return lab_dir() / "access" / name


def public_key(name):
    return (lab_dir() / "access" / (name + ".pub")).read_text().strip()


@pytest.fixture(scope="session")
def node():
    return testinfra.get_host("podman://" + node_name())


@pytest.fixture(scope="session")
def address():
    return hostvars()["orocloud_address"]


def login(address, user, key, command="id -un", timeout=30):
    """A login as ``user`` with one private key only, from the controller, like the person would."""
    argv = [
        "ssh", "-F", "/dev/null", "-i", str(key_path(key)), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10",
        "-o", "LogLevel=ERROR", "%s@%s" % (user, address), command,
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


ACCESS_TASK = "Manage people's accounts, keys, log access and sudo rights in one call"


def converge(extra_vars=None, check=False):
    return run_playbook(INVENTORY, SCENARIO / "converge.yml", extra_vars, check, cwd=SCENARIO)


@functools.cache
def _records():
    """The scenario's user records as Ansible resolves them (group_vars with the keys read in)."""
    proc = subprocess.run(
        [str(BIN / "ansible"), "-i", str(INVENTORY), node_name(), "-m", "ansible.builtin.debug",
         "-a", "var=access_users"],
        capture_output=True, text=True, timeout=120, check=True, cwd=str(SCENARIO),
        env=ansible_env(ANSIBLE_LOAD_CALLBACK_PLUGINS="True", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"),
    )
    data = json.loads(proc.stdout)
    return json.dumps(data["plays"][0]["tasks"][0]["hosts"][node_name()]["access_users"])


def records():
    """A fresh copy of the scenario's records, to change for one run."""
    return json.loads(_records())


def record(users, name):
    return next(u for u in users if u["name"] == name)
