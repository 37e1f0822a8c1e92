# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the orocloud.ops.app_switch module shell: main() with patched module arguments, the fake
node of the backend's tests (systemd behind AnsibleModule.run_command, the health endpoint behind open_url,
a release layout and console in tmp_path)."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.orocloud.ops.plugins.module_utils import _app_maintenance
from ansible_collections.orocloud.ops.plugins.modules import app_switch
from ansible_collections.orocloud.ops.tests.unit.plugins.module_utils.test_app_maintenance import Opener
from ansible_collections.orocloud.ops.tests.unit.plugins.module_utils.test_app_services import RUNNING
from ansible_collections.orocloud.ops.tests.unit.plugins.module_utils.test_app_switch import (
    FPM,
    GROUP,
    STEP_NAMES,
    URL,
    USER,
    World,
    healthy,
)
from ansible_collections.orocloud.ops.tests.unit.plugins.modules._results import warnings

# Every test here writes the operation log in tmp_path (the oplog fixture of conftest.py).
pytestmark = pytest.mark.usefixtures("oplog")


@pytest.fixture
def world(monkeypatch, tmp_path):
    """The node: run_command is its systemd, open_url its health endpoint."""
    node = World(tmp_path / "node")
    monkeypatch.setattr(AnsibleModule, "run_command", lambda self, argv, **kwargs: node.run(argv, kwargs.get("cwd")))

    def open_url(url, **kwargs):
        return node.opener(url, **kwargs)  # looked up at each call: a test may replace world.opener

    monkeypatch.setattr(_app_maintenance, "open_url", open_url)
    return node


def run(capsys, world, **args):
    """Run main() as Ansible would, on ``world``; return (exit code, result dict)."""
    values = dict(
        version="6.1.1",
        app_root=str(world.app),
        owner=USER,
        group=GROUP,
        php="/bin/sh",
        user=USER,
        services_state_file=str(world.state_file),
        health_url=URL,
        health_units=["nginx.service", FPM],
        health_timeout=0,
        log_user="alice",
        log_environment="acme-prod",
        log_run_id="r1",
    )
    values.update(args)
    with patch_module_args(values), pytest.raises(SystemExit) as exit_info:
        app_switch.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_a_switch_returns_its_steps_and_is_recorded(capsys, world, oplog, tmp_path):
    log_path = str(tmp_path / "elsewhere" / "operations.log")

    code, result = run(capsys, world, log_path=log_path)

    assert code == 0 and result["changed"] is True and world.current() == "6.1.1"
    assert [step["step"] for step in result["steps"]] == STEP_NAMES
    assert result["version"] == "6.1.1" and result["previous"] == "6.1.0"
    assert result["services"] == {"captured": RUNNING, "stopped": RUNNING, "started": RUNNING}
    assert "diff" not in result and "failed" not in result

    entry = result["log_entry"]
    assert entry is not None and oplog.entries() == [] and oplog.syslog == [entry]
    with open(log_path, encoding="utf-8") as handle:
        assert [json.loads(line) for line in handle] == [entry]
    assert (entry["operation"], entry["action"], entry["result"]) == ("release", "switch", "changed")
    assert (entry["user"], entry["environment"], entry["run_id"]) == ("alice", "acme-prod", "r1")
    details = entry["details"]
    assert (details["from"], details["to"]) == ("6.1.0", "6.1.1")
    assert details["steps"] == {step["step"]: step["seconds"] for step in result["steps"]}
    assert list(details["steps"]) == STEP_NAMES


def test_the_diff_only_with_diff_mode(capsys, world):
    _code, checked = run(capsys, world, steps=["switch"], _ansible_check_mode=True, _ansible_diff=True)
    _code, plain = run(capsys, world, steps=["switch"], _ansible_check_mode=True)
    _code, switched = run(capsys, world, steps=["switch"], _ansible_diff=True)

    expected = {"before": {"current": "6.1.0"}, "after": {"current": "6.1.1"}}
    assert checked["diff"] == expected and switched["diff"] == expected
    assert "diff" not in plain


