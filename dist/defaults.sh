#!/bin/bash
# dist/defaults.sh: the default configuration a fresh install gets, shared by
# install.sh (which sources it) and the Debian package (whose postinst runs
# it, installed as /usr/share/vnet-helper/defaults.sh, on a first install):
#   /etc/qemu/bridge.conf                 from acl/bridge.conf (allows vnet0), only if there is none
#   /etc/vnet-helper/networks/vnet0.toml  the default network: NAT, DHCP and DNS, on the
#                                         first of 10.200.0.0/24, 10.201.0.0/24,
#                                         172.30.200.0/24, 192.168.200.0/24 that
#                                         overlaps no address or route of this host
#                                         (none if all do); only if there is none
# Every file it creates is recorded in $record (with its checksum in $sums),
# so that an uninstall (install.sh --uninstall, the package's purge) removes
# only what it created, and not once edited. Run directly, it takes
#   DESTDIR (default empty), ACL_EXAMPLE (the bridge.conf to copy) and
#   RECORD (default /var/lib/vnet-helper/installed)
# from the environment.
DESTDIR=${DESTDIR:-}
acl="$DESTDIR/etc/qemu/bridge.conf"
defs="$DESTDIR/etc/vnet-helper/networks"
default_net="$defs/vnet0.toml"
record="$DESTDIR${RECORD:-/var/lib/vnet-helper/installed}"
sums="$record.sha256"
# the default network's candidate subnets, in order (all /24, gateway .1)
default_subnets="10.200.0.0/24 10.201.0.0/24 172.30.200.0/24 192.168.200.0/24"

# ---------------------------------------------------------------------------
# What was created: paths in $record, checksums in $sums.

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

# recorded_sum FILE: the checksum FILE had when it was written (empty if none)
recorded_sum() {
  [ -f "$sums" ] || return 0
  P="$1" awk 'substr($0, 67) == ENVIRON["P"] { s = substr($0, 1, 64) } END { print s }' "$sums"
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
# /etc/vnet-helper/networks/vnet0.toml: the default network, written at
# installation (install.sh or the Debian package). NAT to the outside, DHCP
# and DNS (dnsmasq) on the gateway.
# $1 was the first of $default_subnets
# that overlapped no address or route of the host at install time.
# Edit freely (man vnet-helper.toml). install.sh --uninstall removes this file
# only if it is unchanged; purging the package removes it.
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

# install_acl EXAMPLE: install EXAMPLE as the ACL unless there is one
install_acl() {
  if [ -e "$acl" ]; then
    echo "kept existing $acl"
    if ! grep -Eq '^allow[[:space:]]+(vnet0|all)$' "$acl" 2>/dev/null; then
      echo "  (it has no \`allow vnet0' line: add one to let users attach to the default network)"
    fi
  else
    install -D -o root -g root -m 0644 "$1" "$acl"
    remember_sum "$acl"
    echo "installed $acl (allows bridge vnet0 to every user: edit it)"
  fi
}

# install_defaults ACL_EXAMPLE: the ACL and the default network
install_defaults() {
  mkdir -p "$(dirname "$record")"
  touch "$record"
  install_acl "$1"
  install -d -o root -g root -m 0755 "$defs"
  install_default_network
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  install_defaults "${ACL_EXAMPLE:?ACL_EXAMPLE: the bridge.conf to install}"
fi
