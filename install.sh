#!/bin/bash
# install.sh: build vnet-helper and install it setuid root, the way QEMU's
# qemu-bridge-helper is shipped by Fedora and Arch (mode 4755).
#
#   ./install.sh               build (cargo build --release --locked) and install
#   ./install.sh --uninstall   remove what install.sh installed
#
# PREFIX (default /usr) and DESTDIR (default empty) are honoured. Installs:
#   $DESTDIR$PREFIX/libexec/vnet-helper          root:root 4755
#   $DESTDIR/etc/qemu/bridge.conf                from acl/bridge.conf, only if there is none
#   $DESTDIR/etc/vnet-helper/networks/           root 0755 (network definitions go here)
#   $DESTDIR/etc/systemd/system/vnet-helper@.service   the per-network supervisor's
#                                                unit, used when systemd runs (so a
#                                                network never lives in a login session)
# and records what it created in $DESTDIR/var/lib/vnet-helper/installed so
# --uninstall never removes a bridge.conf it did not create. Idempotent.
set -euo pipefail
PREFIX=${PREFIX:-/usr}
DESTDIR=${DESTDIR:-}
here=$(cd "$(dirname "$0")" && pwd)
bin="$DESTDIR$PREFIX/libexec/vnet-helper"
acl="$DESTDIR/etc/qemu/bridge.conf"
defs="$DESTDIR/etc/vnet-helper/networks"
record_dir="$DESTDIR/var/lib/vnet-helper"
record="$record_dir/installed"

need_root() {
  if [ -z "$DESTDIR" ] && [ "$(id -u)" != 0 ]; then
    echo "install.sh: run as root (or set DESTDIR for a staged install)" >&2
    exit 1
  fi
}

if [ "${1:-}" = "--uninstall" ]; then
  need_root
  if [ -f "$record" ]; then
    while IFS= read -r f; do
      case "$f" in
        "$DESTDIR"/*) ;;
        *) continue ;;
      esac
      if [ -f "$f" ]; then rm -f -- "$f" && echo "removed $f"; fi
    done < "$record"
    rm -f "$record"
  else
    [ -f "$bin" ] && rm -f "$bin" && echo "removed $bin"
  fi
  if rmdir "$defs" 2>/dev/null; then echo "removed $defs (empty)"; fi
  echo "left in place: network definitions, /etc/qemu/bridge.conf unless install.sh created it, leases under /var/lib/vnet-helper"
  exit 0
fi
[ $# -eq 0 ] || { echo "usage: $0 [--uninstall]" >&2; exit 1; }
need_root

cargo=$(command -v cargo || echo "$HOME/.cargo/bin/cargo")
[ -x "$cargo" ] || { echo "install.sh: cargo not found (install Rust with rustup)" >&2; exit 1; }
(cd "$here" && "$cargo" build --release --locked)

mkdir -p "$record_dir"
touch "$record"
remember() { grep -qxF -- "$1" "$record" || echo "$1" >> "$record"; }

install -D -o root -g root -m 4755 "$here/target/x86_64-unknown-linux-gnu/release/vnet-helper" "$bin"
remember "$bin"
echo "installed $bin (setuid root, mode 4755)"

if [ -e "$acl" ]; then
  echo "kept existing $acl"
else
  install -D -o root -g root -m 0644 "$here/acl/bridge.conf" "$acl"
  remember "$acl"
  echo "installed $acl (allows bridge vnet0 to every user: edit it)"
fi
install -d -o root -g root -m 0755 "$defs"

unit="$DESTDIR/etc/systemd/system/vnet-helper@.service"
mkdir -p "$(dirname "$unit")"
cat > "$unit" <<UNIT
# Installed by vnet-helper's install.sh: the supervisor of managed network %i.
# Started by vnet-helper itself when a guest brings the network up; it stops
# itself (tearing the network down) after the network's idle-timeout.
[Unit]
Description=vnet-helper supervisor for network %i
Documentation=man:qemu-bridge-helper(8)

[Service]
Type=simple
ExecStart=$PREFIX/libexec/vnet-helper supervise %i
Restart=no
UNIT
chmod 0644 "$unit"
remember "$unit"
echo "installed $unit"
if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  systemctl daemon-reload
fi

cat <<MSG

Use it from QEMU as an ordinary user:
  qemu-system-x86_64 ... -nic bridge,br=vnet0,helper=$PREFIX/libexec/vnet-helper
  qemu-system-x86_64 ... -netdev bridge,id=n0,br=vnet0,helper=$PREFIX/libexec/vnet-helper -device virtio-net-pci,netdev=n0
A bridge is used as it is unless /etc/vnet-helper/networks/NAME.toml defines a
network, which is then brought up on first use (see README.md).
MSG
