#!/bin/bash
# tests/scripts/bringup/colliding_subnet_is_refused_saying_what_collides.sh: subnets that collide with a LAN, a route, another network
# (run by tests/bringup.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
bringup_host
export_functions
# a LAN-like interface with 10.200.0.5/24 and a route to 10.201.0.0/16
ip link add lan0 type veth peer name lan0p
ip addr add 10.200.0.5/24 dev lan0
ip link set lan0 up; ip link set lan0p up
ip route add 10.201.0.0/16 dev lan0
define_net vnet0
define_net vnet1 'address = "10.201.7.1/24"'
define_net vnet2 'address = "10.202.0.1/24"' 'idle-timeout = "never"'
define_net vnet3 'address = "10.202.0.129/25"'
fw_snapshot "$WORK/fw.base"
# (a) the subnet of an address on lan0
call_helper "$VH" vnet0 | sed 's/^/A_/'
nothing vnet0 A_
# (b) inside a route
call_helper "$VH" vnet1 | sed 's/^/B_/'
nothing vnet1 B_
# (c) another managed network that is up
call_helper "$VH" vnet2 | sed 's/^/V2_/'
fw_snapshot "$WORK/fw.base"
net_state vnet2 V2_
call_helper "$VH" vnet3 | sed 's/^/C_/'
nothing vnet3 C_
net_state vnet2 V2AFTER_
dump_state vnet0
