#!/bin/bash
# tests/scripts/bringup/twenty_four_simultaneous_calls_bring_up_once.sh: 24 calls at once on a network that is down
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
define_net vnet0 'address = "10.200.0.1/24"' 'idle-timeout = "never"'
fw_snapshot "$WORK/fw.base"
t2_held() {
  net_state vnet0
  local n=0 t
  for t in $TAPS; do
    [ "$(master_of "$t")" = vnet0 ] && n=$((n + 1))
  done
  echo "TAPS_ON_BRIDGE=$n"
  echo "UNREACHABLE_CHAINS=$(unreachable_chains)"
  fw_snapshot "$WORK/fw.24"
}
export -f t2_held
# all 24 released at the same instant, each keeping its tap until the check ran
launch --n 24 --hold-cmd t2_held vnet0
dump_state vnet0
# the reference: the same network brought up by a single call
echo "DOWN_RC=$(timeout 60 "$VH" down --force vnet0 >&2; echo $?)"
net_state vnet0 DOWN_
fw_compare DOWN_FW "$WORK/fw.base"
# shellcheck disable=SC2016 # expanded by the hold command's bash
call_helper --hold-cmd 'fw_snapshot "$WORK/fw.single"' "$VH" vnet0 | sed 's/^/SINGLE_/'
# compare the 24-call ruleset with the single bring-up's
{ cmp -s "$WORK/fw.24" "$WORK/fw.single" && echo CMP_EXACT=same || echo CMP_EXACT=differs; }
{ [ "$(sort "$WORK/fw.24")" = "$(sort "$WORK/fw.single")" ] && echo CMP_MULTISET=same || echo CMP_MULTISET=differs; }
echo "CMP_DUPS_24=$(fw_dups "$WORK/fw.24")"
diff "$WORK/fw.single" "$WORK/fw.24" >&2 || true
