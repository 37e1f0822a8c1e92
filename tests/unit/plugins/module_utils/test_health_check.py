# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the health-check backend: real HTTP, HTTPS, TLS and TCP servers on loopback, a fake
``systemctl`` and fake backlog commands."""

from __future__ import annotations

import datetime
import fnmatch
import http.server
import json
import socket
import socketserver
import ssl
import threading
from typing import ClassVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.orocloud.ops.plugins.module_utils import _health_check as hc

NOW = datetime.datetime(2026, 3, 2, 10, 0, 0, tzinfo=datetime.timezone.utc)
UTC = datetime.timezone.utc


# ------------------------------------------------------------------------------------ fixtures


def http_spec(url, **overrides):
    spec = {
        "name": None,
        "url": url,
        "method": "GET",
        "status_code": [200],
        "body_contains": None,
        "json": None,
        "host_header": None,
        "server_name": None,
        "headers": None,
        "validate_certs": True,
        "ca_path": None,
        "timeout": 2.0,
        "impact": None,
    }
    spec.update(overrides)
    return spec


def tcp_spec(host, port, **overrides):
    spec = {"name": None, "host": host, "port": port, "send": None, "expect": None, "timeout": 2.0, "impact": None}
    spec.update(overrides)
    return spec


def tls_spec(host, port, **overrides):
    spec = {
        "name": None,
        "host": host,
        "port": port,
        "server_name": None,
        "warn_days": 30,
        "critical_days": 7,
        "expired_impact": "outage",
        "validate_certs": False,
        "ca_path": None,
        "timeout": 2.0,
        "impact": None,
    }
    spec.update(overrides)
    return spec


def queue_spec(**overrides):
    spec = {
        "name": None,
        "command": None,
        "sql": None,
        "database": None,
        "psql": "psql",
        "max_backlog": 100,
        "warn_backlog": None,
        "impact": None,
    }
    spec.update(overrides)
    return spec


def run_full(kind, spec, run=None, environment_type="production", now=NOW):
    """Run one check through run_checks; return (its result dict, the whole output)."""
    output = hc.run_checks({kind: [spec], "environment_type": environment_type}, run or no_commands, now=now)
    return output["checks"][0], output


def run_one(kind, spec, run=None, environment_type="production", now=NOW):
    """Run one check through run_checks; return its result dict."""
    return run_full(kind, spec, run, environment_type, now)[0]


def no_commands(argv):
    raise AssertionError("no command expected, got %r" % (argv,))


def make_cert(tmp_path, name="shop.test", not_before=None, not_after=None, stem="cert"):
    """A self-signed certificate for ``name`` (also its SAN); returns (cert path, key path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    not_before = not_before or datetime.datetime.now(UTC) - datetime.timedelta(days=1)
    not_after = not_after or datetime.datetime.now(UTC) + datetime.timedelta(days=100)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / ("%s.pem" % stem), tmp_path / ("%s.key" % stem)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


class _Handler(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list] = []  # (path, Host header) of every request

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        type(self).seen.append((self.path, self.headers.get("Host")))
        routes = {
            "/health": (200, "application/json", json.dumps({"status": "ok", "version": "6.1.0", "db": {"ok": True}})),
            "/down": (503, "application/json", json.dumps({"status": "fail", "version": "6.1.0"})),
            "/version": (200, "text/plain", "6.1.0\n"),
            "/notjson": (200, "text/html", "<html>hello</html>"),
        }
        status, ctype, body = routes.get(self.path, (404, "text/plain", "not found"))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class _QuietHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that close right after the TLS handshake


def _serve(server):
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server


@pytest.fixture
def web():
    _Handler.seen = []
    server = _serve(_QuietHTTPServer(("127.0.0.1", 0), _Handler))
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def tls_server(tmp_path):
    """Start an HTTPS server with a certificate for ``name`` valid until ``not_after``; yields a starter."""
    servers, sni_seen = [], []

    def start(name="shop.test", not_after=None, not_before=None):
        cert, key = make_cert(tmp_path, name, not_before, not_after, stem="cert%d" % len(servers))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.sni_callback = lambda sock, server_name, ctx: sni_seen.append(server_name)
        server = _QuietHTTPServer(("127.0.0.1", 0), _Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        servers.append(_serve(server))
        return server.server_address[1], cert

    start.sni_seen = sni_seen
    _Handler.seen = []
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


# ------------------------------------------------------------------------------------ classification


@pytest.mark.parametrize(
    "status, impact, environment_type, expected",
    [
        ("ok", "outage", "production", None),
        ("fail", "outage", "production", "P1"),
        ("fail", "major", "production", "P2"),
        ("fail", "minor", "production", "P3"),
        ("fail", "cosmetic", "production", "P4"),
        ("warning", "outage", "production", "P3"),
        ("unknown", "outage", "production", "P3"),
        ("fail", "outage", "staging", "P3"),
        ("fail", "major", "development", "P3"),
        ("fail", "cosmetic", "testing", "P4"),
    ],
)
def test_classify_follows_the_seeds_support_table(status, impact, environment_type, expected):
    assert hc.classify(status, impact, environment_type) == expected


def test_priorities_carry_the_initial_response_times():
    assert {p: v["initial_response_hours"] for p, v in hc.PRIORITIES.items()} == {"P1": 4, "P2": 24, "P3": 24, "P4": 24}


def test_worst_status_and_highest_priority():
    assert hc.worst_status(["ok", "warning", "ok"]) == "warning"
    assert hc.worst_status(["unknown", "fail", "warning"]) == "fail"
    assert hc.worst_status([]) == "ok"
    assert hc.highest_priority([None, "P3", "P2", None]) == "P2"
    assert hc.highest_priority([None]) is None


@pytest.mark.parametrize(
    "document, path, expected",
    [
        ({"a": {"b": [1, {"c": "x"}]}}, "a.b.1.c", "x"),
        ({"version": "6.1.0"}, "version", "6.1.0"),
        ({"a": [1, 2]}, "a.1", 2),
    ],
)
def test_json_field_follows_dotted_paths(document, path, expected):
    assert hc.json_field(document, path) == expected


@pytest.mark.parametrize("path", ["b", "a.c", "a.b.5", "a.b.x"])
def test_json_field_raises_when_the_path_leads_nowhere(path):
    with pytest.raises(KeyError):
        hc.json_field({"a": {"b": [1]}}, path)


# ------------------------------------------------------------------------------------ http


def test_http_ok_with_json_fields_and_version(web):
    check, output = run_full(
        "http", http_spec(web + "/health", json={"status": "ok", "version": "6.1.0", "db.ok": True})
    )

    assert check["status"] == "ok" and check["ok"] is True and check["priority"] is None
    assert check["details"]["status_code"] == 200
    assert check["details"]["version"] == "6.1.0"
    assert check["details"]["json"] == {"db.ok": True, "status": "ok", "version": "6.1.0"}
    assert check["name"] == "http %s/health" % web
    assert output["status"] == "ok" and output["priority"] is None and output["respond_by"] is None
    assert output["problems"] == []
    assert output["changed"] is False


def test_http_down_in_production_is_p1_with_a_four_hour_response(web):
    check, output = run_full("http", http_spec(web + "/down", name="storefront"))

    assert check["status"] == "fail" and check["priority"] == "P1" and check["initial_response_hours"] == 4
    assert "status 503, expected 200" in check["message"]
    assert output["priority"] == "P1"
    assert output["initial_response_hours"] == 4
    assert output["respond_by"] == "2026-03-02T14:00:00Z"
    assert output["problems"] == ["P1 storefront: GET %s/down: status 503, expected 200" % web]
    assert "initial response within 4 hours, by 2026-03-02T14:00:00Z" in output["msg"]


def test_http_down_outside_production_is_p3(web):
    check, output = run_full("http", http_spec(web + "/down"), environment_type="staging")

    assert check["priority"] == "P3" and output["initial_response_hours"] == 24
    assert output["respond_by"] == "2026-03-03T10:00:00Z"


def test_http_wrong_version_fails(web):
    check = run_one("http", http_spec(web + "/health", json={"version": "6.1.1"}, impact="major"))

    assert check["status"] == "fail" and check["priority"] == "P2"
    assert check["message"] == 'JSON field version is "6.1.0", expected "6.1.1"'


def test_http_missing_json_field_and_non_json_body(web):
    missing = run_one("http", http_spec(web + "/health", json={"schema": "ok"}))
    not_json = run_one("http", http_spec(web + "/notjson", json={"status": "ok"}))

    assert missing["message"] == "JSON field schema is missing"
    assert not_json["status"] == "fail" and not_json["message"] == "the body is not JSON"


def test_http_body_contains_and_expected_status_codes(web):
    ok = run_one("http", http_spec(web + "/version", body_contains="6.1.0"))
    wrong = run_one("http", http_spec(web + "/version", body_contains="7.0.0"))
    accepted = run_one("http", http_spec(web + "/down", status_code=[200, 503]))

    assert ok["status"] == "ok" and ok["details"]["body"] == "6.1.0\n"
    assert wrong["status"] == "fail" and wrong["message"] == "the body does not contain '7.0.0'"
    assert accepted["status"] == "ok"


def test_http_head_and_host_header(web):
    check = run_one("http", http_spec(web + "/version", method="HEAD", host_header="shop.test"))

    assert check["status"] == "ok" and check["details"]["body"] == ""
    assert _Handler.seen[-1] == ("/version", "shop.test")


def test_http_connection_refused_and_timeout(closed_port):
    refused = run_one("http", http_spec("http://127.0.0.1:%d/health" % closed_port))

    assert refused["status"] == "fail" and refused["priority"] == "P1"
    assert "Connection refused" in refused["message"]

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts (kernel backlog) but never answers
    try:
        slow = run_one("http", http_spec("http://127.0.0.1:%d/" % silent.getsockname()[1], timeout=0.3))
    finally:
        silent.close()
    assert slow["status"] == "fail" and slow["message"].endswith(": timed out")


def test_https_with_sni_from_host_header_verifies_against_ca_path(tls_server):
    port, cert = tls_server("shop.test")

    check = run_one("http", http_spec("https://127.0.0.1:%d/health" % port, host_header="shop.test", ca_path=cert))

    assert check["status"] == "ok", check["message"]
    assert tls_server.sni_seen[-1] == "shop.test"
    assert _Handler.seen[-1] == ("/health", "shop.test")


def test_https_name_mismatch_fails_unless_verification_is_off(tls_server):
    port, cert = tls_server("shop.test")
    url = "https://127.0.0.1:%d/health" % port

    mismatch = run_one("http", http_spec(url, server_name="other.test", ca_path=cert))
    unverified = run_one("http", http_spec(url, validate_certs=False))

    assert mismatch["status"] == "fail" and "certificate verification failed" in mismatch["message"]
    assert unverified["status"] == "ok"
    assert tls_server.sni_seen[-1] is None  # no server name for an address (RFC 6066)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "http:///nohost"])
def test_http_refuses_a_url_that_is_not_http(url):
    with pytest.raises(hc.HealthCheckError, match="is not an http:// or https:// URL"):
        run_one("http", http_spec(url))


# ------------------------------------------------------------------------------------ tcp


def test_tcp_ok_and_refused(web, closed_port):
    port = int(web.rsplit(":", 1)[1])
    ok = run_one("tcp", tcp_spec("127.0.0.1", port, name="database", impact="outage"))
    down, output = run_full("tcp", tcp_spec("127.0.0.1", closed_port))

    assert ok["status"] == "ok" and ok["message"] == "127.0.0.1:%d accepts connections" % port
    assert down["status"] == "fail" and down["priority"] == "P2" and down["impact"] == "major"
    assert output["initial_response_hours"] == 24


class _Pong(socketserver.BaseRequestHandler):
    def handle(self):
        if self.request.recv(64).startswith(b"PING"):
            self.request.sendall(b"+PONG\r\n")


def test_tcp_send_and_expect():
    server = _serve(socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Pong))
    port = server.server_address[1]
    try:
        pong = run_one("tcp", tcp_spec("127.0.0.1", port, send="PING\r\n", expect="+PONG"))
        wrong = run_one("tcp", tcp_spec("127.0.0.1", port, send="HELLO\r\n", expect="+PONG", timeout=0.5))
    finally:
        server.shutdown()
        server.server_close()

    assert pong["status"] == "ok" and pong["details"]["reply"] == "+PONG\r\n"
    assert wrong["status"] == "fail"


# ------------------------------------------------------------------------------------ tls


@pytest.mark.parametrize(
    "days, status, priority, fragment",
    [
        (100, "ok", None, "expires in 99 days"),
        (20, "warning", "P3", "expires in 19 days (warning below 30)"),
        (3, "fail", "P2", "expires in 2 days (critical below 7)"),
    ],
)
def test_tls_expiry_thresholds(tls_server, days, status, priority, fragment):
    port, _cert = tls_server(not_after=datetime.datetime.now(UTC) + datetime.timedelta(days=days, minutes=-1))

    check = run_one("tls", tls_spec("127.0.0.1", port, server_name="shop.test"), now=datetime.datetime.now(UTC))

    assert check["status"] == status and check["priority"] == priority
    assert fragment in check["message"]
    assert check["details"]["subject"] == "CN=shop.test"
    assert check["details"]["verified"] is False  # self-signed, no ca_path


def test_tls_expired_certificate_is_an_outage(tls_server):
    port, _cert = tls_server(
        not_before=datetime.datetime.now(UTC) - datetime.timedelta(days=30),
        not_after=datetime.datetime.now(UTC) - datetime.timedelta(days=2),
    )

    check, output = run_full("tls", tls_spec("127.0.0.1", port), now=datetime.datetime.now(UTC))

    assert check["status"] == "fail" and check["priority"] == "P1" and check["impact"] == "outage"
    assert "the certificate expired on" in check["message"]
    assert output["initial_response_hours"] == 4


def test_tls_verification_required(tls_server):
    port, cert = tls_server("shop.test")

    trusted = run_one("tls", tls_spec("127.0.0.1", port, server_name="shop.test", ca_path=cert, validate_certs=True))
    untrusted = run_one("tls", tls_spec("127.0.0.1", port, server_name="shop.test", validate_certs=True))

    assert trusted["status"] == "ok" and trusted["details"]["verified"] is True
    assert untrusted["status"] == "fail" and untrusted["priority"] == "P2"
    assert "certificate verification failed" in untrusted["message"]


def test_tls_without_cryptography_reads_dates_from_a_verified_handshake(tls_server, monkeypatch):
    monkeypatch.setattr(hc, "HAS_CRYPTOGRAPHY", False)
    port, cert = tls_server("shop.test", not_after=datetime.datetime.now(UTC) + datetime.timedelta(days=10, hours=1))

    verified = run_one(
        "tls", tls_spec("127.0.0.1", port, server_name="shop.test", ca_path=cert), now=datetime.datetime.now(UTC)
    )
    unreadable = run_one("tls", tls_spec("127.0.0.1", port, server_name="shop.test"))

    assert verified["status"] == "warning" and verified["details"]["days_left"] == 10
    assert verified["details"]["subject"] == "commonName=shop.test"
    assert unreadable["status"] == "unknown" and unreadable["priority"] == "P3"
    assert "install python3-cryptography on the node, or give ca_path" in unreadable["message"]


def test_tls_handshake_failure(web, closed_port):
    plain_port = int(web.rsplit(":", 1)[1])

    refused = run_one("tls", tls_spec("127.0.0.1", closed_port))
    not_tls = run_one("tls", tls_spec("127.0.0.1", plain_port))

    assert refused["status"] == "fail" and "TLS handshake failed: Connection refused" in refused["message"]
    assert not_tls["status"] == "fail" and "TLS handshake failed" in not_tls["message"]


# ------------------------------------------------------------------------------------ systemd


class FakeSystemctl:
    """``systemctl show`` / ``list-units`` answers from a table {unit: (LoadState, ActiveState, SubState)}."""

    def __init__(self, units, fail=None):
        self.units = units
        self.fail = fail
        self.calls = []

    def __call__(self, argv):
        self.calls.append(argv)
        if self.fail:
            return 1, "", self.fail
        assert argv[0] == "systemctl"
        names = argv[argv.index("--") + 1 :]
        if argv[1] == "list-units":
            found = [u for u in sorted(self.units) if fnmatch.fnmatchcase(u, names[0])]
            return 0, "".join("%s loaded active running x\n" % u for u in found), ""
        blocks = []
        for name in names:
            load, active, sub = self.units.get(name, ("not-found", "inactive", "dead"))
            blocks.append("Id=%s\nLoadState=%s\nActiveState=%s\nSubState=%s\n" % (name, load, active, sub))
        return 0, "\n".join(blocks), ""


UNITS = {
    "ssh.service": ("loaded", "active", "running"),
    "oro-consumer-oro.default@1.service": ("loaded", "active", "running"),
    "oro-consumer-oro.index@1.service": ("loaded", "failed", "failed"),
    "oro-cron.timer": ("loaded", "active", "waiting"),
}


def test_systemd_active_units():
    check = run_one(
        "systemd", {"name": None, "units": ["ssh.service", "oro-cron.timer"], "impact": None}, FakeSystemctl(UNITS)
    )

    assert check["status"] == "ok" and check["message"] == "2 units active"
    assert check["details"]["units"] == {"ssh.service": "active (running)", "oro-cron.timer": "active (waiting)"}
    assert check["name"] == "systemd ssh.service,oro-cron.timer"


def test_systemd_pattern_with_a_failed_consumer_is_p2():
    check = run_one(
        "systemd", {"name": "consumers", "units": ["oro-consumer-*@*.service"], "impact": None}, FakeSystemctl(UNITS)
    )

    assert check["status"] == "fail" and check["priority"] == "P2"
    assert check["message"] == "oro-consumer-oro.index@1.service failed"
    assert set(check["details"]["units"]) == {"oro-consumer-oro.default@1.service", "oro-consumer-oro.index@1.service"}


def test_systemd_missing_units_and_patterns():
    check = run_one(
        "systemd",
        {"name": None, "units": ["nginx.service", "php*-fpm.service"], "impact": "outage"},
        FakeSystemctl(UNITS),
    )

    assert check["status"] == "fail" and check["priority"] == "P1"
    assert check["message"] == "no unit matches php*-fpm.service; nginx.service not found"


def test_systemd_without_systemctl_is_unknown():
    check = run_one(
        "systemd",
        {"name": None, "units": ["ssh.service"], "impact": None},
        FakeSystemctl(UNITS, fail="System has not been booted with systemd\nFailed to connect"),
    )

    assert check["status"] == "unknown" and check["priority"] == "P3"
    assert check["message"] == "systemctl: System has not been booted with systemd Failed to connect"


# ------------------------------------------------------------------------------------ queue


def fixed(rc, out, err=""):
    calls = []

    def run(argv):
        calls.append(argv)
        return rc, out, err

    run.calls = calls
    return run


@pytest.mark.parametrize(
    "out, status, priority, message",
    [
        ("12\n", "ok", None, "backlog 12"),
        ("150\n", "warning", "P3", "backlog 150 above 100"),
        ("1500\n", "fail", "P2", "backlog 1500 above 1000"),
    ],
)
def test_queue_thresholds(out, status, priority, message):
    run = fixed(0, out)
    check = run_one("queue", queue_spec(command=["count-messages"], warn_backlog=100, max_backlog=1000), run)

    assert (check["status"], check["priority"], check["message"]) == (status, priority, message)
    assert run.calls == [["count-messages"]]
    assert check["name"] == "queue 1"


def test_queue_sql_runs_psql_and_keeps_the_database_out_of_messages():
    run = fixed(2, "", "psql: error: connection to server failed: secret-host")
    spec = queue_spec(
        name="oro mq", sql="SELECT count(*) FROM oro_message_queue", database="postgresql://oro:s3cret@db/oro"
    )

    check, output = run_full("queue", spec, run)

    assert run.calls == [
        [
            "psql",
            "-X",
            "-A",
            "-t",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            "postgresql://oro:s3cret@db/oro",
            "-c",
            "SELECT count(*) FROM oro_message_queue",
        ]
    ]
    assert check["status"] == "unknown" and check["priority"] == "P3"
    assert check["message"].startswith("the backlog SQL failed with status 2: psql: error")
    assert "s3cret" not in json.dumps(output)


def test_queue_output_that_is_not_a_number_is_unknown():
    check = run_one("queue", queue_spec(command=["x"]), fixed(0, "lots\n"))

    assert check["status"] == "unknown" and check["message"] == "the backlog command printed 'lots', not a number"


# ------------------------------------------------------------------------------------ run_checks


def test_run_checks_summarises_and_orders_problems(web, closed_port):
    params = {
        "environment_type": "production",
        "http": [http_spec(web + "/health", name="site"), http_spec(web + "/down", name="web1", impact="major")],
        "tcp": [tcp_spec("127.0.0.1", closed_port, name="redis", impact="cosmetic")],
        "queue": [queue_spec(name="mq", command=["n"], warn_backlog=1, max_backlog=10)],
    }

    output = hc.run_checks(params, fixed(0, "5\n"), now=NOW)

    assert [c["name"] for c in output["checks"]] == ["site", "web1", "redis", "mq"]
    assert output["status"] == "fail"
    assert output["counts"] == {"ok": 1, "warning": 1, "unknown": 0, "fail": 2}
    assert output["priority"] == "P2" and output["initial_response_hours"] == 24
    assert output["respond_by"] == "2026-03-03T10:00:00Z"
    assert [p.split(":")[0] for p in output["problems"]] == ["P2 web1", "P3 mq", "P4 redis"]
    assert output["msg"].startswith("4 checks: 1 ok, 1 warning, 2 fail; P2 (major feature failed")
    assert hc.should_fail(output, ["P1", "P2"]) is True
    assert hc.should_fail(output, ["P1"]) is False
    assert hc.should_fail(output, []) is False


@pytest.mark.parametrize(
    "params, message",
    [
        ({}, "no check given"),
        ({"environment_type": "prod", "tcp": [tcp_spec("127.0.0.1", 1)]}, "unknown environment type 'prod'"),
        ({"queue": [queue_spec(name="q")]}, "queue q: give command, or sql and database"),
        ({"queue": [queue_spec(sql="SELECT 1")]}, "give command, or sql and database"),
        ({"systemd": [{"name": "s", "units": [], "impact": None}]}, "systemd s: units is empty"),
    ],
)
def test_run_checks_refuses_wrong_descriptions(params, message):
    with pytest.raises(hc.HealthCheckError, match=message):
        hc.run_checks(params, no_commands, now=NOW)
