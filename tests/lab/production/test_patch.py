"""LTS patches on the lab (orocloud.ops.patch): rolling with zero failed requests under load, scheduled
downtime with a migration and zero lost rows, the strategy `auto` picks, refusals, and fault injection
(a release failing its health check on one node, a migration failing part-way, the controller killed).

These tests change the deployed release, so they run last (conftest.py) and in this order: refusals and a
check-mode run on 6.1.0; 6.1.0 → 6.1.1 rolling under load; back to 6.1.0; faults (a) and (c) on 6.1.0 → 6.1.1;
refusals of rolling/source for 6.1.2; fault (b) and the downtime patch 6.1.1 → 6.1.2.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from labview import ROOT, hostvars, inventory_source, node, probes, with_role

RELEASES = ROOT / ".build" / "releases"
APP_ROOT = "/var/www/oro"
LOADGEN = "/tmp/orocloud-loadgen.py"
pytestmark = pytest.mark.patch


def _env():
    return dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        MOLECULE_PROJECT_DIRECTORY=str(ROOT),
        USER="lab-operator",
    )


def _args(version, **extra):
    variables = {"patch_version": version, "patch_artifact": str(RELEASES / ("orocommerce-demo-%s.tar.gz" % version)),
                 "patch_health_timeout": 30}
    variables.update(extra)
    return [str(Path(sys.executable).parent / "ansible-playbook"), "-i", inventory_source(), "orocloud.ops.patch",
            "-e", json.dumps(variables)]


def patch(version, *options, **extra):
    """Run the patch playbook (ansible-playbook ``options`` beside it); (returncode, output with blanks folded)."""
    result = subprocess.run(_args(version, **extra) + list(options), check=False, capture_output=True, text=True,
                            env=_env(), cwd=str(ROOT))
    return result.returncode, " ".join((result.stdout + result.stderr).split())


def web_nodes():
    return with_role("web")


def app_nodes():
    return sorted(set(with_role("web") + with_role("consumer") + with_role("cron")))


def current(name):
    return node(name).check_output("readlink -f %s/current", APP_ROOT).rsplit("/", 1)[-1]


def releases(name):
    return set(node(name).check_output("ls %s/releases", APP_ROOT).split())


def lb_states():
    """Server -> (admin state, operational state) from HAProxy's runtime API."""
    (lb,) = with_role("load_balancer")
    out = node(lb).check_output("echo 'show servers state web' | socat stdio /run/haproxy/admin.sock")
    states = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) > 6 and fields[0].isdigit():
            # srv_op_state 2 = running; srv_admin_state bit 0x08 = drain (set at runtime), 0x01/0x04 = maint.
            states[fields[3]] = (int(fields[6]), int(fields[5]))
    return states


def all_in_rotation():
    states = lb_states()
    return set(states) == set(web_nodes()) and all(admin == 0 and op == 2 for admin, op in states.values())


