# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The load balancer as clients and operators meet it: real HTTP(S) requests inside the node (each
test from its own loopback source address, so that rate limits of one test do not touch another)
and from the controller to the node's address, the runtime API, HAProxy's own checks and logs."""

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import pytest
import testinfra
import yaml

SCENARIO = Path(__file__).resolve().parents[1]
ROLE_DEFAULTS = yaml.safe_load((SCENARIO.parents[1] / "roles" / "load_balancer" / "defaults" / "main.yml").read_text())
ENVIRONMENT = yaml.safe_load((SCENARIO / "inventory" / "environments" / "dev.yml").read_text())
NODE_NAME, NODE = next(iter(ENVIRONMENT["nodes"].items()))
CONTAINER = "%s-%s-%s" % (ENVIRONMENT["project"], ENVIRONMENT["environment"], NODE_NAME)
ADDRESS = NODE["address"]
SOCKET = "/run/haproxy/admin.sock"
# What converge.yml gives the role.
NAMES = ["shop.molb.test", "www.molb.test"]
BACKENDS = {"app-a", "app-b"}
OFFICE = "127.0.0.100"  # an allow rule of the access policy
UNLIMITED = "127.0.0.200"  # rate-limit allow-list
COMMON_RATE = 10
AJAX_RATE = 20


@pytest.fixture(scope="module")
def host():
    return testinfra.get_host("podman://" + CONTAINER)


def _header(line):
    name, value = line.split(":", 1)
    return name.strip().lower(), value.strip()


class Answer(NamedTuple):
    status: int
    headers: dict
    body: str


def curl(host, source, path="/", *options, name=NAMES[0]):
    """One HTTPS request from `source` inside the node."""
    cmd = [
        "curl", "-sS", "--max-time", "10", "--interface", source, "--cacert", "/etc/haproxy/tls/site.crt",
        "--resolve", "%s:443:127.0.0.1" % name, "--resolve", "%s:80:127.0.0.1" % name, "-D", "-",
        *options, "https://%s%s" % (name, path) if not path.startswith("http") else path,
    ]
    out = host.check_output(shlex.join(cmd))
    head, _sep, body = out.replace("\r\n", "\n").partition("\n\n")
    lines = head.splitlines()
    status = int(lines[0].split()[1])
    headers = dict(_header(line) for line in lines[1:])
    return Answer(status, headers, body)


def statuses(host, source, count, path="/", *options):
    """`count` requests in a row from `source`: their status codes, in order."""
    cmd = (
        "for i in $(seq %d); do curl -sk -o /dev/null -w '%%{http_code}\\n' --interface %s %s https://127.0.0.1%s; done"
        % (count, source, " ".join(shlex.quote(o) for o in options), shlex.quote(path))
    )
    return [int(code) for code in host.check_output(cmd).split()]


def backend_of(host, source, path="/"):
    answer = curl(host, source, path)
    assert answer.status == 200, answer.body
    return json.loads(answer.body)["backend"]


def admin(host, command):
    return host.check_output("echo %s | socat stdio %s" % (shlex.quote(command), SOCKET))


def server_states(host):
    """Server name -> (operational state, admin state) from the runtime API."""
    lines = admin(host, "show servers state web").splitlines()
    states = {}
    for line in lines:
        fields = line.split()
        if len(fields) > 6 and fields[1] == "web":
            states[fields[3]] = (int(fields[5]), int(fields[6]))
    return states


def forget(host, zone, source):
    """Clear a source's counter in a zone, so that a rerun within the period starts from zero."""
    admin(host, "clear table ratelimit_%s key ::ffff:%s" % (zone, source))


def journal(host, *options):
    return host.check_output("journalctl -u haproxy --no-pager -o cat %s" % " ".join(options))


