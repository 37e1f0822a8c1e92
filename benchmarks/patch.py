# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the patch playbook costs on the lab, against the same work done by hand in the same run.

Measured on the running lab (make lab-up), each case starting from a reset environment (every node on the
release, the database recreated and installed by that release, every web node in rotation):

1. baseline: the load generator on the client node through the load balancer, no patch: requests, failures,
   p99 latency;
2. rolling 6.1.0 -> 6.1.1 by hand: for each web node in turn, the unavoidable steps and nothing else — drain
   in HAProxy and wait until it is idle, switch `current`, reload php-fpm, warm the cache up, restart the
   node's consumers and websocket server, wait for /health, put it back and wait until HAProxy sees it up —
   each step a direct command (podman exec), no Ansible;
3. rolling 6.1.0 -> 6.1.1 with orocloud.ops.patch (plan, lock, dry-runs, the same steps, records) under the
   same load: wall time, failures, p99;
4. scheduled downtime 6.1.1 -> 6.1.2 by hand (maintenance on, services stopped, switch everywhere,
   oro:platform:update once, reload, warm-up, services started, maintenance off) and 5. with the playbook:
   the downtime window as the client sees it (first to last 503 of one client on the client node
   polling through the load balancer every 20 ms).

Prints the figures and the ratios: rolling wall time / the hand-made steps (goal <= 1.3) and downtime window /
the hand-made window, i.e. the application's own update and restart (goal <= 1.2). The playbook's own time is
about fixed, while the lab's demo application does its steps in about a second: the script also prints how long
the application's own steps would have to take for each goal to hold. Cases 2 to 5 run `--repeat` times (3 by
default, about 2 minutes each), and each figure is the median of the runs, with the runs' own figures beside it:
a busy 2-core machine moves a single run's figures by a fifth. Not a test: nothing fails.

    make lab-up && .venv/bin/python benchmarks/patch.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INVENTORY = ROOT / "inventories" / "lab" / "lab.orocloud.yml"
RELEASES = ROOT / ".build" / "releases"
LAB = "orolab"
LB, CLIENT, CRON = LAB + "-prod-lb1", LAB + "-client1", LAB + "-prod-web1"
WEB = [LAB + "-prod-web%d" % n for n in (1, 2, 3)]
URL = "https://10.231.0.10"
APP = "/var/www/oro"
CONSOLE = "runuser -u www-data -- /usr/bin/php8.2 %s/current/bin/console " % APP
SOCKET = "socat stdio /run/haproxy/admin.sock"
# Clients of the load generator: enough to keep every node busy, few enough to leave the controller a core.
CLIENTS = 3


def sh(container, script, check=True):
    result = subprocess.run(["podman", "exec", container, "sh", "-c", script], check=False, capture_output=True,
                            text=True)
    if check and result.returncode != 0:
        sys.exit("%s: %s failed: %s" % (container, script, result.stderr or result.stdout))
    return result.stdout


def reset(version):
    """Every node on `version`, a fresh database installed by it, services running, all web nodes in rotation."""
    for node in WEB:
        sh(node, "rm -f %s/shared/maintenance.flag %s/shared/maintenance.json /var/lib/orocloud/services.json; "
                 "ln -sfn %s/releases/%s %s/current.tmp && mv -T %s/current.tmp %s/current"
                 % (APP, APP, APP, version, APP, APP, APP))
    sh(CRON, "rm -f /var/lib/orocloud/locks/*.lock")
    recreate = "runuser -u postgres -- psql -qc 'DROP DATABASE IF EXISTS oro WITH (FORCE)' && " \
        "runuser -u postgres -- createdb -O oro oro"
    sh(LAB + "-prod-db1", recreate)
    sh(CRON, CONSOLE + "oro:platform:update --env=prod --force >/dev/null")
    for node in WEB:
        sh(node, "systemctl reload php8.2-fpm && systemctl restart 'oro-consumer-*@*' oro-websocket.service")
        sh(LB, "echo 'set server web/%s state ready' | %s" % (node, SOCKET))
    wait_up(WEB)


def server_state(node):
    """(sessions + queued requests, status) of a web node in HAProxy."""
    for line in sh(LB, "echo 'show stat web 4 -1' | %s" % SOCKET).splitlines():
        fields = line.split(",")
        if len(fields) > 17 and fields[1] == node:
            return int(fields[2] or 0) + int(fields[4] or 0), fields[17]
    raise SystemExit("%s is not a server of the backend web" % node)


