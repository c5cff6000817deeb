#!/bin/bash
# tests/scripts/bringup/unknown_key_is_refused_naming_key_file_and_line.sh: a definition with an unknown key
# (run by tests/bringup.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
bringup_host
export_functions
define_net vnet0 '# vnet0: a typo on line 3' 'dhcp = true' 'adress = "10.200.0.1/24"' 'lease-time = "1h"'
fw_snapshot "$WORK/fw.base"
call_helper "$VH" vnet0
nothing vnet0 ""
dump_state vnet0
