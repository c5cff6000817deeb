#!/bin/bash
# tests/scripts/host_firewalls/matrix.sh CASE BACKEND: one cell of the
# host-firewall matrix. Makes the host firewall of CASE (tests/lib/
# host_firewalls.sh: empty, docker, ufw, nftconf, nftconf_fixed, firewalld),
# chooses BACKEND (iptables|nftables) in /etc/vnet-helper/config.toml, brings
# up a NAT network as uid 4242 (its tap held), and with two veth guests
# checks DHCP, DNS, NAT to the upstream namespace, a port forward from the
# upstream and guest-to-guest traffic; then tears it down and compares
# iptables-save, ip6tables-save and nft list ruleset with before (only
# comment lines and counters taken out). nftconf_fixed first adds the rules
# `status` prints. Also prints what status and check say about the host.
# (run by tests/host_firewalls.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/upstream.sh
source "$TESTS/lib/upstream.sh"
# shellcheck source=tests/lib/host_firewalls.sh
source "$TESTS/lib/host_firewalls.sh"
CASE=$1 BACKEND=$2
dump_on_failure vnet0
upstream_setup
echo "nameserver 198.51.100.1" > /etc/resolv.conf
# what auto (no config.toml) would choose here, then the cell's backend
backend_said() { sed -n 's/^firewall backend: \([a-z]*\).*/\1/p'; }
echo "AUTO_BACKEND=$("$VH" status | backend_said)"
printf 'firewall = "%s"\n' "$BACKEND" > /etc/vnet-helper/config.toml
define_net_toml vnet0 <<'EOF'
address = "10.200.0.1/24"
ipv6 = "fd42:1::1/64"
dhcp-range = "10.200.0.100-10.200.0.150"
domain = "vm"

[[host]]
mac = "52:54:00:00:00:10"
ip = "10.200.0.10"
name = "web"

[[forward]]
proto = "tcp"
port = 8080
to = "10.200.0.10:80"
EOF

hf_shape "$CASE"
# what status says before anything is up (it diagnoses defined networks)
"$VH" status vnet0 > "$WORK/status.down"
if [ "$CASE" = nftconf_fixed ]; then
  grep -o 'nft insert rule [^;]*' "$WORK/status.down" | sed 's/ *$//' | sort -u > "$WORK/fixes"
  echo "FIXES=$(wc -l < "$WORK/fixes")"
  while IFS= read -r cmd; do bash -c "$cmd" || echo "FIX_FAILED=$cmd"; done < "$WORK/fixes"
fi
hf_views "$WORK/before"

# the cold call, as uid 4242, its tap held
HOLD=600 call_helper "$VH" vnet0 > "$WORK/call.out" 2>&1 &
holder=$!
wait_for 25 grep -q '^RC=' "$WORK/call.out" || die "the call did not return"
echo "CALL_RC=$(sed -n 's/^RC=//p' "$WORK/call.out")"
echo "CALL_WARNINGS=$(sed -n 's/^STDERR=//p' "$WORK/call.out" | grep -o "the host's nftables chain" | wc -l)"
"$VH" status vnet0 > "$WORK/status.up"
echo "STATUS_RULES=$(sed -n 's/^  firewall rules: //p' "$WORK/status.up")"
echo "STATUS_BACKEND=$(backend_said < "$WORK/status.up")"
echo "RULES_COMPLETE=$(yes_no rules_complete vnet0)"
echo "STATUS_HOST_LINES=$(grep -c '^  host firewall: ' "$WORK/status.up" || true)"
# the accepts the nftables backend adds to an iptables-shaped host's chains
echo "STATUS_COEXIST=$(grep -c '^  host iptables firewall would drop' "$WORK/status.up" || true)"
echo "IPTABLES_SAVE_WARNINGS=$( { iptables-save; ip6tables-save; } 2>&1 | grep -ci 'incompatible\|warning' || true)"
crc=0; "$VH" check > "$WORK/check.out" 2>&1 || crc=$?
echo "CHECK_RC=$crc"
echo "CHECK_HOST_LINES=$(grep -c "the host's nftables chain" "$WORK/check.out" || true)"

# two veth guests: g1 with the [[host]] MAC (10.200.0.10, "web"), g2 dynamic
vguest g1 vnet0 52:54:00:00:00:10
vguest g2 vnet0 52:54:00:00:00:20
ok_or_failed() { if "$@"; then echo ok; else echo failed; fi; }
echo "DHCP_G1=$(vguest_dhcp g1 || echo failed)"
echo "DHCP_G2=$(vguest_dhcp g2 >/dev/null && echo ok || echo failed)"
dns_web() { ip netns exec g2 busybox nslookup web.vm 10.200.0.1 2>/dev/null | grep -Eq '^Address:?[[:space:]]+10\.200\.0\.10$'; }
echo "DNS=$(ok_or_failed wait_for 3 dns_web)"
peer_server upstream 198.51.100.1 7000 "$WORK/peers-up" hello-upstream
echo "NAT=$(tcp_get g2 198.51.100.1 7000 | grep -qx hello-upstream && echo ok || echo failed)"
echo "NAT_SOURCE=$(sed -n 's/^PEER=//p' "$WORK/peers-up" | sort -u | tr '\n' ' ' | sed 's/ $//')"
if ip -n g1 addr show eth0 | grep -q 10.200.0.10/; then
  peer_server g1 10.200.0.10 80 "$WORK/peers-g1" hello-g1
fi
echo "FORWARD=$(tcp_get upstream 198.51.100.2 8080 | grep -qx hello-g1 && echo ok || echo failed)"
echo "GUEST_TO_GUEST=$(tcp_get g2 10.200.0.10 80 | grep -qx hello-g1 && echo ok || echo failed)"

# teardown: the guests go, the caller lets go of its tap, the admin takes
# the network down
ip link del v-g1; ip link del v-g2
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
"$VH" down --force vnet0 > "$WORK/down.out" 2>&1 || { cat "$WORK/down.out"; die "down failed"; }
echo "BRIDGE_GONE=$(yes_no bridge_gone vnet0)"
echo "RECORD_GONE=$(yes_no test ! -e /run/vnet-helper/iptables-created)"
hf_same FIREWALL_SAME "$WORK/before"
