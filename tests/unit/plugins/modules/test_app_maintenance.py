# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the orocloud.ops.app_maintenance module shell: main() with patched module arguments,
the flag in tmp_path and the health gate against a real HTTP server on loopback."""

from __future__ import annotations

import grp
import http.server
import json
import os
import pwd
import threading

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.orocloud.ops.plugins.modules import app_maintenance
from ansible_collections.orocloud.ops.tests.unit.plugins.modules._results import warnings

OWNER = {"app_user": pwd.getpwuid(os.geteuid()).pw_name, "app_group": grp.getgrgid(os.getegid()).gr_name}


# Every test here writes the operation log in tmp_path (the oplog fixture of conftest.py).
pytestmark = pytest.mark.usefixtures("oplog")


@pytest.fixture
def health():
    """A /health endpoint on loopback; set ``server.answer = (status, body)``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            status, body = self.server.answer
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.answer = (200, '{"status":"ok","version":"6.1.2"}')
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = "http://127.0.0.1:%d/health" % server.server_address[1]
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def shared(tmp_path):
    path = tmp_path / "oro" / "shared"
    path.mkdir(parents=True)
    return path


def run(capsys, **args):
    """Run main() as Ansible would; return (exit code, result dict)."""
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        app_maintenance.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_four_runs_on_then_off(capsys, shared, health):
    args = dict(app_root=str(shared.parent), method="file", duration=20, comment="patch", user="alice", **OWNER)

    results = [
        run(capsys, state="on", _ansible_check_mode=True, _ansible_diff=True, **args),
        run(capsys, state="on", _ansible_diff=True, **args),
        run(capsys, state="on", _ansible_check_mode=True, **args),
        run(capsys, state="on", **args),
    ]

    assert [code for code, _r in results] == [0, 0, 0, 0]
    assert [r["changed"] for _c, r in results] == [True, True, False, False]
    assert results[0][1]["diff"]["after"]["record"]["until"] == results[1][1]["record"]["until"]
    assert "diff" not in results[3][1] and results[3][1]["maintenance"] is True
    assert (shared / "maintenance.flag").read_text() == "600\n"

    off = dict(app_root=str(shared.parent), method="file", health_url=health.url, expect_version="6.1.2", **OWNER)
    results = [
        run(capsys, state="off", _ansible_check_mode=True, **off),
        run(capsys, state="off", **off),
        run(capsys, state="off", _ansible_check_mode=True, **off),
        run(capsys, state="off", **off),
    ]
    assert [r["changed"] for _c, r in results] == [True, True, False, False]
    assert results[1][1]["health"]["ok"] is True and results[1][1]["health"]["version"] == "6.1.2"
    assert results[3][1]["health"] is None
    assert not (shared / "maintenance.flag").exists() and not (shared / "maintenance.json").exists()


def test_no_duration_is_a_warning(capsys, shared):
    code, result = run(capsys, state="emergency", app_root=str(shared.parent), method="file", **OWNER)

    assert code == 0 and result["record"]["mode"] == "emergency"
    assert (
        "no downtime window declared (duration): Oro's monitoring alerts when maintenance mode lasts over 60 minutes"
        in warnings(result)
    )


def test_unhealthy_node_stays_in_maintenance(capsys, shared, health):
    run(capsys, state="on", app_root=str(shared.parent), method="file", duration=5, **OWNER)
    health.answer = (503, '{"status":"fail","database":"unreachable"}')
    args = dict(
        state="off", app_root=str(shared.parent), method="file", health_url=health.url, health_delay=0, **OWNER
    )

    code, result = run(capsys, **args)

    assert code == 1 and result["failed"] is True and result["changed"] is False
    assert result["msg"] == (
        "health gate failed, maintenance stays on (%s/maintenance.flag): GET %s: status 503, expected 200; "
        "force: true leaves it anyway. Nothing was changed." % (shared, health.url)
    )
    assert result["health"]["attempts"] == 3 and result["health"]["status"] == "fail"
    assert (shared / "maintenance.flag").exists()

    code, result = run(capsys, force=True, **args)
    assert code == 0 and result["changed"] is True and not (shared / "maintenance.flag").exists()
    assert any(w.startswith("health gate failed, leaving maintenance anyway (force)") for w in warnings(result))


