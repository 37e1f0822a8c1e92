# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A person on the VPN, for the lab tests: real OpenVPN clients on a lab client node (driven by
vpn_client.py, copied onto the node), TOTP codes computed from the otpauth URI the enrolment fetched to the
controller, and small probes run on the client node (an SSH banner, the journal of a node)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pyotp

CLIENT_DIR = "/root/vpn-test"
VPN_CLIENT = Path(__file__).resolve().parent / "vpn_client.py"


class Profiles:
    """The enrolled people's files on the controller: ``<root>/<name>/<name>.ovpn|.otpauth|.png``."""

    def __init__(self, root):
        self.root = Path(root)
        self.used = {}  # user -> the last 30 s step a fresh code was handed out for

    def dir(self, user):
        return self.root / user

    def totp(self, user):
        """``user``'s authenticator, from the otpauth URI the enrolment fetched to the controller."""
        return pyotp.parse_uri((self.dir(user) / (user + ".otpauth")).read_text().strip())

    def fresh_code(self, user, margin=10):
        """A code never handed out before (the gateway refuses a code used once), with at least ``margin``
        seconds of its 30 s step left (so that two tries share the step)."""
        authenticator = self.totp(user)
        left = 30 - time.time() % 30
        if left < margin or self.used.get(user) == int(time.time() // 30):
            time.sleep(left + 0.5)
        self.used[user] = int(time.time() // 30)
        return authenticator.now()


class Vpn:
    """OpenVPN clients on the client node ``name`` (testinfra host ``client``), each in a directory of its
    own; ``stop_all`` ends them."""

    def __init__(self, client, name, profiles):
        self.client = client
        self.name = name
        self.profiles = profiles
        self.pids = []
        self.count = 0
        # clients an interrupted run left behind (each wrote its pid file)
        client.run('for f in %s/*/pid; do [ -f "$f" ] && kill "$(cat "$f")"; done; rm -rf %s', CLIENT_DIR, CLIENT_DIR)
        client.check_output("mkdir -p %s", CLIENT_DIR)
        subprocess.run(["podman", "cp", str(VPN_CLIENT), name + ":" + CLIENT_DIR], check=True)

    def connect(self, user, code, profile_of=None):
        """Connect with ``profile_of``'s profile (default: ``user``'s) as ``user`` answering ``code``."""
        owner = profile_of or user
        self.count += 1
        workdir = "%s/%d-%s" % (CLIENT_DIR, self.count, user)
        self.client.check_output("mkdir -p %s", workdir)
        profile = self.profiles.dir(owner) / (owner + ".ovpn")
        subprocess.run(["podman", "cp", str(profile), "%s:%s/profile.ovpn" % (self.name, workdir)], check=True)
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


def wait_for(probe, seconds, step=0.5):
    """``probe()`` once it returns something true (asked every ``step`` seconds), or its last value after
    ``seconds``."""
    deadline = time.monotonic() + seconds
    value = probe()
    while not value and time.monotonic() < deadline:
        time.sleep(step)
        value = probe()
    return value
