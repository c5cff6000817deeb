#!/bin/bash
# tests/scripts/bringup/dnsmasq_failure_is_undone.sh: a dnsmasq that cannot start: the bring-up is undone
# (run by tests/bringup.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
bringup_host
export_functions
define_net vnet0 'address = "10.200.0.1/24"' 'idle-timeout = "never"'
fw_snapshot "$WORK/fw.base"
# hold UDP 0.0.0.0:67 so that dnsmasq cannot bind its DHCP socket
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 67))
open(sys.argv[1], "w").close()
time.sleep(120)' "$WORK/port-held" &
blocker=$!
wait_for 20 test -e "$WORK/port-held" || { echo "could not hold port 67" >&2; exit 1; }
call_helper "$VH" vnet0
nothing vnet0 ""
echo "PROCS=$(ps -eo comm= | sort | uniq -c | tr -s ' \n' '  ')"
# port free again: the failure was not sticky
kill "$blocker"; wait "$blocker" 2>/dev/null || true
call_helper --hold-cmd 'net_state vnet0' "$VH" vnet0 | sed 's/^/AGAIN_/'
dump_state vnet0
