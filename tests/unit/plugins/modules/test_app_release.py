# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the orocloud.ops.app_release module shell: main() with patched module arguments, on a
tarball built in tmp_path."""

from __future__ import annotations

import grp
import json
import os
import pwd

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.orocloud.ops.plugins.modules import app_release
from ansible_collections.orocloud.ops.tests.unit.plugins.module_utils.test_app_release import make_tarball
from ansible_collections.orocloud.ops.tests.unit.plugins.modules._results import warnings

OWNER = {"owner": pwd.getpwuid(os.geteuid()).pw_name, "group": grp.getgrgid(os.getegid()).gr_name}


# Every test here writes the operation log in tmp_path (the oplog fixture of conftest.py).
pytestmark = pytest.mark.usefixtures("oplog")


def run(capsys, **args):
    """Run main() as Ansible would; return (exit code, result dict)."""
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        app_release.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_four_runs_check_apply_check_apply(capsys, tmp_path):
    artifact = make_tarball(tmp_path, "6.1.0")
    args = dict(app_root=str(tmp_path / "oro"), version="6.1.0", artifact=artifact, **OWNER)

    results = [
        run(capsys, _ansible_check_mode=True, _ansible_diff=True, **args),
        run(capsys, _ansible_diff=True, **args),
        run(capsys, _ansible_check_mode=True, **args),
        run(capsys, **args),
    ]

    assert [code for code, _r in results] == [0, 0, 0, 0]
    assert [r["changed"] for _c, r in results] == [True, True, False, False]
    assert results[0][1]["diff"] == {
        "before": {"current": None, "releases": []},
        "after": {"current": "6.1.0", "releases": ["6.1.0"]},
    }
    assert results[1][1]["diff"] == results[0][1]["diff"]
    assert "diff" not in results[2][1] and "diff" not in results[3][1]
    assert results[3][1]["current"] == "6.1.0" and results[3][1]["releases"] == ["6.1.0"]
    assert os.readlink(str(tmp_path / "oro" / "current")) == str(tmp_path / "oro" / "releases" / "6.1.0")


def test_refusal_says_nothing_was_changed(capsys, tmp_path):
    artifact = make_tarball(tmp_path, "6.1.1", content="6.1.0\n")

    code, result = run(capsys, app_root=str(tmp_path / "oro"), version="6.1.1", artifact=artifact, **OWNER)

    assert code == 1 and result["failed"] is True and result["changed"] is False
    assert result["msg"] == "%s holds release 6.1.0, not 6.1.1. Nothing was changed." % artifact
    assert not (tmp_path / "oro").exists()


def test_rollback_through_the_module(capsys, tmp_path):
    root = str(tmp_path / "oro")
    for version in ("6.1.0", "6.1.1"):
        code, _result = run(capsys, app_root=root, version=version, artifact=make_tarball(tmp_path, version), **OWNER)
        assert code == 0

    code, result = run(capsys, app_root=root, version="6.1.1", state="rolled_back", _ansible_diff=True, **OWNER)

    assert code == 0 and result["changed"] is True
    assert result["rolled_back"] == {"from": "6.1.1", "to": "6.1.0"}
    assert result["diff"]["before"]["current"] == "6.1.1" and result["diff"]["after"]["current"] == "6.1.0"


@pytest.mark.parametrize(
    "args, message",
    [
        ({}, "missing required arguments: version"),
        ({"version": "6.1.0", "state": "latest"}, "value of state must be one of: present, current, rolled_back"),
        ({"version": "6.1.0", "keep": "many"}, "cannot be converted to an int"),
    ],
    ids=["no-version", "state", "keep"],
)
def test_wrong_arguments_fail_clearly(capsys, tmp_path, args, message):
    code, result = run(capsys, app_root=str(tmp_path / "oro"), **args)

    assert code == 1 and result["failed"] is True
    assert message in result["msg"]


# ------------------------------------------------------------------------------------ the operation log


def test_each_change_is_recorded_with_its_action(capsys, tmp_path, oplog):
    root = str(tmp_path / "oro")
    who = dict(log_user="alice", log_environment="acme-prod", log_run_id="r1", app_root=root, **OWNER)
    artifacts = {v: make_tarball(tmp_path, v) for v in ("6.1.0", "6.1.1")}
    calls = [
        dict(version="6.1.0", artifact=artifacts["6.1.0"], state="present", _ansible_check_mode=True),
        dict(version="6.1.0", artifact=artifacts["6.1.0"], state="present"),
        dict(version="6.1.0", state="present"),
        dict(version="6.1.0", state="current"),
        dict(version="6.1.1", artifact=artifacts["6.1.1"], state="current"),
        dict(version="6.1.1", state="rolled_back"),
        dict(version="6.1.1", state="rolled_back"),
    ]

    results = [run(capsys, **who, **call)[1] for call in calls]

    entries = oplog.entries()
    assert [r["log_entry"] for r in results] == [None, entries[0], None, entries[1], entries[2], entries[3], None]
    assert entries == oplog.syslog
    assert [(e["operation"], e["action"], e["result"]) for e in entries] == [
        ("release", "install", "changed"),
        ("release", "switch", "changed"),
        ("release", "switch", "changed"),
        ("release", "rollback", "changed"),
    ]
    assert {(e["user"], e["environment"], e["run_id"]) for e in entries} == {("alice", "acme-prod", "r1")}
    assert [e["details"] for e in entries] == [
        {"version": "6.1.0", "state": "present", "from": None, "to": None, "installed": True, "removed": []},
        {"version": "6.1.0", "state": "current", "from": None, "to": "6.1.0", "installed": False, "removed": []},
        {"version": "6.1.1", "state": "current", "from": "6.1.0", "to": "6.1.1", "installed": True, "removed": []},
        {"version": "6.1.1", "state": "rolled_back", "from": "6.1.1", "to": "6.1.0", "installed": False, "removed": []},
    ]


def test_removing_old_releases_only_is_a_cleanup(capsys, tmp_path, oplog):
    root = str(tmp_path / "oro")
    for version in ("6.1.0", "6.1.1", "6.1.2"):
        code, _r = run(
            capsys, app_root=root, version=version, artifact=make_tarball(tmp_path, version), keep=0, log=False, **OWNER
        )
        assert code == 0

    code, result = run(capsys, app_root=root, version="6.1.2", keep=2, **OWNER)

    assert code == 0 and result["removed"] == ["6.1.0"]
    (entry,) = oplog.entries()
    assert entry == result["log_entry"] and entry["action"] == "cleanup" and entry["details"]["removed"] == ["6.1.0"]
    assert entry["user"] == entry["login"] and entry["run_id"] is None


def test_a_run_that_stopped_half_way_is_recorded_as_failed_a_refusal_not(capsys, tmp_path, oplog, monkeypatch):
    artifact = make_tarball(tmp_path, "6.1.1", content="6.1.0\n")
    code, result = run(capsys, app_root=str(tmp_path / "oro"), version="6.1.1", artifact=artifact, **OWNER)
    assert code == 1 and result["log_entry"] is None and oplog.entries() == []

    def half_way(params, check_mode):
        raise app_release.ReleaseError("/var/www/oro/current: Permission denied", changed=True)

    monkeypatch.setattr(app_release, "ensure_release", half_way)
    code, result = run(capsys, app_root=str(tmp_path / "oro"), version="6.1.1", state="rolled_back", **OWNER)

    assert code == 1 and result["changed"] is True
    (entry,) = oplog.entries()
    assert entry == result["log_entry"] and (entry["action"], entry["result"]) == ("rollback", "failed")
    assert entry["details"] == {"version": "6.1.1", "state": "rolled_back", "error": result["msg"]}
    assert result["msg"] == "/var/www/oro/current: Permission denied. The run stopped half way; run it again."


def test_an_unwritable_log_is_a_warning_not_a_failure(capsys, tmp_path, oplog):
    path = oplog.unwritable()
    artifact = make_tarball(tmp_path, "6.1.0")
    code, result = run(
        capsys, app_root=str(tmp_path / "oro"), version="6.1.0", artifact=artifact, log_path=path, **OWNER
    )

    assert code == 0 and result["changed"] is True and result["current"] == "6.1.0"
    assert result["log_entry"] is None and oplog.entries() == []
    assert warnings(result) == [
        "this call was not recorded in the operation log (%s: %s is not a directory)" % (path, os.path.dirname(path))
    ]
