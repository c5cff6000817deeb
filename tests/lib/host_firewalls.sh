# shellcheck shell=bash
# tests/lib/host_firewalls.sh: the host firewall shapes (empty, Docker, ufw,
# nftables.conf, firewalld's table) of the host-firewall tests
# (tests/scripts/host_firewalls/), set up in the sandbox's own namespace
# exactly as their owners write them; whole-firewall snapshots to compare
# after a teardown; and veth guests (a netns behind a veth port of a bridge)
# that take a real DHCP lease from our dnsmasq. The one place these shapes
# are defined. Source after tests/lib/common.sh and tests/lib/net.sh.

# hf_shape CASE: make the host firewall of CASE (empty, docker, ufw,
# nftconf, nftconf_fixed, firewalld). nftconf_fixed is nftconf; the script
# adds the rules `status` suggests.
hf_shape() {
  case $1 in
    empty) ;;
    docker) hf_docker ;;
    ufw) hf_ufw ;;
    nftconf|nftconf_fixed) hf_nftables_conf ;;
    firewalld) hf_firewalld_table ;;
    *) echo "hf_shape: unknown case $1" >&2; return 2 ;;
  esac
}

# hf_docker: what dockerd (iptables backend) writes with its default bridge
hf_docker() {
  iptables-restore <<'EOF'
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -j RETURN
COMMIT
EOF
}

# hf_ufw: the chains ufw writes (before/after/user/reject/track, IPv4 and
# IPv6), default incoming and routed DROP, ssh allowed
hf_ufw() {
  local v
  for v in 4 6; do
    local p=ufw icmp="-p icmp -m icmp --icmp-type 8" dhcp="-p udp -m udp --sport 67 --dport 68"
    [ $v = 6 ] && { p=ufw6; icmp="-p ipv6-icmp"; dhcp="-p udp -m udp --sport 547 --dport 546"; }
    {
      echo "*filter"
      echo ":INPUT DROP [0:0]"; echo ":FORWARD DROP [0:0]"; echo ":OUTPUT ACCEPT [0:0]"
      local c
      for c in after-forward after-input after-logging-forward after-logging-input after-output \
               before-forward before-input before-logging-forward before-logging-input before-output \
               reject-forward reject-input reject-output track-forward track-input track-output \
               user-forward user-input user-output; do
        echo ":$p-$c - [0:0]"
      done
      for c in before-logging-input before-input after-input after-logging-input reject-input track-input; do
        echo "-A INPUT -j $p-$c"
      done
      for c in before-logging-forward before-forward after-forward after-logging-forward reject-forward track-forward; do
        echo "-A FORWARD -j $p-$c"
      done
      for c in before-output after-output reject-output track-output; do echo "-A OUTPUT -j $p-$c"; done
      echo "-A $p-before-input -i lo -j ACCEPT"
      echo "-A $p-before-input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
      echo "-A $p-before-input -m conntrack --ctstate INVALID -j DROP"
      echo "-A $p-before-input $icmp -j ACCEPT"
      echo "-A $p-before-input $dhcp -j ACCEPT"
      echo "-A $p-before-input -j $p-user-input"
      echo "-A $p-before-forward -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
      echo "-A $p-before-forward -j $p-user-forward"
      echo "-A $p-before-output -o lo -j ACCEPT"
      echo "-A $p-before-output -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
      echo "-A $p-before-output -j $p-user-output"
      echo "-A $p-track-output -p tcp -m conntrack --ctstate NEW -j ACCEPT"
      echo "-A $p-track-output -p udp -m conntrack --ctstate NEW -j ACCEPT"
      echo "-A $p-user-input -p tcp -m tcp --dport 22 -j ACCEPT"
      echo "COMMIT"
    } > "$WORK/ufw$v.rules"
  done
  iptables-restore < "$WORK/ufw4.rules"
  ip6tables-restore < "$WORK/ufw6.rules"
}

# hf_nftables_conf: a hardened /etc/nftables.conf (Debian's layout, policy
# drop on input and forward)
hf_nftables_conf() {
  nft -f - <<'EOF'
table inet filter {
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iif "lo" accept
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
  }
  chain output {
    type filter hook output priority filter; policy accept;
  }
}
EOF
}

# hf_firewalld_table: the shape of firewalld's own table (no firewalld
# running): accept what belongs to a connection, then a final reject
hf_firewalld_table() {
  nft -f - <<'EOF'
table inet firewalld {
  chain filter_INPUT {
    type filter hook input priority filter + 10; policy accept;
    ct state { established, related } accept
    ct status dnat accept
    iifname "lo" accept
    reject with icmpx admin-prohibited
  }
  chain filter_FORWARD {
    type filter hook forward priority filter + 10; policy accept;
    ct state { established, related } accept
    ct status dnat accept
    iifname "lo" accept
    reject with icmpx admin-prohibited
  }
  chain filter_OUTPUT {
    type filter hook output priority filter + 10; policy accept;
    oifname "lo" accept
  }
}
EOF
}

# hf_views FILE: iptables-save, ip6tables-save and nft list ruleset, each
# whole, only comment lines (timestamps) and counters taken out
hf_views() {
  {
    echo "== iptables-save"
    iptables-save | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]/[0:0]/g'
    echo "== ip6tables-save"
    ip6tables-save | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]/[0:0]/g'
    echo "== nft list ruleset"
    nft list ruleset | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'
  } > "$1"
}

# hf_same KEY BEFORE: KEY=yes if hf_views now is byte-identical to the
# file BEFORE (an earlier hf_views), else KEY=no and the diff as DIFF: lines
hf_same() {
  hf_views "$WORK/now.$1"
  if cmp -s "$2" "$WORK/now.$1"; then
    echo "$1=yes"
  else
    echo "$1=no"
    diff "$2" "$WORK/now.$1" | sed 's/^/DIFF: /' || true
  fi
}

# vguest NAME BRIDGE MAC: netns NAME, its eth0 (MAC) a veth whose peer
# v-NAME is a port of BRIDGE
vguest() {
  ip netns add "$1"
  ip link add "v-$1" type veth peer name eth0 netns "$1"
  ip -n "$1" link set eth0 address "$3"
  ip link set "v-$1" master "$2" up
  ip -n "$1" link set lo up
  ip -n "$1" link set eth0 up
}

# vguest_dhcp NAME: a real DHCP exchange (busybox udhcpc, 10 s bound); on a
# lease, eth0 gets the address and the default route; prints the address
vguest_dhcp() {
  local script="$WORK/udhcpc.sh"
  if [ ! -x "$script" ]; then
    cat > "$script" <<EOF
#!/bin/sh
# udhcpc's script for veth guests: configure eth0 from the lease
[ "\$1" = bound ] || exit 0
ip addr add "\$ip/\$mask" dev "\$interface"
[ -n "\${router:-}" ] && ip route add default via "\${router%% *}" dev "\$interface"
echo "\$ip" > "$WORK/lease.\$(ip netns identify)"
EOF
    chmod 0755 "$script"
  fi
  ip netns exec "$1" busybox udhcpc -i eth0 -n -q -t 5 -T 2 -s "$script" >/dev/null 2>&1 || return 1
  cat "$WORK/lease.$1"
}
