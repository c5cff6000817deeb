# tests/e2e_lib.sh: the topology and helpers of tests/network_e2e.rs (real
# QEMU guests on a managed NAT network). Sourced by the sandboxed scripts
# (inside tests/sandbox.sh: every netns, link, rule and process made here is
# the sandbox's own and dies with it), after tests/lib.sh.
#
# Topology (e2e_topology):
#
#   guests --tap-- [bridge NET 10.200.0.1/24] host [uplink0 198.51.100.2/24]
#                                                      | veth
#                                    netns upstream [eth0 198.51.100.1/24]
#
# The host's default route goes via 198.51.100.1; upstream has no route back
# to 10.200.0.0/24, so a guest can only talk to it through masquerade.
# Servers (peer_server): upstream 198.51.100.1:7000 replies "hello-upstream",
# the host's own 198.51.100.2:7001 replies "hello-host"; each appends
# "PEER=<client ip>" to $WORK/peers-upstream / $WORK/peers-host.
#
# Conventions: facts go to stdout as KEY=VALUE (the Rust side asserts on
# them); diagnostics to stderr; every wait is bounded.

E2E_NETS=/etc/vnet-helper/networks
E2E_PEER_SERVER="$WORK/peer_server.py"
E2E_UP_PEERS="$WORK/peers-upstream"
E2E_HOST_PEERS="$WORK/peers-host"

# e2e_wait SECONDS CMD...: run CMD every 0.1 s until it succeeds (0) or
# SECONDS have passed (1).
e2e_wait() {
  local limit=$1; shift
  local end; end=$(awk -v t="$EPOCHREALTIME" -v l="$limit" 'BEGIN { printf "%.3f", t + l }')
  while ! "$@"; do
    awk -v t="$EPOCHREALTIME" -v e="$end" 'BEGIN { exit !(t > e) }' && return 1
    sleep 0.1
  done
}

# e2e_elapsed T0: seconds since T0 (an $EPOCHREALTIME), one decimal
e2e_elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------------------
# Topology and servers.

cat > "$E2E_PEER_SERVER" <<'PY'
#!/usr/bin/python3
"""peer_server.py ADDR PORT LOGFILE REPLY: accept TCP connections forever;
for each, append "PEER=<client address>" to LOGFILE (before replying, so a
client that got the reply can rely on the record), send REPLY + newline, then
close after the client does (bounded), so nothing it sent triggers a RST that
could destroy the reply. Touches LOGFILE.ready once listening."""
import socket, sys, threading

addr, port, log, reply = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(16)
open(log, "a").close()
open(log + ".ready", "w").close()

def serve(c, peer):
    try:
        with open(log, "a") as f:
            f.write("PEER=%s\n" % peer[0])
        c.sendall((reply + "\n").encode())
        c.shutdown(socket.SHUT_WR)
        c.settimeout(10)
        while c.recv(4096):
            pass
    except OSError:
        pass
    finally:
        c.close()

while True:
    c, peer = s.accept()
    threading.Thread(target=serve, args=(c, peer), daemon=True).start()
PY
chmod 0755 "$E2E_PEER_SERVER"

