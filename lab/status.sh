#!/usr/bin/env bash
# Show what a lab runs: each node with its state and addresses, and how to reach it.
# usage: lab/status.sh [LAB]   (LAB: the environment's project, default orolab)
set -euo pipefail
lab=${1:-orolab}
printf 'lab %s\n%-22s %-10s %s\n' "$lab" NODE STATE ADDRESSES
for name in $(podman ps --all --filter "label=orocloud-lab=$lab" --format '{{.Names}}' | sort); do
    state=$(podman inspect -f '{{.State.Status}}' "$name")
    addrs=$(podman inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} {{end}}' "$name")
    printf '%-22s %-10s %s\n' "$name" "$state" "$addrs"
done
dir=${OROCLOUD_LAB_DIR:-.build/lab}/$lab
cat <<EOT

Reach a node as Ansible does (application nodes through the bridge):
  ansible -i inventories/lab/lab.orocloud.yml -m ansible.builtin.ping all
  ssh -F $dir/ssh_config -J 10.231.2.30 10.231.1.11 hostname
A shell in a node:   podman exec -it orolab-prod-web1 bash
Stop the lab:        make lab-down
EOT
