#!/bin/bash
# tests/scripts/bringup/allowed_name_without_definition_is_plain_drop_in.sh: allowed, but no definition: the plain drop-in
# (run by tests/bringup.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
bringup_host
export_functions
# another network is defined; vnet0 is allowed but has no definition
define_net other0 'address = "10.203.0.1/24"'
echo 'allow vnet0' >> /etc/qemu/bridge.conf
fw_snapshot "$WORK/fw.base"
call_helper "$VH" vnet0
nothing vnet0 ""
if [ -n "$REF" ]; then call_helper "$REF" vnet0 | sed 's/^/REF_/'; fi
# with the bridge made by hand, the call attaches to it and manages nothing
ip link add vnet0 type bridge
ip link set vnet0 up
# shellcheck disable=SC2016 # expanded by the hold command's bash
call_helper --hold-cmd 'net_state vnet0 HELD_; echo "HELD_TAP_MASTER=$(master_of "$TAP")"' "$VH" vnet0 | sed 's/^/BR_/'
nothing other0 OTHER_
echo "BR_RUN_VNET0=$([ -e "$(run_dir vnet0)" ] && echo present || echo absent)"
dump_state vnet0
