# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How fast is orocloud.ops.access_users against the builtin way, for 500 people with 2 keys each on one host?

Creates a throw-away lab node of its own (the `access_users` scenario's inventory and molecule/shared/create.yml,
project moacc; refused while that lab exists), then times in the same run, over SSH with pipelining:

1. one ``orocloud.ops.access_users`` call with 500 user records (``acc000``...), on a fresh host;
2. the builtin approach for 500 other users (``blt000``...): ``ansible.builtin.user`` and
   ``ansible.posix.authorized_key`` (``exclusive: true``) in a loop, on the same fresh host;
3. both again, when nothing has to change.

The keys are real Ed25519 public keys, made once with the ``cryptography`` package and cached in
``.build/benchmarks``. The figures are the task times Ansible reports (the ansible.posix.json callback),
without the start-up of ansible-playbook, which both approaches pay once; the wall time of each run is printed
as well. Prints the four figures and the two ratios; goal: >= 20x. Destroys the node at the end. Not a test:
nothing fails.

    .venv/bin/python benchmarks/access.py [--users 500] [--keep]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "molecule" / "access_users"
INVENTORY = SCENARIO / "inventory" / "access_users.orocloud.yml"
SHARED = ROOT / "molecule" / "shared"
BIN = Path(sys.executable).parent
CACHE = ROOT / ".build" / "benchmarks"
LAB = "moacc"
KEYS_PER_USER = 2
GOAL = 20

MODULE_PLAYBOOK = """\
- name: One orocloud.ops.access_users call
  hosts: orocloud
  gather_facts: false
  tasks:
    - name: access_users
      orocloud.ops.access_users:
        users: "{{ bench_records }}"
"""

BUILTIN_PLAYBOOK = """\
- name: The builtin approach, a loop of tasks
  hosts: orocloud
  gather_facts: false
  tasks:
    - name: ansible.builtin.user
      ansible.builtin.user:
        name: "{{ item.name }}"
        shell: /bin/bash
        create_home: true
        password: "*"
      loop: "{{ bench_users }}"
      loop_control:
        label: "{{ item.name }}"

    - name: ansible.posix.authorized_key
      ansible.posix.authorized_key:
        user: "{{ item.name }}"
        key: "{{ item['keys'] | join('\\n') }}"
        exclusive: true
      loop: "{{ bench_users }}"
      loop_control:
        label: "{{ item.name }}"
"""


def env(**extra):
    values = dict(
        os.environ,
        ANSIBLE_CONFIG=str(ROOT / "tests" / "ansible.cfg"),  # ansible-core defaults, then these:
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
        ANSIBLE_PIPELINING="True",
        ANSIBLE_NOCOLOR="True",
        CONTAINERS_CONF=str(ROOT / "lab" / "containers.conf"),
        MOLECULE_PROJECT_DIRECTORY=str(ROOT),
    )
    values.setdefault("OROCLOUD_LAB_DIR", str(ROOT / ".build" / "lab"))
    values.update(extra)
    return values


def keys(count):
    """``count`` real Ed25519 public keys in OpenSSH format, made once and cached."""
    cache = CACHE / ("access-ed25519-%d.json" % count)
    if cache.exists():
        return json.loads(cache.read_text())
    made = []
    for index in range(count):
        public = Ed25519PrivateKey.generate().public_key()
        text = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
        made.append("%s bench-%04d" % (text, index))
    CACHE.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(made))
    return made


def lab_exists():
    out = subprocess.run(["podman", "ps", "--all", "--filter", "label=orocloud-lab=" + LAB, "--format", "{{.Names}}"],
                         capture_output=True, text=True, check=True, env=env()).stdout
    return bool(out.strip())


def lab(playbook):
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(INVENTORY), str(SHARED / playbook)],
                          capture_output=True, text=True, env=env(), cwd=str(ROOT), check=False)
    if proc.returncode != 0:
        sys.exit("%s failed:\n%s\n%s" % (playbook, proc.stdout[-3000:], proc.stderr[-2000:]))


