#!/bin/bash
# tests/scripts/host_firewalls/nftables_policy_drop_is_diagnosed.sh: a host
# whose own nftables ruleset (an /etc/nftables.conf with `policy drop` on
# input and forward, in table inet filter) drops a managed network's traffic.
# The bring-up warns on stderr, `status` and `check` name the table and chain
# and print the rules to add; with exactly those rules added, a guest gets a
# DHCP lease and reaches the upstream through NAT.
# (run by tests/host_firewalls.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/upstream.sh
source "$TESTS/lib/upstream.sh"
# shellcheck source=tests/lib/host_firewalls.sh
source "$TESTS/lib/host_firewalls.sh"
dump_on_failure vnet0
upstream_setup
define_net vnet0 'address = "10.200.0.1/24"' 'dhcp-range = "10.200.0.100-10.200.0.150"'
hf_nftables_conf

# the cold call, as uid 4242, its tap held
HOLD=600 call_helper "$VH" vnet0 > "$WORK/call.out" 2>&1 &
holder=$!
wait_for 25 grep -q '^RC=' "$WORK/call.out" || die "the call did not return"
echo "CALL_RC=$(sed -n 's/^RC=//p' "$WORK/call.out")"
stderr=$(sed -n 's/^STDERR=//p' "$WORK/call.out")
echo "CALL_WARNS_INPUT=$(grep -c "warning: network \`vnet0': the host's nftables chain \`inet filter input'" <<<"$stderr")"
echo "CALL_WARNS_FORWARD=$(grep -c "warning: network \`vnet0': the host's nftables chain \`inet filter forward'" <<<"$stderr")"

"$VH" status vnet0 > "$WORK/status.before"
echo "STATUS_LINES_BEFORE=$(grep -c '^  host firewall: ' "$WORK/status.before")"
crc=0; "$VH" check > "$WORK/check.before" 2>&1 || crc=$?
echo "CHECK_RC_BEFORE=$crc"
echo "CHECK_LINES_BEFORE=$(grep -c "the host's nftables chain" "$WORK/check.before")"

# a guest on vnet0: a namespace behind a veth whose peer is a bridge port
ip netns add g
ip link add vh0 type veth peer name eth0 netns g
ip link set vh0 master vnet0 up
ip -n g link set lo up
ip -n g link set eth0 up
lease() { ip netns exec g busybox udhcpc -i eth0 -n -q -t 3 -T 1 -s /bin/true >/dev/null 2>&1; }
echo "DHCP_BEFORE=$(lease && echo ok || echo failed)"

# the rules status printed, exactly as printed
grep -o 'nft insert rule [^;]*' "$WORK/status.before" | sed 's/ *$//' | sort -u > "$WORK/fixes"
echo "FIXES=$(wc -l < "$WORK/fixes")"
# as an admin would paste them into a shell
while IFS= read -r cmd; do
  bash -c "$cmd" || echo "FIX_FAILED=$cmd"
done < "$WORK/fixes"

echo "DHCP_AFTER=$(wait_for 10 lease && echo ok || echo failed)"
ip -n g addr add 10.200.0.50/24 dev eth0
ip -n g route add default via 10.200.0.1
echo "NAT_PING_AFTER=$(wait_for 5 ip netns exec g busybox ping -c 1 -W 1 198.51.100.1 >/dev/null 2>&1 && echo ok || echo failed)"
"$VH" status vnet0 > "$WORK/status.after"
echo "STATUS_LINES_AFTER=$(grep -c '^  host firewall: ' "$WORK/status.after" || true)"
"$VH" check > "$WORK/check.after" 2>&1 || true
echo "CHECK_LINES_AFTER=$(grep -c "the host's nftables chain" "$WORK/check.after" || true)"
kill "$holder" 2>/dev/null || true