# peer_server [NETNS] ADDR PORT LOGFILE REPLY: start one in the background
# (in NETNS if given) and wait until it listens.
peer_server() {
  local ns=()
  if [ $# = 5 ]; then ns=(ip netns exec "$1"); shift; fi
  rm -f "$3.ready"
  "${ns[@]}" /usr/bin/python3 "$E2E_PEER_SERVER" "$@" >"$3.out" 2>&1 &
  e2e_wait 10 test -e "$3.ready" || { cat "$3.out" >&2; echo "peer_server $*: not listening" >&2; return 1; }
}

# e2e_topology: the upstream netns behind uplink0, the default route through
# it, both servers, and a resolv.conf that points only inside the sandbox (it
# is dnsmasq's upstream: no query may leave the namespaces this test made).
e2e_topology() {
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
  peer_server upstream 198.51.100.1 7000 "$E2E_UP_PEERS" hello-upstream
  peer_server 198.51.100.2 7001 "$E2E_HOST_PEERS" hello-host
}

# define_network NAME [TOML LINE...]: a root-owned 0644 definition and
# `allow NAME` in bridge.conf. Default: the brief's vnet0 example.
define_network() {
  local name=$1; shift
  [ $# -gt 0 ] || set -- 'address = "10.200.0.1/24"' 'dhcp-range = "10.200.0.100-10.200.0.199"' \
    'domain = "vm"' 'idle-timeout = "2s"'
  mkdir -p "$E2E_NETS"; chmod 0755 "$E2E_NETS"
  printf '%s\n' "$@" > "$E2E_NETS/$name.toml"
  chown root:root "$E2E_NETS/$name.toml"; chmod 0644 "$E2E_NETS/$name.toml"
  echo "allow $name" >> /etc/qemu/bridge.conf
  chmod 0644 /etc/qemu/bridge.conf
}

# ---------------------------------------------------------------------------
# Guests.

# nic NAME MAC: the QEMU options of one NIC on bridge NAME through $VH
nic() { echo "-netdev bridge,id=n0,br=$1,helper=$VH -device virtio-net-pci,netdev=n0,mac=$2"; }

# The guest-side snippets (busybox sh -e). dhcp HOSTNAME: take a lease with
# the image's udhcpc script (tests/guest/build.sh: configures eth0, the
# default route and resolv.conf, writes /tmp/dhcp.env) and print it as
# LEASE_* lines. wait_release: block (bounded) until the host connects to
# port 7777 (see release_guest).
guest_snippets() {
  cat <<'EOF'
dhcp() {
  echo "DHCP_START_UPTIME=$(cut -d' ' -f1 /proc/uptime)"
  udhcpc -i eth0 -q -n -t 10 -T 2 -s /usr/share/udhcpc/default.script -x "hostname:$1"
  . /tmp/dhcp.env
  echo "LEASE_IP=$DHCP_IP"; echo "LEASE_MASK=$DHCP_MASK"; echo "LEASE_ROUTER=$DHCP_ROUTER"
  echo "LEASE_DNS=$DHCP_DNS"; echo "LEASE_DOMAIN=$DHCP_DOMAIN"; echo "LEASE_TIME=$DHCP_LEASE"
  echo "RESOLV=$(cat /etc/resolv.conf | tr '\n' ' ')"
  echo "DHCP_DONE_UPTIME=$(cut -d' ' -f1 /proc/uptime)"
}
# pings N ADDR: N echo requests, print PING_<tag>=<received>, fail unless all came back
pings() {
  out=$(ping -c "$1" -W 5 "$2" || true)
  echo "$out"
  got=$(echo "$out" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
  echo "PING_RECEIVED_$3=${got:-0}"
  [ "${got:-0}" = "$1" ]
}
# tcp TAG ADDR PORT: connect, print TCP_<tag>=<first line of the reply>
tcp() {
  r=$(echo "from-guest" | timeout 20 nc "$2" "$3" | head -n 1 | tr -d '\r' || true)
  echo "TCP_$1=$r"
}
wait_release() {
  echo "WAITING-FOR-RELEASE"
  timeout 100 nc -l -p 7777 > /tmp/release || true
  echo "RELEASED=$(cat /tmp/release)"
}
EOF
}

# release_guest NAME IP: tell a guest blocked in wait_release to finish
# (retrying while it is still starting its listener); 1 if it could not be told.
release_guest() {
  local i
  for i in $(seq 60); do
    guest_running "$1" || return 1
    if timeout 5 bash -c "echo go > /dev/tcp/$2/7777" 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  return 1
}

# guest_value NAME KEY: the last KEY=... line the guest printed (CR stripped)
guest_value() {
  tr -d '\r' < "$(guest_log "$1")" | sed -n "s/^$2=//p" | tail -n 1
}

# ---------------------------------------------------------------------------
# Host-side facts.

# qemu_pids: live QEMU processes in the sandbox
qemu_pids() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(cat "$p/comm" 2>/dev/null)" = qemu-system-x86 ] && echo "${p#/proc/}"
  done | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# pids_with_arg ARG...: pids whose argv (from argv[1] on) is exactly ARG...
pids_with_arg() {
  local p want="$*" args
  for p in /proc/[0-9]*; do
    args=$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null | sed 's/ $//') || continue
    [ "${args#* }" = "$want" ] && echo "${p#/proc/}"
  done | sort -n | tr '\n' ' ' | sed 's/ $//'
}
dnsmasq_of() { pids_with_arg "--conf-file=/run/vnet-helper/networks/$1/dnsmasq.conf"; }
supervisor_of() { pids_with_arg supervise "$1"; }
all_dnsmasq() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(cat "$p/comm" 2>/dev/null)" = dnsmasq ] && echo "${p#/proc/}"
  done | sort -n | tr '\n' ' ' | sed 's/ $//'
}
nwords() { echo $#; }

# fw_dump: iptables + ip6tables, no comments, counters zeroed
fw_dump() {
  { iptables-save; ip6tables-save 2>/dev/null || true; } | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]/[0:0]/g'
}
# fw_rules: fw_dump without what iptables-nft adds by merely touching a table
# (table headers, COMMIT, built-in chains with policy ACCEPT): an empty table
# and an absent one compare equal
fw_rules() {
  fw_dump | grep -vE '^(\*|COMMIT$|:(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) ACCEPT )' || true
}
fw_rule_count() { fw_dump | grep -c '^-A ' || true; }

bridge_ports() { ls "/sys/class/net/$1/brif" 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//'; }
bridge_gone() { ! ip link show "$1" >/dev/null 2>&1; }

# e2e_state NAME PREFIX: what exists of the network, as PREFIX_* lines
e2e_state() {
  local n=$1 p=$2 dm sv
  if ip link show "$n" >/dev/null 2>&1; then echo "${p}_BRIDGE=present"; else echo "${p}_BRIDGE=absent"; fi
  echo "${p}_PORTS=$(bridge_ports "$n")"
  dm=$(dnsmasq_of "$n"); sv=$(supervisor_of "$n")
  echo "${p}_NDNSMASQ=$(nwords $dm)"
  echo "${p}_NDNSMASQ_ANY=$(nwords $(all_dnsmasq))"
  echo "${p}_NSUPERVISOR=$(nwords $sv)"
  echo "${p}_NRULES=$(fw_rule_count)"
  echo "${p}_NVNET_RULES=$(fw_dump | grep -c '^-A .*VNET' || true)"
}

# e2e_dump NAME: everything useful after a failure, on stderr
e2e_dump() {
  {
    echo "===== e2e state dump ($1) ====="
    ip -br link 2>&1 || true
    ip -br -4 addr 2>&1 || true
    ip route 2>&1 || true
    ps -eo pid,ppid,user,stat,args 2>&1 || true
    fw_dump 2>&1 || true
    echo "--- files"; find /run/vnet-helper /var/lib/vnet-helper 2>&1 || true
    for f in /var/lib/vnet-helper/networks/"$1"/* /run/vnet-helper/networks/"$1"/*; do
      [ -f "$f" ] && { echo "-- $f"; head -c 3000 "$f"; echo; }
    done 2>/dev/null || true
    echo "--- peers"; cat "$E2E_UP_PEERS" "$E2E_HOST_PEERS" 2>&1 || true
    echo "===== end of dump ====="
  } >&2
}

# e2e_on_failure NAME: name the failing command, and dump state when the
# script exits non-zero
e2e_on_failure() {
  set -E
  trap 'echo "e2e: FAILED (status $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
  # shellcheck disable=SC2064
  trap "rc=\$?; [ \$rc = 0 ] || e2e_dump '$1'; exit \$rc" EXIT
}
