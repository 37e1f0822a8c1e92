#!/usr/bin/env bash
# Build the lab's base image (Debian bookworm, systemd as PID 1) without a container registry:
# debootstrap a minbase root file system, prepare it for running under podman, and import it.
# The tag carries a hash of this recipe, so the image is rebuilt only when the recipe changes.
#
# usage: lab/image/build.sh            build if missing, print the image reference
#        LAB_APT_PROXY=http://host:3142 lab/image/build.sh   fetch packages through an apt cache
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
name=${LAB_IMAGE_NAME:-localhost/orocloud-lab-base}
suite=${LAB_SUITE:-bookworm}
mirror=${LAB_MIRROR:-http://deb.debian.org/debian}
recipe_hash=$(cat "$here/build.sh" "$here"/rootfs/* 2>/dev/null | sha256sum | cut -c1-12)
image="$name:$recipe_hash"

if podman image exists "$image"; then
    echo "$image"
    exit 0
fi

packages=python3,python3-apt,openssh-server,openssh-client,sudo,systemd,systemd-sysv,dbus,iproute2,nftables,ca-certificates,curl,iputils-ping,procps,netcat-openbsd

work=$(mktemp -d /var/tmp/orocloud-lab-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"

echo "building $image (debootstrap $suite, about 90 s)" >&2
http_proxy=${LAB_APT_PROXY:-} debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log" >&2
    echo "debootstrap failed: see the lines above (is $mirror reachable?)" >&2
    exit 1
}

# A container gets its identity at first boot: no machine-id, no SSH host keys baked in.
: >"$rootfs/etc/machine-id"
rm -f "$rootfs/var/lib/dbus/machine-id" "$rootfs"/etc/ssh/ssh_host_*
install -m 0644 "$here/rootfs/lab-hostkeys.service" "$rootfs/etc/systemd/system/lab-hostkeys.service"
ln -sf /etc/systemd/system/lab-hostkeys.service "$rootfs/etc/systemd/system/multi-user.target.wants/lab-hostkeys.service"

# Units that make no sense in a container, or that would touch the network on their own.
for unit in getty@tty1.service console-getty.service serial-getty@.service getty.target \
    apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service \
    systemd-logind.service systemd-networkd-wait-online.service e2scrub_all.timer fstrim.timer \
    sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done

# Debian's mirror for later package installs; the lab's apt proxy is configured by the roles.
printf 'deb %s %s main\ndeb %s %s-updates main\ndeb http://deb.debian.org/debian-security %s-security main\n' \
    "$mirror" "$suite" "$mirror" "$suite" "$suite" >"$rootfs/etc/apt/sources.list"
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
# No package lists: make them look old, so that apt's cache_valid_time refreshes them on first use.
touch -d @0 "$rootfs/var/lib/apt/lists"

tar -C "$rootfs" --numeric-owner -c . | podman import --quiet \
    --change 'CMD ["/sbin/init"]' \
    --change 'STOPSIGNAL SIGRTMIN+3' \
    --change 'ENV container=podman' \
    - "$image" >/dev/null
echo "$image"
