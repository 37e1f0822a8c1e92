# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Health checks of an OroCommerce environment, classified into the support priorities of the seed.

Five kinds of check, each a plain dict (the module's options, defaults applied):

* ``http``: a request to a URL (optional Host header and TLS server name, TLS verification on or off);
  expected status codes, a substring of the body, expected fields of a JSON body (e.g. ``version``).
* ``tcp``: a TCP endpoint accepts connections (database, Redis, RabbitMQ), optionally answering a probe.
* ``tls``: days left before the certificate of an endpoint expires (warning and critical thresholds).
  The standard library's ``ssl`` fetches the certificate; ``cryptography`` parses it when installed,
  otherwise the dates come from a verified handshake (system CAs or ``ca_path``).
* ``systemd``: units (or ``fnmatch`` patterns such as ``oro-consumer-*@*.service``) are active.
* ``queue``: a command, or SQL run with ``psql``, prints a backlog count; thresholds.

Each result has a status (``ok``, ``warning``, ``unknown``, ``fail``) and, unless ``ok``, a support
priority. The seed's table (OroCloud "Support"):

======== ======================== ==================================================================
priority initial response          meaning
======== ======================== ==================================================================
P1       4 hours                  production application unavailable, mission-critical function
                                  unusable, data loss or corruption
P2       24 hours                 major feature failed, severely reduced capacity, service exposed to
                                  loss or interruption
P3       24 hours                 partial, non-critical loss of functionality
P4       24 hours                 questions, cosmetic issues, documentation
======== ======================== ==================================================================

A check's *impact* names the row: ``outage`` P1, ``major`` P2, ``minor`` P3, ``cosmetic`` P4. A failed
check has its ``impact`` (default per kind: http ``outage``, tcp/systemd/queue ``major``; tls:
``expired_impact`` once expired, ``major`` below ``critical_days``); a warning (tls below
``warn_days``, queue above ``warn_backlog``) is ``minor``; a check that cannot tell (a command that
fails, a certificate that cannot be read) is ``unknown`` and ``minor``. P1 and P2 describe the production
application and the customer's business: outside production a problem is at most P3.

Runs on managed nodes: Python 3.9+, standard library only; ``cryptography`` optional.
"""

from __future__ import annotations

import datetime
import fnmatch
import http.client
import json
import re
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

try:
    from cryptography import x509

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - depends on the node
    x509 = None
    HAS_CRYPTOGRAPHY = False

PRIORITIES = {
    "P1": {
        "initial_response_hours": 4,
        "description": "production application unavailable or a mission-critical function unusable",
    },
    "P2": {
        "initial_response_hours": 24,
        "description": "major feature failed or severely reduced capacity",
    },
    "P3": {"initial_response_hours": 24, "description": "partial, non-critical loss of functionality"},
    "P4": {"initial_response_hours": 24, "description": "cosmetic issue or question"},
}
IMPACTS = {"outage": "P1", "major": "P2", "minor": "P3", "cosmetic": "P4"}
ENVIRONMENT_TYPES = ("development", "testing", "staging", "production")
STATUSES = ("ok", "warning", "unknown", "fail")  # from best to worst
KINDS = ("http", "tcp", "tls", "systemd", "queue")
DEFAULT_IMPACT = {"http": "outage", "tcp": "major", "tls": "major", "systemd": "major", "queue": "major"}
WARNING_IMPACT = "minor"
UNKNOWN_IMPACT = "minor"
BODY_LIMIT = 1024 * 1024
EXCERPT = 200
MAX_WORKERS = 8


class HealthCheckError(Exception):
    """A check is described wrongly (not: a check failed)."""


# ------------------------------------------------------------------------------------ classification


def classify(status, impact, environment_type):
    """The support priority of one result (None when ``ok``)."""
    if status == "ok":
        return None
    if status == "fail":
        priority = IMPACTS[impact]
    elif status == "warning":
        priority = IMPACTS[WARNING_IMPACT]
    else:
        priority = IMPACTS[UNKNOWN_IMPACT]
    if environment_type != "production" and priority in ("P1", "P2"):
        priority = "P3"
    return priority


def worst_status(statuses):
    return max(statuses, key=STATUSES.index, default="ok")


def highest_priority(priorities):
    found = sorted(p for p in priorities if p)
    return found[0] if found else None


def _iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------------ results


class Result:
    """What one check found."""

    def __init__(self, kind, name, impact):
        self.kind = kind
        self.name = name
        self.impact = impact
        self.status = "ok"
        self.message = ""
        self.details = {}
        self.elapsed_ms = 0

    def set(self, status, message):
        """Record a finding; a worse status wins, messages accumulate."""
        if STATUSES.index(status) >= STATUSES.index(self.status):
            self.status = status
        self.message = "%s; %s" % (self.message, message) if self.message else message
        return self

    def as_dict(self, environment_type):
        priority = classify(self.status, self.impact, environment_type)
        return {
            "name": self.name,
            "type": self.kind,
            "status": self.status,
            "ok": self.status == "ok",
            "impact": self.impact,
            "priority": priority,
            "initial_response_hours": PRIORITIES[priority]["initial_response_hours"] if priority else None,
            "message": self.message or "ok",
            "elapsed_ms": self.elapsed_ms,
            "details": self.details,
        }


def _reason(exc):
    """A short text for a network error."""
    if isinstance(exc, socket.timeout):
        return "timed out"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "certificate verification failed: %s" % (exc.verify_message or exc.reason or exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or exc.__class__.__name__


# ------------------------------------------------------------------------------------ http


class _HTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to an address with a TLS server name of our choice (e.g. a node's address with the site's SNI)."""

    def __init__(self, host, port, timeout, context, server_name):
        super().__init__(host, port, timeout=timeout, context=context)
        self._orocloud_context = context
        self._orocloud_server_name = server_name

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout, self.source_address)
        try:
            self.sock = self._orocloud_context.wrap_socket(sock, server_hostname=self._orocloud_server_name)
        except Exception:
            sock.close()
            raise


