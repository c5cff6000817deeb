#!/bin/bash
# tests/scripts/network_integrity/persistent_tap_does_not_keep_network_up.sh:
# a caller makes its tap persistent (TUNSETPERSIST, TUNSETOWNER through the
# fd) and exits: status marks the tap as held by no process, the network
# idles down (idle-timeout 2 s) without another call, and the tap, still
# there, is a port of nothing.
# (run by tests/network_integrity.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
dump_on_failure vnet0
define_net vnet0 'address = "10.200.0.1/24"' 'idle-timeout = "2s"'

# the caller, uid 4242 throughout: receives its tap, makes it persistent and
# its own, closes it and exits
as_user timeout 30 /usr/bin/python3 "$TESTS/tools/tap_tricks.py" --persist --owner 4242 "$VH" vnet0 > "$WORK/t.out" 2>&1
cat "$WORK/t.out" >&2
t0=$(now)
TAP=$(sed -n 's/^TAP=//p' "$WORK/t.out")
echo "CALL=$(sed -n 's/^RC=//p' "$WORK/t.out") $(sed -n 's/^GOT_FD=//p' "$WORK/t.out")"
echo "PERSIST=$(sed -n 's/^PERSIST=//p' "$WORK/t.out")"
echo "OWNER=$(sed -n 's/^OWNER=//p' "$WORK/t.out")"
[ -n "$TAP" ] || die "no tap"
echo "TAP_EXISTS=$(yes_no link_exists "$TAP")"
echo "TAP_MASTER=$(master_of "$TAP")"
# status, as root, while the network is still up (within its idle timeout)
"$VH" status vnet0 > "$WORK/status.out" 2>&1 || true
cat "$WORK/status.out" >&2
echo "STATUS_MARKS_TAP=$(yes_no grep -qE "$TAP.*\[no process holds it: not counted as a guest\]" "$WORK/status.out")"
"$VH" status --json vnet0 > "$WORK/status.json" 2>&1 || true
echo "STATUS_JSON_ATTACHED=$(python3 - "$WORK/status.json" "$TAP" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except ValueError:
    print("unparsable"); sys.exit()
nets = d if isinstance(d, list) else [d]
found = []
def walk(o):
    if isinstance(o, dict):
        if sys.argv[2] in o.values() and "attached" in o:
            found.append(str(o["attached"]).lower())
        for v in o.values():
            walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
walk(nets)
print(",".join(found) or "absent")
PY
)"
# the network idles down by itself: no other call is made
if wait_for 10 net_gone vnet0; then echo "GONE_AFTER=$(since "$t0")"; else
  echo "GONE_AFTER=timeout"; VERBOSE_GONE=1 net_gone vnet0 || true
fi
# shellcheck disable=SC2046 # one word per pid
echo "NSUPERVISOR=$(count $(supervisor_pids vnet0))"
echo "TAP_EXISTS_AFTER=$(yes_no link_exists "$TAP")"
echo "TAP_MASTER_AFTER=$(master_of "$TAP")"
ip link del "$TAP" 2>/dev/null || true
