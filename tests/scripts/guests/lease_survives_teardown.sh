#!/bin/bash
# tests/scripts/guests/lease_survives_teardown.sh: a lease survives the idle teardown: the same MAC gets the same address
# (run by tests/guests.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# Topology (tests/lib/upstream.sh, upstream_with_peer_servers):
#   guests --tap-- [vnet0 10.200.0.1/24] host [uplink0 198.51.100.2/24]
#                                               | veth
#                                netns upstream [eth0 198.51.100.1/24]
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/upstream.sh
source "$TESTS/lib/upstream.sh"
# shellcheck source=tests/lib/guest.sh
source "$TESTS/lib/guest.sh"
export GUEST_TIMEOUT=150
dump_on_failure vnet0
upstream_with_peer_servers
define_net vnet0 'address = "10.200.0.1/24"' 'dhcp-range = "10.200.0.100-10.200.0.199"' \
  'domain = "vm"' 'idle-timeout = "2s"'
MAC=52:54:00:12:34:56
{ guest_snippets; echo 'dhcp leaseguest'; } > "$WORK/g.sh"
fw_rules > "$WORK/fw-before"

nic vnet0 $MAC
guest_boot first "$WORK/g.sh" "${NIC[@]}"
echo "IP_FIRST=$(guest_value first LEASE_IP)"

# QEMU has exited: the last tap is gone; idle-timeout is 2s
t0=$EPOCHREALTIME
if wait_for 10 bridge_gone vnet0; then echo "TORN_DOWN=yes"; else echo "TORN_DOWN=no"; fi
echo "T_TEARDOWN=$(since "$t0")"
# the rest of the teardown may trail the bridge by a moment
no_dnsmasq() { [ -z "$(all_dnsmasq_pids)" ]; }
no_supervisor() { [ -z "$(supervisor_pids vnet0)" ]; }
wait_for 5 no_dnsmasq || true
wait_for 5 no_supervisor || true
net_brief vnet0 DOWN
if fw_rules | cmp -s - "$WORK/fw-before"; then echo "FW_AFTER_TEARDOWN=same"; else
  echo "FW_AFTER_TEARDOWN=differs"; fw_rules | diff "$WORK/fw-before" - >&2 || true
fi
L=$(lease_file vnet0)
if [ -f "$L" ]; then echo "LEASEFILE=present"; else echo "LEASEFILE=absent"; fi
echo "LEASEFILE_ENTRY=$(awk -v m=$MAC 'tolower($2) == m { print $2, $3, $4 }' "$L" 2>/dev/null)"

# the same MAC again: the network comes back, with the same address for it
nic vnet0 $MAC
guest_boot second "$WORK/g.sh" "${NIC[@]}"
echo "IP_SECOND=$(guest_value second LEASE_IP)"
