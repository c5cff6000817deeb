#!/bin/bash
# tests/scripts/caller_attacks/usernet_new_network_stays_isolated_from_a_routed_one.sh:
# a routed admin network vnetr is up (its supervisor watching its rules);
# mallory (uid 4242) creates a user network and brings it up, nothing more.
# Her guest then sends UDP to vnetr's guest, at once and after 1 and 3 s.
# Must hold, under BACKEND (iptables, nftables): no packet arrives (the old
# binary: vnetr's supervisor "healed" the re-isolation away within a second,
# back to the peers of its own bring-up, and the packets came through).
# (run by tests/caller_attacks.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/caller_attacks.sh
source "$TESTS/lib/caller_attacks.sh"
BACKEND=$1
dump_on_failure vnetr
ua_users
use_backend "$BACKEND"
ua_pool 'idle-timeout = "never"'
define_net vnetr 'address = "10.200.0.1/24"' 'mode = "routed"' 'idle-timeout = "never"'
"$VH" up vnetr > /dev/null
ua_as mallory "$VH" net create vu-a > /dev/null
"$VH" up vu-a > /dev/null
veth_guest gv vnetr; ip -n gv addr add 10.200.0.10/24 dev eth0; ip -n gv route add default via 10.200.0.1
veth_guest ga vu-a; ip -n ga addr add 10.240.0.10/24 dev eth0; ip -n ga route add default via 10.240.0.1
# the victim guest counts what arrives on UDP 7777 (its own netns' firewall)
ip netns exec gv iptables -A INPUT -p udp --dport 7777 -j DROP
received() { ip netns exec gv iptables -nvxL INPUT | awk '/dpt:7777/ { print $1 }'; }
for t in 0 1 2; do
  sleep "$t"
  ip netns exec ga bash -c 'echo x > /dev/udp/10.200.0.10/7777' 2>/dev/null || true
  sleep 0.1
  echo "AFTER_${t}S=$(received)"
done
echo "STATUS_ISOLATION=$("$VH" status vnetr | grep -c 'isolation list stale' || true)"
echo "PACKETS_REACHED_VICTIM=$(received)"
