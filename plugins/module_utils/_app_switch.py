# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Switch one application node to a release in one call: the steps a patch takes on a node, in their order,
each with the backend of its own module.

* ``maintenance_on``: maintenance mode on with the declared downtime window (``app_maintenance``, state ``on``);
* ``stop``: capture the running consumers, cron timer and websocket server and stop them (``app_services``,
  state ``stopped``; an existing capture, left by an interrupted run, is kept);
* ``switch``: point ``current`` at the release, atomically (``app_release``, state ``current``);
* ``reload``: reload the units of ``reload_units`` (php-fpm: its opcache holds the previous release's code);
* ``warmup``: rebuild the application cache (``bin/console cache:warmup`` of the release, ``app_console``);
* ``restore``: start exactly the captured units again (``app_services``, state ``restored``);
* ``health``: wait until the node's own health endpoint answers ``ok`` with the release's version and every
  unit of ``health_units`` is active, or ``health_timeout`` passes;
* ``maintenance_off``: maintenance mode off, after ``app_maintenance``'s own health gate (state ``off``).

Only the steps asked for run, always in that order. The first step that fails stops the call: the error names
it and the steps done before it. Nothing is undone here; the caller decides (the patch role switches the node
back with the same module).

Runs on managed nodes: Python 3.9+, standard library only; ``systemctl``.
"""

from __future__ import annotations

import time

from ansible_collections.orocloud.ops.plugins.module_utils._app_console import AppConsoleError, run_console
from ansible_collections.orocloud.ops.plugins.module_utils._app_maintenance import (
    MaintenanceError,
    ensure_maintenance,
    health_gate,
)
from ansible_collections.orocloud.ops.plugins.module_utils._app_maintenance import Node as MaintenanceNode
from ansible_collections.orocloud.ops.plugins.module_utils._app_maintenance import validate as validate_maintenance
from ansible_collections.orocloud.ops.plugins.module_utils._app_release import (
    Layout,
    ReleaseError,
    ensure_release,
    read_current,
)
from ansible_collections.orocloud.ops.plugins.module_utils._app_release import validate as validate_release
from ansible_collections.orocloud.ops.plugins.module_utils._app_services import (
    ServicesError,
    ensure_services,
    is_unit_name,
)
from ansible_collections.orocloud.ops.plugins.module_utils._app_services import validate as validate_services
from ansible_collections.orocloud.ops.plugins.module_utils._health_check import Result, check_systemd

STEPS = ("maintenance_on", "stop", "switch", "reload", "warmup", "restore", "health", "maintenance_off")
# A rolling patch's node: every step but the maintenance mode (the module's default).
ROLLING_STEPS = STEPS[1:-1]
# How often the health step asks again while it waits.
HEALTH_POLL = 0.25


class SwitchError(Exception):
    """A step failed: ``step`` names it, ``changed`` says whether the node changed before or in it."""

    def __init__(self, message, step=None, changed=False):
        super().__init__(message)
        self.step = step
        self.changed = changed
        # The release current pointed to before the call, and the steps done before the failed one.
        self.previous = None
        self.done = []


def validate(params):
    steps = params.get("steps") or []
    if not steps:
        raise SwitchError("steps is empty: name at least one of %s" % ", ".join(STEPS))
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise SwitchError("steps: %s not one of %s" % (", ".join(map(repr, unknown)), ", ".join(STEPS)))
    if len(set(steps)) != len(steps):
        raise SwitchError("steps: %s named twice" % ", ".join(sorted({s for s in steps if steps.count(s) > 1})))
    for name in ("health_timeout", "warmup_timeout"):
        if params.get(name) is not None and params[name] < 0:
            raise SwitchError("%s must be 0 or more seconds, got %s" % (name, params[name]))
    for unit in list(params.get("reload_units") or []) + list(params.get("health_units") or []):
        if not is_unit_name(unit):
            raise SwitchError("%r is not a unit name" % unit)
    if "maintenance_off" in steps and not params.get("health_url"):
        raise SwitchError("maintenance_off needs health_url: a node leaves maintenance only when its health is ok")
    # The options of the steps' own backends, checked before any step runs.
    try:
        validate_release(_release_params(params))
        validate_services(_services_params(params, "stopped"))
        validate_maintenance(_maintenance_params(params, "on"))
    except (ReleaseError, ServicesError, MaintenanceError) as exc:
        raise SwitchError(str(exc)) from None


def _services_params(params, state):
    return {
        "state": state,
        "patterns": params["service_patterns"],
        "state_file": params["services_state_file"],
        "recapture": False,
    }


def _release_params(params):
    return {
        "app_root": params["app_root"],
        "version": params["version"],
        "state": "current",
        "artifact": None,
        "checksum": None,
        "keep": params["keep"],
        "protect": params.get("protect") or [],
        "owner": params["owner"],
        "group": params["group"],
        "strip_components": 1,
    }


def _maintenance_params(params, state):
    return {
        "state": state,
        "app_root": params["app_root"],
        "flag": None,
        "state_file": None,
        "duration": params.get("maintenance_duration"),
        "comment": params.get("maintenance_comment"),
        "user": params.get("maintenance_user"),
        "retry_after": params["maintenance_retry_after"],
        "method": "auto",
        "console": None,
        "php": params["php"],
        "app_user": params["user"],
        "app_group": params["group"],
        "health_url": params.get("health_url"),
        "expect_version": params["version"],
        "health_timeout": 10,
        "health_attempts": 1,
        "health_delay": 0,
        "validate_certs": False,
        "force": False,
    }


def _console_params(params):
    return {
        "command": ["cache:warmup"],
        "app_root": params["app_root"],
        "release": params["version"],
        "php": params["php"],
        "env": params["env"],
        "user": params["user"],
        "timeout": params["warmup_timeout"] or None,
        "read_only": False,
        "secrets": [],
    }


class _Node:
    """Runs the steps on the node; each returns (changed, what it did, for the result)."""

    def __init__(self, params, run, check_mode, *, clock, sleep, opener):
        self.params, self.run, self.check_mode = params, run, check_mode
        self.clock, self.sleep, self.opener = clock, sleep, opener
        self.services = {"captured": [], "stopped": [], "started": []}
        self.warnings = []
        # The downtime window maintenance_on declared (the record of app_maintenance).
        self.window = None

    def _maintenance(self, state):
        params = _maintenance_params(self.params, state)
        if self.check_mode and state == "off":
            # As the health step: no request in check mode, so no health gate; would the node leave maintenance?
            before = MaintenanceNode(params, self.run).read()
            return before["flag"], "maintenance %s (health gate not asked in check mode)" % state
        try:
            result = ensure_maintenance(params, self.run, check_mode=self.check_mode, opener=self.opener)
        except MaintenanceError as exc:
            if not exc.health:
                raise
            # This module has no force: say which one leaves maintenance anyway.
            raise MaintenanceError(
                "%s; orocloud.ops.app_maintenance state=off force=true leaves it anyway" % exc,
                health=exc.health,
                changed=exc.changed,
            ) from None
        self.warnings.extend(result["warnings"])
        if state == "on":
            self.window = {key: result["record"][key] for key in ("since", "until", "duration", "comment", "user")}
        return result["changed"], "maintenance %s (%s)" % (state, result["flag"])

    def maintenance_on(self):
        return self._maintenance("on")

    def maintenance_off(self):
        return self._maintenance("off")

    def stop(self):
        result = ensure_services(_services_params(self.params, "stopped"), self.run, check_mode=self.check_mode)
        self.services.update(captured=result["captured"], stopped=result["stopped"])
        stopped = ", ".join(result["stopped"]) or "nothing was running"
        return result["changed"], "stopped: " + stopped

    def switch(self):
        result = ensure_release(_release_params(self.params), check_mode=self.check_mode)
        return result["changed"], "current: %s" % self.params["version"]

    def reload(self):
        units = list(self.params.get("reload_units") or [])
        if not units:
            return False, "nothing to reload"
        if not self.check_mode:
            rc, out, err = self.run(["systemctl", "reload", "--", *units])
            if rc != 0:
                raise SwitchError(
                    "systemctl reload %s failed with status %d: %s"
                    % (" ".join(units), rc, " ".join((err or out).split())[:300] or "no output")
                )
        return True, "reloaded: " + ", ".join(units)

    def warmup(self):
        result = run_console(_console_params(self.params), check_mode=self.check_mode)
        if result.get("failed"):
            raise SwitchError(result["msg"])
        return True, result.get("msg", "cache:warmup")

    def restore(self):
        result = ensure_services(_services_params(self.params, "restored"), self.run, check_mode=self.check_mode)
        self.services["started"] = result["started"]
        return result["changed"], "started: " + (", ".join(result["started"]) or "nothing to start")

    def health(self):
        url, units = self.params.get("health_url"), list(self.params.get("health_units") or [])
        if self.check_mode:
            return False, "not checked in check mode"
        deadline = self.clock() + (self.params.get("health_timeout") or 0)
        while True:
            problems = []
            if url:
                answer = health_gate(
                    url,
                    timeout=10,
                    expect_version=self.params["version"],
                    attempts=1,
                    validate_certs=False,
                    opener=self.opener,
                )
                if not answer["ok"]:
                    problems.append(answer["message"])
            if units:
                found = check_systemd({"units": units}, Result("systemd", "units", "major"), self.run)
                if found.status != "ok":
                    problems.append(found.message)
            if not problems:
                what = ["%s answers ok with %s" % (url, self.params["version"])] if url else []
                what += ["active: " + ", ".join(units)] if units else []
                return False, "; ".join(what) or "nothing to check"
            if self.clock() >= deadline:
                raise SwitchError(
                    "unhealthy after %s s: %s" % (self.params.get("health_timeout") or 0, "; ".join(problems))
                )
            self.sleep(HEALTH_POLL)


def switch_node(params, run, *, check_mode=False, clock=None, sleep=None, opener=None):
    """Do what the module's ``params`` ask; return the module's result.

    ``run(argv, cwd=None) -> (rc, stdout, stderr)`` runs a command (``AnsibleModule.run_command``); ``clock``, ``sleep``
    and ``opener`` (``open_url``) are there for tests. Raises :class:`SwitchError` naming the failed step.
    """
    validate(params)
    clock = clock or time.monotonic
    node = _Node(params, run, check_mode, clock=clock, sleep=sleep or time.sleep, opener=opener)
    try:
        before = read_current(Layout(params["app_root"], params["owner"], params["group"]))
    except ReleaseError as exc:
        raise SwitchError(str(exc)) from None
    except OSError:
        before = None
    started, changed, done = clock(), False, []
    for step in (s for s in STEPS if s in params["steps"]):
        moment = clock()
        try:
            step_changed, message = getattr(node, step)()
        except (SwitchError, ServicesError, ReleaseError, AppConsoleError, MaintenanceError, OSError) as exc:
            text = str(exc)
            if isinstance(exc, OSError):
                text = "%s: %s" % (exc.filename, exc.strerror) if exc.filename else str(exc.strerror or exc)
            # A reload or warm-up that ran and failed (a SwitchError of its own) may have changed the node.
            ran = isinstance(exc, SwitchError) and step in ("reload", "warmup") and not check_mode
            changed = changed or getattr(exc, "changed", False) or ran
            after = ", ".join(d["step"] for d in done)
            where = ("done before it: " + after) if after else "the first step"
            error = SwitchError("%s failed: %s (%s)" % (step, text.rstrip("."), where), step=step, changed=changed)
            error.previous, error.done = before, done
            raise error from None
        changed = changed or step_changed
        done.append({"step": step, "changed": step_changed, "seconds": round(clock() - moment, 3), "msg": message})
    return {
        "changed": changed,
        "version": params["version"],
        "previous": before,
        "steps": done,
        "seconds": round(clock() - started, 3),
        "services": node.services,
        "maintenance": node.window,
        "warnings": node.warnings,
        "diff": {
            "before": {"current": before},
            "after": {"current": params["version"] if "switch" in params["steps"] else before},
        },
    }
