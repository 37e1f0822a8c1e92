# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the orocloud.ops.health_check module shell: main() with patched module arguments,
checks against real sockets on loopback."""

from __future__ import annotations

import json
import socket
import sys

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.orocloud.ops.plugins.modules import health_check


@pytest.fixture
def listening():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def run(capsys, **args):
    """Run main() as Ansible would; return (exit code, result dict)."""
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        health_check.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


CASES = [
    pytest.param({}, id="apply"),
    pytest.param({"_ansible_check_mode": True}, id="check-mode"),
]


@pytest.mark.parametrize("internal", CASES)
def test_healthy_endpoint_reports_ok_and_changes_nothing(capsys, listening, internal):
    code, result = run(capsys, tcp=[{"name": "database", "host": "127.0.0.1", "port": listening}], **internal)

    assert code == 0
    assert result["changed"] is False and "failed" not in result
    assert result["status"] == "ok" and result["priority"] is None
    assert result["checks"][0]["name"] == "database" and result["checks"][0]["ok"] is True
    assert result["msg"] == "1 check: 1 ok"


@pytest.mark.parametrize("internal", CASES)
def test_p1_problem_fails_the_task_with_every_result(capsys, listening, closed_port, internal):
    code, result = run(
        capsys,
        tcp=[
            {"name": "database", "host": "127.0.0.1", "port": closed_port, "impact": "outage"},
            {"name": "redis", "host": "127.0.0.1", "port": listening},
        ],
        **internal,
    )

    assert code == 1 and result["failed"] is True and result["changed"] is False
    assert result["priority"] == "P1" and result["initial_response_hours"] == 4
    assert [c["status"] for c in result["checks"]] == ["fail", "ok"]
    assert result["msg"].startswith("2 checks: 1 ok, 1 fail; P1 (production application unavailable")
    assert "P1 database: 127.0.0.1:%d: Connection refused" % closed_port in result["msg"]


@pytest.mark.parametrize(
    "fail_on, environment_type, failed",
    [
        (["P1", "P2"], "production", True),
        (["P1"], "production", False),
        ([], "production", False),
        (["P1", "P2"], "staging", False),  # at most P3 outside production
        (["P3"], "staging", True),
    ],
)
def test_fail_on_and_environment_type(capsys, closed_port, fail_on, environment_type, failed):
    code, result = run(
        capsys,
        tcp=[{"host": "127.0.0.1", "port": closed_port}],
        fail_on=fail_on,
        environment_type=environment_type,
    )

    assert bool(result.get("failed")) is failed and code == int(failed)
    assert result["environment_type"] == environment_type
    assert result["priority"] == ("P2" if environment_type == "production" else "P3")


def test_queue_command_runs_on_the_node_and_database_is_not_logged(capsys):
    code, result = run(
        capsys,
        queue=[
            {"name": "mq", "command": [sys.executable, "-c", "print(7)"], "max_backlog": 5},
            {
                "name": "sql",
                "sql": "SELECT 1",
                "database": "postgresql://u:s3cret@h/db",
                "psql": "/nonexistent/psql",
                "max_backlog": 5,
            },
        ],
        fail_on=[],
    )

    assert code == 0, result["msg"]
    assert result["checks"][0]["details"]["backlog"] == 7 and result["checks"][0]["priority"] == "P2"
    assert result["checks"][1]["status"] == "unknown"
    assert "s3cret" not in json.dumps(result)


@pytest.mark.parametrize(
    "args, message",
    [
        ({}, "no check given: set at least one of http, tcp, tls, systemd, queue"),
        ({"queue": [{"max_backlog": 1}]}, "one of the following is required: command, sql"),
        ({"queue": [{"max_backlog": 1, "command": ["x"], "sql": "y", "database": "d"}]}, "mutually exclusive"),
        ({"queue": [{"max_backlog": 1, "sql": "y"}]}, "missing parameter(s) required by 'sql': database"),
        ({"tcp": [{"host": "h"}]}, "missing required arguments: port"),
        ({"http": [{"url": "ftp://x/"}]}, "'ftp://x/' is not an http:// or https:// URL"),
        ({"tcp": [{"host": "h", "port": 1}], "fail_on": ["P5"]}, "value of fail_on must be one or more of"),
        ({"tcp": [{"host": "h", "port": 1, "impact": "huge"}]}, "value of impact must be one of"),
    ],
    ids=["nothing", "queue-neither", "queue-both", "sql-no-database", "tcp-no-port", "ftp", "P5", "impact"],
)
def test_wrong_arguments_fail_clearly(capsys, args, message):
    code, result = run(capsys, **args)

    assert code == 1 and result["failed"] is True
    assert message in result["msg"]
