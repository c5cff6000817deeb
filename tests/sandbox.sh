#!/bin/bash
# tests/sandbox.sh: run a test script on a private, breakable copy of this host.
#
# Usage: tests/sandbox.sh BINARY SCRIPT [ARGS...]   (as root)
#
# Creates a new network + mount + PID namespace (unshare -mnp, private
# propagation; every process started inside dies with the sandbox) in
# which /etc and /var/lib are overlays on tmpfs (nothing written reaches the
# real ones), /etc/qemu, /etc/vnet-helper, /run and /var/lib/vnet-helper are
# empty tmpfs, /sys is this namespace's sysfs and lo is up. BINARY is copied to
# $VH (/run/vh/vnet-helper), owned by root with mode 4755, exactly as install.sh
# installs it. Then SCRIPT runs under bash -eu with these variables:
#   VH       the setuid copy of the helper
#   REF      a setuid copy of /usr/lib/qemu/qemu-bridge-helper (if installed)
#   AS_USER  "setpriv --reuid=4242 --regid=4242 --clear-groups --" (prefix a command with it)
#   WORK     a scratch directory (world-readable, on tmpfs)
#   TESTS    a world-readable copy of tests/ (the repository may not be)
#   REPO     the repository itself
# Nothing here touches the host's own interfaces, routes, firewall or /etc.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "sandbox.sh: must run as root" >&2; exit 2; fi
[ $# -ge 2 ] || { echo "usage: $0 BINARY SCRIPT [ARGS...]" >&2; exit 2; }
bin=$(readlink -f "$1"); script=$(readlink -f "$2"); shift 2
here=$(dirname "$(readlink -f "$0")")

# shellcheck disable=SC2016 # the inner script expands its own variables
exec unshare --mount --net --pid --fork --mount-proc --propagation private -- bash -c '
set -euo pipefail
bin=$1; script=$2; here=$3; shift 3
base=$(mktemp -d /tmp/vh-sandbox.XXXXXX)
mount -t tmpfs -o mode=0755 sandbox "$base"
for d in etc var-lib; do mkdir -p "$base/$d/upper" "$base/$d/work"; done
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$base/etc/upper,workdir=$base/etc/work" /etc
mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$base/var-lib/upper,workdir=$base/var-lib/work" /var/lib
mkdir -p /etc/qemu /etc/vnet-helper /var/lib/vnet-helper
mount -t tmpfs -o mode=0755 etc-qemu /etc/qemu
mount -t tmpfs -o mode=0755 etc-vnet-helper /etc/vnet-helper
mount -t tmpfs -o mode=0755 var-lib-vnet-helper /var/lib/vnet-helper
mount -t tmpfs -o mode=0755 run /run
mount -t sysfs sysfs /sys
ip link set lo up
mkdir -p /run/vh /run/vh/work
chmod 0755 /run/vh; chmod 1777 /run/vh/work
install -o root -g root -m 4755 "$bin" /run/vh/vnet-helper
if [ -x /usr/lib/qemu/qemu-bridge-helper ]; then
  install -o root -g root -m 4755 /usr/lib/qemu/qemu-bridge-helper /run/vh/qemu-bridge-helper
  export REF=/run/vh/qemu-bridge-helper
else
  export REF=
fi
# A world-readable copy of tests/ for what runs as the test user (the
# repository itself may live under a directory other users cannot enter).
cp -a "$here" /run/vh/tests
chmod -R a+rX /run/vh/tests
export VH=/run/vh/vnet-helper WORK=/run/vh/work TESTS=/run/vh/tests REPO="$(dirname "$here")"
export AS_USER="setpriv --reuid=4242 --regid=4242 --clear-groups --"
cd "$WORK"
bash -eu "$script" "$@"
' sandbox "$bin" "$script" "$here" "$@"
