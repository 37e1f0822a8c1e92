# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""People's accounts on one host from the list of user records: the backend of orocloud.ops.access_users.

One call handles the whole list. The flow is read -> plan -> check -> act:

1. read the host once: ``/etc/passwd``, ``/etc/shadow``, ``/etc/group``, ``/etc/login.defs``, the managed-users
   state file, the listing of ``/etc/sudoers.d``, then each listed user's ``authorized_keys`` and sudo drop-in;
2. validate every record (names, dates, every SSH key against the key policy of ``_ssh_keys``) and plan what
   each user needs: nothing, an account, an unlock, a lock, group changes, a new ``authorized_keys``, a sudo
   drop-in;
3. check everything that could fail before acting (weak keys, system accounts, missing groups, the new sudo
   rules with ``visudo -cf``): an error changes nothing on the host;
4. act only for users that need it (``useradd``/``usermod`` through the runner, files written atomically),
   never in check mode.

Accounts this module manages are listed in a state file (``/var/lib/orocloud/access_users.json``, root only)
with their uid: only those are ever locked, by ``state: absent``, by a record that does not grant this host's
environment, or by ``purge``. System accounts (uid outside ``UID_MIN``-``UID_MAX`` of ``/etc/login.defs``)
and accounts the module did not create or adopt are never touched.

Runs on managed nodes: Python 3.9+, standard library only.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fnmatch
import json
import os
import re
import secrets
import signal
import stat
import tempfile

from ansible_collections.orocloud.ops.plugins.module_utils._ssh_keys import (
    KEY_TYPES,
    MIN_RSA_BITS,
    SSHKeyError,
    blob_of,
    fingerprint,
    parse_public_key,
    shorten,
    split_authorized_keys_line,
)

ACCESS_LEVELS = ("maintenance", "logs", "sudo")
DEFAULT_ACCESS_GROUPS = {
    "maintenance": [],
    "logs": ["adm", "systemd-journal"],
    "sudo": ["adm", "systemd-journal"],
}
STATE_FILE = "/var/lib/orocloud/access_users.json"
SUDOERS_DIR = "/etc/sudoers.d"
# One drop-in per person; sudo skips names with a dot, so temporary files start with one.
SUDOERS_PREFIX = "orocloud-user-"
KEYS_FILE = "authorized_keys"
# sshd's default AuthorizedKeysFile also reads authorized_keys2: an exclusive run removes it.
KEYS_FILE2 = "authorized_keys2"
KEYS_HEADER = "# orocloud.ops.access_users: the keys of the user record of %s; other keys are removed.\n"
KEYS_HEADER_KEEP = "# orocloud.ops.access_users: the keys of the user record of %s, then keys it does not manage.\n"
DEFAULT_SHELL = "/bin/bash"
# Linux user names the module accepts: no dots (sudo would skip the drop-in) and no upper case.
NAME_PATTERN = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EPOCH = datetime.date(1970, 1, 1)
_STATE_VERSION = 1


class AccessUsersError(Exception):
    """The records cannot be applied; ``errors`` lists every problem found, ``users`` what was done so far."""

    def __init__(self, message, errors=None, users=None):
        super().__init__(message)
        self.errors = list(errors or [message])
        self.users = users or {}


class Paths:
    """Where the host's files are; ``root`` prefixes every path (tests use a temporary directory)."""

    def __init__(self, root="", state_file=STATE_FILE, sudoers_dir=SUDOERS_DIR):
        self.root = root
        self.passwd = root + "/etc/passwd"
        self.shadow = root + "/etc/shadow"
        self.group = root + "/etc/group"
        self.login_defs = root + "/etc/login.defs"
        self.proc = root + "/proc"
        self.state_file = root + state_file
        self.sudoers_dir = root + sudoers_dir


# ---------------------------------------------------------------------------------------------- records


class KeyEntry:
    __slots__ = ("expires", "index", "key")

    def __init__(self, index, key, expires):
        self.index = index
        self.key = key
        self.expires = expires

    def options(self):
        if self.expires is None:
            return ""
        # OpenSSH refuses the key from 00:00 UTC of the expiry date on (the "Z" suffix: UTC, not local time).
        return 'expiry-time="%s0000Z"' % self.expires.strftime("%Y%m%d")

    def line(self):
        return self.key.line(self.options())

    def describe(self):
        text = self.key.describe()
        return text if self.expires is None else "%s (expires %s)" % (text, self.expires.isoformat())


class UserRecord:
    __slots__ = ("access", "comment", "environments", "keys", "name", "state", "vpn")

    def __init__(self, name, *, state, comment, keys, environments, access, vpn):
        self.name = name
        self.state = state
        self.comment = comment
        self.keys = keys
        self.environments = environments
        self.access = access
        self.vpn = vpn

    def grants(self, environment):
        """Whether the record grants access on a host of ``environment`` (None: every host)."""
        if self.state != "present":
            return False
        if environment is None:
            return True
        return any(pattern == "*" or fnmatch.fnmatchcase(environment, pattern) for pattern in self.environments)


