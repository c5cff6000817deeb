#!/bin/bash
# tests/scripts/usernet/real_guest.sh: alice (uid 4242, a pool member, no
# bridge.conf at all) creates the NAT network vu-lab and boots a real QEMU
# (TCG) guest with the -nic option `net create` printed: the network comes up
# at the first attach, the guest gets a lease, pings its gateway and reaches
# the upstream through NAT (the upstream sees the host's address). Also times
# the create and the cold attach.
# (run by tests/usernet.rs in tests/sandbox.sh; prints KEY=VALUE lines)
#   guest --tap-- [vu-lab 10.240.x.1/24] host [uplink0 198.51.100.2/24]
#                                               | veth
#                                netns upstream [eth0 198.51.100.1/24]
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/upstream.sh
source "$TESTS/lib/upstream.sh"
# shellcheck source=tests/lib/guest.sh
source "$TESTS/lib/guest.sh"
# shellcheck source=tests/lib/usernet.sh
source "$TESTS/lib/usernet.sh"
export GUEST_TIMEOUT=150
dump_on_failure vu-lab
un_users
upstream_with_peer_servers
un_policy <<'P'
[[pool]]
users = ["alice"]
prefix = "vu-"
subnets = ["10.240.0.0/16"]
idle-timeout = "2s"
P
echo "ACL_PRESENT=$(yes_no test -e "$(acl_file)")"
guest_image   # built before the clock starts
t0=$EPOCHREALTIME
un_net CREATE alice net create vu-lab
echo "T_CREATE=$(since "$t0")"
echo "AFTER_CREATE_BRIDGE=$(yes_no link_exists vu-lab)"
# the create is timed 5 more times (then deleted again), for the report
for i in 1 2 3 4 5; do
  t=$EPOCHREALTIME; un_as alice "$VH" net create "vu-t$i" > /dev/null; echo "T_CREATE_$i=$(since "$t")"
  un_as alice "$VH" net delete "vu-t$i" > /dev/null
done
# the -nic option from what `net create` printed, plus model and MAC
nicopt=$(grep -o -- '-nic bridge,br=vu-lab,helper=[^ ]*' "$WORK/out.CREATE" | head -n 1 | sed 's/^-nic //')
echo "NIC_OPTION=$nicopt"
t1=$EPOCHREALTIME
{ guest_snippets; cat <<'G'
dhcp labguest
pings 3 "$DHCP_ROUTER" GW
tcp UPSTREAM 198.51.100.1 7000
G
} > "$WORK/g.sh"
guest_start g1 "$WORK/g.sh" -nic "$nicopt,model=virtio-net-pci,mac=52:54:00:ab:00:01"
# the cold attach: the helper's call from QEMU until the bridge is whole
wait_for 60 net_whole vu-lab && echo "T_COLD_ATTACH_WHOLE=$(since "$t1")"
echo "QEMU_USER=$(stat -c %U "/proc/$(qemu_pids | awk '{ print $1 }')")"
un_net LIST_UP alice net list --json
guest_wait g1
echo "G_IP=$(guest_value g1 LEASE_IP)"
echo "G_ROUTER=$(guest_value g1 LEASE_ROUTER)"
echo "G_PING_GW=$(guest_value g1 PING_RECEIVED_GW)"
echo "G_TCP_UPSTREAM=$(guest_value g1 TCP_UPSTREAM)"
echo "UPSTREAM_PEERS=$(sed -n 's/^PEER=//p' "$UPSTREAM_PEERS" | sort -u | tr '\n' ' ' | sed 's/ $//')"
echo "LEASED=$(awk '$2 == "52:54:00:ab:00:01" { print $3 }' "$(lease_file vu-lab)")"
python3 - "$WORK/out.LIST_UP" <<'PY' || echo "PYTHON_FAILED=$?"
import json, sys
try:
    n = json.load(open(sys.argv[1]))[0]
except (ValueError, IndexError) as e:
    n = {}
    print("LIST_ERROR=%s" % e)
print("LIST_STATE=%s" % n.get("state"))
print("LIST_NTAPS=%d" % len(n.get("taps") or []))
print("LIST_SUBNET=%s" % n.get("subnet"))
print("LIST_GATEWAY=%s" % n.get("gateway"))
print("LIST_MODE=%s" % n.get("mode"))
PY
echo "IDLE_DOWN=$(yes_no wait_for 20 net_gone vu-lab)"
