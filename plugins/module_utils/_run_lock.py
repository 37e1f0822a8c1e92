# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One operation at a time per environment: a lock file on a node of the environment.

The lock is a small JSON file, by default ``/var/lib/orocloud/locks/<environment>.lock`` (mode 0644: anyone on
the node may see who holds it; only root may take or remove it)::

    {"id": "<random token>", "environment": "acme-prod", "operation": "patch",
     "command": "ansible-playbook -i inventories/acme playbooks/patch.yml -e db_password=********",
     "user": "alice", "controller_host": "laptop-alice", "controller_pid": 4242,
     "controller_pid_start": "linux:0e5c…:123456", "started": "2026-03-02T10:05:00Z"}

Node side (the ``run_lock`` module, :func:`acquire`, :func:`release`, :func:`read_lock`):

* A lock is created with ``link()`` of a fully written temporary file: it appears complete or not at all,
  and two runs racing for it cannot both win (``link`` fails with ``EEXIST``).
* A lock is *ours* when its id is the one given, or when it was taken by the same controller process (same
  host, PID and PID start): a playbook may take the lock again in a later play and release it without
  carrying the id around.
* Replacing or removing somebody else's lock names the id it expects (``replace_id``); the file is first
  renamed aside, so of two runs racing for a stale lock only one gets it, and a lock that changed in between
  is put back.

Controller side (the action plugins, :func:`holder_state`, :class:`LocalProcesses`): staleness can only be
proven where the holder ran. The holder is alive when a process with its PID exists on this controller
*and* started at the recorded time (``controller_pid_start``, an opaque token: on Linux the boot id and the
start time in clock ticks from ``/proc/<pid>/stat``; elsewhere ``ps -o lstart=``), so a reused PID is not
mistaken for life.

Runs on managed nodes: Python 3.9+, standard library only.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import json
import os
import re
import secrets
import shlex
import tempfile

from ansible_collections.orocloud.ops.plugins.module_utils._masking import mask_argv

DEFAULT_DIR = "/var/lib/orocloud/locks"
FILE_MODE = 0o644
DIR_MODE = 0o755
FIELDS = (
    "id",
    "environment",
    "operation",
    "command",
    "user",
    "controller_host",
    "controller_pid",
    "controller_pid_start",
    "started",
)
_ENVIRONMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_MAX_LOCK_SIZE = 64 * 1024


class RunLockError(Exception):
    """The lock cannot be read, taken or released as asked; the message says why and where."""


class LockHeld(RunLockError):
    """The lock is held by another run (``record``) or cannot be read (``record`` is None)."""

    def __init__(self, message, record, path):
        super().__init__(message)
        self.record = record
        self.path = path


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id():
    return secrets.token_hex(16)


def lock_path(environment, path=None, directory=DEFAULT_DIR):
    """The lock file of ``environment``: ``path`` when given, else ``<directory>/<environment>.lock``."""
    if not environment or not _ENVIRONMENT.match(environment):
        raise RunLockError(
            "environment %r is not a valid lock name (letters, digits, '.', '_' and '-', at most 128)" % environment
        )
    if path:
        return path
    return os.path.join(directory, "%s.lock" % environment)


def make_record(
    environment,
    *,
    operation=None,
    command=None,
    user=None,
    controller_host=None,
    controller_pid=None,
    controller_pid_start=None,
    lock_id=None,
    now=None,
):
    """A lock record with its fields in the documented order."""
    return {
        "id": lock_id or new_id(),
        "environment": environment,
        "operation": operation,
        "command": command,
        "user": user,
        "controller_host": controller_host,
        "controller_pid": controller_pid,
        "controller_pid_start": controller_pid_start,
        "started": iso(now or utc_now()),
    }


def same_run(record, other):
    """Whether two records were made by the same controller process (its PID start must be known)."""
    if not record or not other:
        return False
    keys = ("controller_host", "controller_pid", "controller_pid_start")
    return all(record.get(k) is not None for k in keys) and all(record.get(k) == other.get(k) for k in keys)


