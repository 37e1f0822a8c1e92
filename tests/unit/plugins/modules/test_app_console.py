# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the orocloud.ops.app_console module shell: main() with patched module arguments against a
stand-in console run by /bin/sh."""

from __future__ import annotations

import json
import os
import pwd

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.orocloud.ops.plugins.modules import app_console
from ansible_collections.orocloud.ops.tests.unit.plugins.modules._results import warnings

ME = pwd.getpwuid(os.geteuid()).pw_name
CONSOLE = """\
echo "args: $*"
echo "ORO_SECRET=abc123 and the planted hunter2"
case "$1" in
  fail) echo "[ERROR] migration 0001 failed: hunter2" >&2; exit 1 ;;
  sleep) exec sleep 30 ;;
esac
"""


# Every test here writes the operation log in tmp_path (the oplog fixture of conftest.py).
pytestmark = pytest.mark.usefixtures("oplog")


@pytest.fixture
def app_root(tmp_path):
    console = tmp_path / "releases" / "6.1.0" / "bin" / "console"
    console.parent.mkdir(parents=True)
    console.write_text(CONSOLE)
    (tmp_path / "current").symlink_to(tmp_path / "releases" / "6.1.0")
    return str(tmp_path)


def run(capsys, **args):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        app_console.main()
    out = capsys.readouterr().out
    return exit_info.value.code, json.loads(out), out


def console_args(app_root, command, **extra):
    args = dict(command=command, app_root=app_root, php="/bin/sh", user=ME, secrets=["hunter2"])
    args.update(extra)
    return args


def test_read_only_command_runs_and_is_not_changed(capsys, app_root):
    code, result, out = run(capsys, **console_args(app_root, ["oro:platform:version"], read_only=True))
    assert code == 0 and result["changed"] is False and result["rc"] == 0
    assert result["cmd"] == ["/bin/sh", app_root + "/current/bin/console", "oro:platform:version", "--env=prod"]
    assert result["stdout_lines"] == [
        "args: oro:platform:version --env=prod",
        "ORO_SECRET=******** and the planted ********",
    ]
    assert result["user"] == ME and isinstance(result["duration"], float)
    assert "hunter2" not in out and "abc123" not in out


def test_changing_command_is_changed(capsys, app_root):
    code, result, _out = run(capsys, **console_args(app_root, ["oro:platform:update", "--force"]))
    assert code == 0 and result["changed"] is True
    assert result["stdout_lines"][0] == "args: oro:platform:update --force --env=prod"


def test_check_mode_reports_a_changing_command_without_running_it(capsys, app_root):
    args = console_args(app_root, ["oro:platform:update", "--force"])
    code, result, _out = run(capsys, **args, _ansible_check_mode=True)
    assert code == 0 and result["changed"] is True and "rc" not in result
    assert result["msg"] == "would run oro:platform:update --force (not read-only: not run in check mode)"


def test_check_mode_runs_a_read_only_command(capsys, app_root):
    args = console_args(app_root, ["oro:migration:load", "--dry-run"], read_only=True)
    code, result, _out = run(capsys, **args, _ansible_check_mode=True)
    assert code == 0 and result["changed"] is False and result["rc"] == 0


def test_failure_fails_with_masked_output(capsys, app_root):
    code, result, out = run(capsys, **console_args(app_root, ["fail"]))
    assert code == 1 and result["failed"] is True and result["rc"] == 1
    assert result["msg"] == "fail failed with return code 1: [ERROR] migration 0001 failed: ********"
    assert "hunter2" not in out


def test_timeout_fails_with_the_time(capsys, app_root):
    code, result, _out = run(capsys, **console_args(app_root, ["sleep"], timeout=1))
    assert code == 1 and result["timed_out"] is True
    assert result["msg"] == "sleep timed out after 1 s and was killed"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (dict(timeout=-1), "timeout must be 0 (no limit) or more seconds, got -1"),
        (dict(user="no-such-user"), "user no-such-user does not exist on this node"),
        (dict(release="7.0.0"), "/releases/7.0.0/bin/console does not exist"),
        (dict(php="/nonexistent/php8.2"), "cannot run /nonexistent/php8.2"),
    ],
)
def test_errors_name_the_problem(capsys, app_root, extra, message):
    code, result, _out = run(capsys, **console_args(app_root, ["cache:warmup"], **extra))
    assert code == 1 and message in result["msg"]


# ------------------------------------------------------------------------------------ the operation log


def test_each_command_that_ran_is_recorded_once(capsys, app_root, oplog):
    who = dict(log_user="alice", log_environment="acme-prod", log_run_id="r1")
    results = [
        run(capsys, **console_args(app_root, ["oro:platform:version"], read_only=True, **who))[1],
        run(capsys, **console_args(app_root, ["oro:platform:update", "--force"], **who))[1],
        run(capsys, **console_args(app_root, ["fail", "--token=tok3n"], **who))[1],
    ]

    entries = oplog.entries()
    assert [r["log_entry"] for r in results] == entries == oplog.syslog
    assert [(e["operation"], e["action"], e["result"]) for e in entries] == [
        ("console", "oro:platform:version", "ok"),
        ("console", "oro:platform:update", "changed"),
        ("console", "fail", "failed"),
    ]
    assert {(e["user"], e["environment"], e["run_id"]) for e in entries} == {("alice", "acme-prod", "r1")}
    first = entries[0]["details"]
    assert first["argv"] == results[0]["cmd"] and first["rc"] == 0 and first["timed_out"] is False
    assert first["seconds"] == results[0]["duration"]
    assert entries[2]["details"]["argv"][2:] == ["fail", "--token=********", "--env=prod"]
    assert entries[2]["details"]["rc"] == 1


def test_a_timed_out_command_is_recorded_as_failed(capsys, app_root, oplog):
    code, result, _out = run(capsys, **console_args(app_root, ["sleep"], timeout=1))
    assert code == 1
    (entry,) = oplog.entries()
    assert entry == result["log_entry"] and entry["result"] == "failed" and entry["details"]["timed_out"] is True
    assert entry["user"] == entry["login"]


def test_secrets_given_to_the_module_are_masked_in_the_log(capsys, app_root, oplog):
    code, result, _out = run(capsys, **console_args(app_root, ["oro:config:update", "smtp_pass", "hunter2"]))
    assert code == 0 and result["log_entry"]["details"]["argv"][2:5] == ["oro:config:update", "smtp_pass", "********"]
    with open(oplog.path, encoding="utf-8") as handle:
        assert "hunter2" not in handle.read()


@pytest.mark.parametrize(
    "extra",
    [
        dict(_ansible_check_mode=True),
        dict(_ansible_check_mode=True, read_only=True),
        dict(log=False),
        dict(release="7.0.0"),
        dict(user="no-such-user"),
    ],
    ids=["check-mode", "check-mode-read-only", "log-false", "no-console", "no-user"],
)
def test_nothing_is_recorded_when_nothing_ran_or_logging_is_off(capsys, app_root, oplog, extra):
    _code, result, _out = run(capsys, **console_args(app_root, ["oro:platform:version"], **extra))
    assert result["log_entry"] is None and oplog.entries() == [] and oplog.syslog == []


def test_an_unwritable_log_is_a_warning_not_a_failure(capsys, app_root, oplog):
    path = oplog.unwritable()
    code, result, _out = run(capsys, **console_args(app_root, ["cache:warmup"], log_path=path))
    assert code == 0 and result["changed"] is True and result["rc"] == 0
    assert result["log_entry"] is None
    (warning,) = warnings(result)
    assert warning.startswith("this call was not recorded in the operation log (%s: " % path)
    assert warning.endswith("not-a-directory is not a directory)")
