# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the switch backend: a release layout in tmp_path, the fake systemd of the services tests
(with reload and show, taking time on a fake clock), a console run by ``/bin/sh`` that writes what it
did next to the releases, and the fake health endpoint of the maintenance tests."""

from __future__ import annotations

import grp
import json
import os
import pwd
import subprocess
from urllib.error import URLError

import pytest

from ansible_collections.orocloud.ops.plugins.module_utils import _app_switch as sw
from ansible_collections.orocloud.ops.plugins.module_utils._app_release import LINK_PREFIX
from ansible_collections.orocloud.ops.plugins.module_utils._app_services import DEFAULT_PATTERNS
from ansible_collections.orocloud.ops.tests.unit.plugins.module_utils.test_app_maintenance import Opener
from ansible_collections.orocloud.ops.tests.unit.plugins.module_utils.test_app_release import tree
from ansible_collections.orocloud.ops.tests.unit.plugins.module_utils.test_app_services import (
    CONSUMERS,
    RUNNING,
    Systemd,
)

USER = pwd.getpwuid(os.geteuid()).pw_name
GROUP = grp.getgrgid(os.getegid()).gr_name
URL = "http://127.0.0.1/health"
FPM = "php8.2-fpm.service"
STEP_NAMES = list(sw.ROLLING_STEPS)

# A stand-in for bin/console, run by /bin/sh in the release's directory: notes "<release> <args>" in
# <app_root>/warmup.log, and locks and unlocks the maintenance mode as Oro's does (the flag in shared/);
# the console of a broken release fails as cache:warmup does.
CONSOLE = (
    'echo "$(basename "$(pwd -P)") $*" >> ../../warmup.log\n'
    'case "$1" in\n'
    '  oro:maintenance:lock) echo "${2#--retry-after=}" > ../../shared/maintenance.flag ;;\n'
    "  oro:maintenance:unlock) rm -f ../../shared/maintenance.flag ;;\n"
    "esac\n"
)
BROKEN_CONSOLE = CONSOLE + 'echo "[ERROR] cache:warmup: class Kernel not found" >&2\nexit 2\n'


def healthy(version, status="ok"):
    return json.dumps({"status": status, "version": version, "database": "ok", "schema": "ok"})


# ------------------------------------------------------------------------------------ fakes


class Clock:
    """``time.monotonic`` and ``time.sleep``: time passes only when someone sleeps or systemd works."""

    def __init__(self):
        self.now, self.slept = 100.0, []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


class NodeSystemd(Systemd):
    """The services tests' systemd, plus ``reload`` and ``show``; stop takes 2 s, start 1 s, reload
    0.25 s. Notes which release ``current`` pointed to at each reload."""

    def __init__(self, clock, current):
        units = {
            CONSUMERS[0]: ("active", "running"),
            CONSUMERS[1]: ("inactive", "dead"),
            CONSUMERS[2]: ("activating", "auto-restart"),
            "oro-cron.timer": ("active", "waiting"),
            "oro-websocket.service": ("active", "running"),
            "nginx.service": ("active", "running"),
            FPM: ("active", "running"),
        }
        super().__init__(units)
        self.clock, self.current = clock, current
        self.reload_rc, self.reloaded_with = 0, []

    def __call__(self, argv):
        verb = argv[1]
        if verb == "reload":
            self.calls.append(list(argv))
            self.clock.now += 0.25
            self.reloaded_with.append(os.path.basename(os.path.realpath(self.current)))
            if self.reload_rc:
                return self.reload_rc, "", "Job for %s failed because the control process exited.\n" % FPM
            return 0, "", ""
        if verb == "show":
            self.calls.append(list(argv))
            blocks = []
            for name in argv[argv.index("--") + 1 :]:
                active, sub = self.units.get(name, ("inactive", "dead"))
                load = "loaded" if name in self.units else "not-found"
                blocks.append("Id=%s\nLoadState=%s\nActiveState=%s\nSubState=%s\n" % (name, load, active, sub))
            return 0, "\n".join(blocks), ""
        self.clock.now += {"stop": 2.0, "start": 1.0}.get(verb, 0.0)
        return super().__call__(argv)


def make_app(root):
    """<root>/releases/6.1.0 and 6.1.1 (VERSION, bin/console), current -> 6.1.0."""
    for version in ("6.1.0", "6.1.1"):
        release = root / "releases" / version
        (release / "bin").mkdir(parents=True)
        (release / "VERSION").write_text(version + "\n")
        (release / "bin" / "console").write_text(CONSOLE)
    (root / "shared").mkdir()
    (root / "current").symlink_to(root / "releases" / "6.1.0")
    return root


class World:
    """One application node: its layout, systemd, clock and health endpoint."""

    def __init__(self, tmp_path):
        self.app = make_app(tmp_path / "oro")
        self.state_file = tmp_path / "lib" / "services.json"
        self.clock = Clock()
        self.systemd = NodeSystemd(self.clock, str(self.app / "current"))
        self.opener = Opener((200, healthy("6.1.1")))

    def params(self, **overrides):
        values = dict(
            version="6.1.1",
            steps=list(STEP_NAMES),
            app_root=str(self.app),
            keep=3,
            protect=[],
            owner=USER,
            group=GROUP,
            reload_units=[FPM],
            php="/bin/sh",
            user=USER,
            env="prod",
            warmup_timeout=30,
            service_patterns=list(DEFAULT_PATTERNS),
            services_state_file=str(self.state_file),
            health_url=URL,
            health_units=["nginx.service", FPM],
            health_timeout=60,
            maintenance_duration=None,
            maintenance_comment=None,
            maintenance_user=None,
            maintenance_retry_after=600,
        )
        values.update(overrides)
        return values

    def switch(self, *, check_mode=False, **overrides):
        return sw.switch_node(
            self.params(**overrides),
            self.run,
            check_mode=check_mode,
            clock=self.clock,
            sleep=self.clock.sleep,
            opener=self.opener,
        )

    def run(self, argv, cwd=None):
        """systemctl goes to the fake systemd; the console (maintenance mode) runs."""
        if argv[0] == "systemctl":
            return self.systemd(argv)
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
        return done.returncode, done.stdout, done.stderr

    def maintenance(self):
        flag = self.app / "shared" / "maintenance.flag"
        return flag.read_text().strip() if flag.exists() else None

    def fail(self, *, check_mode=False, **overrides):
        with pytest.raises(sw.SwitchError) as error:
            self.switch(check_mode=check_mode, **overrides)
        return error.value

    def current(self):
        link = self.app / "current"
        return os.path.basename(os.readlink(link)) if link.is_symlink() else None

    def warmups(self):
        log = self.app / "warmup.log"
        return log.read_text().splitlines() if log.exists() else []

    def capture(self):
        return json.loads(self.state_file.read_text())["units"] if self.state_file.exists() else None


@pytest.fixture
def world(tmp_path):
    return World(tmp_path)


def names(result):
    return [step["step"] for step in result["steps"]]


# ------------------------------------------------------------------------------------ the whole switch


def test_all_steps_switch_the_node(world):
    result = world.switch()

    assert result["changed"] is True and result["version"] == "6.1.1" and result["previous"] == "6.1.0"
    assert world.current() == "6.1.1"
    assert world.systemd.verbs() == ["stop", "reload", "start", "show"]
    assert ["systemctl", "stop", "--", *RUNNING] in world.systemd.calls
    assert ["systemctl", "reload", "--", FPM] in world.systemd.calls
    assert ["systemctl", "start", "--", *RUNNING] in world.systemd.calls
    assert ["systemctl", "show", "--property=Id,LoadState,ActiveState,SubState", "--", "nginx.service", FPM] in (
        world.systemd.calls
    )
    assert world.systemd.reloaded_with == ["6.1.1"]  # php-fpm reloaded after current moved
    assert world.warmups() == ["6.1.1 cache:warmup --env=prod"]
    assert world.systemd.running() == sorted([*RUNNING, "nginx.service", FPM])
    assert world.systemd.units[CONSUMERS[1]] == ("inactive", "dead")  # was not running: not started
    assert world.capture() is None  # removed by restore
    assert [url for url, _options in world.opener.calls] == [URL]
    assert world.opener.calls[0][1]["validate_certs"] is False

    assert names(result) == STEP_NAMES
    steps = {step["step"]: step for step in result["steps"]}
    assert {name: step["changed"] for name, step in steps.items()} == {
        "stop": True,
        "switch": True,
        "reload": True,
        "warmup": True,
        "restore": True,
        "health": False,
    }
    assert {name: step["seconds"] for name, step in steps.items()} == {
        "stop": 2.0,
        "switch": 0.0,
        "reload": 0.25,
        "warmup": 0.0,
        "restore": 1.0,
        "health": 0.0,
    }
    assert result["seconds"] == 3.25
    assert steps["stop"]["msg"] == "stopped: " + ", ".join(RUNNING)
    assert steps["switch"]["msg"] == "current: 6.1.1"
    assert steps["reload"]["msg"] == "reloaded: " + FPM
    assert steps["warmup"]["msg"].startswith("cache:warmup finished in ")
    assert steps["restore"]["msg"] == "started: " + ", ".join(RUNNING)
    assert steps["health"]["msg"] == "%s answers ok with 6.1.1; active: nginx.service, %s" % (URL, FPM)
    assert set(steps["stop"]) == {"step", "changed", "seconds", "msg"}

    assert result["services"] == {"captured": RUNNING, "stopped": RUNNING, "started": RUNNING}
    assert result["diff"] == {"before": {"current": "6.1.0"}, "after": {"current": "6.1.1"}}


@pytest.mark.parametrize(
    "given",
    [
        ["health", "restore", "warmup", "reload", "switch", "stop"],
        ["restore", "stop", "health", "switch", "warmup", "reload"],
    ],
)
def test_steps_run_in_their_order_whatever_order_given(world, given):
    result = world.switch(steps=given)

    assert names(result) == STEP_NAMES
    assert world.systemd.verbs() == ["stop", "reload", "start", "show"]
    assert world.systemd.reloaded_with == ["6.1.1"] and world.warmups() == ["6.1.1 cache:warmup --env=prod"]


def test_switch_before_reload_even_when_reload_is_named_first(world):
    result = world.switch(steps=["reload", "switch"])

    assert names(result) == ["switch", "reload"] and world.systemd.reloaded_with == ["6.1.1"]


# ------------------------------------------------------------------------------------ only the steps asked for


def test_switch_alone_touches_no_service_console_or_endpoint(world):
    result = world.switch(steps=["switch"])

    assert names(result) == ["switch"] and world.current() == "6.1.1"
    assert world.systemd.calls == [] and world.warmups() == [] and world.opener.calls == []
    assert result["services"] == {"captured": [], "stopped": [], "started": []}
    assert result["seconds"] == 0.0


def test_stop_alone_leaves_current_and_the_services_stopped(world):
    result = world.switch(steps=["stop"])

    assert names(result) == ["stop"] and result["changed"] is True
    assert world.current() == "6.1.0" and world.capture() == RUNNING
    assert world.systemd.running() == ["nginx.service", FPM]
    assert world.systemd.verbs() == ["stop"] and world.warmups() == [] and world.opener.calls == []
    assert result["diff"] == {"before": {"current": "6.1.0"}, "after": {"current": "6.1.0"}}


def test_scheduled_downtime_in_two_calls(world):
    """The patch's downtime path: stop and switch, (the platform update), then the rest."""
    first = world.switch(steps=["stop", "switch"])
    second = world.switch(steps=["reload", "warmup", "restore", "health"])

    assert names(first) == ["stop", "switch"] and names(second) == ["reload", "warmup", "restore", "health"]
    assert second["previous"] == "6.1.1" and world.current() == "6.1.1"
    assert second["services"] == {"captured": [], "stopped": [], "started": RUNNING}
    assert world.warmups() == ["6.1.1 cache:warmup --env=prod"] and world.capture() is None
    assert world.systemd.running() == sorted([*RUNNING, "nginx.service", FPM])


