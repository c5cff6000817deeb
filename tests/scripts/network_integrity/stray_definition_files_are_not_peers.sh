#!/bin/bash
# tests/scripts/network_integrity/stray_definition_files_are_not_peers.sh:
# next to vnet0.toml, files that define no network (`+.toml` with valid
# content, an empty one, an invalid one; then `x"y.toml`) stay out of the
# firewall: cold calls succeed, no rule names any interface but vnet0's, and a
# guest's NAT traffic gets its replies; `vnet-helper check` names each file.
# (run by tests/network_integrity.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
# shellcheck source=tests/lib/upstream.sh
source "$TESTS/lib/upstream.sh"
dump_on_failure vnet0
upstream_setup
define_net vnet0 'address = "10.200.0.1/24"'
# stray FILE: a root-owned 0644 file in the definitions directory (no ACL
# line: these are not networks anyone asked for), content from stdin
stray() {
  local f; f="$(definitions_dir)/$1"
  cat > "$f"; chown root:root "$f"; chmod 0644 "$f"
}

# a "guest" on vnet0: a namespace behind a veth whose peer is a port of the
# bridge, with a static address and the gateway as its default route
guest_on_vnet0() {
  ip netns add g
  ip link add vh0 type veth peer name eth0 netns g
  ip link set vh0 master vnet0 up
  ip -n g link set lo up
  ip -n g addr add 10.200.0.50/24 dev eth0
  ip -n g link set eth0 up
  ip -n g route add default via 10.200.0.1
}
ping_upstream() { ip netns exec g busybox ping -c 1 -W 1 198.51.100.1 >/dev/null 2>&1; }
# the interfaces named by -i/-o in the whole firewall, sorted, unique
# (nftables backend: iifname/oifname and the set of managed bridges)
fw_interfaces() {
  {
    { iptables-save; ip6tables-save; } 2>/dev/null | grep -E '^-A ' | grep -oE -- ' -[io] [^ ]+' | awk '{ print $2 }'
    nft_ours | grep -oE '[io]ifname "[^"]+"' | cut -d'"' -f2
    nft_ours | grep -E '^ip6? vnet_helper set bridges: ' | grep -v ': type ' | grep -oE '"[^"]+"' | tr -d '"'
  } | sort -u | tr '\n' ' ' | sed 's/ $//'
}
# phase PREFIX: a cold call (the tap kept), the firewall's interfaces, NAT
# from the guest
phase() {
  local p=$1 out="$WORK/$1.out"
  HOLD=600 call_helper "$VH" vnet0 > "$out" 2>&1 &
  PHASE_HOLDER=$!
  if wait_for 25 grep -q '^RC=' "$out"; then
    echo "${p}_CALL=$(sed -n 's/^RC=//p' "$out") $(sed -n 's/^GOT_FD=//p' "$out")"
  else
    echo "${p}_CALL=timeout"
  fi
  echo "${p}_STDERR=$(sed -n 's/^STDERR=//p' "$out")"
  echo "${p}_FW_INTERFACES=$(fw_interfaces)"
  if [ -e "$WORK/fw.alone" ]; then fw_compare "${p}_FW" "$WORK/fw.alone"; else fw_snapshot "$WORK/fw.alone"; fi
  if bridge_exists vnet0; then
    ip netns list | grep -qw g || guest_on_vnet0
    ip link set vh0 master vnet0 up
    echo "${p}_NAT_PING=$(wait_for 5 ping_upstream && echo ok || echo failed)"
  else
    echo "${p}_NAT_PING=no-bridge"
  fi
}

# again_from_cold: release the tap, take vnet0 down, wait until it is gone
again_from_cold() {
  release "$PHASE_HOLDER"
  "$VH" down --force vnet0 >&2 || true
  wait_for 10 net_gone vnet0 || die "vnet0 not gone after down --force"
}

# vnet0 alone: the reference firewall (fw.alone)
phase P0
again_from_cold
# stray files: a name that is no interface name, with valid content; an
# empty file; an invalid one
printf 'address = "10.201.0.1/24"\n' | stray '+.toml'
stray empty.toml < /dev/null
printf 'address = "not an address"\n' | stray bad.toml
phase P1
again_from_cold
# and a name with a double quote in it
printf 'address = "10.202.0.1/24"\n' | stray 'x"y.toml'
phase P2
release "$PHASE_HOLDER"

# check, as root: exit 1, every stray file named
"$VH" check > "$WORK/check.out" 2>&1 && rc=0 || rc=$?
cat "$WORK/check.out" >&2
echo "CHECK_RC=$rc"
# (check shows a '"' escaped as \")
no_network='the file name is not a valid network name: .*; it defines no network'
echo "CHECK_PLUS=$(yes_no grep -qE "/\\+\\.toml: $no_network" "$WORK/check.out")"
echo "CHECK_QUOTE=$(yes_no grep -qE "/x\\\\?\"y\\.toml: $no_network" "$WORK/check.out")"
echo "CHECK_EMPTY=$(yes_no grep -qF '/empty.toml:' "$WORK/check.out")"
echo "CHECK_BAD=$(yes_no grep -qF '/bad.toml:' "$WORK/check.out")"
echo "CHECK_VNET0=$(yes_no grep -qF "vnet0.toml" "$WORK/check.out")"
