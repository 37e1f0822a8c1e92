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

OWNER = {"app_user": pwd.getpwuid(os.geteuid()).pw_name, "app_group": grp.getgrgid(os.getegid()).gr_name}


@pytest.fixture(autouse=True)
def _as_on_a_target(monkeypatch):
    """Results go to stdout as on a managed node, whatever controller code other tests imported."""
    from ansible.module_utils import _internal

    monkeypatch.setattr(_internal, "is_controller", False)


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


def warnings(result):
    """The warnings' texts (ansible-core 2.19+ returns them as structured events)."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]


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
