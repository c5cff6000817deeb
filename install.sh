#!/bin/bash
# install.sh: build vnet-helper and install it setuid root, the way QEMU's
# qemu-bridge-helper is shipped by Fedora and Arch (mode 4755), with a default
# NAT network, vnet0, that a guest can use at once.
#
#   ./install.sh               build (cargo build --release --locked) and install
#   ./install.sh --uninstall   remove what install.sh installed
#
# PREFIX (default /usr) and DESTDIR (default empty) are honoured. The binary
# installed is the one cargo says it built, wherever CARGO_TARGET_DIR or
# .cargo/config.toml's target put it. Installs:
#   $DESTDIR$PREFIX/libexec/vnet-helper          root:root 4755
#   $DESTDIR/etc/qemu/bridge.conf                from acl/bridge.conf (allows vnet0), only if there is none
#   $DESTDIR/etc/vnet-helper/networks/           root 0755 (network definitions go here)
#   $DESTDIR/etc/vnet-helper/networks/vnet0.toml the default network: NAT, DHCP and DNS, on the
#                                                first of 10.200.0.0/24, 10.201.0.0/24,
#                                                172.30.200.0/24, 192.168.200.0/24 that
#                                                overlaps no address or route of this host
#                                                (none if all do); only if there is none
#   $DESTDIR/etc/systemd/system/vnet-helper@.service   the per-network supervisor's
#                                                unit, used when systemd runs (so a
#                                                network never lives in a login session)
#   $DESTDIR/etc/firewalld/{zones,policies}/*.xml  from packaging/firewalld/ (the zones
#                                                vnet-helper puts bridges in), when
#                                                firewalld is installed; each only if
#                                                there is none; a running firewalld
#                                                is reloaded
# and records what it created in $DESTDIR/var/lib/vnet-helper/installed (and
# the checksum of vnet0.toml in installed.sha256), so --uninstall never removes
# a bridge.conf or vnet0.toml it did not create, nor a vnet0.toml edited
# since. Idempotent.
set -euo pipefail
PREFIX=${PREFIX:-/usr}
DESTDIR=${DESTDIR:-}
here=$(cd "$(dirname "$0")" && pwd)
bin="$DESTDIR$PREFIX/libexec/vnet-helper"
# the ACL, the default network and the record of what was created (shared
# with the Debian package): $acl, $defs, $default_net, $record, $sums
# shellcheck source=dist/defaults.sh
source "$here/dist/defaults.sh"

need_root() {
  if [ -z "$DESTDIR" ] && [ "$(id -u)" != 0 ]; then
    echo "install.sh: run as root (or set DESTDIR for a staged install)" >&2
    exit 1
  fi
}

uninstall() {
  local f want
  if [ -f "$record" ]; then
    while IFS= read -r f; do
      case "$f" in
        "$DESTDIR"/*) ;;
        *) continue ;;
      esac
      [ -f "$f" ] || continue
      want=$(recorded_sum "$f")
      if [ -n "$want" ] && [ "$(sha256_of "$f")" != "$want" ]; then
        echo "kept $f: changed since install.sh wrote it"
        continue
      fi
      rm -f -- "$f" && echo "removed $f"
    done < "$record"
    rm -f "$record" "$sums"
  else
    if [ -f "$bin" ]; then rm -f "$bin" && echo "removed $bin"; fi
  fi
  if rmdir "$defs" 2>/dev/null; then echo "removed $defs (empty)"; fi
  firewalld_reload
  echo "left in place: network definitions install.sh did not write or that were edited, /etc/qemu/bridge.conf unless install.sh created it and it is unchanged, leases under /var/lib/vnet-helper"
}

# ---------------------------------------------------------------------------
# firewalld: our zones and policies, where firewalld reads them.

# firewalld_reload: have a running firewalld (not a staged install) re-read
# its configuration
firewalld_reload() {
  [ -z "$DESTDIR" ] || return 0
  command -v firewall-cmd >/dev/null || return 0
  if firewall-cmd --state >/dev/null 2>&1; then
    firewall-cmd --reload >/dev/null && echo "reloaded firewalld"
  fi
}

install_firewalld_zones() {
  local f dest
  if [ ! -d /usr/lib/firewalld ] && [ ! -d "$DESTDIR/etc/firewalld" ]; then
    echo "firewalld is not installed: no zones installed (packaging/firewalld/ has them)"
    return 0
  fi
  for f in "$here"/packaging/firewalld/zones/*.xml "$here"/packaging/firewalld/policies/*.xml; do
    dest="$DESTDIR/etc/firewalld/${f#"$here/packaging/firewalld/"}"
    if [ -e "$dest" ]; then
      echo "kept existing $dest"
      continue
    fi
    install -D -o root -g root -m 0644 "$f" "$dest"
    remember_sum "$dest"
    echo "installed $dest"
  done
  firewalld_reload
}

# ---------------------------------------------------------------------------
# Building: the executable cargo reports, wherever it put it.

build() {
  local cargo json
  cargo=$(command -v cargo || echo "${HOME:-/root}/.cargo/bin/cargo")
  [ -x "$cargo" ] || { echo "install.sh: cargo not found (install Rust with rustup)" >&2; exit 1; }
  json=$(cd "$here" && "$cargo" build --release --locked --message-format=json-render-diagnostics)
  built=$(printf '%s\n' "$json" | grep -F '"reason":"compiler-artifact"' | grep -F '"kind":["bin"]' \
    | grep -F '"name":"vnet-helper"' | sed -n 's/.*"executable":"\([^"\\]*\)".*/\1/p' | tail -n 1 || true)
  if [ -z "$built" ] || [ ! -x "$built" ]; then
    echo "install.sh: cargo reported no vnet-helper executable${built:+ ($built is missing)}" >&2
    exit 1
  fi
}

# ---------------------------------------------------------------------------

if [ "${1:-}" = "--uninstall" ]; then
  need_root
  uninstall
  exit 0
fi
[ $# -eq 0 ] || { echo "usage: $0 [--uninstall]" >&2; exit 1; }
need_root

build

mkdir -p "$(dirname "$record")"
touch "$record"

install -D -o root -g root -m 4755 "$built" "$bin"
remember "$bin"
echo "installed $bin (setuid root, mode 4755) from $built"

install_acl "$here/acl/bridge.conf"
install -d -o root -g root -m 0755 "$defs"
install_default_network

unit="$DESTDIR/etc/systemd/system/vnet-helper@.service"
mkdir -p "$(dirname "$unit")"
sed "s|/usr/libexec/|$PREFIX/libexec/|g" "$here/dist/vnet-helper@.service" > "$unit"
chmod 0644 "$unit"
remember "$unit"
echo "installed $unit"
if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  systemctl daemon-reload
fi
install_firewalld_zones

echo
if [ -f "$default_net" ]; then
  echo "Use it from QEMU as an ordinary user (the guest gets an address by DHCP on vnet0):"
else
  echo "Define $default_net (see README.md), then use it from QEMU as an ordinary user:"
fi
cat <<MSG
  qemu-system-x86_64 -accel kvm -m 1G -nic bridge,br=vnet0,helper=$PREFIX/libexec/vnet-helper,model=virtio-net-pci disk.img
The network is brought up on first use and removed after its last guest
leaves; /etc/vnet-helper/networks/NAME.toml defines more (see README.md).
MSG
