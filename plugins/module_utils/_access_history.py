# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-person history of one node: SSH logins from sshd's journal and operations from the operation log.
The backend of orocloud.ops.access_history; it reads only.

* **Logins**: ``journalctl --output=json`` for sshd's messages (``SYSLOG_IDENTIFIER=sshd``, and
  ``sshd-session`` of OpenSSH 9.8 and later), one JSON object per line. sshd runs with ``LogLevel VERBOSE``
  on the nodes, so each accepted or refused key is logged with its type and SHA-256 fingerprint. The time is
  the entry's ``__REALTIME_TIMESTAMP`` (``_HOSTNAME`` is not reliable in containers: the host is the name the
  caller gives). Recognised messages::

      Accepted publickey for alice from 10.231.1.30 port 51234 ssh2: ED25519 SHA256:...   -> accepted
      Failed publickey for [invalid user ]alice from A port P ssh2: ED25519 SHA256:...     -> refused
      User alice from A not allowed because not listed in AllowUsers                        -> refused
      User alice not allowed because account is locked                                      -> refused
      Invalid user mallory from A port P                                                    -> refused
      error: Certificate invalid: expired                  -> the reason of the next refused certificate

  Everything else sshd logs is ignored; lines that are not journal entries are counted as malformed.
* **Key names**: a fingerprint is named by the comment of the key in the person's ``~/.ssh/authorized_keys``
  and, when the user records of orocloud.ops.access_users are given, in the records (so that keys removed
  since are still named). Only type, fingerprint and comment are ever returned, never key data.
* **Operations**: the entries of the operation log, read and filtered by :func:`._operation_log.read_entries`,
  details masked again by :func:`._masking.mask_value`.

Both are merged oldest first; at the same second a login comes before an operation (it is how the operation
came in).

