# tests/features_lib.sh: shell functions for tests/features_e2e.rs (issue 5:
# forwards, static hosts, isolated/routed/bridged modes, IPv6, many networks).
# Sourced by the sandboxed scripts after tests/lib.sh and tests/guest/lib.sh.
# Everything here acts on the sandbox's own namespaces (tests/sandbox.sh) and on
# namespaces created inside it (`upstream`, `lan`): never on the real host.
#
# Conventions: KEY=VALUE lines on stdout are for the Rust side; diagnostics go
# to stderr; nothing waits without a bound.

FT_NETS=/etc/vnet-helper/networks
FT_OVERLAY=$WORK/overlay

# ---------------------------------------------------------------------------
# Definitions.

# define NAME < TOML: a root-owned 0644 definition, and `allow NAME` in
# bridge.conf (once).
define() {
  mkdir -p "$FT_NETS"; chmod 0755 "$FT_NETS"
  cat > "$FT_NETS/$1.toml"
  chown root:root "$FT_NETS/$1.toml"; chmod 0644 "$FT_NETS/$1.toml"
  grep -qx "allow $1" /etc/qemu/bridge.conf 2>/dev/null || echo "allow $1" >> /etc/qemu/bridge.conf
  chmod 0644 /etc/qemu/bridge.conf
}

# netdev BRIDGE MAC: QEMU options for one virtio NIC on BRIDGE through $VH
netdev() { echo "-netdev bridge,id=n0,br=$1,helper=$VH -device virtio-net-pci,netdev=n0,mac=$2"; }

# ---------------------------------------------------------------------------
# Topology.

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
  local i
  for i in $(seq 100); do [ -e "$WORK/rec.$port.ready" ] && return 0; sleep 0.05; done
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

# tell_guest IP MSG: deliver MSG to the guest's `nc -l -p 7777` (wait_go),
# retrying for up to ~30 s until its listener is up; 0 if delivered, else 1
tell_guest() {
  local i
  for i in $(seq 60); do
    if timeout 3 bash -c "echo '$2' > /dev/tcp/$1/7777" 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  echo "tell_guest $1: could not connect" >&2
  return 1
}

# connect_ok NETNS|- HOST PORT: a TCP connection to a guest listener that
# answers LISTENER-OK (see GUEST_LIB below) works: 0|1
connect_ok() {
  ns_run "$1" timeout 5 bash -c "exec 3<>/dev/tcp/$2/$3; cat <&3" 2>/dev/null | grep -q LISTENER-OK
}

# ---------------------------------------------------------------------------
# The guest's extras, in $FT_OVERLAY (GUEST_OVERLAY): a static UDP recorder
# (busybox nc here has no -u), a static DHCPv6 client (no udhcpc6 either) and
# a listener script.

overlay_build() {
  [ -x "$FT_OVERLAY/bin/dhcp6c" ] && return 0
  mkdir -p "$FT_OVERLAY/bin" "$WORK/build"
  cat > "$WORK/build/udprecv.c" <<'C'
/* udprecv PORT: print every datagram as "UDP-RECV from=IP:PORT data=..." and
 * echo it back as "UDP-ECHO ..." */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
    if (argc != 2) return 2;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(argv[1]));
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0) { perror("udprecv"); return 1; }
    printf("UDP-LISTENING %s\n", argv[1]);
    fflush(stdout);
    for (;;) {
        char buf[512], out[640];
        struct sockaddr_in p;
        socklen_t l = sizeof p;
        ssize_t n = recvfrom(s, buf, sizeof buf - 1, 0, (struct sockaddr *)&p, &l);
        if (n < 0) continue;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) n--;
        buf[n] = 0;
        printf("UDP-RECV from=%s:%d data=%s\n", inet_ntoa(p.sin_addr), ntohs(p.sin_port), buf);
        fflush(stdout);
        int m = snprintf(out, sizeof out, "UDP-ECHO %s\n", buf);
        sendto(s, out, (size_t)m, 0, (struct sockaddr *)&p, l);
    }
}
C
  gcc -static -O2 -o "$FT_OVERLAY/bin/udprecv" "$WORK/build/udprecv.c"
  strip "$FT_OVERLAY/bin/udprecv" 2>/dev/null || true
  cat > "$WORK/build/dhcp6c.c" <<'C'
