# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""orocloud.ops.health_check on a real node (Debian's python3, no cryptography library): sshd's port,
systemd units, a small HTTP server, TLS servers with certificates made on the node, a backlog command."""

from __future__ import annotations

import time

import pytest
from conftest import SCENARIO, hostvars, node_name, playbook

WORK = "/srv/mossh-health"
SERVERS = {
    # unit: command (transient units, stopped at the end)
    "mossh-http": "python3 -m http.server 8099 --bind 127.0.0.1 --directory %s/www" % WORK,
    "mossh-tls-long": "openssl s_server -quiet -www -accept 127.0.0.1:8443 -cert %s/long.pem -key %s/long.key"
    % (WORK, WORK),
    "mossh-tls-short": "openssl s_server -quiet -www -accept 127.0.0.1:8444 -cert %s/short.pem -key %s/short.key"
    % (WORK, WORK),
}
PORTS = (8099, 8443, 8444)


def _certificate(node, stem, days):
    node.check_output(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days %s -subj /CN=mossh.test"
        " -addext subjectAltName=DNS:mossh.test -keyout %s/%s.key -out %s/%s.pem 2>/dev/null",
        str(days),
        WORK,
        stem,
        WORK,
        stem,
    )


@pytest.fixture(scope="module")
def servers(node):
    node.check_output("mkdir -p %s/www", WORK)
    node.check_output("""printf '{"status": "ok", "version": "6.1.0", "database": "ok"}' > %s/www/health.json""", WORK)
    _certificate(node, "long", 100)
    _certificate(node, "short", 10)
    for unit, command in SERVERS.items():
        node.check_output("systemd-run --quiet --unit %s " + command, unit)
    deadline = time.monotonic() + 20
    while not all(node.socket("tcp://127.0.0.1:%d" % port).is_listening for port in PORTS):
        assert time.monotonic() < deadline, "the test servers did not start"
        time.sleep(0.2)
    yield
    for unit in SERVERS:
        node.run("systemctl stop %s", unit)
    node.run("rm -rf %s", WORK)


def health(extra_vars, check=False):
    run = playbook(SCENARIO / "playbooks" / "health.yml", extra_vars, check=check)
    return run, run.result(node_name(), "Run the health checks")


HEALTHY = {
    "health_tcp": [{"name": "sshd", "host": hostvars()["orocloud_address"], "port": 22, "impact": "outage"}],
    "health_systemd": [{"name": "services", "units": ["ssh.service", "mossh-http.service", "mossh-tls-*.service"]}],
    "health_http": [
        {
            "name": "health endpoint",
            "url": "http://127.0.0.1:8099/health.json",
            "host_header": "mossh.test",
            "json": {"status": "ok", "version": "6.1.0"},
        },
        {
            "name": "https with SNI",
            "url": "https://127.0.0.1:8443/",
            "server_name": "mossh.test",
            "ca_path": WORK + "/long.pem",
            "body_contains": "s_server",
        },
    ],
    "health_tls": [
        {
            "name": "certificate",
            "host": "127.0.0.1",
            "port": 8443,
            "server_name": "mossh.test",
            "ca_path": WORK + "/long.pem",
            "validate_certs": True,
        }
    ],
    "health_queue": [{"name": "backlog", "command": ["sh", "-c", "echo 3"], "warn_backlog": 10, "max_backlog": 100}],
}


@pytest.mark.parametrize("check", [False, True], ids=["apply", "check-mode"])
def test_a_healthy_node(node, servers, check):
    run, result = health(HEALTHY, check=check)

    assert run.rc == 0, result.get("msg")
    assert result["changed"] is False
    assert result["status"] == "ok" and result["priority"] is None, result["problems"]
    assert result["environment_type"] == "development"
    checks = {c["name"]: c for c in result["checks"]}
    assert checks["sshd"]["message"] == "%s:22 accepts connections" % hostvars()["orocloud_address"]
    assert checks["services"]["details"]["units"] == {
        "ssh.service": "active (running)",
        "mossh-http.service": "active (running)",
        "mossh-tls-long.service": "active (running)",
        "mossh-tls-short.service": "active (running)",
    }
    assert checks["health endpoint"]["details"]["version"] == "6.1.0"
    assert checks["https with SNI"]["details"]["status_code"] == 200
    tls = checks["certificate"]["details"]
    assert tls["verified"] is True and tls["days_left"] == 99 and tls["subject"] == "commonName=mossh.test"
    assert checks["backlog"]["details"]["backlog"] == 3


def test_problems_in_production_are_classified_and_fail_the_task(node, servers):
    run, result = health(
        {
            "health_environment_type": "production",
            "health_http": [{"name": "storefront", "url": "http://127.0.0.1:8098/health", "timeout": 2}],
            "health_systemd": [{"name": "consumers", "units": ["oro-consumer-*@*.service"]}],
            "health_tls": [
                {
                    "name": "expiring",
                    "host": "127.0.0.1",
                    "port": 8444,
                    "server_name": "mossh.test",
                    "ca_path": WORK + "/short.pem",
                },
                {"name": "unreadable", "host": "127.0.0.1", "port": 8444, "server_name": "mossh.test"},
            ],
            "health_tcp": [{"name": "discard", "host": "127.0.0.1", "port": 9, "impact": "cosmetic"}],
        }
    )

    assert run.rc != 0 and result["failed"] is True and result["changed"] is False
    assert result["priority"] == "P1" and result["initial_response_hours"] == 4
    assert [p.split(":")[0] for p in result["problems"]] == [
        "P1 storefront",
        "P2 consumers",
        "P3 unreadable",  # within a priority, the worse status first
        "P3 expiring",
        "P4 discard",
    ]
    checks = {c["name"]: c for c in result["checks"]}
    assert "Connection refused" in checks["storefront"]["message"]
    assert checks["consumers"]["message"] == "no unit matches oro-consumer-*@*.service"
    assert checks["expiring"]["status"] == "warning" and checks["expiring"]["details"]["days_left"] == 9
    assert checks["unreadable"]["status"] == "unknown"
    assert "install python3-cryptography on the node" in checks["unreadable"]["message"]
    assert result["msg"].startswith("5 checks: 1 warning, 1 unknown, 3 fail; P1 (production application unavailable")


def test_the_same_problems_outside_production_stay_below_p2(node, servers):
    run, result = health({"health_http": [{"name": "storefront", "url": "http://127.0.0.1:8098/health", "timeout": 2}]})

    assert run.rc == 0, "development: P3 does not fail the default fail_on [P1, P2]"
    assert result["priority"] == "P3" and result["initial_response_hours"] == 24
