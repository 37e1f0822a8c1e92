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

OWNER = {"owner": pwd.getpwuid(os.geteuid()).pw_name, "group": grp.getgrgid(os.getegid()).gr_name}


@pytest.fixture(autouse=True)
def _as_on_a_target(monkeypatch):
    """Results go to stdout as on a managed node, whatever controller code other tests imported."""
    from ansible.module_utils import _internal

    monkeypatch.setattr(_internal, "is_controller", False)


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
