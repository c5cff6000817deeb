#!/bin/bash
# tests/scripts/attach/qemu_guest_on_a_plain_bridge.sh KIND: a real QEMU (TCG,
# uid 4242) gets its NIC from the helper under test ($H, see
# tests/lib/attach.sh) on br0, through `-netdev bridge,helper=` (KIND bridge)
# or `-netdev tap,helper="HELPER --br=br0"` (KIND tap: QEMU runs the string
# with /bin/sh -c and leaves out --br= because the string has one). The guest
# (guest_pings_the_bridge.sh) pings br0 once the host told it that it saw
# the tap.
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/guest.sh
source "$TESTS/lib/guest.sh"
if [ -n "${USE_REF:-}" ]; then H=$REF; else H=$VH; fi
case $1 in
  bridge) netdev="bridge,id=n0,br=br0,helper=$H" ;;
  tap) netdev="tap,id=n0,helper=$H --br=br0" ;;
  *) echo "usage: $0 bridge|tap" >&2; exit 2 ;;
esac
ip link add br0 type bridge
ip addr add 10.99.0.1/24 dev br0
ip link set br0 up
echo "allow br0" > /etc/qemu/bridge.conf
guest_start e2e "$TESTS/scripts/attach/guest_pings_the_bridge.sh" -netdev "$netdev" -device virtio-net-pci,netdev=n0
guest_wait_marker e2e '^GUEST-READY'
# while the guest runs: its tap must be on br0, up, with an fe: MAC
tap=$(ip -o link show master br0 | awk -F': ' '$2 ~ /^tap/ {print $2}')
echo "TAP=$tap"
if [ -n "$tap" ]; then
  echo "TAP_MAC=$(cat "/sys/class/net/$tap/address")"
  echo "TAP_UP=$(( $(cat "/sys/class/net/$tap/flags") & 1 ))"
  # tell the guest (retrying until its listener is up)
  for _ in $(seq 60); do
    guest_running e2e || break
    if timeout 5 bash -c 'echo TAP-SEEN > /dev/tcp/10.99.0.2/7777' 2>/dev/null; then
      echo "TOLD_GUEST=yes"; break
    fi
    sleep 1
  done
fi
guest_wait e2e
guest_expect e2e '^GUEST-PING-OK'
echo "TAPS_AFTER=$(ip -o link show type tun | wc -l)"