def test_scheduled_downtime_with_the_maintenance_mode_in_the_two_calls(world):
    """The patch's downtime path: the window opens in the first call and closes at the end of the second."""
    first = world.switch(
        steps=["maintenance_on", "stop", "switch"],
        maintenance_duration=30,
        maintenance_comment="patch 6.1.0 -> 6.1.1",
        maintenance_user="alice",
    )

    assert names(first) == ["maintenance_on", "stop", "switch"] and first["warnings"] == []
    assert world.maintenance() == "600" and world.current() == "6.1.1"
    record = json.loads((world.app / "shared" / "maintenance.json").read_text())
    assert (record["mode"], record["duration"], record["comment"], record["user"]) == (
        "on",
        30,
        "patch 6.1.0 -> 6.1.1",
        "alice",
    )
    assert first["maintenance"] == {key: record[key] for key in ("since", "until", "duration", "comment", "user")}

    second = world.switch(steps=["maintenance_off", "reload", "warmup", "restore", "health"])

    assert names(second) == ["reload", "warmup", "restore", "health", "maintenance_off"]
    assert second["maintenance"] is None
    assert world.maintenance() is None and not (world.app / "shared" / "maintenance.json").exists()
    # Oro's own commands, each of the release current points to at the time.
    assert world.warmups() == [
        "6.1.0 oro:maintenance:lock --retry-after=600 --env=prod",
        "6.1.1 cache:warmup --env=prod",
        "6.1.1 oro:maintenance:unlock --env=prod",
    ]
    assert world.systemd.running() == sorted([*RUNNING, "nginx.service", FPM])