def parse_date(value, what):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = str(value).strip()
    if not DATE_PATTERN.match(text):
        raise ValueError("%s %r is not a date of the form YYYY-MM-DD" % (what, shorten(text)))
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise ValueError("%s %r is not a valid date" % (what, text)) from None


def _key_label(index, text):
    """How a key is named in messages: its index and, when it has one, its comment (never the key data)."""
    words = str(text).split(None, 2) if isinstance(text, str) else []
    if len(words) == 3:
        return "ssh_keys[%d] (%s)" % (index, shorten(words[2].strip()))
    return "ssh_keys[%d]" % index


def load_records(users, environment=None, key_types=None, min_rsa_bits=MIN_RSA_BITS):
    """Validate the user records; return ``UserRecord``s or raise ``AccessUsersError`` listing every problem."""
    errors = []
    records = []
    seen = {}
    owners = {}
    allowed = set(key_types) if key_types is not None else set(KEY_TYPES)
    for position, user in enumerate(users):
        name = user.get("name")
        where = "user %s" % name if isinstance(name, str) and name else "users[%d]" % position
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            errors.append("%s: the name %r is not a valid user name (lower case letters, digits, _ and -, at most "
                          "32 characters, not starting with a digit or -)" % (where, shorten(str(name))))
            continue
        if name in seen:
            errors.append("%s: listed twice (users[%d] and users[%d])" % (where, seen[name], position))
            continue
        seen[name] = position
        state = user.get("state") or "present"
        access = user.get("access") or "maintenance"
        comment = user.get("comment")
        if comment is not None and (":" in comment or any(ch in comment for ch in "\r\n\0")):
            errors.append("%s: the comment must not contain ':' or line breaks" % where)
        environments = user.get("environments")
        if state == "present" and environment is not None and environments is None:
            errors.append("%s: environments is required (a list of environment names, or ['*'] for all)" % where)
        keys = []
        for index, entry in enumerate(user.get("ssh_keys") or []):
            text = entry.get("key")
            label = _key_label(index, text)
            try:
                key = parse_public_key(text, allowed, min_rsa_bits)
            except SSHKeyError as exc:
                errors.append("%s: %s: %s" % (where, label, exc))
                continue
            expires = None
            if entry.get("expires") not in (None, ""):
                try:
                    expires = parse_date(entry["expires"], "expires")
                except ValueError as exc:
                    errors.append("%s: %s: %s" % (where, label, exc))
                    continue
            previous = owners.get(key.blob)
            if previous == name:
                errors.append("%s: %s: the key %s is listed twice" % (where, label, key.fingerprint))
                continue
            if previous is not None:
                errors.append("%s: %s: the key %s is also a key of user %s (each person has keys of their own)"
                              % (where, label, key.fingerprint, previous))
                continue
            owners[key.blob] = name
            keys.append(KeyEntry(index, key, expires))
        records.append(UserRecord(name, state=state, comment=comment, keys=keys, environments=list(environments or []),
                                  access=access, vpn=bool(user.get("vpn"))))
    if errors:
        raise AccessUsersError(_summary_of(errors, "the user records are invalid"), errors)
    return records


def _summary_of(errors, what):
    count = len(errors)
    return "%s (%d problem%s), nothing was changed:\n%s" % (what, count, "" if count == 1 else "s", "\n".join(errors))


# ---------------------------------------------------------------------------------------------- host state


class Account:
    __slots__ = ("expire", "gecos", "gid", "home", "name", "password", "shell", "uid")

    def __init__(self, name, uid, gid, *, gecos="", home="", shell=""):
        self.name = name
        self.uid = uid
        self.gid = gid
        self.gecos = gecos
        self.home = home
        self.shell = shell
        self.password = None
        self.expire = None

    def locked(self, today_days):
        """Locked the way this module locks: password locked and the account expired."""
        return bool(self.password and self.password.startswith("!")) and self.expired(today_days)

    def expired(self, today_days):
        # shadow(5): the account is expired from the day ``expire`` on; 0 and empty mean "never" in practice.
        return self.expire is not None and 0 < self.expire <= today_days


def _read_lines(path):
    with open(path, encoding="utf-8", errors="surrogateescape") as handle:
        return handle.read().splitlines()


