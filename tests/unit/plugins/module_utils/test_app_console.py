# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the application-console backend: argv building, user switching, real subprocesses (``sh``,
``sleep``) for output, return codes, the timeout and the process-group kill, and masking."""

from __future__ import annotations

import os
import pathlib
import pwd
import shutil
import stat
import tempfile
import textwrap
import time

import pytest

from ansible_collections.orocloud.ops.plugins.module_utils import _app_console as ac

AS_ROOT = os.geteuid() == 0
ME = pwd.getpwuid(os.geteuid()).pw_name

FAKE_CONSOLE = textwrap.dedent(
    """\
    # A stand-in for bin/console, run by /bin/sh: prints what it got and behaves as the first argument says.
    echo "args: $*"
    echo "user: $(id -un) home: $HOME cwd: $(pwd)"
    echo "ORO_DB_URL=postgres://oro:s3cr%40t@db/oro"
    echo "planted-secret on stderr" >&2
    case "$1" in
      fail) echo "[ERROR] migration 0001 failed" >&2; exit 3 ;;
      sleep) sleep 60 & echo $! > "$2"; wait ;;
      stubborn) trap '' TERM; sleep 60 & echo $! > "$2"; while :; do sleep 0.1; done ;;
    esac
    """
)


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def gone(pid, wait=2.5):
    """Whether process ``pid`` has ended, given the kernel a moment to deliver the signal."""
    deadline = time.monotonic() + wait
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not pid_alive(pid)


@pytest.fixture
def app(tmp_path):
    """An app_root with releases/6.1.0 and 6.1.1, current -> 6.1.0, readable by everyone."""
    return make_app(tmp_path)


@pytest.fixture
def public_app():
    """The same, in a directory every user can reach (pytest's own tmp directory is private)."""
    directory = tempfile.mkdtemp(prefix="app_console.")
    os.chmod(directory, 0o755)  # noqa: S103 - the application's user must reach it, as /var/www/oro
    yield make_app(pathlib.Path(directory))
    shutil.rmtree(directory)


def make_app(tmp_path):
    for version in ("6.1.0", "6.1.1"):
        console = tmp_path / "releases" / version / "bin" / "console"
        console.parent.mkdir(parents=True)
        console.write_text(FAKE_CONSOLE.replace("args:", "%s args:" % version))
    (tmp_path / "current").symlink_to(tmp_path / "releases" / "6.1.0")
    for path in [tmp_path, *tmp_path.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IRGRP | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0))
    return tmp_path


def params(app, command, **overrides):
    values = dict(command=command, app_root=str(app), release=None, php="/bin/sh", env="prod", user=ME,
                  timeout=30, read_only=False, secrets=[])
    values.update(overrides)
    return values


# ------------------------------------------------------------------------------------ argv


@pytest.mark.parametrize(
    ("command", "env", "release", "expected_tail"),
    [
        (["oro:platform:update", "--force"], "prod", None,
         ["current/bin/console", "oro:platform:update", "--force", "--env=prod"]),
        (["cache:clear", "--env=dev"], "prod", None, ["current/bin/console", "cache:clear", "--env=dev"]),
        (["cache:clear", "--env", "dev"], "prod", None, ["current/bin/console", "cache:clear", "--env", "dev"]),
        (["cache:clear", "-e", "dev"], "prod", None, ["current/bin/console", "cache:clear", "-e", "dev"]),
        (["oro:platform:version"], "", None, ["current/bin/console", "oro:platform:version"]),
        (["oro:migration:load", "--dry-run"], "prod", "6.1.2",
         ["releases/6.1.2/bin/console", "oro:migration:load", "--dry-run", "--env=prod"]),
    ],
)
def test_build_argv(command, env, release, expected_tail):
    argv = ac.build_argv(command, "/var/www/oro", "/usr/bin/php8.2", env, release)
    assert argv[0] == "/usr/bin/php8.2"
    assert argv[1] == "/var/www/oro/" + expected_tail[0]
    assert argv[2:] == expected_tail[1:]


@pytest.mark.parametrize(
    ("command", "release", "message"),
    [
        ([], None, "command must name a console command"),
        ([" "], None, "command must name a console command"),
        (["cache:clear"], "../../etc", "release '../../etc' is not a release directory name"),
        (["cache:clear"], "6.1.0/../x", "is not a release directory name"),
        (["cache:clear"], "..", "is not a release directory name"),
    ],
)
def test_build_argv_refuses(command, release, message):
    with pytest.raises(ac.AppConsoleError, match=message):
        ac.build_argv(command, release=release)


# ------------------------------------------------------------------------------------ users


def test_resolve_user_without_a_switch():
    assert ac.resolve_user(ME)["switch"] is False


def test_resolve_user_that_does_not_exist():
    with pytest.raises(ac.AppConsoleError, match="user no-such-user does not exist on this node"):
        ac.resolve_user("no-such-user")


def test_resolve_user_needs_root_to_switch():
    with pytest.raises(ac.AppConsoleError, match="cannot switch to root: run the task with become: true"):
        ac.resolve_user("root", euid=65534)


