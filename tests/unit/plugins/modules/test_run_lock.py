# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the orocloud.ops.run_lock and run_lock_info module shells: main() with patched module
arguments, lock files in tmp_path."""

from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.orocloud.ops.plugins.module_utils import _run_lock as rl
from ansible_collections.orocloud.ops.plugins.modules import run_lock, run_lock_info

CONTROLLER = dict(controller_host="ctl", controller_pid=4242, controller_pid_start="linux:boot:100", user="alice",
                  command="ansible-playbook patch.yml")


def run(capsys, module=run_lock, **args):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        module.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


@pytest.fixture
def locks(tmp_path):
    return str(tmp_path / "locks")


def lock_args(locks, **extra):
    args = dict(environment="acme-prod", directory=locks, operation="patch", **CONTROLLER)
    args.update(extra)
    return args


def other_holder(locks, lock_id="b" * 32, **extra):
    holder = rl.make_record("acme-prod", operation="patch", command="ansible-playbook other.yml", user="bob",
                            controller_host="ctl", controller_pid=77, controller_pid_start="linux:boot:7",
                            lock_id=lock_id)
    holder.update(extra)
    os.makedirs(locks, exist_ok=True)
    with open(os.path.join(locks, "acme-prod.lock"), "w", encoding="utf-8") as handle:
        json.dump(holder, handle)
    return holder


def test_acquire_in_check_mode_then_for_real_then_again(capsys, locks):
    code, checked = run(capsys, **lock_args(locks), _ansible_check_mode=True)
    assert code == 0 and checked["changed"] and checked["acquired"]
    assert not os.path.exists(locks)

    code, taken = run(capsys, **lock_args(locks))
    assert code == 0 and taken["changed"] and taken["acquired"] and not taken["released"]
    assert taken["lock_file"] == os.path.join(locks, "acme-prod.lock")
    assert taken["stale"] is False and taken["held"] is False and taken["previous"] is None
    assert {k: taken["lock"][k] for k in CONTROLLER} == CONTROLLER
    assert taken["lock"]["operation"] == "patch" and taken["lock"]["environment"] == "acme-prod"
    assert "path" not in taken and "mode" not in taken  # no file attributes mixed into the result

    code, again = run(capsys, **lock_args(locks, operation="patch-again"))
    assert code == 0 and again["changed"] is False and again["acquired"]
    assert again["lock"] == taken["lock"]


def test_lock_held_by_another_run_fails_with_the_holder(capsys, locks):
    holder = other_holder(locks)
    code, result = run(capsys, **lock_args(locks))
    assert code == 1 and result["failed"] and result["held"] is True
    assert result["lock"] == holder and result["stale"] is None and result["acquired"] is False
    assert "held by bob on ctl (PID 77)" in result["msg"]


def test_takeover_without_proof_is_refused(capsys, locks):
    """takeover alone proves nothing: only the action plugin's replace_id does."""
    other_holder(locks)
    code, result = run(capsys, **lock_args(locks, takeover=True))
    assert code == 1 and result["held"] is True


def test_takeover_with_the_proven_stale_id(capsys, locks):
    holder = other_holder(locks)
    code, result = run(capsys, **lock_args(locks, takeover=True, replace_id=holder["id"]))
    assert code == 0 and result["changed"] and result["acquired"]
    assert result["previous"] == holder and result["stale"] is True
    assert result["lock"]["user"] == "alice"


def test_replace_id_without_takeover_or_force_is_ignored(capsys, locks):
    holder = other_holder(locks)
    code, result = run(capsys, **lock_args(locks, replace_id=holder["id"]))
    assert code == 1 and result["held"] is True


def test_force_takes_a_live_lock(capsys, locks):
    holder = other_holder(locks)
    code, result = run(capsys, **lock_args(locks, force=True))
    assert code == 0 and result["changed"] and result["previous"] == holder


def test_release_own_lock_by_process_then_nothing_to_release(capsys, locks):
    run(capsys, **lock_args(locks))
    code, checked = run(capsys, **lock_args(locks, state="absent"), _ansible_check_mode=True)
    assert code == 0 and checked["released"] and os.path.exists(os.path.join(locks, "acme-prod.lock"))

    code, released = run(capsys, **lock_args(locks, state="absent"))
    assert code == 0 and released["changed"] and released["released"] and not released["acquired"]
    assert not os.path.exists(os.path.join(locks, "acme-prod.lock"))

    code, again = run(capsys, **lock_args(locks, state="absent"))
    assert code == 0 and again["changed"] is False and again["released"] is False


def test_release_by_id_from_another_process(capsys, locks):
    holder = other_holder(locks)
    code, result = run(capsys, **lock_args(locks, state="absent", id=holder["id"]))
    assert code == 0 and result["released"] and result["previous"] is None


def test_release_of_another_runs_lock_fails(capsys, locks):
    other_holder(locks)
    code, result = run(capsys, **lock_args(locks, state="absent"))
    assert code == 1 and result["held"] is True
    assert os.path.exists(os.path.join(locks, "acme-prod.lock"))


def test_invalid_environment_name(capsys, locks):
    code, result = run(capsys, **lock_args(locks, environment="../x"))
    assert code == 1 and "not a valid lock name" in result["msg"] and result["held"] is False


def test_explicit_path(capsys, tmp_path):
    path = str(tmp_path / "elsewhere.lock")
    code, result = run(capsys, environment="acme-prod", path=path, **CONTROLLER)
    assert code == 0 and result["lock_file"] == path and os.path.exists(path)


# ------------------------------------------------------------------------------------ run_lock_info


def test_info_without_a_lock(capsys, locks):
    code, result = run(capsys, run_lock_info, environment="acme-prod", directory=locks)
    assert code == 0 and result["changed"] is False
    assert result["locked"] is False and result["valid"] is True and result["lock"] is None


def test_info_with_a_lock(capsys, locks):
    holder = other_holder(locks)
    code, result = run(capsys, run_lock_info, environment="acme-prod", directory=locks, _ansible_check_mode=True)
    assert code == 0 and result["locked"] is True and result["lock"] == holder
    assert result["lock_file"] == os.path.join(locks, "acme-prod.lock")


def test_info_with_an_invalid_lock_file(capsys, locks):
    os.makedirs(locks)
    with open(os.path.join(locks, "acme-prod.lock"), "w", encoding="utf-8") as handle:
        handle.write("{")
    code, result = run(capsys, run_lock_info, environment="acme-prod", directory=locks)
    assert code == 0 and result["locked"] is True and result["valid"] is False and result["lock"] is None
    assert "not a valid lock file" in result["stale_reason"]


def test_info_of_a_bad_name(capsys, locks):
    code, result = run(capsys, run_lock_info, environment="", directory=locks)
    assert code == 1 and "not a valid lock name" in result["msg"]
