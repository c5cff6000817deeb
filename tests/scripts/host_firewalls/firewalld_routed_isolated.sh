#!/bin/bash
# tests/scripts/host_firewalls/firewalld_routed_isolated.sh: a host running a
# real firewalld (own system D-Bus, in the sandbox) with our zones installed;
# a routed network (vr) and an isolated one (vi), each with a veth guest.
# The bring-up binds vr to zone vnet-routed and vi to vnet-isolated; both
# guests get DHCP and DNS and no other port of the host (not ssh); vr's
# guest reaches the upstream with its own address (no NAT) and the upstream,
# which routes vr's subnet to the host, reaches it; vi's guest reaches
# nothing beyond the host, not even vr's guest; teardown removes both
# bindings. (run by tests/host_firewalls.rs in tests/sandbox.sh; prints
# KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/upstream.sh
source "$TESTS/lib/upstream.sh"
# shellcheck source=tests/lib/firewalld.sh
source "$TESTS/lib/firewalld.sh"
dump_on_failure vr
upstream_setup
peer_server upstream 198.51.100.1 7000 "$WORK/peers-up" hello-upstream
# routed means the outside routes the subnet to the host
ip -n upstream route add 10.201.0.0/24 via 198.51.100.2
for m in routed isolated; do
  n=v${m:0:1} s=201; [ $m = isolated ] && s=202
  define_net "$n" "mode = \"$m\"" "address = \"10.$s.0.1/24\"" \
    "dhcp-range = \"10.$s.0.100-10.$s.0.150\"" 'idle-timeout = "never"' \
    '[[host]]' 'mac = "52:54:00:00:00:10"' "ip = \"10.$s.0.10\"" 'name = "web"'
done
firewalld_zone_install
firewalld_start || die "firewalld did not start"
echo "FIREWALLD=running"

for n in vr vi; do
  k=${n^^}; s=201; [ $n = vi ] && s=202
  rc=0; "$VH" up "$n" > "$WORK/up.$n" 2>&1 || rc=$?
  echo "${k}_UP_RC=$rc"
  echo "${k}_UP_WARNINGS=$(grep -vc ": up$" "$WORK/up.$n" || true)"
  echo "${k}_ZONE=$(firewalld_zone_of "$n")"
  veth_guest "g$n" "$n"
  ip -n "g$n" addr add "10.$s.0.50/24" dev eth0
  ip -n "g$n" route add default via "10.$s.0.1"
  echo "${k}_DHCP=$(wait_for 10 guest_lease "g$n" && echo ok || echo failed)"
  echo "${k}_DNS=$(yes_no dns_answers "g$n" "10.$s.0.1" web)"
  peer_server "10.$s.0.1" 22 "$WORK/peers-ssh.$n" hello-ssh
  echo "${k}_HOST_SSH_OPEN=$(yes_no tcp_reaches "g$n" "10.$s.0.1" 22)"
  echo "${k}_HOST_SSH_LOCAL=$(yes_no tcp_reaches - "10.$s.0.1" 22)"
  echo "${k}_OUT=$(tcp_get "g$n" 198.51.100.1 7000 | grep -c hello-upstream)"
done
echo "VR_OUT_SOURCE=$(sed -n 's/^PEER=//p' "$WORK/peers-up" | sort -u | tr '\n' ' ' | sed 's/ $//')"
peer_server gvr 10.201.0.50 80 "$WORK/peers-gvr" hello-gvr
echo "VR_IN=$(tcp_get upstream 10.201.0.50 80 | grep -c hello-gvr)"
echo "VR_IN_SOURCE=$(sed -n 's/^PEER=//p' "$WORK/peers-gvr" | sort -u | tr '\n' ' ' | sed 's/ $//')"
echo "VI_TO_VR=$(yes_no tcp_reaches gvi 10.201.0.50 80)"

for n in vr vi; do
  "$VH" down --force "$n" > "$WORK/down.$n" 2>&1 || { cat "$WORK/down.$n"; die "down $n failed"; }
  echo "${n^^}_ZONE_AFTER_DOWN=$(firewalld_zone_of "$n")"
done
echo "ZONE_INTERFACES_AFTER_DOWN=$(fw_cmd --zone=vnet-routed --list-interfaces) $(fw_cmd --zone=vnet-isolated --list-interfaces)"
firewalld_stop
