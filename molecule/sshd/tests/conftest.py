# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sshd scenario's node, reached three ways: testinfra's podman backend (to look at the real
system), plain ssh from the controller (to try logins), and ansible-playbook (to run the role again
with other variables, the way an operator would)."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import testinfra

SCENARIO = Path(__file__).resolve().parents[1]
ROOT = SCENARIO.parents[1]
INVENTORY = SCENARIO / "inventory" / "sshd.orocloud.yml"
BIN = Path(sys.executable).parent


def _env(**extra):
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(ROOT / "tests" / "ansible.cfg"),  # ansible-core defaults, then these:
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
        ANSIBLE_PIPELINING="True",
        ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="True",
        ANSIBLE_NOCOLOR="True",
    )
    env.update(extra)
    return env


@functools.cache
def inventory():
    out = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(INVENTORY), "--list"],
        check=True,
        capture_output=True,
        text=True,
        env=_env(),
    ).stdout
    return json.loads(out, object_hook=lambda d: d["__ansible_unsafe"] if set(d) == {"__ansible_unsafe"} else d)


def node_name():
    (name,) = inventory()["orocloud"]["hosts"]
    return name


def hostvars():
    return inventory()["_meta"]["hostvars"][node_name()]


def lab_dir():
    base = os.environ.get("OROCLOUD_LAB_DIR") or str(ROOT / ".build" / "lab")
    return Path(base) / hostvars()["orocloud_project"]


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


class PlaybookRun:
    """One ansible-playbook run, read through the ansible.posix.json callback."""

    def __init__(self, proc):
        self.rc = proc.returncode
        self.stderr = proc.stderr
        try:
            self.data = json.loads(proc.stdout)
        except ValueError:
            raise AssertionError("ansible-playbook printed no JSON:\n%s\n%s" % (proc.stdout, proc.stderr)) from None

    def results(self, host):
        """(task name, result) of every task that ran on ``host``, in order."""
        return [
            (task["task"]["name"], task["hosts"][host])
            for play in self.data["plays"]
            for task in play["tasks"]
            if host in task["hosts"]
        ]

    def failures(self, host):
        return [(name, r) for name, r in self.results(host) if r.get("failed") and not r.get("ignore_errors")]

    def failure_message(self, host):
        return "\n".join(r.get("msg", "") for _name, r in self.failures(host))

    def result(self, host, task_name):
        return next(r for name, r in self.results(host) if name == task_name)

    def stats(self, host):
        return self.data["stats"][host]


def playbook(path, extra_vars=None, check=False):
    argv = [str(BIN / "ansible-playbook"), "-i", str(INVENTORY), str(path)]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    if check:
        argv += ["--check", "--diff"]
    proc = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=600,
        env=_env(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"),
        cwd=str(SCENARIO),
        check=False,
    )
    return PlaybookRun(proc)


def converge(extra_vars=None, check=False):
    return playbook(SCENARIO / "converge.yml", extra_vars, check)
