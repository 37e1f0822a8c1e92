# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Maintenance mode of an OroCommerce node: the flag nginx obeys, a record of the declared downtime window,
and a health gate before the node leaves maintenance.

* The flag (``<app_root>/shared/maintenance.flag``) is what counts: while it exists nginx answers 503 with
  ``Retry-After`` to everyone but loopback. Its content is the suggested retry delay in seconds.
* It is switched with the application's own ``bin/console oro:maintenance:lock --retry-after=N`` /
  ``oro:maintenance:unlock``, run as the application's user (method ``console``), or written and removed
  directly, owned by the application's user so that its own ``unlock`` can remove it from the sticky
  ``shared/`` directory (method ``file``). ``auto`` uses the console when ``current/bin/console`` and PHP
  are there.
* The record (``maintenance.json`` beside the flag) says why: ``mode`` (``on``: planned downtime, services
  are stopped by the caller; ``emergency``: only the web maintenance page, services keep running),
  ``since``, ``duration`` (minutes) and ``until``, ``comment``, ``user``, ``retry_after``. Oro's monitoring
  alerts when maintenance lasts over an hour without a declared duration.
* Leaving maintenance runs a health gate first: ``GET <health_url>`` from the node itself (loopback passes
  the maintenance page) must answer 200 with JSON ``status: ok`` (and ``version: <expect_version>``).
  A failing gate keeps the flag unless forced.

Runs on managed nodes: Python 3.9+, the standard library and ``ansible.module_utils.urls``.
"""

from __future__ import annotations

import contextlib
import datetime
import grp
import json
import os
import pwd
import tempfile
import time
from urllib.error import HTTPError, URLError

from ansible.module_utils.urls import open_url

STATES = ("on", "off", "emergency")
METHODS = ("auto", "console", "file")
ALERT_MINUTES = 60
EXCERPT = 200
_COMPARED = ("mode", "duration", "comment", "retry_after")


class MaintenanceError(Exception):
    """The request cannot be carried out; ``health`` is the gate's result when the gate refused."""

    def __init__(self, message, health=None, changed=False):
        super().__init__(message)
        self.health = health
        self.changed = changed


