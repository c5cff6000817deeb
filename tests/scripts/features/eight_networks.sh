#!/bin/bash
# tests/scripts/features/eight_networks.sh: eight networks at once: concurrent bring-up, firewall exactly once, isolation, concurrent teardown.
# (run by tests/features.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/upstream.sh
source "$TESTS/lib/upstream.sh"
# shellcheck source=tests/lib/guest.sh
source "$TESTS/lib/guest.sh"
# about the iptables backend's chains and their repair: forced (the
# nftables backend's are in tests/scripts/host_firewalls/)
use_backend iptables
dump_on_failure ""
upstream_setup
guest_overlay_build
recorder upstream 7000
# some rules of the host's own, which must come through untouched
iptables -A INPUT -s 192.0.2.99 -j DROP
iptables -t nat -A POSTROUTING -s 192.0.2.0/24 -j RETURN
ip6tables -A INPUT -s 2001:db8::99 -j DROP
ip6tables -t nat -A POSTROUTING -s 2001:db8::/64 -j RETURN
fw0=$({ iptables-save; ip6tables-save; } | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//')
for n in 1 2 3 4 5 6 7 8; do
  define_net_toml "vn$n" <<EOF
mode = "nat"
address = "10.210.$n.1/24"
idle-timeout = "2s"
[[host]]
mac = "52:54:00:00:10:0$n"
ip = "10.210.$n.10"
EOF
done
# 8 helper calls at once, as QEMU would make them; each keeps its tap
t0=$EPOCHREALTIME
for n in 1 2 3 4 5 6 7 8; do
  # (python directly, not the call_helper function: $! must be the holder)
  /usr/bin/python3 "$TESTS/tools/fake_qemu.py" --hold 600 "$VH" "vn$n" > "$WORK/call.$n" 2>&1 &
  holders="${holders:-} $!"
done
for n in 1 2 3 4 5 6 7 8; do
  for i in $(seq 600); do grep -q '^RC=' "$WORK/call.$n" && break; sleep 0.1; done
done
echo "CALLS_SECONDS=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')"
ok=0
for n in 1 2 3 4 5 6 7 8; do
  if grep -qx 'RC=0' "$WORK/call.$n" && grep -qx 'GOT_FD=yes' "$WORK/call.$n"; then ok=$((ok + 1)); else
    echo "--- call $n ---" >&2; cat "$WORK/call.$n" >&2
  fi
done
echo "CALLS_OK=$ok"
nb=0; na=0
for n in 1 2 3 4 5 6 7 8; do
  bridge_exists "vn$n" && nb=$((nb + 1))
  [ "$(ip -4 -o addr show dev "vn$n" 2>/dev/null | awk '{ print $4 }')" = "10.210.$n.1/24" ] && na=$((na + 1))
done
echo "BRIDGES=$nb"
echo "ADDRESSED=$na"
echo "DNSMASQS=$(our_dnsmasqs | wc -w)"
# the firewall: each network's chains declared once, each jump to them once,
# the shared chains once, no rule line twice
save=$(iptables-save)
good=0
for n in 1 2 3 4 5 6 7 8; do
  decl=$(grep -E "^:VNET-vn$n-" <<<"$save" | sort)
  jumps=$(grep -E -- "-j VNET-vn$n-[A-Z]+$" <<<"$save" | grep -v "^-A VNET-vn$n-" | sort)
  if [ "$(wc -l <<<"$decl")" = 6 ] && [ -z "$(uniq -d <<<"$decl")" ] \
     && [ "$(wc -l <<<"$jumps")" = 6 ] && [ -z "$(uniq -d <<<"$jumps")" ]; then
    good=$((good + 1))
  else
    { echo "--- vn$n: declarations"; echo "$decl"; echo "--- vn$n: jumps"; echo "$jumps"; } >&2
  fi
done
echo "CHAINS_ONCE=$good"
echo "SHARED_DECL=$(grep -cE '^:VNET-FW[XIO] ' <<<"$save")"
echo "SHARED_JUMPS=$(grep -cE -- '^-A FORWARD -j VNET-FW[XIO]$' <<<"$save")"
echo "DUP_RULES=$(grep -E '^-[AI] ' <<<"$save" | sort | uniq -d | wc -l)"

# two guests, on vn1 and vn2
guest_script "$WORK/g.sh" <<'EOF'
lease
listen9000
echo G-READY
wait_go 150
peer=$(cat /tmp/go); peer=${peer#go }
echo "PEER-TCP=[$(try_tcp "$peer" 9000)]"
echo "UP-TCP=[$(try_tcp 198.51.100.1 7000)]"
echo G-DONE
wait_go 150
EOF
export GUEST_OVERLAY=$GUEST_EXTRAS
nic vn1 52:54:00:00:10:01
guest_start G1 "$WORK/g.sh" "${NIC[@]}"
nic vn2 52:54:00:00:10:02
guest_start G2 "$WORK/g.sh" "${NIC[@]}"
guest_wait_marker G1 '^G-READY' 150
guest_wait_marker G2 '^G-READY' 150
echo "G1_IP=$(gval G1 GUEST-IP | cut -d' ' -f1)"
echo "G2_IP=$(gval G2 GUEST-IP | cut -d' ' -f1)"
connect_ok - 10.210.1.10 9000 && echo CONTROL_G1=yes || echo CONTROL_G1=no
connect_ok - 10.210.2.10 9000 && echo CONTROL_G2=yes || echo CONTROL_G2=no
tell_guest 10.210.1.10 "go 10.210.2.10"
tell_guest 10.210.2.10 "go 10.210.1.10"
guest_wait_marker G1 '^G-DONE' 60
guest_wait_marker G2 '^G-DONE' 60
for g in G1 G2; do
  echo "${g}_PEER_TCP=$(gval $g PEER-TCP)"
  echo "${g}_UP_TCP=$(gval $g UP-TCP)"
done
tell_guest 10.210.1.10 bye
tell_guest 10.210.2.10 bye
guest_wait G1
guest_wait G2
# all 8 networks lose their last tap at once: 8 teardowns side by side
# shellcheck disable=SC2086 # one word per pid
kill $holders
gone=no
for i in $(seq 400); do
  left=0
  for n in 1 2 3 4 5 6 7 8; do ip link show "vn$n" >/dev/null 2>&1 && left=$((left + 1)); done
  [ $left = 0 ] && [ -z "$(our_dnsmasqs)" ] && { gone=yes; break; }
  sleep 0.1
done
echo "TEARDOWN_ALL_GONE=$gone"
sleep 1
fw1=$({ iptables-save; ip6tables-save; } | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//')
if [ "$fw0" = "$fw1" ]; then echo TEARDOWN_FW=same; else echo TEARDOWN_FW=differs; diff <(echo "$fw0") <(echo "$fw1") >&2 || true; fi
