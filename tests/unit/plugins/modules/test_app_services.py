# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the orocloud.ops.app_services module shell: main() with patched module arguments and
the fake systemd of the backend's tests behind AnsibleModule.run_command."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.orocloud.ops.plugins.modules import app_services
from ansible_collections.orocloud.ops.tests.unit.plugins.module_utils.test_app_services import RUNNING, node


@pytest.fixture(autouse=True)
def _as_on_a_target(monkeypatch):
    """Results go to stdout as on a managed node, whatever controller code other tests imported."""
    from ansible.module_utils import _internal

    monkeypatch.setattr(_internal, "is_controller", False)


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
