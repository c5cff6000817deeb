#!/bin/bash
# tests/scripts/lifecycle/two_networks_teardown_of_one_leaves_the_other_working.sh: two networks: one goes away, the other keeps its rules and keeps working.
# (run by tests/lifecycle.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
dump_on_failure vn0
define_net vn0 'address = "10.200.0.1/24"' 'idle-timeout = "2s"'
define_net vn1 'address = "10.201.0.1/24"' 'idle-timeout = "2s"'
host_firewall
fw_save > "$WORK/fw.base"
# an "outside" for vn1's NAT: a namespace with no route back to the guests
ip netns add wan
ip link add up0 type veth peer name wan0
ip link set wan0 netns wan
ip addr add 198.51.100.1/24 dev up0; ip link set up0 up
ip -n wan addr add 198.51.100.2/24 dev wan0; ip -n wan link set wan0 up; ip -n wan link set lo up

attach_bg vn1 "$WORK/b.out"; B=$HOLDER
# a guest on vn1: DHCP (address + default route from dnsmasq)
cat > "$WORK/udhcpc.sh" <<'EOF'
#!/bin/sh
if [ "$1" = bound ]; then
  ip addr add "$ip/${mask:-24}" dev "$interface"
  [ -n "${router:-}" ] && ip route add default via "${router%% *}"
  echo "BOUND_IP=$ip"
fi
exit 0
EOF
chmod +x "$WORK/udhcpc.sh"
ip netns add g1
ip link add vh1 type veth peer name vg1 address 52:54:00:aa:01:01
ip link set vg1 netns g1
ip link set vh1 master vn1 up
ip -n g1 link set vg1 up
ip netns exec g1 timeout 30 busybox udhcpc -i vg1 -n -q -t 15 -T 1 -x hostname:g1 -s "$WORK/udhcpc.sh" 2>/dev/null | grep '^BOUND_IP=' || echo BOUND_IP=none
ping_out() { ip netns exec g1 busybox ping -c 1 -W 1 198.51.100.2 >/dev/null 2>&1; }
echo "PING_BEFORE=$(wait_for 5 ping_out && echo ok || echo failed)"
fw_save > "$WORK/fw.vn1"

attach_bg vn0 "$WORK/a.out"; A=$HOLDER
echo "BOTH_WHOLE=$(VERBOSE_WHOLE=1 net_whole vn0 && VERBOSE_WHOLE=1 net_whole vn1 && echo yes)"
echo "BRIDGES=$(ip -o link show type bridge | wc -l)"
# FORWARD reaches each network's forwarding chains by exactly 3 jumps:
# iptables, FORWARD to the shared VNET-FWX/FWI/FWO; nftables, our forward
# chain's lookups in the three maps that lead to vn0's fwx, fwi, fwo
if [ "$(fw_backend)" = nftables ]; then
  echo "SHARED_JUMPS=$(nft_ours | grep -cE '^ip vnet_helper set (guest-to-guest|into-bridge|out-of-bridge): .*"vn0" : jump vnet-vn0-fw[xio]')"
else
  echo "SHARED_JUMPS=$(iptables -S FORWARD | grep -c -- '-j VNET-FW[XIO]$')"
fi
release "$A"; t0=$(now)
if wait_for 7 net_gone vn0; then echo "VN0_GONE_AFTER=$(since "$t0")"; else
  echo "VN0_GONE_AFTER=timeout"; VERBOSE_GONE=1 net_gone vn0 || true
fi
# vn1 untouched, byte for byte, and still working
echo "VN1_WHOLE=$(VERBOSE_WHOLE=1 net_whole vn1 && echo yes)"
report_fw_same VN1_FW_SAME "$WORK/fw.vn1"
"$VH" status --json > "$WORK/st.json"
python3 -c '
import json
d = {n["name"]: n for n in json.load(open("'"$WORK"'/st.json"))}
print("STATUS_VN1=up:%s rules:%s bridge:%s" % (d["vn1"]["up"], d["vn1"]["rules_present"], d["vn1"]["bridge"]))
print("STATUS_VN0=up:%s bridge:%s" % (d["vn0"]["up"], d["vn0"]["bridge"]))
'
echo "PING_AFTER=$(wait_for 5 ping_out && echo ok || echo failed)"
echo "DNS_AFTER=$(ip netns exec g1 timeout 10 busybox nslookup g1 10.201.0.1 2>&1 | grep -c '^Address: 10\.201\.0\.')"

# vn1 goes idle too (tap released, guest unplugged): the shared chains go
release "$B"; ip link del vh1; t0=$(now)
gone_and_clean() { net_gone vn1 && fw_same "$WORK/fw.base"; }
if wait_for 7 gone_and_clean; then echo "VN1_GONE_AFTER=$(since "$t0")"; else
  echo "VN1_GONE_AFTER=timeout"; VERBOSE_GONE=1 net_gone vn1 || true
fi
report_fw_same FW_SAME "$WORK/fw.base"
