# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the lab tests share (tests/lab/<lab>/ and the role scenarios' molecule/<scenario>/tests/): Ansible's
environment for the tests, an inventory as ansible-inventory sees it, a lab's directory, and ansible-playbook
runs read through the ansible.posix.json callback. A role scenario's tests/conftest.py puts this directory on
sys.path and imports it."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def ansible_env(**extra):
    """ansible-core's defaults (tests/ansible.cfg), the checkout's collections, then ``extra``."""
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(ROOT / "tests" / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
        ANSIBLE_PIPELINING="True",
        ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="True",
        ANSIBLE_NOCOLOR="True",
    )
    env.update(extra)
    return env


@functools.cache
def load_inventory(source):
    """``ansible-inventory --list`` of ``source`` (hostvars and groups), unsafe values unwrapped."""
    out = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(source), "--list"],
        check=True,
        capture_output=True,
        text=True,
        env=ansible_env(),
    ).stdout
    return json.loads(out, object_hook=lambda d: d["__ansible_unsafe"] if set(d) == {"__ansible_unsafe"} else d)


def project_lab_dir(project):
    """The lab's files (ssh_config, keys) of the lab named after ``project``."""
    base = os.environ.get("OROCLOUD_LAB_DIR") or str(ROOT / ".build" / "lab")
    return Path(base) / project


class PlaybookRun:
    """One ansible-playbook run, read through the ansible.posix.json callback."""

    def __init__(self, proc):
        self.rc = proc.returncode
        self.stderr = proc.stderr
        try:
            self.data = json.loads(proc.stdout)
        except ValueError:
            raise AssertionError("ansible-playbook printed no JSON:\n%s\n%s" % (proc.stdout, proc.stderr)) from None

    def results(self, host):
        """(task name, result) of every task that ran on ``host``, in order."""
        return [
            (task["task"]["name"], task["hosts"][host])
            for play in self.data["plays"]
            for task in play["tasks"]
            if host in task["hosts"]
        ]

    def failures(self, host):
        return [(name, r) for name, r in self.results(host) if r.get("failed") and not r.get("ignore_errors")]

    def failure_message(self, host):
        return "\n".join(r.get("msg", "") for _name, r in self.failures(host))

    def result(self, host, task_name):
        return next(r for name, r in self.results(host) if name == task_name)

    def stats(self, host):
        return self.data["stats"][host]


def run_playbook(inventory, path, extra_vars=None, check=False, cwd=None):
    """ansible-playbook ``path`` on ``inventory`` (with --check --diff when ``check``), as a PlaybookRun."""
    argv = [str(BIN / "ansible-playbook"), "-i", str(inventory), str(path)]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    if check:
        argv += ["--check", "--diff"]
    proc = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=600,
        env=ansible_env(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"),
        cwd=str(cwd) if cwd else None,
        check=False,
    )
    return PlaybookRun(proc)
