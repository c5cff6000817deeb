#!/bin/bash
# tests/scripts/lifecycle/dead_supervisor_pid_reused_is_not_signalled.sh: after the supervisor died, its pid may belong to someone else: up and down must not signal it.
# (run by tests/lifecycle.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
dump_on_failure vn0
define_net vn0 'address = "10.200.0.1/24"' 'idle-timeout = "never"'
lock_free() { ! supervisor_lock_held vn0; }
# kill_supervisor_and_reuse_pid: SIGKILL the supervisor, then start an
# innocent process under the very same pid (ns_last_pid: this is the
# sandbox's own PID namespace). Sets VICTIM.
kill_supervisor_and_reuse_pid() {
  local sup; sup=$(supervisor_pids vn0)
  # shellcheck disable=SC2086 # one word per pid
  [ "$(count $sup)" = 1 ] || die "want one supervisor, got [$sup]"
  kill -KILL "$sup"
  wait_for 5 lock_free || die "the dead supervisor's lock is still held"
  echo $((sup - 1)) > /proc/sys/kernel/ns_last_pid
  sleep 300 & VICTIM=$!
  [ "$VICTIM" = "$sup" ] || die "could not reuse pid $sup (got $VICTIM)"
}
"$VH" up vn0 > /dev/null
kill_supervisor_and_reuse_pid
rc=0; "$VH" up vn0 > /dev/null || rc=$?; echo "UP_RC=$rc"
echo "UP_VICTIM=$(kill -0 "$VICTIM" 2>/dev/null && echo alive || echo killed)"
echo "UP_WHOLE=$(VERBOSE_WHOLE=1 net_whole vn0 && echo yes)"
kill "$VICTIM" 2>/dev/null || true

kill_supervisor_and_reuse_pid
rc=0; "$VH" down vn0 > /dev/null || rc=$?; echo "DOWN_RC=$rc"
echo "DOWN_VICTIM=$(kill -0 "$VICTIM" 2>/dev/null && echo alive || echo killed)"
echo "DOWN_GONE=$(VERBOSE_GONE=1 net_gone vn0 && echo yes)"
kill "$VICTIM" 2>/dev/null || true