def read_accounts(paths):
    """``/etc/passwd`` merged with ``/etc/shadow``: name -> Account (read once each)."""
    accounts = {}
    for line in _read_lines(paths.passwd):
        fields = line.split(":")
        if len(fields) < 7 or not fields[0] or fields[0][0] in "+-#":
            continue
        try:
            accounts[fields[0]] = Account(fields[0], int(fields[2]), int(fields[3]),
                                          gecos=fields[4], home=fields[5], shell=fields[6])
        except ValueError:
            continue
    try:
        shadow = _read_lines(paths.shadow)
    except FileNotFoundError:
        shadow = []
    except PermissionError:
        raise AccessUsersError("cannot read %s: run the module as root (become: true)" % paths.shadow) from None
    for line in shadow:
        fields = line.split(":")
        account = accounts.get(fields[0])
        if account is None or len(fields) < 8:
            continue
        account.password = fields[1]
        try:
            account.expire = int(fields[7]) if fields[7] else None
        except ValueError:
            account.expire = None
    return accounts


def read_groups(paths):
    """``/etc/group``: name -> (gid, set of member names)."""
    groups = {}
    for line in _read_lines(paths.group):
        fields = line.split(":")
        if len(fields) < 4 or not fields[0]:
            continue
        try:
            gid = int(fields[2])
        except ValueError:
            continue
        groups[fields[0]] = (gid, {m for m in fields[3].split(",") if m})
    return groups


def read_uid_range(paths):
    """``UID_MIN`` and ``UID_MAX`` of ``/etc/login.defs`` (1000 and 60000 by default)."""
    values = {"UID_MIN": 1000, "UID_MAX": 60000}
    try:
        lines = _read_lines(paths.login_defs)
    except FileNotFoundError:
        lines = []
    for line in lines:
        words = line.split()
        if len(words) >= 2 and words[0] in values:
            with contextlib.suppress(ValueError):
                values[words[0]] = int(words[1], 0)
    return values["UID_MIN"], values["UID_MAX"]


def read_state(paths):
    """The managed users: name -> {"uid": int, "keys": [fingerprints written]}."""
    try:
        with open(paths.state_file, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise AccessUsersError("the state file %s cannot be read: %s" % (paths.state_file, exc)) from None
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, dict):
        raise AccessUsersError("the state file %s has no 'users' mapping" % paths.state_file)
    return users


def state_content(managed):
    data = {"version": _STATE_VERSION, "users": {name: managed[name] for name in sorted(managed)}}
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode("utf-8")


class KeysFile:
    """A user's ``~/.ssh/authorized_keys`` as it is: content (None when missing) and whether it is safe as is."""

    __slots__ = ("content", "exists", "keys2", "ok")

    def __init__(self, content=None, ok=True, exists=False, keys2=False):
        self.content = content
        self.ok = ok
        self.exists = exists
        self.keys2 = keys2


def _open_dir(path, dir_fd=None, follow=True):
    flags = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)
    if not follow:
        flags |= os.O_NOFOLLOW
    return os.open(path, flags, dir_fd=dir_fd)


def read_keys_file(home, uid):
    """Read ``authorized_keys`` without following a link the user may have planted (``~/.ssh`` is theirs)."""
    try:
        home_fd = _open_dir(home)
    except (FileNotFoundError, NotADirectoryError):
        return KeysFile()
    try:
        try:
            ssh_fd = _open_dir(".ssh", home_fd, follow=False)
        except FileNotFoundError:
            return KeysFile()
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                return KeysFile(ok=False, exists=True)  # a link or a file where ~/.ssh should be
            raise
        try:
            dir_stat = os.fstat(ssh_fd)
            dir_ok = dir_stat.st_uid == uid and not dir_stat.st_mode & 0o077
            keys2 = _exists_at(KEYS_FILE2, ssh_fd)
            try:
                fd = os.open(KEYS_FILE, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), dir_fd=ssh_fd)
            except FileNotFoundError:
                return KeysFile(ok=dir_ok, keys2=keys2)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    return KeysFile(ok=False, exists=True, keys2=keys2)
                raise
            with os.fdopen(fd, "rb") as handle:
                file_stat = os.fstat(handle.fileno())
                content = handle.read()
            ok = (dir_ok and stat.S_ISREG(file_stat.st_mode) and file_stat.st_uid == uid
                  and stat.S_IMODE(file_stat.st_mode) == 0o600)
            return KeysFile(content, ok, True, keys2)
        finally:
            os.close(ssh_fd)
    finally:
        os.close(home_fd)


def _exists_at(name, dir_fd):
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def current_keys(content):
    """(blob, description) of each key line of an ``authorized_keys`` content."""
    keys = []
    if not content:
        return keys
    for line in content.decode("utf-8", "replace").splitlines():
        parts = split_authorized_keys_line(line)
        if parts is None:
            continue
        options, _key_type, data, comment = parts
        blob = blob_of(data)
        if blob is None:
            keys.append((data, "unreadable key %s" % shorten(data, 24)))
            continue
        text = fingerprint(blob) + (" " + shorten(comment) if comment else "")
        match = re.search(r'expiry-time="?(\d{8})', options)
        if match:
            text += " (expires %s-%s-%s)" % (match.group(1)[:4], match.group(1)[4:6], match.group(1)[6:8])
        keys.append((blob, text))
    return keys