def test_check_mode_changes_nothing_and_records_nothing(capsys, world, oplog):
    code, result = run(capsys, world, _ansible_check_mode=True)

    assert code == 0 and result["changed"] is True and result["log_entry"] is None
    assert oplog.entries() == [] and oplog.syslog == []
    assert world.current() == "6.1.0" and world.systemd.verbs() == [] and world.warmups() == []
    assert world.opener.calls == []


def test_a_call_that_changed_nothing_is_not_recorded(capsys, world, oplog):
    code, result = run(capsys, world, steps=["health"])

    assert code == 0 and result["changed"] is False and result["log_entry"] is None
    assert oplog.entries() == []


def test_nothing_is_recorded_with_log_false(capsys, world, oplog):
    code, result = run(capsys, world, steps=["switch"], log=False)

    assert code == 0 and result["changed"] is True and result["log_entry"] is None and oplog.entries() == []


# ------------------------------------------------------------------------------------ failures


def test_a_failure_after_a_change_says_so_and_is_recorded_as_failed(capsys, world, oplog):
    world.systemd.reload_rc = 1

    code, result = run(capsys, world)

    assert code == 1 and result["failed"] is True and result["changed"] is True and result["step"] == "reload"
    assert result["msg"].startswith("reload failed: systemctl reload %s failed with status 1" % FPM)
    assert result["msg"].endswith("(done before it: stop, switch). The node changed before it stopped.")
    (entry,) = oplog.entries()
    assert entry == result["log_entry"]
    assert (entry["operation"], entry["action"], entry["result"]) == ("release", "switch", "failed")
    assert entry["details"]["error"] == result["msg"]
    assert {k: v for k, v in entry["details"].items() if k != "steps"} == {
        "from": "6.1.0",
        "to": "6.1.1",
        "error": result["msg"],
    }
    assert list(entry["details"]["steps"]) == ["stop", "switch"]
    assert world.current() == "6.1.1" and world.capture() == RUNNING  # nothing undone


def test_a_failure_before_any_change_says_nothing_was_changed(capsys, world, oplog):
    world.opener = Opener((200, healthy("6.1.0")))

    code, result = run(capsys, world, steps=["health"])

    assert code == 1 and result["failed"] is True and result["changed"] is False and result["step"] == "health"
    assert result["msg"] == (
        'health failed: unhealthy after 0 s: GET %s: version is "6.1.0", expected 6.1.1 (the first step). '
        "Nothing was changed." % URL
    )
    assert result["log_entry"] is None and oplog.entries() == []


def test_a_failure_in_check_mode_changed_nothing(capsys, world, oplog):
    code, result = run(capsys, world, version="9.9.9", steps=["stop", "switch"], _ansible_check_mode=True)

    assert code == 1 and result["changed"] is False and result["step"] == "switch"
    assert result["msg"].endswith("(done before it: stop). Nothing was changed.")
    assert result["log_entry"] is None and oplog.entries() == [] and world.systemd.verbs() == []


def test_bad_parameters_fail_before_anything_runs(capsys, world, oplog):
    code, result = run(capsys, world, steps=["switch", "switch"])

    assert code == 1 and result["changed"] is False and result["step"] is None
    assert result["msg"] == "steps: switch named twice. Nothing was changed."
    assert world.current() == "6.1.0" and oplog.entries() == []


def test_an_unknown_step_is_refused_by_the_argument_spec(capsys, world):
    code, result = run(capsys, world, steps=["switch", "rollback"])

    assert code == 1 and "value of steps must be one or more of" in result["msg"]
    assert world.current() == "6.1.0"


def test_maintenance_mode_warnings_reach_the_run_and_the_window_is_recorded(capsys, world):
    code, result = run(capsys, world, steps=["maintenance_on", "stop", "switch"], maintenance_comment="patch")

    assert code == 0 and world.maintenance() == "600"
    assert [step["step"] for step in result["steps"]] == ["maintenance_on", "stop", "switch"]
    assert any(text.startswith("no downtime window declared") for text in warnings(result))
    assert "warnings" not in result["log_entry"]["details"]
    window = result["log_entry"]["details"]["maintenance"]
    assert window == result["maintenance"] and (window["comment"], window["duration"]) == ("patch", None)


def test_a_switch_without_maintenance_records_no_window(capsys, world):
    code, result = run(capsys, world)

    assert code == 0 and result["maintenance"] is None and "maintenance" not in result["log_entry"]["details"]
