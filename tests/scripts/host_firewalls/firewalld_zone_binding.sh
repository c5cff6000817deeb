#!/bin/bash
# tests/scripts/host_firewalls/firewalld_zone_binding.sh: a host running a
# real firewalld (own system D-Bus, in the sandbox). Without our zone the
# bring-up warns naming the file to install, `check' says the zone is not
# installed, and a guest gets nothing (the default zone rejects). With the
# zones installed and firewalld reloaded, the supervisor binds the bridge on
# its own (the `Reloaded' signal); a veth guest gets DHCP and DNS, reaches
# the upstream through NAT, and no other port of the host (not even ssh,
# which firewalld's default zone opens); teardown removes the binding.
# (run by tests/host_firewalls.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/upstream.sh
source "$TESTS/lib/upstream.sh"
# shellcheck source=tests/lib/firewalld.sh
source "$TESTS/lib/firewalld.sh"
dump_on_failure vnet0
upstream_setup
peer_server upstream 198.51.100.1 7000 "$WORK/peers-up" hello-upstream
define_net vnet0 'address = "10.200.0.1/24"' 'dhcp-range = "10.200.0.100-10.200.0.150"' \
  'idle-timeout = "2s"' '[[host]]' 'mac = "52:54:00:00:00:10"' 'ip = "10.200.0.10"' 'name = "web"'
firewalld_start || die "firewalld did not start"
echo "FIREWALLD=running"

# 1. No zone of ours: the call works and says what will not.
HOLD=600 call_helper "$VH" vnet0 > "$WORK/call.out" 2>&1 &
holder=$!
wait_for 25 grep -q '^RC=' "$WORK/call.out" || die "the call did not return"
echo "CALL_RC=$(sed -n 's/^RC=//p' "$WORK/call.out")"
echo "CALL_WARNS_ZONE=$(grep -c "has no zone \`vnet-helper'.*/etc/firewalld/zones/vnet-helper.xml" "$WORK/call.out")"
echo "ZONE_BEFORE=$(firewalld_zone_of vnet0)"
"$VH" status vnet0 > "$WORK/status.before" 2>&1
echo "STATUS_ZONE_BEFORE=$(sed -n 's/^  firewalld zone: \([^ ]*\).*/\1/p' "$WORK/status.before")"
crc=0; "$VH" check > "$WORK/check.before" 2>&1 || crc=$?
echo "CHECK_RC_BEFORE=$crc"
echo "CHECK_SAYS_NOT_INSTALLED=$(grep -c "zone \`vnet-helper' is not installed: install /etc/firewalld/zones/vnet-helper.xml" "$WORK/check.before")"
veth_guest g vnet0
ip -n g addr add 10.200.0.50/24 dev eth0
ip -n g route add default via 10.200.0.1
echo "DHCP_BEFORE=$(guest_lease g && echo ok || echo failed)"
echo "DNS_BEFORE=$(yes_no dns_answers g 10.200.0.1 web)"

# 2. The zones installed (as install.sh does) and firewalld reloaded: the
# supervisor hears `Reloaded' and binds the bridge by itself.
firewalld_zone_install
t0=$(now)
fw_cmd --reload >/dev/null
t1=$(now)
wait_for 5 zone_in_ruleset vnet0 vnet-helper || die "the bridge was not bound after the reload"
echo "BOUND_AFTER_RELOAD_S=$(since "$t1") (firewall-cmd --reload took $(diff_s "$t0" "$t1") s)"
echo "ZONE_AFTER=$(firewalld_zone_of vnet0)"
wait_for 3 rules_complete vnet0 || die "rules not back after the reload"
"$VH" status vnet0 > "$WORK/status.after" 2>&1
echo "STATUS_ZONE_AFTER=$(sed -n 's/^  firewalld zone: \([^ ]*\).*/\1/p' "$WORK/status.after")"
crc=0; "$VH" check > "$WORK/check.after" 2>&1 || crc=$?
echo "CHECK_ZONE_LINES_AFTER=$(grep -c "firewalld runs but" "$WORK/check.after" || true)"

# 3. What the guest gets now.
echo "DHCP_AFTER=$(wait_for 10 guest_lease g && echo ok || echo failed)"
echo "DNS_AFTER=$(yes_no dns_answers g 10.200.0.1 web)"
echo "NAT_PING=$(wait_for 5 ip netns exec g busybox ping -c 1 -W 1 198.51.100.1 >/dev/null 2>&1 && echo ok || echo failed)"
echo "NAT_TCP=$(tcp_get g 198.51.100.1 7000 | grep -c hello-upstream)"
echo "NAT_SOURCE=$(sed -n 's/^PEER=//p' "$WORK/peers-up" | sort -u | tr '\n' ' ')"
peer_server 10.200.0.1 22 "$WORK/peers-ssh" hello-ssh
peer_server 10.200.0.1 2222 "$WORK/peers-2222" hello-2222
echo "HOST_SSH_OPEN=$(yes_no tcp_reaches g 10.200.0.1 22)"
echo "HOST_2222_OPEN=$(yes_no tcp_reaches g 10.200.0.1 2222)"
# the host itself still reaches them (the listeners are real)
echo "HOST_SSH_LOCAL=$(yes_no tcp_reaches - 10.200.0.1 22)"

# 4. D-Bus cost: `vnet-helper up' on a network that is up re-binds (one
# getZoneOfInterface when bound; plus changeZoneOfInterface when not).
ms() { local a b; a=$(now); "$@" >/dev/null 2>&1; b=$(now); awk -v a="$a" -v b="$b" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
echo "UP_MS_BOUND=$(ms "$VH" up vnet0) $(ms "$VH" up vnet0) $(ms "$VH" up vnet0)"
unbound_up() { fw_cmd --zone=vnet-helper --remove-interface=vnet0 >/dev/null; ms "$VH" up vnet0; }
echo "UP_MS_UNBOUND=$(unbound_up) $(unbound_up) $(unbound_up)"
echo "ZONE_AFTER_UP=$(firewalld_zone_of vnet0)"
echo "FIREWALL_CMD_MS=$(ms fw_cmd --zone=vnet-helper --change-interface=vnet0) $(ms fw_cmd --zone=vnet-helper --change-interface=vnet0)"

# 5. Teardown (idle timeout after the guest leaves) removes the binding.
# shellcheck disable=SC2046 # pids
kill $(ps -o pid= --ppid "$holder") 2>/dev/null || true
ip netns del g
wait_for 15 bridge_gone vnet0 || die "no teardown"
echo "ZONE_AFTER_TEARDOWN=$(firewalld_zone_of vnet0)"
echo "ZONE_INTERFACES_AFTER_TEARDOWN=$(fw_cmd --zone=vnet-helper --list-interfaces)"
firewalld_stop