@pytest.mark.parametrize(
    "args, message",
    [
        ({}, "missing required arguments: state"),
        ({"state": "maybe"}, "value of state must be one of: on, off, emergency"),
        ({"state": "on", "method": "ssh"}, "value of method must be one of: auto, console, file"),
    ],
    ids=["no-state", "state", "method"],
)
def test_wrong_arguments_fail_clearly(capsys, shared, args, message):
    code, result = run(capsys, app_root=str(shared.parent), **args)

    assert code == 1 and result["failed"] is True
    assert message in result["msg"]


# ------------------------------------------------------------------------------------ the operation log


def test_each_change_is_recorded_once_none_in_check_mode(capsys, shared, health, oplog):
    args = dict(app_root=str(shared.parent), method="file", log_environment="acme-prod", log_run_id="r1", **OWNER)
    on = dict(state="on", duration=20, comment="patch 6.1.2, db password=hunter2", user="alice", **args)
    off = dict(state="off", health_url=health.url, expect_version="6.1.2", log_user="bob", **args)

    results = [run(capsys, _ansible_check_mode=True, **on)[1], run(capsys, **on)[1], run(capsys, **on)[1]]
    results += [run(capsys, _ansible_check_mode=True, **off)[1], run(capsys, **off)[1], run(capsys, **off)[1]]

    entries = oplog.entries()
    assert [r["log_entry"] for r in results] == [None, entries[0], None, None, entries[1], None]
    assert entries == oplog.syslog
    assert [(e["operation"], e["action"], e["result"], e["user"]) for e in entries] == [
        ("maintenance", "on", "changed", "alice"),
        ("maintenance", "off", "changed", "bob"),
    ]
    assert {(e["environment"], e["run_id"]) for e in entries} == {("acme-prod", "r1")}
    assert entries[0]["details"] == {
        "duration": 20,
        "until": results[1]["record"]["until"],
        "comment": "patch 6.1.2, db password=********",
        "method": "file",
    }
    assert entries[1]["details"] == {
        "health": "GET %s: status 200, ok, version 6.1.2" % health.url,
        "forced": False,
        "method": "file",
    }


def test_a_forced_exit_is_recorded_as_forced_a_refused_one_not(capsys, shared, health, oplog):
    args = dict(app_root=str(shared.parent), method="file", **OWNER)
    run(capsys, state="emergency", duration=5, log=False, **args)
    health.answer = (503, '{"status":"fail"}')
    off = dict(state="off", health_url=health.url, health_attempts=1, **args)

    code, result = run(capsys, **off)
    assert code == 1 and result["log_entry"] is None and oplog.entries() == []  # refused: nothing changed

    code, result = run(capsys, force=True, **off)
    assert code == 0
    (entry,) = oplog.entries()
    assert entry == result["log_entry"] and entry["details"]["forced"] is True
    assert entry["user"] == entry["login"]


def test_a_run_that_stopped_half_way_is_recorded_as_failed(capsys, shared, oplog, monkeypatch):
    def half_way(params, run, check_mode):
        raise app_maintenance.MaintenanceError("the record cannot be written", changed=True)

    monkeypatch.setattr(app_maintenance, "ensure_maintenance", half_way)

    code, result = run(capsys, state="on", app_root=str(shared.parent), duration=5, comment="LTS 6.1.2", **OWNER)

    assert code == 1 and result["changed"] is True
    assert result["msg"] == "the record cannot be written. The run stopped half way."
    (entry,) = oplog.entries()
    assert entry == result["log_entry"] and (entry["action"], entry["result"]) == ("on", "failed")
    assert entry["details"] == {"duration": 5, "until": None, "comment": "LTS 6.1.2", "error": result["msg"]}


def test_a_refusal_that_changed_nothing_is_not_recorded(capsys, shared, oplog):
    code, result = run(capsys, state="on", app_root=str(shared.parent), duration=0, **OWNER)
    assert code == 1 and result["changed"] is False and result["log_entry"] is None and oplog.entries() == []


def test_an_unwritable_log_is_a_warning_not_a_failure(capsys, shared, oplog):
    path = oplog.unwritable()
    code, result = run(capsys, state="on", app_root=str(shared.parent), method="file", duration=5, log_path=path,
                       **OWNER)

    assert code == 0 and result["changed"] is True and result["log_entry"] is None
    assert (shared / "maintenance.flag").exists()
    assert [w for w in warnings(result) if "operation log" in w] == [
        "this call was not recorded in the operation log (%s: %s is not a directory)" % (path, os.path.dirname(path))
    ]
