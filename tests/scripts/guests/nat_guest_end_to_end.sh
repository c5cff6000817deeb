#!/bin/bash
# tests/scripts/guests/nat_guest_end_to_end.sh: two guests on a NAT network: leases, DNS, NAT, guest to guest
# (run by tests/guests.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# Topology (tests/lib/upstream.sh, upstream_with_peer_servers):
#   guests --tap-- [vnet0 10.200.0.1/24] host [uplink0 198.51.100.2/24]
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
export GUEST_TIMEOUT=150
dump_on_failure vnet0
upstream_with_peer_servers
define_net vnet0 'address = "10.200.0.1/24"' 'dhcp-range = "10.200.0.100-10.200.0.199"' \
  'domain = "vm"' 'idle-timeout = "2s"'
net_brief vnet0 BEFORE
t0=$EPOCHREALTIME

# guest 1: lease, gateway, upstream through NAT, the host's own address; then
# it stays up (wait_release) while guest 2 joins
{ guest_snippets; cat <<'EOF'
dhcp guest1
pings 3 10.200.0.1 GW
tcp UPSTREAM 198.51.100.1 7000
tcp HOST 198.51.100.2 7001
echo G1-READY
wait_release
EOF
} > "$WORK/g1.sh"
nic vnet0 52:54:00:e2:00:01
guest_start g1 "$WORK/g1.sh" "${NIC[@]}"
guest_wait_marker g1 '^G1-READY'
echo "T_G1_READY=$(since "$t0")"
G1_IP=$(guest_value g1 LEASE_IP)
echo "G1_IP=$G1_IP"
for k in DHCP_START_UPTIME DHCP_DONE_UPTIME LEASE_ROUTER LEASE_DNS LEASE_DOMAIN LEASE_MASK PING_RECEIVED_GW TCP_UPSTREAM TCP_HOST; do
  echo "G1_$k=$(guest_value g1 $k)"
done
echo "UPSTREAM_PEERS=$(sed -n 's/^PEER=//p' "$UPSTREAM_PEERS" | sort -u | tr '\n' ' ' | sed 's/ $//')"
echo "HOST_PEERS=$(sed -n 's/^PEER=//p' "$HOST_PEERS" | sort -u | tr '\n' ' ' | sed 's/ $//')"
# DNS from the host: the guest's DHCP host name under the network's domain
echo "HOST_NSLOOKUP_G1=$(timeout 10 busybox nslookup guest1.vm 10.200.0.1 2>&1 \
  | awk '/^Name:/ { n = 1 } n && /^Address/ { print $2 }' | tr '\n' ' ' | sed 's/ $//')"
net_brief vnet0 UP1
fw_dump > "$WORK/fw-up1"

# guest 2 on the running network: a lease of its own, DNS for guest 1's
# name through the gateway, guest-to-guest ping
{ echo "G1_IP=$G1_IP"; guest_snippets; cat <<'EOF'
dhcp guest2
echo "NSLOOKUP_G1=$(nslookup guest1.vm 2>&1 | awk '/^Name:/ { n = 1 } n && /^Address/ { print $2 }' | tr '\n' ' ' | sed 's/ $//')"
pings 3 "$G1_IP" PEER
echo G2-READY
wait_release
EOF
} > "$WORK/g2.sh"
t1=$EPOCHREALTIME
nic vnet0 52:54:00:e2:00:02
guest_start g2 "$WORK/g2.sh" "${NIC[@]}"
guest_wait_marker g2 '^G2-READY'
echo "T_G2_READY=$(since "$t1")"
G2_IP=$(guest_value g2 LEASE_IP)
echo "G2_IP=$G2_IP"
for k in DHCP_START_UPTIME DHCP_DONE_UPTIME LEASE_ROUTER LEASE_DNS NSLOOKUP_G1 PING_RECEIVED_PEER; do
  echo "G2_$k=$(guest_value g2 $k)"
done
net_brief vnet0 UP2
if fw_dump | cmp -s - "$WORK/fw-up1"; then echo "FW_AFTER_G2=same"; else
  echo "FW_AFTER_G2=differs"; fw_dump | diff "$WORK/fw-up1" - >&2 || true
fi

if release_guest g2 "$G2_IP"; then echo "RELEASED_G2=yes"; else echo "RELEASED_G2=no"; fi
if release_guest g1 "$G1_IP"; then echo "RELEASED_G1=yes"; else echo "RELEASED_G1=no"; fi
guest_wait g2
guest_wait g1
