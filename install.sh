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
acl="$DESTDIR/etc/qemu/bridge.conf"
defs="$DESTDIR/etc/vnet-helper/networks"
default_net="$defs/vnet0.toml"
record_dir="$DESTDIR/var/lib/vnet-helper"
record="$record_dir/installed"
sums="$record_dir/installed.sha256"
# the default network's candidate subnets, in order (all /24, gateway .1)
default_subnets="10.200.0.0/24 10.201.0.0/24 172.30.200.0/24 192.168.200.0/24"

need_root() {
  if [ -z "$DESTDIR" ] && [ "$(id -u)" != 0 ]; then
    echo "install.sh: run as root (or set DESTDIR for a staged install)" >&2
    exit 1
  fi
}

# ---------------------------------------------------------------------------
# What install.sh created: paths in $record, checksums in $sums.

remember() { grep -qxF -- "$1" "$record" || echo "$1" >> "$record"; }

sha256_of() { sha256sum < "$1" | cut -c1-64; }

# remember_sum FILE: remember FILE and its checksum now
remember_sum() {
  remember "$1"
  local rest
  rest=$(P="$1" awk 'substr($0, 67) != ENVIRON["P"]' "$sums" 2>/dev/null || true)
  { [ -z "$rest" ] || printf '%s\n' "$rest"; printf '%s  %s\n' "$(sha256_of "$1")" "$1"; } > "$sums.new"
  mv -f "$sums.new" "$sums"
}

# recorded_sum FILE: the checksum FILE had when install.sh wrote it (empty if none)
recorded_sum() {
  [ -f "$sums" ] || return 0
  P="$1" awk 'substr($0, 67) == ENVIRON["P"] { s = substr($0, 1, 64) } END { print s }' "$sums"
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
# The default network's subnet: the first candidate that overlaps nothing the
# host uses, judged as vnet-helper judges a subnet at bring-up: every IPv4
# address but loopback and link-local ones, every route of the main table but
# default, non-unicast and link-local ones; those on vnet0 itself do not count.

# ipv4_number A.B.C.D: the address as a number (fails if it is not one)
ipv4_number() {
  [[ $1 =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || return 1
  local -a o=("${BASH_REMATCH[@]:1}")
  echo $(( (10#${o[0]} << 24) | (10#${o[1]} << 16) | (10#${o[2]} << 8) | 10#${o[3]} ))
}

# prefixes_overlap P Q: true if the IPv4 prefixes P and Q (A.B.C.D/N, or an
# address alone: /32) have an address in common
prefixes_overlap() {
  local p=$1 q=$2 n=32 m=32 x y k mask
  [[ $p == */* ]] && n=${p#*/}
  [[ $q == */* ]] && m=${q#*/}
  [[ $n =~ ^[0-9]{1,2}$ && $m =~ ^[0-9]{1,2}$ ]] && (( 10#$n <= 32 && 10#$m <= 32 )) || return 1
  x=$(ipv4_number "${p%%/*}") || return 1
  y=$(ipv4_number "${q%%/*}") || return 1
  k=$(( 10#$n < 10#$m ? 10#$n : 10#$m ))
  mask=$(( k == 0 ? 0 : (0xffffffff << (32 - k)) & 0xffffffff ))
  (( (x & mask) == (y & mask) ))
}

# host_ipv4_uses: "PREFIX WHAT" lines, one per address and route of the host
# that a new network's subnet must not overlap
host_ipv4_uses() {
  local _n dev _f addr _r first dst
  ip -o -4 addr show | while read -r _n dev _f addr _r; do
    dev=${dev%%@*}
    [ "$dev" = vnet0 ] && continue
    case "$addr" in 127.*|169.254.*) continue ;; esac
    echo "$addr address $addr on $dev"
  done
  ip -4 route show table main | while read -r first _r; do
    case "$first" in
      default|blackhole|unreachable|prohibit|throw|local|broadcast|multicast|anycast|nat) continue ;;
      unicast) read -r first _r <<< "$_r" ;;
    esac
    dst=$first
    [[ " $_r " == *" dev vnet0 "* ]] && continue
    [[ $dst == 0.0.0.0/0 || $dst == 169.254.* ]] && continue
    dev=""
    [[ " $_r " =~ \ dev\ ([^ ]+)\  ]] && dev=" (via ${BASH_REMATCH[1]})"
    echo "$dst route $dst$dev"
  done
}

# choose_subnet: set $subnet to the first free candidate (empty if none),
# saying why each one before it was passed over
choose_subnet() {
  local uses cand p what hit
  subnet=""
  uses=$(host_ipv4_uses)
  for cand in $default_subnets; do
    hit=""
    while read -r p what; do
      [ -n "$p" ] || continue
      if prefixes_overlap "$cand" "$p"; then hit=$what; break; fi
    done <<< "$uses"
    if [ -z "$hit" ]; then subnet=$cand; return 0; fi
    echo "default network vnet0: $cand collides with $hit"
  done
}

# default_network_text SUBNET: the definition of vnet0 on SUBNET
default_network_text() {
  local gw="${1%.0/24}.1"
  cat <<TOML
# /etc/vnet-helper/networks/vnet0.toml: the default network, written by
# install.sh. NAT to the outside, DHCP and DNS (dnsmasq) on the gateway.
# $1 was the first of $default_subnets
# that overlapped no address or route of the host at install time.
# Edit freely (see README.md): install.sh --uninstall removes this file only
# if it is unchanged.
mode = "nat"
address = "$gw/24"
dhcp = true
dns = true
TOML
}

install_default_network() {
  local tmp
  if [ -e "$default_net" ] || [ -L "$default_net" ]; then
    if [ -n "$(recorded_sum "$default_net")" ]; then
      echo "kept $default_net (written by an earlier install.sh)"
    else
      echo "kept existing $default_net"
    fi
    return 0
  fi
  if ! command -v ip >/dev/null; then
    echo "no default network: no \`ip' command (iproute2) to check this host's subnets; define one in $default_net (see README.md)"
    return 0
  fi
  choose_subnet
  if [ -z "$subnet" ]; then
    echo "no default network: every candidate subnet ($default_subnets) collides with this host; define one in $default_net (see README.md)"
    return 0
  fi
  tmp=$(mktemp "$defs/.vnet0.toml.XXXXXX")
  default_network_text "$subnet" > "$tmp"
  chown root:root "$tmp"
  chmod 0644 "$tmp"
  # a hard link never replaces a file that appeared meanwhile
  if ! ln "$tmp" "$default_net" 2>/dev/null; then
    rm -f "$tmp"
    echo "kept existing $default_net"
    return 0
  fi
  rm -f "$tmp"
  remember_sum "$default_net"
  echo "installed $default_net: the default network vnet0 (NAT, DHCP, DNS) on $subnet, gateway ${subnet%.0/24}.1"
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

mkdir -p "$record_dir"
touch "$record"

install -D -o root -g root -m 4755 "$built" "$bin"
remember "$bin"
echo "installed $bin (setuid root, mode 4755) from $built"

if [ -e "$acl" ]; then
  echo "kept existing $acl"
  if ! grep -Eq '^allow[[:space:]]+(vnet0|all)$' "$acl" 2>/dev/null; then
    echo "  (it has no \`allow vnet0' line: add one to let users attach to the default network)"
  fi
else
  install -D -o root -g root -m 0644 "$here/acl/bridge.conf" "$acl"
  remember_sum "$acl"
  echo "installed $acl (allows bridge vnet0 to every user: edit it)"
fi
install -d -o root -g root -m 0755 "$defs"
install_default_network

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
