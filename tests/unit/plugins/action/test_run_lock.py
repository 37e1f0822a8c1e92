# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the run_lock and run_lock_info action plugins: the controller's part. The "target" is the real
module run in this process against lock files in tmp_path; the controller's process table is a fake one."""

from __future__ import annotations

import json
import multiprocessing
import os
from types import SimpleNamespace
from unittest.mock import MagicMock

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.orocloud.ops.plugins.action import run_lock as action
from ansible_collections.orocloud.ops.plugins.action import run_lock_info as info_action
from ansible_collections.orocloud.ops.plugins.module_utils import _run_lock as rl
from ansible_collections.orocloud.ops.plugins.modules import run_lock, run_lock_info

MY_PID = 4242
MY_START = "linux:boot:100"


TABLE = {MY_PID: MY_START, 5151: "linux:boot:5151"}
MODULES = {"orocloud.ops.run_lock": run_lock, "orocloud.ops.run_lock_info": run_lock_info}


class FakeProcesses:
    """This controller's process table: our ansible-playbook and one other live process."""

    def start_of(self, pid):
        return TABLE.get(pid)


REAL_PLAYBOOK_PID = action.playbook_pid


@pytest.fixture(autouse=True)
def controller(monkeypatch):
    """This controller is 'ctl', runs ansible-playbook as PID 4242 for alice."""
    monkeypatch.setattr(action, "controller_processes", FakeProcesses)
    monkeypatch.setattr(info_action, "controller_processes", FakeProcesses)
    monkeypatch.setattr(action, "socket", SimpleNamespace(gethostname=lambda: "ctl"))
    monkeypatch.setattr(action, "playbook_pid", lambda: MY_PID)
    monkeypatch.setattr(action, "getpass", SimpleNamespace(getuser=lambda: "alice"))
    monkeypatch.setattr(action, "sys", SimpleNamespace(argv=["/venv/bin/ansible-playbook", "-e", "db_password=s3cret",
                                                             "patch.yml"]))


@pytest.fixture
def locks(tmp_path):
    return str(tmp_path / "locks")


class Node:
    """Runs the modules in this process, as the target would, and records the arguments they got."""

    def __init__(self, capsys, monkeypatch):
        self.capsys = capsys
        self.calls = []
        from ansible.module_utils import _internal

        self._internal = _internal
        self.monkeypatch = monkeypatch

    def execute(self, module_name=None, module_args=None, task_vars=None, check_mode=False):
        self.calls.append(dict(module_args))
        args = dict(module_args, _ansible_check_mode=check_mode)
        self.monkeypatch.setattr(self._internal, "is_controller", False)  # the module prints its result
        with patch_module_args(args), pytest.raises(SystemExit):
            MODULES[module_name].main()
        self.monkeypatch.setattr(self._internal, "is_controller", True)
        return json.loads(self.capsys.readouterr().out)