def wait_up(nodes, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(server_state(n)[1] == "UP" for n in nodes):
            return
        time.sleep(0.1)
    raise SystemExit("not every web node came up: %s" % {n: server_state(n) for n in nodes})


class Load:
    """The lab's load generator on the client node, through the load balancer, until finish()."""

    def __init__(self, name, seconds=None, clients=CLIENTS, interval=0.0):
        self.out, self.stop = "/root/bench-%s.json" % name, "/root/bench-%s.stop" % name
        subprocess.run(["podman", "cp", str(ROOT / "tests" / "lab" / "loadgen.py"), CLIENT + ":/root/loadgen.py"],
                       check=True)
        sh(CLIENT, "rm -f %s %s" % (self.out, self.stop))
        args = ["--duration", str(seconds)] if seconds else ["--stop-file", self.stop]
        subprocess.run(["podman", "exec", "-d", CLIENT, "python3", "/root/loadgen.py", "--url", URL + "/health",
                        "--concurrency", str(clients), "--interval", str(interval), "--out", self.out, *args],
                       check=True, stdout=subprocess.DEVNULL)
        # podman exec -d returns when the process starts: let it send its first requests before the case begins.
        time.sleep(0.5)

    def finish(self):
        sh(CLIENT, "touch %s" % self.stop)
        for _attempt in range(1200):
            out = sh(CLIENT, "cat %s 2>/dev/null" % self.out, check=False)
            if out:
                return json.loads(out)
            time.sleep(0.5)
        raise SystemExit("the load generator did not finish")


class Window(Load):
    """One client polling the storefront through the load balancer every 20 ms, on the client node itself; the
    window is the first to the last failed request (503: maintenance)."""

    def __init__(self, name):
        super().__init__("window-" + name, clients=1, interval=0.02)

    def finish(self):
        span = super().finish()["failure_span"]
        return (span[1] - span[0]) if span else 0.0


def node_steps(node, version):
    """Switch, reload, warm-up, services, health on one node: one shell, each step timed there."""
    script = f"""
set -e
units=$(systemctl list-units --state=active --plain --no-legend 'oro-*' | awk '{{print $1}}')
systemctl stop $units
ln -sfn {APP}/releases/{version} {APP}/current.tmp && mv -T {APP}/current.tmp {APP}/current
systemctl reload php8.2-fpm
{CONSOLE} cache:warmup --env=prod >/dev/null
systemctl start $units
until curl -sf http://127.0.0.1/health | grep -q '"version":"{version}"'; do sleep 0.05; done
"""
    sh(node, script)


def rolling_by_hand(version):
    start = time.monotonic()
    for node in WEB:
        sh(LB, "echo 'set server web/%s state drain' | %s" % (node, SOCKET))
        while server_state(node)[0]:
            time.sleep(0.05)
        node_steps(node, version)
        sh(LB, "echo 'set server web/%s state ready' | %s" % (node, SOCKET))
        wait_up([node])
    return time.monotonic() - start


def downtime_by_hand(old, new):
    def on_all(script):
        threads = [threading.Thread(target=sh, args=(n, script)) for n in WEB]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    on_all(f"touch {APP}/shared/maintenance.flag; units=$(systemctl list-units --state=active --plain --no-legend "
           f"'oro-*' | awk '{{print $1}}'); echo $units > /root/bench-units; systemctl stop $units; "
           f"ln -sfn {APP}/releases/{new} {APP}/current.tmp && mv -T {APP}/current.tmp {APP}/current")
    sh(CRON, CONSOLE + "oro:platform:update --env=prod --force >/dev/null")
    on_all(f"systemctl reload php8.2-fpm && {CONSOLE} cache:warmup --env=prod >/dev/null"
           f" && systemctl start $(cat /root/bench-units)"
           f" && until curl -sf http://127.0.0.1/health | grep -q '\"version\":\"{new}\"'; do sleep 0.05; done"
           f" && rm -f {APP}/shared/maintenance.flag")
    wait_up(WEB)


def playbook(version, **extra):
    variables = {"patch_version": version, "patch_artifact": str(RELEASES / ("orocommerce-demo-%s.tar.gz" % version))}
    variables.update(extra)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"), ANSIBLE_NOCOLOR="1",
               MOLECULE_PROJECT_DIRECTORY=str(ROOT), USER=os.environ.get("USER", "benchmark"))
    env.setdefault("OROCLOUD_LAB_DIR", str(ROOT / ".build" / "lab"))
    start = time.monotonic()
    result = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(INVENTORY),
                             "orocloud.ops.patch", "-e", json.dumps(variables)],
                            check=False, capture_output=True, text=True, env=env, cwd=str(ROOT))
    wall = time.monotonic() - start
    if result.returncode != 0:
        sys.exit("the patch playbook failed:\n" + result.stdout[-3000:])
    return wall


def node_seconds(run_from):
    """Seconds of the nodes' own steps inside the playbook (orocloud.ops.app_switch: stop .. health), from the
    nodes' operation logs."""
    seconds = 0.0
    for node in WEB:
        for line in sh(node, "cat /var/log/orocloud/operations.log").splitlines():
            entry = json.loads(line)
            if (entry["operation"], entry["action"]) == ("release", "switch") and entry["time"] >= run_from \
                    and "seconds" in entry["details"]:
                seconds += float(entry["details"]["seconds"])
    return seconds


def load_line(name, result):
    return "%-34s %6d requests  %3d failed  %6.1f req/s  p99 %7.1f ms" % (
        name, result["requests"], result["failed"], result["rate"] or 0, result["latency_ms"]["p99"] or 0)