def tls_context(validate_certs, ca_path=None):
    """A client context: verifying against the system CAs (or ``ca_path``), or not verifying at all."""
    if validate_certs:
        return ssl.create_default_context(cafile=ca_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _host_only(host_header):
    """``shop.example.com:8443`` -> ``shop.example.com`` (an IPv6 literal keeps no brackets)."""
    match = re.match(r"^\[([^\]]+)\](?::\d+)?$", host_header) or re.match(r"^([^:]+)(?::\d+)?$", host_header)
    return match.group(1) if match else host_header


def json_field(document, path):
    """Follow a dotted path (``a.b.0``) in a JSON document; raise KeyError when it leads nowhere."""
    value = document
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise KeyError(path)
    return value


def _same(actual, expected):
    if actual == expected:
        return True
    if isinstance(actual, bool) or isinstance(expected, bool):
        return str(actual).lower() == str(expected).lower()
    return str(actual) == str(expected)


def _http_connection(spec, parts):
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    if not https:
        return http.client.HTTPConnection(parts.hostname, port, timeout=spec["timeout"])
    server_name = spec.get("server_name") or (spec.get("host_header") and _host_only(spec["host_header"]))
    return _HTTPSConnection(
        parts.hostname,
        port,
        spec["timeout"],
        tls_context(spec["validate_certs"], spec.get("ca_path")),
        server_name or parts.hostname,
    )


def http_request(spec):
    """(status, content type, body text) of the request ``spec`` describes; raises OSError/HTTPException."""
    parts = urlsplit(spec["url"])
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HealthCheckError("url %r is not an http:// or https:// URL" % spec["url"])
    headers = dict(spec.get("headers") or {})
    if spec.get("host_header"):
        headers["Host"] = spec["host_header"]
    headers.setdefault("User-Agent", "orocloud.ops-health_check")
    conn = _http_connection(spec, parts)
    try:
        conn.request(spec["method"], (parts.path or "/") + ("?" + parts.query if parts.query else ""), headers=headers)
        response = conn.getresponse()
        body = response.read(BODY_LIMIT) if spec["method"] != "HEAD" else b""
        return response.status, response.getheader("Content-Type", ""), body.decode("utf-8", "replace")
    finally:
        conn.close()


def _check_json(spec, result, text, content_type):
    expected = spec.get("json") or {}
    if not expected and "json" not in content_type:
        return
    try:
        document = json.loads(text)
    except ValueError:
        if expected:
            result.set("fail", "the body is not JSON")
        return
    if isinstance(document, dict) and "version" in document:
        result.details["version"] = document["version"]
    for path, value in sorted(expected.items()):
        try:
            actual = json_field(document, path)
        except KeyError:
            result.set("fail", "JSON field %s is missing" % path)
            continue
        result.details.setdefault("json", {})[path] = actual
        if not _same(actual, value):
            result.set("fail", "JSON field %s is %s, expected %s" % (path, json.dumps(actual), json.dumps(value)))


def check_http(spec, result):
    what = "%s %s" % (spec["method"], spec["url"])
    try:
        status, content_type, text = http_request(spec)
    except (OSError, http.client.HTTPException) as exc:
        return result.set("fail", "%s: %s" % (what, _reason(exc)))
    result.details.update(status_code=status, body=text[:EXCERPT])
    if status not in spec["status_code"]:
        expected = "/".join(str(c) for c in spec["status_code"])
        result.set("fail", "%s: status %d, expected %s" % (what, status, expected))
    if spec.get("body_contains") and spec["body_contains"] not in text:
        result.set("fail", "the body does not contain %r" % spec["body_contains"])
    _check_json(spec, result, text, content_type)
    if result.status == "ok":
        result.set("ok", "%s: status %d" % (what, status))
    return result


# ------------------------------------------------------------------------------------ tcp


def check_tcp(spec, result):
    where = "%s:%d" % (spec["host"], spec["port"])
    try:
        with socket.create_connection((spec["host"], spec["port"]), spec["timeout"]) as sock:
            if spec.get("send"):
                sock.sendall(spec["send"].encode("utf-8"))
            if spec.get("expect"):
                sock.settimeout(spec["timeout"])
                reply = b""
                while spec["expect"].encode("utf-8") not in reply and len(reply) < 65536:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
                result.details["reply"] = reply[:EXCERPT].decode("utf-8", "replace")
                if spec["expect"].encode("utf-8") not in reply:
                    return result.set("fail", "%s answered without %r" % (where, spec["expect"]))
    except OSError as exc:
        return result.set("fail", "%s: %s" % (where, _reason(exc)))
    return result.set("ok", "%s accepts connections" % where)


# ------------------------------------------------------------------------------------ tls


def _peer_certificate(host, port, timeout, context, server_name):
    with (
        socket.create_connection((host, port), timeout) as sock,
        context.wrap_socket(sock, server_hostname=server_name) as tls,
    ):
        return tls.getpeercert(binary_form=True), tls.getpeercert()


def _utc(moment):
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def parse_certificate(der):
    """{not_after, subject, issuer} of a DER certificate with ``cryptography``; None without it."""
    if not HAS_CRYPTOGRAPHY:
        return None
    cert = x509.load_der_x509_certificate(der)
    not_after = getattr(cert, "not_valid_after_utc", None) or _utc(cert.not_valid_after)
    return {"not_after": not_after, "subject": cert.subject.rfc4514_string(), "issuer": cert.issuer.rfc4514_string()}


def _name(rdns):
    """The stdlib's ``getpeercert()`` subject/issuer (tuples of RDNs) as ``CN=...,O=...``."""
    return ",".join("%s=%s" % pair for rdn in rdns for pair in rdn)


def check_tls(spec, result, now):
    where = "%s:%d" % (spec["host"], spec["port"])
    server_name = spec.get("server_name") or spec["host"]
    try:
        der, _unused = _peer_certificate(spec["host"], spec["port"], spec["timeout"], tls_context(False), server_name)
    except (OSError, ssl.SSLError) as exc:
        return result.set("fail", "%s: TLS handshake failed: %s" % (where, _reason(exc)))
    verified, parsed = False, parse_certificate(der)
    try:
        _der, info = _peer_certificate(
            spec["host"], spec["port"], spec["timeout"], tls_context(True, spec.get("ca_path")), server_name
        )
        verified = True
        if parsed is None:
            parsed = {
                "not_after": datetime.datetime.fromtimestamp(
                    ssl.cert_time_to_seconds(info["notAfter"]), datetime.timezone.utc
                ),
                "subject": _name(info.get("subject", ())),
                "issuer": _name(info.get("issuer", ())),
            }
    except (OSError, ssl.SSLError) as exc:
        result.details["verify_error"] = _reason(exc)
    result.details["verified"] = verified
    if spec["validate_certs"] and not verified:
        result.set("fail", "%s: %s" % (where, result.details["verify_error"]))
    if parsed is None:
        return result.set(
            "unknown",
            "%s: cannot read the certificate's expiry: install python3-cryptography on the node, or give ca_path "
            "so that the chain verifies (%s)" % (where, result.details.get("verify_error", "not verified")),
        )

    seconds = (parsed["not_after"] - now).total_seconds()
    days = int(seconds // 86400)
    result.details.update(
        not_after=_iso(parsed["not_after"]),
        days_left=days,
        subject=parsed["subject"],
        issuer=parsed["issuer"],
    )
    if seconds < 0:
        result.impact = spec["expired_impact"]
        return result.set("fail", "%s: the certificate expired on %s" % (where, _iso(parsed["not_after"])))
    if days < spec["critical_days"]:
        return result.set(
            "fail", "%s: the certificate expires in %d days (critical below %d)" % (where, days, spec["critical_days"])
        )
    if days < spec["warn_days"]:
        return result.set(
            "warning", "%s: the certificate expires in %d days (warning below %d)" % (where, days, spec["warn_days"])
        )
    return result.set("ok", "%s: the certificate expires in %d days" % (where, days))


# ------------------------------------------------------------------------------------ systemd


def _systemctl_show(units, run):
    """[(unit, {Id, LoadState, ActiveState, SubState})] from ``systemctl show``, in the order asked for."""
    rc, out, err = run(["systemctl", "show", "--property=Id,LoadState,ActiveState,SubState", "--", *units])
    if rc != 0:
        raise OSError(err.strip() or "systemctl show failed with status %d" % rc)
    blocks, current = [], {}
    for line in [*out.splitlines(), ""]:
        if not line.strip():
            if current:
                blocks.append(current)
            current = {}
            continue
        key, _sep, value = line.partition("=")
        current[key] = value
    # One block per unit asked for, in that order (an alias shows the Id of the unit it names).
    return [(unit, blocks[i] if i < len(blocks) else {}) for i, unit in enumerate(units)]


def _systemctl_list(pattern, run):
    rc, out, err = run(["systemctl", "list-units", "--all", "--plain", "--no-legend", "--full", "--", pattern])
    if rc != 0:
        raise OSError(err.strip() or "systemctl list-units failed with status %d" % rc)
    return sorted(line.split()[0] for line in out.splitlines() if line.split())


def check_systemd(spec, result, run):
    try:
        units, missing = [], []
        for unit in spec["units"]:
            if any(c in unit for c in "*?["):
                found = [u for u in _systemctl_list(unit, run) if fnmatch.fnmatchcase(u, unit)]
                units.extend(found)
                if not found:
                    missing.append(unit)
            else:
                units.append(unit)
        states = _systemctl_show(units, run) if units else []
    except OSError as exc:
        return result.set("unknown", "systemctl: %s" % " ".join(str(exc).split()))
    result.details["units"] = {
        unit: "%s (%s)" % (state.get("ActiveState", "unknown"), state.get("SubState", "unknown"))
        for unit, state in states
    }
    for pattern in missing:
        result.set("fail", "no unit matches %s" % pattern)
    down = []
    for unit, state in states:
        if state.get("LoadState") == "not-found":
            down.append("%s not found" % unit)
        elif state.get("ActiveState") != "active":
            down.append("%s %s" % (unit, state.get("ActiveState", "unknown")))
    if down:
        result.set("fail", ", ".join(down))
    if result.status == "ok":
        result.set("ok", "%d unit%s active" % (len(states), "" if len(states) == 1 else "s"))
    return result


# ------------------------------------------------------------------------------------ queue


def queue_argv(spec):
    if spec.get("command"):
        return list(spec["command"])
    return [spec["psql"], "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", spec["database"], "-c", spec["sql"]]


def check_queue(spec, result, run):
    rc, out, err = run(queue_argv(spec))
    what = "the backlog command" if spec.get("command") else "the backlog SQL"
    if rc != 0:
        return result.set("unknown", "%s failed with status %d: %s" % (what, rc, (err or out).strip()[:EXCERPT]))
    text = out.strip()
    if not re.fullmatch(r"\d+", text):
        return result.set("unknown", "%s printed %r, not a number" % (what, text[:EXCERPT]))
    backlog = int(text)
    result.details.update(backlog=backlog, max_backlog=spec["max_backlog"], warn_backlog=spec.get("warn_backlog"))
    if backlog > spec["max_backlog"]:
        return result.set("fail", "backlog %d above %d" % (backlog, spec["max_backlog"]))
    if spec.get("warn_backlog") is not None and backlog > spec["warn_backlog"]:
        return result.set("warning", "backlog %d above %d" % (backlog, spec["warn_backlog"]))
    return result.set("ok", "backlog %d" % backlog)


# ------------------------------------------------------------------------------------ run


def default_name(kind, spec, index):
    if kind == "http":
        return "http %s" % spec["url"]
    if kind in ("tcp", "tls"):
        return "%s %s:%d" % (kind, spec["host"], spec["port"])
    if kind == "systemd":
        return "systemd %s" % ",".join(spec["units"])
    return "queue %d" % (index + 1)


def _one(kind, spec, index, run, now):
    name = spec.get("name") or default_name(kind, spec, index)
    result = Result(kind, name, spec.get("impact") or DEFAULT_IMPACT[kind])
    started = time.monotonic()
    if kind == "http":
        check_http(spec, result)
    elif kind == "tcp":
        check_tcp(spec, result)
    elif kind == "tls":
        check_tls(spec, result, now)
    elif kind == "systemd":
        check_systemd(spec, result, run)
    else:
        check_queue(spec, result, run)
    result.elapsed_ms = int((time.monotonic() - started) * 1000)
    return result


def run_checks(params, run, now=None):
    """Run every check of ``params`` (the module's options); return the module's result (without ``failed``).

    ``run(argv) -> (rc, stdout, stderr)`` runs a command (``AnsibleModule.run_command`` on a node).
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    environment_type = params.get("environment_type") or "production"
    if environment_type not in ENVIRONMENT_TYPES:
        raise HealthCheckError("unknown environment type %r" % environment_type)
    jobs = [(kind, spec, i) for kind in KINDS for i, spec in enumerate(params.get(kind) or [])]
    if not jobs:
        raise HealthCheckError("no check given: set at least one of %s" % ", ".join(KINDS))
    for kind, spec, _i in jobs:
        if kind == "http" and (
            urlsplit(spec["url"]).scheme not in ("http", "https") or not urlsplit(spec["url"]).hostname
        ):
            raise HealthCheckError("http: %r is not an http:// or https:// URL" % spec["url"])
        if kind == "queue" and not spec.get("command") and not (spec.get("sql") and spec.get("database")):
            raise HealthCheckError("queue %s: give command, or sql and database" % (spec.get("name") or ""))
        if kind == "systemd" and not spec.get("units"):
            raise HealthCheckError("systemd %s: units is empty" % (spec.get("name") or ""))
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(jobs))) as pool:
        results = list(pool.map(lambda job: _one(job[0], job[1], job[2], run, now), jobs))

    checks = [r.as_dict(environment_type) for r in results]
    priority = highest_priority(c["priority"] for c in checks)
    counts = {status: sum(1 for c in checks if c["status"] == status) for status in STATUSES}
    problems = sorted((c for c in checks if c["priority"]), key=lambda c: (c["priority"], -STATUSES.index(c["status"])))
    output = {
        "changed": False,
        "status": worst_status(c["status"] for c in checks),
        "environment_type": environment_type,
        "checked_at": _iso(now),
        "counts": counts,
        "checks": checks,
        "problems": ["%s %s: %s" % (c["priority"], c["name"], c["message"]) for c in problems],
        "priority": priority,
        "initial_response_hours": None,
        "respond_by": None,
    }
    if priority:
        hours = PRIORITIES[priority]["initial_response_hours"]
        output["initial_response_hours"] = hours
        output["respond_by"] = _iso(now + datetime.timedelta(hours=hours))
    output["msg"] = summary(output)
    return output


def summary(output):
    counts = ", ".join("%d %s" % (output["counts"][s], s) for s in STATUSES if output["counts"][s])
    text = "%d check%s: %s" % (len(output["checks"]), "" if len(output["checks"]) == 1 else "s", counts)
    if output["priority"]:
        text += "; %s (%s; initial response within %d hours, by %s): %s" % (
            output["priority"],
            PRIORITIES[output["priority"]]["description"],
            output["initial_response_hours"],
            output["respond_by"],
            "; ".join(output["problems"]),
        )
    return text


def should_fail(output, fail_on):
    """Whether a problem of one of the priorities in ``fail_on`` was found."""
    return any(c["priority"] in fail_on for c in output["checks"])
