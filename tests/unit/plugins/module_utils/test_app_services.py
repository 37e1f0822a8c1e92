# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the services backend: a fake systemd behind a fake run_command, the capture in tmp_path."""

from __future__ import annotations

import datetime
import fnmatch
import json

import pytest

from ansible_collections.orocloud.ops.plugins.module_utils import _app_services as svc

NOW = datetime.datetime(2026, 3, 2, 10, 0, 0, tzinfo=datetime.timezone.utc)
CONSUMERS = [
    "oro-consumer-oro.default@1.service",
    "oro-consumer-oro.default@2.service",
    "oro-consumer-oro.index@1.service",
]


class Systemd:
    """``systemctl list-units|stop|start`` over a table unit -> (active state, sub state)."""

    def __init__(self, units, stuck=(), failing=()):
        self.units = dict(units)
        self.stuck, self.failing = set(stuck), set(failing)
        self.calls = []

    def __call__(self, argv):
        self.calls.append(list(argv))
        assert argv[0] == "systemctl"
        verb, args = argv[1], argv[2:]
        if verb == "list-units":
            return self._list(args)
        names = [a for a in args if not a.startswith("-")]
        unknown = [n for n in names if n not in self.units]
        if unknown:
            return 5, "", "Failed to %s %s: Unit %s not found.\n" % (verb, unknown[0], unknown[0])
        for name in names:
            if verb == "stop" and name not in self.stuck:
                self.units[name] = ("inactive", "dead")
            if verb == "start":
                self.units[name] = ("failed", "failed") if name in self.failing else ("active", "running")
        return 0, "", ""

    def _list(self, args):
        options = [a for a in args if a.startswith("--")]
        assert options == [
            "--type=service,timer",
            "--state=active,reloading,activating",
            "--plain",
            "--no-legend",
            "--full",
            "--",
        ]
        patterns = args[args.index("--") + 1 :]
        lines = [
            "%s loaded %s %s Some description" % (name, active, sub)
            for name, (active, sub) in sorted(self.units.items())
            if active in ("active", "reloading", "activating") and any(fnmatch.fnmatchcase(name, p) for p in patterns)
        ]
        return 0, "".join(line + "\n" for line in lines), ""

    def running(self):
        return sorted(n for n, (active, _sub) in self.units.items() if active in ("active", "activating"))

    def verbs(self):
        return [call[1] for call in self.calls if call[1] != "list-units"]


def node(**extra):
    """An app node: two default consumers, one index consumer between two runs, cron, websocket, nginx."""
    units = {
        CONSUMERS[0]: ("active", "running"),
        CONSUMERS[1]: ("inactive", "dead"),  # stopped on purpose before: must stay stopped
        CONSUMERS[2]: ("activating", "auto-restart"),  # between two runs: counts as running
        "oro-cron.timer": ("active", "waiting"),
        "oro-cron.service": ("inactive", "dead"),
        "oro-websocket.service": ("active", "running"),
        "nginx.service": ("active", "running"),
    }
    units.update(extra)
    return Systemd(units)


def params(tmp_path, state, **overrides):
    values = {
        "state": state,
        "patterns": list(svc.DEFAULT_PATTERNS),
        "state_file": str(tmp_path / "lib" / "services.json"),
        "recapture": False,
    }
    values.update(overrides)
    return values


def ensure(tmp_path, systemd, state, *, check_mode=False, now=NOW, **overrides):
    return svc.ensure_services(params(tmp_path, state, **overrides), systemd, check_mode=check_mode, now=now)


def capture(tmp_path):
    return json.loads((tmp_path / "lib" / "services.json").read_text())


RUNNING = [CONSUMERS[0], CONSUMERS[2], "oro-cron.timer", "oro-websocket.service"]


# ------------------------------------------------------------------------------------ captured


def test_capture_records_running_units_and_stops_nothing(tmp_path):
    systemd = node()

    checked = ensure(tmp_path, systemd, "captured", check_mode=True)
    assert checked["changed"] is True and checked["captured"] == RUNNING
    assert not (tmp_path / "lib").exists()

    result = ensure(tmp_path, systemd, "captured")

    assert result["changed"] is True and result["units"] == RUNNING and result["captured"] == RUNNING
    assert result["stopped"] == [] and result["started"] == [] and result["running"] == RUNNING
    assert capture(tmp_path) == {
        "units": RUNNING,
        "captured_at": "2026-03-02T10:00:00Z",
        "patterns": list(svc.DEFAULT_PATTERNS),
    }
    assert result["diff"] == {
        "before": {"capture": None, "running": RUNNING},
        "after": {"capture": RUNNING, "running": RUNNING},
    }
    assert systemd.verbs() == [] and "nginx.service" not in result["units"]
    assert oct((tmp_path / "lib" / "services.json").stat().st_mode & 0o777) == "0o644"


