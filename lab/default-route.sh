#!/usr/bin/env bash
# Set a lab node's default route from the host (the node itself has no NET_ADMIN to do it).
# usage: lab/default-route.sh CONTAINER GATEWAY
set -euo pipefail
pid=$(podman inspect -f '{{.State.Pid}}' "$1")
nsenter --target "$pid" --net ip route replace default via "$2"
