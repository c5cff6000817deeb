#!/bin/bash
# tests/scripts/libvirt/lifecycle.sh: libvirt session mode (qemu:///session, as
# uid 4242) runs vnet-helper as its bridge_helper for <interface type='bridge'>
# on the managed network vnet0: lease and gateway; two guests, one destroyed,
# the other keeps its gateway; the last destroy idles the network down; a
# second start of the same domain keeps its lease; `virsh attach-interface
# --live` adds a working NIC, `virsh detach-interface --live` takes it away
# again (tap gone, primary NIC still working). Three guest boots in all: g1,
# g2, g1 again.
# (run by tests/libvirt.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/install.sh
source "$TESTS/lib/install.sh"
# shellcheck source=tests/lib/guest.sh
source "$TESTS/lib/guest.sh"
# shellcheck source=tests/lib/libvirt.sh
source "$TESTS/lib/libvirt.sh"
dump_on_failure vnet0
T0=$EPOCHREALTIME
libvirt_setup
define_net vnet0 'address = "10.200.0.1/24"' 'dhcp-range = "10.200.0.100-10.200.0.199"' \
  'idle-timeout = "2s"'
MAC1=52:54:00:4c:00:01 MAC2=52:54:00:4c:00:02 MAC3=52:54:00:4c:00:03

# The guest: a lease, 3 pings to the gateway, then forever: one ping every
# ~0.2 s, logged as PL ok|miss; a hotplugged eth1 takes a lease of its own
# (no route changes) and pings the gateway through it.
{ guest_snippets; cat <<'G'; } > "$WORK/guest.sh"
echo 1 > /proc/sys/net/ipv4/conf/all/arp_ignore
dhcp lvguest
pings 3 "$DHCP_ROUTER" GW
cat > /tmp/eth1.script <<'S'
#!/bin/sh
case "$1" in
  deconfig) ip link set "$interface" up ;;
  bound|renew) ip addr add "$ip/${mask:-24}" dev "$interface"; echo "ETH1_IP=$ip" ;;
