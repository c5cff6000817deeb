#!/bin/bash
# tests/scripts/lifecycle/supervisor_killed_next_call_adopts_network.sh: the supervisor killed with SIGKILL: the next call adopts the network.
# (run by tests/lifecycle.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
dump_on_failure vn0
define_net vn0 'address = "10.200.0.1/24"' 'idle-timeout = "2s"'
host_firewall
fw_save > "$WORK/fw.base"; nft_save > "$WORK/nft.base"
attach_bg vn0 "$WORK/a.out"; A=$HOLDER
VERBOSE_WHOLE=1 net_whole vn0 || die "network not whole"
sup1=$(supervisor_pids vn0); dns1=$(pidfile_dnsmasq vn0)
fw_save > "$WORK/fw.up"; nft_save > "$WORK/nft.up"
kill -KILL "$sup1"
lock_free() { ! supervisor_lock_held vn0; }
wait_for 5 lock_free || die "the dead supervisor's lock is still held"
echo "DNSMASQ_SURVIVED=$([ "$(pidfile_dnsmasq vn0 || true)" = "$dns1" ] && echo yes || echo no)"

# the next call: succeeds and adopts
call_helper "$VH" vn0 > "$WORK/b.out"
echo "RC=$(sed -n 's/^RC=//p' "$WORK/b.out")"
echo "STDERR=$(sed -n 's/^STDERR=//p' "$WORK/b.out")"
sups=$(supervisor_pids vn0)
# shellcheck disable=SC2086 # one word per pid
echo "SUPERVISORS=$(count $sups)"
echo "NEW_SUPERVISOR=$([ -n "$sups" ] && [ "$sups" != "$sup1" ] && echo yes || echo no)"
echo "LOCK_HELD=$(yes_no supervisor_lock_held vn0)"
if grep -q "pid=$sups\b" "$(run_dir vn0)/supervisor"; then echo "STATUS_FILE_PID=matches"; else echo "STATUS_FILE_PID=$(cat "$(run_dir vn0)/supervisor")"; fi
echo "SAME_DNSMASQ=$([ "$(pidfile_dnsmasq vn0 || true)" = "$dns1" ] && echo yes || echo no)"
echo "DNSMASQS=$(count_words_of dnsmasq_pids vn0)"
echo "BRIDGES=$(ip -o link show type bridge | wc -l)"
report_fw_same NO_DUP_RULES "$WORK/fw.up"
report_nft_same NFT_UNCHANGED "$WORK/nft.up"
echo "WHOLE=$(VERBOSE_WHOLE=1 net_whole vn0 && echo yes)"

# the adopted dnsmasq is watched by the new supervisor: killed, it comes back
kill -KILL "$dns1"; t0=$(now)
new_dnsmasq() { local p; p=$(pidfile_dnsmasq vn0) && [ "$p" != "$dns1" ]; }
if wait_for 4 new_dnsmasq; then echo "ADOPTED_DNSMASQ_BACK=$(since "$t0")"; else echo ADOPTED_DNSMASQ_BACK=timeout; fi

# and the network still tears down after idle
release "$A"; t0=$(now)
gone_and_clean() { net_gone vn0 && fw_same "$WORK/fw.base"; }
if wait_for 7 gone_and_clean; then echo "GONE_AFTER=$(since "$t0")"; else
  echo "GONE_AFTER=timeout"; VERBOSE_GONE=1 net_gone vn0 || true
fi
report_fw_same FW_SAME "$WORK/fw.base"
report_nft_same NFT_SAME "$WORK/nft.base"
