# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operation log: an append-only record, per node, of every operation step run by the collection.

One JSON object per line, by default in ``/var/log/orocloud/operations.log``::

    {"time": "2026-03-02T10:05:00Z", "user": "alice", "login": "alice", "host": "acme-prod-web1",
     "environment": "acme-prod", "operation": "patch", "action": "switch_release",
     "details": {"from": "6.1.0", "to": "6.1.1"}, "result": "changed", "run_id": "3f9a…"}

* ``user`` is the person the playbook names (default: ``login``); ``login`` is the account that ran the
  module on the node before ``become`` (sudo's ``SUDO_USER``), which the node authenticated by its SSH key.
* Secrets are masked before anything is written (:mod:`._masking`): values of secret-looking keys, URL
  passwords, and the literal values the caller lists.
* Ordinary users cannot alter the log: the directory (0750) and the file (0640) belong to root and to a
  reading group (``adm``, Debian's group for reading logs). When the module runs as root it restores that
  ownership and those modes if they were changed, and says so. The file is opened with ``O_APPEND`` and
  ``O_NOFOLLOW`` (a symlink planted in its place is refused) and each entry is one ``write()``, so entries of
  concurrent runs never interleave; it is synced to disk before the module returns.
* Each entry also goes to syslog (facility ``authpriv``, the journal on the nodes), at ``warning`` for failed
  steps, so a copy leaves the node with the journal.
* The maintenance modules (``app_console``, ``app_maintenance``, ``app_release``, ``app_services``) record each
  of their calls themselves with :func:`record_call`; their options are :data:`LOG_ARGUMENT_SPEC` (documented by
  the ``orocloud.ops.operation_log`` doc fragment).

Runs on managed nodes: Python 3.9+, standard library only.
"""

from __future__ import annotations

import datetime
import grp
import json
import os
import pwd
import re
import socket
import stat

from ansible_collections.orocloud.ops.plugins.module_utils._masking import mask_value

DEFAULT_PATH = "/var/log/orocloud/operations.log"
DEFAULT_GROUP = "adm"
FILE_MODE = 0o640
DIR_MODE = 0o750
RESULTS = ("ok", "changed", "failed", "skipped")
SYSLOG_IDENT = "orocloud-ops"
_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

# The options of every maintenance module that records its calls (doc fragment orocloud.ops.operation_log).
LOG_ARGUMENT_SPEC = dict(
    log=dict(type="bool", default=True),
    log_path=dict(type="path", default=DEFAULT_PATH),
    log_user=dict(type="str"),
    log_environment=dict(type="str"),
    log_run_id=dict(type="str"),
)


class OperationLogError(Exception):
    """The log cannot be written or read as asked; the message names the file and the problem."""


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_login(environ=None, uid=None):
    """The account that ran the module on the node before become: sudo's SUDO_USER, else the process' user."""
    environ = os.environ if environ is None else environ
    uid = os.getuid() if uid is None else uid
    if uid == 0 and environ.get("SUDO_USER"):
        return environ["SUDO_USER"]
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def build_entry(
    operation,
    action,
    *,
    result="ok",
    user=None,
    login=None,
    host=None,
    environment=None,
    details=None,
    run_id=None,
    secrets=(),
    now=None,
):
    """One log entry, secrets masked, keys in the documented order."""
    if result not in RESULTS:
        raise OperationLogError("result %r is not one of %s" % (result, ", ".join(RESULTS)))
    for name, value in (("operation", operation), ("action", action)):
        if not value or not str(value).strip():
            raise OperationLogError("%s must not be empty" % name)
    if details is not None and not isinstance(details, dict):
        raise OperationLogError("details must be a mapping, got %s" % type(details).__name__)
    entry = {
        "time": iso(now or utc_now()),
        "user": user or login,
        "login": login,
        "host": host,
        "environment": environment,
        "operation": operation,
        "action": action,
        "details": details or {},
        "result": result,
        "run_id": run_id,
    }
    return mask_value(entry, secrets)


def encode(entry):
    """The line written for ``entry``: compact JSON (newlines inside values are escaped) and a newline."""
    return (json.dumps(entry, separators=(",", ":"), ensure_ascii=False, default=str) + "\n").encode("utf-8")


def _ownership(group):
    """(uid, gid) the log must have when the module runs as root; None otherwise."""
    if os.geteuid() != 0:
        return None
    try:
        return 0, grp.getgrnam(group).gr_gid
    except KeyError as exc:
        raise OperationLogError("the group %s of the operation log does not exist on this node" % group) from exc


def _repair(target, st, mode, owner, repaired, *, fd=None):
    """Give ``target`` its owner and mode (the file by descriptor); note what was wrong."""
    wrong = []
    if owner is not None and (st.st_uid, st.st_gid) != owner:
        wrong.append("owner %d:%d" % (st.st_uid, st.st_gid))
        if fd is None:
            os.chown(target, *owner)
        else:
            os.fchown(fd, *owner)
    if stat.S_IMODE(st.st_mode) != mode:
        wrong.append("mode %04o" % stat.S_IMODE(st.st_mode))
        if fd is None:
            os.chmod(target, mode)
        else:
            os.fchmod(fd, mode)
    if wrong:
        repaired.append("%s had %s" % (target, " and ".join(wrong)))


def _prepare_directory(directory, owner, check_mode, repaired):
    """Create the log directory or restore its owner and mode; True when it is (or would be) created."""
    try:
        st = os.stat(directory)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OperationLogError("cannot use the log directory %s: %s" % (directory, exc.strerror or exc)) from exc
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise OperationLogError("%s is not a directory" % directory)
    if check_mode:
        return st is None
    try:
        if st is None:
            os.makedirs(directory, DIR_MODE)
            if owner is not None:
                os.chown(directory, *owner)
            os.chmod(directory, DIR_MODE)
            return True
        if owner is not None:
            _repair(directory, st, DIR_MODE, owner, repaired)
    except OSError as exc:
        raise OperationLogError("cannot prepare the log directory %s: %s" % (directory, exc.strerror or exc)) from exc
    return False


def append(path, entry, group=DEFAULT_GROUP, check_mode=False):
    """Append ``entry`` to the log at ``path``. Returns created (the file is new) and repaired (what had a
    wrong owner or mode and was put right)."""
    owner = _ownership(group)
    repaired = []
    directory = os.path.dirname(path) or "."
    _prepare_directory(directory, owner, check_mode, repaired)
    if os.path.islink(path):
        raise OperationLogError("the operation log %s is a symbolic link; refusing to write through it" % path)
    if check_mode:
        return dict(created=not os.path.exists(path), repaired=repaired)
    line = encode(entry)
    existed = os.path.lexists(path)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, FILE_MODE)
    except OSError as exc:
        raise OperationLogError("cannot open the operation log %s: %s" % (path, exc.strerror or exc)) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OperationLogError("the operation log %s is not a regular file" % path)
        created = not existed
        if created:
            if owner is not None:
                os.fchown(fd, *owner)
            os.fchmod(fd, FILE_MODE)
        elif owner is not None:
            _repair(path, st, FILE_MODE, owner, repaired, fd=fd)
        written = os.write(fd, line)
        while written < len(line):  # pragma: no cover - a regular file takes the whole line at once
            written += os.write(fd, line[written:])
        os.fsync(fd)
    except OSError as exc:
        raise OperationLogError("cannot write the operation log %s: %s" % (path, exc.strerror or exc)) from exc
    finally:
        os.close(fd)
    return dict(created=created, repaired=repaired)


def to_syslog(entry, syslog_module=None):
    """Send the entry to syslog (authpriv), at warning when the step failed."""
    if syslog_module is None:
        import syslog as syslog_module  # noqa: PLC0415 - only where it is used (it exists on every POSIX node)
    priority = syslog_module.LOG_WARNING if entry.get("result") == "failed" else syslog_module.LOG_INFO
    syslog_module.openlog(SYSLOG_IDENT, syslog_module.LOG_PID, syslog_module.LOG_AUTHPRIV)
    try:
        syslog_module.syslog(priority, encode(entry).decode("utf-8").rstrip("\n"))
    finally:
        syslog_module.closelog()


def record_call(
    operation,
    action,
    result,
    details,
    *,
    warn,
    user=None,
    environment=None,
    run_id=None,
    path=DEFAULT_PATH,
    secrets=(),
    host=None,
    group=None,
):
    """Record one call of a maintenance module: the entry (secrets masked) appended to the log at ``path`` and
    sent to syslog, as the operation_log module does. The module calls it at its end, once something ran, never
    in check mode. Returns the entry written, or None when it could not be written: the operation itself already
    happened, so instead of an exception ``warn`` (the module's ``warn``) gets the log file and the problem."""
    try:
        entry = build_entry(
            operation,
            action,
            result=result,
            user=user,
            login=node_login(),
            host=host or socket.gethostname(),
            environment=environment,
            details=details,
            run_id=run_id,
            secrets=secrets,
        )
        outcome = append(path, entry, group=group or DEFAULT_GROUP)
    except (OperationLogError, OSError) as exc:
        problem = str(exc) if path in str(exc) else "%s: %s" % (path, exc)
        warn("this call was not recorded in the operation log (%s)" % problem)
        return None
    for repaired in outcome["repaired"]:
        warn("%s; owner and mode restored" % repaired)
    try:
        to_syslog(entry)
    except OSError as exc:
        warn("the entry was written to %s but not to syslog: %s" % (path, exc))
    return entry


def record_module_call(module, operation, action, result, details, *, user=None, secrets=()):
    """:func:`record_call` with the module's own options (:data:`LOG_ARGUMENT_SPEC`): ``log_user`` (else ``user``,
    else the node login), ``log_environment``, ``log_run_id`` and ``log_path``; nothing with ``log: false`` or in
    check mode. Returns the entry written, or None."""
    params = module.params
    if not params.get("log") or module.check_mode:
        return None
    return record_call(
        operation,
        action,
        result,
        details,
        user=params.get("log_user") or user,
        environment=params.get("log_environment"),
        run_id=params.get("log_run_id"),
        path=params.get("log_path") or DEFAULT_PATH,
        secrets=secrets,
        warn=module.warn,
    )


def exit_recorded(module, result, operation, action, details, *, user=None):
    """End a module that changes a node: record the call (:func:`record_module_call`) when it changed something,
    as ``failed`` when ``result`` says so, keep ``diff`` only with ``--diff``, then ``exit_json`` or ``fail_json``."""
    failed = result.pop("failed", False)
    result["log_entry"] = None
    if result["changed"]:
        outcome = "failed" if failed else "changed"
        result["log_entry"] = record_module_call(module, operation, action, outcome, details, user=user)
    if failed:
        module.fail_json(**result)
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


# ------------------------------------------------------------------------------------ reading


def parse_moment(text, now=None, name="time"):
    """A UTC datetime from ISO 8601 (a date alone is its midnight UTC; no offset means UTC) or from a
    duration back from now: ``30m``, ``12h``, ``7d``, ``2w``."""
    if text is None or text == "":
        return None
    text = str(text).strip()
    relative = _RELATIVE.match(text)
    if relative:
        delta = datetime.timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
        return (now or utc_now()) - delta
    candidate = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        moment = datetime.datetime.fromisoformat(candidate)
    except ValueError as exc:
        raise OperationLogError(
            "%s: %r is neither an ISO 8601 date or time (2026-03-02, 2026-03-02T10:05:00Z) nor a duration back from "
            "now (30m, 12h, 7d, 2w)" % (name, text)
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def _entry_time(entry):
    try:
        return parse_moment(entry.get("time"))
    except OperationLogError:
        return None


def _matches(entry, wanted, results, since, until):
    for key, value in wanted.items():
        if value is not None and entry.get(key) != value:
            return False
    if results and entry.get("result") not in results:
        return False
    if since is not None or until is not None:
        moment = _entry_time(entry)
        if moment is None:
            return False
        if since is not None and moment < since:
            return False
        if until is not None and moment >= until:
            return False
    return True


def read_entries(
    path,
    *,
    user=None,
    operation=None,
    action=None,
    environment=None,
    run_id=None,
    results=None,
    since=None,
    until=None,
    limit=None,
    now=None,
):
    """Entries of the log at ``path`` that match every filter given, oldest first (the file's order); with
    ``limit``, the newest ``limit`` of them. since is inclusive, until exclusive. Returns a dict: entries,
    count (matching entries before the limit), total (entries read), malformed (lines that are not entries),
    exists."""
    if limit is not None and limit < 0:
        raise OperationLogError("limit must be 0 or more, got %d" % limit)
    since_at = parse_moment(since, now, "since")
    until_at = parse_moment(until, now, "until")
    wanted = dict(user=user, operation=operation, action=action, environment=environment, run_id=run_id)
    entries = []
    total = malformed = 0
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, after a FileNotFoundError check
    except FileNotFoundError:
        return dict(entries=[], count=0, total=0, malformed=0, exists=False)
    except OSError as exc:
        raise OperationLogError("cannot read the operation log %s: %s" % (path, exc.strerror or exc)) from exc
    with handle:
        for raw in handle:
            if not raw.strip():
                continue
            try:
                entry = json.loads(raw.decode("utf-8", errors="replace"))
            except ValueError:
                malformed += 1
                continue
            if not isinstance(entry, dict):
                malformed += 1
                continue
            total += 1
            if _matches(entry, wanted, results, since_at, until_at):
                entries.append(entry)
    count = len(entries)
    if limit is not None:
        entries = entries[count - limit :] if limit < count else entries
    return dict(entries=entries, count=count, total=total, malformed=malformed, exists=True)
