# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""orocloud.ops.load_balancer_server and load_balancer_server_info against the scenario's real HAProxy: the
modules run on the node through `ansible` (ad hoc, the scenario's inventory), the effects are seen with
real HTTPS requests through the load balancer and on the runtime API itself.

The scenario's backends (files/molb-backend.py) answer at once; a request stays in flight while its
backend process is stopped (SIGSTOP): that is the long request a drain must wait for. Every test leaves
both servers ready and UP."""

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import testinfra
import yaml

SCENARIO = Path(__file__).resolve().parents[1]
INVENTORY = SCENARIO / "inventory" / "load_balancer.orocloud.yml"
ENVIRONMENT = yaml.safe_load((SCENARIO / "inventory" / "environments" / "dev.yml").read_text())
NODE_NAME = next(iter(ENVIRONMENT["nodes"]))
CONTAINER = "%s-%s-%s" % (ENVIRONMENT["project"], ENVIRONMENT["environment"], NODE_NAME)
SOCKET = "/run/haproxy/admin.sock"
SITE = "shop.molb.test"  # converge.yml's first server name
BACKENDS = {"app-a", "app-b"}
# molecule asks for colours; the modules' output is read here.
ANSIBLE_ENV = {k: v for k, v in os.environ.items() if k != "ANSIBLE_FORCE_COLOR"} | {"ANSIBLE_NOCOLOR": "1"}
# Each test sends its requests from its own loopback sources (the scenario's rate limit is 10 per 10 s).
SOURCES = iter("127.0.0.%d" % n for n in range(51, 99))


@pytest.fixture(scope="module")
def host():
    return testinfra.get_host("podman://" + CONTAINER)


def module(name, *options, **args):
    """Run orocloud.ops.<name> on the node with `args` (and ansible options such as --check): (rc, result);
    the result has what ansible printed as `output` (where a --diff and the warnings show)."""
    with tempfile.TemporaryDirectory() as tree:
        out = subprocess.run(
            [str(Path(sys.executable).parent / "ansible"), "-i", str(INVENTORY), CONTAINER, "-t", tree,
             "-m", "orocloud.ops." + name, "-a", json.dumps(args), *options],
            capture_output=True, text=True, check=False, timeout=300, env=ANSIBLE_ENV,
        )
        result_file = Path(tree) / CONTAINER
        assert result_file.exists(), out.stdout[-3000:] + out.stderr[-3000:]
        result = json.loads(result_file.read_text())
    result["output"] = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)
    return out.returncode, result


def server(name, state, *options, **args):
    return module("load_balancer_server", *options, backend="web", servers=[name], state=state, **args)


def report(result, name):
    return next(r for r in result["servers"] if r["name"] == name)


def admin(host, command):
    return host.check_output("echo %s | socat stdio %s" % (shlex.quote(command), SOCKET))


def admin_flags(host):
    """Server name -> srv_admin_state, straight from the runtime API."""
    flags = {}
    for line in admin(host, "show servers state web").splitlines():
        fields = line.split()
        if len(fields) > 6 and fields[1] == "web":
            flags[fields[3]] = int(fields[6])
    return flags


def sessions(host, name):
    for line in admin(host, "show stat web 4 -1").splitlines():
        fields = line.split(",")
        if fields[:2] == ["web", name]:
            return int(fields[4])
    raise AssertionError("no server %s in show stat" % name)


def served_by(host, count=4):
    """Which backends answer `count` new HTTPS requests (from a fresh source)."""
    source = next(SOURCES)
    seen = []
    for _n in range(count):
        out = host.check_output(shlex.join([
            "curl", "-sS", "--max-time", "10", "--interface", source, "--cacert", "/etc/haproxy/tls/site.crt",
            "--resolve", "%s:443:127.0.0.1" % SITE, "https://%s/" % SITE,
        ]))
        seen.append(json.loads(out)["backend"])
    return seen


def wait_for(predicate, timeout=30, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


@pytest.fixture(autouse=True)
def both_ready_afterwards(host):
    yield
    host.run("systemctl kill -s CONT molb-backend@app-a molb-backend@app-b; rm -f /run/molb-backend-app-*.down")
    admin(host, "set server web/app-a state ready")
    admin(host, "set server web/app-b state ready")
    assert wait_for(lambda: admin_flags(host) == {"app-a": 0, "app-b": 0})
    rc, result = module("load_balancer_server", backend="web", servers=["*"], state="ready", timeout=30)
    assert rc == 0, result.get("msg")


def test_info_reports_every_server(host):
    rc, result = module("load_balancer_server_info", backend="web")
    assert rc == 0 and result["changed"] is False
    assert [(r["name"], r["admin_state"], r["operational_state"], r["check_status"]) for r in result["servers"]] == [
        ("app-a", "ready", "UP", "L7OK"), ("app-b", "ready", "UP", "L7OK"),
    ]
    assert report(result, "app-a")["address"] == "127.0.0.1:8081"


def test_drain_check_mode_apply_and_idempotence(host):
    rc, result = server("app-a", "drain", "--check", "--diff")
    assert rc == 0 and result["changed"] is True
    diff = [line.replace('"', "").rstrip(",").split() for line in result["output"].splitlines()
            if line.startswith(("-  ", "+  "))]  # the diff's lines, in YAML or JSON
    assert diff == [["-", "app-a:", "ready"], ["+", "app-a:", "drain"]]
    assert admin_flags(host)["app-a"] == 0  # check mode changed nothing
    assert set(served_by(host)) == BACKENDS

    rc, result = server("app-a", "drain")
    assert rc == 0 and result["changed"] is True
    drained = report(result, "app-a")
    state = (drained["admin_state"], drained["status"], drained["sessions"], drained["queued"])
    assert state == ("drain", "DRAIN", 0, 0)
    assert admin_flags(host) == {"app-a": 0x08, "app-b": 0}  # SRV_ADMF_FDRAIN on the runtime API
    assert set(served_by(host)) == {"app-b"}  # new requests no longer reach it; the other one serves

    rc, result = server("app-a", "drain")
    assert rc == 0 and result["changed"] is False
    rc, result = server("app-a", "drain", "--check")
    assert rc == 0 and result["changed"] is False

    rc, result = server("app-a", "ready")
    assert rc == 0 and result["changed"] is True
    assert (report(result, "app-a")["admin_state"], report(result, "app-a")["operational_state"]) == ("ready", "UP")
    assert set(served_by(host)) == BACKENDS  # back in rotation
    rc, result = server("app-a", "ready")
    assert rc == 0 and result["changed"] is False


def test_drain_waits_for_the_request_in_flight(host):
    """A request held by app-a (its process stopped) finishes before the drain reports done; meanwhile new
    requests go to app-b."""
    assert server("app-b", "drain")[0] == 0  # so that the long request goes to app-a
    host.check_output("systemctl kill -s STOP molb-backend@app-a")
    host.check_output(
        "setsid sh -c %s </dev/null >/dev/null 2>&1 &" % shlex.quote(
            "curl -sS --max-time 60 --interface %s --cacert /etc/haproxy/tls/site.crt --resolve %s:443:127.0.0.1 "
            "-o /run/molb-inflight.out -w '%%{http_code}' https://%s/long > /run/molb-inflight.code"
            % (next(SOURCES), SITE, SITE)))
    assert wait_for(lambda: sessions(host, "app-a") == 1, timeout=10)
    assert server("app-b", "ready")[0] == 0

    finished = {}

    def drain_a():
        finished["result"] = server("app-a", "drain", timeout=60)
        finished["at"] = time.monotonic()

    thread = threading.Thread(target=drain_a)
    thread.start()
    try:
        assert wait_for(lambda: admin_flags(host)["app-a"] == 0x08, timeout=20)
        assert set(served_by(host)) == {"app-b"}  # drained: new requests go to the other server
        time.sleep(1)
        assert thread.is_alive(), finished  # still waiting: the request is in flight
        assert sessions(host, "app-a") == 1
        released = time.monotonic()
        host.check_output("systemctl kill -s CONT molb-backend@app-a")
    finally:
        thread.join(120)
        host.run("systemctl kill -s CONT molb-backend@app-a")

    rc, result = finished["result"]
    assert rc == 0, result.get("msg")
    assert finished["at"] > released  # it reported only after the request could finish
    assert result["changed"] is True and result["waited"] >= 1
    drained = report(result, "app-a")
    assert (drained["admin_state"], drained["sessions"], drained["queued"]) == ("drain", 0, 0)
    assert host.file("/run/molb-inflight.code").content_string == "200"  # the request in flight succeeded
    assert json.loads(host.file("/run/molb-inflight.out").content_string)["backend"] == "app-a"


def test_drain_timeout_names_the_busy_server(host):
    assert server("app-b", "maint", wait=False)[0] == 0  # so that the next request goes to app-a
    host.check_output("systemctl kill -s STOP molb-backend@app-a")
    try:
        host.check_output(
            "setsid sh -c %s </dev/null >/dev/null 2>&1 &" % shlex.quote(
                "curl -sk --max-time 30 --interface %s -o /dev/null https://127.0.0.1/held" % next(SOURCES)))
        assert wait_for(lambda: sessions(host, "app-a") == 1, timeout=10)
        rc, result = server("app-a", "drain", timeout=1)
    finally:
        host.check_output("systemctl kill -s CONT molb-backend@app-a")
    assert rc != 0 and result["changed"] is True
    assert result["msg"].startswith("web/app-a is not without sessions and queued requests after 1 s: drain, ")
    assert ", 1 session, 0 queued, check " in result["msg"]
    assert result["msg"].endswith("it is left set to drain: it gets no new requests")
    assert report(result, "app-a")["sessions"] == 1


def test_ready_waits_for_a_passing_health_check(host):
    assert server("app-b", "maint")[0] == 0
    assert set(served_by(host)) == {"app-a"}
    rc, result = server("app-b", "ready")
    assert rc == 0 and result["changed"] is True
    back = report(result, "app-b")
    # Leaving maintenance HAProxy shows "UP 1/3" at once; the module waits for a check: "UP".
    assert (back["admin_state"], back["operational_state"], back["status"], back["check_status"]) == (
        "ready", "UP", "UP", "L7OK")
    assert result["waited"] > 0
    assert set(served_by(host)) == BACKENDS


def test_ready_of_a_failing_server_times_out_with_its_check(host):
    host.check_output("touch /run/molb-backend-app-b.down")  # its /health answers 503
    assert server("app-b", "maint")[0] == 0
    rc, result = server("app-b", "ready", timeout=8)
    assert rc != 0 and result["changed"] is True
    assert result["msg"].startswith("web/app-b is not UP with a passing health check after 8 s: ready, DOWN")
    assert "check L7STS 503 'Service Unavailable' (Layer7 wrong status)" in result["msg"]
    assert "it is left set ready: it gets requests as soon as its health check passes" in result["msg"]
    assert admin_flags(host)["app-b"] == 0  # left ready, as it says
    assert set(served_by(host)) == {"app-a"}  # HAProxy keeps the failing server out
    host.check_output("rm -f /run/molb-backend-app-b.down")
    rc, result = server("app-b", "ready", timeout=30)  # already ready: no change, waits until UP
    assert rc == 0 and result["changed"] is False and report(result, "app-b")["status"] == "UP"


def test_every_server_in_maintenance_warns(host):
    rc, result = module("load_balancer_server", backend="web", servers=["*"], state="maint")
    assert rc == 0 and result["changed_servers"] == ["app-a", "app-b"]
    printed = " ".join(result["output"].split())  # however the warning was wrapped
    assert "no server of backend 'web' is ready and UP: HAProxy answers its requests with 503" in printed
    out = host.run("curl -sk -o /dev/null -w '%%{http_code}' --interface %s https://127.0.0.1/" % next(SOURCES))
    assert out.stdout == "503"


def test_drained_state_survives_a_reload(host):
    assert server("app-a", "drain")[0] == 0
    host.check_output("systemctl reload haproxy")
    assert wait_for(lambda: admin_flags(host).get("app-a") == 0x08, timeout=10)
    rc, result = module("load_balancer_server_info", backend="web", servers=["app-a"])
    assert rc == 0 and report(result, "app-a")["admin_state"] == "drain"


@pytest.mark.parametrize(("args", "message"), [
    ({"backend": "web", "servers": ["app-z"]}, "backend 'web' has no server 'app-z' (servers: app-a, app-b)"),
    ({"backend": "www", "servers": ["app-a"]},
     "HAProxy has no backend 'www' (backends: web, ratelimit_ajax, ratelimit_common)"),
])
def test_unknown_names_fail_clearly_and_change_nothing(host, args, message):
    rc, result = module("load_balancer_server", state="maint", **args)
    assert rc != 0 and result["changed"] is False
    assert result["msg"] == message
    assert admin_flags(host) == {"app-a": 0, "app-b": 0}
