#!/bin/bash
# tests/scripts/lifecycle/countdown_hold.sh: run by fake_qemu.py while it
# holds the tap (TAP set) for attach_during_idle_countdown_cancels_teardown.sh;
# the tap is closed right after this script returns (no --hold), so T_END is
# a lower bound of the release and T_START an upper bound of the attach.
echo "T_START=$(date +%s.%N)"
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
why=""
[ "$(basename "$(readlink "/sys/class/net/$TAP/master")")" = vn0 ] || why="$why tap-not-on-vn0"
bridge_exists vn0 || why="$why no-bridge"
pidfile_dnsmasq vn0 >/dev/null || why="$why no-dnsmasq"
supervisor_lock_held vn0 || why="$why no-supervisor"
[ -e "$(run_dir vn0)/up" ] || why="$why no-up-marker"
rules_complete vn0 || why="$why rules"
echo "WHY=$why"
echo "DNS=$(pidfile_dnsmasq vn0 || true)"
# an old supervisor that has just torn down may take a moment to exit
one_sup() { [ "$(count_words_of supervisor_pids vn0)" = 1 ]; }
if wait_for 2 one_sup; then echo "SUP=$(supervisor_pids vn0)"; else echo "SUP=several:$(supervisor_pids vn0 | tr ' ' ,)"; fi
sleep 0.5
echo "T_END=$(now)"
