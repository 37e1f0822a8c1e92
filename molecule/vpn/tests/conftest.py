# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vpn scenario's nodes, reached three ways: testinfra's podman backend (the real system of the
gateway, the bridge host and the client), the OpenVPN client on the client node (tests/lab/vpnlab.py),
and ansible-playbook (enrolment and revocation the way an operator runs them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import testinfra

SCENARIO = Path(__file__).resolve().parents[1]
INVENTORY = SCENARIO / "inventory" / "hosts.yml"
BIN = Path(sys.executable).parent
GATEWAY = "movpn-prod-vpn1"
BRIDGE = "movpn-prod-bridge1"
CLIENT = "movpn-client1"
SERVICE = "openvpn-server@orocloud.service"
PAM_LOG = "openvpn(pam_google_authenticator)"
sys.path.insert(0, str(SCENARIO.parents[1] / "tests" / "lab"))

from scenario import ansible_env, load_inventory, project_lab_dir  # noqa: E402
from vpnlab import Profiles, Vpn  # noqa: E402


def inventory():
    return load_inventory(INVENTORY)


def hostvars(host):
    return inventory()["_meta"]["hostvars"][host]


def lab_dir():
    return project_lab_dir("movpn")


PROFILES = Profiles(lab_dir() / "vpn-profiles" / "movpn-prod")
profile_dir = PROFILES.dir
totp = PROFILES.totp
fresh_code = PROFILES.fresh_code


@pytest.fixture(scope="session")
def gateway():
    return testinfra.get_host("podman://" + GATEWAY)


@pytest.fixture(scope="session")
def bridge():
    return testinfra.get_host("podman://" + BRIDGE)


@pytest.fixture(scope="session")
def client():
    return testinfra.get_host("podman://" + CLIENT)


@pytest.fixture(scope="session")
def vpn(client):
    clients = Vpn(client, CLIENT, PROFILES)
    yield clients
    clients.stop_all()


def playbook(path, extra_vars=None, verbosity=None, check=False, json_output=True):
    argv = [str(BIN / "ansible-playbook"), "-i", str(INVENTORY), str(path)]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    if verbosity:
        argv.append("-" + "v" * verbosity)
    if check:
        argv += ["--check", "--diff"]
    extra = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"} if json_output else {}
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=600, env=ansible_env(**extra), cwd=str(SCENARIO), check=False
    )


def tasks(proc, host):
    """(task name, result) of every task that ran on ``host``, from the ansible.posix.json callback
    (a role's task without its ``<role> : `` prefix)."""
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("ansible-playbook printed no JSON:\n%s\n%s" % (proc.stdout, proc.stderr)) from None
    return [
        (task["task"]["name"].split(" : ", 1)[-1], task["hosts"][host])
        for play in data["plays"]
        for task in play["tasks"]
        if host in task["hosts"]
    ], data["stats"].get(host, {})
