# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run an application console command (``bin/console``) on a node, as the application's user, with a timeout.

* The command line is ``<php> <app_root>/current/bin/console <command…> --env=<env>`` (or the console of
  ``releases/<release>`` for a release that is not current yet), an argv list, never a shell string; the
  working directory is the release's root.
* The module switches to the application's user itself (``setgid``/``initgroups``/``setuid`` through
  ``subprocess``), so it must run as root (``become: true``) unless it already runs as that user. Doing the
  switch here rather than with ``become_user`` keeps the command in a process group of its own that the
  module can kill whole at the timeout: first ``SIGTERM``, then ``SIGKILL`` after a grace period.
* Output and the command line are masked (:mod:`._masking`) before they are returned.

Runs on managed nodes: Python 3.9+, standard library only.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import signal
import subprocess
import time

from ansible_collections.orocloud.ops.plugins.module_utils._masking import mask_argv, mask_text

DEFAULT_APP_ROOT = "/var/www/oro"
DEFAULT_PHP = "/usr/bin/php8.2"
DEFAULT_USER = "www-data"
DEFAULT_ENV = "prod"
DEFAULT_TIMEOUT = 3600
KILL_GRACE = 5.0
_RELEASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


class AppConsoleError(Exception):
    """The command cannot be run as asked (not: the command failed)."""


def has_env_option(command):
    """Whether the command names the Symfony environment itself (``--env=…``, ``--env …``, ``-e…``)."""
    return any(arg == "--env" or arg.startswith("--env=") or arg.startswith("-e") for arg in command)


def console_path(app_root, release=None):
    """``<app_root>/current/bin/console``, or ``<app_root>/releases/<release>/bin/console``."""
    if release is None:
        return os.path.join(app_root, "current", "bin", "console")
    if not _RELEASE.match(release) or ".." in release:
        raise AppConsoleError("release %r is not a release directory name" % release)
    return os.path.join(app_root, "releases", release, "bin", "console")


def build_argv(command, app_root=DEFAULT_APP_ROOT, php=DEFAULT_PHP, env=DEFAULT_ENV, release=None):
    """The argv of a console command: php, the console, the command, and ``--env=<env>`` unless given."""
    if not command or not str(command[0]).strip():
        raise AppConsoleError("command must name a console command, for example ['oro:platform:version']")
    command = [str(arg) for arg in command]
    argv = [php, console_path(app_root, release), *command]
    if env and not has_env_option(command):
        argv.append("--env=%s" % env)
    return argv


def resolve_user(name, euid=None):
    """How to run as ``name``: dict(name, uid, gid, home, switch) - switch is False when already that user.
    Raises AppConsoleError when the user does not exist, or when a switch is needed but we are not root."""
    euid = os.geteuid() if euid is None else euid
    try:
        entry = pwd.getpwnam(name)
    except KeyError as exc:
        raise AppConsoleError("user %s does not exist on this node" % name) from exc
    if entry.pw_uid == euid:
        return dict(name=name, uid=entry.pw_uid, gid=entry.pw_gid, home=entry.pw_dir, switch=False)
    if euid != 0:
        try:
            current = pwd.getpwuid(euid).pw_name
        except KeyError:
            current = str(euid)
        raise AppConsoleError(
            "the module runs as %s and cannot switch to %s: run the task with become: true (root)" % (current, name)
        )
    return dict(name=name, uid=entry.pw_uid, gid=entry.pw_gid, home=entry.pw_dir, switch=True)


def _child_environment(account, base=None):
    environ = dict(os.environ if base is None else base)
    if account and account["switch"]:
        environ.update(HOME=account["home"], USER=account["name"], LOGNAME=account["name"])
        for name in ("SUDO_USER", "SUDO_UID", "SUDO_GID", "SUDO_COMMAND", "MAIL"):
            environ.pop(name, None)
    return environ


def _kill_group(pgid, signum):
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def run(argv, account=None, timeout=None, *, cwd=None, grace=KILL_GRACE, environ=None):
    """Run ``argv`` in a new session (process group) as ``account`` (from resolve_user); kill the whole group
    at ``timeout`` seconds (None or 0: no limit). Returns rc, stdout, stderr (text), duration, timed_out."""
    options = dict(
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=_child_environment(account, environ),
        start_new_session=True,
    )
    if account and account["switch"]:
        options.update(user=account["uid"], group=account["gid"],
                       extra_groups=os.getgrouplist(account["name"], account["gid"]))
    started = time.monotonic()
    try:
        # Not run_command: it has no timeout and cannot kill a process group.
        process = subprocess.Popen(argv, **options)  # pylint: disable=ansible-bad-function
    except OSError as exc:
        raise AppConsoleError("cannot run %s: %s" % (argv[0], exc.strerror or exc)) from exc
    timed_out = False
    try:
        stdout, stderr = process.communicate(timeout=timeout or None)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(process.pid, signal.SIGTERM)
        try:
            stdout, stderr = process.communicate(timeout=grace)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid, signal.SIGKILL)
            try:
                stdout, stderr = process.communicate(timeout=grace)
            except subprocess.TimeoutExpired as exc:  # a process left the group and holds the pipes open
                stdout, stderr = exc.output or b"", exc.stderr or b""
                process.kill()
                process.wait()
        _kill_group(process.pid, signal.SIGKILL)  # what ignored SIGTERM after the leader exited
    duration = time.monotonic() - started
    return dict(
        rc=process.returncode,
        stdout=(stdout or b"").decode("utf-8", errors="replace"),
        stderr=(stderr or b"").decode("utf-8", errors="replace"),
        duration=round(duration, 3),
        timed_out=timed_out,
    )


def run_console(params, check_mode=False):
    """The module's work: returns a result dict (``failed`` and ``msg`` when the command failed)."""
    secrets = params.get("secrets") or ()
    argv = build_argv(params["command"], params["app_root"], params["php"], params["env"], params.get("release"))
    console = argv[1]
    cmd = mask_argv(argv, secrets)
    read_only = bool(params.get("read_only"))
    result = dict(changed=not read_only, cmd=cmd, user=params["user"], read_only=read_only)
    shown = " ".join(mask_argv(params["command"], secrets))
    if not os.path.isfile(console):
        if check_mode:
            result.update(changed=not read_only, skipped_reason="missing console",
                          msg="%s does not exist (yet); %s not run in check mode" % (console, shown))
            return result
        raise AppConsoleError("the console %s does not exist" % console)
    if check_mode and not read_only:
        result["msg"] = "would run %s (not read-only: not run in check mode)" % shown
        return result
    account = resolve_user(params["user"])
    # In the release itself (current resolved once), so a switch of current during the run changes nothing.
    done = run(argv, account, params.get("timeout"), cwd=os.path.realpath(os.path.dirname(os.path.dirname(console))))
    stdout = mask_text(done["stdout"], secrets)
    stderr = mask_text(done["stderr"], secrets)
    result.update(
        rc=done["rc"],
        stdout=stdout,
        stderr=stderr,
        stdout_lines=stdout.splitlines(),
        stderr_lines=stderr.splitlines(),
        duration=done["duration"],
        timed_out=done["timed_out"],
    )
    if done["timed_out"]:
        result.update(failed=True, msg="%s timed out after %s s and was killed" % (shown, params.get("timeout")))
    elif done["rc"] != 0:
        last = (stderr.strip() or stdout.strip()).splitlines()[-1:] or [""]
        result.update(failed=True, msg="%s failed with return code %d: %s" % (shown, done["rc"], last[0]))
    else:
        result["msg"] = "%s finished in %.1f s" % (shown, done["duration"])
    return result
