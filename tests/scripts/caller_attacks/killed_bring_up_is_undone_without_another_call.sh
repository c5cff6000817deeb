#!/bin/bash
# tests/scripts/caller_attacks/killed_bring_up_is_undone_without_another_call.sh:
# root (or the OOM killer) SIGKILLs the helper of a cold call at a random point
# of its bring-up. With no further call, within 5 s the network must be either
# complete (bridge, up marker, supervisor, dnsmasq) or fully undone (no
# bridge, no markers, no runtime directory, no dnsmasq, no supervisor, no
# guard left, the firewall exactly as before, ip_forward back to 0), never
# half-made until some later caller repairs it.
# (run by tests/caller_attacks.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
# shellcheck source=tests/lib/caller_attacks.sh
source "$TESTS/lib/caller_attacks.sh"
dump_on_failure vnet0
KILLS_WANTED=${KILLS_WANTED:-20}  # kills that hit a running helper
MAX_ITERATIONS=80                 # a kill after the helper exited does not count
bringup_host > /dev/null
define_net vnet0 'address = "10.200.0.1/24"' 'idle-timeout = "never"'
fw_snapshot "$WORK/fw.base"

# settled NAME: the guard (if any) is done and the network is complete or
# fully undone (the firewall as in fw.base, ip_forward 0)
settled() {
  [ -z "$(guard_pids "$1")" ] && { net_complete_any "$1" || net_undone_any "$1" "$WORK/fw.base" 0; }
}

# how long a cold call takes (the fastest of three: the first pays for cold
# caches); the kill points are uniform over [0, 1.2 x that]
ref_ms=
for _ in 1 2 3; do
  launch vnet0 > "$WORK/ref.out"
  grep -q '^CALL=0 RC=0 ' "$WORK/ref.out" || { cat "$WORK/ref.out" >&2; die "a reference call failed"; }
  ms=$(sed -n 's/^ELAPSED_MS=//p' "$WORK/ref.out" | cut -d. -f1)
  [ -n "$ref_ms" ] && [ "$ref_ms" -le "$ms" ] || ref_ms=$ms
  timeout 60 "$VH" down --force vnet0 > /dev/null 2>&1 || die "down --force failed"
  echo 0 > /proc/sys/net/ipv4/ip_forward
done
budget=$(( ref_ms * 6 / 5 )); [ "$budget" -ge 20 ] || budget=20
echo "REF_MS=$ref_ms"
echo "KILL_WINDOW_MS=$budget"

killed=0 complete=0 undone=0 bad=0
for i in $(seq 1 "$MAX_ITERATIONS"); do
  [ "$killed" -lt "$KILLS_WANTED" ] || break
  delay=$(( RANDOM % (budget + 1) ))
  launch --kill-after "$delay" vnet0 > "$WORK/kill.$i"
  k=$(sed -n 's/^KILLED=//p' "$WORK/kill.$i")
  t0=$(now)
  if wait_for 5 settled vnet0; then
    if net_complete_any vnet0; then outcome=complete; else outcome=undone; fi
  else
    outcome="half-made: $(net_left_any vnet0 "$WORK/fw.base" 0)"
  fi
  secs=$(since "$t0")
  if [ "$k" = yes ]; then
    killed=$((killed + 1))
    case $outcome in
      complete) complete=$((complete + 1)) ;;
      undone) undone=$((undone + 1)) ;;
      *) bad=$((bad + 1)) ;;
    esac
  fi
  echo "ITER=$i delay_ms=$delay killed=$k outcome=$outcome settled_after_s=$secs state: $(net_brief_any vnet0)"
  [ "${outcome%%:*}" = half-made ] && { fw_compare FW "$WORK/fw.base" > /dev/null; dump_state vnet0; }
  # back to nothing for the next round (not part of what is tested)
  timeout 60 "$VH" down --force vnet0 > /dev/null 2>&1 || true
  echo 0 > /proc/sys/net/ipv4/ip_forward
done
echo "N_KILLED=$killed"
echo "N_COMPLETE=$complete"
echo "N_UNDONE=$undone"
echo "N_HALF_MADE=$bad"
