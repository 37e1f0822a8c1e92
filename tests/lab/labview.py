"""Shared view of a running lab for the lab tests (tests/lab/<scenario>/).

The topology comes from where the lab itself comes from: the lab environment's inventory (built by
orocloud.ops.environment from inventories/lab), including what the lab adds around the environment
(its `orocloud_lab` variable).
Nodes are reached with testinfra's podman backend.
"""

import functools
import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import testinfra
from scenario import load_inventory

ROOT = Path(__file__).resolve().parents[2]


def inventory_source():
    return os.environ.get("OROCLOUD_LAB_INVENTORY", str(ROOT / "inventories" / "lab" / "lab.orocloud.yml"))


def inventory():
    """`ansible-inventory --list` of the lab environment (hostvars and groups)."""
    return load_inventory(inventory_source())


@functools.cache
def lab_vars():
    """What the lab adds around the environment: the inventory's `orocloud_lab` variable."""
    return hostvars(env_nodes()[0])["orocloud_lab"]


def env_nodes():
    """Inventory host names of the environment's nodes."""
    return sorted(inventory()["orocloud"]["hosts"])


def hostvars(name):
    return inventory()["_meta"]["hostvars"][name]


def probes():
    return [p["name"] for p in lab_vars()["probes"]]


def all_nodes():
    return env_nodes() + probes()


def subnets():
    """Lab network key -> ip_network: the environment's subnets and the lab's extra ones."""
    network = hostvars(env_nodes()[0])["orocloud_network"]
    nets = {key: ipaddress.ip_network(network[key]) for key in ("application", "dmz") if network.get(key)}
    nets.update({key: ipaddress.ip_network(spec["subnet"]) for key, spec in lab_vars()["networks"].items()})
    return nets


def expected_addresses(name):
    """Addresses a node must have (the egress uplink is checked by subnet, its address is podman's)."""
    if name in probes():
        return set(next(p for p in lab_vars()["probes"] if p["name"] == name)["networks"].values())
    hv = hostvars(name)
    return {a for a in (hv["orocloud_address"], hv.get("orocloud_dmz_address"), hv.get("orocloud_public_address")) if a}


def roles(name):
    return hostvars(name)["orocloud_roles"] if name in env_nodes() else ["probe"]


def with_role(role):
    return [n for n in env_nodes() if role in roles(n)]


@functools.cache
def node(name):
    return testinfra.get_host("podman://" + name)


def converge_in_check_mode(scenario):
    """Run a scenario's converge playbook with --check --diff; return (returncode, output)."""
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        MOLECULE_PROJECT_DIRECTORY=str(ROOT),
    )
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", inventory_source(), "--check", "--diff",
         str(ROOT / "molecule" / scenario / "converge.yml")],
        check=False, capture_output=True, text=True, env=env,
    )
    return result.returncode, result.stdout + result.stderr


def assert_check_run_changes_nothing(scenario):
    """A --check --diff run of the scenario's converge succeeds and reports no change on any node."""
    rc, output = converge_in_check_mode(scenario)
    assert rc == 0, output[-3000:]
    changed = recap_changed(output)
    assert set(env_nodes()) <= set(changed), output[-3000:]
    assert {host: n for host, n in changed.items() if n and host != "localhost"} == {}


def recap_changed(output):
    """Host -> changed count from a play recap."""
    changed = {}
    for line in output.splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[1] == ":" and fields[3].startswith("changed="):
            changed[fields[0]] = int(fields[3].split("=")[1])
    return changed