def wait_for(predicate, timeout=30, step=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def test_configuration_is_valid(host):
    check = host.run("haproxy -c -f /etc/haproxy/haproxy.cfg")
    assert check.rc == 0, check.stderr
    assert "Configuration file is valid" in check.stdout


def test_haproxy_runs_and_listens_on_80_and_443_only(host):
    service = host.service("haproxy")
    assert service.is_running
    assert service.is_enabled
    # Besides SSH and the scenario's backends, only HAProxy's HTTP and HTTPS listen.
    ports = {line.split()[3].rsplit(":", 1)[1] for line in host.check_output("ss -Hltn").splitlines()}
    assert ports - {"22", "8081", "8082"} == {"80", "443"}


def test_https_alternates_between_both_backends(host):
    seen = [backend_of(host, "127.0.0.11") for n in range(4)]
    assert set(seen) == BACKENDS
    assert seen[0] != seen[1] and seen[0] == seen[2] and seen[1] == seen[3]


def test_backends_learn_the_client_and_the_scheme(host):
    reply = curl(host, "127.0.0.12", "/whoami")
    assert reply.status == 200
    answer = json.loads(reply.body)
    assert answer["x_forwarded_proto"] == "https"
    assert answer["x_forwarded_for"] == "127.0.0.12"


def test_https_from_the_controller_to_the_node_address(host, tmp_path):
    ca = tmp_path / "site.crt"
    ca.write_text(host.file("/etc/haproxy/tls/site.crt").content_string)
    out = subprocess.run(
        ["curl", "-sS", "--noproxy", "*", "--max-time", "10", "--cacert", str(ca),
         "-o", "/dev/null", "-w", "%{http_code}", "https://%s/" % ADDRESS],
        capture_output=True, text=True, check=False,
    )
    assert out.stdout == "200", out.stderr


def test_self_signed_certificate_covers_the_public_names(host):
    text = host.check_output("openssl x509 -in /etc/haproxy/tls/site.crt -noout -text")
    for name in NAMES:
        assert "DNS:" + name in text
    assert "IP Address:" + ADDRESS in text
    key = host.file("/etc/haproxy/tls/site.key")
    assert key.mode == 0o600 and key.user == "root"
    for name in NAMES:  # verified against the certificate, for each name
        assert curl(host, "127.0.0.13", "/", name=name).status == 200


@pytest.mark.parametrize(("version", "accepted"), [("-tls1_1", False), ("-tls1_2", True), ("-tls1_3", True)])
def test_tls_1_2_or_later(host, version, accepted):
    # SECLEVEL=0 lets the client offer TLS 1.1: the refusal is the server's.
    out = host.run("openssl s_client -connect 127.0.0.1:443 " + version + " -cipher 'DEFAULT:@SECLEVEL=0' </dev/null")
    assert ("Cipher is (NONE)" not in out.stdout) is accepted, out.stdout + out.stderr


def test_weak_ciphers_are_refused(host):
    out = host.run("openssl s_client -connect 127.0.0.1:443 -tls1_2 -cipher AES128-SHA </dev/null")
    assert "Cipher is (NONE)" in out.stdout


def test_http_only_redirects_to_https(host):
    out = host.check_output(shlex.join([
        "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "--interface", "127.0.0.14",
        "--resolve", "%s:80:127.0.0.1" % NAMES[0], "http://%s/some/page?x=1" % NAMES[0],
    ]))
    code, location = out.split()
    assert code in ("301", "308")
    assert location == "https://%s/some/page?x=1" % NAMES[0]


def test_hsts_on_every_https_answer(host):
    assert curl(host, "127.0.0.15").headers["strict-transport-security"].startswith("max-age=31536000")
    denied = curl(host, "127.0.0.15", "/", "-A", "sqlmap/1.7")
    assert denied.status == 451
    assert "strict-transport-security" in denied.headers


@pytest.mark.parametrize(("source", "path", "options", "expected"), [
    ("127.0.0.16", "/", ["-A", "sqlmap/1.7"], 451),  # blocked user agent
    ("127.0.0.16", "/", ["-A", "Mozilla/5.0 (compatible; Nikto/2.5)"], 451),
    ("127.0.0.16", "/.env", [], 451),  # blocked URI
    ("127.0.0.16", "/shared/.git/config", [], 451),
    ("127.0.0.16", "/admin/login", [], 451),
    ("127.0.0.16", "/product/1?q=.env", [], 200),  # the query string is not the path
    ("127.0.0.16", "/", ["-A", "Mozilla/5.0"], 200),
    (OFFICE, "/", ["-A", "sqlmap/1.7"], 200),  # an allow rule overrides every deny rule
    (OFFICE, "/admin/login", [], 200),
])
def test_access_policy(host, source, path, options, expected):
    answer = curl(host, source, path, *options)
    assert answer.status == expected, answer.body


def test_allow_listed_paths_are_never_rate_limited(host):
    forget(host, "common", "127.0.0.21")
    assert statuses(host, "127.0.0.21", 3 * COMMON_RATE, "/static/app.css") == [200] * (3 * COMMON_RATE)
    assert statuses(host, "127.0.0.21", COMMON_RATE, "/health") == [200] * COMMON_RATE
    # ... nor counted: the same source still has its whole budget for other paths.
    assert statuses(host, "127.0.0.21", COMMON_RATE) == [200] * COMMON_RATE


def test_a_burst_beyond_the_rate_gets_429_while_others_are_served(host):
    forget(host, "common", "127.0.0.22")
    codes = statuses(host, "127.0.0.22", 2 * COMMON_RATE + 5)
    assert codes[:COMMON_RATE] == [200] * COMMON_RATE
    assert codes[COMMON_RATE:] == [429] * (COMMON_RATE + 5)
    limited = curl(host, "127.0.0.22")
    assert limited.status == 429
    assert limited.headers["retry-after"] == "10"
    # Another source, and an allow-listed one, are served meanwhile.
    assert curl(host, "127.0.0.23").status == 200
    forget(host, "common", UNLIMITED)
    assert statuses(host, UNLIMITED, 3 * COMMON_RATE) == [200] * (3 * COMMON_RATE)


def test_ajax_zone_has_its_own_budget_and_status(host):
    forget(host, "ajax", "127.0.0.24")
    codes = statuses(host, "127.0.0.24", AJAX_RATE + 5, "/", "-H", "X-Requested-With: XMLHttpRequest")
    assert codes[:AJAX_RATE] == [200] * AJAX_RATE
    assert codes[AJAX_RATE:] == [503] * 5


def test_denials_are_logged_at_warning_without_secrets(host):
    curl(host, "127.0.0.25", "/checkout?token=QUERYSECRET", "-A", "sqlmap/1.7",
         "-H", "Cookie: session=COOKIESECRET", "-H", "Authorization: Bearer HEADERSECRET")
    assert wait_for(lambda: "access=scanners" in journal(host, "-p", "warning", "--since", "-1min"))
    line = next(x for x in journal(host, "-p", "warning").splitlines() if x.startswith("127.0.0.25:"))
    assert "/checkout" in line and " 451 " in line
    everything = journal(host)
    for secret in ("QUERYSECRET", "COOKIESECRET", "HEADERSECRET"):
        assert secret not in everything
    assert "limited=common" in journal(host, "-p", "warning")


def test_admin_socket_is_root_only(host):
    sock = host.file(SOCKET)
    assert sock.is_socket
    assert sock.mode == 0o600 and sock.user == "root"


def test_drain_takes_a_server_out_of_rotation_and_ready_puts_it_back(host):
    try:
        assert admin(host, "set server web/app-a state drain").strip() == ""
        assert server_states(host)["app-a"][1] != 0
        assert {backend_of(host, "127.0.0.31") for n in range(6)} == {"app-b"}
        # A reload (a configuration change) keeps the server drained.
        host.check_output("systemctl reload haproxy")
        assert wait_for(lambda: "New worker" in journal(host, "--since", "-5s"), timeout=10)
        assert server_states(host)["app-a"][1] != 0
        assert {backend_of(host, "127.0.0.37") for n in range(4)} == {"app-b"}
        admin(host, "set server web/app-a state ready")
        assert server_states(host)["app-a"][1] == 0
        assert {backend_of(host, "127.0.0.32") for n in range(4)} == BACKENDS
        admin(host, "set server web/app-b state maint")
        assert {backend_of(host, "127.0.0.33") for n in range(4)} == {"app-a"}
    finally:
        admin(host, "set server web/app-a state ready")
        admin(host, "set server web/app-b state ready")
    assert {backend_of(host, "127.0.0.34") for n in range(4)} == BACKENDS


def test_a_failing_health_check_takes_a_server_out(host):
    up, down = 2, 0
    try:
        host.check_output("touch /run/molb-backend-app-b.down")
        assert wait_for(lambda: server_states(host)["app-b"][0] == down)
        assert {backend_of(host, "127.0.0.35") for n in range(4)} == {"app-a"}
    finally:
        host.check_output("rm -f /run/molb-backend-app-b.down")
    assert wait_for(lambda: server_states(host)["app-b"][0] == up)
    assert {backend_of(host, "127.0.0.36") for n in range(4)} == BACKENDS


def converge(*options):
    """The scenario's converge playbook again, with `options` (e.g. extra vars): its output."""
    out = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"),
         "-i", str(SCENARIO / "inventory" / "load_balancer.orocloud.yml"), str(SCENARIO / "converge.yml"), *options],
        capture_output=True, text=True, env=dict(os.environ), check=False,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout


def test_without_explicit_backends_the_web_nodes_of_the_environment_are_the_pool():
    """A dry run without load_balancer_backends: the pool becomes this environment's role_web hosts,
    named after their inventory host names, at their orocloud_address, port 80."""
    out = converge("--check", "--diff", "-e", json.dumps({"load_balancer_backends": []}))
    assert "+    server %s %s:80" % (CONTAINER, ADDRESS) in out
    assert "-    server app-a 127.0.0.1:8081" in out


def test_the_default_waf_is_valid_and_blocks_what_it_says(host):
    """The role's own access policy and zones (converge.yml overrides them), applied for real."""
    waf = {k: v for k, v in ROLE_DEFAULTS.items() if k.startswith(("load_balancer_access", "load_balancer_rate_limit"))}
    try:
        converge("-e", json.dumps(waf))
        assert host.run("haproxy -c -f /etc/haproxy/haproxy.cfg").rc == 0
        assert "backend ratelimit_crawlers" in host.file("/etc/haproxy/haproxy.cfg").content_string
        for path, agent, expected in [
            ("/", "sqlmap/1.7#stable (https://sqlmap.org)", 451),
            ("/", "Mozilla/5.0 zgrab/0.x", 451),
            ("/.env", "Mozilla/5.0", 451),
            ("/.git/HEAD", "Mozilla/5.0", 451),
            ("/wp-login.php", "Mozilla/5.0", 451),
            ("/.well-known/security.txt", "Mozilla/5.0", 200),
            ("/product/1", "Mozilla/5.0 (Linux; Android 10; CUBOT X30)", 200),
            ("/product/1", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 200),
        ]:
            assert curl(host, "127.0.0.43", path, "-A", agent).status == expected, (path, agent)
        forget(host, "crawlers", "127.0.0.44")
        codes = statuses(host, "127.0.0.44", 12, "/", "-A", "Mozilla/5.0 (compatible; AhrefsBot/7.0)")
        assert codes == [200] * 10 + [429] * 2
    finally:
        converge()


def test_a_provided_certificate_is_served_and_its_key_never_shown(host, tmp_path):
    cert, key = tmp_path / "provided.crt", tmp_path / "provided.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=provided.molb.test",
         "-addext", "subjectAltName=DNS:provided.molb.test", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    secret = "".join(key.read_text().splitlines()[1:-1])[:64]
    provided = {"load_balancer_tls_certificate_src": str(cert), "load_balancer_tls_private_key_src": str(key)}
    try:
        out = converge("--diff", "-e", json.dumps(provided))
        assert secret not in out
        assert "provided.molb.test" in host.check_output(
            "openssl s_client -connect 127.0.0.1:443 -servername provided.molb.test </dev/null 2>/dev/null"
            " | openssl x509 -noout -subject")
        assert host.file("/etc/haproxy/tls/site.key").mode == 0o600
        assert curl(host, "127.0.0.41", "/", name="provided.molb.test").status == 200
    finally:
        converge()  # back to the self-signed certificate
    assert curl(host, "127.0.0.42", "/", name=NAMES[0]).status == 200