def _read_file(path):
    try:
        with open(path, "rb") as handle:
            return handle.read(), os.fstat(handle.fileno())
    except FileNotFoundError:
        return None, None


# ---------------------------------------------------------------------------------------------- the plan


class UserPlan:
    """What one user needs on this host, and the summary returned for them."""

    def __init__(self, name, target):
        self.name = name
        self.target = target  # present | locked | absent | unmanaged
        self.record = None
        self.account = None
        self.create = False
        self.adopt = False
        self.lock = False
        self.unlock = False
        self.usermod = []  # extra usermod arguments (unlock, comment, groups)
        self.groups_added = []
        self.groups_removed = []
        self.keys_content = None
        self.keys_write = False
        self.keys_remove = False
        self.keys2_remove = False
        self.keys_before = []
        self.keys_after = []
        self.keys_added = []
        self.keys_removed = []
        self.keys_expired = []
        self.written = []  # fingerprints of the keys written from the record
        self.sudo_before = False
        self.sudo_after = False
        self.sudo_content = None
        self.sudo_write = False
        self.sudo_remove = False
        self.sessions = []
        self.groups_before = []
        self.groups_after = []
        self.warning = None
        self.before_state = "absent"

    @property
    def changed(self):
        return bool(self.create or self.adopt or self.lock or self.usermod or self.keys_write or self.keys_remove
                    or self.keys2_remove or self.sudo_write or self.sudo_remove or self.sessions)

    def summary(self):
        return {
            "state": self.target,
            "changed": self.changed,
            "created": self.create,
            "adopted": self.adopt,
            "locked": self.lock,
            "unlocked": self.unlock,
            "keys_added": list(self.keys_added),
            "keys_removed": list(self.keys_removed),
            "keys_expired": list(self.keys_expired),
            "sudo": self.sudo_after,
            "sudo_changed": self.sudo_write or self.sudo_remove,
            "groups_added": list(self.groups_added),
            "groups_removed": list(self.groups_removed),
            "sessions_ended": len(self.sessions),
        }

    def _describe(self, state, groups, sudo, keys):
        lines = ["account: %s" % state, "groups: %s" % (", ".join(groups) or "-"),
                 "sudo: %s" % ("yes" if sudo else "no"), "keys:"]
        lines += ["  %s" % text for text in keys] or ["  -"]
        return "\n".join(lines) + "\n"

    def snapshot(self, today_days):
        """Remember the account's state before any change, for the diff."""
        if self.account is None:
            self.before_state = "absent"
        elif self.account.locked(today_days):
            self.before_state = "locked"
        else:
            self.before_state = "present"
        if self.adopt:
            self.before_state += " (not managed)"

    def diff(self):
        after_state = {"present": "present", "locked": "locked"}.get(self.target, self.before_state)
        return {
            "before_header": "user %s" % self.name,
            "after_header": "user %s" % self.name,
            "before": self._describe(self.before_state, self.groups_before, self.sudo_before, self.keys_before),
            "after": self._describe(after_state, self.groups_after, self.sudo_after, self.keys_after),
        }


