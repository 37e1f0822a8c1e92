# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""web role: nginx + php-fpm serve the current release; maintenance page; websocket proxy; dev mode per profile."""

import json


def _get(host, url):
    """(status, headers lower-cased, body) of a GET from inside the node."""
    out = host.check_output("curl -s -i --max-time 10 %s", url)
    head, _blank, body = out.replace("\r\n", "\n").partition("\n\n")
    lines = head.splitlines()
    headers = {k.strip().lower(): v.strip() for k, _colon, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def test_nginx_configuration_is_valid(host):
    result = host.run("nginx -t")
    assert result.rc == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_listens_on_the_node_address_and_localhost(host, address):
    out = host.check_output("ss -ltnH 'sport = :80'")
    assert {line.split()[3] for line in out.splitlines()} == {"%s:80" % address, "127.0.0.1:80"}


def test_php_fpm_runs_the_application_pool(host):
    assert host.service("php8.2-fpm").is_running
    assert host.service("php8.2-fpm").is_enabled
    socket = host.file("/run/php/php8.2-fpm-oro.sock")
    assert socket.is_socket
    assert socket.user == "www-data"
    assert not host.file("/etc/php/8.2/fpm/pool.d/www.conf").exists
    assert host.run("php-fpm8.2 -t").rc == 0


def test_health_version_and_home_page(host, name, hostvars, address):
    version = hostvars["orocloud_application_version"]
    status, headers, body = _get(host, "http://%s/health" % address)
    assert status == 200
    assert headers["content-type"] == "application/json"
    health = json.loads(body)
    assert health["status"] == "ok"
    assert health["version"] == version
    assert health["database"] == "ok"
    assert health["host"] == name

    status, _headers, body = _get(host, "http://%s/version" % address)
    assert (status, body.strip()) == (200, version)

    status, _headers, body = _get(host, "http://127.0.0.1/")
    assert status == 200
    assert '<b id="version">%s</b>' % version in body
    assert '<b id="host">%s</b>' % name in body


def test_only_the_front_controller_runs(host, address):
    assert _get(host, "http://%s/index.php" % address)[0] == 404
    assert _get(host, "http://%s/../src/App.php" % address)[0] == 404
    assert _get(host, "http://%s/no/such/page" % address)[0] == 404


def test_maintenance_flag_switches_the_static_maintenance_page(host, address, console):
    flag = host.file("/var/www/oro/shared/maintenance.flag")
    assert not flag.exists
    assert console("oro:maintenance:lock").rc == 0
    try:
        assert flag.exists
        for path in ("/", "/health", "/rows/count"):
            status, headers, body = _get(host, "http://%s%s" % (address, path))
            assert status == 503
            assert headers["retry-after"] == "600"
            assert "be back soon" in body
    finally:
        assert console("oro:maintenance:unlock").rc == 0
    assert not flag.exists
    assert _get(host, "http://%s/health" % address)[0] == 200


def test_websocket_is_proxied(host, address):
    out = host.run(
        "curl -s -i -N --max-time 2 -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' "
        "-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' http://%s/ws", address,
    ).stdout
    assert out.startswith("HTTP/1.1 101")
    assert "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in out


def test_dev_mode_where_the_profile_allows_it(host, hostvars, address):
    assert hostvars["orocloud_profile"]["dev_mode_allowed"] is True
    assert "env[ORO_ENV] = dev" in host.file("/etc/php/8.2/fpm/pool.d/oro.conf").content_string
    assert json.loads(_get(host, "http://%s/health" % address)[2])["env"] == "dev"


PROFILE_WITHOUT_DEV_MODE = json.dumps({
    "orocloud_profile": {
        "dev_mode_allowed": False, "mail": "allow_list", "mail_allow_list": [], "backups": {"daily": 14},
        "disaster_recovery": False, "data": "sanitized",
    },
})

WEB_PLAYBOOK = """
- name: Web role with another profile
  hosts: role_web
  become: true
  gather_facts: false
  roles:
    - role: orocloud.ops.web
"""


def test_dev_mode_is_refused_where_the_profile_forbids_it(playbook):
    rc, out = playbook(WEB_PLAYBOOK, "--check", "-e", PROFILE_WITHOUT_DEV_MODE, "-e", '{"web_dev_mode": true}')
    assert rc != 0
    assert "the application's dev mode is not allowed" in out


def test_dev_mode_is_off_by_default_where_the_profile_forbids_it(playbook):
    rc, out = playbook(WEB_PLAYBOOK, "--check", "--diff", "-e", PROFILE_WITHOUT_DEV_MODE)
    assert rc == 0, out
    assert "-env[ORO_ENV] = dev" in out
    assert "+php_admin_flag[display_errors] = off" in out