def wait_all_in_rotation(timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all_in_rotation():
        time.sleep(1)
    return lb_states()


def lock_held():
    (cron,) = with_role("cron")
    return node(cron).run("ls /var/lib/orocloud/locks/*.lock").rc == 0


def services(name):
    out = node(name).check_output("systemctl list-units --state=active --no-legend --plain 'oro-*' | awk '{print $1}'")
    return sorted(out.split())


def lb_url(path):
    (lb,) = with_role("load_balancer")
    return "https://%s%s" % (hostvars(lb)["orocloud_public_address"], path)


def client(command, *args):
    return node(probes()[0]).check_output(command, *args)


def write_rows(count):
    wait_all_in_rotation(60)
    for _row in range(count):
        json.loads(client("curl -sk --max-time 10 %s", lb_url("/rows/write")))
    return json.loads(client("curl -sk --max-time 10 %s", lb_url("/rows/count")))


def psql(sql):
    (db,) = with_role("database")
    return node(db).check_output("runuser -u postgres -- psql -d oro -Atc %s", sql)


def set_fault(name, faults):
    path = "%s/shared/var/demo-faults.json" % APP_ROOT
    if faults is None:
        node(name).check_output("rm -f %s", path)
    else:
        node(name).check_output("printf %%s %s > %s", json.dumps(faults), path)


class Load:
    """The bounded load generator on the client node (tests/lab/loadgen.py), through the load balancer."""

    def __init__(self, name, min_requests=10000, concurrency=6):
        self.name, self.out, self.stop = name, "/tmp/load-%s.json" % name, "/tmp/load-%s.stop" % name
        client_name = probes()[0]
        subprocess.run(["podman", "cp", str(ROOT / "tests" / "lab" / "loadgen.py"), client_name + ":" + LOADGEN],
                       check=True)
        client("rm -f %s %s", self.out, self.stop)
        subprocess.run(
            ["podman", "exec", "-d", client_name, "python3", LOADGEN, "--url", lb_url("/health"),
             "--concurrency", str(concurrency), "--min-requests", str(min_requests), "--stop-file", self.stop,
             "--max-seconds", "900", "--out", self.out],
            check=True,
        )

    def finish(self):
        client("touch %s", self.stop)
        for _attempt in range(600):
            if node(probes()[0]).run("test -f %s", self.out).rc == 0:
                return json.loads(client("cat %s", self.out))
            time.sleep(1)
        raise AssertionError("the load generator did not finish")


# ------------------------------------------------------------------------------------------ bad input

BAD_INPUTS = {
    "unknown version": ("9.9.9", {}, "9.9.9"),
    "downgrade": ("6.0.0", {}, "downgrade"),
    "forbidden LTS jump": ("7.1.0", {"patch_catalog": "@catalog"}, "jump"),
    "corrupt checksum": ("6.1.1", {"patch_checksum": "0" * 64}, "is not the expected " + "0" * 64),
    "window in the past": ("6.1.1", {"patch_window_start": "2026-01-01T00:00:00Z", "patch_window_duration": 60},
                           "is over"),
}


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    path = tmp_path_factory.mktemp("catalog") / "catalog.yml"
    path.write_text(
        'lines:\n  - {line: "7.1", released: 2026-09}\n'
        "releases:\n  - {version: 7.1.0, released: 2026-09-30, schema_change: true, reindex: required}\n"
    )
    return str(path)


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_refused_and_changes_nothing(case, catalog):
    version, extra, message = BAD_INPUTS[case]
    extra = {k: (catalog if v == "@catalog" else v) for k, v in extra.items()}
    before = {name: (current(name), releases(name)) for name in app_nodes()}
    rc, out = patch(version, **extra)
    assert rc != 0, out[-2000:]
    assert message in out, out[-2000:]
    assert "Nothing was changed" in out or "nothing was changed" in out.lower(), out[-2000:]
    assert {name: (current(name), releases(name)) for name in app_nodes()} == before
    assert all_in_rotation(), lb_states()
    assert not lock_held()
    for name in web_nodes():
        assert not node(name).file(APP_ROOT + "/shared/maintenance.flag").exists


def test_a_check_mode_run_says_what_it_would_do_and_changes_nothing():
    before = {name: (current(name), releases(name)) for name in app_nodes()}

    def logs():
        return {name: node(name).run("cat /var/log/orocloud/operations.log").stdout for name in app_nodes()}

    logs_before = logs()

    rc, out = patch("6.1.1", "--check")

    assert rc == 0, out[-3000:]
    assert "Check mode, nothing was changed: env_orolab_prod would be patched 6.1.0 → 6.1.1 with strategy rolling on" \
        in out, out[-3000:]
    assert "schema change: no" in out
    assert {name: (current(name), releases(name)) for name in app_nodes()} == before
    assert logs() == logs_before, "nothing recorded"
    assert not lock_held() and all_in_rotation(), lb_states()
    for name in app_nodes():
        assert node(name).run("ls /var/lib/orocloud/artifacts/*.tar.gz").rc != 0, "no tarball copied"
    # A refusal a real run would meet, met in check mode too.
    rc, out = patch("6.1.1", "--check", patch_checksum="0" * 64)
    assert rc != 0 and "is not the expected " + "0" * 64 in out, out[-2000:]


# ------------------------------------------------------------------------------------------ rolling

def test_rolling_patch_under_load_loses_no_request():
    assert {current(name) for name in app_nodes()} == {"6.1.0"}
    before = {name: services(name) for name in app_nodes()}
    load = Load("rolling")
    rc, out = patch("6.1.1")
    result = load.finish()
    assert rc == 0, out[-3000:]
    assert "6.1.0 → 6.1.1 (rolling)" in out
    assert result["requests"] >= 10000, result
    assert result["failed"] == 0, result["failures"][:10]
    assert {current(name) for name in app_nodes()} == {"6.1.1"}
    assert {name: services(name) for name in app_nodes()} == before, "consumers, cron and websocket back as they were"
    seen = {key.split("@")[0] for key in result["versions"]}
    assert seen == {"6.1.0", "6.1.1"}, result["versions"]
    assert wait_all_in_rotation() and all_in_rotation(), lb_states()
    assert not lock_held()
    (cron,) = with_role("cron")
    log = [json.loads(line) for line in node(cron).check_output("cat /var/log/orocloud/operations.log").splitlines()]
    mine = [e for e in log if (e["operation"], e["user"], e["details"].get("to")) == ("patch", "lab-operator", "6.1.1")]
    assert {e["action"] for e in mine} >= {"plan", "finish"}, mine
    run_id = [e for e in mine if e["action"] == "plan"][-1]["run_id"]  # this run's
    for name in app_nodes():
        lines = node(name).check_output("cat /var/log/orocloud/operations.log").splitlines()
        entries = [json.loads(line) for line in lines]
        key = ("release", "switch", run_id)
        (switch,) = [e for e in entries if (e["operation"], e["action"], e.get("run_id")) == key]
        details = switch["details"]
        assert (switch["user"], details["from"], details["to"]) == ("lab-operator", "6.1.0", "6.1.1"), switch
        assert set(details["steps"]) == {"stop", "switch", "reload", "warmup", "restore", "health"}, switch
    print("rolling under load:", json.dumps({k: result[k] for k in ("requests", "failed", "rate", "latency_ms")}))


def test_a_second_run_to_the_same_release_changes_nothing():
    before = {name: node(name).check_output("wc -l < /var/log/orocloud/operations.log") for name in app_nodes()}
    rc, out = patch("6.1.1")
    assert rc == 0, out[-3000:]
    assert "already at 6.1.1" in out
    assert {current(name) for name in app_nodes()} == {"6.1.1"}
    for name in app_nodes():
        lines = node(name).check_output("tail -n +%s /var/log/orocloud/operations.log", str(int(before[name]) + 1))
        actions = {json.loads(line)["operation"] + "/" + json.loads(line)["action"] for line in lines.splitlines()}
        assert not actions & {"release/switch", "services/stop", "maintenance/on"}, (name, actions)
    assert all_in_rotation(), lb_states()
    assert not lock_held()


def _back_to(version):
    """Test set-up only: every application node back on `version` (same schema), as a site run left it."""
    for name in app_nodes():
        node(name).check_output(
            "ln -sfn %s/releases/%s %s/current.tmp && mv -T %s/current.tmp %s/current",
            APP_ROOT, version, APP_ROOT, APP_ROOT, APP_ROOT,
        )
        node(name).check_output("systemctl reload php8.2-fpm && systemctl restart 'oro-consumer-*@*' oro-websocket")
    assert {current(name) for name in app_nodes()} == {version}


def test_a_release_failing_its_health_check_on_one_node_is_rolled_back_and_the_rollout_halts():
    _back_to("6.1.0")
    first, second = web_nodes()[0], web_nodes()[1]
    set_fault(second, {"health_fail": {"version": "6.1.1"}})
    load = Load("fault-health", min_requests=2000)
    try:
        rc, out = patch("6.1.1", patch_health_timeout=12)
    finally:
        set_fault(second, None)
        result = load.finish()
    assert rc != 0
    assert "The rollout of 6.1.1 stopped at %s" % second in out, out[-3000:]
    assert "runs 6.1.0 again and is back in rotation" in out
    assert current(first) == "6.1.1"
    assert current(second) == "6.1.0"
    assert all(current(name) == "6.1.0" for name in web_nodes()[2:]), "nodes after the failed one untouched"
    assert result["failed"] == 0, result["failures"][:10]
    assert wait_all_in_rotation() and all_in_rotation(), lb_states()
    assert not lock_held()


def test_a_controller_killed_mid_rollout_leaves_a_stale_lock_that_a_rerun_takes_over():
    second = web_nodes()[1]
    run = subprocess.Popen(_args("6.1.1"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(),
                           cwd=str(ROOT), start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and lb_states().get(second, (0, 0))[0] == 0:
            assert run.poll() is None, "the patch ended before %s was drained" % second
            time.sleep(0.2)
        assert lb_states()[second][0] != 0, "%s never drained" % second
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    assert lock_held()

    rc, out = patch("6.1.1")
    assert rc != 0
    assert "stale" in out.lower(), out[-3000:]

    rc, out = patch("6.1.1", patch_takeover=True)
    assert rc == 0, out[-3000:]
    assert {current(name) for name in app_nodes()} == {"6.1.1"}
    assert all_in_rotation(), lb_states()
    assert not lock_held()
    for name in app_nodes():
        assert not node(name).file("/var/lib/orocloud/services.json").exists


# ------------------------------------------------------------------------------------------ schema changes

@pytest.mark.parametrize("strategy", ["rolling", "source"])
def test_rolling_or_source_for_a_release_with_a_migration_is_refused(strategy):
    rc, out = patch("6.1.2", patch_strategy=strategy)
    assert rc != 0
    assert "patch_strategy=%s is refused for 6.1.1 → 6.1.2: the release changes the database schema" % strategy in out
    assert {current(name) for name in app_nodes()} == {"6.1.1"}
    assert all_in_rotation(), lb_states()
    assert not lock_held()


def test_a_check_mode_run_asks_an_unpacked_release_its_own_dry_runs():
    # The refusals above unpacked 6.1.2 beside 6.1.1: check mode asks it, read-only, which migrations it would run.
    (cron,) = with_role("cron")
    assert node(cron).file(APP_ROOT + "/releases/6.1.2/VERSION").exists
    before = {name: (current(name), releases(name), node(name).run("cat /var/log/orocloud/operations.log").stdout)
              for name in app_nodes()}

    rc, out = patch("6.1.2", "--check")
    assert rc == 0, out[-3000:]
    assert "would be patched 6.1.1 → 6.1.2 with strategy downtime on" in out and "schema change: yes." in out, \
        out[-3000:]
    assert "from the release catalog only" not in out
    rc, out = patch("6.1.2", "--check", patch_strategy="rolling")
    assert rc != 0 and "patch_strategy=rolling is refused for 6.1.1 → 6.1.2" in out, out[-3000:]
    assert "oro:migration:load --dry-run: List of migrations to execute:" in out, "the release's own answer"
    assert "6.1.2/0001_app_row_version" in out

    assert {name: (current(name), releases(name), node(name).run("cat /var/log/orocloud/operations.log").stdout)
            for name in app_nodes()} == before, "nothing switched, unpacked or recorded"
    assert not lock_held() and all_in_rotation(), lb_states()


def test_a_migration_failing_part_way_is_answered_by_a_restore():
    (cron,) = with_role("cron")
    rows = write_rows(5)
    set_fault(cron, {"migration_fail_after": "6.1.2/0001_app_row_version"})
    try:
        rc, out = patch("6.1.2")
    finally:
        set_fault(cron, None)
    assert rc != 0
    assert "The database was restored from" in out, out[-3000:]
    assert {current(name) for name in app_nodes()} == {"6.1.1"}
    assert all_in_rotation(), lb_states()
    assert psql("SELECT count(*) FROM information_schema.columns WHERE table_name = 'app_row' AND column_name = "
                "'version'") == "0", "the half-applied migration is gone"
    after = json.loads(client("curl -sk --max-time 10 %s", lb_url("/rows/count")))
    assert after["count"] >= rows["count"] and after["count"] == after["max_id"], (rows, after)
    for name in web_nodes():
        assert not node(name).file(APP_ROOT + "/shared/maintenance.flag").exists
        assert json.loads(node(name).check_output("curl -s http://127.0.0.1/health"))["status"] == "ok"
    assert wait_all_in_rotation() and all_in_rotation(), lb_states()
    assert not lock_held()


def test_auto_picks_a_scheduled_downtime_for_a_release_with_a_migration():
    rows = write_rows(5)
    before = {name: services(name) for name in app_nodes()}
    seen = []
    done = threading.Event()

    def watch():
        while not done.is_set():
            out = node(probes()[0]).run("curl -sk --max-time 5 -D - -o /tmp/page.html %s; cat /tmp/page.html",
                                        lb_url("/"))
            status = out.stdout.split(" ", 2)[1] if out.stdout.startswith("HTTP/") else "error"
            seen.append((status, "retry-after:" in out.stdout.lower(), "back soon" in out.stdout))
            time.sleep(0.5)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        rc, out = patch("6.1.2", patch_window_comment="lab downtime patch")
    finally:
        done.set()
        watcher.join()
    assert rc == 0, out[-3000:]
    assert "6.1.1 → 6.1.2 (downtime)" in out
    assert {current(name) for name in app_nodes()} == {"6.1.2"}
    maintenance = [s for s in seen if s[0] == "503"]
    assert maintenance, seen
    assert all(retry and page for _status, retry, page in maintenance), maintenance
    assert psql("SELECT count(*) FROM oro_migrations WHERE id = '6.1.2/0001_app_row_version'") == "1"
    after = json.loads(client("curl -sk --max-time 10 %s", lb_url("/rows/count")))
    assert after["count"] == after["max_id"] >= rows["max_id"], (rows, after)
    assert psql("SELECT count(*) FROM app_row WHERE version IS NULL") == "0", "rows written before were backfilled"
    assert {name: services(name) for name in app_nodes()} == before
    assert wait_all_in_rotation() and all_in_rotation(), lb_states()
    assert not lock_held()
    for name in web_nodes():
        assert not node(name).file(APP_ROOT + "/shared/maintenance.flag").exists
        # The window opened and closed inside the node's own two switch calls, declared with the run's comment.
        entries = [json.loads(line) for line in
                   node(name).check_output("cat /var/log/orocloud/operations.log").splitlines()]
        switches = [e for e in entries if (e["operation"], e["action"]) == ("release", "switch")
                    and e["details"].get("to") == "6.1.2" and e["result"] == "changed"][-2:]
        steps = [list(e["details"]["steps"]) for e in switches]
        assert steps == [["maintenance_on", "stop", "switch"],
                         ["reload", "warmup", "restore", "health", "maintenance_off"]], switches
        window = switches[0]["details"]["maintenance"]
        assert (window["comment"], window["user"]) == ("lab downtime patch", "lab-operator"), window
        assert window["duration"] and window["until"], window
