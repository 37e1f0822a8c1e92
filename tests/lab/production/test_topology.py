"""The lab's topology is the environment's: every node on exactly its subnets, systemd running,
SSH where operators need it, and no path between subnets except through the nodes meant to route."""

import ipaddress
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from labview import (
    ROOT,
    all_nodes,
    env_nodes,
    expected_addresses,
    hostvars,
    inventory_source,
    node,
    probes,
    roles,
    subnets,
    with_role,
)

ALL = all_nodes()


def _ipv4(name):
    """The node's addresses on the lab's networks (not the VPN gateway's tunnel to its clients)."""
    out = node(name).check_output("ip -4 -o addr show scope global")
    fields = [line.split() for line in out.splitlines()]
    return {ipaddress.ip_interface(f[3]) for f in fields if not f[1].startswith("tun")}


def _reachable(src, address, port=22):
    return node(src).run("nc -z -w 2 %s %s", address, str(port)).rc == 0


@pytest.mark.parametrize("name", ALL)
def test_systemd_is_running(name):
    assert node(name).check_output("systemctl is-system-running") == "running"


@pytest.mark.parametrize("name", ALL)
def test_node_sits_on_exactly_its_subnets(name):
    have = _ipv4(name)
    nets = subnets()
    want = {str(a) for a in expected_addresses(name)}
    assert {str(i.ip) for i in have if i.network != nets["egress"]} == want
    on_egress = [i for i in have if i.network == nets["egress"]]
    assert len(on_egress) == ("nat" in roles(name)), "only the NAT node has an uplink"
    for iface in have:
        assert iface.network in nets.values(), "%s is on no lab subnet" % iface


@pytest.mark.parametrize("name", ALL)
def test_traffic_leaves_through_the_nat_node(name, nat_node):
    default = node(name).check_output("ip -4 route show default").split()
    if name == nat_node:
        assert ipaddress.ip_address(default[2]) in subnets()["egress"]
        return
    nat = hostvars(nat_node)
    nat_addresses = {nat["orocloud_address"], nat["orocloud_public_address"]}
    if default:
        assert default[2] in nat_addresses
    else:
        # A node on the DMZ alone has no way out at all.
        assert all(ipaddress.ip_address(a) in subnets()["dmz"] for a in expected_addresses(name))


@pytest.mark.parametrize("name", env_nodes())
def test_sshd_listens(name):
    assert node(name).socket("tcp://0.0.0.0:22").is_listening


def test_bridge_reaches_every_application_node():
    (bridge,) = with_role("bridge")
    for name in env_nodes():
        if hostvars(name)["orocloud_subnet"] == "application":
            assert _reachable(bridge, hostvars(name)["orocloud_address"]), name


def test_vpn_gateway_reaches_the_bridge_in_the_dmz():
    (vpn,) = with_role("vpn_gateway")
    (bridge,) = with_role("bridge")
    assert _reachable(vpn, hostvars(bridge)["orocloud_dmz_address"])


def test_application_nodes_are_reached_through_the_bridge():
    (bridge,) = with_role("bridge")
    jump = hostvars(bridge)["orocloud_dmz_address"]
    for name in with_role("web"):
        assert "ProxyJump=" in hostvars(name)["ansible_ssh_common_args"]
        assert jump in hostvars(name)["ansible_ssh_common_args"]


@pytest.mark.parametrize(
    ("source_role", "target_role", "target_field"),
    [
        ("probe", "web", "orocloud_address"),  # internet -> application subnet
        ("probe", "bridge", "orocloud_dmz_address"),  # internet -> DMZ
        ("probe", "bridge", "orocloud_address"),
        ("vpn_gateway", "web", "orocloud_address"),  # DMZ -> application subnet, bypassing the bridge
        ("web", "vpn_gateway", "orocloud_address"),  # application subnet -> DMZ
    ],
)
def test_no_path_between_subnets(source_role, target_role, target_field):
    source = probes()[0] if source_role == "probe" else with_role(source_role)[0]
    target = hostvars(with_role(target_role)[0])[target_field]
    assert not _reachable(source, target), "%s reached %s" % (source, target)


def test_nat_node_accepts_nothing_from_outside(nat_node):
    public = hostvars(nat_node)["orocloud_public_address"]
    assert not _reachable(probes()[0], public)


def test_application_subnet_goes_out_with_the_nat_address(nat_node):
    """A connection from a web node to the internet side arrives from the NAT node's public address."""
    client = probes()[0]
    web = with_role("web")[0]
    seen = {}

    def listen():
        seen["peer"] = node(client).check_output(
            "timeout 10 python3 -c 'import socket; s = socket.socket(); "
            "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\"0.0.0.0\", 9000)); "
            "s.listen(); c, a = s.accept(); print(a[0])'"
        )

    listener = threading.Thread(target=listen)
    listener.start()
    client_address = next(iter(expected_addresses(client)))
    for _attempt in range(20):
        if _reachable(web, client_address, 9000):
            break
    listener.join(15)
    assert seen.get("peer") == hostvars(nat_node)["orocloud_public_address"]


def test_application_subnet_has_real_egress_through_the_nat_node():
    """The NAT node's uplink is a routed network: the host's apt cache on it answers a web node."""
    uplink_gateway = str(next(subnets()["egress"].hosts()))
    assert _reachable(with_role("web")[0], uplink_gateway, 3142)


def test_ansible_reaches_application_nodes_through_the_bridge():
    """Ansible's SSH connection to a web node, as the inventory plugin describes it, arrives from the bridge."""
    (bridge,) = with_role("bridge")
    web = with_role("web")[0]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"), ANSIBLE_NOCOLOR="1")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "-i", inventory_source(), web, "-o",
         "-m", "ansible.builtin.command", "-a", "printenv SSH_CONNECTION"],
        check=False, capture_output=True, text=True, env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    client_address = result.stdout.split("(stdout)")[-1].split()[0]
    assert client_address == hostvars(bridge)["orocloud_address"]
