# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Seconds per task per host of a converged (no-op) orocloud.ops.site run on the lab.

Runs the lab's converge (site.yml) on the already converged lab twice in the same run:

- with the collection's recommended ansible.cfg (pipelining, forks 10, ControlPersist, smart gathering),
- with ansible-core's defaults (the baseline; only the lab's SSH settings kept),

and prints, for each, the wall time, the task results from the play recap, and two figures:

- seconds per task per host = wall time / (tasks x hosts), i.e. / all task results of the run: what one
  task on one host costs when the run drives every host at once (goal: <= 0.3 s with the recommended
  settings; the common figure for Ansible is 0.6-0.7 s);
- seconds per task as one host sees it = wall time / (task results / hosts): how long a host waits per
  task of its own, which the controller's cores bound when many hosts run at once.

Not a test: nothing fails.

    make lab-up && .venv/bin/python benchmarks/site_noop.py [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INVENTORY = ROOT / "inventories" / "lab" / "lab.orocloud.yml"
CONVERGE = ROOT / "molecule" / "lab" / "converge.yml"
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)")


def run(config: Path) -> tuple[float, dict[str, tuple[int, ...]]]:
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(config),
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
        ANSIBLE_NOCOLOR="1",
        MOLECULE_PROJECT_DIRECTORY=str(ROOT),
    )
    env.setdefault("OROCLOUD_LAB_DIR", str(ROOT / ".build" / "lab"))
    start = time.monotonic()
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(INVENTORY), str(CONVERGE)],
        check=False, capture_output=True, text=True, env=env,
    )
    wall = time.monotonic() - start
    if result.returncode != 0:
        sys.exit("the site run failed (is the lab up and converged? make lab-up):\n" + result.stdout[-3000:])
    recap = {}
    for line in result.stdout.splitlines():
        match = RECAP.match(line)
        if match and match.group(1) != "localhost":
            recap[match.group(1)] = tuple(int(g) for g in match.groups()[1:])
    return wall, recap


def figures(name: str, wall: float, recap: dict[str, tuple[int, ...]]) -> float:
    hosts = len(recap)
    results = sum(ok + skipped for ok, _changed, _unreachable, _failed, skipped in recap.values())
    changed = sum(r[1] for r in recap.values())
    per_task_per_host = wall / results
    per_host_task = wall / (results / hosts)
    print(f"  {name:<24} {wall:6.1f} s  {hosts} hosts  {results} task results ({results / hosts:.1f}/host)"
          f"  changed={changed}  {per_task_per_host:.3f} s/task/host  {per_host_task:.2f} s/task as one host sees it")
    return per_task_per_host


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each configuration (best is kept)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="orocloud-site-noop-") as tmp:
        baseline_cfg = Path(tmp) / "ansible.cfg"
        baseline_cfg.write_text("# ansible-core defaults\n[defaults]\n")
        print(f"converged no-op run of {CONVERGE.relative_to(ROOT)} on the lab, best of {args.repeat}")
        best = {}
        configs = (("recommended ansible.cfg", ROOT / "ansible.cfg"), ("ansible-core defaults", baseline_cfg))
        for name, config in configs:
            runs = [run(config) for _run in range(args.repeat)]
            wall, recap = min(runs, key=lambda r: r[0])
            best[name] = figures(name, wall, recap)
    ratio = best["recommended ansible.cfg"] / best["ansible-core defaults"]
    goal = "met" if best["recommended ansible.cfg"] <= 0.3 else "not met"
    print(f"  ratio recommended / defaults: {ratio:.2f}; goal <= 0.3 s per task per host: {goal}")


if __name__ == "__main__":
    main()
