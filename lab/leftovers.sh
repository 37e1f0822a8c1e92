#!/usr/bin/env bash
# Fail if the lab left anything behind: containers, networks, or processes (conmon, SSH masters).
set -uo pipefail
label=owner=orocloud-lab
left=()
c=$(podman ps --all --filter "label=$label" --format '{{.Names}}')
[[ -z $c ]] || left+=("containers: $(echo $c)")
n=$(podman network ls --filter "label=$label" --format '{{.Name}}')
[[ -z $n ]] || left+=("networks: $(echo $n)")
p=$(pgrep -a conmon || true)
[[ -z $p ]] || left+=("conmon processes: $p")
if [[ -n ${OROCLOUD_LAB_DIR:-} ]]; then
    s=$(pgrep -af "ssh.*${OROCLOUD_LAB_DIR}" | grep -v pgrep || true)
    [[ -z $s ]] || left+=("ssh processes: $s")
fi
if [[ ${#left[@]} -gt 0 ]]; then
    printf 'the lab left behind %s\n' "${left[@]}" >&2
    exit 1
fi
echo "the lab left nothing behind (no container, network or process)"
