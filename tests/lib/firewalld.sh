# shellcheck shell=bash
# tests/lib/firewalld.sh: a real firewalld with its own system D-Bus, inside
# the test's sandbox (tests/sandbox.sh: /run and /etc are already private).
# /var/log gets a tmpfs; /etc/firewalld is the sandbox's overlay of the
# host's, so zones written there never reach the host.
#
#   firewalld_start        start dbus-daemon --system and firewalld; wait
#                          until firewalld owns org.fedoraproject.FirewallD1
#   firewalld_stop         stop firewalld (it cleans up its rules)
#   firewalld_restart      stop, then start again
#   firewalld_zone_install copy packaging/firewalld/ into /etc/firewalld/
#   fw_cmd ARGS...         firewall-cmd with a bound

# _firewalld_bus_up: start the sandbox's system bus once
_firewalld_bus_up() {
  [ -S /run/dbus/system_bus_socket ] && return 0
  mkdir -p /run/dbus /var/lib/dbus
  if ! mountpoint -q /var/log; then mount -t tmpfs -o mode=0755 varlog /var/log; fi
  [ -s /var/lib/dbus/machine-id ] || dbus-uuidgen > /var/lib/dbus/machine-id
  dbus-daemon --system --fork --nopidfile 2>"$WORK/dbus.err" \
    || { cat "$WORK/dbus.err" >&2; return 1; }
  wait_for 5 test -S /run/dbus/system_bus_socket
}

# firewalld_owner: the unique bus name owning org.fedoraproject.FirewallD1 (empty if none)
firewalld_owner() {
  dbus-send --system --print-reply --dest=org.freedesktop.DBus / \
    org.freedesktop.DBus.GetNameOwner string:org.fedoraproject.FirewallD1 2>/dev/null \
    | sed -n 's/^ *string "\(.*\)"$/\1/p'
}

# firewalld_running: firewalld owns its name and has finished starting
firewalld_running() {
  [ -n "$(firewalld_owner)" ] && [ "$(fw_cmd --state 2>/dev/null)" = running ]
}

firewalld_start() {
  _firewalld_bus_up || return 1
  firewalld --nofork --nopid >>"$WORK/firewalld.out" 2>&1 &
  FIREWALLD_PID=$!
  wait_for 30 firewalld_running || { cat "$WORK/firewalld.out" /var/log/firewalld >&2 2>/dev/null; return 1; }
}

firewalld_stop() {
  [ -n "${FIREWALLD_PID:-}" ] || return 0
  kill "$FIREWALLD_PID" 2>/dev/null || true
  wait_for 20 bash -c "! kill -0 $FIREWALLD_PID 2>/dev/null" || kill -9 "$FIREWALLD_PID" 2>/dev/null || true
  wait "$FIREWALLD_PID" 2>/dev/null || true
  FIREWALLD_PID=
}

firewalld_restart() { firewalld_stop; firewalld_start; }

# fw_cmd ARGS...: firewall-cmd, bounded
fw_cmd() { timeout 30 firewall-cmd "$@"; }

# firewalld_zone_install: what install.sh installs for firewalld
firewalld_zone_install() {
  local f
  for f in "$REPO"/packaging/firewalld/zones/*.xml "$REPO"/packaging/firewalld/policies/*.xml; do
    install -D -m 0644 "$f" "/etc/firewalld/${f#"$REPO/packaging/firewalld/"}"
  done
}

# firewalld_zone_of IFACE: the zone firewalld has IFACE in at runtime ("" for none)
firewalld_zone_of() { fw_cmd --get-zone-of-interface="$1" 2>/dev/null || true; }

# zone_is IFACE ZONE: IFACE is in ZONE (firewalld's word; ~0.4 s a call)
zone_is() { [ "$(firewalld_zone_of "$1")" = "$2" ]; }

# zone_in_ruleset IFACE ZONE: firewalld's nftables table sends IFACE's input
# to ZONE (what a binding does; fast enough to time a heal with)
zone_in_ruleset() {
  nft list chain inet firewalld filter_INPUT_ZONES 2>/dev/null | grep -qF "iifname \"$1\" goto filter_IN_$2"
}

# ---------------------------------------------------------------------------
# A veth guest and what it can reach (numeric addresses only).

# (veth_guest: tests/lib/net.sh)

# guest_lease NETNS: one DHCP exchange from NETNS (address not configured): 0|1
guest_lease() { ip netns exec "$1" busybox udhcpc -i eth0 -n -q -t 3 -T 1 -s /bin/true >/dev/null 2>&1; }

# dns_answers NETNS SERVER NAME: an A query for NAME from NETNS to
# SERVER:53/udp gets an answer with at least one record: 0|1
dns_answers() {
  ip netns exec "$1" timeout 10 /usr/bin/python3 - "$2" "$3" <<'PY'
import socket, sys
name = b"".join(bytes([len(p)]) + p for p in sys.argv[2].encode().split(b"."))
q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + name + b"\x00\x00\x01\x00\x01"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
for _ in range(3):
    try:
        s.sendto(q, (sys.argv[1], 53))
        d, _ = s.recvfrom(512)
        sys.exit(0 if d[:2] == b"\x12\x34" and d[6:8] != b"\x00\x00" else 1)
    except (socket.timeout, ConnectionRefusedError):
        pass
sys.exit(1)
PY
}

# tcp_reaches NETNS|- ADDR PORT: a TCP connection from NETNS (-: the host)
# to ADDR:PORT is accepted within 2 s: 0|1
tcp_reaches() {
  ns_run "$1" timeout 5 /usr/bin/python3 -c '
import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()' "$2" "$3" 2>/dev/null
}

# echo_server NETNS ADDR PORT: a TCP echo server in NETNS (background)
echo_server() {
  ip netns exec "$1" /usr/bin/python3 - "$2" "$3" "$WORK/echo.$3.ready" <<'PY' &
import socket, sys, threading
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
open(sys.argv[3], "w").close()
def serve(c):
    with c:
        while True:
            d = c.recv(4096)
            if not d:
                return
            c.sendall(d)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
  wait_for 10 test -e "$WORK/echo.$3.ready"
}

# long_connection NETNS ADDR PORT SECONDS OUT: from NETNS, one TCP connection
# to an echo server, a line every 100 ms for SECONDS; writes to OUT
# CONN_OK=yes|no (every line echoed on the same connection) and
# CONN_MAX_GAP=<longest wait for an echo, s>. Background; wait for OUT to
# appear.
long_connection() {
  ip netns exec "$1" /usr/bin/python3 - "$2" "$3" "$4" "$5" 2>&1 <<'PY' &
import os, socket, sys, time
lines = []
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
end, gap, ok, n = time.time() + float(sys.argv[3]), 0.0, True, 0
while time.time() < end:
    n += 1
    t = time.time()
    try:
        c.sendall(b"%d\n" % n)
        got = b""
        while not got.endswith(b"\n"):
            d = c.recv(100)
            if not d:
                raise OSError("closed")
            got += d
        ok = ok and got == b"%d\n" % n
    except OSError as e:
        lines.append("CONN_ERROR=%s" % e)
        ok = False
        break
    gap = max(gap, time.time() - t)
    time.sleep(0.1)
lines.append("CONN_OK=%s" % ("yes" if ok else "no"))
lines.append("CONN_MAX_GAP=%.2f" % gap)
with open(sys.argv[4] + ".tmp", "w") as f:
    f.write("\n".join(lines) + "\n")
os.rename(sys.argv[4] + ".tmp", sys.argv[4])
PY
}