def _moment(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def play(workdir, name, text, extra_vars):
    """Run a playbook; return (seconds of its tasks as Ansible timed them, wall seconds, changed count)."""
    playbook = workdir / (name + ".yml")
    playbook.write_text(text)
    variables = workdir / (name + "-vars.json")
    variables.write_text(json.dumps(extra_vars))
    start = time.monotonic()
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(INVENTORY), str(playbook), "-e", "@" + str(variables)],
        capture_output=True, text=True, env=env(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"), cwd=str(workdir),
        check=False,
    )
    wall = time.monotonic() - start
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        sys.exit("%s printed no JSON:\n%s\n%s" % (name, proc.stdout[-3000:], proc.stderr[-3000:]))
    if proc.returncode != 0:
        failures = [t["hosts"] for p in data["plays"] for t in p["tasks"]
                    if any(h.get("failed") for h in t["hosts"].values())]
        sys.exit("%s failed: %s" % (name, json.dumps(failures)[:3000]))
    tasks = 0.0
    for run in data["plays"]:
        for task in run["tasks"]:
            duration = task["task"]["duration"]
            tasks += (_moment(duration["end"]) - _moment(duration["start"])).total_seconds()
    changed = sum(stats["changed"] for stats in data["stats"].values())
    return tasks, wall, changed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--users", type=int, default=500, help="people per approach (default 500)")
    parser.add_argument("--keep", action="store_true", help="leave the lab node up afterwards")
    args = parser.parse_args()

    public_keys = keys(args.users * KEYS_PER_USER)
    pairs = [public_keys[i * KEYS_PER_USER:(i + 1) * KEYS_PER_USER] for i in range(args.users)]
    records = [{"name": "acc%03d" % i, "ssh_keys": [{"key": k} for k in pair]} for i, pair in enumerate(pairs)]
    builtin_users = [{"name": "blt%03d" % i, "keys": pair} for i, pair in enumerate(pairs)]

    if lab_exists():
        sys.exit("the %s lab exists (molecule scenario access_users?): destroy it first "
                 "(molecule destroy -s access_users)" % LAB)
    print("creating the lab node (%s) ..." % LAB, flush=True)
    lab("create.yml")
    try:
        with tempfile.TemporaryDirectory(prefix="orocloud-bench-access-") as tmp:
            workdir = Path(tmp)
            figures = {}
            runs = (
                ("access_users, fresh", MODULE_PLAYBOOK, {"bench_records": records}),
                ("builtin loop, fresh", BUILTIN_PLAYBOOK, {"bench_users": builtin_users}),
                ("access_users, no change", MODULE_PLAYBOOK, {"bench_records": records}),
                ("builtin loop, no change", BUILTIN_PLAYBOOK, {"bench_users": builtin_users}),
            )
            print("%d users x %d Ed25519 keys on one host, task time (wall time of ansible-playbook):"
                  % (args.users, KEYS_PER_USER))
            for index, (name, text, extra_vars) in enumerate(runs):
                tasks, wall, changed = play(workdir, "run%d" % index, text, extra_vars)
                figures[name] = tasks
                print("  %-26s %8.1f s  (%6.1f s wall)  changed tasks: %d" % (name, tasks, wall, changed), flush=True)
            for kind in ("fresh", "no change"):
                ratio = figures["builtin loop, " + kind] / figures["access_users, " + kind]
                print("  ratio builtin / access_users, %-9s %6.1fx  (goal >= %dx: %s)"
                      % (kind + ":", ratio, GOAL, "met" if ratio >= GOAL else "not met"))
    finally:
        if args.keep:
            print("the lab node is kept: molecule destroy -s access_users (or molecule/shared/destroy.yml) removes it")
        else:
            print("destroying the lab node ...", flush=True)
            lab("destroy.yml")


if __name__ == "__main__":
    main()
