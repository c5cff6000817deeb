#!/bin/bash
# tests/scripts/network_integrity/network_names_that_match_shared_paths_collide_with_nothing.sh:
# networks named like the helper's shared runtime paths (lock, firewall,
# networks, supervisors) next to vnet0: each comes up (bounded: no deadlock)
# with exactly one supervisor, and tearing down `lock` leaves vnet0 whole: a
# second attach to vnet0 starts no second supervisor.
# (run by tests/network_integrity.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
dump_on_failure vnet0
NAMES="lock firewall networks supervisors vnet0"
i=10
for n in $NAMES; do
  define_net "$n" "address = \"10.2$i.0.1/24\""
  i=$((i + 1))
done

# one caller per network, each keeping its tap (like a running QEMU); a call
# that has not answered within 25 s is reported as "timeout" (fake_qemu.py
# itself kills a helper that runs 20 s)
declare -A HOLDERS=()
for n in $NAMES; do
  HOLD=600 call_helper "$VH" "$n" > "$WORK/$n.out" 2>&1 &
  HOLDERS[$n]=$!
  if wait_for 25 grep -q '^RC=' "$WORK/$n.out"; then
    echo "UP_$n=$(sed -n 's/^RC=//p' "$WORK/$n.out") $(sed -n 's/^GOT_FD=//p' "$WORK/$n.out")"
  else
    echo "UP_$n=timeout"
  fi
  grep '^STDERR=' "$WORK/$n.out" >&2 || true
done
# every network whole: its bridge holds its tap; one supervisor each
for n in $NAMES; do
  tap=$(sed -n 's/^TAP=//p' "$WORK/$n.out")
  echo "MASTER_$n=$( [ -n "$tap" ] && master_of "$tap" || echo none)"
  # shellcheck disable=SC2046 # one word per pid
  echo "NSUPERVISOR_$n=$(count $(supervisor_pids "$n"))"
done

# tear down `lock` (its tap still attached: --force)
"$VH" down --force lock > "$WORK/down.out" 2>&1 && rc=0 || rc=$?
echo "DOWN_LOCK_RC=$rc"
cat "$WORK/down.out" >&2
wait_for 10 bridge_gone lock && echo "LOCK_GONE=yes" || echo "LOCK_GONE=no"
# vnet0 untouched...
echo "VNET0_BRIDGE_AFTER=$(yes_no bridge_exists vnet0)"
# shellcheck disable=SC2046 # one word per pid
echo "VNET0_NSUPERVISOR_AFTER=$(count $(supervisor_pids vnet0))"
# ...and a second attach to it adds its tap and no second supervisor
call_helper "$VH" vnet0 > "$WORK/vnet0-2.out" 2>&1
echo "SECOND_VNET0=$(sed -n 's/^RC=//p' "$WORK/vnet0-2.out") $(sed -n 's/^GOT_FD=//p' "$WORK/vnet0-2.out")"
# a second supervisor, if one was started, has had time to show up
sleep 1
# shellcheck disable=SC2046 # one word per pid
echo "VNET0_NSUPERVISOR_SECOND=$(count $(supervisor_pids vnet0))"
# the other networks are still there too
for n in firewall networks supervisors; do
  # shellcheck disable=SC2046 # one word per pid
  echo "AFTER_$n=$(yes_no bridge_exists "$n") $(count $(supervisor_pids "$n"))"
done
for n in $NAMES; do release "${HOLDERS[$n]}"; done