class AccessUsers:
    """Plan and apply the user records on this host.

    ``runner`` runs commands: ``runner.run(argv) -> (rc, stdout, stderr)`` and ``runner.bin(name) -> path or
    None`` (the module passes a thin wrapper around ``AnsibleModule.run_command``/``get_bin_path``).
    """

    def __init__(self, runner, users, *, environment=None, purge=False, exclusive=True, today=None,
                 key_types=None, min_rsa_bits=MIN_RSA_BITS, access_groups=None, sudo_nopasswd=True,
                 kill_sessions=True, shell=DEFAULT_SHELL, paths=None):
        self.runner = runner
        self.paths = paths or Paths()
        self.environment = environment
        self.purge = purge
        self.exclusive = exclusive
        self.kill_sessions = kill_sessions
        self.shell = shell
        self.sudo_nopasswd = sudo_nopasswd
        if min_rsa_bits < MIN_RSA_BITS:
            raise AccessUsersError("min_rsa_bits %d is below the key policy's %d bits" % (min_rsa_bits, MIN_RSA_BITS))
        try:
            self.today = parse_date(today, "today") if today else datetime.datetime.now(datetime.timezone.utc).date()
        except ValueError as exc:
            raise AccessUsersError(str(exc)) from None
        self.today_days = (self.today - _EPOCH).days
        groups = dict(DEFAULT_ACCESS_GROUPS)
        groups.update({level: list(names) for level, names in (access_groups or {}).items() if names is not None})
        self.access_groups = groups
        self.managed_groups = sorted({name for names in groups.values() for name in names})
        self.records = load_records(users, environment, key_types, min_rsa_bits)
        self.plans = []
        self.warnings = []
        self.managed = {}
        self.state_before = None

    # ------------------------------------------------------------------ planning

    def plan(self):
        paths = self.paths
        self.accounts = read_accounts(paths)
        self.groups = read_groups(paths)
        self.uid_min, self.uid_max = read_uid_range(paths)
        state = read_state(paths)
        self.state_before = state
        try:
            self.sudoers = set(os.listdir(paths.sudoers_dir))
        except FileNotFoundError:
            self.sudoers = set()
        errors = []
        managed = {}
        for name, entry in state.items():
            account = self.accounts.get(name)
            if account is not None and isinstance(entry, dict) and entry.get("uid") == account.uid:
                managed[name] = dict(entry)
        self.managed = managed

        listed = set()
        for record in self.records:
            listed.add(record.name)
            if record.grants(self.environment):
                plan = self._plan_present(record, errors)
            else:
                plan = self._plan_revoked(record.name, record)
            self.plans.append(plan)
        if self.purge:
            for name in sorted(set(managed) - listed):
                self.plans.append(self._plan_revoked(name, None))
        for plan in self.plans:
            plan.snapshot(self.today_days)

        needed = sorted({g for plan in self.plans if plan.target == "present" for g in plan.groups_after})
        missing = [g for g in needed if g not in self.groups]
        if missing:
            errors.append("group%s %s of the access levels do%s not exist on this host"
                          % ("s" if len(missing) > 1 else "", ", ".join(missing), "" if len(missing) > 1 else "es"))
        if errors:
            raise AccessUsersError(_summary_of(errors, "the user records cannot be applied on this host"), errors)
        self._check_tools()
        self._check_sudo_rules()
        if self.kill_sessions:
            self._find_sessions()
        return self.plans

    def _is_system(self, account):
        return not self.uid_min <= account.uid <= self.uid_max

    def _plan_present(self, record, errors):
        name = record.name
        plan = UserPlan(name, "present")
        plan.record = record
        account = self.accounts.get(name)
        plan.account = account
        desired_groups = sorted(set(self.access_groups.get(record.access) or []))
        if account is None:
            if name in self.groups:
                errors.append("user %s: a group of that name exists but no user: create the account by hand or "
                              "remove the group" % name)
            plan.create = True
            plan.groups_after = desired_groups
            plan.groups_added = desired_groups
        else:
            if self._is_system(account):
                errors.append("user %s: uid %d is a system account (outside %d-%d of login.defs): not managed here"
                              % (name, account.uid, self.uid_min, self.uid_max))
                return plan
            if name not in self.managed:
                plan.adopt = True
            self._plan_account_changes(plan, account, record, desired_groups)
        self._plan_keys(plan, record, account)
        plan.sudo_after = record.access == "sudo"
        self._plan_sudo(plan)
        return plan

    def _plan_keys(self, plan, record, account):
        """The new ``authorized_keys``: the record's keys that have not expired (and, with ``exclusive: false``,
        the keys on the host that this module did not write)."""
        name = record.name
        valid = [entry for entry in record.keys if entry.expires is None or entry.expires > self.today]
        plan.keys_expired = [entry.describe() for entry in record.keys if entry not in valid]
        plan.written = [entry.key.fingerprint for entry in valid]
        plan.keys_after = [entry.describe() for entry in valid]
        lines = [entry.line() for entry in valid]
        current = KeysFile()
        if account is not None:
            current = read_keys_file(account.home, account.uid)
        existing = current_keys(current.content)
        plan.keys_before = [text for _blob, text in existing]
        wanted = {entry.key.blob for entry in valid}
        ours_before = set((self.managed.get(name) or {}).get("keys") or [])
        kept = []
        if not self.exclusive and current.content:
            for line in current.content.decode("utf-8", "replace").splitlines():
                parts = split_authorized_keys_line(line)
                if parts is None:
                    continue
                blob = blob_of(parts[2])
                if blob is not None and (blob in wanted or fingerprint(blob) in ours_before):
                    continue
                kept.append(line.strip())
        existing_blobs = {blob for blob, _text in existing}
        kept_blobs = {blob_of(split_authorized_keys_line(line)[2]) for line in kept}
        plan.keys_added = [entry.describe() for entry in valid if entry.key.blob not in existing_blobs]
        plan.keys_removed = [text for blob, text in existing if blob not in wanted and blob not in kept_blobs]
        plan.keys_after += [text for blob, text in existing if blob in kept_blobs]
        if lines or kept:
            header = (KEYS_HEADER if not kept else KEYS_HEADER_KEEP) % name
            plan.keys_content = (header + "".join(line + "\n" for line in lines + kept)).encode("utf-8")
            plan.keys_write = current.content != plan.keys_content or not current.ok
        else:
            plan.keys_remove = current.exists
        plan.keys2_remove = self.exclusive and current.keys2

    def _plan_account_changes(self, plan, account, record, desired_groups):
        args = []
        if account.password is None or account.password.startswith("!"):
            plan.unlock = True
            rest = (account.password or "")[1:]
            # usermod -U refuses to leave an empty password; key-only accounts get "*" (no password, not locked)
            args += ["--unlock"] if rest else ["--password", "*"]
        if account.expired(self.today_days):
            plan.unlock = True
            args += ["--expiredate", ""]
        if record.comment is not None and record.comment != account.gecos:
            args += ["--comment", record.comment]
        args += self._plan_groups(plan, account.name, desired_groups)
        plan.usermod = args

    def _plan_groups(self, plan, name, desired):
        member_of = sorted(g for g, (_gid, members) in self.groups.items() if name in members)
        managed_now = [g for g in member_of if g in self.managed_groups]
        plan.groups_before = managed_now
        plan.groups_after = list(desired)
        plan.groups_added = [g for g in desired if g not in member_of]
        plan.groups_removed = [g for g in managed_now if g not in desired]
        if not plan.groups_added and not plan.groups_removed:
            return []
        new = sorted((set(member_of) - set(self.managed_groups)) | set(desired))
        return ["--groups", ",".join(new)]

    def _plan_sudo(self, plan):
        filename = SUDOERS_PREFIX + plan.name
        path = os.path.join(self.paths.sudoers_dir, filename)
        content = None
        file_stat = None
        if filename in self.sudoers:
            content, file_stat = _read_file(path)
        plan.sudo_before = content is not None
        if plan.sudo_after:
            plan.sudo_content = self.sudo_rule(plan.name)
            plan.sudo_write = (content != plan.sudo_content or file_stat.st_uid != 0
                               or stat.S_IMODE(file_stat.st_mode) != 0o440)
        else:
            plan.sudo_remove = content is not None

    def sudo_rule(self, name):
        return ("# orocloud.ops.access_users: access level sudo of user %s.\n%s ALL=(ALL:ALL) %sALL\n"
                % (name, name, "NOPASSWD: " if self.sudo_nopasswd else "")).encode("utf-8")

    def _plan_revoked(self, name, record):
        """No access here: lock a managed account, take its keys, groups and sudo rule away."""
        account = self.accounts.get(name)
        if account is None:
            plan = UserPlan(name, "absent")
            plan.record = record
            return plan
        if name not in self.managed or self._is_system(account):
            plan = UserPlan(name, "unmanaged")
            plan.record = record
            plan.account = account
            kind = "a system account" if self._is_system(account) else "not managed by orocloud.ops.access_users"
            plan.warning = "user %s has no access here but its account is %s: left alone" % (name, kind)
            self.warnings.append(plan.warning)
            return plan
        plan = UserPlan(name, "locked")
        plan.record = record
        plan.account = account
        if not account.locked(self.today_days):
            plan.lock = True
        plan.usermod = self._plan_groups(plan, name, [])
        current = read_keys_file(account.home, account.uid)
        plan.keys_before = [text for _blob, text in current_keys(current.content)]
        plan.keys_removed = list(plan.keys_before)
        plan.keys_remove = current.exists
        plan.keys2_remove = current.keys2
        plan.sudo_after = False
        self._plan_sudo(plan)
        return plan

    def _check_tools(self):
        needed = set()
        for plan in self.plans:
            if plan.create:
                needed.add("useradd")
            if plan.lock or plan.usermod:
                needed.add("usermod")
            if plan.sudo_write:
                needed.add("visudo")
        self.tools = {}
        missing = []
        for tool in sorted(needed):
            path = self.runner.bin(tool)
            if path is None:
                missing.append(tool)
            self.tools[tool] = path
        if missing:
            raise AccessUsersError("%s not found on this host (the passwd and sudo packages), nothing was changed"
                                   % " and ".join(missing))

    def _check_sudo_rules(self):
        """``visudo -cf`` on every new drop-in at once (one file, one run) before anything changes."""
        rules = [plan.sudo_content for plan in self.plans if plan.sudo_write]
        if not rules:
            return
        fd, path = _mkstemp(None, "orocloud-sudoers-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(b"".join(rules))
            rc, out, err = self.runner.run([self.tools["visudo"], "-c", "-q", "-f", path])
        finally:
            os.unlink(path)
        if rc != 0:
            raise AccessUsersError("the sudo rules do not pass visudo -c, nothing was changed: %s"
                                   % (err or out).strip())

    def _find_sessions(self):
        """Processes of the accounts being locked (one pass over /proc, no command run)."""
        uids = {plan.account.uid: plan for plan in self.plans if plan.target == "locked"}
        if not uids:
            return
        try:
            entries = os.listdir(self.paths.proc)
        except OSError:
            return
        for entry in entries:
            if not entry.isdigit():
                continue
            try:
                owner = os.stat(os.path.join(self.paths.proc, entry)).st_uid
            except OSError:
                continue
            if owner in uids:
                uids[owner].sessions.append(int(entry))

    # ------------------------------------------------------------------ acting

    def apply(self):
        """Make the changes of the plan (after ``plan()``); raises ``AccessUsersError`` on the first failure.

        The state file is written at the end whatever happened, so that every account created is known.
        """
        created = [plan for plan in self.plans if plan.create]
        try:
            # take access away first, then grant
            for plan in self.plans:
                if plan.target == "locked" and plan.changed:
                    self._apply_revoked(plan)
            for plan in created:
                self._useradd(plan)
            self._reread(created)
            for plan in self.plans:
                if plan.target == "present" and plan.changed:
                    self._apply_present(plan)
        except (OSError, AccessUsersError) as exc:
            message = str(exc)
            raise AccessUsersError(message, users=self.summaries()) from None
        finally:
            self._reread(created)
            self._save_state()

    def _reread(self, created):
        """After useradd: the new accounts' uid, gid and home."""
        if not created or all(plan.account is not None for plan in created):
            return
        self.accounts = read_accounts(self.paths)
        for plan in created:
            plan.account = self.accounts.get(plan.name)

    def _apply_present(self, plan):
        if plan.create:
            if plan.account is None:
                raise AccessUsersError("user %s: useradd succeeded but the account is not in %s"
                                       % (plan.name, self.paths.passwd))
        elif plan.usermod:
            self._run(plan, [self.tools["usermod"], *plan.usermod, plan.name])
        if plan.keys_write:
            write_keys_file(plan.account, plan.keys_content)
        elif plan.keys_remove:
            remove_keys_file(plan.account, KEYS_FILE)
        if plan.keys2_remove:
            remove_keys_file(plan.account, KEYS_FILE2)
        sudoers = os.path.join(self.paths.sudoers_dir, SUDOERS_PREFIX + plan.name)
        if plan.sudo_write:
            atomic_write(sudoers, plan.sudo_content, 0o440, 0, 0)
        elif plan.sudo_remove:
            _unlink(sudoers)

    def _apply_revoked(self, plan):
        args = []
        if plan.lock:
            # expiry day 1 (2 January 1970): sshd and PAM refuse the account whatever authenticates it
            args += ["--lock", "--expiredate", "1"]
        args += plan.usermod
        if args:
            self._run(plan, [self.tools["usermod"], *args, plan.name])
        for pid in plan.sessions:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if plan.keys_remove:
            remove_keys_file(plan.account, KEYS_FILE)
        if plan.keys2_remove:
            remove_keys_file(plan.account, KEYS_FILE2)
        if plan.sudo_remove:
            _unlink(os.path.join(self.paths.sudoers_dir, SUDOERS_PREFIX + plan.name))

    def _useradd(self, plan):
        record = plan.record
        argv = [self.tools["useradd"], "--create-home", "--user-group", "--shell", self.shell, "--password", "*"]
        if record.comment:
            argv += ["--comment", record.comment]
        if plan.groups_after:
            argv += ["--groups", ",".join(plan.groups_after)]
        self._run(plan, [*argv, plan.name])

    def _run(self, plan, argv):
        rc, out, err = self.runner.run(argv)
        if rc != 0:
            raise AccessUsersError("user %s: %s failed (rc %d): %s"
                                   % (plan.name, os.path.basename(argv[0]), rc, (err or out).strip()))

    def new_state(self):
        managed = {name: dict(entry) for name, entry in self.managed.items() if name in self.accounts}
        for plan in self.plans:
            if plan.target not in ("present", "locked") or plan.account is None:
                continue
            entry = {"uid": plan.account.uid, "keys": sorted(plan.written)}
            managed[plan.name] = entry
        return managed

    def _save_state(self):
        if not self.state_changed():
            return
        content = state_content(self.new_state())
        os.makedirs(os.path.dirname(self.paths.state_file), mode=0o755, exist_ok=True)
        atomic_write(self.paths.state_file, content, 0o600, 0, 0)

    def state_changed(self):
        """Whether the state file would change (an adoption, a forgotten account) without any user change."""
        current, _stat = _read_file(self.paths.state_file)
        managed = self.new_state()
        if current is None and not managed:
            return False  # nothing managed yet: no file needed
        return current != state_content(managed)

    # ------------------------------------------------------------------ results

    def changed(self):
        return any(plan.changed for plan in self.plans) or self.state_changed()

    def message(self):
        totals = self.totals()
        parts = []
        for key, text in (("created", "%d created"), ("unlocked", "%d unlocked"), ("locked", "%d locked"),
                          ("keys_added", "%d keys added"), ("keys_removed", "%d keys removed")):
            if totals[key]:
                parts.append(text % totals[key])
        if totals["sudo_granted"] or totals["sudo_revoked"]:
            parts.append("sudo %d granted, %d revoked" % (totals["sudo_granted"], totals["sudo_revoked"]))
        head = "%d user%s, %d changed" % (totals["users"], "" if totals["users"] == 1 else "s", totals["changed"])
        return head + (": " + ", ".join(parts) if parts else "")

    def summaries(self):
        return {plan.name: plan.summary() for plan in self.plans}

    def totals(self):
        plans = self.plans
        return {
            "users": len(plans),
            "present": sum(1 for p in plans if p.target == "present"),
            "changed": sum(1 for p in plans if p.changed),
            "created": sum(1 for p in plans if p.create),
            "locked": sum(1 for p in plans if p.lock),
            "unlocked": sum(1 for p in plans if p.unlock),
            "keys_added": sum(len(p.keys_added) for p in plans),
            "keys_removed": sum(len(p.keys_removed) for p in plans if p.keys_write or p.keys_remove),
            "keys_expired": sum(len(p.keys_expired) for p in plans),
            "sudo_granted": sum(1 for p in plans if p.sudo_write and not p.sudo_before),
            "sudo_revoked": sum(1 for p in plans if p.sudo_remove),
        }

    def diffs(self):
        return [plan.diff() for plan in self.plans if plan.changed]


# ---------------------------------------------------------------------------------------------- files


def _mkstemp(directory, prefix):
    return tempfile.mkstemp(prefix=prefix, dir=directory)


def atomic_write(path, content, mode, uid, gid):
    """Write a root-owned file atomically with its final mode and owner already set when it appears.

    (``AnsibleModule.atomic_move`` sets the mode of a new file after the rename: a sudoers drop-in would be
    visible for a moment with the default mode, which sudo refuses.)
    """
    directory, base = os.path.split(path)
    fd, tmp = _mkstemp(directory, "." + base + ".")
    try:
        os.fchmod(fd, mode)
        os.fchown(fd, uid, gid)
        os.write(fd, content)
        os.fsync(fd)
        os.close(fd)
        fd = None
        os.rename(tmp, path)
    except BaseException:
        if fd is not None:
            os.close(fd)
        _unlink(tmp)
        raise


def _unlink(path, dir_fd=None):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path, dir_fd=dir_fd)


