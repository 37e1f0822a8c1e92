"""Security updates from the distribution (orocloud.ops.os_patch): one node at a time, web nodes drained
and put back after a health gate, no reboot unless the system asks for one, recorded per node."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from labview import ROOT, env_nodes, inventory_source, node
from test_patch import _env, all_in_rotation, lb_states, lock_held, wait_all_in_rotation

pytestmark = pytest.mark.patch


def os_patch():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", inventory_source(), "orocloud.ops.os_patch",
         "-e", json.dumps({"patch_health_timeout": 60})],
        check=False, capture_output=True, text=True, env=_env(), cwd=str(ROOT),
    )
    return result.returncode, " ".join((result.stdout + result.stderr).split())


def boot_ids():
    """When each node's init started (a reboot of a container node restarts it)."""
    return {name: node(name).check_output("ps -o lstart= -p 1") for name in env_nodes()}


def updates_recorded():
    count = 0
    for name in env_nodes():
        log = node(name).run("cat /var/log/orocloud/operations.log").stdout.splitlines()
        count += sum(1 for line in log if json.loads(line)["operation"] == "os_patch")
    return count


def test_security_updates_node_by_node_then_nothing_left():
    booted = boot_ids()
    rc, out = os_patch()
    assert rc == 0, out[-3000:]
    for name in env_nodes():
        pending = node(name).check_output("unattended-upgrade --dry-run --verbose 2>&1 || true")
        assert "Packages that will be upgraded:" not in pending, (name, pending[-500:])
    assert boot_ids() == booted, "no node was rebooted: none asked for it"
    assert wait_all_in_rotation() and all_in_rotation(), lb_states()
    assert not lock_held()

    recorded = updates_recorded()
    rc, out = os_patch()
    assert rc == 0, out[-3000:]
    assert updates_recorded() == recorded, "a second run finds nothing to install"