def test_maintenance_on_without_a_window_warns(world):
    result = world.switch(steps=["maintenance_on"])

    assert result["changed"] is True and world.maintenance() == "600"
    assert result["warnings"] == [
        "no downtime window declared (duration): Oro's monitoring alerts when maintenance mode lasts over 60 minutes"
    ]


def test_maintenance_on_again_changes_nothing(world):
    world.switch(steps=["maintenance_on"], maintenance_duration=30)

    again = world.switch(steps=["maintenance_on"], maintenance_duration=30)

    assert again["changed"] is False and again["steps"][0]["changed"] is False


def test_an_unhealthy_node_stays_in_maintenance(world):
    world.switch(steps=["maintenance_on", "stop", "switch"], maintenance_duration=30)
    world.opener = Opener((200, healthy("6.1.0")))

    error = world.fail(steps=["maintenance_off"])

    assert error.step == "maintenance_off" and error.changed is False
    assert str(error).startswith("maintenance_off failed: health gate failed, maintenance stays on")
    assert 'version is "6.1.0", expected 6.1.1; orocloud.ops.app_maintenance state=off force=true' in str(error)
    assert world.maintenance() == "600"


def test_maintenance_off_needs_the_health_url(world):
    error = world.fail(steps=["health", "maintenance_off"], health_url=None)

    assert str(error).startswith("maintenance_off needs health_url") and error.step is None
    assert world.systemd.calls == [] and world.maintenance() is None


