#!/bin/bash
# tests/scripts/bringup/cold_call_brings_network_up_and_second_call_adds_nothing.sh: the first call brings vnet0 up, a second one adds only its tap
# (run by tests/bringup.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
# checks the iptables backend's chains and programs by name (bringup.rs):
# forced; the nftables backend's are in tests/scripts/host_firewalls/
use_backend iptables
bringup_host
export_functions
define_net vnet0
fw_snapshot "$WORK/fw.base"
net_state vnet0 PRE_
t1_first() {
  set -u
  net_state vnet0 A_
  echo "A_TAP_MASTER=$(master_of "$TAP")"
  echo "A_BRIDGE_MTU=$(cat /sys/class/net/vnet0/mtu)"
  for d in $(dnsmasq_pids vnet0); do proc_report "$d" A_DNSMASQ_; done
  for s in $(supervisor_pids vnet0); do proc_report "$s" A_SUP_; done
  echo "A_UNREACHABLE_CHAINS=$(unreachable_chains)"
  fw_snapshot "$WORK/fw.first"
  # the second call, while the first guest's tap is still held
  call_helper --hold-cmd t1_second "$VH" vnet0 | sed 's/^/B_/'
}
t1_second() {
  net_state vnet0
  echo "TAP_MASTER=$(master_of "$TAP")"
  fw_compare FW "$WORK/fw.first"
}
export -f t1_first t1_second
call_helper --hold-cmd t1_first "$VH" vnet0
net_state vnet0 POST_
dump_state vnet0
