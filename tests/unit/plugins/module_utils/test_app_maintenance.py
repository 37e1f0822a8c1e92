# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the maintenance backend: the flag and its record in tmp_path, a fake bin/console (a fake
run_command that creates and removes the flag as the real one does) and a fake HTTP opener."""

from __future__ import annotations

import datetime
import grp
import io
import json
import os
import pwd
from urllib.error import HTTPError, URLError

import pytest

from ansible_collections.orocloud.ops.plugins.module_utils import _app_maintenance as am

USER = pwd.getpwuid(os.geteuid()).pw_name
GROUP = grp.getgrgid(os.getegid()).gr_name
NOW = datetime.datetime(2026, 3, 2, 10, 0, 0, tzinfo=datetime.timezone.utc)
HEALTHY = '{"status":"ok","version":"6.1.2","database":"ok","schema":"ok"}'


# ------------------------------------------------------------------------------------ fakes


class Response:
    def __init__(self, code, body):
        self.code, self.body = code, body.encode()

    def getcode(self):
        return self.code

    def read(self, size=-1):
        return self.body[:size] if size >= 0 else self.body


class Opener:
    """``open_url`` answering from a list: (code, body) or an exception; records the calls."""

    def __init__(self, *answers):
        self.answers, self.calls = list(answers), []

    def __call__(self, url, **kwargs):
        self.calls.append((url, kwargs))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        code, body = answer
        if code >= 400:
            raise HTTPError(url, code, "error", {}, io.BytesIO(body.encode()))
        return Response(code, body)


class Console:
    """run_command for ``bin/console oro:maintenance:lock|unlock``: does what the demo application does."""

    def __init__(self, flag, rc=0, err="", writes=True):
        self.flag, self.rc, self.err, self.writes, self.calls = flag, rc, err, writes, []

    def __call__(self, argv, cwd=None):
        self.calls.append(list(argv))
        self.cwd = cwd
        if self.rc == 0 and self.writes:
            command = next(a for a in argv if a.startswith("oro:maintenance:"))
            if command == "oro:maintenance:lock":
                retry = next(a.split("=", 1)[1] for a in argv if a.startswith("--retry-after="))
                with open(self.flag, "w", encoding="utf-8") as handle:
                    handle.write(retry + "\n")
            elif os.path.exists(self.flag):
                os.unlink(self.flag)
        return self.rc, "", self.err


def no_run(argv, cwd=None):
    raise AssertionError("no command expected, got %r" % (argv,))


@pytest.fixture
def shared(tmp_path):
    path = tmp_path / "oro" / "shared"
    path.mkdir(parents=True)
    return path


def params(shared, state, **overrides):
    values = {
        "state": state,
        "app_root": str(shared.parent),
        "flag": None,
        "state_file": None,
        "duration": None,
        "comment": None,
        "user": "alice",
        "retry_after": 600,
        "method": "file",
        "console": None,
        "php": "/usr/bin/php8.2",
        "app_user": USER,
        "app_group": GROUP,
        "health_url": "http://127.0.0.1/health",
        "expect_version": None,
        "health_timeout": 1.0,
        "health_attempts": 1,
        "health_delay": 0.0,
        "validate_certs": True,
        "force": False,
    }
    values.update(overrides)
    return values


def ensure(shared, state, run=no_run, *, check_mode=False, now=NOW, opener=None, sleep=None, **overrides):
    return am.ensure_maintenance(
        params(shared, state, **overrides), run, check_mode=check_mode, now=now, opener=opener, sleep=sleep
    )


def snapshot(shared):
    return {p.name: (p.read_text(), p.stat().st_mtime_ns) for p in sorted(shared.iterdir()) if p.is_file()}


def record(shared):
    return json.loads((shared / "maintenance.json").read_text())


# ------------------------------------------------------------------------------------ on / emergency


def test_on_writes_the_flag_and_the_record(shared):
    checked = ensure(shared, "on", check_mode=True, duration=30, comment="patch 6.1.2")
    assert checked["changed"] is True and snapshot(shared) == {}

    result = ensure(shared, "on", duration=30, comment="patch 6.1.2")

    assert result["changed"] is True and result["maintenance"] is True and result["method"] == "file"
    assert (shared / "maintenance.flag").read_text() == "600\n"
    assert oct((shared / "maintenance.flag").stat().st_mode & 0o7777) == "0o644"
    expected = {
        "mode": "on",
        "since": "2026-03-02T10:00:00Z",
        "until": "2026-03-02T10:30:00Z",
        "duration": 30,
        "comment": "patch 6.1.2",
        "user": "alice",
        "retry_after": 600,
    }
    assert record(shared) == expected and result["record"] == expected
    assert checked["record"] == expected and checked["diff"] == result["diff"]
    assert result["diff"] == {
        "before": {"maintenance": False, "record": None},
        "after": {"maintenance": True, "record": expected},
    }
    assert result["warnings"] == [] and result["health"] is None
    assert sorted(os.listdir(str(shared))) == ["maintenance.flag", "maintenance.json"]


def test_on_again_changes_nothing_and_keeps_since(shared):
    ensure(shared, "on", duration=30)
    before = snapshot(shared)

    later = NOW + datetime.timedelta(minutes=10)
    for check_mode in (True, False):
        result = ensure(shared, "on", duration=30, now=later, check_mode=check_mode, user="bob")
        assert result["changed"] is False and result["diff"]["before"] == result["diff"]["after"]
        assert result["record"]["since"] == "2026-03-02T10:00:00Z" and result["record"]["user"] == "alice"
    assert snapshot(shared) == before


def test_longer_window_moves_until_and_names_who_changed_it(shared):
    ensure(shared, "on", duration=30)
    flag = snapshot(shared)["maintenance.flag"]

    result = ensure(shared, "on", duration=90, now=NOW + datetime.timedelta(minutes=20), user="bob")

    assert result["changed"] is True
    assert record(shared)["since"] == "2026-03-02T10:00:00Z" and record(shared)["until"] == "2026-03-02T11:30:00Z"
    assert record(shared)["user"] == "bob"
    assert snapshot(shared)["maintenance.flag"] == flag  # the flag itself is left alone


def test_on_to_emergency_changes_the_record_only(shared):
    ensure(shared, "on", duration=30)
    flag = snapshot(shared)["maintenance.flag"]

    result = ensure(shared, "emergency", duration=30)

    assert result["changed"] is True and record(shared)["mode"] == "emergency"
    assert result["diff"]["before"]["record"]["mode"] == "on"
    assert snapshot(shared)["maintenance.flag"] == flag


def test_new_retry_after_rewrites_the_flag(shared):
    ensure(shared, "on", duration=30)

    result = ensure(shared, "on", duration=30, retry_after=120)

    assert result["changed"] is True and (shared / "maintenance.flag").read_text() == "120\n"
    assert record(shared)["retry_after"] == 120


def test_without_duration_warns_about_the_one_hour_alert(shared):
    result = ensure(shared, "emergency")

    assert result["warnings"] == [
        "no downtime window declared (duration): Oro's monitoring alerts when maintenance mode lasts over 60 minutes"
    ]
    assert record(shared)["until"] is None and record(shared)["duration"] is None


def test_a_window_that_is_over_is_reported(shared):
    ensure(shared, "on", duration=30)

    result = ensure(shared, "on", duration=30, now=NOW + datetime.timedelta(minutes=31))

    assert result["changed"] is False
    assert result["warnings"] == ["the declared downtime window ended at 2026-03-02T10:30:00Z"]


def test_flag_set_by_hand_is_taken_over(shared):
    (shared / "maintenance.flag").write_text("600\n")
    stamp = NOW.timestamp() - 300
    os.utime(str(shared / "maintenance.flag"), (stamp, stamp))

    result = ensure(shared, "on")

    assert result["changed"] is True
    assert result["diff"]["before"]["record"]["since"] == "2026-03-02T09:55:00Z"
    assert record(shared)["since"] == "2026-03-02T09:55:00Z"
    assert ensure(shared, "on")["changed"] is False


def test_missing_shared_directory_is_refused(tmp_path):
    root = tmp_path / "oro"

    with pytest.raises(am.MaintenanceError, match=r"shared: no such directory \(is the application installed\?\)"):
        am.ensure_maintenance(params(root / "shared", "on"), no_run)


def test_unknown_app_user_is_refused(shared):
    with pytest.raises(am.MaintenanceError, match=r"app_user/app_group: .* does not exist on the node"):
        ensure(shared, "on", app_user="no-such-user")
    assert snapshot(shared) == {}


def test_corrupt_record_is_refused(shared):
    (shared / "maintenance.json").write_text("{")

    with pytest.raises(am.MaintenanceError, match=r"maintenance\.json: cannot be read .*: fix or remove it"):
        ensure(shared, "on")


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"duration": 0}, "duration must be a number of minutes above 0, got 0"),
        ({"retry_after": -1}, "retry_after must be 0 or more seconds"),
        ({"method": "carrier-pigeon"}, "method 'carrier-pigeon' is not one of"),
    ],
)
def test_bad_parameters(shared, overrides, message):
    with pytest.raises(am.MaintenanceError, match=message):
        ensure(shared, "on", **overrides)


# ------------------------------------------------------------------------------------ off and the gate


def test_off_after_a_healthy_gate(shared):
    ensure(shared, "on", duration=30)
    before = snapshot(shared)
    opener = Opener((200, HEALTHY))

    checked = ensure(shared, "off", check_mode=True, opener=opener, expect_version="6.1.2")
    assert checked["changed"] is True and checked["health"]["ok"] is True and snapshot(shared) == before

    result = ensure(shared, "off", opener=opener, expect_version="6.1.2")

    assert result["changed"] is True and result["maintenance"] is False and result["record"] is None
    assert snapshot(shared) == {}
    assert result["health"] == {
        "url": "http://127.0.0.1/health",
        "ok": True,
        "status_code": 200,
        "status": "ok",
        "version": "6.1.2",
        "body": HEALTHY,
        "message": "GET http://127.0.0.1/health: status 200, ok, version 6.1.2",
        "attempts": 1,
    }
    assert result["diff"]["before"]["maintenance"] is True and result["diff"]["after"] == {
        "maintenance": False,
        "record": None,
    }
    url, options = opener.calls[0]
    assert url == "http://127.0.0.1/health" and options["method"] == "GET" and options["use_proxy"] is False
    assert options["follow_redirects"] == "none" and options["timeout"] == 1.0


def test_off_when_not_in_maintenance_asks_nothing(shared):
    result = ensure(shared, "off", opener=Opener(AssertionError("no request expected")))

    assert result["changed"] is False and result["health"] is None


def test_off_removes_a_record_left_without_flag(shared):
    ensure(shared, "on", duration=30)
    os.unlink(str(shared / "maintenance.flag"))  # someone ran oro:maintenance:unlock by hand

    result = ensure(shared, "off", opener=Opener(AssertionError("no request expected")))

    assert result["changed"] is True and snapshot(shared) == {} and result["health"] is None
    assert result["diff"]["before"]["maintenance"] is False
    assert result["diff"]["before"]["record"]["mode"] == "on"
    assert result["diff"]["after"] == {"maintenance": False, "record": None}


@pytest.mark.parametrize(
    "answer, expect_version, message",
    [
        ((503, '{"status":"fail","database":"unreachable"}'), None, "status 503, expected 200"),
        ((503, "<html>maintenance</html>"), None, "status 503, expected 200"),
        ((200, '{"status":"fail"}'), None, 'status is "fail", expected ok'),
        ((200, "<html>ok</html>"), None, "the answer is not a JSON object"),
        ((200, '["ok"]'), None, "the answer is not a JSON object"),
        ((200, HEALTHY), "7.0.0", 'version is "6.1.2", expected 7.0.0'),
        ((302, ""), None, "status 302, expected 200"),
        (URLError(ConnectionRefusedError(111, "Connection refused")), None, "Connection refused"),
        (TimeoutError("timed out"), None, "timed out"),
    ],
    ids=["503-json", "503-page", "status-fail", "html", "json-list", "version", "redirect", "refused", "timeout"],
)
def test_failing_gate_keeps_maintenance(shared, answer, expect_version, message):
    ensure(shared, "on", duration=30)
    before = snapshot(shared)

    for check_mode in (True, False):
        with pytest.raises(am.MaintenanceError) as error:
            ensure(shared, "off", opener=Opener(answer), expect_version=expect_version, check_mode=check_mode)
        assert error.value.health["ok"] is False and message in error.value.health["message"]
        start = "health gate failed, maintenance stays on (%s/maintenance.flag): GET " % shared
        assert str(error.value).startswith(start)
        assert "force" not in str(error.value)  # what leaves maintenance anyway is the module's to say
        assert error.value.changed is False
    assert snapshot(shared) == before


def test_forced_off_despite_a_failing_gate(shared):
    ensure(shared, "on", duration=30)

    result = ensure(shared, "off", opener=Opener((503, '{"status":"fail"}')), force=True)

    assert result["changed"] is True and result["health"]["ok"] is False and snapshot(shared) == {}
    assert result["warnings"] == [
        "health gate failed, leaving maintenance anyway (force): GET http://127.0.0.1/health: status 503, expected 200"
    ]


def test_gate_retries_until_healthy(shared):
    ensure(shared, "on", duration=30)
    slept = []
    opener = Opener((503, '{"status":"fail","schema":"behind"}'), URLError("reset"), (200, HEALTHY))

    result = ensure(shared, "off", opener=opener, sleep=slept.append, health_attempts=5, health_delay=2.5)

    assert result["health"]["ok"] is True and result["health"]["attempts"] == 3
    assert slept == [2.5, 2.5] and len(opener.calls) == 3


def test_gate_gives_up_after_its_attempts(shared):
    ensure(shared, "on", duration=30)
    slept = []

    with pytest.raises(am.MaintenanceError) as error:
        ensure(shared, "off", opener=Opener((503, "")), sleep=slept.append, health_attempts=3, health_delay=1)

    assert error.value.health["attempts"] == 3 and slept == [1, 1]


# ------------------------------------------------------------------------------------ the console


def console_params(shared, tmp_path):
    console = tmp_path / "oro" / "current" / "bin" / "console"
    console.parent.mkdir(parents=True)
    console.write_text("<?php\n")
    php = tmp_path / "php"
    php.write_text("#!/bin/sh\n")
    php.chmod(0o755)
    return {"method": "auto", "console": str(console), "php": str(php), "app_user": "www-data"}


@pytest.mark.parametrize("euid, prefix", [(0, ["runuser", "-u", "www-data", "--"]), (33, [])], ids=["root", "app-user"])
def test_console_locks_and_unlocks_as_the_application_user(shared, tmp_path, monkeypatch, euid, prefix):
    monkeypatch.setattr(am.os, "geteuid", lambda: euid)
    options = console_params(shared, tmp_path)
    console = Console(str(shared / "maintenance.flag"))

    on = ensure(shared, "on", run=console, duration=30, retry_after=300, **options)
    again = ensure(shared, "on", run=console, duration=30, retry_after=300, **options)
    off = ensure(shared, "off", run=console, opener=Opener((200, HEALTHY)), **options)

    assert on["method"] == "console" and on["changed"] and not again["changed"] and off["changed"]
    assert console.calls == [
        [*prefix, options["php"], options["console"], "oro:maintenance:lock", "--retry-after=300", "--env=prod"],
        [*prefix, options["php"], options["console"], "oro:maintenance:unlock", "--env=prod"],
    ]
    assert snapshot(shared) == {} and console.cwd == str(tmp_path / "oro" / "current")


def test_console_in_check_mode_runs_nothing(shared, tmp_path):
    options = console_params(shared, tmp_path)

    result = ensure(shared, "on", run=no_run, check_mode=True, duration=5, **options)

    assert result["changed"] is True and result["method"] == "console" and snapshot(shared) == {}


def test_auto_falls_back_to_the_file_without_console(shared, tmp_path):
    result = ensure(shared, "on", method="auto", php=str(tmp_path / "no-php"), duration=5)

    assert result["method"] == "file" and (shared / "maintenance.flag").read_text() == "600\n"


def test_console_failure_is_reported_and_nothing_recorded(shared, tmp_path):
    options = console_params(shared, tmp_path)
    console = Console(str(shared / "maintenance.flag"), rc=1, err="  [ERROR] cannot write /var/www/oro/shared/x\n")

    with pytest.raises(am.MaintenanceError) as error:
        ensure(shared, "on", run=console, duration=5, **options)

    expected = "oro:maintenance:lock failed with status 1: [ERROR] cannot write /var/www/oro/shared/x"
    assert str(error.value) == "%s %s" % (options["console"], expected)
    assert error.value.changed is False and snapshot(shared) == {}


def test_console_that_writes_another_flag_is_reported(shared, tmp_path):
    options = console_params(shared, tmp_path)

    with pytest.raises(am.MaintenanceError, match=r"succeeded but .*maintenance\.flag does not exist"):
        ensure(shared, "on", run=Console(str(shared / "maintenance.flag"), writes=False), duration=5, **options)


def test_unlock_by_console_that_leaves_the_flag_is_reported(shared, tmp_path):
    options = console_params(shared, tmp_path)
    ensure(shared, "on", duration=5)

    with pytest.raises(am.MaintenanceError, match=r"oro:maintenance:unlock succeeded but .* is still there") as error:
        ensure(
            shared,
            "off",
            run=Console(str(shared / "maintenance.flag"), writes=False),
            opener=Opener((200, HEALTHY)),
            **options,
        )
    assert error.value.changed is False and (shared / "maintenance.json").exists()


def test_default_user_is_who_sudo_came_from(monkeypatch):
    monkeypatch.setenv("SUDO_USER", "alice")
    assert am.default_user() == "alice"
    monkeypatch.delenv("SUDO_USER")
    monkeypatch.setenv("LOGNAME", "bob")
    assert am.default_user() == "bob"
