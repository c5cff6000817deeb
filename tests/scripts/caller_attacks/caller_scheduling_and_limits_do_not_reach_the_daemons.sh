#!/bin/bash
# tests/scripts/caller_attacks/caller_scheduling_and_limits_do_not_reach_the_daemons.sh:
# the attacker (uid 4242) makes the cold call that starts a network's shared
# daemons from a process it has crippled: SCHED_IDLE, the idle I/O class,
# one CPU, a hard limit of 64 open files, oom_score_adj 1000. The supervisor
# and dnsmasq, which serve every user of the network, must not inherit any of
# it: SCHED_OTHER, the default I/O class, every online CPU, oom_score_adj 0,
# open files 1024/524288, and `vnet-helper status` has nothing to say about
# their limits. (Raising a lowered hard limit needs CAP_SYS_RESOURCE: the
# script says whether this sandbox has it; without it `status` must say so.)
# (run by tests/caller_attacks.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/caller_attacks.sh
source "$TESTS/lib/caller_attacks.sh"
dump_on_failure vnet0
define_net vnet0 'address = "10.200.0.1/24"' 'idle-timeout = "never"'
echo "CAP_SYS_RESOURCE=$(yes_no has_cap_sys_resource)"
echo "ONLINE_CPUS=$(online_cpus)"
# the caller: everything below is done by uid 4242 to its own process, then
# inherited by the fake QEMU and the helper it runs; the hold command shows
# what the caller's process had (sched_report of itself)
export VH TESTS
# shellcheck disable=SC2016 # expanded by the inner shells
as_user bash -c 'echo 1000 > /proc/self/oom_score_adj &&
  exec chrt --idle 0 ionice -c 3 taskset -c 0 prlimit --nofile=64:64 \
    python3 "$TESTS/tools/fake_qemu.py" --as-root \
      --hold-cmd "source $TESTS/lib/common.sh; source $TESTS/lib/net.sh; source $TESTS/lib/caller_attacks.sh; sched_report \$\$ CALLER_" \
      "$VH" vnet0' > "$WORK/call.out"
grep -E '^(RC|GOT_FD|STDERR|CALLER_[A-Z_]*)=' "$WORK/call.out"
wait_for 5 net_complete_any vnet0 || die "vnet0 did not come up: $(net_brief_any vnet0)"
sup=$(supervisor_pids vnet0)
dm=$(dnsmasq_pids_any vnet0)
echo "SUPERVISOR_PIDS=$sup"
echo "DNSMASQ_PIDS=$dm"
sched_report "$sup" SUP_
sched_report "$dm" DNSMASQ_
"$VH" status vnet0 > "$WORK/status.out" 2>&1 || true
echo "STATUS_LIMITS=$(sed -n 's/^ *resource limits //p' "$WORK/status.out")"
