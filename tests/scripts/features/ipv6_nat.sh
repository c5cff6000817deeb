#!/bin/bash
# tests/scripts/features/ipv6_nat.sh: IPv6: DHCPv6, NAT66, an IPv6 forward.
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
recorder upstream 7000
define_net_toml v6net <<'EOF'
mode = "nat"
address = "10.205.0.1/24"
ipv6 = "fd42:1:2:3::1/64"
[[host]]
mac = "52:54:00:00:06:10"
ip = "10.205.0.10"
[[forward]]
proto = "tcp"
port = 8080
to = "[fd42:1:2:3::10]:80"
EOF
guest_script "$WORK/v.sh" <<'EOF'
lease
# the router advertisement's default route (bounded wait)
i=0
while ! ip -6 route show default | grep -q via && [ $i -lt 60 ]; do sleep 0.5; i=$((i+1)); done
echo "V6-ROUTE=[$(ip -6 route show default | head -1)]"
# an address in the prefix: SLAAC, or else DHCPv6
i=0
while ! ip -6 addr show dev eth0 scope global | grep -q 'inet6 fd42:1:2:3:' && [ $i -lt 10 ]; do sleep 0.5; i=$((i+1)); done
if ! ip -6 addr show dev eth0 scope global | grep -q 'inet6 fd42:1:2:3:'; then
  # no SLAAC (a stateful DHCPv6 range): ask DHCPv6 (busybox has no udhcpc6)
  if a6=$(/bin/dhcp6c eth0 "$(cat /sys/class/net/eth0/address)"); then
    ip -6 addr add "$a6/64" dev eth0
    echo "VH-DHCP6: bound ipv6=$a6"
  else
    echo "DHCP6-FAILED"
  fi
fi
i=0
while ! ip -6 addr show dev eth0 scope global | grep -q 'inet6 fd42:1:2:3:' && [ $i -lt 40 ]; do sleep 0.5; i=$((i+1)); done
i=0
while ip -6 addr show dev eth0 | grep -q tentative && [ $i -lt 20 ]; do sleep 0.5; i=$((i+1)); done
ip -6 addr show dev eth0
echo "V6-ADDRS=[$(ip -6 addr show dev eth0 scope global | sed -n 's/.*inet6 \([^/ ]*\).*/\1/p' | tr '\n' ' ')]"
if ping -c 2 -W 3 fd42:1:2:3::1 >/dev/null 2>&1; then echo "V6-GW-PING=yes"; else echo "V6-GW-PING=no"; fi
echo "V6-TCP=[$(try_tcp 2001:db8:1::1 7000)]"
# the IPv6 forward's target: fd42:1:2:3::10, a web server
ip -6 addr add fd42:1:2:3::10/64 dev eth0
mkdir -p /www
echo "VH-KNOWN-STRING-V6" > /www/index.html
httpd -p 80 -h /www
i=0
while ip -6 addr show dev eth0 | grep -q tentative && [ $i -lt 20 ]; do sleep 0.5; i=$((i+1)); done
echo V-READY
wait_go 150
EOF
export GUEST_OVERLAY=$GUEST_EXTRAS
nic v6net 52:54:00:00:06:10
guest_start V "$WORK/v.sh" "${NIC[@]}"
guest_wait_marker V '^V-READY' 150
if tcp_get upstream 2001:db8:1::2 8080 | grep -q VH-KNOWN-STRING-V6; then echo V6_FWD_UPSTREAM=yes; else echo V6_FWD_UPSTREAM=no; fi
if tcp_get - 2001:db8:1::2 8080 | grep -q VH-KNOWN-STRING-V6; then echo V6_FWD_HOST=yes; else echo V6_FWD_HOST=no; fi
tell_guest 10.205.0.10 bye
guest_wait V
log=$(guest_log V)
sed 's/^/guest V: /' "$log" >&2
echo "V6_ROUTE=$(gval V V6-ROUTE)"
echo "V6_ADDRS=$(gval V V6-ADDRS | sed 's/ *$//')"
echo "V6_GW_PING=$(gval V V6-GW-PING)"
echo "V6_TCP=$(gval V V6-TCP)"
grep -q '^VH-DHCP6: bound' "$log" && echo V6_BY=dhcpv6 || echo V6_BY=slaac
echo "UPSTREAM_SAW=$(sort -u "$WORK/rec.7000" | tr '\n' ' ' | sed 's/ $//')"
