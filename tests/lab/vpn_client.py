# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connect a real OpenVPN client the way a GUI does, without a terminal: runs on the lab's client node.

OpenVPN 2.6 asks a static challenge only on a terminal (with the user name and password from a file it
stops with "could not retrieve static challenge response"), so this drives the client through its
management interface, like OpenVPN GUIs: ``>PASSWORD:Need 'Auth' username/password SC:1,TOTP code`` is
answered with ``username "Auth" <name>`` and ``password "Auth" "SCRV1:<base64 password>:<base64 code>"``.

usage: python3 vpn_client.py PROFILE WORKDIR USER [CODE]   (no CODE: a plain password, no challenge response)

Prints one JSON line: ``{"result": "connected" | "auth_failed" | "exited" | "timeout", "pid": ...,
"address": ..., "log": ...}``. A connected client keeps running (daemon); stop it with its pid.
"""

import base64
import json
import os
import socket
import subprocess
import sys
import time

TIMEOUT = 25


def b64(text):
    return base64.b64encode(text.encode()).decode()


def _answer(line, mgmt, user, code, result):
    """React to one line of the management interface; set ``result["result"]`` once it is decided."""
    if line.startswith(">PASSWORD:Need 'Auth'"):
        password = "SCRV1:%s:%s" % (b64("unused"), b64(code)) if code is not None else "no-code"
        mgmt.sendall(('username "Auth" %s\npassword "Auth" "%s"\n' % (user, password)).encode())
    elif line.startswith(">PASSWORD:Verification Failed"):
        result["result"] = "auth_failed"
    elif line.startswith(">STATE:") and ",CONNECTED,SUCCESS," in line:
        result.update(result="connected", address=line.split(",")[3])
    elif line.startswith(">STATE:") and ",EXITING," in line:
        result["result"] = "exited"


def main(argv):
    profile, workdir, user = argv[1], argv[2], argv[3]
    code = argv[4] if len(argv) > 4 else None
    os.makedirs(workdir, exist_ok=True)
    sock_path = os.path.join(workdir, "management.sock")
    log = os.path.join(workdir, "openvpn.log")
    pid_file = os.path.join(workdir, "pid")
    for stale in (sock_path, pid_file):
        if os.path.exists(stale):
            os.unlink(stale)
    subprocess.run(
        [
            "openvpn",
            "--config",
            profile,
            "--auth-retry",
            "none",
            "--connect-retry-max",
            "1",
            "--management",
            sock_path,
            "unix",
            "--management-query-passwords",
            "--management-hold",
            "--writepid",
            pid_file,
            "--log",
            log,
            "--daemon",
        ],
        check=True,
    )
    deadline = time.monotonic() + TIMEOUT
    while not (os.path.exists(sock_path) and os.path.exists(pid_file)):
        if time.monotonic() > deadline:
            return {"result": "timeout", "log": log}
        time.sleep(0.05)
    with open(pid_file) as handle:
        pid = int(handle.read().strip())
    mgmt = socket.socket(socket.AF_UNIX)
    mgmt.connect(sock_path)
    mgmt.settimeout(1)
    mgmt.sendall(b"state on\nhold release\n")
    buffer = b""
    result = {"result": "timeout", "pid": pid, "log": log, "address": None}
    while time.monotonic() < deadline:
        try:
            chunk = mgmt.recv(4096)
        except socket.timeout:
            continue
        if not chunk:
            result["result"] = "exited"
            break
        buffer += chunk
        while b"\n" in buffer and result["result"] == "timeout":
            line, buffer = buffer.split(b"\n", 1)
            _answer(line.decode(errors="replace").strip(), mgmt, user, code, result)
        if result["result"] != "timeout":
            break
    mgmt.close()
    return result


if __name__ == "__main__":
    print(json.dumps(main(sys.argv)))
