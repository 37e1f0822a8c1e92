# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vpn scenario's nodes, reached three ways: testinfra's podman backend (the real system of the
gateway, the bridge host and the client), the OpenVPN client on the client node driven by vpn_client.py,
and ansible-playbook (enrolment and revocation the way an operator runs them)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pyotp
import pytest
import testinfra

SCENARIO = Path(__file__).resolve().parents[1]
INVENTORY = SCENARIO / "inventory" / "hosts.yml"
BIN = Path(sys.executable).parent
GATEWAY = "movpn-prod-vpn1"
BRIDGE = "movpn-prod-bridge1"
CLIENT = "movpn-client1"
CLIENT_DIR = "/root/vpn-test"
SERVICE = "openvpn-server@orocloud.service"
PAM_LOG = "openvpn(pam_google_authenticator)"
sys.path.insert(0, str(SCENARIO.parents[1] / "tests" / "lab"))

from scenario import ansible_env, load_inventory, project_lab_dir  # noqa: E402


def inventory():
    return load_inventory(INVENTORY)


def hostvars(host):
    return inventory()["_meta"]["hostvars"][host]


def lab_dir():
    return project_lab_dir("movpn")


def profile_dir(user):
    """Where the role put ``user``'s profile, otpauth URI and QR code on the controller."""
    return lab_dir() / "vpn-profiles" / "movpn-prod" / user


def totp(user):
    """``user``'s authenticator, from the otpauth URI the enrolment fetched to the controller."""
    return pyotp.parse_uri((profile_dir(user) / (user + ".otpauth")).read_text().strip())


def fresh_code(user, margin=10):
    """A code with at least ``margin`` seconds of its 30 s step left (so that two tries share the step)."""
    authenticator = totp(user)
    left = 30 - time.time() % 30
    if left < margin:
        time.sleep(left + 0.5)
    return authenticator.now()


@pytest.fixture(scope="session")
def gateway():
    return testinfra.get_host("podman://" + GATEWAY)


@pytest.fixture(scope="session")
def bridge():
    return testinfra.get_host("podman://" + BRIDGE)


@pytest.fixture(scope="session")
def client():
    host = testinfra.get_host("podman://" + CLIENT)
    # clients an interrupted run left behind (each wrote its pid file)
    host.run('for f in %s/*/pid; do [ -f "$f" ] && kill "$(cat "$f")"; done; rm -rf %s', CLIENT_DIR, CLIENT_DIR)
    host.check_output("mkdir -p %s", CLIENT_DIR)
    subprocess.run(
        ["podman", "cp", str(Path(__file__).parent / "vpn_client.py"), CLIENT + ":" + CLIENT_DIR], check=True
    )
    return host


class Vpn:
    """OpenVPN clients on the client node, each in a directory of its own; stopped at the end."""

    def __init__(self, client):
        self.client = client
        self.pids = []
        self.count = 0

    def connect(self, user, code, profile_of=None):
        """Connect with ``profile_of``'s profile (default: ``user``'s) as ``user`` answering ``code``."""
        owner = profile_of or user
        self.count += 1
        workdir = "%s/%d-%s" % (CLIENT_DIR, self.count, user)
        self.client.check_output("mkdir -p %s", workdir)
        subprocess.run(
            ["podman", "cp", str(profile_dir(owner) / (owner + ".ovpn")), "%s:%s/profile.ovpn" % (CLIENT, workdir)],
            check=True,
        )
        argv = ["python3", CLIENT_DIR + "/vpn_client.py", workdir + "/profile.ovpn", workdir, user]
        if code is not None:
            argv.append(code)
        result = json.loads(self.client.check_output(" ".join("'%s'" % a for a in argv)))
        if result.get("pid"):
            self.pids.append(result["pid"])
        result["workdir"] = workdir
        return result

    def running(self, result):
        return self.client.run("kill -0 %s", str(result["pid"])).rc == 0

    def log(self, result):
        return self.client.check_output("cat %s", result["log"])

    def disconnect(self, result):
        self.client.run("kill %s", str(result["pid"]))
        deadline = time.monotonic() + 10
        while self.running(result) and time.monotonic() < deadline:
            time.sleep(0.2)

    def stop_all(self):
        for pid in self.pids:
            self.client.run("kill %s 2>/dev/null", str(pid))


@pytest.fixture(scope="session")
def vpn(client):
    clients = Vpn(client)
    yield clients
    clients.stop_all()


def ssh_banner(client, address, port=22):
    """The first bytes a TCP server at ``address`` sends to the client node ('' when unreachable)."""
    probe = (
        "import socket, sys\n"
        "try:\n"
        "    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 3); s.settimeout(3)\n"
        "    print(s.recv(7).decode(errors='replace'))\n"
        "except OSError:\n"
        "    print('')\n"
    )
    return client.check_output("python3 -c %s %s %s", probe, address, str(port))


def journal(host, since, option, value):
    """Journal lines since ``since`` (a ``date +%s`` of the host) of a unit (-u) or an identifier (-t)."""
    return host.check_output("journalctl --no-pager -o cat --since @%s %s %s", since, option, value)


def now(host):
    return host.check_output("date +%s")


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
