#!/bin/bash
# tests/scripts/features/bridged_network.sh: a bridged network on a LAN with its own DHCP server; idle teardown; the default-route uplink refused.
# (run by tests/features.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/upstream.sh
source "$TESTS/lib/upstream.sh"
# shellcheck source=tests/lib/guest.sh
source "$TESTS/lib/guest.sh"
dump_on_failure ""
upstream_setup
guest_overlay_build
# the LAN: netns `lan` behind veth lan0 (host side: no address, no default route)
ip netns add lan
ip link add lan0 type veth peer name eth0 netns lan
ip -n lan link set lo up
ip -n lan addr add 192.168.77.1/24 dev eth0
ip -n lan link set eth0 up
ip link set lan0 up
cat > "$WORK/lan-dnsmasq.conf" <<EOF
interface=eth0
bind-interfaces
port=0
dhcp-range=192.168.77.100,192.168.77.150,255.255.255.0,1h
dhcp-option=option:router,192.168.77.1
dhcp-leasefile=$WORK/lan.leases
pid-file=$WORK/lan.pid
EOF
ip netns exec lan /usr/sbin/dnsmasq --keep-in-foreground --conf-file="$WORK/lan-dnsmasq.conf" 2>"$WORK/lan-dnsmasq.err" &
define_net_toml lanbr <<'EOF'
mode = "bridged"
uplink = "lan0"
idle-timeout = "2s"
EOF
guest_script "$WORK/l.sh" <<'EOF'
lease
echo "SERVER=[$DHCP_SERVER]"
if ping -c 2 -W 3 192.168.77.1 >/dev/null 2>&1; then echo "LAN-PING=yes"; else echo "LAN-PING=no"; fi
echo L-READY
wait_go 150
EOF
export GUEST_OVERLAY=$GUEST_EXTRAS
nic lanbr 52:54:00:00:07:10
guest_start L "$WORK/l.sh" "${NIC[@]}"
guest_wait_marker L '^L-READY' 150
lip=$(gval L GUEST-IP | cut -d' ' -f1)
echo "L_IP=$lip"
echo "L_ROUTER=$(gval L GUEST-IP | sed -n 's/^[^ ]* ROUTER=//p')"
echo "L_SERVER=$(gval L SERVER)"
echo "L_LAN_PING=$(gval L LAN-PING)"
echo "LAN_LEASE=$(awk '$2 == "52:54:00:00:07:10" { print $3 }' "$WORK/lan.leases")"
echo "LAN0_MASTER=$(master_or_empty lan0)"
echo "OUR_DNSMASQ=$(our_dnsmasqs)"
echo "BRIDGE_V4=$(ip -4 -o addr show dev lanbr | awk '{ print $4 }' | tr '\n' ' ')"
# the host talks to the guest across the bridge only through the LAN: give the
# host no address there; tell the guest to stop through the LAN namespace
ip netns exec lan bash -c "$(declare -f tell_guest); tell_guest $lip bye"
guest_wait L
# after the idle timeout the bridge goes and lan0 is given back, still up
gone=no
for i in $(seq 200); do bridge_exists lanbr || { gone=yes; break; }; sleep 0.1; done
echo "AFTER_BRIDGE_GONE=$gone"
echo "AFTER_LAN0_MASTER=$(master_or_empty lan0)"
echo "AFTER_LAN0_UP=$(( $(cat /sys/class/net/lan0/flags) & 1 ))"

# a bridged definition on the uplink that carries the default route: refused
define_net_toml badbr <<'EOF'
mode = "bridged"
uplink = "uplink0"
EOF
call_helper "$VH" badbr | sed 's/^/BAD_/'
echo "BAD_UPLINK0_MASTER=$(master_or_empty uplink0)"
bridge_exists badbr && echo BAD_BRIDGE=present || echo BAD_BRIDGE=absent
[ -e "$(run_dir badbr)" ] && echo BAD_RUNDIR=present || echo BAD_RUNDIR=absent
echo "BAD_DEFAULT_ROUTE=$(ip route show default | head -1 | sed "s/ *$//")"
echo "BAD_UPLINK0_ADDR=$(ip -4 -o addr show dev uplink0 | awk '{ print $4 }')"
