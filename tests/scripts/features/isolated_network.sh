#!/bin/bash
# tests/scripts/features/isolated_network.sh: an isolated network next to a nat network.
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
# a host service on the uplink address, to see whether isolated guests reach it
recorder - 7100
define_net_toml iso <<'EOF'
mode = "isolated"
address = "10.202.0.1/24"
domain = "iso"
[[host]]
mac = "52:54:00:00:02:10"
ip = "10.202.0.10"
name = "lonely"
EOF
define_net_toml natb <<'EOF'
mode = "nat"
address = "10.203.0.1/24"
[[host]]
mac = "52:54:00:00:03:10"
ip = "10.203.0.10"
EOF
guest_script "$WORK/i.sh" <<'EOF'
lease
echo "ROUTER-OFFERED=[$DHCP_ROUTER]"
listen9000
if ping -c 2 -W 3 10.202.0.1 >/dev/null 2>&1; then echo "GW-PING=yes"; else echo "GW-PING=no"; fi
if nslookup lonely.iso 10.202.0.1 2>&1 | grep -Eq '^Address:?[[:space:]]+10\.202\.0\.10$'; then echo "DNS=yes"; else echo "DNS=no"; fi
echo I-READY
wait_go 150
# whatever DHCP said, route through the gateway: the host's rules are tested
ip route replace default via 10.202.0.1 dev eth0
if ping -c 2 -W 2 198.51.100.1 >/dev/null 2>&1; then echo "UP-PING=yes"; else echo "UP-PING=no"; fi
echo "UP-TCP=[$(try_tcp 198.51.100.1 7000)]"
echo "PEER-TCP=[$(try_tcp 10.203.0.10 9000)]"
echo "HOSTUPLINK-TCP=[$(try_tcp 198.51.100.2 7100)]"
echo I-DONE
wait_go 150
EOF
guest_script "$WORK/n.sh" <<'EOF'
lease
listen9000
echo N-READY
wait_go 150
echo "UP-TCP=[$(try_tcp 198.51.100.1 7000)]"
echo "PEER-TCP=[$(try_tcp 10.202.0.10 9000)]"
echo N-DONE
wait_go 150
EOF
export GUEST_OVERLAY=$GUEST_EXTRAS
nic iso 52:54:00:00:02:10
guest_start I "$WORK/i.sh" "${NIC[@]}"
nic natb 52:54:00:00:03:10
guest_start N "$WORK/n.sh" "${NIC[@]}"
guest_wait_marker I '^I-READY' 150
guest_wait_marker N '^N-READY' 150
for g in I N; do
  echo "${g}_IP=$(gval $g GUEST-IP | cut -d' ' -f1)"
done
echo "I_ROUTER_OFFERED=$(gval I ROUTER-OFFERED)"
echo "I_GW_PING=$(gval I GW-PING)"
echo "I_DNS=$(gval I DNS)"
# positive controls: both listeners answer the host
connect_ok - 10.202.0.10 9000 && echo CONTROL_I=yes || echo CONTROL_I=no
connect_ok - 10.203.0.10 9000 && echo CONTROL_N=yes || echo CONTROL_N=no
tell_guest 10.202.0.10 go
tell_guest 10.203.0.10 go
guest_wait_marker I '^I-DONE' 60
guest_wait_marker N '^N-DONE' 60
echo "I_UP_PING=$(gval I UP-PING)"
echo "I_UP_TCP=$(gval I UP-TCP)"
echo "I_PEER_TCP=$(gval I PEER-TCP)"
echo "I_HOSTUPLINK_TCP=$(gval I HOSTUPLINK-TCP)"
echo "N_UP_TCP=$(gval N UP-TCP)"
echo "N_PEER_TCP=$(gval N PEER-TCP)"
echo "UPSTREAM_SAW=$(sort -u "$WORK/rec.7000" | tr '\n' ' ' | sed 's/ $//')"
tell_guest 10.202.0.10 bye
tell_guest 10.203.0.10 bye
guest_wait I
guest_wait N
