#!/bin/bash
# tests/scripts/commands/up_and_down_admin_commands.sh: up and down: root only; down refuses attached taps without --force; up restores damaged rules.
# (run by tests/commands.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
# about the iptables backend's chains and their repair: forced (the
# nftables backend's are in tests/scripts/host_firewalls/)
use_backend iptables
dump_on_failure vn0
define_net vn0 'address = "10.200.0.1/24"' 'idle-timeout = "never"'
host_firewall
fw_save > "$WORK/fw.base"; nft_save > "$WORK/nft.base"
rules_json() { "$VH" status --json vn0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["rules_present"])'; }
# state: what a refused command must not change
snap() {
  echo "bridge=$(yes_no bridge_exists vn0)"
  echo "dnsmasq=$(pidfile_dnsmasq vn0 || true)"
  echo "supervisor=$(supervisor_pids vn0 | tr '\n' ,)"
  echo "run=$(find "$(run_dir vn0)" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort | tr '\n' ,)"
  fw_save
}
# rc_of LABEL CMD...: print LABEL_RC and LABEL_ERR (stderr+stdout, one line)
rc_of() {
  local label=$1 rc=0; shift
  "$@" > "$WORK/out" 2>&1 || rc=$?
  echo "${label}_RC=$rc"
  echo "${label}_ERR=$(tr '\n' ' ' < "$WORK/out")"
}

# a user may not bring it up
snap > "$WORK/s0"
rc_of USER_UP_DOWNNET as_user "$VH" up vn0
echo "USER_UP_CHANGED=$([ "$(snap)" = "$(cat "$WORK/s0")" ] && echo no || echo yes)"

# root brings it up without any QEMU
rc_of ROOT_UP "$VH" up vn0
echo "ROOT_UP_WHOLE=$(VERBOSE_WHOLE=1 net_whole vn0 && echo yes)"
echo "ROOT_UP_RULES=$(rules_json)"
fw_save > "$WORK/fw.up"

# with a tap attached
attach_bg vn0 "$WORK/a.out"
snap > "$WORK/s1"
rc_of USER_DOWN as_user "$VH" down vn0
rc_of USER_DOWN_FORCE as_user "$VH" down --force vn0
rc_of USER_UP as_user "$VH" up vn0
echo "USER_CHANGED=$([ "$(snap)" = "$(cat "$WORK/s1")" ] && echo no || echo yes)"
rc_of ROOT_DOWN "$VH" down vn0
echo "ROOT_DOWN_CHANGED=$([ "$(snap)" = "$(cat "$WORK/s1")" ] && echo no || echo yes)"
rc_of ROOT_DOWN_FORCE "$VH" down --force vn0
t0=$(now)
if net_gone vn0; then echo "FORCE_GONE=0"; elif wait_for 3 net_gone vn0; then echo "FORCE_GONE=$(since "$t0")"; else
  echo FORCE_GONE=no; VERBOSE_GONE=1 net_gone vn0 || true; fi
report_fw_same FORCE_FW_SAME "$WORK/fw.base"
report_nft_same FORCE_NFT_SAME "$WORK/nft.base"
echo "FORCE_LEASES_KEPT=$([ -f "$(lease_file vn0)" ] && echo yes || echo no)"
release "$HOLDER"

# up again, then damage the rules in several ways; `up` restores them exactly
rc_of ROOT_UP2 "$VH" up vn0
echo "ROOT_UP2_WHOLE=$(VERBOSE_WHOLE=1 net_whole vn0 && echo yes)"
report_fw_same UP2_FW_SAME "$WORK/fw.up"
dns=$(pidfile_dnsmasq vn0 || true)
# the supervisor would heal the damage (tests/host_firewalls.rs tests that):
# frozen here, so that what status says and what `up` restores are seen
freeze_supervisor vn0
damage() {
  case $1 in
    flush-chain) iptables -F VNET-vn0-FWO ;;
    forward-jump) iptables -D FORWARD -j VNET-FWO ;;
    net-jump) iptables -D VNET-FWI -o vn0 -j VNET-vn0-FWI ;;
    nat-jump) iptables -t nat -D POSTROUTING -j VNET-vn0-PRT ;;
    reload)  # a firewall service reload: everything flushed, host rules back
      for t in filter nat; do iptables -t $t -F; iptables -t $t -X; done
      ip6tables -F; ip6tables -X
      iptables -P FORWARD ACCEPT
      host_firewall ;;
  esac
}
for how in flush-chain forward-jump net-jump nat-jump reload; do
  damage $how
  echo "DAMAGED_${how}_RULES=$(rules_json)"
  rc_of "REUP_${how}" "$VH" up vn0
  echo "REUP_${how}_RULES=$(rules_json)"
  echo "REUP_${how}_COMPLETE=$(yes_no rules_complete vn0)"
  if fw_same "$WORK/fw.up"; then echo "REUP_${how}_FW=same"; else echo "REUP_${how}_FW=differs"; diff "$WORK/fw.up" <(fw_save) || true; fi
  echo "REUP_${how}_DNSMASQ=$([ "$(pidfile_dnsmasq vn0 || true)" = "$dns" ] && echo kept || echo changed)"
done
thaw_supervisor vn0

# down without taps: no --force needed
rc_of ROOT_DOWN2 "$VH" down vn0
echo "DOWN2_GONE=$(VERBOSE_GONE=1 net_gone vn0 && echo yes)"
report_fw_same DOWN2_FW_SAME "$WORK/fw.base"
