# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Capture which application units run on a node (message consumers, cron timer, websocket server), stop
them, and later start exactly those again.

* ``captured``: the running units matching the patterns are written to the capture file (JSON), nothing
  is stopped.
* ``stopped``: capture first, unless a capture exists (a re-run after a failure must not capture the
  already-stopped state; ``recapture`` overrides), then stop every running unit that matches the patterns
  or is in the capture. One ``systemctl stop`` for all of them: systemd stops them in parallel and waits,
  each unit up to its ``TimeoutStopSec`` (a consumer finishes the message it is processing).
* ``restored``: start the captured units that are not running, check that they run, then remove the
  capture. Without a capture there is nothing to restore.

"Running" is systemd's ``active``, ``reloading`` or ``activating``: a consumer that has just exited at its
time limit waits ``RestartSec`` in ``activating (auto-restart)`` and still belongs to the running set; a
timer is ``active`` while it waits.

Runs on managed nodes: Python 3.9+, standard library only; ``systemctl``.
"""

from __future__ import annotations

import datetime
import fnmatch
import json
import os
import tempfile

STATES = ("captured", "stopped", "restored")
DEFAULT_PATTERNS = ("oro-consumer-*@*.service", "oro-cron.timer", "oro-websocket.service")
DEFAULT_STATE_FILE = "/var/lib/orocloud/services.json"
RUNNING_STATES = "active,reloading,activating"
EXCERPT = 300


class ServicesError(Exception):
    """The request cannot be carried out; ``changed``: whether something was changed before it stopped."""

    def __init__(self, message, changed=False):
        super().__init__(message)
        self.changed = changed


def _iso(moment):
    return moment.astimezone(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _excerpt(text):
    return " ".join((text or "").split())[:EXCERPT]


def _systemctl(run, *args):
    argv = ["systemctl", *args]
    rc, out, err = run(argv)
    if rc != 0:
        raise ServicesError(
            "systemctl %s failed with status %d: %s" % (" ".join(args[:1]), rc, _excerpt(err or out) or "no output")
        )
    return out


def running_units(run, patterns):
    """The units matching ``patterns`` (shell patterns or names) that run, sorted."""
    if not patterns:
        return []
    out = _systemctl(
        run,
        "list-units",
        "--type=service,timer",
        "--state=" + RUNNING_STATES,
        "--plain",
        "--no-legend",
        "--full",
        "--",
        *patterns,
    )
    units = set()
    for line in out.splitlines():
        words = [w for w in line.split() if w not in ("●", "*")]
        if words and any(fnmatch.fnmatchcase(words[0], p) for p in patterns):
            units.add(words[0])
    return sorted(units)


def read_capture(path):
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ServicesError("%s: cannot be read (%s): fix or remove it" % (path, exc)) from None
    if not isinstance(data, dict) or not isinstance(data.get("units"), list):
        raise ServicesError("%s: not a capture of units (no units list): fix or remove it" % path)
    data["units"] = sorted(str(u) for u in data["units"])
    return data


def write_capture(path, data):
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, 0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def is_unit_name(text):
    """Whether ``text`` can be a unit name or pattern on systemctl's command line (not empty, no option, no
    blank)."""
    return bool(text) and not text.startswith("-") and not any(c.isspace() for c in text)


def validate(params):
    if params["state"] not in STATES:
        raise ServicesError("state %r is not one of %s" % (params["state"], ", ".join(STATES)))
    if not params.get("patterns"):
        raise ServicesError("patterns is empty: name the units (or shell patterns) to capture")
    for pattern in params["patterns"]:
        if not is_unit_name(pattern):
            raise ServicesError("patterns: %r is not a unit name or pattern" % pattern)


def ensure_services(params, run, *, check_mode=False, now=None):
    """Do what the module's ``params`` ask; return the module's result.

    ``run(argv) -> (rc, stdout, stderr)`` runs a command (``AnsibleModule.run_command``).
    """
    validate(params)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    path, patterns = params["state_file"], list(params["patterns"])
    existing = read_capture(path)
    capture, captured, stopped, started = existing, [], [], []
    running = running_units(run, patterns + list(existing["units"] if existing else []))
    running_before = running

    if params["state"] in ("captured", "stopped"):
        if existing is None or params["recapture"]:
            units = running_units(run, patterns)
            if existing is None or existing["units"] != units:
                capture = {"units": units, "captured_at": _iso(now), "patterns": patterns}
                captured = units
        if params["state"] == "stopped":
            stopped = running
            running = []
    elif existing is not None:
        started = [u for u in existing["units"] if u not in running]
        running = sorted(set(running) | set(existing["units"]))
        capture = None

    changed = capture != existing or bool(stopped) or bool(started)
    if changed and not check_mode:
        _apply(run, path, capture, existing, stopped=stopped, started=started)
    return {
        "changed": changed,
        "state": params["state"],
        "state_file": path,
        "units": (capture or existing or {}).get("units", []),
        "captured_at": (capture or existing or {}).get("captured_at"),
        "captured": captured,
        "stopped": stopped,
        "started": started,
        "running": running,
        "diff": {
            "before": {"capture": existing["units"] if existing else None, "running": running_before},
            "after": {"capture": capture["units"] if capture else None, "running": running},
        },
    }


def _apply(run, path, capture, existing, *, stopped, started):
    done = False
    try:
        if capture is not None and capture != existing:
            write_capture(path, capture)
            done = True
        if stopped:
            done = True
            _systemctl(run, "stop", "--", *stopped)
            still = running_units(run, stopped)
            if still:
                raise ServicesError("still running after systemctl stop: %s" % ", ".join(still))
        if started:
            done = True
            _systemctl(run, "start", "--", *started)
        if capture is None and existing is not None:
            down = [u for u in existing["units"] if u not in running_units(run, existing["units"])]
            if down:
                raise ServicesError(
                    "not running after systemctl start: %s; the capture %s is kept" % (", ".join(down), path)
                )
            os.unlink(path)
            done = True
    except ServicesError as exc:
        exc.changed = exc.changed or done
        raise
    except OSError as exc:
        raise ServicesError("%s: %s" % (exc.filename or path, exc.strerror or exc), changed=done) from None