def test_capture_is_not_overwritten_unless_asked(tmp_path):
    systemd = node()
    ensure(tmp_path, systemd, "captured")
    systemd.units["oro-websocket.service"] = ("inactive", "dead")

    kept = ensure(tmp_path, systemd, "captured")
    assert kept["changed"] is False and kept["units"] == RUNNING and kept["captured"] == []

    retaken = ensure(tmp_path, systemd, "captured", recapture=True, now=NOW + datetime.timedelta(minutes=5))
    assert retaken["changed"] is True and retaken["units"] == RUNNING[:3]
    assert capture(tmp_path)["captured_at"] == "2026-03-02T10:05:00Z"

    same = ensure(tmp_path, systemd, "captured", recapture=True, now=NOW + datetime.timedelta(minutes=9))
    assert same["changed"] is False and capture(tmp_path)["captured_at"] == "2026-03-02T10:05:00Z"


# ------------------------------------------------------------------------------------ stopped / restored


def test_stop_then_restore_exactly_what_ran(tmp_path):
    systemd = node()

    checked = ensure(tmp_path, systemd, "stopped", check_mode=True)
    assert checked["changed"] and checked["stopped"] == RUNNING and checked["running"] == []
    assert systemd.verbs() == [] and not (tmp_path / "lib").exists()

    stopped = ensure(tmp_path, systemd, "stopped")

    assert stopped["changed"] is True and stopped["captured"] == RUNNING and stopped["stopped"] == RUNNING
    assert systemd.running() == ["nginx.service"]
    assert ["systemctl", "stop", "--", *RUNNING] in systemd.calls  # one call: stopped in parallel
    assert stopped["diff"]["after"] == {"capture": RUNNING, "running": []}

    again = ensure(tmp_path, systemd, "stopped")
    assert again["changed"] is False and again["units"] == RUNNING and again["stopped"] == []

    checked = ensure(tmp_path, systemd, "restored", check_mode=True)
    assert checked["changed"] and checked["started"] == RUNNING and systemd.running() == ["nginx.service"]

    restored = ensure(tmp_path, systemd, "restored")

    assert restored["changed"] is True and restored["started"] == RUNNING and restored["units"] == RUNNING
    assert systemd.running() == sorted([*RUNNING, "nginx.service"])
    assert systemd.units[CONSUMERS[1]] == ("inactive", "dead")  # was not running: not started
    assert not (tmp_path / "lib" / "services.json").exists()
    assert restored["diff"] == {
        "before": {"capture": RUNNING, "running": []},
        "after": {"capture": None, "running": RUNNING},
    }

    assert ensure(tmp_path, systemd, "restored")["changed"] is False


def test_rerun_after_a_failure_keeps_the_first_capture(tmp_path):
    """The first run captured and stopped, then failed; the re-run must not capture the stopped state."""
    systemd = node()
    ensure(tmp_path, systemd, "stopped")

    rerun = ensure(tmp_path, systemd, "stopped")
    restored = ensure(tmp_path, systemd, "restored")

    assert rerun["units"] == RUNNING and rerun["captured"] == []
    assert restored["started"] == RUNNING


def test_stop_also_stops_units_started_since_the_capture(tmp_path):
    systemd = node()
    ensure(tmp_path, systemd, "captured")
    systemd.units[CONSUMERS[1]] = ("active", "running")  # started by someone after the capture

    result = ensure(tmp_path, systemd, "stopped")

    assert result["stopped"] == sorted([*RUNNING, CONSUMERS[1]]) and result["units"] == RUNNING
    assert systemd.running() == ["nginx.service"]
    assert ensure(tmp_path, systemd, "restored")["started"] == RUNNING
    assert systemd.units[CONSUMERS[1]] == ("inactive", "dead")