Runs on managed nodes: Python 3.9+, standard library only.
"""

from __future__ import annotations

import datetime
import json
import pwd
import re

from ansible_collections.orocloud.ops.plugins.module_utils._access_users import read_keys_file
from ansible_collections.orocloud.ops.plugins.module_utils._masking import mask_value
from ansible_collections.orocloud.ops.plugins.module_utils._operation_log import (
    DEFAULT_PATH,
    OperationLogError,
    iso,
    parse_moment,
    read_entries,
    utc_now,
)
from ansible_collections.orocloud.ops.plugins.module_utils._ssh_keys import (
    blob_of,
    fingerprint,
    shorten,
    split_authorized_keys_line,
)

KINDS = ("login", "operation")
DEFAULT_LIMIT = 1000
OPERATIONS_LOG = DEFAULT_PATH
# sshd's syslog identifiers: OpenSSH 9.8 moved the per-connection process to sshd-session.
SSHD_IDENTIFIERS = ("sshd", "sshd-session")

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_SSH2 = r"(?: ssh2)?(?:: (?P<info>.*))?"
# The user is matched greedily: the last " from ADDRESS port N" is sshd's own (an invalid user's name is the
# client's choice and may contain that text).
_ACCEPTED = re.compile(r"^Accepted (?P<method>\S+) for (?P<user>.*) from (?P<addr>\S+) port \d+" + _SSH2 + "$")
_FAILED = re.compile(
    r"^Failed (?P<method>publickey) for (?P<invalid>invalid user )?(?P<user>.*) from (?P<addr>\S+) port \d+"
    + _SSH2 + "$"
)
_NOT_ALLOWED = re.compile(r"^User (?P<user>.*?)(?: from (?P<addr>\S+))? not allowed because (?P<reason>.+)$")
_INVALID = re.compile(r"^Invalid user (?P<user>.*) from (?P<addr>\S+) port \d+$")
_CERT_INVALID = re.compile(r"^error: Certificate invalid: (?P<why>.+)$")
_KEY_INFO = re.compile(r"^(?P<type>[A-Za-z0-9@._-]+) (?P<fingerprint>(?:SHA256|MD5):\S+)")
_PREAUTH = " [preauth]"
_EXPIRY_OPTION = re.compile(r'(?:^|,)expiry-time="?(?P<stamp>\d{8}(?:\d{4}(?:\d{2})?)?)(?P<utc>Z?)"?', re.IGNORECASE)
_RECORD_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")

KEY_REFUSED = "key not accepted"
KEY_EXPIRED = "key expired"
INVALID_USER = "invalid user"


class AccessHistoryError(Exception):
    """The history cannot be read as asked; the message names the problem and the file or command."""


# ---------------------------------------------------------------------------------------------- sshd messages


def parse_message(message):
    """What an sshd message says about a login, as a dict (user, result, method, from, key, reason, cert_error),
    or None when it says nothing worth recording. ``key`` is {type, fingerprint} or None."""
    if message.endswith(_PREAUTH):
        message = message[: -len(_PREAUTH)]
    match = _ACCEPTED.match(message)
    if match:
        return _event(match.group("user"), "accepted", method=match.group("method"), address=match.group("addr"),
                      key=_key_info(match.group("info")))
    match = _FAILED.match(message)
    if match:
        reason = INVALID_USER if match.group("invalid") else KEY_REFUSED
        return _event(match.group("user"), "refused", method=match.group("method"), address=match.group("addr"),
                      key=_key_info(match.group("info")), reason=reason)
    match = _NOT_ALLOWED.match(message)
    if match:
        return _event(match.group("user"), "refused", address=match.group("addr"), reason=match.group("reason"))
    match = _INVALID.match(message)
    if match:
        return _event(match.group("user"), "refused", address=match.group("addr"), reason=INVALID_USER)
    match = _CERT_INVALID.match(message)
    if match:
        why = match.group("why").strip()
        return {"cert_error": "certificate expired" if why == "expired" else "certificate invalid: " + why}
    return None


def _event(user, result, *, method=None, address=None, key=None, reason=None):
    return {"user": user, "result": result, "method": method, "from": address, "key": key, "reason": reason}


def _key_info(info):
    match = _KEY_INFO.match(info or "")
    if not match:
        return None
    return {"type": match.group("type"), "fingerprint": match.group("fingerprint")}


def journal_argv(journalctl, since=None, until=None):
    """The journalctl command line for sshd's messages between ``since`` and ``until`` (UTC datetimes; the
    window is widened to whole seconds, the exact bounds are applied to the entries)."""
    argv = [journalctl, "--output=json", "--output-fields=MESSAGE,_PID", "--no-pager"]
    if since is not None:
        argv.append("--since=@%d" % _epoch_seconds(since))
    if until is not None:
        argv.append("--until=@%d" % (_epoch_seconds(until) + (1 if until.microsecond else 0)))
    argv += ["SYSLOG_IDENTIFIER=%s" % name for name in SSHD_IDENTIFIERS]
    return argv


def _epoch_seconds(moment):
    delta = moment - _EPOCH
    return delta.days * 86400 + delta.seconds


def _message_text(value):
    """MESSAGE as text: journalctl writes a string, or an array of bytes when it is not valid UTF-8."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(item, int) and 0 <= item < 256 for item in value):
        return bytes(value).decode("utf-8", "replace")
    return None


def _journal_time(value):
    try:
        microseconds = int(value)
    except (TypeError, ValueError):
        return None
    if microseconds <= 0:
        return None
    return _EPOCH + datetime.timedelta(microseconds=microseconds)


