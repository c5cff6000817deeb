#!/bin/bash
# tests/scripts/caller_attacks/descriptor_above_1023_does_not_reach_the_daemons.sh:
# a caller leaks a descriptor numbered above 1023 (fd 2000, a pipe, not
# close-on-exec) into the helper, on a system where close_range(2) fails
# (an old kernel, or a seccomp filter: tests/tools/no_close_range.c). The
# cold bring-up's processes (supervisor, dnsmasq, guard, anything the helper
# started) must not keep it: once the call is over, no process holds the pipe.
# (run by tests/caller_attacks.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/caller_attacks.sh
source "$TESTS/lib/caller_attacks.sh"
dump_on_failure vnet0
FD=2000
gcc -O2 -Wall -o "$WORK/no_close_range" "$TESTS/tools/no_close_range.c"
# the wrapper does what it says: close_range fails with ENOSYS (38) and the
# pipe end at FD survives an exec
# shellcheck disable=SC2016 # python code
"$WORK/no_close_range" "$FD" python3 -c '
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(436, 3, 0xFFFFFFFF, 4)
print("PROBE_CLOSE_RANGE_ERRNO=%d" % (ctypes.get_errno() if r != 0 else 0))
print("PROBE_FD_INHERITED=%s" % ("yes" if os.readlink("/proc/self/fd/'"$FD"'").startswith("pipe:") else "no"))
' | grep '^PROBE_'
define_net vnet0 'address = "10.200.0.1/24"' 'idle-timeout = "never"'
"$WORK/no_close_range" "$FD" python3 "$TESTS/tools/fake_qemu.py" --keep-fd "$FD" "$VH" vnet0 > "$WORK/call.out"
grep -E '^(PIPE_INODE|RC|GOT_FD|STDERR)=' "$WORK/call.out"
inode=$(sed -n 's/^PIPE_INODE=//p' "$WORK/call.out")
wait_for 5 net_complete_any vnet0 || die "vnet0 did not come up: $(net_brief_any vnet0)"
echo "SUPERVISOR_PIDS=$(supervisor_pids vnet0)"
echo "DNSMASQ_PIDS=$(dnsmasq_pids_any vnet0)"
# the caller (no_close_range -> fake_qemu.py) has exited: nobody may hold it
echo "PIPE_HOLDERS=$(holders_of "pipe:[$inode]")"
