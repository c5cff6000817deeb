#!/bin/bash
# tests/scripts/bringup/insecure_definition_is_refused_naming_the_file.sh: definitions others could have written
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
F=$(definition_file vnet0)
chmod 0666 "$F"
call_helper "$VH" vnet0 | sed 's/^/A_/'
nothing vnet0 A_
chmod 0664 "$F"
call_helper "$VH" vnet0 | sed 's/^/B_/'
nothing vnet0 B_
chmod 0644 "$F"; chown 4242:4242 "$F"
call_helper "$VH" vnet0 | sed 's/^/C_/'
nothing vnet0 C_
# control: the same file made secure again works
chown root:root "$F"
call_helper "$VH" vnet0 | sed 's/^/OK_/'
dump_state vnet0