def make_action(plugin, node, args, check_mode=False):
    task = MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = check_mode
    connection = MagicMock()
    connection._shell.tmpdir = None
    instance = plugin.ActionModule(task, connection, MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    instance._execute_module = lambda module_name=None, module_args=None, task_vars=None, **_: node.execute(
        module_name, module_args, task_vars, check_mode)
    instance._remove_tmp_path = lambda *a, **k: None
    return instance


@pytest.fixture
def node(capsys, monkeypatch):
    return Node(capsys, monkeypatch)


def take(node, locks, check_mode=False, task_vars=None, **extra):
    args = dict(environment="acme-prod", directory=locks, operation="patch", **extra)
    return make_action(action, node, args, check_mode).run(task_vars=task_vars or {})


def plant(locks, **fields):
    """A lock taken by another run (bob); fields override its record."""
    holder = rl.make_record("acme-prod", operation="patch", command="ansible-playbook other.yml", user="bob",
                            controller_host="ctl", controller_pid=7, controller_pid_start="linux:boot:7",
                            lock_id="b" * 32)
    holder.update(fields)
    os.makedirs(locks, exist_ok=True)
    with open(os.path.join(locks, "acme-prod.lock"), "w", encoding="utf-8") as handle:
        json.dump(holder, handle)
    return holder


def on_disk(locks):
    with open(os.path.join(locks, "acme-prod.lock"), encoding="utf-8") as handle:
        return json.load(handle)


# ------------------------------------------------------------------------------------ what is recorded


def test_the_lock_records_this_controller_process(node, locks):
    result = take(node, locks)

    assert result["acquired"] and result["changed"] and result["stale"] is False
    lock = on_disk(locks)
    assert lock == result["lock"]
    assert {k: lock[k] for k in ("user", "controller_host", "controller_pid", "controller_pid_start")} == {
        "user": "alice", "controller_host": "ctl", "controller_pid": MY_PID, "controller_pid_start": MY_START}
    assert lock["command"] == "/venv/bin/ansible-playbook -e 'db_password=********' patch.yml"


def test_user_and_command_given_in_the_task_win_and_controller_fields_do_not(node, locks):
    take(node, locks, user="carol", command="make patch", controller_pid=1, controller_host="fake",
         replace_id="x" * 32)
    lock = on_disk(locks)
    assert lock["user"] == "carol" and lock["command"] == "make patch"
    assert lock["controller_pid"] == MY_PID and lock["controller_host"] == "ctl"
    assert "replace_id" not in node.calls[0]


def test_the_awx_user_is_the_person(node, locks):
    take(node, locks, task_vars={"awx_user_name": "dave"})
    assert on_disk(locks)["user"] == "dave"


def test_the_playbook_process_is_the_workers_parent():
    """In a forked worker, the parent process is the ansible-playbook process."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    worker = context.Process(target=lambda: queue.put(REAL_PLAYBOOK_PID()))
    worker.start()
    worker.join(10)
    assert queue.get(timeout=5) == os.getpid()


def test_ps_runs_on_the_controller():
    rc, out = action.run_ps(["ps", "-o", "lstart=", "-p", str(os.getpid())])
    assert rc == 0 and out.strip()
    assert action.run_ps(["/nonexistent/ps"]) == (1, "")


def test_controller_user_without_a_name(monkeypatch):
    def nameless():
        raise KeyError("getpwuid(): uid not found")

    monkeypatch.setattr(action, "getpass", SimpleNamespace(getuser=nameless))
    assert action.controller_user({}) == str(os.getuid())
    assert action.controller_user({"tower_user_name": "erin"}) == "erin"


def test_check_mode_takes_nothing(node, locks):
    result = take(node, locks, check_mode=True)
    assert result["changed"] and result["acquired"] and not os.path.exists(locks)


# ------------------------------------------------------------------------------------ another holder


def test_a_stale_holder_is_reported_and_kept_without_takeover(node, locks):
    holder = plant(locks)
    result = take(node, locks)

    assert result["failed"] and result["held"] and result["stale"] is True
    assert result["stale_reason"] == "no process 7 runs on ctl"
    assert result["msg"] == (
        "cannot take the lock %s/acme-prod.lock: it is held by bob on ctl (PID 7) since %s for operation patch, "
        "command: ansible-playbook other.yml; STALE: no process 7 runs on ctl. The holder is gone: re-run with "
        "takeover: true to take it over." % (locks, holder["started"])
    )
    assert "exception" not in result
    assert on_disk(locks) == holder


def test_a_stale_holder_is_taken_over_when_asked(node, locks):
    holder = plant(locks)
    result = take(node, locks, takeover=True)

    assert result["changed"] and result["acquired"] and result["stale"] is True
    assert result["previous"] == holder
    assert "(STALE: no process 7 runs on ctl)" in result["msg"]
    assert on_disk(locks)["controller_pid"] == MY_PID
    assert [call.get("replace_id") for call in node.calls] == [None, holder["id"]]


def test_a_reused_pid_is_stale(node, locks):
    plant(locks, controller_pid=5151, controller_pid_start="linux:boot:1")
    result = take(node, locks, takeover=True)
    assert result["acquired"] and result["stale"] is True
    assert "the PID was reused" in result["stale_reason"]


def test_a_live_holder_is_never_taken_over_by_takeover(node, locks):
    holder = plant(locks, controller_pid=5151, controller_pid_start="linux:boot:5151")
    result = take(node, locks, takeover=True)

    assert result["failed"] and result["stale"] is False
    assert "the holder is alive: process 5151 on ctl is still running" in result["msg"]
    assert "Wait for that run to finish" in result["msg"]
    assert on_disk(locks) == holder and len(node.calls) == 1


def test_a_holder_on_another_controller_cannot_be_proven_stale(node, locks):
    holder = plant(locks, controller_host="laptop-bob")
    result = take(node, locks, takeover=True)

    assert result["failed"] and result["stale"] is None
    assert "only laptop-bob can tell" in result["msg"]
    assert "Check on laptop-bob that the run is gone, then use force: true." in result["msg"]
    assert on_disk(locks) == holder


def test_force_takes_a_live_lock_with_a_warning(node, locks, monkeypatch):
    warnings = []
    monkeypatch.setattr(action.display, "warning", warnings.append)
    holder = plant(locks, controller_pid=5151, controller_pid_start="linux:boot:5151")
    result = take(node, locks, force=True)

    assert result["acquired"] and result["previous"] == holder and result["stale"] is False
    assert len(warnings) == 1 and "the holder is ALIVE" in warnings[0]


def test_takeover_in_check_mode_changes_nothing(node, locks):
    holder = plant(locks)
    result = take(node, locks, takeover=True, check_mode=True)
    assert result["changed"] and result["stale"] is True and "would take over" in result["msg"]
    assert on_disk(locks) == holder


def test_takeover_race_lost_fails_cleanly(node, locks):
    """Between the staleness check and the takeover another run replaced the stale lock."""
    plant(locks)
    real_execute = node.execute

    def racing(module_name=None, module_args=None, task_vars=None, check_mode=False):
        if module_args.get("replace_id"):
            plant(locks, id="c" * 32, user="carol", controller_pid=5151,
                  controller_pid_start="linux:boot:5151")
        return real_execute(module_name, module_args, task_vars, check_mode)

    node.execute = racing
    result = take(node, locks, takeover=True)
    assert result["failed"] and "changed since it was checked" in result["msg"]
    assert on_disk(locks)["user"] == "carol"


# ------------------------------------------------------------------------------------ release


def test_release_of_a_stale_lock_with_takeover(node, locks):
    plant(locks)
    refused = take(node, locks, state="absent")
    assert refused["failed"] and "re-run with takeover: true to remove it" in refused["msg"]

    released = take(node, locks, state="absent", takeover=True)
    assert released["released"] and not os.path.exists(os.path.join(locks, "acme-prod.lock"))


def test_take_and_release_in_one_run(node, locks):
    assert take(node, locks)["acquired"]
    assert take(node, locks)["changed"] is False  # a later play of the same run
    released = take(node, locks, state="absent")
    assert released["released"] and released["changed"]


# ------------------------------------------------------------------------------------ run_lock_info


def look(node, locks):
    args = dict(environment="acme-prod", directory=locks)
    return make_action(info_action, node, args).run(task_vars={})


@pytest.mark.parametrize(
    ("fields", "stale", "reason"),
    [
        (dict(), True, "no process 7 runs on ctl"),
        (dict(controller_pid=5151, controller_pid_start="linux:boot:5151"), False, "still running"),
        (dict(controller_host="laptop-bob"), None, "only laptop-bob can tell"),
        (dict(controller_pid=MY_PID, controller_pid_start=MY_START), False, "this run holds the lock"),
    ],
)
def test_info_tells_whether_the_holder_is_stale(node, locks, fields, stale, reason):
    holder = plant(locks, **fields)
    result = look(node, locks)
    assert result["locked"] and result["lock"] == holder
    assert result["stale"] is stale and reason in result["stale_reason"]
    assert result["held_by_this_run"] is (reason == "this run holds the lock")


def test_info_without_a_lock(node, locks):
    result = look(node, locks)
    assert result["locked"] is False and result["stale"] is False and result["lock"] is None
