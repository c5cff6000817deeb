#!/bin/bash
# tests/container/rootfs.sh: print the path of the cached Debian 12 root file
# system the systemd tests boot with systemd-nspawn, building it first if it
# is missing (mmdebstrap, about a minute; then reused by every run).
#
#   tests/container/rootfs.sh [CACHE_DIR]     (as root; default /var/cache/vnet-helper-ci)
#
# The cache directory is named after a hash of the recipe below and of this
# host's apt sources, so changing either builds a new one; a clean clone
# rebuilds it from nothing. It holds the distribution's packages only (never
# our .deb, which each test installs into a throw-away overlay). It must live
# on a file system mounted without nosuid (setuid programs run inside).
set -euo pipefail
cache=${1:-/var/cache/vnet-helper-ci}
sources=/etc/apt/sources.list.d/debian.sources
[ -f "$sources" ] || sources=/etc/apt/sources.list
# The recipe: what a test container needs besides a booting systemd: logind
# sessions (libpam-systemd), what the package depends on, QEMU for a TCG guest.
suite=bookworm
variant=minbase
include=systemd,systemd-sysv,dbus,iproute2,procps,libpam-systemd,dnsmasq-base,iptables,nftables,qemu-system-x86,kmod,python3
hash=$( { echo "$suite $variant $include v1"; cat "$sources"; } | sha256sum | cut -c1-16)
root="$cache/rootfs-$hash"
if [ -x "$root/lib/systemd/systemd" ]; then echo "$root"; exit 0; fi
[ "$(id -u)" = 0 ] || { echo "rootfs.sh: must run as root to build $root" >&2; exit 2; }
mkdir -p "$cache"
if findmnt -no OPTIONS -T "$cache" | tr , '\n' | grep -qx nosuid; then
  echo "rootfs.sh: $cache is on a nosuid mount; setuid programs would not work in the container" >&2
  exit 2
fi
tmp=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "rootfs.sh: building $root (mmdebstrap $suite, $variant + $include)" >&2
t0=$EPOCHREALTIME
# shellcheck disable=SC2016 # the hook is run by mmdebstrap, with $1 the new root
mmdebstrap --quiet --variant="$variant" --include="$include" \
  --customize-hook='rm -f "$1"/etc/machine-id "$1"/var/lib/dbus/machine-id; : > "$1"/etc/machine-id' \
  "$suite" "$tmp/root" "$sources" >&2
mv "$tmp/root" "$root"
# earlier recipes' root file systems are of no use any more
find "$cache" -mindepth 1 -maxdepth 1 -name 'rootfs-*' ! -path "$root" -exec rm -rf {} + || true
awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "rootfs.sh: built in %.0f s\n", b - a }' >&2
du -sh "$root" >&2
echo "$root"
