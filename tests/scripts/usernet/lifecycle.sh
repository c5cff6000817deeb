#!/bin/bash
# tests/scripts/usernet/lifecycle.sh: two users' NAT networks (alice's vu-a,
# bob's vu-b) beside an admin network (vnet0), with veth guests taking real
# DHCP leases: isolation, owner-only attach and delete, the list while up,
# the subnet and a lease kept across an idle teardown, delete refused while in
# use and forced by root, and nothing left after delete (links, iptables-save,
# nft list ruleset, files, record: as before the networks were created).
# $1: the firewall backend (nftables or iptables; config.toml forces it).
# (run by tests/usernet.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/host_firewalls.sh
source "$TESTS/lib/host_firewalls.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
# shellcheck source=tests/lib/usernet.sh
source "$TESTS/lib/usernet.sh"
dump_on_failure ""
un_users
un_syslog_start
use_backend "$1"
echo "BACKEND=$(fw_backend)"
foreign_rules
un_policy <<'EOF'
[[pool]]
users = ["alice", "@vmusers"]
prefix = "vu-"
subnets = ["10.240.0.0/16"]
idle-timeout = "2s"
EOF
define_net vnet0 'address = "10.200.0.1/24"' 'idle-timeout = "2s"'
un_snapshot "$WORK/base" "vu-[ab]"

un_net CREATE_A alice net create vu-a
un_net CREATE_B bob net create vu-b
gw_of() { ip -4 -o addr show dev "$1" | awk '{ print $4 }' | cut -d/ -f1; }

# up: each owner's QEMU holds a tap; alice (uid 4242) on vnet0 through bridge.conf
un_hold alice vu-a "$WORK/hold.a"; HOLD_A=$UN_HOLDER
un_hold bob vu-b "$WORK/hold.b"; HOLD_B=$UN_HOLDER
AS=user attach_bg vnet0 "$WORK/hold.0"; HOLD_0=$HOLDER
GW_A=$(gw_of vu-a) GW_B=$(gw_of vu-b)
echo "GW_A=$GW_A"; echo "GW_B=$GW_B"
echo "WHOLE_A=$(VERBOSE_WHOLE=1 yes_no net_whole vu-a)"
veth_guest ga vu-a 52:54:00:a0:00:0a
veth_guest gb vu-b 52:54:00:b0:00:0b
veth_guest g0 vnet0 52:54:00:00:00:00
t=$EPOCHREALTIME
IP_A=$(vguest_dhcp ga || true) IP_B=$(vguest_dhcp gb || true) IP_0=$(vguest_dhcp g0 || true)
echo "T_THREE_LEASES=$(since "$t")"
echo "IP_A=$IP_A"; echo "IP_B=$IP_B"; echo "IP_0=$IP_0"

t=$EPOCHREALTIME
# isolation: each guest reaches its own gateway, no other network's guest
ping_ok() { if ip netns exec "$1" timeout 3 busybox ping -c 2 -i 0.3 -W 1 "$2" > /dev/null 2>&1; then echo ok; else echo fails; fi; }
echo "PING_A_GW=$(ping_ok ga "$GW_A")"
echo "PING_B_GW=$(ping_ok gb "$GW_B")"
echo "PING_0_GW=$(ping_ok g0 10.200.0.1)"
echo "PING_A_B=$(ping_ok ga "$IP_B")"
echo "PING_B_A=$(ping_ok gb "$IP_A")"
echo "PING_A_0=$(ping_ok ga "$IP_0")"
echo "PING_0_A=$(ping_ok g0 "$IP_A")"
echo "PING_B_0=$(ping_ok gb "$IP_0")"
echo "PING_0_B=$(ping_ok g0 "$IP_B")"

echo "T_PINGS=$(since "$t")"

# alice's second network comes and goes while the others run: delete (up, no
# taps: torn down first) leaves links, firewall and files as before create
un_snapshot "$WORK/before-c" "vu-c"
un_net CREATE_C alice net create vu-c
un_hold alice vu-c "$WORK/hold.c"
echo "C_WHOLE=$(yes_no net_whole vu-c)"
release "$UN_HOLDER"
un_net DELETE_C alice net delete vu-c
echo "C_LEFT=$(un_leftovers vu-c)"
un_same C_SAME "$WORK/before-c" "vu-c"

