#!/usr/bin/env bash
# Check that this machine can run the orocloud.ops lab, and say what is missing and how to fix it.
# usage: lab/preflight.sh [IMAGE]   (with IMAGE: also start one throw-away container from it)
# Exit 0 when all is well; otherwise print one line per problem, each with its fix, and exit 1.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
problems=()
fix() { problems+=("$1"); }

if ! command -v podman >/dev/null 2>&1; then
    fix "podman is not installed: run 'make lab-setup' (or: apt-get install podman runc netavark aardvark-dns iptables)"
else
    conf=${CONTAINERS_CONF:-}
    if [[ -z $conf ]]; then
        fix "CONTAINERS_CONF is not set: run the lab through make, or export CONTAINERS_CONF=$here/containers.conf"
    elif [[ ! -r $conf ]]; then
        fix "CONTAINERS_CONF=$conf does not exist: export CONTAINERS_CONF=$here/containers.conf"
    fi
    if ! info=$(podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Path}} {{.Host.CgroupManager}} {{.Host.NetworkBackend}}' 2>&1); then
        case $info in
        *"OCI runtime"*"not found"* | *"runtime"*"not found"* | *"executable file not found"*)
            runtime=$(sed -n 's/^runtime *= *"\(.*\)"/\1/p' "${conf:-/dev/null}" 2>/dev/null | head -n1)
            fix "podman cannot find its OCI runtime ${runtime:-runc}: apt-get install ${runtime:-runc} (the lab's $here/containers.conf asks for runc; crun does not work with the hybrid cgroups here)" ;;
        *)
            fix "podman does not work: $(printf '%s' "$info" | grep -v '^time=' | tail -n 3 | tr '\n' ' ')" ;;
        esac
    else
        read -r rt_name rt_path cgroups netbackend <<<"$info"
        [[ -x $rt_path ]] || fix "podman's OCI runtime $rt_name is missing at $rt_path: apt-get install $rt_name"
        [[ $rt_name == runc ]] || fix "podman uses the OCI runtime $rt_name, the lab needs runc: export CONTAINERS_CONF=$here/containers.conf and apt-get install runc"
        [[ $cgroups == cgroupfs ]] || fix "podman uses the $cgroups cgroup manager, the lab needs cgroupfs: export CONTAINERS_CONF=$here/containers.conf"
        [[ $netbackend == netavark ]] || fix "podman uses the $netbackend network backend, the lab needs netavark: apt-get install netavark aardvark-dns and export CONTAINERS_CONF=$here/containers.conf"
    fi
    command -v iptables >/dev/null 2>&1 || fix "netavark needs iptables to isolate the lab's networks: apt-get install iptables"
    [[ -c /dev/net/tun ]] || fix "/dev/net/tun is missing on this host: the VPN gateway needs it (modprobe tun)"
fi

if [[ ${#problems[@]} -eq 0 && -n ${1:-} ]]; then
    if ! out=$(podman run --rm --network none "$1" /bin/true 2>&1); then
        fix "podman cannot start a container from $1: $(printf '%s' "$out" | grep -v '^time=' | tail -n 3 | tr '\n' ' ')"
    fi
fi

if [[ ${#problems[@]} -gt 0 ]]; then
    printf 'lab preflight: %s\n' "${problems[@]}" >&2
    exit 1
fi
echo "lab preflight: podman with runc, cgroupfs and netavark is ready"
