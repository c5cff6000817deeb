#!/bin/bash
# tests/scripts/host_firewalls/nft_backend_guests.sh: the nftables backend on
# a host whose own firewall is HOST_FW (empty, docker: iptables FORWARD DROP
# and DOCKER chains, ufw: INPUT/FORWARD DROP and ufw chains). Two veth guests
# on one NAT network: DHCP, DNS, NAT to an upstream, a port forward from the
# upstream, guest to guest; iptables-save keeps working while it is up; after
# the teardown iptables-save, ip6tables-save and nft list ruleset are
# byte-identical to before.
# (run by tests/host_firewalls.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/upstream.sh
source "$TESTS/lib/upstream.sh"
# shellcheck source=tests/lib/host_fw.sh
source "$TESTS/lib/host_fw.sh"
dump_on_failure vnet0
upstream_setup
define_net vnet0 'address = "10.200.0.1/24"' 'dhcp-range = "10.200.0.100-10.200.0.150"' \
  'idle-timeout = "never"' \
  '[[host]]' 'mac = "52:54:00:aa:00:50"' 'ip = "10.200.0.50"' 'name = "web"' \
  '[[forward]]' 'proto = "tcp"' 'port = 8080' 'to = "10.200.0.50:80"'
shape_host "${HOST_FW:?}"
echo "BACKEND=$(fw_backend)"
host_fw_snapshot "$WORK/before"

HOLD=600 call_helper "$VH" vnet0 > "$WORK/call.out" 2>&1 &
holder=$!
wait_for 25 grep -q '^RC=' "$WORK/call.out" || die "the call did not return"
echo "CALL_RC=$(sed -n 's/^RC=//p' "$WORK/call.out")"
echo "RULES_COMPLETE=$(yes_no rules_complete vnet0)"
"$VH" status vnet0 > "$WORK/status"
echo "STATUS_BACKEND=$(sed -n 's/^firewall backend: \([a-z]*\).*/\1/p' "$WORK/status")"
echo "STATUS_RULES=$(sed -n 's/^  firewall rules: //p' "$WORK/status")"
echo "STATUS_COEXIST=$(grep -c '^  host iptables firewall would drop' "$WORK/status" || true)"
echo "IPTABLES_SAVE_WARNINGS=$( { iptables-save; ip6tables-save; } 2>&1 | grep -ci 'incompatible\|warning' || true)"

veth_guest g1 vnet0 52:54:00:aa:00:50
veth_guest g2 vnet0 52:54:00:aa:00:51
echo "G1_LEASE=$(dhcp_lease g1)"
echo "G2_LEASE=$( [ -n "$(dhcp_lease g2)" ] && echo got || echo none)"
echo "DNS=$(dns_query g2 10.200.0.1 web)"
echo "NAT_PING=$(wait_for 5 ip netns exec g1 busybox ping -c 1 -W 1 198.51.100.1 >/dev/null 2>&1 && echo ok || echo failed)"
echo "GUEST_TO_GUEST=$(wait_for 5 ip netns exec g2 busybox ping -c 1 -W 1 10.200.0.50 >/dev/null 2>&1 && echo ok || echo failed)"
guest_listener g1 80
echo "FORWARD_FROM_UPSTREAM=$(wait_for 5 connect_ok upstream 198.51.100.2 8080 && echo ok || echo failed)"

kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
rc=0; "$VH" down --force vnet0 > "$WORK/down.out" 2>&1 || rc=$?
echo "DOWN_RC=$rc"
host_fw_compare AFTER "$WORK/before"