def test_resolve_user_as_root_switches():
    account = ac.resolve_user("nobody", euid=0)
    assert account["switch"] is True and account["name"] == "nobody" and account["uid"] == 65534


# ------------------------------------------------------------------------------------ running


def test_run_console_returns_masked_output(app):
    result = ac.run_console(params(app, ["oro:platform:version", "--password", "hunter2"], secrets=["planted-secret"],
                                   read_only=True))

    assert result["rc"] == 0 and result["changed"] is False and result["timed_out"] is False
    assert result["cmd"] == ["/bin/sh", str(app / "current/bin/console"), "oro:platform:version", "--password",
                             "********", "--env=prod"]
    assert result["stdout_lines"][0] == "6.1.0 args: oro:platform:version --password hunter2 --env=prod"
    assert "ORO_DB_URL=postgres://oro:********@db/oro" in result["stdout_lines"]
    assert result["stderr"] == "******** on stderr\n"
    assert "cwd: %s\n" % (app / "releases/6.1.0") in result["stdout"]  # current is resolved once
    assert result["msg"].startswith("oro:platform:version --password ******** finished in")
    assert result["duration"] >= 0


def test_run_console_of_a_release_that_is_not_current(app):
    result = ac.run_console(params(app, ["oro:migration:load", "--dry-run"], release="6.1.1", read_only=True))
    assert result["stdout_lines"][0].startswith("6.1.1 args: oro:migration:load --dry-run --env=prod")


def test_commands_change_unless_read_only(app):
    assert ac.run_console(params(app, ["cache:warmup"]))["changed"] is True


def test_failed_command_fails_with_its_last_error_line(app):
    result = ac.run_console(params(app, ["fail"]))
    assert result["failed"] is True and result["rc"] == 3
    assert result["msg"] == "fail failed with return code 3: [ERROR] migration 0001 failed"


def test_missing_console_is_an_error(app):
    with pytest.raises(ac.AppConsoleError, match=r"the console .*/releases/9.9.9/bin/console does not exist"):
        ac.run_console(params(app, ["cache:warmup"], release="9.9.9"))


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (dict(read_only=True), dict(ran=True, changed=False, msg="finished in")),
        (dict(), dict(ran=False, changed=True, msg="would run cache:warmup (not read-only: not run in check mode)")),
        (dict(read_only=True, release="9.9.9"),
         dict(ran=False, changed=False, msg="does not exist (yet); cache:warmup not run in check mode")),
        (dict(release="9.9.9"), dict(ran=False, changed=True, msg="does not exist (yet)")),
    ],
)
def test_check_mode_runs_only_read_only_commands(app, options, expected):
    result = ac.run_console(params(app, ["cache:warmup"], **options), check_mode=True)
    assert ("rc" in result) is expected["ran"]
    assert result["changed"] is expected["changed"]
    assert expected["msg"] in result["msg"]


def test_timeout_kills_the_whole_process_group(app, tmp_path):
    child_pid_file = tmp_path / "child.pid"
    started = time.monotonic()
    result = ac.run_console(params(app, ["sleep", str(child_pid_file)], timeout=1))
    elapsed = time.monotonic() - started

    assert result["failed"] is True and result["timed_out"] is True
    assert result["msg"] == "sleep %s timed out after 1 s and was killed" % child_pid_file
    assert result["rc"] < 0
    assert 1 <= elapsed < 5
    assert result["stdout_lines"][0].startswith("6.1.0 args: sleep")  # output up to the kill is kept
    assert gone(int(child_pid_file.read_text()))  # the background sleep was in the group


def test_a_command_that_ignores_sigterm_gets_sigkill(app, tmp_path):
    child_pid_file = tmp_path / "child.pid"
    started = time.monotonic()
    result = ac.run(["/bin/sh", str(app / "current/bin/console"), "stubborn", str(child_pid_file)], timeout=1,
                    grace=0.5)
    assert result["timed_out"] is True
    assert time.monotonic() - started < 5
    assert gone(int(child_pid_file.read_text()))


def test_a_program_that_does_not_exist():
    with pytest.raises(ac.AppConsoleError, match="cannot run /nonexistent/php: No such file or directory"):
        ac.run(["/nonexistent/php", "x"])


def test_no_timeout_waits(app):
    assert ac.run(["/bin/sh", "-c", "sleep 0.2; echo done"], timeout=0)["stdout"] == "done\n"


@pytest.mark.skipif(not AS_ROOT, reason="switching user needs root")
def test_runs_as_the_application_user_with_its_home(public_app):
    result = ac.run_console(params(public_app, ["oro:platform:version"], user="nobody", read_only=True))
    home = pwd.getpwnam("nobody").pw_dir
    assert "user: nobody home: %s" % home in result["stdout"]


def test_child_environment_when_switching():
    base = {"PATH": "/usr/bin", "HOME": "/root", "SUDO_USER": "alice", "KEEP": "1"}
    account = dict(name="www-data", uid=33, gid=33, home="/var/www", switch=True)
    environ = ac._child_environment(account, base)
    assert environ == {"PATH": "/usr/bin", "HOME": "/var/www", "USER": "www-data", "LOGNAME": "www-data", "KEEP": "1"}
    assert ac._child_environment(dict(account, switch=False), base) == base