def _ssh_dir(account, create):
    """An fd of ``~/.ssh`` that is a real directory owned by the user with mode 0700, or None.

    The user owns ``~/.ssh``: it is opened without following links, and a link found there is removed, not
    followed, so that a root process never writes through a path the user controls.
    """
    try:
        home_fd = _open_dir(account.home)
    except (FileNotFoundError, NotADirectoryError):
        if not create:
            return None
        os.makedirs(account.home, mode=0o700, exist_ok=True)
        os.chown(account.home, account.uid, account.gid)
        home_fd = _open_dir(account.home)
    try:
        try:
            ssh_fd = _open_dir(".ssh", home_fd, follow=False)
        except FileNotFoundError:
            if not create:
                return None
            os.mkdir(".ssh", 0o700, dir_fd=home_fd)
            ssh_fd = _open_dir(".ssh", home_fd, follow=False)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            os.unlink(".ssh", dir_fd=home_fd)  # a link or a file: removed, never followed
            if not create:
                return None
            os.mkdir(".ssh", 0o700, dir_fd=home_fd)
            ssh_fd = _open_dir(".ssh", home_fd, follow=False)
        dir_stat = os.fstat(ssh_fd)
        if dir_stat.st_uid != account.uid or dir_stat.st_gid != account.gid:
            os.fchown(ssh_fd, account.uid, account.gid)
        if stat.S_IMODE(dir_stat.st_mode) != 0o700:
            os.fchmod(ssh_fd, 0o700)
        return ssh_fd
    finally:
        os.close(home_fd)


def write_keys_file(account, content):
    """Replace ``~/.ssh/authorized_keys`` atomically: 0600, owned by the user, inside the opened directory."""
    ssh_fd = _ssh_dir(account, create=True)
    try:
        tmp = ".%s.%s" % (KEYS_FILE, secrets.token_hex(6))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0),
                     0o600, dir_fd=ssh_fd)
        try:
            os.fchmod(fd, 0o600)
            os.fchown(fd, account.uid, account.gid)
            os.write(fd, content)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            _unlink(tmp, ssh_fd)
            raise
        os.close(fd)
        os.rename(tmp, KEYS_FILE, src_dir_fd=ssh_fd, dst_dir_fd=ssh_fd)
    finally:
        os.close(ssh_fd)


def remove_keys_file(account, name):
    ssh_fd = _ssh_dir(account, create=False)
    if ssh_fd is None:
        return
    try:
        _unlink(name, ssh_fd)
    finally:
        os.close(ssh_fd)