def _iso(moment):
    return moment.astimezone(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _parse(text):
    try:
        return datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def _write_atomic(path, text, uid=-1, gid=-1, mode=0o644):
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chown(tmp, uid, gid)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def _remove(path):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def default_user():
    """Who asked: the user sudo came from (Ansible's become), else the login name."""
    for name in ("SUDO_USER", "LOGNAME", "USER"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


# ------------------------------------------------------------------------------------ health gate


def _excerpt(body):
    return " ".join(body.split())[:EXCERPT]


def _judge(url, code, body, expect_version):
    """One answer of the health endpoint -> (ok, result)."""
    result = {"url": url, "status_code": code, "status": None, "version": None, "body": _excerpt(body)}
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if isinstance(document, dict):
        result["status"], result["version"] = document.get("status"), document.get("version")
    if code != 200:
        return False, dict(result, message="GET %s: status %s, expected 200" % (url, code))
    if not isinstance(document, dict):
        return False, dict(result, message="GET %s: the answer is not a JSON object" % url)
    if result["status"] != "ok":
        return False, dict(result, message="GET %s: status is %s, expected ok" % (url, json.dumps(result["status"])))
    if expect_version and str(result["version"]) != expect_version:
        return False, dict(
            result, message="GET %s: version is %s, expected %s" % (url, json.dumps(result["version"]), expect_version)
        )
    message = "GET %s: status 200, ok" % url + (", version %s" % expect_version if expect_version else "")
    return True, dict(result, message=message)


def _get(url, timeout, validate_certs, opener):
    """(status code, body) of GET ``url``; an HTTP error status is an answer, not an exception."""
    try:
        response = opener(
            url,
            method="GET",
            timeout=timeout,
            validate_certs=validate_certs,
            headers={"Accept": "application/json"},
            follow_redirects="none",
            use_proxy=False,
            http_agent="orocloud.ops-app_maintenance",
        )
        return response.getcode(), response.read(65536).decode("utf-8", "replace")
    except HTTPError as exc:
        body = exc.read(65536).decode("utf-8", "replace") if exc.fp is not None else ""
        return exc.code, body


def health_gate(
    url, *, timeout=10, expect_version=None, attempts=3, delay=5, validate_certs=True, opener=None, sleep=None
):
    """Ask ``url`` up to ``attempts`` times, ``delay`` seconds apart, until it is healthy; return the last result."""
    opener = opener or open_url
    sleep = sleep or time.sleep
    result = {}
    for attempt in range(1, max(1, attempts) + 1):
        try:
            code, body = _get(url, timeout, validate_certs, opener)
            ok, result = _judge(url, code, body, expect_version)
        except (URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            ok, result = False, {
                "url": url,
                "status_code": None,
                "status": None,
                "version": None,
                "body": "",
                "message": "GET %s: %s" % (url, reason),
            }
        result.update(ok=ok, attempts=attempt)
        if ok:
            break
        if attempt < attempts:
            sleep(delay)
    return result


# ------------------------------------------------------------------------------------ the node


class Node:
    """The flag, the record and how to switch the flag on one node."""

    def __init__(self, params, run):
        self.params = params
        self.run = run
        app_root = os.path.normpath(params["app_root"])
        self.flag = params.get("flag") or os.path.join(app_root, "shared", "maintenance.flag")
        self.record_file = params.get("state_file") or os.path.join(os.path.dirname(self.flag), "maintenance.json")
        self.console = params.get("console") or os.path.join(app_root, "current", "bin", "console")
        self.php = params["php"]
        self.method = self._method(params["method"])

    def _method(self, method):
        if method != "auto":
            return method
        return "console" if os.path.isfile(self.console) and os.access(self.php, os.X_OK) else "file"

    # -------------------------------------------------------------------------------- reading

    def read(self):
        """``{flag, retry_after, record}``: the record is the file's, or derived from a flag set by hand."""
        state = {"flag": os.path.lexists(self.flag), "retry_after": None, "record": None}
        if state["flag"]:
            try:
                with open(self.flag, encoding="utf-8") as handle:
                    text = handle.read(64).strip()
            except OSError:
                text = ""
            state["retry_after"] = int(text) if text.isdigit() else None
        try:
            with open(self.record_file, encoding="utf-8") as handle:
                record = json.load(handle)
            state["record"] = record if isinstance(record, dict) else None
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            raise MaintenanceError("%s: cannot be read (%s): fix or remove it" % (self.record_file, exc)) from None
        if state["flag"] and state["record"] is None:
            since = datetime.datetime.fromtimestamp(os.lstat(self.flag).st_mtime, datetime.timezone.utc)
            state["record"] = {
                "mode": "on",
                "since": _iso(since),
                "until": None,
                "duration": None,
                "comment": None,
                "user": None,
                "retry_after": state["retry_after"],
            }
        return state

    # -------------------------------------------------------------------------------- switching the flag

    def _as_app_user(self, argv):
        user = self.params["app_user"]
        if os.geteuid() == 0 and user != "root":
            return ["runuser", "-u", user, "--", *argv]
        return argv

    def _console(self, command, *options):
        argv = self._as_app_user([self.php, self.console, command, *options, "--env=prod"])
        # In the release, as the application's units run (WorkingDirectory=current).
        rc, out, err = self.run(argv, cwd=os.path.dirname(os.path.dirname(self.console)))
        if rc != 0:
            raise MaintenanceError(
                "%s %s failed with status %d: %s" % (self.console, command, rc, _excerpt(err or out) or "no output")
            )

    def lock(self, retry_after):
        if self.method == "console":
            self._console("oro:maintenance:lock", "--retry-after=%d" % retry_after)
            if not os.path.lexists(self.flag):
                raise MaintenanceError(
                    "%s oro:maintenance:lock succeeded but %s does not exist: the application's ORO_MAINTENANCE_FLAG "
                    "is elsewhere (set flag, or method: file)" % (self.console, self.flag)
                )
            return
        if not os.path.isdir(os.path.dirname(self.flag)):
            raise MaintenanceError("%s: no such directory (is the application installed?)" % os.path.dirname(self.flag))
        try:
            uid = pwd.getpwnam(self.params["app_user"]).pw_uid
            gid = grp.getgrnam(self.params["app_group"]).gr_gid
        except KeyError as exc:
            raise MaintenanceError("app_user/app_group: %s does not exist on the node" % exc) from None
        _write_atomic(self.flag, "%d\n" % retry_after, uid, gid, 0o644)

    def unlock(self):
        if self.method == "console":
            self._console("oro:maintenance:unlock")
            if os.path.lexists(self.flag):
                raise MaintenanceError(
                    "%s oro:maintenance:unlock succeeded but %s is still there" % (self.console, self.flag)
                )
            return
        _remove(self.flag)


# ------------------------------------------------------------------------------------ the module's work


def validate(params):
    if params["state"] not in STATES:
        raise MaintenanceError("state %r is not one of %s" % (params["state"], ", ".join(STATES)))
    if params.get("duration") is not None and params["duration"] <= 0:
        raise MaintenanceError("duration must be a number of minutes above 0, got %s" % params["duration"])
    if params["retry_after"] < 0:
        raise MaintenanceError("retry_after must be 0 or more seconds, got %s" % params["retry_after"])
    if params["method"] not in METHODS:
        raise MaintenanceError("method %r is not one of %s" % (params["method"], ", ".join(METHODS)))


def _public(state):
    """The part of the state that the diff shows."""
    return {"maintenance": state["flag"], "record": state["record"]}


def desired_record(params, before, now, user):
    """The record for state on/emergency; ``since`` (and its ``user``) kept while maintenance goes on."""
    record = {
        "mode": params["state"],
        "duration": params.get("duration"),
        "comment": params.get("comment"),
        "retry_after": params["retry_after"],
    }
    old = before["record"] if before["flag"] else None
    if old and all(old.get(key) == record[key] for key in _COMPARED):
        return old
    since = _parse(old.get("since")) if old else None
    since = since or now
    record.update(since=_iso(since), user=user)
    record["until"] = _iso(since + datetime.timedelta(minutes=record["duration"])) if record["duration"] else None
    return record


def ensure_maintenance(params, run, *, check_mode=False, now=None, opener=None, sleep=None):
    """Do what the module's ``params`` ask; return the module's result (with ``warnings``).

    ``run(argv, cwd) -> (rc, stdout, stderr)`` runs a command (``AnsibleModule.run_command``); ``opener`` and
    ``sleep`` replace ``open_url`` and ``time.sleep`` (tests).
    """
    validate(params)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    node = Node(params, run)
    before = node.read()
    result = {"health": None, "warnings": []}
    if params["state"] == "off":
        actions, after = _plan_off(params, node, before, result, opener=opener, sleep=sleep)
    else:
        actions, after = _plan_on(params, node, before, result, now)
    if actions and not check_mode:
        _apply(node, actions)
    result.update(
        changed=bool(actions),
        state=params["state"],
        maintenance=after["flag"],
        record=after["record"],
        flag=node.flag,
        state_file=node.record_file,
        method=node.method,
        diff={"before": _public(before), "after": _public(after)},
    )
    return result


def _plan_on(params, node, before, result, now):
    record = desired_record(params, before, now, params.get("user") or default_user())
    actions = []
    if not before["flag"] or before["retry_after"] != params["retry_after"]:
        actions.append(("lock", params["retry_after"]))
    if record != before["record"] or not os.path.exists(node.record_file):
        actions.append(("record", record))
    if not record.get("duration"):
        result["warnings"].append(
            "no downtime window declared (duration): Oro's monitoring alerts when maintenance mode lasts over "
            "%d minutes" % ALERT_MINUTES
        )
    elif _parse(record["until"]) and _parse(record["until"]) < now:
        result["warnings"].append("the declared downtime window ended at %s" % record["until"])
    return actions, {"flag": True, "record": record}


def _plan_off(params, node, before, result, *, opener, sleep):
    actions = []
    if before["flag"]:
        health = result["health"] = health_gate(
            params["health_url"],
            timeout=params["health_timeout"],
            expect_version=params.get("expect_version"),
            attempts=params["health_attempts"],
            delay=params["health_delay"],
            validate_certs=params["validate_certs"],
            opener=opener,
            sleep=sleep,
        )
        if not health["ok"]:
            if not params["force"]:
                # What leaves maintenance anyway is the caller's to say (app_maintenance's force).
                raise MaintenanceError(
                    "health gate failed, maintenance stays on (%s): %s" % (node.flag, health["message"]),
                    health=health,
                )
            result["warnings"].append("health gate failed, leaving maintenance anyway (force): %s" % health["message"])
        actions.append(("unlock", None))
    if os.path.exists(node.record_file):
        actions.append(("forget", None))
    return actions, {"flag": False, "record": None}


def _apply(node, actions):
    done = False
    try:
        for action, value in actions:
            if action == "lock":
                node.lock(value)
            elif action == "record":
                _write_atomic(node.record_file, json.dumps(value, indent=2, sort_keys=True) + "\n")
            elif action == "unlock":
                node.unlock()
            else:
                _remove(node.record_file)
            done = True
    except MaintenanceError as exc:
        exc.changed = done
        raise
    except OSError as exc:
        raise MaintenanceError("%s: %s" % (exc.filename or node.flag, exc.strerror or exc), changed=done) from None
