#!/bin/sh
# tests/scripts/attach/guest_pings_the_bridge.sh: runs INSIDE the test guest
# (busybox sh -e) for tests/scripts/attach/qemu_guest_on_a_plain_bridge.sh:
# address itself, wait (bounded) for the host's go-ahead on TCP port 7777,
# then require 3 ping replies from the bridge.
ip addr add 10.99.0.2/24 dev eth0
echo GUEST-READY
timeout 90 nc -l -p 7777 > /tmp/host-msg || true
echo "HOST-SAID=$(cat /tmp/host-msg)"
grep -q TAP-SEEN /tmp/host-msg
out=$(ping -c 3 -W 5 10.99.0.1 || true)
echo "$out"
echo "$out" | grep -q '3 packets received'
echo GUEST-PING-OK
