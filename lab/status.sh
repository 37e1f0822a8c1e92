#!/usr/bin/env bash
# Show what the lab runs: each node with its state and addresses, and how to reach it.
set -euo pipefail
label=owner=orocloud-lab
printf '%-22s %-10s %s\n' NODE STATE ADDRESSES
for name in $(podman ps --all --filter "label=$label" --format '{{.Names}}' | sort); do
    state=$(podman inspect -f '{{.State.Status}}' "$name")
    addrs=$(podman inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} {{end}}' "$name")
    printf '%-22s %-10s %s\n' "$name" "$state" "$addrs"
done
cat <<EOT

Reach a node as Ansible does (application nodes through the bridge):
  ansible -i inventories/lab/lab.orocloud.yml -m ansible.builtin.ping all
  ssh -F ${OROCLOUD_LAB_DIR:-.build/lab}/ssh_config -J 10.231.2.30 10.231.1.11 hostname
A shell in a node:   podman exec -it orolab-prod-web1 bash
Stop the lab:        make lab-down
EOT
