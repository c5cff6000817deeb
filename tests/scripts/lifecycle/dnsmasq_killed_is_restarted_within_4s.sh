#!/bin/bash
# tests/scripts/lifecycle/dnsmasq_killed_is_restarted_within_4s.sh: dnsmasq killed with SIGKILL while a tap is attached comes back.
# (run by tests/lifecycle.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
dump_on_failure vn0
define_net vn0 'address = "10.200.0.1/24"' 'idle-timeout = "2s"'
attach_bg vn0 "$WORK/a.out"
VERBOSE_WHOLE=1 net_whole vn0 || die "network not whole"
sup=$(supervisor_pids vn0)
conf=$(cat "$(run_dir vn0)/dnsmasq.conf")
old=$(pidfile_dnsmasq vn0)
cmd_before=$(tr '\0' ' ' < "/proc/$old/cmdline")
new_dnsmasq() { local p; p=$(pidfile_dnsmasq vn0) && [ "$p" != "$old" ]; }
# three kills in a row: the restart backoff grows (100, 200, 400 ms), all
# well within 4 s
for round in 1 2 3; do
  kill -KILL "$old"; t0=$(now)
  if wait_for 4 new_dnsmasq; then echo "BACK_$round=$(since "$t0")"; else echo "BACK_$round=timeout"; fi
  new=$(pidfile_dnsmasq vn0 || true)
  echo "NEW_PID_$round=$([ -n "$new" ] && [ "$new" != "$old" ] && echo yes || echo no)"
  echo "SAME_CMDLINE_$round=$([ -n "$new" ] && [ "$(tr '\0' ' ' < "/proc/$new/cmdline")" = "$cmd_before" ] && echo yes || echo no)"
  echo "SAME_CONF_$round=$([ "$(cat "$(run_dir vn0)/dnsmasq.conf")" = "$conf" ] && echo yes || echo no)"
  echo "USER_$round=$(ps -o user= -p "${new:-1}" | tr -d ' ')"
  echo "COUNT_$round=$(count_words_of dnsmasq_pids vn0)"
  old=$new
done
echo "SAME_SUPERVISOR=$([ "$(supervisor_pids vn0)" = "$sup" ] && echo yes || echo no)"
echo "WHOLE=$(VERBOSE_WHOLE=1 net_whole vn0 && echo yes)"
# the restarted dnsmasq serves DHCP: a veth "guest" gets a lease
ip netns add g1
ip link add vh1 type veth peer name vg1 address 52:54:00:aa:00:01
ip link set vg1 netns g1
ip link set vh1 master vn0 up
ip -n g1 link set vg1 up
# shellcheck disable=SC2016 # a script for udhcpc: expanded when it runs
printf '#!/bin/sh\n[ "$1" = bound ] && echo "BOUND_IP=$ip"\nexit 0\n' > "$WORK/udhcpc.sh"
chmod +x "$WORK/udhcpc.sh"
ip netns exec g1 timeout 30 busybox udhcpc -i vg1 -n -q -t 15 -T 1 -s "$WORK/udhcpc.sh" 2>/dev/null | grep '^BOUND_IP=' || echo BOUND_IP=none
ip link del vh1
# and the restarted one is stopped by the teardown like the first one
release "$HOLDER"; t0=$(now)
if wait_for 7 net_gone vn0; then echo "GONE_AFTER=$(since "$t0")"; else
  echo "GONE_AFTER=timeout"; VERBOSE_GONE=1 net_gone vn0 || true
fi
