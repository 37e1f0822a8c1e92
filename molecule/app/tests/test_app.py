# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""app role: release layout, configuration, schema, consumers, cron, websocket; the release is checked first."""

import json
import time

from conftest import ROOT as REPO

ROOT = "/var/www/oro"


def _json(host, url):
    return json.loads(host.check_output("curl -s --max-time 10 %s", url))


def test_release_layout(host, hostvars):
    version = hostvars["orocloud_application_version"]
    current = host.file(ROOT + "/current")
    assert current.is_symlink
    assert current.linked_to == "%s/releases/%s" % (ROOT, version)
    release = host.file("%s/releases/%s" % (ROOT, version))
    assert (release.user, release.mode) == ("root", 0o755)
    assert host.file(release.path + "/VERSION").content_string.strip() == version
    assert host.file(release.path + "/bin/console").user == "root"
    for path, target in (("var", "var"), ("public/media", "public/media"), (".env-app.local", ".env-app.local")):
        link = host.file("%s/%s" % (release.path, path))
        assert link.is_symlink
        assert link.linked_to == "%s/shared/%s" % (ROOT, target)
    shared = host.file(ROOT + "/shared")
    assert (shared.user, shared.group, shared.mode) == ("root", "www-data", 0o1775)
    assert host.file(ROOT + "/shared/var/cache/prod").is_directory


def test_configuration_file(host, address):
    config = host.file(ROOT + "/shared/.env-app.local")
    assert (config.user, config.group, config.mode) == ("root", "www-data", 0o640)
    settings = dict(line.split("=", 1) for line in config.content_string.splitlines() if line and line[0] != "#")
    assert settings["ORO_ENV"] == "prod"
    assert settings["ORO_DB_URL"].startswith("postgres://oro:")
    assert settings["ORO_DB_URL"].endswith("@%s:5432/oro" % address)
    assert settings["ORO_MQ_DSN"] == "dbal:"
    assert settings["ORO_MAINTENANCE_FLAG"] == ROOT + "/shared/maintenance.flag"
    assert "ORO_APP_VERSION" not in settings


def test_no_mail_leaves_a_development_environment(host, console):
    config = host.file(ROOT + "/shared/.env-app.local").content_string
    assert "ORO_MAILER_POLICY=none" in config
    assert "ORO_MAILER_DSN=null://null" in config
    out = console("oro:email:send-test", "--to=someone@example.com").stdout
    assert out.startswith("not sent: outgoing mail is off")


def test_schema_is_installed_and_clean(console, hostvars):
    assert console("oro:platform:version").stdout.strip() == "OroCommerce " + hostvars["orocloud_application_version"]
    assert console("oro:migration:load", "--dry-run").stdout.strip() == "No migrations to execute."
    assert console("oro:entity-extend:update", "--dry-run").stdout.startswith("Nothing to update")
    sanitize = console("oro:sanitize:dump-sql").stdout
    assert "UPDATE oro_customer_user SET email = " in sanitize
    assert "md5(random()::text)" in sanitize


def test_rows_are_written_and_counted(host, address):
    before = _json(host, "http://%s/rows/count" % address)
    row_id = before["max_id"] + 1
    written = json.loads(host.check_output("curl -s -X POST -d id=%s http://%s/rows", str(row_id), address))
    assert written == {"id": row_id, "written": True, "host": written["host"]}
    again = _json(host, "http://%s/rows/write?id=%s" % (address, row_id))
    assert again["written"] is False
    after = _json(host, "http://%s/rows/count" % address)
    assert after == {"count": before["count"] + 1, "max_id": row_id}


QUEUES = ("oro.default", "oro.index", "oro.integration", "oro.system")


def test_consumers_run_per_queue_and_consume(host, address):
    for queue in QUEUES:
        consumer = host.service("oro-consumer-%s@1" % queue)
        assert consumer.is_running
        assert consumer.is_enabled
        unit = host.check_output("systemctl cat oro-consumer-%s@1", queue)
        assert "oro:message-queue:consume --env=prod" in unit
        assert unit.split("ExecStart=")[1].splitlines()[0].endswith(" " + queue)
        assert not host.file("/etc/systemd/system/multi-user.target.wants/oro-consumer-%s@2.service" % queue).exists
    # Writing a row queues a message on oro.default, oro:cron one on oro.system: both get consumed.
    host.check_output("systemctl start oro-cron.service")
    host.check_output("curl -s http://%s/rows/write", address)
    for _attempt in range(20):
        if _json(host, "http://%s/health" % address)["messages_pending"] == 0:
            break
        time.sleep(0.5)
    assert _json(host, "http://%s/health" % address)["messages_pending"] == 0


