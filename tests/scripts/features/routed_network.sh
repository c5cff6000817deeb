#!/bin/bash
# tests/scripts/features/routed_network.sh: a routed network next to nat and isolated networks.
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
ip -n upstream route add 10.201.0.0/24 via 198.51.100.2
recorder upstream 7000
define_net_toml rt <<'EOF'
mode = "routed"
address = "10.201.0.1/24"
EOF
define_net_toml natc <<'EOF'
mode = "nat"
address = "10.204.0.1/24"
[[host]]
mac = "52:54:00:00:05:10"
ip = "10.204.0.10"
EOF
# an isolated network too, with a stand-in guest: a netns on a veth port of
# its bridge (the bridge is made by a helper call that keeps its tap)
define_net_toml isoc <<'EOF'
mode = "isolated"
address = "10.206.0.1/24"
EOF
call_helper --hold 600 "$VH" isoc > "$WORK/isoc.call" 2>&1 &
for i in $(seq 300); do grep -q '^RC=' "$WORK/isoc.call" && break; sleep 0.1; done
grep -qx RC=0 "$WORK/isoc.call" || { cat "$WORK/isoc.call" >&2; exit 1; }
ip netns add fg
ip link add vfg type veth peer name eth0 netns fg
ip link set vfg master isoc
ip link set vfg up
ip -n fg link set lo up
ip -n fg addr add 10.206.0.50/24 dev eth0
ip -n fg link set eth0 up
ip -n fg route add default via 10.206.0.1
guest_script "$WORK/r.sh" <<'EOF'
lease
listen9000
/bin/udprecv 9001 &
echo "UP-TCP=[$(try_tcp 198.51.100.1 7000)]"
echo R-READY
wait_go 150
echo "PEER-TCP=[$(try_tcp 10.204.0.10 9000)]"
echo R-DONE
wait_go 150
EOF
guest_script "$WORK/n.sh" <<'EOF'
lease
listen9000
echo N-READY
wait_go 150
r=$(cat /tmp/go)
echo "PEER-TCP=[$(try_tcp "${r#go }" 9000)]"
echo N-DONE
wait_go 150
EOF
export GUEST_OVERLAY=$GUEST_EXTRAS
nic rt 52:54:00:00:04:21
guest_start R "$WORK/r.sh" "${NIC[@]}"
nic natc 52:54:00:00:05:10
guest_start N "$WORK/n.sh" "${NIC[@]}"
guest_wait_marker R '^R-READY' 150
guest_wait_marker N '^N-READY' 150
rip=$(gval R GUEST-IP | cut -d' ' -f1)
echo "R_IP=$rip"
echo "R_UP_TCP=$(gval R UP-TCP)"
echo "UPSTREAM_SAW=$(sort -u "$WORK/rec.7000" | tr '\n' ' ' | sed 's/ $//')"
# routed: the upstream reaches the guest at its own address
connect_ok upstream "$rip" 9000 && echo UPSTREAM_TO_GUEST=yes || echo UPSTREAM_TO_GUEST=no
connect_ok - 10.204.0.10 9000 && echo CONTROL_N=yes || echo CONTROL_N=no
# datagrams to the routed guest: from the isolated network's stand-in guest
# (must not arrive), then from upstream (must: routed lets it in)
for i in 1 2 3; do ip netns exec fg bash -c "echo from-isolated > /dev/udp/$rip/9001" 2>/dev/null || true; done
echo "UPSTREAM_UDP_TO_GUEST=$(udp_ping upstream "$rip" 9001 from-upstream)"
sleep 0.5
tr -d '\r' < "$(guest_log R)" | grep -q 'data=from-isolated' && echo ISOLATED_UDP_TO_GUEST=arrived || echo ISOLATED_UDP_TO_GUEST=none
tell_guest "$rip" go
tell_guest 10.204.0.10 "go $rip"
guest_wait_marker R '^R-DONE' 60
guest_wait_marker N '^N-DONE' 60
echo "R_PEER_TCP=$(gval R PEER-TCP)"
echo "N_PEER_TCP=$(gval N PEER-TCP)"
tell_guest "$rip" bye
tell_guest 10.204.0.10 bye
guest_wait R
guest_wait N
