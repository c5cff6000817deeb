#!/bin/bash
# tests/scripts/caller_attacks/tty_signal_during_bring_up_leaves_it_complete.sh KEY:
# the attacker (uid 4242) runs its call on a terminal it controls and, the
# moment its helper holds the network's lock during a cold bring-up, types ^C
# (KEY int), ^\ (quit) or hangs the terminal up (hup): the tty driver signals
# the whole foreground process group, setuid or not. The bring-up must not be
# killed half-way: within 5 s, and without another call, the network must be
# complete (bridge, up marker, supervisor, dnsmasq). Several rounds.
# (run by tests/caller_attacks.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/caller_attacks.sh
source "$TESTS/lib/caller_attacks.sh"
dump_on_failure vnet0
KEY=$1
ROUNDS=${ROUNDS:-3}
define_net vnet0 'address = "10.200.0.1/24"'
acted=0 complete=0 caller_gone=0
for r in $(seq 1 "$ROUNDS"); do
  timeout 60 "$VH" down --force vnet0 > /dev/null 2>&1 || true
  out=$WORK/attack.$r; : > "$out"
  python3 -u "$TESTS/tools/tty_attack.py" --key "$KEY" --wait-lock vnet0 --hold 60 -- \
    python3 "$TESTS/tools/fake_qemu.py" "$VH" vnet0 > "$out" 2>&1 &
  att=$!
  wait_for 15 grep -q '^ACTED=' "$out" || true
  a=$(sed -n 's/^ACTED=//p' "$out")
  sid=$(child_pids "$att")
  t0=$(now)
  if wait_for 5 net_complete_any vnet0; then c=yes; else c=no; fi
  secs=$(since "$t0")
  wait_for 5 grep -q '^HELPER_STATES=' "$out" || true
  seen=$(sed -n 's/^HELPER_STATES=//p' "$out")
  # the signal reached the attacker's own process (the fake QEMU): it is gone
  callers=$(session_caller_states "$sid")
  [ -z "$callers" ] && caller_gone=$((caller_gone + 1))
  [ "$a" = yes ] && acted=$((acted + 1))
  [ "$c" = yes ] && complete=$((complete + 1))
  echo "ROUND=$r acted=$a complete_within_5s=$c after_s=$secs attacker_helpers_after_300ms=[$seen] caller_job=[$callers] state: $(net_brief_any vnet0)"
  end_attack "$att"
done
echo "ROUNDS=$ROUNDS"
echo "N_ACTED=$acted"
echo "N_COMPLETE=$complete"
echo "N_CALLER_GONE=$caller_gone"
