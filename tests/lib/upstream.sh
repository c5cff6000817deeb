# shellcheck shell=bash
# tests/lib/upstream.sh: "the outside world" of the sandboxed host: a network
# namespace `upstream` behind a veth, servers that record who connected, and
# clients run in a namespace. Source after tests/lib/common.sh. Everything is
# made inside the sandbox (tests/sandbox.sh) and dies with it.
#
#   guests --tap-- [bridge] host [uplink0 198.51.100.2/24, 2001:db8:1::2/64]
#                                     | veth
#                   netns upstream [eth0 198.51.100.1/24, 2001:db8:1::1/64]
#
# The host's default route goes via the upstream, which has no route back to
# the guests' subnets: a guest can only talk to it through masquerade.

# upstream_setup: netns `upstream` behind veth uplink0 (host 198.51.100.2/24,
# 2001:db8:1::2/64) <-> eth0 (upstream 198.51.100.1/24, 2001:db8:1::1/64);
# the host's default routes (v4 and v6) go through the upstream.
upstream_setup() {
  ip netns add upstream
  ip link add uplink0 type veth peer name eth0 netns upstream
  ip -n upstream link set lo up
  ip -n upstream addr add 198.51.100.1/24 dev eth0
  ip -n upstream -6 addr add 2001:db8:1::1/64 dev eth0 nodad
  ip -n upstream link set eth0 up
  ip addr add 198.51.100.2/24 dev uplink0
  ip -6 addr add 2001:db8:1::2/64 dev uplink0 nodad
  ip link set uplink0 up
  ip route add default via 198.51.100.1 dev uplink0
  ip -6 route add default via 2001:db8:1::1 dev uplink0
}

# Files of the peer servers of upstream_with_peer_servers: one
# "PEER=<client ip>" line per connection.
UPSTREAM_PEERS="$WORK/peers-upstream"
HOST_PEERS="$WORK/peers-host"

# peer_server [NETNS] ADDR PORT LOGFILE REPLY: tests/tools/peer_server.py in
# the background (in NETNS if given); waits until it listens.
peer_server() {
  local in_ns=()
  if [ $# = 5 ]; then in_ns=(ip netns exec "$1"); shift; fi
  rm -f "$3.ready"
  "${in_ns[@]}" /usr/bin/python3 "$TESTS/tools/peer_server.py" "$@" >"$3.out" 2>&1 &
  wait_for 10 test -e "$3.ready" || { cat "$3.out" >&2; echo "peer_server $*: not listening" >&2; return 1; }
}

# upstream_with_peer_servers: an IPv4-only upstream netns behind uplink0, the
# default route through it, two servers: upstream 198.51.100.1:7000 replies
# "hello-upstream" (peers in $UPSTREAM_PEERS), the host's own
# 198.51.100.2:7001 replies "hello-host" (peers in $HOST_PEERS); and a
# resolv.conf that points only inside the sandbox (it is dnsmasq's upstream:
# no query may leave the namespaces this test made).
upstream_with_peer_servers() {
  ip netns add upstream
  ip -n upstream link set lo up
  ip link add uplink0 type veth peer name eth0 netns upstream
  ip addr add 198.51.100.2/24 dev uplink0
  ip link set uplink0 up
  ip -n upstream addr add 198.51.100.1/24 dev eth0
  ip -n upstream link set eth0 up
  ip route add default via 198.51.100.1 dev uplink0
  rm -f /etc/resolv.conf
  echo "nameserver 198.51.100.1" > /etc/resolv.conf
  peer_server upstream 198.51.100.1 7000 "$UPSTREAM_PEERS" hello-upstream
  peer_server 198.51.100.2 7001 "$HOST_PEERS" hello-host
}

# recorder NETNS PORT: a TCP server (IPv4 and IPv6) in NETNS ("-" = the host)
# that appends each peer's address to $WORK/rec.PORT and answers
# "UPSTREAM-SAW <peer>". Waits (bounded) until it listens.
recorder() {
  local ns=$1 port=$2
  : > "$WORK/rec.$port"; chmod 0666 "$WORK/rec.$port"
  ns_run "$ns" /usr/bin/python3 - "$port" "$WORK/rec.$port" "$WORK/rec.$port.ready" <<'PY' &
import socket, sys
port, log, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", port))
s.listen(64)
open(ready, "w").close()
while True:
    c, a = s.accept()
    ip = a[0][7:] if a[0].startswith("::ffff:") else a[0]
    with open(log, "a") as f:
        f.write(ip + "\n")
    try:
        c.sendall(("UPSTREAM-SAW " + ip + "\n").encode())
    except OSError:
        pass
    c.close()
PY
  for _ in $(seq 100); do [ -e "$WORK/rec.$port.ready" ] && return 0; sleep 0.05; done
  echo "recorder $ns:$port did not start" >&2; return 1
}

# ns_run NETNS|- CMD...: run CMD in NETNS ("-": on the host itself)
ns_run() {
  local ns=$1; shift
  if [ "$ns" = - ]; then "$@"; else ip netns exec "$ns" "$@"; fi
}

# tcp_get NETNS|- HOST PORT: one HTTP/1.0 GET from NETNS, the whole answer on
# stdout (5 s bound)
tcp_get() {
  local ns=$1; shift
  ns_run "$ns" timeout 5 /usr/bin/python3 - "$1" "$2" <<'PY' 2>&1 || true
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=4)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
out = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    out += d
sys.stdout.write(out.decode(errors="replace"))
PY
}

# udp_ping NETNS|- HOST PORT MSG: send MSG from one socket until an answer
# comes back (10 tries, 1 s each); prints the answer, or nothing
udp_ping() {
  local ns=$1; shift
  ns_run "$ns" timeout 15 /usr/bin/python3 - "$1" "$2" "$3" <<'PY' 2>&1 || true
import socket, sys
host, port, msg = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode() + b"\n"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
for _ in range(10):
    s.sendto(msg, (host, port))
    try:
        d, a = s.recvfrom(2048)
        sys.stdout.write(d.decode(errors="replace").strip() + "\n")
        break
    except socket.timeout:
        pass
PY
}

# connect_ok NETNS|- HOST PORT: a TCP connection to a guest listener that
# answers LISTENER-OK (see GUEST_LIB below) works: 0|1
connect_ok() {
  ns_run "$1" timeout 5 bash -c "exec 3<>/dev/tcp/$2/$3; cat <&3" 2>/dev/null | grep -q LISTENER-OK
}