esac
S
chmod 755 /tmp/eth1.script
hotplugged() {
  ip link set eth1 up
  udhcpc -i eth1 -q -n -t 10 -T 2 -s /tmp/eth1.script
  got=$(ping -I eth1 -c 3 -W 5 "$DHCP_ROUTER" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
  echo "ETH1_PING_RECEIVED=${got:-0}"
}
while :; do
  if [ -e /sys/class/net/eth1 ] && [ ! -e /tmp/eth1.seen ]; then
    : > /tmp/eth1.seen; echo "ETH1_SEEN"; hotplugged &
  fi
  if [ -e /tmp/eth1.seen ] && [ ! -e /sys/class/net/eth1 ] && [ ! -e /tmp/eth1.gone ]; then
    : > /tmp/eth1.gone; echo "ETH1_GONE"
  fi
  if ping -c 1 -W 1 "$DHCP_ROUTER" > /dev/null 2>&1; then echo "PL ok"; else echo "PL miss"; fi
  sleep 0.2
done
G

virsh_u list --all > /dev/null
libvirt_report_daemons AUTOSTART
lv_domain g1 $MAC1 vnet0 "$WORK/guest.sh"
lv_domain g2 $MAC2 vnet0 "$WORK/guest.sh"
echo "BEFORE_BRIDGE=$(yes_no link_exists vnet0)"

# g1: lease and gateway
t=$EPOCHREALTIME
virsh_u start g1 >&2
lv_wait_log g1 '^PL ok' 150
echo "T_G1_GATEWAY=$(since "$t")"
echo "G1_IP=$(gval g1 LEASE_IP)"
echo "G1_ROUTER=$(gval g1 LEASE_ROUTER)"
echo "G1_PING_GW=$(gval g1 PING_RECEIVED_GW)"
TAP1=$(lv_tap g1)
echo "G1_TAP_MASTER=$(master_of "$TAP1")"
libvirt_report_daemons RUNNING

# g2 joins; then g1 is destroyed while g2 pings its gateway every ~0.2 s
virsh_u start g2 >&2
lv_wait_log g2 '^PL ok' 150
echo "G2_IP=$(gval g2 LEASE_IP)"
TAP2=$(lv_tap g2)
echo "TWO_PORTS=$(bridge_ports vnet0)"
echo "TWO_EXPECTED=$(printf '%s\n' "$TAP1" "$TAP2" | sort | tr '\n' ' ' | sed 's/ $//')"
BRMAC=$(cat /sys/class/net/vnet0/address)
sleep 2
mark=$(wc -l < "$(lv_log g2)")
virsh_u destroy g1 >&2
t=$EPOCHREALTIME
tap_gone() { ! link_exists "$1"; }
echo "G1_TAP_GONE=$(yes_no wait_for 5 tap_gone "$TAP1")"
sleep 8
tail -n +"$((mark + 1))" "$(lv_log g2)" | tr -d '\r' > "$WORK/g2.after"
echo "G2_AFTER_OK=$(grep -c '^PL ok' "$WORK/g2.after" || true)"
echo "G2_AFTER_MISS=$(grep -c '^PL miss' "$WORK/g2.after" || true)"
echo "ONE_PORT=$(bridge_ports vnet0)"
echo "BRIDGE_MAC_KEPT=$(yes_no test "$(cat /sys/class/net/vnet0/address)" = "$BRMAC")"
echo "G2_TAP=$TAP2"

# the last guest goes: its tap, then (idle-timeout 2s) the whole network
virsh_u destroy g2 >&2
t=$EPOCHREALTIME
echo "G2_TAP_GONE=$(yes_no wait_for 5 tap_gone "$TAP2")"
if wait_for 30 net_gone vnet0; then echo "IDLE_DOWN=yes"; else echo "IDLE_DOWN=no"; VERBOSE_GONE=1 net_gone vnet0 || true; fi
echo "T_IDLE_DOWN=$(since "$t")"

# g1 again: the network comes back, same MAC, same lease
rm -f "$(lv_log g1)"
t=$EPOCHREALTIME
virsh_u start g1 >&2
lv_wait_log g1 '^PL ok' 150
echo "T_G1_AGAIN_GATEWAY=$(since "$t")"
echo "G1_AGAIN_IP=$(gval g1 LEASE_IP)"
echo "G1_AGAIN_PING_GW=$(gval g1 PING_RECEIVED_GW)"

# hotplug a second NIC into the running g1
t=$EPOCHREALTIME
virsh_u attach-interface g1 bridge vnet0 --model virtio --mac $MAC3 --live >&2
lv_wait_log g1 '^ETH1_PING_RECEIVED=' 90
echo "T_HOTPLUG=$(since "$t")"
echo "HOTPLUG_IP=$(gval g1 ETH1_IP)"
echo "HOTPLUG_PING=$(gval g1 ETH1_PING_RECEIVED)"
echo "HOTPLUG_NPORTS=$(count_words_of bridge_ports vnet0)"
echo "HOTPLUG_LEASED=$(awk -v m=$MAC3 'tolower($2) == m { print $3 }' "$(lease_file vnet0)")"

# and detach it again (live): its tap leaves the bridge, the guest loses
# eth1 and keeps reaching its gateway through eth0, the network stays up
TAP_PRIMARY=$(lv_tap g1)
TAP_HOT=$(bridge_ports vnet0 | tr ' ' '\n' | grep -vx "$TAP_PRIMARY" || true)
echo "DETACH_HOT_TAP_MASTER=$(master_of "${TAP_HOT:-none}")"
mark=$(wc -l < "$(lv_log g1)")
t=$EPOCHREALTIME
virsh_u detach-interface g1 bridge --mac $MAC3 --live >&2
echo "DETACH_TAP_GONE=$(yes_no wait_for 30 tap_gone "${TAP_HOT:-none}")"
echo "T_DETACH=$(since "$t")"
lv_wait_log g1 '^ETH1_GONE' 30 || true
echo "DETACH_GUEST_ETH1_GONE=$(tr -d '\r' < "$(lv_log g1)" | grep -c '^ETH1_GONE' || true)"
echo "DETACH_PORTS=$(bridge_ports vnet0)"
echo "DETACH_PRIMARY=$TAP_PRIMARY"
echo "DETACH_DOMIFLIST=$(virsh_u domiflist g1 | grep -c "$MAC3" || true)"
sleep 2
tail -n +"$((mark + 1))" "$(lv_log g1)" | tr -d '\r' > "$WORK/g1.detach"
echo "DETACH_PL_OK=$(grep -c '^PL ok' "$WORK/g1.detach" || true)"
echo "DETACH_PL_MISS=$(grep -c '^PL miss' "$WORK/g1.detach" || true)"
echo "DETACH_NET_UP=$(yes_no net_whole vnet0)"

virsh_u destroy g1 >&2
if wait_for 30 net_gone vnet0; then echo "END_DOWN=yes"; else echo "END_DOWN=no"; fi
libvirt_stop
echo "T_TOTAL=$(since "$T0")"
