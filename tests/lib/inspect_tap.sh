# shellcheck shell=bash
# tests/lib/inspect_tap.sh: run by fake_qemu.py while it holds a tap fd
# (--hold-cmd "$INSPECT", see tests/lib/attach.sh); TAP names the tap.
s=/sys/class/net/$TAP
echo "MASTER=$(basename "$(readlink "$s/master" || echo none)")"
echo "MTU=$(cat "$s/mtu")"
echo "MAC=$(cat "$s/address")"
echo "UP=$(( $(cat "$s/flags") & 1 ))"
echo "HOST_IPV6_OFF=$(cat "/proc/sys/net/ipv6/conf/$TAP/disable_ipv6")"
echo "TUNS=$(ip -o link show type tun | wc -l)"
echo "RX=$(cat "$s/statistics/rx_packets")"