def test_maintenance_in_check_mode_asks_nothing_and_changes_nothing(world):
    world.switch(steps=["maintenance_on"], maintenance_duration=30)
    world.opener = Opener(AssertionError("no request expected in check mode"))

    result = world.switch(check_mode=True, steps=["maintenance_on", "maintenance_off"], maintenance_duration=30)

    assert [step["changed"] for step in result["steps"]] == [False, True]
    assert result["steps"][1]["msg"] == "maintenance off (health gate not asked in check mode)"
    assert world.maintenance() == "600"


# ------------------------------------------------------------------------------------ stop and restore


def test_stop_again_changes_nothing(world):
    world.switch(steps=["stop"])
    again = world.switch(steps=["stop"])

    assert again["changed"] is False and again["steps"][0]["msg"] == "stopped: nothing was running"
    assert again["services"] == {"captured": [], "stopped": [], "started": []}
    assert world.capture() == RUNNING


def test_stop_keeps_an_existing_capture_and_restore_starts_exactly_it(world):
    """An interrupted run left a capture: the units it names are the ones restored, not what runs now."""
    left = [CONSUMERS[0], "oro-cron.timer"]
    world.state_file.parent.mkdir()
    world.state_file.write_text(json.dumps({"units": left, "captured_at": "2026-03-02T09:00:00Z"}))

    stopped = world.switch(steps=["stop"])

    assert stopped["services"]["captured"] == [] and world.capture() == left
    assert stopped["services"]["stopped"] == RUNNING  # what matches the patterns is stopped all the same

    restored = world.switch(steps=["restore"])

    assert restored["services"]["started"] == left
    assert ["systemctl", "start", "--", *left] in world.systemd.calls
    assert world.systemd.running() == sorted([*left, "nginx.service", FPM])
    assert world.capture() is None


