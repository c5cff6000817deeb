#!/bin/bash
# tests/scripts/host_firewalls/heal_nft_flush.sh: no firewalld. The
# supervisor sleeps (no wake-up in 10 s) while nothing changes; after `nft
# flush ruleset' (and after an iptables-nft reload that drops our chains)
# it puts the network's rules back within a second, without touching the
# guest: a TCP connection through NAT that was open keeps working. Then it
# is idle again (its own re-apply does not wake it in a loop).
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
use_backend "${BACKEND:?}"   # (environment) the firewall backend to force
upstream_setup
define_net vnet0 'address = "10.200.0.1/24"' 'dhcp-range = "10.200.0.100-10.200.0.150"'
HOLD=600 call_helper "$VH" vnet0 > "$WORK/call.out" 2>&1 &
wait_for 25 grep -q '^RC=' "$WORK/call.out" || die "the call did not return"
echo "CALL_RC=$(sed -n 's/^RC=//p' "$WORK/call.out")"
wait_for 5 rules_complete vnet0 || die "no rules after the bring-up"
sup=$(supervisor_pids vnet0)
[ -n "$sup" ] || die "no supervisor"

veth_guest g vnet0
ip -n g addr add 10.200.0.50/24 dev eth0
ip -n g route add default via 10.200.0.1
echo_server upstream 198.51.100.1 7100
long_connection g 198.51.100.1 7100 8 "$WORK/conn"

# switches SECONDS: the supervisor's context switches over SECONDS
switches() {
  local a b
  a=$(proc_status_field "$sup" voluntary_ctxt_switches)
  sleep "$1"
  b=$(proc_status_field "$sup" voluntary_ctxt_switches)
  echo $(( b - a ))
}
# flush_and_time WHAT CMD...: run CMD (which removes our rules), print
# <WHAT>_GONE (were they gone right after) and <WHAT>_BACK_S
flush_and_time() {
  local what=$1 t0; shift
  t0=$(now)
  "$@"
  echo "${what}_GONE=$(rules_complete vnet0 && echo no || echo yes)"
  wait_for 5 rules_complete vnet0 || die "rules not back after $what"
  echo "${what}_BACK_S=$(since "$t0")"
}

sleep 1
flush_and_time FLUSH nft flush ruleset
sleep 1
# a reload of the backend's own tool that knows nothing of us: with
# nftables, our table deleted (as a tool that manages its own tables would);
# with iptables, iptables-restore of a dump taken before the network existed
if [ "$(fw_backend)" = nftables ]; then
  flush_and_time RESTORE nft delete table ip vnet_helper
else
  flush_and_time RESTORE bash -c 'printf "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n" | iptables-restore'
fi
wait_for 15 test -e "$WORK/conn" || die "the connection test did not end"
cat "$WORK/conn"
echo "NAT_PING_AFTER=$(ip netns exec g busybox ping -c 1 -W 2 198.51.100.1 >/dev/null 2>&1 && echo ok || echo failed)"
echo "RULE_DUPLICATES=$(fw_dups)"
# settled: no wake-up at all while nothing changes
sleep 1
echo "IDLE_SWITCHES_10S=$(switches 10)"
echo "SUPERVISOR_SAME=$([ "$(supervisor_pids vnet0)" = "$sup" ] && echo yes || echo no)"
