#!/bin/bash
# tests/scripts/network_integrity/ipv4_only_networks_carry_no_ipv6.sh: on a
# host that forwards IPv6 (a network with `ipv6` is up), the bridges of an
# isolated and a nat network without `ipv6` have IPv6 disabled: a guest's
# IPv6 packets get no answer from the host (all-nodes ping, its addresses)
# and are not forwarded to an upstream namespace; a guest of the IPv6
# network, sending the same way, reaches the upstream (the control). Every
# network's tap (the IPv6 one's too) has the host's IPv6 off.
# (run by tests/network_integrity.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
# shellcheck source=tests/lib/upstream.sh
source "$TESTS/lib/upstream.sh"
dump_on_failure ""
# upstream 2001:db8:1::1 behind uplink0 (the host: 2001:db8:1::2), the
# host's IPv6 default route through it
upstream_setup
define_net iso4 'mode = "isolated"' 'address = "10.230.0.1/24"'
define_net nat4 'mode = "nat"' 'address = "10.231.0.1/24"'
define_net v6net 'mode = "nat"' 'address = "10.232.0.1/24"' 'ipv6 = "fd42:1:2:3::1/64"'
# NETS: network, the guest's IPv6 address in it, the key prefix
NETS=("iso4 fd99:30::10 ISO" "nat4 fd99:31::10 NAT" "v6net fd42:1:2:3::50 V6")
declare -A HOLDERS=() TAPS=()
for n in v6net iso4 nat4; do attach_bg "$n" "$WORK/$n.out"; HOLDERS[$n]=$HOLDER; TAPS[$n]=$TAPNAME; done
echo "ALL_FORWARDING=$(cat /proc/sys/net/ipv6/conf/all/forwarding)"

# guest NET ADDR: a namespace g-NET whose eth0 is a veth with its peer a port
# of bridge NET; IPv6 address ADDR/64 (no DAD); the default route goes to the
# bridge's MAC directly (a static neighbour fe80::1 with the bridge's MAC:
# the guest needs no answer from the host to send it IPv6 packets)
guest() {
  local n=$1 a=$2 g=g-$1 mac
  ip netns add "$g"
  ip netns exec "$g" sh -c 'echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad'
  ip link add "h-$n" type veth peer name eth0 netns "$g"
  echo 1 > "/proc/sys/net/ipv6/conf/h-$n/disable_ipv6"
  ip link set "h-$n" master "$n" up
  ip -n "$g" link set lo up
  ip -n "$g" link set eth0 up
  ip -n "$g" -6 addr add "$a/64" dev eth0 nodad
  mac=$(cat "/sys/class/net/$n/address")
  ip -n "$g" -6 neigh replace fe80::1 lladdr "$mac" dev eth0 nud permanent
  ip -n "$g" -6 route add default via fe80::1 dev eth0
}
for e in "${NETS[@]}"; do read -r n a _ <<<"$e"; guest "$n" "$a"; done
# the control's gateway has its addresses for good (duplicate address
# detection done)
v6_settled() { ! ip -6 addr show dev v6net | grep -q tentative; }
wait_for 10 v6_settled || echo "v6net's addresses still tentative after 10 s" >&2

# counters (rules without a target, tagged with a comment): on the host,
# IPv6 packets its own stack took in from each bridge (INPUT); in the
# upstream, packets from each guest's address, and echo requests from the
# host's uplink address (v6net's guest, masqueraded)
for e in "${NETS[@]}"; do
  read -r n a _ <<<"$e"
  ip6tables -I INPUT 1 -i "$n" -m comment --comment "count-$n"
  ip netns exec upstream ip6tables -A INPUT -s "$a" -m comment --comment "count-$n"
done
ip netns exec upstream ip6tables -A INPUT -s 2001:db8:1::2 -p ipv6-icmp --icmpv6-type echo-request \
  -m comment --comment count-masqueraded
# counted [NETNS] TAG: the packets counted by the rule tagged TAG
counted() {
  local in_ns=()
  if [ $# = 2 ]; then in_ns=(ip netns exec "$1"); shift; fi
  "${in_ns[@]}" ip6tables -L INPUT -v -x -n | awk -v t="/* $1 */" 'index($0, t) { print $1 }'
}
# ping6_from NETNS COUNT DEST [OPTIONS]: busybox ping6 (1 s per echo); 0 if
# any answer came
ping6_from() {
  local g=$1 c=$2 d=$3; shift 3
  ip netns exec "$g" timeout $((c + 5)) busybox ping6 -c "$c" -W 1 "$@" "$d" 2>&1
}

for e in "${NETS[@]}"; do
  read -r n a p <<<"$e"
  g=g-$n
  echo "${p}_DISABLE_IPV6=$(cat "/proc/sys/net/ipv6/conf/$n/disable_ipv6")"
  echo "${p}_BRIDGE_V6_ADDRS=$(ip -6 -o addr show dev "$n" | wc -l)"
  # a port needs no IPv6 of its own: off on every managed network's tap
  echo "${p}_TAP_IPV6_OFF=$(cat "/proc/sys/net/ipv6/conf/${TAPS[$n]}/disable_ipv6")"
  echo "${p}_TAP_V6_ADDRS=$(ip -6 -o addr show dev "${TAPS[$n]}" | wc -l)"
  own=$(ip -n "$g" -6 -o addr show dev eth0 scope link | awk '{ print $4 }' | cut -d/ -f1)
  # (a) all-nodes: who answers besides the guest itself
  ping6_from "$g" 2 ff02::1 -I eth0 > "$WORK/$n.allnodes" || true
  echo "${p}_ALLNODES_OTHERS=$(sed -n 's/^[0-9]* bytes from \([^ ]*\): .*/\1/p' "$WORK/$n.allnodes" \
    | sed 's/%.*//' | grep -vx "$own" | sort -u | tr '\n' ' ' | sed 's/ $//')"
  # (a) the host's own address on the uplink
  ping6_from "$g" 2 2001:db8:1::2 > /dev/null || true
  # (b) the upstream, through the host
  if ping6_from "$g" 3 2001:db8:1::1 > "$WORK/$n.upstream"; then
    echo "${p}_UPSTREAM_PING=$(grep -c ' bytes from ' "$WORK/$n.upstream")"
  else
    echo "${p}_UPSTREAM_PING=0"
  fi
  echo "${p}_HOST_TOOK_IN=$(counted "count-$n")"
  echo "${p}_UPSTREAM_GOT_FROM_GUEST=$(counted upstream "count-$n")"
done
echo "UPSTREAM_GOT_MASQUERADED=$(counted upstream count-masqueraded)"
for n in v6net iso4 nat4; do release "${HOLDERS[$n]}"; done