def test_restore_without_a_capture_starts_nothing(world):
    result = world.switch(steps=["restore"])

    assert result["changed"] is False and result["steps"][0]["msg"] == "started: nothing to start"
    assert world.systemd.verbs() == []


# ------------------------------------------------------------------------------------ switch


def test_switch_renames_a_new_link_over_current_and_reports_the_previous(world, monkeypatch):
    replaced, real_replace = [], os.replace

    def spy(src, dst, **kwargs):
        replaced.append((os.path.basename(src), str(dst), os.readlink(src) if os.path.islink(src) else None))
        return real_replace(src, dst, **kwargs)

    monkeypatch.setattr(os, "replace", spy)
    result = world.switch(steps=["switch"])

    assert result["previous"] == "6.1.0" and world.current() == "6.1.1"
    (name, _target, link) = next(r for r in replaced if r[1] == str(world.app / "current"))
    assert name.startswith(LINK_PREFIX) and link == str(world.app / "releases" / "6.1.1")
    assert not [n for n in os.listdir(str(world.app)) if n.startswith(LINK_PREFIX)]
    assert (world.app / "releases" / "6.1.0").is_dir()  # the previous release is kept

    again = world.switch(steps=["switch"])
    assert again["changed"] is False and again["previous"] == "6.1.1" and again["steps"][0]["changed"] is False


def test_first_switch_without_current(world):
    (world.app / "current").unlink()

    result = world.switch(steps=["switch"])

    assert result["previous"] is None and world.current() == "6.1.1"
    assert result["diff"] == {"before": {"current": None}, "after": {"current": "6.1.1"}}


def test_switch_to_a_release_that_is_not_installed_fails_after_stop(world):
    error = world.fail(version="9.9.9", steps=["stop", "switch", "restore"])

    assert error.step == "switch" and error.changed is True
    assert str(error) == (
        "switch failed: release 9.9.9 is not installed in %s: set artifact to its tarball on the node "
        "(done before it: stop)" % (world.app / "releases")
    )
    assert world.current() == "6.1.0" and world.capture() == RUNNING  # restore did not run


# ------------------------------------------------------------------------------------ reload


def test_reload_without_units_is_a_no_op(world):
    result = world.switch(steps=["reload"], reload_units=[])

    assert result["changed"] is False and result["steps"][0]["msg"] == "nothing to reload"
    assert world.systemd.calls == []


def test_reload_failure_names_the_step_and_what_was_done(world):
    world.systemd.reload_rc = 1

    error = world.fail()

    assert error.step == "reload" and error.changed is True
    assert str(error) == (
        "reload failed: systemctl reload %s failed with status 1: Job for %s failed because the control "
        "process exited (done before it: stop, switch)" % (FPM, FPM)
    )
    assert world.current() == "6.1.1" and world.warmups() == []  # nothing after it ran, nothing undone
    assert world.systemd.verbs() == ["stop", "reload"] and world.capture() == RUNNING


def test_reload_failure_as_the_first_step_changed_the_node(world):
    world.systemd.reload_rc = 1

    error = world.fail(steps=["reload", "health"])

    assert error.step == "reload" and error.changed is True
    assert str(error).endswith("(the first step)") and world.opener.calls == []


# ------------------------------------------------------------------------------------ warmup


def test_warmup_runs_the_console_as_asked(world):
    result = world.switch(steps=["switch", "warmup"], env="staging")

    assert world.warmups() == ["6.1.1 cache:warmup --env=staging"]
    assert result["steps"][1]["changed"] is True


def test_warmup_runs_the_console_of_the_release_not_of_current(world):
    world.switch(steps=["warmup"])

    assert world.current() == "6.1.0"
    assert world.warmups() == ["6.1.1 cache:warmup --env=prod"]