def is_ours(record, own):
    """Whether ``record`` (on disk) belongs to the caller described by ``own`` (id and controller process)."""
    if not record:
        return False
    return bool(own.get("id") and record.get("id") == own.get("id")) or same_run(record, own)


def describe(record, stale=None, reason=None):
    """A one-line description of the holder of a lock, for messages."""
    if not record:
        return "an unreadable lock"
    text = "held by %s on %s (PID %s) since %s for operation %s, command: %s" % (
        record.get("user") or "an unknown user",
        record.get("controller_host") or "an unknown controller",
        record.get("controller_pid") if record.get("controller_pid") is not None else "?",
        record.get("started") or "an unknown time",
        record.get("operation") or "-",
        record.get("command") or "-",
    )
    if stale is True:
        text += "; STALE: %s" % reason if reason else "; STALE"
    elif stale is False:
        text += "; the holder is alive: %s" % reason if reason else "; the holder is alive"
    elif reason:
        text += "; staleness unknown: %s" % reason
    return text


# ------------------------------------------------------------------------------------ node side: files


def read_lock(path):
    """The record in ``path``, or None when there is no lock. A file that is not a lock raises LockHeld with
    ``record`` None (it blocks everyone until it is removed with ``force``)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_LOCK_SIZE + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RunLockError("cannot read the lock %s: %s" % (path, exc.strerror or exc)) from exc
    try:
        record = json.loads(data.decode("utf-8"))
    except ValueError as exc:
        raise LockHeld("the lock %s is not a valid lock file (%s)" % (path, exc), None, path) from exc
    if not isinstance(record, dict) or not record.get("id"):
        raise LockHeld("the lock %s is not a valid lock file (no id)" % path, None, path)
    return record


def _read_or_invalid(path):
    """(record, invalid): like read_lock, but an invalid file is (None, True)."""
    try:
        return read_lock(path), False
    except LockHeld as exc:
        if exc.record is None:
            return None, True
        raise


def _ensure_directory(directory, check_mode):
    if os.path.isdir(directory):
        return False
    if check_mode:
        return True
    try:
        os.makedirs(directory, DIR_MODE)
    except OSError as exc:
        raise RunLockError("cannot create the lock directory %s: %s" % (directory, exc.strerror or exc)) from exc
    return True


def _fsync_directory(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _create(path, record):
    """Create the lock atomically; False when a lock already exists."""
    directory = os.path.dirname(path) or "."
    data = (json.dumps(record, indent=2) + "\n").encode("utf-8")
    try:
        fd, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    except OSError as exc:
        raise RunLockError("cannot write in the lock directory %s: %s" % (directory, exc.strerror or exc)) from exc
    try:
        try:
            os.fchmod(fd, FILE_MODE)
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        except OSError as exc:
            raise RunLockError("cannot create the lock %s: %s" % (path, exc.strerror or exc)) from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
    _fsync_directory(directory)
    return True


def _claim(path, expected_id):
    """Take the lock file away if it still holds ``expected_id`` (None: whatever it holds). Returns the
    record removed (None when there was no lock; {} for an invalid file)."""
    aside = "%s.%s.removed" % (path, new_id())
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RunLockError("cannot remove the lock %s: %s" % (path, exc.strerror or exc)) from exc
    try:
        record, invalid = _read_or_invalid(aside)
        found_id = None if invalid else (record or {}).get("id")
        if expected_id is not None and found_id != expected_id:
            with contextlib.suppress(OSError):  # put it back, unless yet another lock appeared meanwhile
                os.link(aside, path)
            raise LockHeld(
                "the lock %s changed while it was being replaced: now %s" % (path, describe(record)), record, path
            )
    finally:
        with contextlib.suppress(OSError):
            os.unlink(aside)
    _fsync_directory(os.path.dirname(path) or ".")
    return {} if invalid else record


def _conflict(path, holder, invalid):
    if invalid:
        return LockHeld(
            "the lock %s is not a valid lock file; remove it with force: true once nothing runs" % path, None, path
        )
    return LockHeld("the lock %s is %s" % (path, describe(holder)), holder, path)


def acquire(path, own, replace_id=None, force=False, check_mode=False):
    """Take the lock for ``own`` (a record from make_record).

    ``replace_id``: the id of another holder's lock to replace (proven stale by the caller). ``force``:
    replace whatever holds the lock. Raises LockHeld when the lock is somebody else's. Returns a dict:
    changed, acquired, lock (the record now in place), previous (the record replaced, or None)."""
    current, invalid = _read_or_invalid(path)
    if is_ours(current, own):
        return dict(changed=False, acquired=True, lock=current, previous=None, msg="the lock %s is already held by "
                    "this run (id %s)" % (path, current["id"]))
    if current is None and not invalid:
        changed = _ensure_directory(os.path.dirname(path) or ".", check_mode)
        if check_mode:
            return dict(changed=True, acquired=True, lock=own, previous=None, msg="would acquire the lock %s" % path)
        if _create(path, own):
            return dict(changed=True, acquired=True, lock=own, previous=None, msg="acquired the lock %s" % path)
        current, invalid = _read_or_invalid(path)  # another run was faster
        if is_ours(current, own):  # pragma: no cover - only if the caller raced itself
            return dict(changed=changed, acquired=True, lock=current, previous=None, msg="already held")
        raise _conflict(path, current, invalid)

    current_id = None if invalid else current.get("id")
    if not force and (replace_id is None or replace_id != current_id):
        if replace_id is not None:
            raise LockHeld(
                "the lock %s changed since it was checked (expected id %s): now %s"
                % (path, replace_id, describe(current) if current else "an invalid file"),
                current,
                path,
            )
        raise _conflict(path, current, invalid)
    verb = "took over" if not force else "forcibly took over"
    if check_mode:
        return dict(changed=True, acquired=True, lock=own, previous=current,
                    msg="would %s the lock %s, %s" % (verb.replace("took", "take"), path, describe(current)))
    previous = _claim(path, None if force else current_id)
    if not _create(path, own):
        holder, holder_invalid = _read_or_invalid(path)
        raise _conflict(path, holder, holder_invalid)
    return dict(changed=True, acquired=True, lock=own, previous=previous or current,
                msg="%s the lock %s, %s" % (verb, path, describe(current)))


def release(path, own, replace_id=None, force=False, check_mode=False):
    """Remove the lock if it is ours (id or same controller process), or ``replace_id``'s, or with ``force``.
    Raises LockHeld when it belongs to somebody else. Returns changed, released, lock (the record removed)."""
    current, invalid = _read_or_invalid(path)
    if current is None and not invalid:
        return dict(changed=False, released=False, lock=None, previous=None, msg="no lock at %s" % path)
    current_id = None if invalid else current.get("id")
    mine = is_ours(current, own)
    if not (mine or force or (replace_id is not None and replace_id == current_id)):
        raise _conflict(path, current, invalid)
    what = "the lock %s" % path if mine else "the lock %s, %s" % (path, describe(current) if current else "invalid")
    if check_mode:
        return dict(changed=True, released=True, lock=current, previous=None if mine else current,
                    msg="would release %s" % what)
    removed = _claim(path, None if force else current_id)
    if removed is None:
        return dict(changed=False, released=False, lock=None, previous=None, msg="no lock at %s" % path)
    return dict(changed=True, released=True, lock=current, previous=None if mine else current,
                msg="released %s" % what)


# ------------------------------------------------------------------------------------ controller side


class LocalProcesses:
    """The process table of this machine: whether a PID runs, and its start token.

    ``run(argv) -> (rc, stdout)`` runs ``ps`` where there is no ``/proc`` (without it, the start of a process
    that runs is unknown)."""

    def __init__(self, proc="/proc", run=None):
        self.proc = proc
        self._run = run

    def _linux(self):
        return os.path.isdir(os.path.join(self.proc, "self"))

    def start_of(self, pid):
        """The start token of process ``pid``: None when it does not run (or is a zombie), "" when it runs but
        its start cannot be read."""
        pid = int(pid)
        if pid <= 0:
            return None
        if self._linux():
            return self._linux_start(pid)
        if not _pid_exists(pid):
            return None
        if self._run is None:
            return ""
        rc, out = self._run(["ps", "-o", "lstart=", "-p", str(pid)])
        return "ps:%s" % " ".join(out.split()) if rc == 0 and out.strip() else ""

    def _linux_start(self, pid):
        try:
            with open(os.path.join(self.proc, str(pid), "stat"), encoding="utf-8", errors="replace") as handle:
                stat = handle.read()
        except FileNotFoundError:
            return None
        except OSError:
            return "" if _pid_exists(pid) else None
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) < 20:
            return ""
        if fields[0] in ("Z", "X", "x"):  # a zombie has finished; only its parent has not noticed yet
            return None
        try:
            with open(os.path.join(self.proc, "sys/kernel/random/boot_id"), encoding="utf-8") as handle:
                boot_id = handle.read().strip()
        except OSError:
            boot_id = "?"
        return "linux:%s:%s" % (boot_id, fields[19])


def _pid_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError as exc:  # pragma: no cover - defensive
        return exc.errno != errno.ESRCH
    return True


def _uncheckable(record, this_host):
    """Why the holder of ``record`` cannot be checked from the controller ``this_host`` (None: it can)."""
    if not record:
        return "the lock file is not a valid lock"
    host = record.get("controller_host")
    if not host or host != this_host:
        return "the holder ran on controller %s, not on this controller (%s); only %s can tell" % (
            host or "(unknown)", this_host, host or "its controller")
    pid = record.get("controller_pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return "the lock records no controller PID"
    return None


def holder_state(record, this_host, processes):
    """(stale, reason) for the holder of ``record`` seen from the controller ``this_host``.

    stale is True when the holder's process is proven gone (no such PID, or a PID started at another time),
    False when it runs, None when it cannot be told from here (another controller, no PID)."""
    problem = _uncheckable(record, this_host)
    if problem:
        return None, problem
    pid = record["controller_pid"]
    start = processes.start_of(pid)
    recorded = record.get("controller_pid_start")
    if start is None:
        return True, "no process %d runs on %s" % (pid, this_host)
    if recorded and start and start != recorded:
        return True, "process %d on %s started at another time: the PID was reused" % (pid, this_host)
    if not recorded or not start:
        return False, "process %d runs on %s (its start time cannot be compared)" % (pid, this_host)
    return False, "process %d on %s is still running" % (pid, this_host)


def command_line(argv):
    """The command line of ``argv`` as a shell would show it."""
    return " ".join(shlex.quote(str(arg)) for arg in argv)


def held_message(path, record, stale, reason, state="present"):
    """Why the lock could not be taken or released, and what the operator may do about it."""
    verb = "release" if state == "absent" else "take"
    if record is None:
        return "cannot %s the lock %s: it is not a valid lock file; remove it with force: true once nothing runs" % (
            verb, path)
    text = "cannot %s the lock %s: it is %s" % (verb, path, describe(record, stale, reason))
    if stale is True:
        hint = "the holder is gone: re-run with takeover: true to %s" % (
            "remove it" if state == "absent" else "take it over")
    elif stale is False:
        hint = "wait for that run to finish (force: true takes a live run's lock)"
    else:
        where = record.get("controller_host") or "its controller"
        hint = "check on %s that the run is gone, then use force: true" % where
    return "%s. %s." % (text, hint[0].upper() + hint[1:])


def controller_identity(argv, pid, host, user, processes, *, secrets=()):
    """The controller fields of a lock record for the ansible-playbook process ``pid`` run as ``argv``."""
    return {
        "user": user,
        "command": command_line(mask_argv(argv, secrets)),
        "controller_host": host,
        "controller_pid": pid,
        "controller_pid_start": processes.start_of(pid) or None,
    }
