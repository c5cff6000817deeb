#!/bin/bash
# tests/scripts/host_firewalls/heal_firewalld_reload_and_restart.sh: a real
# firewalld with our zones installed. `firewall-cmd --reload' and a firewalld
# restart each drop the runtime zone binding and flush the iptables tables
# (our rules); the supervisor (firewalld's `Reloaded' signal, its bus name's
# new owner, netfilter notifications) puts both back within a second of
# firewalld being ready again, and a guest's TCP connection through NAT
# that was open during both stays up. BACKEND (environment): the firewall
# backend to force; with nftables, firewalld's reload leaves our own table
# alone and only the binding must come back.
# (run by tests/host_firewalls.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/upstream.sh
source "$TESTS/lib/upstream.sh"
# shellcheck source=tests/lib/firewalld.sh
source "$TESTS/lib/firewalld.sh"
dump_on_failure vnet0
use_backend "${BACKEND:?}"
upstream_setup
define_net vnet0 'address = "10.200.0.1/24"' 'dhcp-range = "10.200.0.100-10.200.0.150"'
firewalld_zone_install
firewalld_start || die "firewalld did not start"
HOLD=600 call_helper "$VH" vnet0 > "$WORK/call.out" 2>&1 &
wait_for 25 grep -q '^RC=' "$WORK/call.out" || die "the call did not return"
echo "CALL_RC=$(sed -n 's/^RC=//p' "$WORK/call.out")"
echo "CALL_STDERR=$(sed -n "s/^STDERR=//p" "$WORK/call.out")"
echo "ZONE_AT_BRING_UP=$(firewalld_zone_of vnet0)"
rules_complete vnet0 || die "no rules after the bring-up"

veth_guest g vnet0
echo "DHCP=$(wait_for 10 guest_lease g && echo ok || echo failed)"
ip -n g addr add 10.200.0.50/24 dev eth0
ip -n g route add default via 10.200.0.1
echo_server upstream 198.51.100.1 7100
long_connection g 198.51.100.1 7100 14 "$WORK/conn"
sleep 1

# healed: rules and binding both in place
healed() { rules_complete vnet0 && zone_in_ruleset vnet0 vnet-helper; }

# nft monitor shows whether our rules really went (and came back)
nft monitor > "$WORK/monitor" 2>&1 & mon=$!
sleep 0.3
t0=$(now)
fw_cmd --reload >/dev/null
t1=$(now)
wait_for 5 healed || die "not healed after the reload"
echo "RELOAD_HEALED_S=$(since "$t1")"
echo "RELOAD_TOOK_S=$(diff_s "$t0" "$t1")"
sleep 1
kill "$mon"; wait "$mon" 2>/dev/null || true
echo "RELOAD_REMOVED_OURS=$(grep -c 'delete .*VNET-vnet0\|flush table ip filter\|delete table ip filter\|delete table ip nat' "$WORK/monitor" || true)"

firewalld_stop
t0=$(now)
firewalld_start || die "firewalld did not start again"
t1=$(now)
wait_for 5 healed || die "not healed after the restart"
echo "RESTART_HEALED_S=$(since "$t1")"
echo "RESTART_TOOK_S=$(diff_s "$t0" "$t1")"

wait_for 20 test -e "$WORK/conn" || die "the connection test did not end"
cat "$WORK/conn"
echo "NAT_PING_AFTER=$(ip netns exec g busybox ping -c 1 -W 2 198.51.100.1 >/dev/null 2>&1 && echo ok || echo failed)"
echo "DHCP_AFTER=$(wait_for 10 guest_lease g && echo ok || echo failed)"
echo "RULE_DUPLICATES=$(fw_dups)"
firewalld_stop