def test_warmup_failure_stops_before_restore(world):
    (world.app / "releases" / "6.1.1" / "bin" / "console").write_text(BROKEN_CONSOLE)

    error = world.fail()

    assert error.step == "warmup" and error.changed is True
    assert str(error) == (
        "warmup failed: cache:warmup failed with return code 2: [ERROR] cache:warmup: class Kernel not found "
        "(done before it: stop, switch, reload)"
    )
    assert world.warmups() == ["6.1.1 cache:warmup --env=prod"]
    assert world.systemd.verbs() == ["stop", "reload"] and world.capture() == RUNNING
    assert world.opener.calls == []


def test_warmup_that_times_out_fails(world, monkeypatch):
    def timed_out(params, check_mode=False):
        assert params["command"] == ["cache:warmup"] and params["timeout"] == 5 and params["user"] == USER
        return {"changed": True, "failed": True, "msg": "cache:warmup timed out after 5 s and was killed"}

    monkeypatch.setattr(sw, "run_console", timed_out)

    error = world.fail(steps=["warmup"], warmup_timeout=5)

    assert error.step == "warmup" and str(error) == (
        "warmup failed: cache:warmup timed out after 5 s and was killed (the first step)"
    )


def test_warmup_timeout_zero_means_no_limit(world, monkeypatch):
    seen = []

    def console(params, check_mode=False):
        seen.append(params["timeout"])
        return {"changed": True, "msg": "cache:warmup finished in 0.1 s"}

    monkeypatch.setattr(sw, "run_console", console)

    result = world.switch(steps=["warmup"], warmup_timeout=0)

    assert seen == [None] and result["steps"][0]["msg"] == "cache:warmup finished in 0.1 s"


def test_warmup_without_a_console_fails(world):
    (world.app / "releases" / "6.1.1" / "bin" / "console").unlink()

    error = world.fail(steps=["warmup"])

    assert error.step == "warmup" and error.changed is False
    assert str(error) == "warmup failed: the console %s does not exist (the first step)" % (
        world.app / "releases" / "6.1.1" / "bin" / "console"
    )


# ------------------------------------------------------------------------------------ health


def test_health_waits_until_the_endpoint_answers_ok_with_the_version(world):
    world.opener = Opener(
        URLError("Connection refused"),
        (503, healthy("6.1.1", "fail")),
        (200, healthy("6.1.0")),
        (200, healthy("6.1.1")),
    )

    result = world.switch(steps=["health"])

    assert result["changed"] is False and len(world.opener.calls) == 4
    assert world.clock.slept == [sw.HEALTH_POLL] * 3
    assert result["steps"] == [
        {
            "step": "health",
            "changed": False,
            "seconds": 0.75,
            "msg": "%s answers ok with 6.1.1; active: nginx.service, %s" % (URL, FPM),
        }
    ]


def test_health_waits_for_the_units(world):
    world.systemd.units["nginx.service"] = ("activating", "start")
    real_sleep = world.clock.sleep

    def sleep(seconds):
        real_sleep(seconds)
        if len(world.clock.slept) == 2:
            world.systemd.units["nginx.service"] = ("active", "running")

    world.clock.sleep = sleep
    result = world.switch(steps=["health"], health_url=None)

    assert result["steps"][0]["msg"] == "active: nginx.service, " + FPM and world.clock.slept == [0.25, 0.25]
    assert world.opener.calls == []


def test_health_fails_after_its_timeout_naming_the_problems(world):
    world.opener = Opener((200, healthy("6.1.0")))
    world.systemd.units["nginx.service"] = ("failed", "failed")

    error = world.fail(steps=["health"], health_timeout=2)

    assert error.step == "health" and error.changed is False
    assert str(error) == (
        'health failed: unhealthy after 2 s: GET %s: version is "6.1.0", expected 6.1.1; nginx.service failed '
        "(the first step)" % URL
    )
    assert world.clock.slept == [sw.HEALTH_POLL] * 8 and len(world.opener.calls) == 9


def test_health_timeout_zero_asks_once(world):
    world.opener = Opener((503, healthy("6.1.1", "fail")))

    error = world.fail(steps=["health"], health_timeout=0, health_units=[])

    assert str(error) == "health failed: unhealthy after 0 s: GET %s: status 503, expected 200 (the first step)" % URL
    assert world.clock.slept == [] and len(world.opener.calls) == 1