def parse_journal(output):
    """The login events of journalctl's JSON output, oldest first, and the number of malformed lines.

    Each event is the dict of :func:`parse_message` with ``moment`` (a UTC datetime). A refused certificate
    gets the reason of the ``Certificate invalid`` error its sshd process logged just before."""
    events = []
    malformed = 0
    pending = {}  # _PID -> the reason of the last certificate error of that process
    for raw in output.splitlines():
        line = raw.strip()
        if not line or line.startswith("-- "):  # "-- No entries --" of older journalctl
            continue
        try:
            record = json.loads(line)
        except ValueError:
            malformed += 1
            continue
        if not isinstance(record, dict):
            malformed += 1
            continue
        moment = _journal_time(record.get("__REALTIME_TIMESTAMP"))
        message = _message_text(record.get("MESSAGE"))
        if moment is None or message is None:
            malformed += 1
            continue
        event = parse_message(message)
        if event is None:
            continue
        pid = record.get("_PID")
        if "cert_error" in event:
            if pid is not None:
                pending[pid] = event["cert_error"]
            continue
        key = event["key"]
        if pid in pending and event["result"] == "refused" and key and key["type"].upper().endswith("-CERT"):
            event["reason"] = pending.pop(pid)
        event["moment"] = moment
        events.append(event)
    return events, malformed


# ---------------------------------------------------------------------------------------------- key names


def _expiry_option(options):
    """The moment of an ``authorized_keys`` ``expiry-time`` option (UTC with ``Z``, else the node's local time)."""
    match = _EXPIRY_OPTION.search(options or "")
    if not match:
        return None
    stamp = (match.group("stamp") + "000000")[:14]
    try:
        moment = datetime.datetime.strptime(stamp, "%Y%m%d%H%M%S")
    except ValueError:
        return None
    if match.group("utc"):
        return moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def _record_expiry(value):
    """``expires`` of a user record (``YYYY-MM-DD``): sshd refuses the key from 00:00 UTC of that day."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.timezone.utc)
    match = _RECORD_DATE.match(str(value).strip())
    if not match:
        raise ValueError("expires %r is not a date of the form YYYY-MM-DD" % shorten(str(value)))
    year, month, day = (int(part) for part in match.groups())
    return datetime.datetime(year, month, day, tzinfo=datetime.timezone.utc)


def _default_account(name):
    """(uid, home) of an account from the system's user database, None when there is no such account."""
    try:
        entry = pwd.getpwnam(name)
    except (KeyError, TypeError, ValueError):
        return None
    return entry.pw_uid, entry.pw_dir


class KeyNames:
    """Names the keys sshd logs by fingerprint: the comment (and expiry) of the key in the account's
    ``authorized_keys`` (read once, when the account is first asked for), else in the account's user record,
    else in any user record."""

    def __init__(self, records=None, account=None):
        self.account = account or _default_account
        self.warnings = []
        self._files = {}  # account -> {fingerprint: (comment, expiry)}
        self._records = {}  # record name -> {fingerprint: (comment, expiry)}
        self._any = {}  # fingerprint -> (comment, expiry) of every record
        for position, record in enumerate(records or []):
            self._add_record(position, record)

    def _add_record(self, position, record):
        if not isinstance(record, dict) or not isinstance(record.get("name"), str) or not record["name"]:
            raise AccessHistoryError("users[%d]: a user record is a mapping with a name" % position)
        name = record["name"]
        keys = record.get("ssh_keys") or []
        if not isinstance(keys, list):
            raise AccessHistoryError("users[%d] (%s): ssh_keys must be a list" % (position, shorten(name)))
        known = self._records.setdefault(name, {})
        for index, item in enumerate(keys):
            where = "users[%d] (%s): ssh_keys[%d]" % (position, shorten(name), index)
            text = item.get("key") if isinstance(item, dict) else None
            parts = split_authorized_keys_line(text) if isinstance(text, str) else None
            blob = blob_of(parts[2]) if parts else None
            if blob is None:
                self.warnings.append("%s is not a public key; it cannot name a login" % where)
                continue
            expiry = None
            if item.get("expires") not in (None, ""):
                try:
                    expiry = _record_expiry(item["expires"])
                except ValueError as exc:
                    self.warnings.append("%s: %s; the key is named without it" % (where, exc))
            named = (parts[3].strip(), expiry)
            known.setdefault(fingerprint(blob), named)
            self._any.setdefault(fingerprint(blob), named)

    def _file_keys(self, user):
        if user in self._files:
            return self._files[user]
        keys = {}
        self._files[user] = keys
        account = self.account(user)
        if account is None:
            return keys
        uid, home = account
        try:
            content = read_keys_file(home, uid).content
        except OSError as exc:
            self.warnings.append("cannot read the authorized_keys of %s in %s: %s; its keys are named from the user "
                                 "records only" % (user, home, exc.strerror or exc))
            return keys
        for line in (content or b"").decode("utf-8", "replace").splitlines():
            parts = split_authorized_keys_line(line)
            blob = blob_of(parts[2]) if parts else None
            if blob is not None:
                keys.setdefault(fingerprint(blob), (parts[3].strip(), _expiry_option(parts[0])))
        return keys

    def lookup(self, user, key_fingerprint):
        """(comment, expiry) of the key, or None when no source knows it."""
        for source in (self._file_keys(user), self._records.get(user, {}), self._any):
            if key_fingerprint in source:
                return source[key_fingerprint]
        return None


