#!/bin/bash
# tests/scripts/network_integrity/uplink_restricts_forwarding_to_it.sh: a nat
# network with `uplink = "up0"`: a guest reaches the upstream behind up0,
# masqueraded, but nothing it sends reaches a second host network (lan0),
# with or without masquerade.
# (run by tests/network_integrity.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
# shellcheck source=tests/lib/upstream.sh
source "$TESTS/lib/upstream.sh"
dump_on_failure vnet0
#   guest g -- [vnet0 10.240.0.1] host [up0 198.51.100.2] -- netns upstream [198.51.100.1]
#                                     [lan0 192.0.2.2]    -- netns lan [192.0.2.1, 203.0.113.1]
# the host's default route goes through the upstream; 203.0.113.0/24 (the
# lan's own subnet) through the lan. Neither namespace has a route back to
# the guests' subnet.
# ns_behind NETNS HOSTIF HOSTADDR NSADDR: netns NETNS behind veth HOSTIF
ns_behind() {
  ip netns add "$1"
  ip link add "$2" type veth peer name eth0 netns "$1"
  ip addr add "$3/24" dev "$2"; ip link set "$2" up
  ip -n "$1" link set lo up
  ip -n "$1" addr add "$4/24" dev eth0; ip -n "$1" link set eth0 up
}
ns_behind upstream up0 198.51.100.2 198.51.100.1
ns_behind lan lan0 192.0.2.2 192.0.2.1
ip -n lan addr add 203.0.113.1/24 dev lo
ip route add default via 198.51.100.1 dev up0
ip route add 203.0.113.0/24 via 192.0.2.1 dev lan0
# TCP servers recording their peers' addresses (in $WORK/rec.PORT)
recorder upstream 7000
recorder lan 7001
# counters in the lan: every packet from the guests' subnet
ip netns exec lan iptables -A INPUT -s 10.240.0.0/24 -m comment --comment from-guests
lan_counted() {
  ip netns exec lan iptables -L INPUT -v -x -n | awk 'index($0, "/* from-guests */") { print $1 }'
}

define_net vnet0 'mode = "nat"' 'address = "10.240.0.1/24"' 'uplink = "up0"'
attach_bg vnet0 "$WORK/a.out"
# the guest: a namespace behind a veth whose peer is a port of vnet0
ip netns add g
ip link add hg0 type veth peer name eth0 netns g
ip link set hg0 master vnet0 up
ip -n g link set lo up
ip -n g addr add 10.240.0.50/24 dev eth0; ip -n g link set eth0 up
ip -n g route add default via 10.240.0.1

# (the recorders close without reading: a client may see a reset, so what
# counts is what they recorded)
# the control: the lan takes connections from the host itself
tcp_get - 192.0.2.1 7001 > /dev/null
echo "LAN_SAW_HOST=$(sort -u "$WORK/rec.7001" | tr '\n' ' ' | sed 's/ $//')"
: > "$WORK/rec.7001"
tcp_get g 198.51.100.1 7000 > /dev/null
echo "UPSTREAM_SAW=$(sort -u "$WORK/rec.7000" | tr '\n' ' ' | sed 's/ $//')"
for dst in 192.0.2.1 203.0.113.1; do
  key=$(tr . _ <<<"$dst")
  # the answer, or the client's error (its last line)
  echo "LAN_TCP_$key=$(tcp_get g "$dst" 7001 | tail -n 1 | tr -d '\r')"
  ip netns exec g busybox ping -c 2 -W 1 "$dst" >/dev/null 2>&1 && echo "LAN_PING_$key=yes" || echo "LAN_PING_$key=no"
done
echo "LAN_SAW=$(sort -u "$WORK/rec.7001" | tr '\n' ' ' | sed 's/ $//')"
echo "LAN_PACKETS_FROM_GUESTS=$(lan_counted)"
release "$HOLDER"
