# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lab-only filters: turn an environment's inventory (from orocloud.ops.environment) into podman specs.

The lab builds its containers from the same environment file that the collection's inventory plugin
reads, so the topology is written down once. Each node joins the subnets its addresses fall into; the
lab adds the networks around the environment (the internet side, the NAT node's real uplink) and its
probe nodes.
"""

import ipaddress


def _gateway(subnet):
    return str(next(ipaddress.ip_network(subnet).hosts()))


def lab_networks(hostvars, hosts, lab):
    """Podman networks of the lab: the environment's own subnets plus the lab's extra ones."""
    env_network = hostvars[hosts[0]]["orocloud_network"] if hosts else {}
    nets = {}
    for key in ("application", "dmz"):
        if env_network.get(key):
            nets[key] = {"subnet": env_network[key], "internal": True}
    for key, spec in lab.get("networks", {}).items():
        nets[key] = {"subnet": spec["subnet"], "internal": spec.get("internal", True)}
    return [
        {
            "key": key,
            "name": "%s-%s" % (lab["name"], key),
            "subnet": spec["subnet"],
            "gateway": _gateway(spec["subnet"]),
            "internal": spec["internal"],
        }
        for key, spec in nets.items()
    ]


def _network_of(address, networks):
    ip = ipaddress.ip_address(address)
    for net in networks:
        if ip in ipaddress.ip_network(net["subnet"]):
            return net
    raise ValueError("address %s is in none of the lab networks %s" % (address, [n["subnet"] for n in networks]))


def lab_containers(hostvars, hosts, lab, image):
    """One podman container spec per environment node and lab probe."""
    networks = lab_networks(hostvars, hosts, lab)
    by_key = {net["key"]: net for net in networks}
    nat = [h for h in hosts if "nat" in hostvars[h]["orocloud_roles"]]

    specs = []
    for host in hosts:
        hv = hostvars[host]
        roles = hv["orocloud_roles"]
        addresses = [hv["orocloud_address"], hv.get("orocloud_dmz_address"), hv.get("orocloud_public_address")]
        attach = {}
        for address in filter(None, addresses):
            attach[_network_of(address, networks)["key"]] = address
        if "nat" in roles and "egress" in by_key:
            attach["egress"] = None
        specs.append(_spec(host, roles, attach, by_key, lab))

    for probe in lab.get("probes", []):
        specs.append(_spec(probe["name"], ["probe"], probe["networks"], by_key, lab))

    # Default routes: everything leaves through the NAT node, the way the environment is built.
    nat_addresses = {}
    if nat:
        nat_vars = hostvars[nat[0]]
        for address in filter(None, [nat_vars["orocloud_address"], nat_vars.get("orocloud_public_address")]):
            nat_addresses[_network_of(address, networks)["key"]] = address
    for spec in specs:
        spec["default_via"] = None
        if "egress" in spec["attach"]:
            continue
        for key in ("application", "internet", "dmz"):
            if key in spec["attach"] and key in nat_addresses:
                spec["default_via"] = nat_addresses[key]
                break
    for spec in specs:
        spec["image"] = image
    return specs


def _spec(name, roles, attach, by_key, lab):
    caps = lab.get("role_capabilities", {})
    devices = lab.get("role_devices", {})
    routers = set(lab.get("router_roles", []))
    return {
        "name": name,
        "roles": list(roles),
        "attach": dict(attach),
        "network": [
            "%s:ip=%s" % (by_key[key]["name"], ip) if ip else by_key[key]["name"]
            for key, ip in attach.items()
        ],
        "home_gateway": by_key[next(iter(attach))]["gateway"],
        "cap_add": sorted({c for r in roles for c in caps.get(r, [])}),
        "device": sorted({d for r in roles for d in devices.get(r, [])}),
        # Set at creation either way: a new network namespace may start out forwarding, and only routers may.
        "sysctl": {"net.ipv4.ip_forward": "1" if routers.intersection(roles) else "0"},
    }


class FilterModule:
    def filters(self):
        return {"lab_networks": lab_networks, "lab_containers": lab_containers}