# ---------------------------------------------------------------------------------------------- the history


def _login_entry(event, host, names):
    key = event["key"]
    reason = event["reason"]
    if key is not None:
        known = names.lookup(event["user"], key["fingerprint"])
        comment, expiry = known if known is not None else (None, None)
        key = {"type": key["type"], "fingerprint": key["fingerprint"], "comment": comment}
        if reason == KEY_REFUSED and expiry is not None and expiry <= event["moment"]:
            reason = KEY_EXPIRED
    entry = {
        "time": iso(event["moment"]),
        "host": host,
        "kind": "login",
        "user": event["user"],
        "result": event["result"],
        "method": event["method"],
        "from": event["from"],
        "key": key,
        "reason": reason,
    }
    return event["moment"], entry


def _operation_entry(record, moment, host):
    entry = {
        "time": iso(moment),
        "host": record.get("host") or host,
        "kind": "operation",
        "user": record["user"],
        "result": record.get("result"),
        "login": record.get("login"),
        "operation": record.get("operation"),
        "action": record.get("action"),
        "environment": record.get("environment"),
        "run_id": record.get("run_id"),
        "details": mask_value(record.get("details") or {}),
    }
    return moment, entry


def _logins(run, journalctl, *, since, until, wanted, host, names):
    if not journalctl:
        raise AccessHistoryError(
            "journalctl was not found on this node: the logins are read from sshd's messages in the systemd journal "
            "(ask for kinds: [operation] on a node without it)"
        )
    argv = journal_argv(journalctl, since, until)
    rc, out, err = run(argv)
    if rc != 0:
        detail = " ".join((err or out or "").strip().splitlines()[:3]) or "no output"
        raise AccessHistoryError("%s failed (rc=%d): %s" % (" ".join(argv), rc, detail))
    warnings = ["journalctl: %s" % line.strip() for line in (err or "").splitlines() if line.strip()]
    events, malformed = parse_journal(out)
    found = []
    for event in events:
        if wanted is not None and event["user"] not in wanted:
            continue
        if (since is not None and event["moment"] < since) or (until is not None and event["moment"] >= until):
            continue
        found.append(_login_entry(event, host, names))
    return found, malformed, warnings


def _operations(path, *, since, until, now, wanted, host):
    try:
        read = read_entries(path, since=since, until=until, now=now)
    except OperationLogError as exc:
        raise AccessHistoryError(str(exc)) from None
    found = []
    malformed = read["malformed"]
    for record in read["entries"]:
        user = record.get("user")
        try:
            moment = parse_moment(record.get("time"))
        except OperationLogError:
            moment = None
        if moment is None or not isinstance(user, str) or not user:
            malformed += 1  # an entry without a time or a person has no place in a history
            continue
        if wanted is not None and user not in wanted:
            continue
        found.append(_operation_entry(record, moment, host))
    return found, malformed


