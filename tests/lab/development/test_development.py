"""A development environment converges with the same site playbook as production: the application
serves from the single host, dev-only parts are present, production-only parts are absent."""

import json

from labview import env_nodes, hostvars, node

(APP,) = env_nodes()


def test_the_single_host_serves_the_application_with_its_version():
    health = json.loads(node(APP).check_output("curl -s --max-time 5 http://127.0.0.1/health"))
    assert health["status"] == "ok"
    assert health["version"] == hostvars(APP)["orocloud_application_version"]
    assert health["database"] == "ok"


def test_dev_mode_is_on_where_the_profile_allows_it():
    assert hostvars(APP)["orocloud_profile"]["dev_mode_allowed"]
    pool = node(APP).file("/etc/php/8.2/fpm/pool.d/oro.conf").content_string
    assert "env[ORO_ENV] = dev" in pool


def test_production_only_parts_are_absent():
    host = node(APP)
    assert not host.package("haproxy").is_installed, "no load balancer on a development host"
    assert not host.file("/etc/nftables.d/orocloud-nat.nft").exists, "no NAT on a development host"
    assert not host.socket("tcp://0.0.0.0:443").is_listening


def test_services_of_every_role_run_on_the_one_host():
    host = node(APP)
    for unit in ("nginx", "php8.2-fpm", "postgresql", "redis-server", "rabbitmq-server", "oro-cron.timer"):
        assert host.service(unit).is_running, unit