/* dhcp6c IFNAME MAC: a minimal DHCPv6 client (busybox here has no udhcpc6):
 * Solicit -> Advertise -> Request -> Reply for one IA_NA; prints the address
 * and exits 0, or exits 1 after ~30 s. */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
static int put_opt(unsigned char *p, int code, const void *data, int len) {
    p[0] = code >> 8; p[1] = code; p[2] = len >> 8; p[3] = len;
    memcpy(p + 4, data, len);
    return 4 + len;
}
static const unsigned char *find_opt(const unsigned char *p, int len, int code, int *olen) {
    while (len >= 4) {
        int c = (p[0] << 8) | p[1], l = (p[2] << 8) | p[3];
        if (l + 4 > len) return NULL;
        if (c == code) { *olen = l; return p + 4; }
        p += 4 + l; len -= 4 + l;
    }
    return NULL;
}
int main(int argc, char **argv) {
    unsigned m6[6];
    unsigned char duid[10] = {0, 3, 0, 1};
    if (argc != 3 || sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &m6[0], &m6[1], &m6[2], &m6[3], &m6[4], &m6[5]) != 6) return 2;
    for (int i = 0; i < 6; i++) duid[4 + i] = (unsigned char)m6[i];
    unsigned ifindex = if_nametoindex(argv[1]);
    int s = socket(AF_INET6, SOCK_DGRAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, argv[1], strlen(argv[1]) + 1);
    setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof ifindex);
    struct sockaddr_in6 me, srv;
    memset(&me, 0, sizeof me); me.sin6_family = AF_INET6; me.sin6_port = htons(546);
    if (bind(s, (struct sockaddr *)&me, sizeof me) != 0) { perror("dhcp6c: bind"); return 1; }
    struct timeval tv = {1, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    memset(&srv, 0, sizeof srv); srv.sin6_family = AF_INET6; srv.sin6_port = htons(547);
    inet_pton(AF_INET6, "ff02::1:2", &srv.sin6_addr); srv.sin6_scope_id = ifindex;
    unsigned char ia0[12] = {0, 0, 0, 1}, server[128], ia[512];
    int serverlen = 0, ialen = 0, state = 0;
    for (int tries = 0; tries < 30; tries++) {
        unsigned char m[700], xid[3] = {(unsigned char)tries, 0x42, 0x17}, et[2] = {0, 0};
        int n = 4;
        m[0] = state == 0 ? 1 : 3; memcpy(m + 1, xid, 3);
        n += put_opt(m + n, 1, duid, 10);
        if (state == 1) { n += put_opt(m + n, 2, server, serverlen); n += put_opt(m + n, 3, ia, ialen); }
        else n += put_opt(m + n, 3, ia0, 12);
        n += put_opt(m + n, 8, et, 2);
        if (sendto(s, m, n, 0, (struct sockaddr *)&srv, sizeof srv) < 0) { perror("dhcp6c: sendto"); sleep(1); continue; }
        for (;;) {
            unsigned char r[1500];
            const unsigned char *o;
            int ol;
            ssize_t k = recv(s, r, sizeof r, 0);
            if (k < 0) break;
            if (k < 4 || memcmp(r + 1, xid, 3) != 0) continue;
            if (state == 0 && r[0] == 2) {
                o = find_opt(r + 4, k - 4, 2, &ol);
                if (!o || ol > (int)sizeof server) continue;
                memcpy(server, o, ol); serverlen = ol;
                o = find_opt(r + 4, k - 4, 3, &ol);
                if (!o || ol > (int)sizeof ia) continue;
                memcpy(ia, o, ol); ialen = ol; state = 1;
                break;
            }
            if (state == 1 && r[0] == 7) {
                int al;
                const unsigned char *a;
                o = find_opt(r + 4, k - 4, 3, &ol);
                if (!o || ol < 12) continue;
                a = find_opt(o + 12, ol - 12, 5, &al);
                if (!a || al < 24) { fprintf(stderr, "dhcp6c: reply without an address\n"); continue; }
                char buf[64];
                inet_ntop(AF_INET6, a, buf, sizeof buf);
                printf("%s\n", buf);
                return 0;
            }
        }
    }
    return 1;
}
C
  gcc -static -O2 -o "$FT_OVERLAY/bin/dhcp6c" "$WORK/build/dhcp6c.c"
  strip "$FT_OVERLAY/bin/dhcp6c" 2>/dev/null || true
  printf '#!/bin/sh\necho LISTENER-OK\n' > "$FT_OVERLAY/bin/listener-ok"
  chmod 0755 "$FT_OVERLAY/bin/"*
  chmod -R a+rX "$FT_OVERLAY"
}

