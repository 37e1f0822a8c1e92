# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the run-lock backend: lock files in tmp_path, a fake process table for staleness, and the
real process table of this machine for the Linux start token."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.orocloud.ops.plugins.module_utils import _run_lock as rl

NOW = datetime.datetime(2026, 3, 2, 10, 5, 0, tzinfo=datetime.timezone.utc)


class FakeProcesses:
    """A process table: pid -> start token ("" for a process whose start cannot be read)."""

    def __init__(self, table):
        self.table = table

    def start_of(self, pid):
        return self.table.get(pid)


def record(lock_id="a" * 32, host="ctl", pid=4242, start="linux:boot:100", user="alice", **extra):
    return rl.make_record(
        "acme-prod",
        operation=extra.pop("operation", "patch"),
        command=extra.pop("command", "ansible-playbook playbooks/patch.yml"),
        user=user,
        controller_host=host,
        controller_pid=pid,
        controller_pid_start=start,
        lock_id=lock_id,
        now=NOW,
    )


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "locks" / "acme-prod.lock")


def write(path, content):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(content if isinstance(content, str) else json.dumps(content))


def on_disk(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


# ------------------------------------------------------------------------------------ names and records


@pytest.mark.parametrize(
    ("environment", "path", "expected"),
    [
        ("acme-prod", None, "/var/lib/orocloud/locks/acme-prod.lock"),
        ("acme_prod.eu", None, "/var/lib/orocloud/locks/acme_prod.eu.lock"),
        ("acme-prod", "/run/x.lock", "/run/x.lock"),
    ],
)
def test_lock_path(environment, path, expected):
    assert rl.lock_path(environment, path) == expected


@pytest.mark.parametrize("environment", ["", "../etc/passwd", "acme prod", "-acme", "a" * 129, None])
def test_lock_path_refuses_names_that_are_not_file_names(environment):
    with pytest.raises(rl.RunLockError, match="not a valid lock name"):
        rl.lock_path(environment)


def test_record_has_the_documented_fields_in_order():
    made = record()
    assert tuple(made) == rl.FIELDS
    assert made["started"] == "2026-03-02T10:05:00Z"
    assert len(rl.make_record("x")["id"]) == 32


@pytest.mark.parametrize(
    ("other", "same"),
    [
        (dict(), True),
        (dict(lock_id="b" * 32), True),  # the id does not matter: the process does
        (dict(pid=4243), False),
        (dict(host="ctl2"), False),
        (dict(start="linux:boot:101"), False),
    ],
)
def test_same_run_compares_the_controller_process(other, same):
    assert rl.same_run(record(), record(**other)) is same


def test_same_run_needs_a_known_start():
    assert rl.same_run(record(start=None), record(start=None)) is False


def test_describe_names_holder_host_pid_command_and_start():
    text = rl.describe(record(), True, "no process 4242 runs on ctl")
    assert text == (
        "held by alice on ctl (PID 4242) since 2026-03-02T10:05:00Z for operation patch, command: "
        "ansible-playbook playbooks/patch.yml; STALE: no process 4242 runs on ctl"
    )
    assert rl.describe(record(), False).endswith("; the holder is alive")
    assert rl.describe(None) == "an unreadable lock"


# ------------------------------------------------------------------------------------ acquire


def test_acquire_creates_the_lock_atomically_with_mode_0644(path):
    own = record()
    result = rl.acquire(path, own)

    assert result["changed"] and result["acquired"] and result["previous"] is None
    assert on_disk(path) == own
    assert oct(os.stat(path).st_mode & 0o777) == "0o644"
    assert os.listdir(os.path.dirname(path)) == ["acme-prod.lock"]  # no temporary file left behind


def test_acquire_in_check_mode_changes_nothing(path):
    result = rl.acquire(path, record(), check_mode=True)

    assert result["changed"] and result["acquired"]
    assert result["msg"].startswith("would acquire")
    assert not os.path.exists(os.path.dirname(path))


@pytest.mark.parametrize(
    "again",
    [
        pytest.param(dict(lock_id="b" * 32), id="same-process"),
        pytest.param(dict(pid=9, start="other", host="elsewhere"), id="same-id"),
    ],
)
def test_acquire_again_by_the_same_run_changes_nothing(path, again):
    rl.acquire(path, record())
    own = record(**again)
    if "lock_id" not in again:
        own["id"] = "a" * 32
    result = rl.acquire(path, own)

    assert result["changed"] is False and result["acquired"] is True
    assert result["lock"]["id"] == "a" * 32
    assert "already held by this run" in result["msg"]


def test_acquire_fails_when_another_run_holds_the_lock(path):
    rl.acquire(path, record())
    with pytest.raises(rl.LockHeld) as info:
        rl.acquire(path, record(lock_id="b" * 32, pid=5151))

    assert info.value.record["id"] == "a" * 32
    assert "held by alice on ctl (PID 4242)" in str(info.value)
    assert on_disk(path)["id"] == "a" * 32


def test_acquire_refuses_an_invalid_lock_file_and_force_replaces_it(path):
    write(path, "not json")
    with pytest.raises(rl.LockHeld, match="not a valid lock file") as info:
        rl.acquire(path, record())
    assert info.value.record is None

    result = rl.acquire(path, record(), force=True)
    assert result["changed"] and on_disk(path)["id"] == "a" * 32


def test_takeover_replaces_only_the_lock_it_was_told_about(path):
    stale = record(lock_id="b" * 32, pid=77)
    write(path, stale)

    with pytest.raises(rl.LockHeld, match="changed since it was checked"):
        rl.acquire(path, record(), replace_id="c" * 32)
    assert on_disk(path)["id"] == "b" * 32

    result = rl.acquire(path, record(), replace_id="b" * 32)
    assert result["changed"] and result["previous"] == stale
    assert result["msg"].startswith("took over the lock")
    assert on_disk(path)["id"] == "a" * 32
    assert sorted(os.listdir(os.path.dirname(path))) == ["acme-prod.lock"]


def test_takeover_in_check_mode_changes_nothing(path):
    stale = record(lock_id="b" * 32, pid=77)
    write(path, stale)
    result = rl.acquire(path, record(), replace_id="b" * 32, check_mode=True)

    assert result["changed"] and result["previous"] == stale
    assert result["msg"].startswith("would take over")
    assert on_disk(path) == stale


def test_force_replaces_a_live_holder(path):
    write(path, record(lock_id="b" * 32, pid=77))
    result = rl.acquire(path, record(), force=True)
    assert result["msg"].startswith("forcibly took over") and on_disk(path)["id"] == "a" * 32


def test_claim_puts_back_a_lock_that_changed_in_between(path, monkeypatch):
    """Between the check and the rename, another run replaced the stale lock: it must survive."""
    write(path, record(lock_id="b" * 32, pid=77))
    real_rename = os.rename

    def racing_rename(src, dst):
        write(src, record(lock_id="d" * 32, pid=88))  # the other run's fresh lock
        real_rename(src, dst)

    monkeypatch.setattr(rl.os, "rename", racing_rename)
    with pytest.raises(rl.LockHeld, match="changed while it was being replaced"):
        rl.acquire(path, record(), replace_id="b" * 32)
    assert on_disk(path)["id"] == "d" * 32
    assert sorted(os.listdir(os.path.dirname(path))) == ["acme-prod.lock"]


def test_acquire_loses_a_race_for_a_free_lock(path, monkeypatch):
    """Two runs see no lock; the other one links first: this one reports the winner."""
    os.makedirs(os.path.dirname(path))
    real_link = os.link

    def racing_link(src, dst):
        write(dst, record(lock_id="e" * 32, pid=99))
        real_link(src, dst)

    monkeypatch.setattr(rl.os, "link", racing_link)
    with pytest.raises(rl.LockHeld) as info:
        rl.acquire(path, record())
    assert info.value.record["id"] == "e" * 32


def test_a_lock_below_a_file_is_reported(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(rl.RunLockError, match=r"cannot read the lock .*/file/locks/x.lock: Not a directory"):
        rl.acquire(str(blocker / "locks" / "x.lock"), record())


def test_a_lock_directory_that_cannot_be_made_is_reported(path, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(rl.os, "makedirs", refuse)
    with pytest.raises(rl.RunLockError, match=r"cannot create the lock directory .*/locks: Permission denied"):
        rl.acquire(path, record())


# ------------------------------------------------------------------------------------ release


def test_release_of_our_own_lock_by_process_or_id(path):
    rl.acquire(path, record())
    by_process = dict(record(), id=None)
    result = rl.release(path, by_process, check_mode=True)
    assert result["released"] and os.path.exists(path)

    result = rl.release(path, by_process)
    assert result["changed"] and result["released"] and result["previous"] is None
    assert not os.path.exists(path)

    rl.acquire(path, record())
    assert rl.release(path, dict(record(host="other", pid=1), id="a" * 32))["released"]


def test_release_without_a_lock_changes_nothing(path):
    result = rl.release(path, record())
    assert result == dict(changed=False, released=False, lock=None, previous=None, msg="no lock at %s" % path)


def test_release_of_another_runs_lock_needs_force_or_a_proven_stale_id(path):
    other = record(lock_id="b" * 32, pid=77)
    write(path, other)
    with pytest.raises(rl.LockHeld):
        rl.release(path, dict(record(), id=None))
    assert os.path.exists(path)

    result = rl.release(path, dict(record(), id=None), replace_id="b" * 32)
    assert result["released"] and result["previous"] == other and not os.path.exists(path)

    write(path, "{}")
    assert rl.release(path, dict(record(), id=None), force=True)["released"]
    assert not os.path.exists(path)


# ------------------------------------------------------------------------------------ staleness


PROCESSES = FakeProcesses({4242: "linux:boot:100", 5151: "", 6161: "linux:boot:999"})


@pytest.mark.parametrize(
    ("holder", "stale", "reason"),
    [
        (record(), False, "process 4242 on ctl is still running"),
        (record(pid=7), True, "no process 7 runs on ctl"),
        (record(pid=6161, start="linux:boot:100"), True, "started at another time: the PID was reused"),
        (record(pid=5151), False, "its start time cannot be compared"),
        (record(start=None), False, "its start time cannot be compared"),
        (record(host="laptop-bob"), None, "the holder ran on controller laptop-bob, not on this controller (ctl)"),
        (record(host=None), None, "the holder ran on controller (unknown)"),
        (record(pid=None), None, "the lock records no controller PID"),
        (record(pid=True), None, "the lock records no controller PID"),
        (None, None, "not a valid lock"),
    ],
)
def test_holder_state(holder, stale, reason):
    found, why = rl.holder_state(holder, "ctl", PROCESSES)
    assert found is stale
    assert reason in why


@pytest.mark.parametrize(
    ("stale", "state", "hint"),
    [
        (True, "present", "The holder is gone: re-run with takeover: true to take it over."),
        (True, "absent", "The holder is gone: re-run with takeover: true to remove it."),
        (False, "present", "Wait for that run to finish"),
        (None, "present", "Check on ctl that the run is gone, then use force: true."),
    ],
)
def test_held_message_says_what_to_do(stale, state, hint):
    text = rl.held_message("/l", record(), stale, "why", state)
    assert text.startswith("cannot %s the lock /l: it is held by alice" % ("release" if state == "absent" else "take"))
    assert hint in text


def test_held_message_for_an_invalid_file():
    assert "not a valid lock file; remove it with force: true" in rl.held_message("/l", None, None, None)


# ------------------------------------------------------------------------------------ the real process table


def test_local_processes_knows_this_process_and_not_a_finished_one():
    processes = rl.LocalProcesses()
    mine = processes.start_of(os.getpid())
    assert mine and mine == processes.start_of(os.getpid())
    if sys.platform.startswith("linux"):
        assert mine.startswith("linux:")

    child = subprocess.Popen(["true"])
    child.wait()
    assert processes.start_of(child.pid) is None
    assert processes.start_of(0) is None


def test_local_processes_sees_a_zombie_as_finished():
    if not sys.platform.startswith("linux"):
        pytest.skip("/proc only on Linux")
    child = subprocess.Popen(["true"])
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # finished, not reaped: a zombie
    assert rl.LocalProcesses().start_of(child.pid) is None
    child.wait()


def test_local_processes_from_a_fake_proc(tmp_path):
    (tmp_path / "self").mkdir()
    (tmp_path / "sys/kernel/random").mkdir(parents=True)
    (tmp_path / "sys/kernel/random/boot_id").write_text("boot-1\n")
    (tmp_path / "4242").mkdir()
    fields = ["S"] + ["0"] * 18 + ["123456"] + ["0"] * 10
    (tmp_path / "4242/stat").write_text("4242 (ansible-play (x)) %s\n" % " ".join(fields))
    (tmp_path / "4243").mkdir()
    (tmp_path / "4243/stat").write_text("4243 (short) S 1\n")

    processes = rl.LocalProcesses(proc=str(tmp_path))
    assert processes.start_of(4242) == "linux:boot-1:123456"
    assert processes.start_of(4243) == ""
    assert processes.start_of(4244) is None


def test_local_processes_off_linux_uses_ps(tmp_path, monkeypatch):
    calls = []

    def ps(argv):
        calls.append(argv)
        return 0, "Mon Mar  2 10:05:00 2026\n"

    processes = rl.LocalProcesses(proc=str(tmp_path / "none"), run=ps)
    assert processes.start_of(os.getpid()) == "ps:Mon Mar 2 10:05:00 2026"
    assert calls == [["ps", "-o", "lstart=", "-p", str(os.getpid())]]

    def no_such_process(pid, signum):
        raise ProcessLookupError(pid, signum)

    monkeypatch.setattr(rl.os, "kill", no_such_process)
    assert processes.start_of(12345) is None


def test_local_processes_off_linux_without_ps_cannot_tell_the_start(tmp_path):
    assert rl.LocalProcesses(proc=str(tmp_path / "none")).start_of(os.getpid()) == ""


def test_controller_identity_masks_the_command_line():
    me = rl.controller_identity(
        ["/venv/bin/ansible-playbook", "-e", "db_password=x user=y", "site.yml"], 4242, "ctl", "alice", PROCESSES
    )
    assert me == {
        "user": "alice",
        "command": "/venv/bin/ansible-playbook -e 'db_password=******** user=y' site.yml",
        "controller_host": "ctl",
        "controller_pid": 4242,
        "controller_pid_start": "linux:boot:100",
    }
