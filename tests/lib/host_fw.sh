# shellcheck shell=bash
# tests/lib/host_fw.sh: host firewalls of the shapes real hosts have (Docker's
# and ufw's iptables-nft rules), veth guests with DHCP, DNS and a listener,
# and exact snapshots of the whole firewall (iptables-save, ip6tables-save,
# nft list ruleset) to compare after a teardown. Source after common.sh,
# net.sh and upstream.sh.

# shape_host empty|docker|ufw: the host's own iptables-nft rules, as Docker
# 24 and ufw 0.36 write them (the parts that decide about our traffic).
shape_host() {
  case $1 in
    empty) ;;
    docker)
      iptables -N DOCKER
      iptables -N DOCKER-ISOLATION-STAGE-1
      iptables -N DOCKER-ISOLATION-STAGE-2
      iptables -N DOCKER-USER
      iptables -P FORWARD DROP
      iptables -A FORWARD -j DOCKER-USER
      iptables -A FORWARD -j DOCKER-ISOLATION-STAGE-1
      iptables -A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
      iptables -A FORWARD -o docker0 -j DOCKER
      iptables -A FORWARD -i docker0 ! -o docker0 -j ACCEPT
      iptables -A FORWARD -i docker0 -o docker0 -j ACCEPT
      iptables -A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
      iptables -A DOCKER-ISOLATION-STAGE-1 -j RETURN
      iptables -A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
      iptables -A DOCKER-ISOLATION-STAGE-2 -j RETURN
      iptables -A DOCKER-USER -j RETURN
      iptables -t nat -N DOCKER
      iptables -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
      iptables -t nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
      iptables -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
      iptables -t nat -A DOCKER -i docker0 -j RETURN
      ;;
    ufw)
      local t
      for t in iptables ip6tables; do
        $t -P INPUT DROP
        $t -P FORWARD DROP
        $t -N ufw-before-input
        $t -N ufw-before-forward
        $t -N ufw-user-input
        $t -N ufw-reject-input
        $t -A INPUT -j ufw-before-input
        $t -A INPUT -j ufw-user-input
        $t -A INPUT -j ufw-reject-input
        $t -A FORWARD -j ufw-before-forward
        $t -A ufw-before-input -i lo -j ACCEPT
        $t -A ufw-before-input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
        $t -A ufw-before-input -m conntrack --ctstate INVALID -j DROP
        $t -A ufw-before-forward -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
        $t -A ufw-user-input -p tcp --dport 22 -j ACCEPT
      done
      ;;
    *) die "shape_host: unknown host $1" ;;
  esac
}

# host_fw_snapshot PREFIX: PREFIX.iptables, PREFIX.ip6tables, PREFIX.nft
# (comment lines and counters removed: they change by themselves)
host_fw_snapshot() {
  iptables-save 2>&1 | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]/[0:0]/g' > "$1.iptables"
  ip6tables-save 2>&1 | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]/[0:0]/g' > "$1.ip6tables"
  nft list ruleset 2>&1 | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/' > "$1.nft"
}

# host_fw_compare KEY PREFIX: KEY_IPTABLES, KEY_IP6TABLES, KEY_NFT =
# same|differs against host_fw_snapshot PREFIX (the diff on stderr)
host_fw_compare() {
  local k=$1 ref=$2 now="$WORK/now.$1" x
  host_fw_snapshot "$now"
  for x in iptables ip6tables nft; do
    if cmp -s "$ref.$x" "$now.$x"; then echo "${k}_${x^^}=same"; else
      echo "${k}_${x^^}=differs"; diff "$ref.$x" "$now.$x" >&2 || true
    fi
  done
}

# dhcp_lease NS: take a lease on NS's eth0 (address and default route set);
# prints the address, or nothing
dhcp_lease() {
  cat > "$WORK/udhcpc.sh" <<'SH'
#!/bin/sh
if [ "$1" = bound ]; then
  ip addr add "$ip/${mask:-24}" dev "$interface"
  [ -n "${router:-}" ] && ip route add default via "${router%% *}"
  echo "BOUND_IP=$ip"
fi
exit 0
SH
  chmod +x "$WORK/udhcpc.sh"
  ip netns exec "$1" timeout 30 busybox udhcpc -i eth0 -n -q -t 10 -T 1 -s "$WORK/udhcpc.sh" 2>/dev/null \
    | sed -n 's/^BOUND_IP=//p' | head -n1
}

# dns_query NS SERVER NAME: the A record SERVER gives for NAME (from NS), or
# "failed"
dns_query() {
  ip netns exec "$1" timeout 10 /usr/bin/python3 - "$2" "$3" <<'PY' 2>/dev/null || echo failed
import socket, struct, sys
server, name = sys.argv[1], sys.argv[2]
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for _ in range(3):
    s.sendto(q, (server, 53))
    try:
        d, _ = s.recvfrom(2048)
        break
    except socket.timeout:
        d = b""
if len(d) >= 16 and struct.unpack(">H", d[6:8])[0] > 0:
    print(".".join(str(b) for b in d[-4:]))
else:
    print("failed")
PY
}

# guest_listener NS PORT: a TCP listener in NS answering LISTENER-OK
guest_listener() {
  ip netns exec "$1" bash -c "while :; do echo LISTENER-OK | busybox nc -l -p $2 >/dev/null 2>&1; done" &
  sleep 0.3
}