def _people(entries):
    people = {}
    for entry in entries:
        person = people.setdefault(entry["user"], {"logins": 0, "refused": 0, "operations": 0,
                                                   "first": entry["time"], "last": entry["time"]})
        if entry["kind"] == "operation":
            person["operations"] += 1
        elif entry["result"] == "accepted":
            person["logins"] += 1
        else:
            person["refused"] += 1
        person["last"] = entry["time"]
    return people


def _message(people, count, shown, malformed):
    totals = {name: sum(person[name] for person in people.values()) for name in ("logins", "refused", "operations")}
    text = "%d entr%s of %d %s: %d login%s, %d refused, %d operation%s" % (
        count, "y" if count == 1 else "ies", len(people), "person" if len(people) == 1 else "people",
        totals["logins"], "" if totals["logins"] == 1 else "s", totals["refused"],
        totals["operations"], "" if totals["operations"] == 1 else "s",
    )
    if shown < count:
        text += "; the newest %d returned" % shown
    if malformed:
        text += "; %d malformed line%s skipped" % (malformed, "" if malformed == 1 else "s")
    return text


def history(
    run,
    *,
    journalctl=None,
    host=None,
    user=None,
    since=None,
    until=None,
    kinds=KINDS,
    operations_log=OPERATIONS_LOG,
    users=None,
    limit=DEFAULT_LIMIT,
    now=None,
    account=None,
):
    """The history of this node, oldest first.

    ``run(argv) -> (rc, stdout, stderr)`` runs journalctl (the path ``journalctl``); ``user`` is a list of
    account names (None: everyone); ``since`` (inclusive) and ``until`` (exclusive) are ISO 8601 times or
    durations back from ``now`` (``24h``, ``7d``); ``users`` are the user records of orocloud.ops.access_users
    (only ``name`` and ``ssh_keys[].key``/``expires`` are read); ``account(name) -> (uid, home) or None`` finds
    the ``authorized_keys`` (default: the system's user database). Returns a dict: entries (the newest
    ``limit``), people (over every matching entry), count, malformed, warnings, msg."""
    kinds = list(KINDS if kinds is None else kinds)
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        raise AccessHistoryError("kinds: %s not one of %s" % (", ".join(map(str, unknown)), ", ".join(KINDS)))
    if limit is not None and limit < 0:
        raise AccessHistoryError("limit must be 0 or more, got %d" % limit)
    now = now or utc_now()
    try:
        since_at = parse_moment(since, now, "since")
        until_at = parse_moment(until, now, "until")
    except OperationLogError as exc:
        raise AccessHistoryError(str(exc)) from None
    wanted = None if user is None else set(user)
    names = KeyNames(users, account)
    found = []
    malformed = 0
    warnings = []
    if "login" in kinds:
        logins, bad, warnings = _logins(run, journalctl, since=since_at, until=until_at, wanted=wanted, host=host,
                                        names=names)
        found += logins
        malformed += bad
    if "operation" in kinds:
        # the same text and the same now: the log is filtered on exactly the moments the journal was
        operations, bad = _operations(operations_log, since=since, until=until, now=now, wanted=wanted, host=host)
        found += operations
        malformed += bad
    # oldest first; at the same second a login before an operation, then the exact time, then the source order
    order = sorted(range(len(found)), key=lambda i: (
        found[i][0].replace(microsecond=0), found[i][1]["kind"] != "login", found[i][0], i))
    entries = [found[i][1] for i in order]
    people = _people(entries)
    count = len(entries)
    if limit is not None and limit < count:
        entries = entries[count - limit :] if limit else []
    warnings += names.warnings
    return dict(entries=entries, people=people, count=count, malformed=malformed, warnings=warnings,
                msg=_message(people, count, len(entries), malformed))
