# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HAProxy's runtime API (the ``stats socket`` of level admin): read and set the state of backend servers.

The API is a line protocol on a UNIX socket: one command per connection, the answer up to the end of
the connection (HAProxy closes it after answering a command that did not ask for the interactive
``prompt`` mode). Commands used, with HAProxy 2.6's answers:

``show servers state <backend>``
    ``1`` (the format's version), a ``# be_id be_name srv_id srv_name ...`` header, then one line of
    space-separated fields per server: ``srv_op_state`` (0 down, 1 starting, 2 up, 3 stopping),
    ``srv_admin_state`` (a mask: 0x01 forced maintenance, 0x02 inherited from a tracked server, 0x04
    ``disabled`` in the configuration, 0x08 forced drain, 0x10 inherited drain, 0x20 address resolution
    failed), ``srv_uweight``, ``srv_iweight``, ``srv_check_state`` (0x04 enabled, 0x08 paused) ...
    An unknown backend: ``Can't find backend.``
``show stat <backend> 4 -1``
    CSV with a ``# pxname,svname,...`` header, the backend's servers only: ``qcur`` (queued requests),
    ``scur`` (current sessions), ``status`` (``UP``, ``UP 1/3``, ``DRAIN``, ``MAINT``, ``DOWN``, ...),
    ``check_status`` (``L7OK``, ``L7STS``, ``L4CON``, ...; ``* `` in front while a check runs),
    ``check_code``, ``last_chk`` (the check's own text), ``check_desc``, ``check_rise``,
    ``check_fall``, ``check_health`` (0 .. rise+fall-1). An unknown backend: ``No such proxy.``
``set server <backend>/<server> state ready|drain|maint``
    No answer (an empty line) when done; ``No such backend.`` / ``No such server.`` otherwise.
    ``ready`` clears forced maintenance and drain; ``drain`` clears forced maintenance; ``maint``
    clears forced drain. A server that leaves maintenance is UP at once with the lowest health that
    is still up (``UP 1/3``): a single failed check takes it down again.
``show backend``
    ``# name`` then one backend per line.

Administrative states reported: ``maint`` (any maintenance flag), else ``drain`` (any drain flag),
else ``ready``. Draining lets the running requests finish and gives the server no new ones (except
persistent sessions); maintenance gives it no new ones and stops its health checks.

Runs on the load balancer: Python 3.9+, standard library only.
"""

from __future__ import annotations

import csv
import errno
import re
import socket
import time

ADMIN_STATES = ("ready", "drain", "maint")
DEFAULT_SOCKET = "/run/haproxy/admin.sock"
OPERATIONAL_STATES = {0: "DOWN", 1: "STARTING", 2: "UP", 3: "STOPPING"}
IN_ROTATION = ("UP", "STARTING")

# srv_admin_state flags (HAProxy's SRV_ADMF_*)
ADMIN_FLAGS = {
    0x01: "forced maintenance",
    0x02: "maintenance inherited from a tracked server",
    0x04: "maintenance from the configuration (disabled)",
    0x08: "forced drain",
    0x10: "drain inherited from a tracked server",
    0x20: "maintenance after a failed address resolution",
}
MAINT_MASK = 0x01 | 0x02 | 0x04 | 0x20
DRAIN_MASK = 0x08 | 0x10
# srv_check_state flags (HAProxy's CHK_ST_*)
CHECK_ENABLED = 0x04
CHECK_PAUSED = 0x08

# Proxy and server names as HAProxy accepts them; nothing else is ever written to the socket.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]+$")
ALL = "*"
ERRORS = ("No such", "Can't find", "Unknown command", "Permission denied", "Require ", "'set server")

COMMAND_TIMEOUT = 10.0
CONNECT_ATTEMPTS = 3
POLL_INTERVAL = 0.5
ANSWER_LIMIT = 16 * 1024 * 1024


class HAProxyRuntimeError(Exception):
    """The runtime API cannot be reached, refuses a command, or a server does not reach its state.

    ``result`` holds what is known when it is raised (``changed``, ``servers``), so that a failure
    after a change says which change was made."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result or {}


# ------------------------------------------------------------------------------------ the socket


class RuntimeAPI:
    """A client of HAProxy's runtime API on a UNIX socket, one command per connection."""

    def __init__(self, path=DEFAULT_SOCKET, timeout=COMMAND_TIMEOUT):
        self.path = path
        self.timeout = timeout

    def _connect(self):
        for attempt in range(CONNECT_ATTEMPTS):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.path)
                return sock
            except OSError as exc:
                sock.close()
                # A reload hands the socket to the new process: a refusal may be a moment's.
                if exc.errno in (errno.ECONNREFUSED, errno.EAGAIN) and attempt + 1 < CONNECT_ATTEMPTS:
                    time.sleep(0.2 * (attempt + 1))
                    continue
                raise HAProxyRuntimeError(self._unreachable(exc)) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _unreachable(self, exc):
        if isinstance(exc, FileNotFoundError):
            why = "it does not exist: is HAProxy running, with `stats socket %s level admin`?" % self.path
        elif isinstance(exc, PermissionError):
            why = "permission denied: the socket is root's (become: true)"
        elif isinstance(exc, ConnectionRefusedError):
            why = "connection refused: HAProxy is not running (a socket file is left over)"
        elif isinstance(exc, socket.timeout):
            why = "timed out"
        else:
            why = exc.strerror or str(exc)
        return "HAProxy's runtime API socket %s cannot be reached: %s" % (self.path, why)

    def command(self, line):
        """Send one command; return HAProxy's answer (text, without the final empty line)."""
        if "\n" in line or ";" in line:
            raise HAProxyRuntimeError("refusing to send a command with a line break or ';': %r" % line)
        sock = self._connect()
        chunks = []
        size = 0
        try:
            sock.sendall(line.encode("ascii") + b"\n")
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > ANSWER_LIMIT:
                    raise HAProxyRuntimeError("the answer to %r exceeds %d bytes" % (line, ANSWER_LIMIT))
        except OSError as exc:
            raise HAProxyRuntimeError(
                "%r on HAProxy's runtime API socket %s failed: %s" % (line, self.path, _reason(exc))
            ) from exc
        finally:
            sock.close()
        return b"".join(chunks).decode("utf-8", "replace").rstrip("\n")


def _reason(exc):
    if isinstance(exc, socket.timeout):
        return "no answer within the timeout"
    return exc.strerror or str(exc) or exc.__class__.__name__


def _refused(answer):
    """HAProxy's error text when the answer is one, else None."""
    first = answer.strip().splitlines()[0] if answer.strip() else ""
    return first if first.startswith(ERRORS) else None


# ------------------------------------------------------------------------------------ parsing


def parse_servers_state(text):
    """``show servers state`` -> list of dicts keyed by the header's field names."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "1" or len(lines) < 2 or not lines[1].startswith("#"):
        raise HAProxyRuntimeError("unexpected answer to 'show servers state': %r" % text[:200])
    fields = lines[1].lstrip("#").split()
    rows = []
    for line in lines[2:]:
        if not line.strip() or line.startswith("#"):
            continue
        values = line.split(" ")
        rows.append(dict(zip(fields, values)))
    return rows


def parse_stat(text):
    """``show stat`` CSV -> list of dicts keyed by the header's field names."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("# "):
        raise HAProxyRuntimeError("unexpected answer to 'show stat': %r" % text[:200])
    header = next(csv.reader([lines[0][2:]]))
    return [dict(zip(header, values)) for values in csv.reader(line for line in lines[1:] if line.strip())]


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def admin_state(flags):
    """``ready``, ``drain`` or ``maint`` from ``srv_admin_state``."""
    if flags & MAINT_MASK:
        return "maint"
    if flags & DRAIN_MASK:
        return "drain"
    return "ready"


def describe_flags(flags):
    return ", ".join(text for bit, text in sorted(ADMIN_FLAGS.items()) if flags & bit) or "none"


def server_report(backend, state, stat):
    """One server's report from its ``show servers state`` row and its ``show stat`` row."""
    flags = _int(state.get("srv_admin_state"), 0)
    check_state = _int(state.get("srv_check_state"), 0)
    check_status = (stat.get("check_status") or "").lstrip("* ") or None
    return {
        "backend": backend,
        "name": state["srv_name"],
        "address": "%s:%s" % (state.get("srv_addr"), state.get("srv_port")),
        "admin_state": admin_state(flags),
        "admin_flags": flags,
        "operational_state": OPERATIONAL_STATES.get(_int(state.get("srv_op_state")), "UNKNOWN"),
        "status": stat.get("status") or None,
        "weight": _int(state.get("srv_uweight")),
        "initial_weight": _int(state.get("srv_iweight")),
        "checked": bool(check_state & CHECK_ENABLED) and not check_state & CHECK_PAUSED,
        "check_status": check_status,
        "check_code": _int(stat.get("check_code")),
        "check_description": stat.get("check_desc") or None,
        "last_check": stat.get("last_chk") or None,
        "check_health": _int(stat.get("check_health")),
        "check_rise": _int(stat.get("check_rise")),
        "check_fall": _int(stat.get("check_fall")),
        "sessions": _int(stat.get("scur"), 0),
        "queued": _int(stat.get("qcur"), 0),
    }


# ------------------------------------------------------------------------------------ reading


def check_name(kind, name):
    if not NAME_PATTERN.match(name or ""):
        raise HAProxyRuntimeError(
            "%s name %r is not a valid HAProxy name (letters, digits, '-', '_', '.' and ':')" % (kind, name)
        )


def backends(api):
    answer = api.command("show backend")
    refused = _refused(answer)
    if refused:
        raise HAProxyRuntimeError("'show backend' was refused: %s" % refused)
    return [line.strip() for line in answer.splitlines() if line.strip() and not line.startswith("#")]


def read_backend(api, backend):
    """Every server of ``backend`` in HAProxy's order: name -> report."""
    check_name("backend", backend)
    answer = api.command("show servers state %s" % backend)
    refused = _refused(answer)
    if refused:
        if refused.startswith("Can't find backend"):
            raise HAProxyRuntimeError(
                "HAProxy has no backend %r (backends: %s)" % (backend, ", ".join(backends(api)) or "none")
            )
        raise HAProxyRuntimeError("'show servers state %s' was refused: %s" % (backend, refused))
    states = [row for row in parse_servers_state(answer) if row.get("be_name") == backend]
    answer = api.command("show stat %s 4 -1" % backend)
    refused = _refused(answer)
    if refused:
        raise HAProxyRuntimeError("'show stat %s 4 -1' was refused: %s" % (backend, refused))
    stats = {row.get("svname"): row for row in parse_stat(answer) if row.get("pxname") == backend}
    return {row["srv_name"]: server_report(backend, row, stats.get(row["srv_name"], {})) for row in states}


def read_all(api):
    """Every server of every backend: a list of reports."""
    answer = api.command("show servers state")
    refused = _refused(answer)
    if refused:
        raise HAProxyRuntimeError("'show servers state' was refused: %s" % refused)
    states = parse_servers_state(answer)
    answer = api.command("show stat -1 4 -1")
    refused = _refused(answer)
    if refused:
        raise HAProxyRuntimeError("'show stat -1 4 -1' was refused: %s" % refused)
    stats = {(row.get("pxname"), row.get("svname")): row for row in parse_stat(answer)}
    return [server_report(row["be_name"], row, stats.get((row["be_name"], row["srv_name"]), {})) for row in states]


def select(backend, servers, requested):
    """The names ``requested`` (``['*']``: all) among ``servers``; an unknown name is an error."""
    if not requested:
        raise HAProxyRuntimeError("no server given: name the servers of backend %r, or '*' for all" % backend)
    if ALL in requested:
        if len(requested) > 1:
            raise HAProxyRuntimeError("'*' stands for every server of backend %r: give it alone" % backend)
        return list(servers)
    names = []
    for name in requested:
        check_name("server", name)
        if name not in names:
            names.append(name)
    unknown = [name for name in names if name not in servers]
    if unknown:
        raise HAProxyRuntimeError(
            "backend %r has no server %s (servers: %s)"
            % (backend, ", ".join(repr(n) for n in unknown), ", ".join(servers) or "none")
        )
    return names


def public(report):
    """A report as modules return it (without the internals used for waiting)."""
    hidden = ("admin_flags", "checked", "check_health", "check_rise", "check_fall")
    return {key: value for key, value in report.items() if key not in hidden}


def info(api, backend=None, servers=None):
    """The reports of ``servers`` (default all) of ``backend`` (default every backend)."""
    if backend is None:
        if servers and ALL not in servers:
            raise HAProxyRuntimeError("name the backend of the servers %s" % ", ".join(servers))
        return [public(report) for report in read_all(api)]
    found = read_backend(api, backend)
    return [public(found[name]) for name in select(backend, found, servers or [ALL])]


# ------------------------------------------------------------------------------------ changing


def is_idle(report):
    return report["sessions"] == 0 and report["queued"] == 0


def is_up(report):
    """In rotation: up, and (when checked) its health at the top, i.e. a check passed since it came back."""
    if report["operational_state"] not in IN_ROTATION:
        return False
    if not report["checked"] or report["check_rise"] is None or report["check_fall"] is None:
        return True
    return (report["check_health"] or 0) >= report["check_rise"] + report["check_fall"] - 1


def settled(state, report):
    """Whether a server in ``state`` is where ``wait`` wants it."""
    return is_up(report) if state == "ready" else is_idle(report)


def _check_text(report):
    parts = [report["check_status"] or "no check result"]
    if report["check_code"] is not None:
        parts.append(str(report["check_code"]))
    if report["last_check"]:
        parts.append(repr(report["last_check"]))
    text = " ".join(parts)
    if report["check_description"]:
        text += " (%s)" % report["check_description"]
    return text


def _describe(report):
    return "%s, %s, %d session%s, %d queued, check %s" % (
        report["admin_state"],
        report["status"] or report["operational_state"],
        report["sessions"],
        "" if report["sessions"] == 1 else "s",
        report["queued"],
        _check_text(report),
    )


def _waiting_for(state):
    if state == "ready":
        return "UP with a passing health check"
    return "without sessions and queued requests"


def _left(state, changed):
    if state == "ready":
        how = "set ready" if changed else "ready"
        return "%s: it gets requests as soon as its health check passes" % how
    how = "set to %s" % state if changed else "in %s" % state
    return "%s: it gets no new requests" % how


def set_state(api, params, *, check_mode=False, sleep=time.sleep, clock=time.monotonic, poll=POLL_INTERVAL):
    """Bring ``params['servers']`` of ``params['backend']`` to ``params['state']``, then wait if asked.

    ``params``: backend, servers, state, wait, timeout. Returns ``changed``, ``servers`` (reports, in
    the order asked), ``changed_servers``, ``diff`` and ``warnings``; raises HAProxyRuntimeError (with
    what was changed in ``result``) when a server does not get there."""
    backend, state = params["backend"], params["state"]
    if state not in ADMIN_STATES:
        raise HAProxyRuntimeError("state %r is not one of %s" % (state, ", ".join(ADMIN_STATES)))
    before = read_backend(api, backend)
    names = select(backend, before, params["servers"])
    to_change = [name for name in names if before[name]["admin_state"] != state]
    diff = {
        "before": {name: before[name]["admin_state"] for name in names},
        "after": {name: state for name in names},
    }
    result = {
        "changed": bool(to_change),
        "changed_servers": to_change,
        "diff": diff,
        "servers": [public(before[name]) for name in names],
        "warnings": [],
        "waited": 0.0,
    }
    if check_mode:
        return result

    done = []
    for name in to_change:
        answer = api.command("set server %s/%s state %s" % (backend, name, state))
        if answer.strip():
            result.update(changed=bool(done), changed_servers=done)
            raise HAProxyRuntimeError(
                "'set server %s/%s state %s' was refused: %s%s"
                % (backend, name, state, answer.strip(), _already(done, state)),
                result,
            )
        done.append(name)

    now = read_backend(api, backend)
    result["servers"] = [public(now[name]) for name in names]
    stuck = [name for name in names if now[name]["admin_state"] != state]
    if stuck:
        raise HAProxyRuntimeError(
            "; ".join(
                "%s/%s is still %s after 'set server ... state %s' (%s)"
                % (backend, name, now[name]["admin_state"], state, describe_flags(now[name]["admin_flags"]))
                for name in stuck
            )
            + _already([n for n in done if n not in stuck], state),
            result,
        )

    if params.get("wait", True):
        start = clock()
        deadline = start + params.get("timeout", 60)
        while True:
            pending = [name for name in names if not settled(state, now[name])]
            if not pending or clock() >= deadline:
                break
            sleep(poll)
            now = read_backend(api, backend)
        result["waited"] = round(clock() - start, 3)
        result["servers"] = [public(now[name]) for name in names]
        if pending:
            raise HAProxyRuntimeError(
                "; ".join(
                    "%s/%s is not %s after %s s: %s; it is left %s"
                    % (backend, name, _waiting_for(state), params.get("timeout", 60), _describe(now[name]),
                       _left(state, name in done))
                    for name in pending
                ),
                result,
            )

    serving = [r for r in now.values() if r["admin_state"] == "ready" and r["operational_state"] in IN_ROTATION]
    if not serving:
        result["warnings"].append(
            "no server of backend %r is ready and UP: HAProxy answers its requests with 503" % backend
        )
    return result


def _already(done, state):
    if not done:
        return ""
    return "; already set to %s: %s" % (state, ", ".join(done))
