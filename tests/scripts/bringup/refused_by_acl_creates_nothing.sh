#!/bin/bash
# tests/scripts/bringup/refused_by_acl_creates_nothing.sh: ACL refusals create nothing
# (run by tests/bringup.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
bringup_host
export_functions
define_net vnet0
fw_snapshot "$WORK/fw.base"
# (1) allowed something else only
echo 'allow other0' > /etc/qemu/bridge.conf
call_helper "$VH" vnet0 | sed 's/^/A_/'
nothing vnet0 A_
# (2) allow all, deny this one
printf 'allow all\ndeny vnet0\n' > /etc/qemu/bridge.conf
call_helper "$VH" vnet0 | sed 's/^/B_/'
nothing vnet0 B_
# (3) no bridge.conf at all
rm -f /etc/qemu/bridge.conf
call_helper "$VH" vnet0 | sed 's/^/C_/'
nothing vnet0 C_
dump_state vnet0
