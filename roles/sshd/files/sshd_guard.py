# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lock-out guard of the orocloud.ops.sshd role (installed on the node, run with python3).

A change of sshd's configuration must not cut the SSH connection Ansible runs over. Two lines of defence:

``check CANDIDATE``
    Run by the role as the ``validate`` command of the drop-in template, before the drop-in is put in place.
    Assembles a copy of the whole configuration (the main file, every drop-in, the candidate in place of
    the managed drop-in) in a temporary directory, runs ``sshd -t`` on it, refuses a candidate whose
    hardening keywords sshd would take from elsewhere (``sshd -T``: a drop-in sorted before it, or the main
    file before its Include, wins), then runs ``sshd -T -C`` for the SSH
    connection this command runs under (user, client address, local address and port, found in the
    ``SSH_CONNECTION`` of the session's first process) and refuses a candidate that would not let that user
    in again with a key: PubkeyAuthentication, AuthenticationMethods, PermitRootLogin (for root),
    AllowUsers/DenyUsers/AllowGroups/DenyGroups, the listening addresses and ports, ForceCommand,
    ChrootDirectory, MaxSessions (and TCP forwarding on a jump host with ``--forwarding``). With
    ``--keep-previous`` an accepted candidate is about to replace the drop-in: the current drop-in (or the
    fact that there is none) is recorded for the rollback.

``arm`` / ``disarm`` / ``rollback`` / ``settle``
    Around the reload (the role's handler): ``arm`` starts a transient systemd timer that runs ``rollback``
    (put the recorded previous drop-in back, or remove a drop-in that did not exist before, and reload
    sshd) after ``--after`` seconds, on the node, without any help from Ansible. The role then reloads
    sshd, drops its SSH connection and opens a new one; only when that succeeds does it ``disarm`` the
    timer (and forget the previous drop-in). When it does not, the timer restores the previous drop-in and
    Ansible reconnects under it; ``settle`` then makes sure the rollback has happened (running it at once
    if the timer is still pending).

Python 3.9+, standard library only. Exit status 0 on success; 1 with a message on stderr otherwise
(3 for ``disarm`` when the rollback had already run). State lives in /run/orocloud-sshd-guard.
"""

from __future__ import annotations

import argparse
import fcntl
import grp
import ipaddress
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time

UNIT = "orocloud-sshd-rollback"
STATE_DIR = "/run/orocloud-sshd-guard"
STATE_FILE = STATE_DIR + "/state.json"
LOCK_FILE = STATE_DIR + "/lock"
PREVIOUS = STATE_DIR + "/previous.conf"
NO_PREVIOUS = STATE_DIR + "/previous.none"
ROOT_KEY_LOGIN = ("yes", "prohibit-password", "without-password")
# Keywords of the drop-in that must be what sshd uses: another drop-in sorted before it (or the main file
# before its Include) would win, since sshd keeps the first value it reads.
ENFORCED = (
    "pubkeyauthentication",
    "passwordauthentication",
    "kbdinteractiveauthentication",
    "permitemptypasswords",
    "authenticationmethods",
    "permitrootlogin",
    "loglevel",
    "maxauthtries",
    "x11forwarding",
    "kexalgorithms",
    "ciphers",
    "macs",
)
SYNONYMS = {"prohibit-password": "without-password"}
FORWARDING_ON = ("yes", "all", "local")


class GuardError(Exception):
    """The candidate is refused, or the guard cannot do its job."""


# ------------------------------------------------------------------------------------ connection


class Connection:
    """The SSH connection this process runs under (as seen by sshd)."""

    def __init__(self, user, addr, laddr, lport):
        self.user = user
        self.addr = addr
        self.laddr = laddr
        self.lport = int(lport)

    def __str__(self):
        return "%s from %s to %s port %d" % (self.user, self.addr, self.laddr, self.lport)

    def spec(self):
        """The connection specification of ``sshd -T -C`` (host = address: sshd's UseDNS is off by default)."""
        return "user=%s,host=%s,addr=%s,laddr=%s,lport=%d" % (self.user, self.addr, self.addr, self.laddr, self.lport)


def _read(path, mode="r"):
    try:
        with open(path, mode) as handle:
            return handle.read()
    except OSError:
        return None


def _parent(pid):
    stat = _read("/proc/%d/stat" % pid)
    if not stat:
        return 0
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def _comm(pid):
    return (_read("/proc/%d/comm" % pid) or "").strip()


def _environ(pid):
    raw = _read("/proc/%d/environ" % pid, "rb") or b""
    env = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            env[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return env


def _real_uid(pid):
    for line in (_read("/proc/%d/status" % pid) or "").splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    return None


def find_connection(pid=None):
    """The connection of the SSH session this process descends from, or None (not under sshd).

    The session's first process is the child of an ``sshd`` process; its environment holds sshd's
    ``SSH_CONNECTION`` and its real uid is the user who logged in, whatever ``sudo`` did further down.
    """
    pid = os.getpid() if pid is None else pid
    seen = set()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        parent = _parent(pid)
        if parent > 0 and _comm(parent) == "sshd":
            fields = _environ(pid).get("SSH_CONNECTION", "").split()
            uid = _real_uid(pid)
            if len(fields) == 4 and uid is not None:
                return Connection(pwd.getpwuid(uid).pw_name, fields[0], fields[2], fields[3])
        pid = parent
    return None


# ------------------------------------------------------------------------------------ patterns


def _glob(text, pattern):
    """OpenSSH's match_pattern(): ``*`` and ``?`` are wildcards, everything else is literal."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.DOTALL) is not None


def _in_network(addr, pattern):
    try:
        return ipaddress.ip_address(addr) in ipaddress.ip_network(pattern, strict=False)
    except ValueError:
        return False


def match_list(text, patterns, cidr=False):
    """OpenSSH's pattern lists: comma-separated, ``!`` negates (a negated match wins)."""
    matched = False
    for entry in patterns.split(","):
        negated = entry.startswith("!")
        pattern = entry[1:] if negated else entry
        hit = _in_network(text, pattern) if cidr and "/" in pattern else _glob(text, pattern)
        if hit and negated:
            return False
        matched = matched or hit
    return matched


def match_user(user, addr, pattern):
    """OpenSSH's match_user() for AllowUsers/DenyUsers: ``user`` or ``user@host-or-address-list``."""
    if "@" not in pattern:
        return _glob(user, pattern)
    user_pattern, host_patterns = pattern.split("@", 1)
    return _glob(user, user_pattern) and match_list(addr, host_patterns, cidr=True)


def user_groups(user):
    entry = pwd.getpwnam(user)
    names = []
    for gid in os.getgrouplist(user, entry.pw_gid):
        try:
            names.append(grp.getgrgid(gid).gr_name)
        except KeyError:
            continue
    return names


# ------------------------------------------------------------------------------------ sshd


def _run(argv):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def assemble(workdir, candidate, dropin, main):
    """Copy the configuration into ``workdir`` with ``candidate`` in place of ``dropin``; return the main file."""
    dropin_dir = os.path.dirname(dropin)
    copy_dir = os.path.join(workdir, "sshd_config.d")
    os.mkdir(copy_dir)
    if os.path.isdir(dropin_dir):
        for name in sorted(os.listdir(dropin_dir)):
            path = os.path.join(dropin_dir, name)
            if name != os.path.basename(dropin) and os.path.isfile(path):
                shutil.copyfile(path, os.path.join(copy_dir, name))
    shutil.copyfile(candidate, os.path.join(copy_dir, os.path.basename(dropin)))

    text = _read(main)
    if text is None:
        raise GuardError("cannot read %s" % main)
    lines, included = [], False
    for line in text.splitlines(True):
        words = line.split()
        if not words or words[0].lower() != "include":
            lines.append(line)
            continue
        args = []
        for arg in words[1:]:
            path = arg if os.path.isabs(arg) else os.path.join(os.path.dirname(main), arg)
            if os.path.dirname(path) == dropin_dir:
                included = included or _glob(os.path.basename(dropin), os.path.basename(path))
                path = os.path.join(copy_dir, os.path.basename(path))
            else:
                path = arg
            args.append(path)
        lines.append("Include %s\n" % " ".join(args))
    if not included:
        raise GuardError(
            "%s does not include %s (no 'Include %s/*.conf' line): the drop-in would have no effect"
            % (main, dropin, dropin_dir)
        )
    main_copy = os.path.join(workdir, "sshd_config")
    with open(main_copy, "w") as handle:
        handle.writelines(lines)
    return main_copy


def parse_effective(text):
    """``sshd -T`` output -> {keyword: [value, ...]} (keywords lower-case, one value per line)."""
    settings = {}
    for line in text.splitlines():
        keyword, _sep, value = line.strip().partition(" ")
        if keyword:
            settings.setdefault(keyword.lower(), []).append(value.strip())
    return settings


def shadowed(candidate_text, settings):
    """Keywords of ``ENFORCED`` the candidate sets but sshd would take from elsewhere: [(keyword, wanted, used)]."""
    wanted = {}
    for line in candidate_text.splitlines():
        words = line.split(None, 1)
        if len(words) == 2 and not words[0].startswith("#"):
            wanted.setdefault(words[0].lower(), words[1].strip())
    found = []
    for keyword in ENFORCED:
        if keyword not in wanted:
            continue
        want = SYNONYMS.get(wanted[keyword].lower(), wanted[keyword].lower())
        used = (settings.get(keyword) or [""])[0]
        if SYNONYMS.get(used.lower(), used.lower()) != want:
            found.append((keyword, wanted[keyword], used))
    return found


def _listens_on(settings, conn):
    laddr = ipaddress.ip_address(conn.laddr)
    wildcard = "0.0.0.0" if laddr.version == 4 else "::"  # noqa: S104 - compared, not bound
    for entry in settings.get("listenaddress", []):
        host, _sep, port = entry.rpartition(":")
        host = host.strip("[]")
        if port.isdigit() and int(port) == conn.lport and host in (conn.laddr, wildcard):
            return True
    return False


def lockout_problems(settings, conn, groups, uid, forwarding=False):
    """Why the effective settings would refuse a new key login of ``conn`` (empty: it keeps access)."""

    def one(keyword, default=""):
        return (settings.get(keyword) or [default])[0]

    who = "%s@%s" % (conn.user, conn.addr)
    problems = []
    if one("pubkeyauthentication") != "yes":
        problems.append("PubkeyAuthentication is %s" % one("pubkeyauthentication", "unset"))
    methods = one("authenticationmethods", "any")
    if methods != "any" and not any(set(chain.split(",")) == {"publickey"} for chain in methods.split()):
        problems.append("AuthenticationMethods %s needs more than a key" % methods)
    if uid == 0 and one("permitrootlogin") not in ROOT_KEY_LOGIN:
        problems.append("PermitRootLogin %s refuses root" % one("permitrootlogin", "unset"))
    denied = [p for p in settings.get("denyusers", []) if match_user(conn.user, conn.addr, p)]
    if denied:
        problems.append("DenyUsers %s matches %s" % (" ".join(denied), who))
    allowed = settings.get("allowusers", [])
    if allowed and not any(match_user(conn.user, conn.addr, p) for p in allowed):
        problems.append("AllowUsers %s does not match %s" % (" ".join(allowed), who))
    denied = [p for p in settings.get("denygroups", []) if any(match_list(g, p) for g in groups)]
    if denied:
        problems.append("DenyGroups %s matches a group of %s (%s)" % (" ".join(denied), conn.user, ",".join(groups)))
    allowed = settings.get("allowgroups", [])
    if allowed and not any(match_list(g, p) for p in allowed for g in groups):
        problems.append("AllowGroups %s matches no group of %s (%s)" % (" ".join(allowed), conn.user, ",".join(groups)))
    if not _listens_on(settings, conn):
        problems.append(
            "sshd would no longer listen on %s port %d (ListenAddress %s)"
            % (conn.laddr, conn.lport, " ".join(settings.get("listenaddress", [])) or "none")
        )
    if one("forcecommand", "none") != "none":
        problems.append("ForceCommand %s leaves Ansible no shell" % one("forcecommand"))
    if one("chrootdirectory", "none") != "none":
        problems.append("ChrootDirectory %s hides the system from Ansible" % one("chrootdirectory"))
    if one("maxsessions", "10") == "0":
        problems.append("MaxSessions 0 allows no session")
    if forwarding and (one("disableforwarding", "no") != "no" or one("allowtcpforwarding", "yes") not in FORWARDING_ON):
        problems.append(
            "this node is a jump host and TCP forwarding would be off (DisableForwarding %s, AllowTcpForwarding %s)"
            % (one("disableforwarding", "no"), one("allowtcpforwarding", "yes"))
        )
    return problems


def check(args):
    """Validate ``args.candidate`` as ``args.dropin``; refuse it when it would lock the connection out."""
    with tempfile.TemporaryDirectory(prefix="orocloud-sshd-") as workdir:
        main_copy = assemble(workdir, args.candidate, args.dropin, args.main)

        def real_names(text):
            text = text.replace(os.path.join(workdir, "sshd_config.d"), os.path.dirname(args.dropin))
            text = text.replace(main_copy, args.main)
            return "; ".join(line.strip() for line in text.splitlines() if line.strip())

        rc, _out, err = _run([args.sshd, "-t", "-f", main_copy])
        if rc != 0:
            raise GuardError(
                "sshd -t rejects the configuration with the candidate %s: %s" % (args.dropin, real_names(err))
            )
        rc, out, err = _run([args.sshd, "-T", "-f", main_copy])
        if rc != 0:
            raise GuardError("sshd -T fails with the candidate %s: %s" % (args.dropin, real_names(err)))
        overridden = shadowed(_read(args.candidate) or "", parse_effective(out))
        if overridden:
            raise GuardError(
                "the candidate %s would not take effect: sshd reads these keywords first from another drop-in "
                "sorted before it or from %s before its Include: %s"
                % (
                    args.dropin,
                    args.main,
                    "; ".join(
                        "%s is %s, the drop-in says %s" % (k, used or "unset", want) for k, want, used in overridden
                    ),
                )
            )
        if args.user:
            conn = Connection(args.user, args.addr, args.laddr, args.lport)
        else:
            conn = None if args.no_connection else find_connection()
        if conn is None:
            print("sshd -t: ok; no SSH connection to guard")
        else:
            check_connection(args, main_copy, conn, real_names)
    if args.keep_previous:
        keep_previous(args.dropin)
    return 0


def check_connection(args, main_copy, conn, real_names):
    rc, out, err = _run([args.sshd, "-T", "-f", main_copy, "-C", conn.spec()])
    if rc != 0:
        raise GuardError("sshd -T -C %s fails with the candidate %s: %s" % (conn.spec(), args.dropin, real_names(err)))
    entry = pwd.getpwnam(conn.user)
    problems = lockout_problems(parse_effective(out), conn, user_groups(conn.user), entry.pw_uid, args.forwarding)
    if problems:
        raise GuardError(
            "refused: the candidate %s would lock out the running connection (%s): %s"
            % (args.dropin, conn, "; ".join(problems))
        )
    print("sshd -t: ok; %s keeps key access" % conn)


def keep_previous(dropin):
    """Record the drop-in the candidate is about to replace (or that there is none) for the rollback."""
    with _locked():
        for path in (PREVIOUS, NO_PREVIOUS):
            if os.path.exists(path):
                os.unlink(path)
        if os.path.exists(dropin):
            shutil.copy2(dropin, PREVIOUS)
        else:
            open(NO_PREVIOUS, "w").close()


# ------------------------------------------------------------------------------------ rollback timer


def _state():
    text = _read(STATE_FILE)
    return json.loads(text) if text else {}


def _save_state(state):
    os.makedirs(STATE_DIR, mode=0o700, exist_ok=True)
    tmp = STATE_FILE + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(state, handle)
    os.replace(tmp, STATE_FILE)


def _locked():
    os.makedirs(STATE_DIR, mode=0o700, exist_ok=True)
    handle = open(LOCK_FILE, "w")  # noqa: SIM115 - held until the caller closes it
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def _timer_pending():
    rc, out, _err = _run(["systemctl", "is-active", UNIT + ".timer"])
    return rc == 0 and out.strip() == "active"


def _forget_units():
    _run(["systemctl", "stop", UNIT + ".timer"])
    _run(["systemctl", "reset-failed", UNIT + ".timer", UNIT + ".service"])


def _forget_previous():
    for path in (PREVIOUS, NO_PREVIOUS, STATE_FILE):
        if os.path.exists(path):
            os.unlink(path)


def _restore(args):
    """Put the recorded previous drop-in back (or remove a new one) and reload sshd; idempotent."""
    state = _state()
    if state.get("rolled_back_at"):
        return "restored the previous %s at %s" % (args.dropin, state["rolled_back_at"])
    if os.path.exists(PREVIOUS):
        shutil.copy2(PREVIOUS, args.dropin + ".orocloud-rollback")
        os.replace(args.dropin + ".orocloud-rollback", args.dropin)
        done = "restored the previous %s" % args.dropin
    elif os.path.exists(NO_PREVIOUS):
        if os.path.exists(args.dropin):
            os.unlink(args.dropin)
        done = "removed %s (there was none before)" % args.dropin
    else:
        raise GuardError("cannot roll back %s: no previous drop-in was recorded" % args.dropin)
    rc, _out, err = _run(["systemctl", "reload", args.service])
    state["rolled_back_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    _save_state(state)
    if rc != 0:
        raise GuardError("%s, but reloading %s failed: %s" % (done, args.service, err.strip()))
    return "%s and reloaded %s" % (done, args.service)


def arm(args):
    with _locked():
        if not (os.path.exists(PREVIOUS) or os.path.exists(NO_PREVIOUS)):
            raise GuardError("no previous %s was recorded (run 'check --keep-previous' first)" % args.dropin)
        _forget_units()
        _save_state({"armed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "dropin": args.dropin})
        argv = [
            sys.executable,
            os.path.realpath(__file__),
            "rollback",
            "--dropin",
            args.dropin,
            "--service",
            args.service,
        ]
        rc, _out, err = _run(
            [
                "systemd-run",
                "--unit=" + UNIT,
                "--on-active=%ds" % args.after,
                "--timer-property=AccuracySec=1s",
                "--description=orocloud.ops: restore the previous sshd drop-in unless Ansible reconnects",
                "--collect",
                "--quiet",
                *argv,
            ]
        )
        if rc != 0:
            raise GuardError("cannot arm the rollback timer: %s" % err.strip())
    print("rollback of %s armed: fires in %d s unless disarmed" % (args.dropin, args.after))
    return 0


def disarm(args):
    with _locked():
        state = _state()
        if state.get("rolled_back_at"):
            print(
                "too late: the rollback timer restored the previous %s at %s" % (args.dropin, state["rolled_back_at"]),
                file=sys.stderr,
            )
            return 3
        _forget_units()
        _forget_previous()
    print("rollback disarmed: the new %s stays" % args.dropin)
    return 0


def rollback(args):
    with _locked():
        print(_restore(args))
    return 0


def settle(args):
    """After a failed connection test: make sure the rollback has happened; say how."""
    with _locked():
        pending = _timer_pending()
        _forget_units()
        message = _restore(args)
        _forget_previous()
    print(("the rollback timer had not fired yet: " if pending else "") + message)
    return 0


# ------------------------------------------------------------------------------------ main


def parser():
    top = argparse.ArgumentParser(prog="orocloud-sshd-guard", description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = top.add_subparsers(dest="command", required=True)

    def common(cmd):
        cmd.add_argument("--dropin", required=True, help="the managed drop-in")
        cmd.add_argument("--service", default="ssh", help="the sshd unit (Debian: ssh)")
        return cmd

    cmd = common(sub.add_parser("check", help="validate a candidate drop-in, refuse a lock-out"))
    cmd.add_argument("candidate")
    cmd.add_argument("--main", default="/etc/ssh/sshd_config")
    cmd.add_argument("--sshd", default="/usr/sbin/sshd")
    cmd.add_argument("--forwarding", action="store_true", help="the node is a jump host: keep TCP forwarding")
    cmd.add_argument("--no-connection", action="store_true", help="only run sshd -t")
    cmd.add_argument("--keep-previous", action="store_true", help="record the current drop-in for the rollback")
    cmd.add_argument("--user", help="check this connection instead of the current one (with --addr etc.)")
    cmd.add_argument("--addr")
    cmd.add_argument("--laddr")
    cmd.add_argument("--lport", type=int, default=22)
    cmd.set_defaults(func=check)

    cmd = common(sub.add_parser("arm", help="start the rollback timer"))
    cmd.add_argument("--after", type=int, required=True, help="seconds")
    cmd.set_defaults(func=arm)
    common(sub.add_parser("disarm", help="stop the rollback timer, keep the new drop-in")).set_defaults(func=disarm)
    common(sub.add_parser("rollback", help="restore the previous drop-in and reload")).set_defaults(func=rollback)
    common(sub.add_parser("settle", help="make sure the rollback has happened")).set_defaults(func=settle)
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    if getattr(args, "user", None) and not (args.addr and args.laddr):
        parser().error("--user needs --addr and --laddr")
    try:
        return args.func(args)
    except GuardError as exc:
        print("orocloud-sshd-guard: %s" % exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