# the list while up: alice's one network, its tap and guest's lease
un_net LIST_A alice net list --json
python3 - "$WORK/out.LIST_A" <<'PY' || echo "PYTHON_FAILED=$?"
import json, sys
try:
    nets = json.load(open(sys.argv[1]))
except ValueError as e:
    nets = []
    print("LA_ERROR=%s" % e)
print("LA_COUNT=%d" % len(nets))
n = nets[0] if nets else {}
print("LA_NAME=%s" % n.get("name"))
print("LA_OWNER=%s %s" % (n.get("owner"), n.get("uid")))
print("LA_STATE=%s" % n.get("state"))
print("LA_TAPS=%s" % " ".join(n.get("taps") or []))
print("LA_LEASES=%s" % " ".join("%s %s" % (l.get("mac"), l.get("ip")) for l in n.get("leases") or []))
print("LA_GATEWAY=%s" % n.get("gateway"))
PY
echo "TAP_A=$(sed -n 's/^TAP=//p' "$WORK/hold.a")"
un_net STATUS root status
echo "STATUS_OWNER_A=$(grep -c 'owner: alice (uid 4242)' "$WORK/out.STATUS")"
echo "STATUS_OWNER_B=$(grep -c 'owner: bob (uid 4243)' "$WORK/out.STATUS")"

# someone else's network: no attach, no delete; the owner cannot delete it in use
un_attach BOB_ATTACH bob vu-a
un_net BOB_DELETE bob net delete vu-a
un_net A_DELETE_IN_USE alice net delete vu-a
un_net A_DELETE_FORCE alice net delete vu-a --force
echo "BOB_ATTACH_AUDITED=$(un_audited vu-a 4243 refused)"
echo "AFTER_REFUSALS_PORTS=$(count_words_of bridge_ports vu-a)"
echo "AFTER_REFUSALS_WHOLE=$(yes_no net_whole vu-a)"

# idle teardown (the veth guest leaves the bridge too: it would count as a
# guest), then the next attach: same subnet, same lease
ip link set vg-ga nomaster
release "$HOLD_A"
echo "IDLE_DOWN=$(yes_no wait_for 20 net_gone vu-a)"
echo "DOWN_RECORD=$(yes_no test -e "$(un_record vu-a)")"
echo "DOWN_LEASE_FILE=$(grep -c 52:54:00:a0:00:0a "$(lease_file vu-a)" 2>/dev/null || true)"
un_net LIST_DOWN alice net list
echo "LIST_DOWN_STATE=$(awk '$1 == "vu-a" { print $5 }' "$WORK/out.LIST_DOWN")"
un_hold alice vu-a "$WORK/hold.a2"; HOLD_A=$UN_HOLDER
echo "GW_A_AGAIN=$(gw_of vu-a)"
ip link set vg-ga master vu-a up
ip -n ga addr flush dev eth0
echo "IP_A_AGAIN=$(vguest_dhcp ga || true)"
echo "PING_A_GW_AGAIN=$(ping_ok ga "$GW_A")"

# delete: root --force while alice's tap is attached; bob's after his QEMU left
un_net ROOT_FORCE root net delete vu-a --force
echo "A_LEFT=$(un_leftovers vu-a)"
echo "DELETE_AUDITED=$(un_audited vu-a 0 deleted)"
release "$HOLD_A"
release "$HOLD_B"
ip link set vg-gb nomaster
un_net B_DELETE bob net delete vu-b
echo "B_LEFT=$(un_leftovers vu-b)"
un_net LIST_AFTER root net list --json
# the admin network idles down; then everything is as before the creates
ip netns del ga; ip netns del gb; ip netns del g0
release "$HOLD_0"
echo "VNET0_DOWN=$(yes_no wait_for 20 net_gone vnet0)"
un_same END_SAME "$WORK/base" "vu-[ab]"
un_syslog_stop
