# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the orocloud.ops.app_services module shell: main() with patched module arguments and
the fake systemd of the backend's tests behind AnsibleModule.run_command."""

from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.orocloud.ops.plugins.modules import app_services
from ansible_collections.orocloud.ops.tests.unit.plugins.module_utils.test_app_services import RUNNING, node
from ansible_collections.orocloud.ops.tests.unit.plugins.modules._results import warnings

# Every test here writes the operation log in tmp_path (the oplog fixture of conftest.py).
pytestmark = pytest.mark.usefixtures("oplog")


@pytest.fixture
def systemd(monkeypatch):
    fake = node()
    monkeypatch.setattr(AnsibleModule, "run_command", lambda self, argv, **kwargs: fake(argv))
    return fake


def run(capsys, **args):
    """Run main() as Ansible would; return (exit code, result dict)."""
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        app_services.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_four_runs_stop_then_four_runs_restore(capsys, tmp_path, systemd):
    state_file = str(tmp_path / "services.json")
    for state, after in (("stopped", ["nginx.service"]), ("restored", sorted([*RUNNING, "nginx.service"]))):
        results = [
            run(capsys, state=state, state_file=state_file, _ansible_check_mode=True, _ansible_diff=True),
            run(capsys, state=state, state_file=state_file, _ansible_diff=True),
            run(capsys, state=state, state_file=state_file, _ansible_check_mode=True),
            run(capsys, state=state, state_file=state_file),
        ]
        assert [code for code, _r in results] == [0, 0, 0, 0]
        assert [r["changed"] for _c, r in results] == [True, True, False, False]
        assert results[0][1]["diff"] == results[1][1]["diff"]
        assert "diff" not in results[3][1]
        assert systemd.running() == after
    assert results[1][1]["started"] == RUNNING


def test_failure_says_what_happened(capsys, tmp_path, systemd):
    systemd.stuck.add("oro-websocket.service")

    code, result = run(capsys, state="stopped", state_file=str(tmp_path / "services.json"))

    assert code == 1 and result["changed"] is True
    assert result["msg"] == "still running after systemctl stop: oro-websocket.service. The run stopped half way."


def test_wrong_state_fails_clearly(capsys, tmp_path, systemd):
    code, result = run(capsys, state="paused", state_file=str(tmp_path / "services.json"))

    assert code == 1 and "value of state must be one of: captured, stopped, restored" in result["msg"]


# ------------------------------------------------------------------------------------ the operation log


def test_each_change_is_recorded_once_none_in_check_mode(capsys, tmp_path, systemd, oplog):
    args = dict(
        state_file=str(tmp_path / "services.json"), log_user="alice", log_environment="acme-prod", log_run_id="r1"
    )
    states = ["captured", "stopped", "stopped", "restored", "restored"]

    checked = [run(capsys, state=state, _ansible_check_mode=True, **args)[1] for state in ("captured", "stopped")]
    results = [run(capsys, state=state, **args)[1] for state in states]

    entries = oplog.entries()
    assert [r["log_entry"] for r in checked] == [None, None]
    assert [r["log_entry"] for r in results] == [entries[0], entries[1], None, entries[2], None]
    assert entries == oplog.syslog
    assert [(e["operation"], e["action"], e["result"]) for e in entries] == [
        ("services", "capture", "changed"),
        ("services", "stop", "changed"),
        ("services", "restore", "changed"),
    ]
    assert {(e["user"], e["environment"], e["run_id"]) for e in entries} == {("alice", "acme-prod", "r1")}
    assert [e["details"] for e in entries] == [
        {"captured": RUNNING, "stopped": [], "started": []},
        {"captured": [], "stopped": RUNNING, "started": []},
        {"captured": [], "stopped": [], "started": RUNNING},
    ]


def test_a_run_that_stopped_half_way_is_recorded_as_failed(capsys, tmp_path, systemd, oplog):
    systemd.stuck.add("oro-websocket.service")

    code, result = run(capsys, state="stopped", state_file=str(tmp_path / "services.json"))

    assert code == 1 and result["changed"] is True
    (entry,) = oplog.entries()
    assert entry == result["log_entry"] and (entry["action"], entry["result"]) == ("stop", "failed")
    assert entry["details"] == {"error": result["msg"]} and entry["user"] == entry["login"]


@pytest.mark.parametrize(
    "extra",
    [dict(log=False), dict(patterns=["--all"])],
    ids=["log-false", "refused"],
)
def test_nothing_is_recorded_with_log_false_or_when_nothing_changed(capsys, tmp_path, systemd, oplog, extra):
    _code, result = run(capsys, state="stopped", state_file=str(tmp_path / "services.json"), **extra)
    assert result["log_entry"] is None and oplog.entries() == [] and oplog.syslog == []


def test_an_unwritable_log_is_a_warning_not_a_failure(capsys, tmp_path, systemd, oplog):
    path = oplog.unwritable()
    code, result = run(capsys, state="stopped", state_file=str(tmp_path / "services.json"), log_path=path)

    assert code == 0 and result["stopped"] == RUNNING and result["log_entry"] is None
    assert warnings(result) == [
        "this call was not recorded in the operation log (%s: %s is not a directory)" % (path, os.path.dirname(path))
    ]