def test_captured_units_outside_the_patterns_are_stopped_and_restored(tmp_path):
    systemd = node(**{"oro-cron.service": ("activating", "start")})  # a cron job running
    ensure(tmp_path, systemd, "captured", patterns=["oro-cron.*"])

    result = ensure(tmp_path, systemd, "stopped", patterns=["oro-cron.timer"])

    assert result["stopped"] == ["oro-cron.service", "oro-cron.timer"]


def test_restore_only_starts_what_is_not_running(tmp_path):
    systemd = node()
    ensure(tmp_path, systemd, "stopped")
    systemd.units["oro-cron.timer"] = ("active", "waiting")  # someone started it by hand

    result = ensure(tmp_path, systemd, "restored")

    assert result["started"] == [CONSUMERS[0], CONSUMERS[2], "oro-websocket.service"]
    assert ["systemctl", "start", "--", CONSUMERS[0], CONSUMERS[2], "oro-websocket.service"] in systemd.calls


def test_nothing_running_nothing_to_do(tmp_path):
    systemd = Systemd({"nginx.service": ("active", "running")})

    stopped = ensure(tmp_path, systemd, "stopped")
    assert stopped["changed"] is True and stopped["units"] == [] and stopped["stopped"] == []
    assert capture(tmp_path)["units"] == []
    assert ensure(tmp_path, systemd, "stopped")["changed"] is False

    restored = ensure(tmp_path, systemd, "restored")
    assert restored["changed"] is True and restored["started"] == []  # the capture is removed
    assert systemd.verbs() == []


# ------------------------------------------------------------------------------------ failures


def test_unit_that_does_not_stop_fails_and_keeps_the_capture(tmp_path):
    systemd = node()
    systemd.stuck.add(CONSUMERS[0])

    with pytest.raises(svc.ServicesError) as error:
        ensure(tmp_path, systemd, "stopped")

    assert str(error.value) == "still running after systemctl stop: %s" % CONSUMERS[0]
    assert error.value.changed is True and capture(tmp_path)["units"] == RUNNING


def test_unit_that_does_not_start_fails_and_keeps_the_capture(tmp_path):
    systemd = node()
    ensure(tmp_path, systemd, "stopped")
    systemd.failing.add("oro-websocket.service")

    with pytest.raises(svc.ServicesError) as error:
        ensure(tmp_path, systemd, "restored")

    assert str(error.value) == (
        "not running after systemctl start: oro-websocket.service; the capture %s is kept"
        % (tmp_path / "lib" / "services.json")
    )
    assert error.value.changed is True and (tmp_path / "lib" / "services.json").exists()
    systemd.failing.clear()
    assert ensure(tmp_path, systemd, "restored")["started"] == ["oro-websocket.service"]


def test_unit_gone_since_the_capture_fails_the_restore(tmp_path):
    systemd = node()
    ensure(tmp_path, systemd, "stopped")
    del systemd.units["oro-websocket.service"]

    with pytest.raises(svc.ServicesError, match="systemctl start failed with status 5: Failed to start"):
        ensure(tmp_path, systemd, "restored")
    assert (tmp_path / "lib" / "services.json").exists()


def test_systemctl_that_fails_to_list_changes_nothing(tmp_path):
    def broken(argv):
        return 1, "", "System has not been booted with systemd as init system (PID 1). Can't operate.\n"

    with pytest.raises(svc.ServicesError) as error:
        ensure(tmp_path, broken, "stopped")

    assert str(error.value).startswith("systemctl list-units failed with status 1: System has not been booted")
    assert error.value.changed is False and not (tmp_path / "lib").exists()


@pytest.mark.parametrize("content", ["{", "[]", '{"units": "oro-cron.timer"}'])
def test_corrupt_capture_is_refused(tmp_path, content):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "services.json").write_text(content)

    with pytest.raises(svc.ServicesError, match="fix or remove it"):
        ensure(tmp_path, node(), "restored")


@pytest.mark.parametrize("patterns", [[], ["--all"], ["oro cron"], [""]])
def test_bad_patterns_are_refused(tmp_path, patterns):
    with pytest.raises(svc.ServicesError):
        ensure(tmp_path, node(), "captured", patterns=patterns)


def test_list_parsing_tolerates_bullets_and_filters_by_pattern():
    def run(argv):
        return 0, "● oro-cron.timer loaded active waiting x\nother.service loaded active running y\n\n", ""

    assert svc.running_units(run, ["oro-*"]) == ["oro-cron.timer"]
