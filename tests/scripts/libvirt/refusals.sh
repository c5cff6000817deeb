#!/bin/bash
# tests/scripts/libvirt/refusals.sh: `virsh start` in libvirt session mode
# shows vnet-helper's own reason when it refuses: a bridge the ACL does not
# allow (denied0, defined but not allowed), and a network whose definition is
# broken (broken0, allowed). RUNS starts of each (default 10); the reason is
# what the helper prints when run directly the way libvirt runs it. Nothing
# boots; nothing may be left behind.
# (run by tests/libvirt.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/install.sh
source "$TESTS/lib/install.sh"
# shellcheck source=tests/lib/guest.sh
source "$TESTS/lib/guest.sh"
# shellcheck source=tests/lib/libvirt.sh
source "$TESTS/lib/libvirt.sh"
dump_on_failure ""
RUNS=${1:-10}
libvirt_setup
define_net denied0 'address = "10.201.0.1/24"'
echo "allow vnet0" > "$(acl_file)"   # denied0 is defined, but not allowed
printf '%s\n' 'address = "nonsense"' | define_net_toml broken0
echo 'true' > "$WORK/idle.sh"

# the helper's own reasons, called as libvirt calls it, as the same user
for br in denied0 broken0; do
  r=$(call_helper --libvirt "$LV_HELPER" "$br" | sed -n 's/^STDERR=//p')
  echo "REASON_$br=$r"
  printf '%s' "$r" > "$WORK/reason.$br"
done

lv_domain denied 52:54:00:4c:01:01 denied0 "$WORK/idle.sh"
lv_domain broken 52:54:00:4c:01:02 broken0 "$WORK/idle.sh"
for dom in denied broken; do
  br=${dom}0 shown=0 started=0 t=$EPOCHREALTIME
  for i in $(seq "$RUNS"); do
    if virsh_u start "$dom" > "$WORK/out" 2>&1; then
      started=$((started + 1)); virsh_u destroy "$dom" >&2 || true
    fi
    # the whole line, then libvirt's ": <strerror>": nothing cut, nothing added
    if [[ $(cat "$WORK/out") == *"stderr=$(cat "$WORK/reason.$br")"$'\n'": "* ]]; then
      shown=$((shown + 1))
    else
      echo "--- $dom, start $i: the reason is not in what virsh said:" >&2; cat "$WORK/out" >&2
    fi
    if [ "$i" = 1 ]; then echo "MSG_$dom=$(tr '\n' ' ' < "$WORK/out" | sed 's/ *$//')"; fi
  done
  echo "T_STARTS_$dom=$(since "$t")"
  echo "SHOWN_$dom=$shown/$RUNS"
  echo "STARTED_$dom=$started"
  echo "STATE_$dom=$(virsh_u domstate "$dom" | sed -n 1p)"
  echo "GONE_$br=$(yes_no net_gone "$br")"
done
echo "TAPS_LEFT=$(ip -o link show type tun 2>/dev/null | wc -l)"
libvirt_stop
