# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""database role: PostgreSQL 15 with the application's database, reachable from the application subnet only."""

import ipaddress
import json
import time


def _psql(host, hostvars, address, sql):
    return host.run(
        "PGPASSWORD=%s PGCONNECT_TIMEOUT=5 psql -h %s -U %s -d %s -Atc %s",
        hostvars["database_password"], address, "oro", "oro", sql,
    )


def test_cluster_runs_and_starts_at_boot(host):
    assert host.service("postgresql@15-main").is_running
    assert host.service("postgresql").is_enabled


def test_app_user_logs_in_over_the_node_address(host, hostvars, address):
    result = _psql(host, hostvars, address, "SELECT current_user, current_database(), count(*) FROM oro_migrations")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "oro|oro|1"


def test_wrong_password_is_refused(host, address):
    result = host.run("PGPASSWORD=wrong psql -h %s -U oro -d oro -Atc 'SELECT 1'", address)
    assert result.rc != 0
    assert "password authentication failed" in result.stderr


def test_listens_only_on_the_node_address_and_localhost(host, address):
    out = host.check_output("ss -ltnH 'sport = :5432'")
    local = {line.split()[3].rsplit(":", 1)[0].strip("[]") for line in out.splitlines()}
    assert address in local
    assert local <= {address, "127.0.0.1", "::1"}, local


def test_pg_hba_lets_the_app_user_in_from_the_application_subnet_only(host, hostvars):
    rows = json.loads(host.check_output(
        "runuser -u postgres -- psql -Atc %s",
        "SELECT coalesce(json_agg(r), '[]') FROM (SELECT type, database, user_name, address, netmask, auth_method,"
        " error FROM pg_hba_file_rules WHERE type <> 'local') r",
    ))
    assert all(r["error"] is None for r in rows)
    subnet = ipaddress.ip_network(hostvars["orocloud_network"]["application"])
    remote = [r for r in rows if r["address"] not in ("127.0.0.1", "::1")]
    assert remote == [{
        "type": "host", "database": ["oro"], "user_name": ["oro"], "address": str(subnet.network_address),
        "netmask": str(subnet.netmask), "auth_method": "scram-sha-256", "error": None,
    }]


def test_health_fails_while_the_database_is_down_and_recovers(host, address):
    host.check_output("systemctl stop postgresql@15-main")
    try:
        result = host.run("curl -s -w '\\n%%{http_code}' http://%s/health", address)
        body, status = result.stdout.rsplit("\n", 1)
        assert status == "503"
        health = json.loads(body)
        assert health["status"] == "fail"
        assert health["database"] == "unreachable"
    finally:
        host.check_output("systemctl start postgresql@15-main")
    for _attempt in range(30):
        if host.run("curl -sf http://%s/health", address).rc == 0:
            break
        time.sleep(1)
    assert json.loads(host.check_output("curl -s http://%s/health", address))["status"] == "ok"
