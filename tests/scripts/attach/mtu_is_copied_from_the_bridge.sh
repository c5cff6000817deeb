#!/bin/bash
# tests/scripts/attach/mtu_is_copied_from_the_bridge.sh: the tap takes its bridge's MTU
# (run by tests/attach.rs in tests/sandbox.sh; cases print LABEL.KEY=VALUE)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/attach.sh
source "$TESTS/lib/attach.sh"
attach_setup
# br1 takes 1400 from its only port (a veth: this kernel has no dummy);
# br0 is empty and set to 1280 by hand; br2 is a jumbo bridge.
ip link add br1 type bridge; ip link add br2 type bridge
ip link add vp1 mtu 1400 type veth peer name vp1b mtu 1400
ip link set vp1 master br1
ip link add vp2 mtu 9000 type veth peer name vp2b mtu 9000
ip link set vp2 master br2; ip link set br2 mtu 9000
ip link set br0 mtu 1280
for b in br1 br2; do ip link set $b up; done
printf 'allow br0\nallow br1\nallow br2\n' > /etc/qemu/bridge.conf
echo "BRIDGE_MTUS=$(cat /sys/class/net/br0/mtu) $(cat /sys/class/net/br1/mtu) $(cat /sys/class/net/br2/mtu)"
call m0 --hold-cmd "$INSPECT" "$H" br0
call m1 --hold-cmd "$INSPECT" "$H" br1
call m2 --hold-cmd "$INSPECT" "$H" br2
