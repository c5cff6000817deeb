#!/bin/bash
# tests/scripts/network_integrity/gateway_mac_is_fixed_whatever_the_ports_do.sh:
# a managed bridge's MAC (the guests' gateway) is locally administered and
# stays the same when a caller sets its tap's MAC to 00:00:00:00:00:01 through
# the received fd, when the first tap leaves, and across a teardown and a new
# bring-up.
# (run by tests/network_integrity.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
dump_on_failure vnet0
define_net vnet0 'address = "10.200.0.1/24"'

# tricks OUTFILE [tap_tricks.py options]: a caller (uid 4242 throughout, so
# what it does to its tap needs no privilege) that keeps its tap; waits for
# the call's result and sets TRICKS_PID
tricks() {
  local out=$1; shift
  # shellcheck disable=SC2086 # $AS_USER is a command prefix (several words)
  $AS_USER /usr/bin/python3 "$TESTS/tools/tap_tricks.py" --hold 600 "$@" "$VH" vnet0 > "$out" 2>&1 &
  TRICKS_PID=$!
  wait_for 25 grep -q '^RC=' "$out" || { cat "$out" >&2; die "call: no result within 25 s"; }
  grep -qx 'GOT_FD=yes' "$out" || { cat "$out" >&2; die "call failed"; }
}
bridge_mac() { cat /sys/class/net/vnet0/address 2>/dev/null || echo none; }
# local_unicast MAC: yes if the first octet has the locally-administered bit
# and not the group bit
local_unicast() {
  local o=$((16#${1%%:*}))
  if [ $((o & 2)) = 2 ] && [ $((o & 1)) = 0 ]; then echo yes; else echo no; fi
}

tricks "$WORK/a.out"; A=$TRICKS_PID
M1=$(bridge_mac)
echo "MAC_COLD=$M1"
echo "MAC_COLD_LOCAL_UNICAST=$(local_unicast "$M1")"
echo "TAP_A_MAC=$(cat "/sys/class/net/$(sed -n 's/^TAP=//p' "$WORK/a.out")/address")"

# a second caller sets its tap's MAC to the lowest unicast address there is
tricks "$WORK/b.out" --set-mac 00:00:00:00:00:01; B=$TRICKS_PID
echo "SET_MAC=$(sed -n 's/^SET_MAC=//p' "$WORK/b.out")"
echo "TAP_B_MAC=$(sed -n 's/^MAC_NOW=//p' "$WORK/b.out")"
echo "TAP_B_MASTER=$(master_of "$(sed -n 's/^TAP=//p' "$WORK/b.out")")"
echo "MAC_WITH_B=$(bridge_mac)"

# the first tap leaves
release "$A"
tap_a=$(sed -n 's/^TAP=//p' "$WORK/a.out")
wait_for 5 bridge_gone "$tap_a" || die "tap $tap_a still there after its holder exited"
echo "MAC_B_ALONE=$(bridge_mac)"

# a full teardown and a new bring-up
release "$B"
"$VH" down --force vnet0 >&2
wait_for 10 net_gone vnet0 || die "vnet0 not gone after down --force"
tricks "$WORK/c.out"; C=$TRICKS_PID
echo "MAC_AGAIN=$(bridge_mac)"
release "$C"