def main():
    repeat = _repeat()
    for name in [*WEB, LB, CLIENT]:
        if subprocess.run(["podman", "container", "exists", name], check=False).returncode != 0:
            sys.exit("the lab is not up: make lab-up")
    for version in ("6.1.0", "6.1.1", "6.1.2"):
        for node in WEB:
            if not sh(node, "test -d %s/releases/%s && echo yes" % (APP, version), check=False).strip():
                sys.exit("release %s is not unpacked on %s: run the lab's patch tests once, or patch to it" %
                         (version, node))

    reset("6.1.0")
    baseline = Load("baseline", seconds=30).finish()
    runs = [one_run(baseline) for _run in range(repeat)]
    reset("6.1.0")

    def median(key):
        return statistics.median(run[key] for run in runs)

    def spread(key, fmt="%.1f"):
        values = sorted(run[key] for run in runs)
        return "" if len(values) == 1 else "  (runs: %s)" % ", ".join(fmt % v for v in values)

    rolling, by_hand = median("rolling"), median("by_hand")
    window_playbook, window_by_hand = median("window_playbook"), median("window_by_hand")
    print("each figure the median of %d run%s, the runs' own figures in brackets" % (repeat, "s" * (repeat > 1)))
    print("load through the load balancer (GET /health, %d clients):" % CLIENTS)
    print("  " + load_line("baseline, no patch", baseline))
    for number, run in enumerate(runs, 1):
        print("  " + load_line("rolling by hand, run %d" % number, run["by_hand_load"]))
        print("  " + load_line("rolling, orocloud.ops.patch, run %d" % number, run["rolling_load"]))
    print("rolling 6.1.0 -> 6.1.1 on %d web nodes:" % len(WEB))
    print("  unavoidable steps by hand     %6.1f s%s" % (by_hand, spread("by_hand")))
    print("  orocloud.ops.patch            %6.1f s%s" % (rolling, spread("rolling")))
    print("  ratio to the steps by hand    %6.2f%s (goal <= 1.3)" % (
        median("rolling_ratio"), spread("rolling_ratio", "%.2f")))
    per_node = median("per_node")
    print("  its node-side steps (app_switch: stop..health, as the playbook ran them) %.1f s: wall time / them %.2f" % (
        per_node, rolling / per_node if per_node else float("inf")))
    added = rolling - by_hand
    print("  the playbook's own time (wall time - the steps by hand) %.1f s; the ratio would reach 1.3 with" % added)
    print("  application steps of %.1f s per node or more (these took %.1f s per node)" % (
        added / 0.3 / len(WEB), by_hand / len(WEB)))
    print("  failed requests during rolling: %s" % ", ".join(
        "%d of %d" % (run["rolling_load"]["failed"], run["rolling_load"]["requests"]) for run in runs))
    print("  p99 during rolling / baseline %6.2f%s" % (median("p99_ratio"), spread("p99_ratio", "%.2f")))
    print("scheduled downtime 6.1.1 -> 6.1.2 (window: first to last 503 seen by the client):")
    print("  update + restart by hand      %6.1f s%s" % (window_by_hand, spread("window_by_hand")))
    print("  orocloud.ops.patch            %6.1f s%s; whole run %.1f s" % (
        window_playbook, spread("window_playbook"), median("downtime_wall")))
    print("  ratio                         %6.2f%s (goal <= 1.2)" % (
        median("window_ratio"), spread("window_ratio", "%.2f")))
    print("  the playbook's own share of the window %.1f s; the ratio would reach 1.2 with an update and restart" % (
        window_playbook - window_by_hand))
    print("  of %.1f s or more (this one took %.1f s)" % ((window_playbook - window_by_hand) / 0.2, window_by_hand))


def one_run(baseline):
    """Rolling by hand and with the playbook, then downtime by hand and with the playbook: their figures."""
    reset("6.1.0")
    load = Load("by-hand")
    by_hand = rolling_by_hand("6.1.1")
    by_hand_load = load.finish()

    reset("6.1.0")
    load = Load("playbook")
    run_from = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    rolling = playbook("6.1.1")
    per_node = node_seconds(run_from)
    rolling_load = load.finish()

    reset("6.1.1")
    window = Window("by-hand")
    downtime_by_hand("6.1.1", "6.1.2")
    window_by_hand = window.finish()

    reset("6.1.1")
    window = Window("playbook")
    downtime_wall = playbook("6.1.2")
    window_playbook = window.finish()
    return {
        "by_hand": by_hand,
        "by_hand_load": by_hand_load,
        "rolling": rolling,
        "rolling_ratio": rolling / by_hand,
        "per_node": per_node,
        "rolling_load": rolling_load,
        "p99_ratio": rolling_load["latency_ms"]["p99"] / baseline["latency_ms"]["p99"],
        "window_by_hand": window_by_hand,
        "window_playbook": window_playbook,
        "window_ratio": window_playbook / window_by_hand if window_by_hand else float("inf"),
        "downtime_wall": downtime_wall,
    }


def _repeat():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each case; the figures are their medians")
    return max(1, parser.parse_args().repeat)


if __name__ == "__main__":
    main()