# Shell functions for the guests' scripts (prepend with `guest_script`).
GUEST_LIB='
lease() {  # DHCPv4 with the default script; sources /tmp/dhcp.env
  udhcpc -i eth0 -q -n -t 15 -T 2 -s /usr/share/udhcpc/default.script 2>&1 || { echo "LEASE-FAILED"; return 1; }
  . /tmp/dhcp.env
  echo "GUEST-IP=$DHCP_IP ROUTER=$DHCP_ROUTER"
}
wait_go() {  # block (bounded) until the host says something on tcp/7777
  timeout "${1:-150}" nc -l -p 7777 > /tmp/go 2>/dev/null || true
  echo "GOT-GO=$(cat /tmp/go)"
}
listen9000() {  # a persistent TCP listener answering LISTENER-OK
  nc -ll -p 9000 -e /bin/listener-ok >/dev/null 2>&1 &
}
try_tcp() {  # try_tcp IP PORT: print what a 2 s connection gets (or nothing)
  echo | timeout 4 nc -w 2 "$1" "$2" 2>/dev/null || true
}
'

# guest_script FILE < BODY: GUEST_LIB followed by BODY, as FILE
guest_script() { { printf '%s\n' "$GUEST_LIB"; cat; } > "$1"; }

# ---------------------------------------------------------------------------
# State.

# bridge_exists NAME / master_of IF
bridge_exists() { [ -d "/sys/class/net/$1/bridge" ]; }
master_of() { basename "$(readlink "/sys/class/net/$1/master" 2>/dev/null)" 2>/dev/null || true; }

# our_dnsmasqs: pids of dnsmasq processes started by vnet-helper (their argv
# has --conf-file=/run/vnet-helper/networks/...)
our_dnsmasqs() {
  local p
  for p in /proc/[0-9]*; do
    tr '\0' '\n' < "$p/cmdline" 2>/dev/null | grep -q '^--conf-file=/run/vnet-helper/' && echo "${p#/proc/}"
  done | tr '\n' ' ' | sed 's/ $//'
}

# vnet_lines NAME: lines of iptables-save + ip6tables-save that mention NAME's chains
vnet_lines() { { iptables-save; ip6tables-save; } 2>/dev/null | grep -c -- "VNET-$1-" || true; }

dump_state() {
  {
    echo "===== sandbox state ====="
    ip -br link 2>&1; ip -br addr 2>&1; ip route 2>&1; ip -6 route 2>&1
    ps -eo pid,ppid,user,args 2>&1
    iptables-save 2>&1; ip6tables-save 2>&1
    ls -laR /run/vnet-helper 2>&1 | head -80
    echo "===== end of state ====="
  } >&2
}

# gval NAME KEY: the value of the first "KEY=VALUE" line of guest NAME's
# serial log (carriage returns stripped, one pair of [brackets] removed)
gval() {
  tr -d '\r' < "$(guest_log "$1")" | sed -n "s/^$2=//p" | head -1 | sed 's/^\[\(.*\)\]$/\1/'
}
