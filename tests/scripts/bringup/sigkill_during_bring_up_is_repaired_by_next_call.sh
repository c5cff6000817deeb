#!/bin/bash
# tests/scripts/bringup/sigkill_during_bring_up_is_repaired_by_next_call.sh: bring-ups killed at random points, each repaired by the next call
# (run by tests/bringup.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
bringup_host
export_functions
KILLS_WANTED=15   # iterations whose helper was really killed mid-way
MAX_ITERATIONS=45 # a kill that comes after the helper exited does not count
define_net vnet0 'address = "10.200.0.1/24"' 'idle-timeout = "never"'
fw_snapshot "$WORK/fw.base"
fails=0
failed() { echo "FAIL=$*"; fails=$((fails + 1)); }
# want ITER FILE KEY VALUE: a KEY=VALUE line of FILE must say VALUE
want() {
  local got
  got=$(grep -m1 "^$3=" "$2" | cut -d= -f2-) || true
  [ "$got" = "$4" ] || failed "iteration $1: $3 is '$got', expected '$4'"
}
t3_held() {
  net_state vnet0
  echo "TAP_MASTER=$(master_of "$TAPS")"
  echo "LISTEN_DHCP=$(listening_udp 67)"
  echo "UNREACHABLE_CHAINS=$(unreachable_chains)"
  fw_compare FW "$WORK/fw.ref"
}
export -f t3_held

# reference: clean bring-ups (the ruleset, and how long a cold call takes:
# the fastest of three, the first one pays for cold caches)
ref_ms=
for _ in 1 2 3; do
  # shellcheck disable=SC2016 # expanded by the hold command's bash
  launch --hold-cmd 'fw_snapshot "$WORK/fw.ref"' vnet0 > "$WORK/ref.out"
  cat "$WORK/ref.out" >&2
  want ref "$WORK/ref.out" RC 0
  ms=$(grep -m1 '^ELAPSED_MS=' "$WORK/ref.out" | cut -d= -f2 | cut -d. -f1)
  [ -n "$ref_ms" ] && [ "$ref_ms" -le "$ms" ] || ref_ms=$ms
  timeout 60 "$VH" down --force vnet0 >&2 || failed "reference: down --force failed"
  fw_compare REFDOWN "$WORK/fw.base" > "$WORK/refdown.out"
  want ref "$WORK/refdown.out" REFDOWN_EXACT same
done
# kill points: uniform over [0, 1.2 x a cold call] (at least 20 ms), so they
# cover the whole bring-up (bridge, firewall, supervisor/dnsmasq, tap, send)
budget=$(( ref_ms * 6 / 5 )); [ "$budget" -ge 20 ] || budget=20
echo "REF_MS=$ref_ms"
echo "KILL_WINDOW_MS=$budget"

killed=0
declare -A leftovers=()
for i in $(seq 1 "$MAX_ITERATIONS"); do
  [ "$killed" -lt "$KILLS_WANTED" ] || break
  delay=$(( RANDOM % (budget + 1) ))
  launch --kill-after "$delay" vnet0 > "$WORK/kill.$i"
  k=$(grep -m1 '^KILLED=' "$WORK/kill.$i" | cut -d= -f2)
  [ "$k" = yes ] && killed=$((killed + 1))
  # what the killed bring-up left (racy: its children may still be running)
  left="bridge=$(ip link show vnet0 >/dev/null 2>&1 && echo y || echo n)"
  left+=",pending=$([ -e "$(run_dir vnet0)/pending" ] && echo y || echo n)"
  left+=",up=$([ -e "$(run_dir vnet0)/up" ] && echo y || echo n)"
  left+=",rules=$(our_rule_count)"
  left+=",dnsmasq=$(count_words_of all_dnsmasq_pids),sup=$(count_words_of supervisor_pids vnet0)"
  leftovers[$left]=1
  # one more normal call
  launch --hold-cmd t3_held vnet0 > "$WORK/call.$i"
  for kv in RC=0 GOT_FD=yes HOLD_RC=0 BRIDGE=present NBRIDGES=1 NPORTS=1 TAP_MASTER=vnet0 \
            ADDR=10.200.0.1/24 STP=0 FWD_DELAY=0 NDNSMASQ=1 NDNSMASQ_ANY=1 NSUPERVISOR=1 \
            UP_MARKER=present LISTEN_DHCP=yes DUPS=0 FW_EXACT=same FW_MULTISET=same FOREIGN_KEPT=yes \
            UNREACHABLE_CHAINS=; do
    want "$i" "$WORK/call.$i" "${kv%%=*}" "${kv#*=}"
  done
  # then down again: back to the baseline, nothing left running
  drc=0; timeout 60 "$VH" down --force vnet0 > "$WORK/down.$i" 2>&1 || drc=$?
  [ "$drc" = 0 ] || failed "iteration $i: down --force exited $drc: $(cat "$WORK/down.$i")"
  { net_state vnet0; fw_compare FW "$WORK/fw.base";
    echo "NVH_PROCS=$(count_words_of vh_pids)"; echo "NIPT_PROCS=$(count_words_of iptables_pids)"; } > "$WORK/after.$i" 2>&1
  for kv in BRIDGE=absent NDNSMASQ_ANY=0 NSUPERVISOR=0 RUNDIR=absent FW_EXACT=same \
            NVH_PROCS=0 NIPT_PROCS=0; do
    want "$i" "$WORK/after.$i" "${kv%%=*}" "${kv#*=}"
  done
  echo "ITER=$i delay_ms=$delay killed=$k left=[$left] call_rc=$(grep -m1 '^RC=' "$WORK/call.$i" | cut -d= -f2) call_ms=$(grep -m1 '^ELAPSED_MS=' "$WORK/call.$i" | cut -d= -f2)"
  if [ "$fails" -gt 0 ]; then
    { echo "=== iteration $i: kill output"; cat "$WORK/kill.$i"; echo "=== call output"; cat "$WORK/call.$i";
      echo "=== after down"; cat "$WORK/after.$i"; } >&2
    dump_state vnet0
    break
  fi
done
echo "N_KILLED=$killed"
echo "N_LEFTOVER_KINDS=${#leftovers[@]}"
for l in "${!leftovers[@]}"; do echo "LEFTOVER_KIND=$l"; done
echo "N_FAILS=$fails"