def test_unhealthy_after_a_switch_says_the_node_changed(world):
    world.opener = Opener((200, healthy("6.1.0")))

    error = world.fail(steps=["switch", "health"], health_timeout=1)

    assert error.step == "health" and error.changed is True and str(error).endswith("(done before it: switch)")


def test_health_with_nothing_to_check(world):
    result = world.switch(steps=["health"], health_url=None, health_units=[])

    assert result["steps"][0]["msg"] == "nothing to check" and world.systemd.calls == []


# ------------------------------------------------------------------------------------ check mode


def test_check_mode_changes_nothing_and_runs_nothing(world):
    before = tree(world.app)

    result = world.switch(check_mode=True)

    assert tree(world.app) == before and not world.state_file.parent.exists()
    assert world.systemd.verbs() == [] and world.warmups() == [] and world.opener.calls == []
    assert result["changed"] is True and result["previous"] == "6.1.0" and names(result) == STEP_NAMES
    steps = {step["step"]: step for step in result["steps"]}
    assert [steps[name]["changed"] for name in ("stop", "switch", "reload", "warmup")] == [True] * 4
    assert steps["reload"]["msg"] == "reloaded: " + FPM
    assert steps["warmup"]["msg"] == "would run cache:warmup (not read-only: not run in check mode)"
    assert steps["health"] == {"step": "health", "changed": False, "seconds": 0.0, "msg": "not checked in check mode"}
    assert result["services"]["captured"] == RUNNING and result["services"]["stopped"] == RUNNING
    assert result["diff"] == {"before": {"current": "6.1.0"}, "after": {"current": "6.1.1"}}


def test_check_mode_failure_changed_nothing(world):
    world.opener = Opener(AssertionError("no request expected in check mode"))

    error = world.fail(check_mode=True, version="9.9.9", steps=["stop", "switch", "reload"])

    assert error.step == "switch" and world.systemd.verbs() == [] and not world.state_file.parent.exists()


# ------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(steps=[]), "steps is empty: name at least one of maintenance_on, stop, switch, reload, warmup"),
        (dict(steps=None), "steps is empty"),
        (dict(steps=["switch", "rollback"]), "steps: 'rollback' not one of maintenance_on, stop, switch, reload"),
        (dict(steps=["stop", "switch", "stop", "switch"]), "steps: stop, switch named twice"),
        (dict(health_timeout=-1), "health_timeout must be 0 or more seconds, got -1"),
        (dict(warmup_timeout=-5), "warmup_timeout must be 0 or more seconds, got -5"),
        (dict(reload_units=["php8.2-fpm service"]), "'php8.2-fpm service' is not a unit name"),
        (dict(reload_units=[""]), "'' is not a unit name"),
        (dict(health_units=["nginx.service", "--all"]), "'--all' is not a unit name"),
        (dict(maintenance_duration=0), "duration must be a number of minutes above 0, got 0"),
        (dict(maintenance_retry_after=-1), "retry_after must be 0 or more seconds, got -1"),
    ],
)
def test_bad_parameters_are_refused_before_anything_runs(world, overrides, message):
    before = tree(world.app)

    error = world.fail(**overrides)

    assert str(error).startswith(message)
    assert error.step is None and error.changed is False
    assert world.systemd.calls == [] and world.opener.calls == [] and tree(world.app) == before
    assert not world.state_file.parent.exists()


def test_the_error_keeps_its_attributes():
    error = sw.SwitchError("x failed", step="x", changed=True)
    assert (str(error), error.step, error.changed) == ("x failed", "x", True)
    assert sw.SwitchError("y").step is None and sw.SwitchError("y").changed is False


@pytest.mark.parametrize("broken", ["owner", "current"])
def test_a_bad_layout_is_a_switch_error(world, broken):
    if broken == "current":
        (world.app / "current").unlink()
        (world.app / "current").mkdir()

    error = world.fail(steps=["health"], owner="no-such-user" if broken == "owner" else USER)

    assert error.changed is False and world.opener.calls == []
