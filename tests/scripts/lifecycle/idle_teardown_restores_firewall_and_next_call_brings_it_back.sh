#!/bin/bash
# tests/scripts/lifecycle/idle_teardown_restores_firewall_and_next_call_brings_it_back.sh: idle teardown restores the firewall byte for byte; the next call brings the network back.
# (run by tests/lifecycle.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
dump_on_failure vn0
define_net vn0 'address = "10.200.0.1/24"' 'idle-timeout = "2s"'
host_firewall
fw_save > "$WORK/fw.base"; nft_save > "$WORK/nft.base"
link_exists vn0 && die "bridge vn0 exists before any call"

attach_bg vn0 "$WORK/a1.out"
VERBOSE_WHOLE=1 net_whole vn0 || die "network not whole while a tap is attached"
echo "DNSMASQ_USER=$(ps -o user= -p "$(pidfile_dnsmasq vn0 || echo 1)" | tr -d ' ')"
echo "TAP_MASTER=$(basename "$(readlink "/sys/class/net/$TAPNAME/master")")"
sleep 1                                   # the guest's life: about 1 s
release "$HOLDER"; t0=$(now)
# still there just after the release: the timeout is 2 s
echo "EARLY_BRIDGE=$(yes_no bridge_exists vn0)"
gone_and_clean() { net_gone vn0 && fw_same "$WORK/fw.base"; }
if wait_for 7 gone_and_clean; then echo "GONE_AFTER=$(since "$t0")"; else
  echo "GONE_AFTER=timeout"; VERBOSE_GONE=1 net_gone vn0 || true
fi
report_fw_same FW_SAME "$WORK/fw.base"
report_nft_same NFT_SAME "$WORK/nft.base"
echo "LEASE_DIR=$([ -d "$(lib_dir vn0)" ] && echo kept || echo gone)"
echo "LEASE_FILE=$([ -f "$(lease_file vn0)" ] && echo kept || echo gone)"
echo "IP_FORWARD=$(cat /proc/sys/net/ipv4/ip_forward)"
echo "TAPS_LEFT=$(ip -o link show type tun | wc -l)"

# the next call brings it back
attach_bg vn0 "$WORK/a2.out"
echo "RC2=$(sed -n 's/^RC=//p' "$WORK/a2.out")"
echo "WHOLE2=$(VERBOSE_WHOLE=1 net_whole vn0 && echo yes)"
echo "TAP2_MASTER=$(basename "$(readlink "/sys/class/net/$TAPNAME/master")")"
release "$HOLDER"; t0=$(now)
if wait_for 7 gone_and_clean; then echo "GONE2_AFTER=$(since "$t0")"; else
  echo "GONE2_AFTER=timeout"; VERBOSE_GONE=1 net_gone vn0 || true
fi
report_fw_same FW2_SAME "$WORK/fw.base"
report_nft_same NFT2_SAME "$WORK/nft.base"