def test_cron_timer_runs_oro_cron(host, hostvars, address):
    timer = host.service("oro-cron.timer")
    assert timer.is_running
    assert timer.is_enabled
    count = "SELECT count(*) FROM oro_cron_run"
    psql = "PGPASSWORD=%s psql -h %s -U oro -d oro -Atc %s"
    before = int(host.check_output(psql, hostvars["database_password"], address, count))
    host.check_output("systemctl start oro-cron.service")
    assert int(host.check_output(psql, hostvars["database_password"], address, count)) == before + 1


def test_websocket_server_runs_on_localhost(host):
    assert host.service("oro-websocket").is_running
    assert host.service("oro-websocket").is_enabled
    assert host.socket("tcp://127.0.0.1:8080").is_listening


APP_PLAYBOOK = """
- name: App role with another release
  hosts: role_web:role_consumer:role_cron
  become: true
  gather_facts: false
  roles:
    - role: orocloud.ops.app
"""


def _artifact(version):
    return str(REPO / ".build" / "releases" / ("orocommerce-demo-%s.tar.gz" % version))


def test_release_with_a_wrong_checksum_is_refused_before_anything_changes(host, playbook):
    rc, out = playbook(
        APP_PLAYBOOK, "-e", json.dumps({
            "app_release_version": "6.1.1",
            "app_release_artifact": _artifact("6.1.1"),
            "app_release_checksum": "0" * 64,
        }),
    )
    assert rc != 0
    assert "is not the expected %s. Nothing was changed." % ("0" * 64) in out
    assert not host.file(ROOT + "/releases/6.1.1").exists


def test_release_of_another_version_is_refused_before_anything_changes(host, playbook):
    rc, out = playbook(
        APP_PLAYBOOK, "-e", json.dumps({"app_release_version": "6.1.2", "app_release_artifact": _artifact("6.1.1")}),
    )
    assert rc != 0
    assert "holds release 6.1.1, not 6.1.2. Nothing was changed." in out
    assert not host.file(ROOT + "/releases/6.1.2").exists


def test_units_follow_the_node_roles(host, hostvars, playbook):
    """Without the consumer and cron roles the node runs neither; with them back, both run again."""
    units = "/etc/systemd/system/"
    web_only = [r for r in hostvars["orocloud_roles"] if r not in ("consumer", "cron")]
    rc, out = playbook(APP_PLAYBOOK, "-e", json.dumps({"orocloud_roles": web_only}))
    try:
        assert rc == 0, out
        for queue in QUEUES:
            assert not host.service("oro-consumer-%s@1" % queue).is_running
            assert not host.file(units + "multi-user.target.wants/oro-consumer-%s@1.service" % queue).exists
            assert not host.file(units + "oro-consumer-%s@.service" % queue).exists
        for unit in ("oro-cron.timer", "oro-cron.service"):
            assert not host.file(units + unit).exists
        assert host.service("oro-websocket").is_running
    finally:
        only_default = [{"queue": "oro.default", "consumers": 2}]
        rc, out = playbook(APP_PLAYBOOK, "-e", json.dumps({"app_consumers": only_default}))
    assert rc == 0, out
    assert host.service("oro-consumer-oro.default@1").is_running
    assert host.service("oro-consumer-oro.default@2").is_running
    assert not host.service("oro-consumer-oro.index@1").is_running
    assert not host.file(units + "oro-consumer-oro.index@.service").exists
    assert host.service("oro-cron.timer").is_running
    rc, out = playbook(APP_PLAYBOOK)
    assert rc == 0, out
    assert not host.service("oro-consumer-oro.default@2").is_running
    for queue in QUEUES:
        assert host.service("oro-consumer-%s@1" % queue).is_running
        assert host.service("oro-consumer-%s@1" % queue).is_enabled


def test_a_bad_queue_name_stops_the_role_before_anything_changes(host, playbook):
    units = host.check_output("ls /etc/systemd/system")
    rc, out = playbook(APP_PLAYBOOK, "-e", json.dumps({"app_consumers": [{"queue": "oro index", "consumers": 1}]}))
    assert rc != 0
    assert "app_consumers[0]: queue name 'oro index' may hold only letters, digits" in out
    assert host.check_output("ls /etc/systemd/system") == units
