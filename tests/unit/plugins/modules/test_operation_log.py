# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the orocloud.ops.operation_log and operation_log_info module shells: main() with patched
module arguments, logs in tmp_path, syslog replaced by a recorder."""

from __future__ import annotations

import grp
import json
import os
import socket

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.orocloud.ops.plugins.module_utils import _operation_log as ol
from ansible_collections.orocloud.ops.plugins.modules import operation_log, operation_log_info

PLANTED = "JBSWY3DPEHPK3PXP"


@pytest.fixture(autouse=True)
def syslog_calls(monkeypatch):
    """Nothing goes to this machine's syslog; the entries sent are recorded."""
    calls = []
    monkeypatch.setattr(operation_log, "to_syslog", calls.append)
    return calls


@pytest.fixture
def group():
    for name in ("adm", "root"):
        try:
            grp.getgrnam(name)
        except KeyError:
            continue
        return name
    pytest.skip("no usable group")


@pytest.fixture
def log(tmp_path):
    return str(tmp_path / "orocloud" / "operations.log")


def run(capsys, module=operation_log, **args):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        module.main()
    out = capsys.readouterr().out
    return exit_info.value.code, json.loads(out), out


def read(log):
    with open(log, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def test_entry_is_appended_masked_and_sent_to_syslog(capsys, log, group, syslog_calls):
    code, result, out = run(
        capsys,
        operation="access",
        action="enrol",
        result="changed",
        details={"user": "carol", "totp_seed": PLANTED, "note": "seed is %s" % PLANTED,
                 "dsn": "postgresql://oro:pw@db/oro"},
        secrets=[PLANTED],
        user="alice",
        environment="acme-prod",
        host="acme-prod-vpn1",
        run_id="r1",
        path=log,
        group=group,
    )
    assert code == 0 and result["changed"] is True and result["created"] is True
    assert result["log_file"] == log and "path" not in result
    entry = result["entry"]
    assert entry["user"] == "alice" and entry["host"] == "acme-prod-vpn1" and entry["result"] == "changed"
    assert entry["details"] == {"user": "carol", "totp_seed": "********", "note": "seed is ********",
                                "dsn": "postgresql://oro:********@db/oro"}
    assert read(log) == [entry]
    assert syslog_calls == [entry]
    assert PLANTED not in out
    with open(log, encoding="utf-8") as handle:
        assert PLANTED not in handle.read()


def test_defaults_user_from_the_login_and_host_from_the_node(capsys, log, group, monkeypatch):
    monkeypatch.setenv("SUDO_USER", "bob")
    code, result, _out = run(capsys, operation="patch", action="lock", path=log, group=group)
    assert code == 0
    if os.geteuid() == 0:
        assert result["entry"]["user"] == result["entry"]["login"] == "bob"
    assert result["entry"]["host"] == socket.gethostname()
    assert result["entry"]["result"] == "ok" and result["entry"]["details"] == {}


def test_check_mode_writes_nothing(capsys, log, group, syslog_calls):
    code, result, _out = run(capsys, operation="patch", action="lock", path=log, group=group, _ansible_check_mode=True)
    assert code == 0 and result["changed"] is True and result["created"] is True
    assert result["entry"]["action"] == "lock"
    assert not os.path.exists(log) and syslog_calls == []


def test_diff_is_the_line_appended(capsys, log, group):
    code, result, _out = run(capsys, operation="patch", action="lock", path=log, group=group, syslog=False,
                             _ansible_diff=True)
    assert code == 0
    assert result["diff"]["before"] == ""
    assert json.loads(result["diff"]["after"]) == result["entry"]


def test_syslog_can_be_turned_off(capsys, log, group, syslog_calls):
    run(capsys, operation="patch", action="lock", path=log, group=group, syslog=False)
    assert syslog_calls == []


@pytest.mark.skipif(os.geteuid() != 0, reason="modes are restored only as root")
def test_changed_modes_are_restored_with_a_warning(capsys, log, group):
    run(capsys, operation="patch", action="lock", path=log, group=group)
    os.chmod(log, 0o666)  # noqa: S103 - what the module must put right
    code, result, _out = run(capsys, operation="patch", action="unlock", path=log, group=group)
    assert code == 0 and result["repaired"] == ["%s had mode 0666" % log]
    warnings = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
    assert warnings == ["%s had mode 0666; owner and mode restored" % log]


def test_a_symlink_fails_naming_the_file(capsys, log, group, tmp_path):
    os.makedirs(os.path.dirname(log))
    os.symlink(str(tmp_path / "x"), log)
    code, result, _out = run(capsys, operation="patch", action="lock", path=log, group=group)
    assert code == 1 and result["log_file"] == log
    assert result["msg"] == "the operation log %s is a symbolic link; refusing to write through it" % log


def test_empty_action_is_refused(capsys, log, group):
    code, result, _out = run(capsys, operation="patch", action="", path=log, group=group)
    assert code == 1 and result["msg"] == "action must not be empty"
    assert not os.path.exists(log)


# ------------------------------------------------------------------------------------ operation_log_info


@pytest.fixture
def history(log, group):
    for user, action, result in (("alice", "lock", "ok"), ("bob", "grant", "changed"), ("alice", "switch", "failed")):
        ol.append(log, ol.build_entry("patch", action, result=result, user=user, run_id="r1"), group=group)
    return log


@pytest.mark.parametrize(
    ("filters", "actions", "count"),
    [
        (dict(), ["lock", "grant", "switch"], 3),
        (dict(user="alice"), ["lock", "switch"], 2),
        (dict(user="alice", result=["failed"]), ["switch"], 1),
        (dict(since="1h", until="2999-01-01"), ["lock", "grant", "switch"], 3),
        (dict(limit=1), ["switch"], 3),
        (dict(run_id="r2"), [], 0),
    ],
)
def test_info_lists_matching_entries_newest_last(capsys, history, filters, actions, count):
    code, result, _out = run(capsys, operation_log_info, path=history, _ansible_check_mode=True, **filters)
    assert code == 0 and result["changed"] is False
    assert [e["action"] for e in result["entries"]] == actions
    assert result["count"] == count and result["total"] == 3 and result["malformed"] == 0 and result["exists"]
    assert result["log_file"] == history


def test_info_of_a_missing_log(capsys, tmp_path):
    code, result, _out = run(capsys, operation_log_info, path=str(tmp_path / "none.log"))
    assert code == 0 and result["entries"] == [] and result["exists"] is False


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (dict(since="last tuesday"), "since: 'last tuesday' is neither an ISO 8601 date or time"),
        (dict(until="x"), "until: 'x' is neither"),
        (dict(limit=-2), "limit must be 0 or more, got -2"),
    ],
)
def test_info_refuses_bad_filters(capsys, history, filters, message):
    code, result, _out = run(capsys, operation_log_info, path=history, **filters)
    assert code == 1 and message in result["msg"]
