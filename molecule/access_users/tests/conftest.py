# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The access_users scenario's node, reached three ways: testinfra's podman backend (to look at the real
system), plain ssh from the controller with the people's own keys (to try their logins), and ansible-playbook
(to apply changed records, the way an operator would)."""

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
INVENTORY = SCENARIO / "inventory" / "access_users.orocloud.yml"
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
        return [
            (task["task"]["name"], task["hosts"][host])
            for play in self.data["plays"]
            for task in play["tasks"]
            if host in task["hosts"]
        ]

    def result(self, host, task_name):
        return next(r for name, r in self.results(host) if name == task_name)

    def stats(self, host):
        return self.data["stats"][host]


ACCESS_TASK = "Manage people's accounts, keys, log access and sudo rights in one call"


def converge(extra_vars=None, check=False):
    argv = [str(BIN / "ansible-playbook"), "-i", str(INVENTORY), str(SCENARIO / "converge.yml")]
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


@functools.cache
def _records():
    """The scenario's user records as Ansible resolves them (group_vars with the keys read in)."""
    proc = subprocess.run(
        [str(BIN / "ansible"), "-i", str(INVENTORY), node_name(), "-m", "ansible.builtin.debug",
         "-a", "var=access_users"],
        capture_output=True, text=True, timeout=120, check=True, cwd=str(SCENARIO),
        env=_env(ANSIBLE_LOAD_CALLBACK_PLUGINS="True", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"),
    )
    data = json.loads(proc.stdout)
    return json.dumps(data["plays"][0]["tasks"][0]["hosts"][node_name()]["access_users"])


def records():
    """A fresh copy of the scenario's records, to change for one run."""
    return json.loads(_records())


def record(users, name):
    return next(u for u in users if u["name"] == name)
