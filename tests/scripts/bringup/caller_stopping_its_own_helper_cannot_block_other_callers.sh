#!/bin/bash
# tests/scripts/bringup/caller_stopping_its_own_helper_cannot_block_other_callers.sh: a caller that SIGSTOPs its own helper holding the network's lock
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
launch vnet0 > /dev/null   # up (the warm path is the narrowest window)
t7_held() {
  if holds_file "$STOPPED_PID" "$(network_lock vnet0)"; then
    echo LOCK_HELD=yes
    # another user's ordinary call meanwhile: fake_qemu.py gives up after
    # 2 x 5 s (RC=timeout)
    out=$(timeout 20 python3 "$TESTS/tools/fake_qemu.py" --timeout 5 "$VH" vnet0 || true)
    echo "VICTIM_RC=$(printf '%s\n' "$out" | grep -m1 '^RC=' | cut -d= -f2 | grep . || echo hung)"
    echo "VICTIM_GOT_FD=$(printf '%s\n' "$out" | grep -m1 '^GOT_FD=' | cut -d= -f2)"
  else
    echo LOCK_HELD=no
  fi
}
export -f t7_held
hit=no
for attempt in $(seq 1 30); do
  launch --stop-as-caller --hold-cmd t7_held vnet0 > "$WORK/attack.$attempt"
  if grep -q '^LOCK_HELD=yes' "$WORK/attack.$attempt"; then hit=yes; break; fi
done
echo "ATTEMPTS=$attempt"
echo "HIT=$hit"
[ "$hit" = yes ] && grep -E '^(STOPPED|STOP_TRIES|STOP_STATE|LOCK_HELD|VICTIM_RC|VICTIM_GOT_FD)=' "$WORK/attack.$attempt"
dump_state vnet0
