#!/bin/bash
# tests/scripts/caller_attacks/usernet_create_that_cannot_isolate_others_creates_nothing.sh:
# with the iptables backend a network keeps others out by naming each of
# them in its own rules, so a `net create` must re-apply the rules of every
# network that is up. Mallory (uid 4242, a pool member) runs `net create`
# with a tiny hard open-files limit (root cannot raise it where the host
# withholds CAP_SYS_RESOURCE), so that the re-application fails. Must hold:
# every create that succeeds left the routed admin network vnetr rejecting
# traffic from the new bridge, a create that fails leaves no record; and a
# guest on mallory's network brought up afterwards gets no packet to a guest
# on vnetr.
# (run by tests/caller_attacks.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/caller_attacks.sh
source "$TESTS/lib/caller_attacks.sh"
dump_on_failure vnetr
ua_users
use_backend iptables
ua_pool 'max-per-user = 30' 'idle-timeout = "never"'
define_net vnetr 'address = "10.200.0.1/24"' 'mode = "routed"' 'idle-timeout = "never"'
"$VH" up vnetr > /dev/null
# vnetr rejects what comes from NAME: its rules name NAME's bridge
vnetr_rejects() { iptables-save | grep -qE -- "^-A VNET-vnetr-\S+ -i $1 -o vnetr -j REJECT"; }
created=0 unisolated=0 orphans=0 first=""
for k in $(seq 10 20); do
  n=vu-n$k rc=0
  ua_as mallory prlimit --nofile="$k:$k" "$VH" net create "$n" > /dev/null 2> "$WORK/err" || rc=$?
  rec=$(yes_no test -e "$(ua_record "$n")")
  iso=$(yes_no vnetr_rejects "$n")
  if [ "$rc" = 0 ]; then
    created=$((created + 1)); [ -n "$first" ] || first=$n
    [ "$iso" = yes ] || unisolated=$((unisolated + 1))
  fi
  [ "$rc" != 0 ] && [ "$rec" = yes ] && orphans=$((orphans + 1))
  echo "NOFILE=$k rc=$rc record=$rec vnetr_rejects_it=$iso err=$(head -n 1 "$WORK/err")"
done
echo "N_CREATED=$created"
echo "N_CREATED_NOT_ISOLATED=$unisolated"
echo "N_FAILED_WITH_RECORD=$orphans"
# real traffic: mallory's first network that was created, brought up, with a
# guest 10.240.x.10 sending to vnetr's guest 10.200.0.10
[ -n "$first" ] || die "no create succeeded at all"
echo "ATTACK_NET=$first"
"$VH" up "$first" > /dev/null
veth_guest gv vnetr; ip -n gv addr add 10.200.0.10/24 dev eth0; ip -n gv route add default via 10.200.0.1
gw=$(sed -n 's/^address = "\(.*\)\/24"/\1/p' "$(ua_record "$first")")
veth_guest ga "$first"; ip -n ga addr add "${gw%.1}.10/24" dev eth0; ip -n ga route add default via "$gw"
ip netns exec gv iptables -A INPUT -p udp --dport 7777 -j DROP
for _ in 1 2 3 4 5; do
  ip netns exec ga bash -c 'echo x > /dev/udp/10.200.0.10/7777' 2>/dev/null || true
  sleep 0.05
done
got=$(ip netns exec gv iptables -nvxL INPUT | awk '/dpt:7777/ { print $1 }')
echo "PACKETS_REACHED_VICTIM=${got:-?}"
