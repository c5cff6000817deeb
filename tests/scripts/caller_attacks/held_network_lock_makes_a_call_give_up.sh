#!/bin/bash
# tests/scripts/caller_attacks/held_network_lock_makes_a_call_give_up.sh: while
# the network's lock is held (here by root's `flock ... sleep 60`; in life by
# a stuck or stopped bring-up), a call does not wait for ever: it gives up
# within about 20 s with RC=1 and says the network is busy. QEMU would
# otherwise hang in its start-up for as long as the lock is held.
# (run by tests/caller_attacks.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/caller_attacks.sh
source "$TESTS/lib/caller_attacks.sh"
dump_on_failure vnet0
define_net vnet0 'address = "10.200.0.1/24"'
# one bring-up and teardown make the helper's directories and lock file
call_helper "$VH" vnet0 > "$WORK/first.out"
grep -qx 'RC=0' "$WORK/first.out" || { cat "$WORK/first.out" >&2; die "the first call failed"; }
timeout 60 "$VH" down --force vnet0 > /dev/null 2>&1
lock=$(network_lock_any vnet0)
[ -n "$lock" ] || die "no lock file of vnet0 under $(run_root)/lock"
echo "LOCK_FILE=$lock"
# -o: only flock itself holds the lock (not its sleep), so killing it frees it
flock -o "$lock" sleep 60 &
holder=$!
wait_for 5 bash -c "! flock -n '$lock' true" || die "flock did not take $lock"
t0=$(now)
# fake_qemu.py would kill its helper after --timeout; `timeout 40` bounds all
out=$(timeout 40 python3 "$TESTS/tools/fake_qemu.py" --timeout 35 "$VH" vnet0 || true)
echo "CALL_S=$(since "$t0")"
rc=$(printf '%s\n' "$out" | sed -n 's/^RC=//p')
echo "RC=${rc:-hung}"
printf '%s\n' "$out" | grep -E '^(GOT_FD|STDERR)=' || true
sleeper=$(child_pids "$holder")
kill "$holder" ${sleeper:+"$sleeper"} 2>/dev/null || true
wait "$holder" 2>/dev/null || true
# the lock is free again: the next call works
call_helper "$VH" vnet0 | sed -n 's/^RC=/AFTER_RC=/p'
