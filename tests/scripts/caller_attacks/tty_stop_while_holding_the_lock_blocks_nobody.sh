#!/bin/bash
# tests/scripts/caller_attacks/tty_stop_while_holding_the_lock_blocks_nobody.sh:
# the attacker (uid 4242) runs its call on a terminal it controls and types ^Z
# the moment its helper holds the network's lock during a cold bring-up (the
# tty driver stops the whole foreground process group, setuid or not); another
# user's call (uid 4243) must still get its tap, and the attacker's helper
# must not be stopped. Several rounds.
# (run by tests/caller_attacks.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/caller_attacks.sh
source "$TESTS/lib/caller_attacks.sh"
dump_on_failure vnet0
ROUNDS=${ROUNDS:-5}
define_net vnet0 'address = "10.200.0.1/24"'
acted=0 victims_ok=0 stopped=0 job_stopped=0
for r in $(seq 1 "$ROUNDS"); do
  timeout 60 "$VH" down --force vnet0 > /dev/null 2>&1 || true
  out=$WORK/attack.$r; : > "$out"
  python3 -u "$TESTS/tools/tty_attack.py" --key tstp --wait-lock vnet0 --hold 60 -- \
    python3 "$TESTS/tools/fake_qemu.py" "$VH" vnet0 > "$out" 2>&1 &
  att=$!
  wait_for 15 grep -q '^ACTED=' "$out" || true
  a=$(sed -n 's/^ACTED=//p' "$out")
  # another user's ordinary call meanwhile (fake_qemu.py kills its helper and
  # says RC=timeout after 12 s; `timeout 15` bounds the whole)
  t0=$(now)
  v=$(timeout 15 python3 "$TESTS/tools/fake_qemu.py" --timeout 12 --as 4243:4243 "$VH" vnet0 || true)
  secs=$(since "$t0")
  vrc=$(printf '%s\n' "$v" | sed -n 's/^RC=//p'); vrc=${vrc:-hung}
  vfd=$(printf '%s\n' "$v" | sed -n 's/^GOT_FD=//p')
  # the attacker's helpers: as tty_attack.py saw them 300 ms after acting,
  # and now
  wait_for 5 grep -q '^HELPER_STATES=' "$out" || true
  seen=$(sed -n 's/^HELPER_STATES=//p' "$out")
  sid=$(child_pids "$att")
  now_states=$(session_helper_states "$sid")
  callers=$(session_caller_states "$sid")
  case " $callers" in *:T*) job_stopped=$((job_stopped + 1)) ;; esac
  s=no
  case " $seen $now_states" in *:T*) s=yes ;; esac
  [ "$a" = yes ] && acted=$((acted + 1))
  [ "$vrc" = 0 ] && [ "$vfd" = yes ] && victims_ok=$((victims_ok + 1))
  [ "$s" = yes ] && stopped=$((stopped + 1))
  echo "ROUND=$r acted=$a victim_rc=$vrc victim_got_fd=$vfd victim_s=$secs attacker_helpers_after_300ms=[$seen] attacker_helpers_after_victim=[$now_states] attacker_stopped=$s caller_job=[$callers]"
  [ "$vrc" = 0 ] || printf '%s\n' "--- round $r: the victim's call" "$v" >&2
  end_attack "$att"
done
echo "ROUNDS=$ROUNDS"
echo "N_ACTED=$acted"
echo "N_VICTIM_OK=$victims_ok"
echo "N_ATTACKER_STOPPED=$stopped"
echo "N_CALLER_STOPPED=$job_stopped"
