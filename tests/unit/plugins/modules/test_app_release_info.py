# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the orocloud.ops.app_release_info module shell: main() with patched module arguments."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.orocloud.ops.plugins.modules import app_release_info
from ansible_collections.orocloud.ops.tests.unit.plugins.module_utils.test_app_release import release


def run(capsys, **args):
    """Run main() as Ansible would; return (exit code, result dict)."""
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        app_release_info.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_the_releases_of_a_node_in_check_mode_and_not(capsys, tmp_path):
    root = tmp_path / "oro"
    release(root, tmp_path, "6.1.0")
    release(root, tmp_path, "6.1.1")

    for check_mode in (True, False):
        code, result = run(capsys, app_root=str(root), _ansible_check_mode=check_mode)

        assert code == 0 and result["changed"] is False
        assert (result["current"], result["previous"], result["releases"]) == ("6.1.1", "6.1.0", ["6.1.0", "6.1.1"])


def test_a_broken_layout_fails_naming_it(capsys, tmp_path):
    root = tmp_path / "oro"
    (root / "current").mkdir(parents=True)

    code, result = run(capsys, app_root=str(root))

    assert code == 1 and result["failed"] is True
    assert result["msg"] == "%s is not a symlink: move it away before releases are switched" % (root / "current")


def test_an_unknown_option_is_refused(capsys, tmp_path):
    code, result = run(capsys, app_root=str(tmp_path), version="6.1.1")

    assert code == 1 and "version" in result["msg"]
