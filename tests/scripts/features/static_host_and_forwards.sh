#!/bin/bash
# tests/scripts/features/static_host_and_forwards.sh: static hosts and port forwards: fixed lease, names, tcp/udp forwards, hairpin, `up` reload.
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
define_net_toml vnet1 <<'EOF'
mode = "nat"
address = "10.200.0.1/24"
domain = "vm"
uplink = "uplink0"

[[host]]
mac = "52:54:00:00:00:10"
ip = "10.200.0.10"
name = "web"

[[forward]]
proto = "tcp"
port = 8080
to = "10.200.0.10:80"

[[forward]]
proto = "udp"
port = 5353
to = "10.200.0.10:5353"

[[forward]]
proto = "tcp"
port = 8081
to = "10.200.0.10:80"
host-address = "198.51.100.2"
EOF

# guest A: the [[host]] MAC; web server and UDP recorder; stays up until told
guest_script "$WORK/a.sh" <<'EOF'
lease
[ "$DHCP_IP" = 10.200.0.10 ] || echo "A-WRONG-IP"
mkdir -p /www
echo "VH-KNOWN-STRING-4711" > /www/index.html
httpd -p 80 -h /www
/bin/udprecv 5353 &
sleep 1
echo A-READY
wait_go 240
EOF
# guest B: dynamic lease; resolves the static name; hairpin through the host
guest_script "$WORK/b.sh" <<'EOF'
lease
for n in web web.vm; do
  out=$(nslookup "$n" 10.200.0.1 2>&1 || true)
  echo "$out" | sed "s/^/NS[$n]: /"
  if echo "$out" | grep -Eq '^Address:?[[:space:]]+10\.200\.0\.10$'; then echo "RESOLVED[$n]=10.200.0.10"; fi
done
ok=no
for i in $(seq 90); do
  out=$(printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 nc 198.51.100.2 8080 2>&1 || true)
  if echo "$out" | grep -q VH-KNOWN-STRING-4711; then ok=yes; break; fi
  sleep 1
done
echo "HAIRPIN=$ok after $i tries"
out=$(printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 nc 10.200.0.1 8080 2>&1 || true)
if echo "$out" | grep -q VH-KNOWN-STRING-4711; then echo "HAIRPIN-GW=yes"; else echo "HAIRPIN-GW=no"; fi
echo "B-DONE"
EOF
export GUEST_OVERLAY=$GUEST_EXTRAS
nic vnet1 52:54:00:00:00:10
guest_start A "$WORK/a.sh" "${NIC[@]}"
nic vnet1 52:54:00:00:00:21
guest_start B "$WORK/b.sh" "${NIC[@]}"
guest_wait_marker A '^(A-READY|A-WRONG-IP)' 150
echo "A_IP=$(gval A GUEST-IP | cut -d' ' -f1)"

# (a) from the upstream host to the host's uplink address
out=$(tcp_get upstream 198.51.100.2 8080)
awk '{ print "upstream-get: " $0 }' <<<"$out" >&2
if grep -q VH-KNOWN-STRING-4711 <<<"$out"; then echo UPSTREAM_GET=yes; else echo UPSTREAM_GET=no; fi
# (b) from the host itself to its own uplink address (OUTPUT DNAT)
out=$(tcp_get - 198.51.100.2 8080)
awk '{ print "host-get: " $0 }' <<<"$out" >&2
if grep -q VH-KNOWN-STRING-4711 <<<"$out"; then echo HOST_GET=yes; else echo HOST_GET=no; fi
# ... and to another of its addresses, the bridge's
if tcp_get - 10.200.0.1 8080 | grep -q VH-KNOWN-STRING-4711; then echo HOST_GET_GW=yes; else echo HOST_GET_GW=no; fi
# a forward restricted to one host address: there, and only there
if tcp_get upstream 198.51.100.2 8081 | grep -q VH-KNOWN-STRING-4711; then echo RESTRICTED_GET=yes; else echo RESTRICTED_GET=no; fi
if tcp_get - 10.200.0.1 8081 | grep -q VH-KNOWN-STRING-4711; then echo RESTRICTED_OTHER=yes; else echo RESTRICTED_OTHER=no; fi
# udp forward from upstream: guest A records the datagram and echoes it
out=$(udp_ping upstream 198.51.100.2 5353 hello-udp-4711)
echo "UDP_ECHO=$out"
if guest_wait_marker A 'UDP-RECV .*data=hello-udp-4711' 10 2>/dev/null; then
  echo UDP_RECORDED=yes
  echo "UDP_FROM=$(tr -d '\r' < "$(guest_log A)" | grep -m1 'UDP-RECV .*data=hello-udp-4711' | sed 's/.*from=\([0-9.]*\):.*/\1/')"
else
  echo UDP_RECORDED=no
fi
# (c) hairpin from guest B
guest_wait_marker B '^B-DONE' 150
echo "B_IP=$(gval B GUEST-IP | cut -d' ' -f1)"
echo "HAIRPIN=$(gval B HAIRPIN | cut -d' ' -f1)"
echo "HAIRPIN_GW=$(gval B HAIRPIN-GW)"
for n in web web.vm; do
  echo "RESOLVED_$n=$(gval B "RESOLVED\\[$n\\]")"
done
guest_wait B

# `vnet-helper up` on the running network: a new [[host]] resolves, dnsmasq
# is the same process (SIGHUP, not a restart) and guest A keeps its tap
dm_before=$(our_dnsmasqs); taps_before=$(bridge_ports vnet1)
cat >> "$(definitions_dir)/vnet1.toml" <<'EOF'

[[host]]
mac = "52:54:00:00:00:11"
ip = "10.200.0.11"
name = "db"
EOF
"$VH" up vnet1 >&2 && echo RELOAD_RC=0 || echo "RELOAD_RC=$?"
ok=no
for i in $(seq 50); do
  if busybox nslookup db.vm 10.200.0.1 2>/dev/null | grep -Eq '^Address:?[[:space:]]+10\.200\.0\.11$'; then ok=yes; break; fi
  sleep 0.1
done
echo "RELOAD_RESOLVES=$ok"
[ "$(our_dnsmasqs)" = "$dm_before" ] && echo DNSMASQ_SAME=yes || echo "DNSMASQ_SAME=no ($dm_before -> $(our_dnsmasqs))"
[ "$(bridge_ports vnet1)" = "$taps_before" ] && echo TAPS_SAME=yes || echo TAPS_SAME=no
if tcp_get upstream 198.51.100.2 8080 | grep -q VH-KNOWN-STRING-4711; then echo GET_AFTER_RELOAD=yes; else echo GET_AFTER_RELOAD=no; fi

tell_guest 10.200.0.10 bye
guest_wait A
guest_expect A '^GOT-GO=bye'
