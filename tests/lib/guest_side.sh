# shellcheck shell=sh
# tests/lib/guest_side.sh: shell functions for the scripts that run INSIDE a
# test guest (busybox sh -e; see tests/guest/build.sh). Not sourced on the
# host: tests/lib/guest.sh (guest_snippets, guest_script) puts this text in
# front of a guest's script.

# dhcp HOSTNAME: take a lease with the image's udhcpc script (configures
# eth0, the default route and resolv.conf, writes /tmp/dhcp.env) and print it
# as LEASE_* lines
dhcp() {
  echo "DHCP_START_UPTIME=$(cut -d' ' -f1 /proc/uptime)"
  udhcpc -i eth0 -q -n -t 10 -T 2 -s /usr/share/udhcpc/default.script -x "hostname:$1"
  # shellcheck source=/dev/null # written by the guest's udhcpc script
  . /tmp/dhcp.env
  echo "LEASE_IP=$DHCP_IP"; echo "LEASE_MASK=$DHCP_MASK"; echo "LEASE_ROUTER=$DHCP_ROUTER"
  echo "LEASE_DNS=$DHCP_DNS"; echo "LEASE_DOMAIN=$DHCP_DOMAIN"; echo "LEASE_TIME=$DHCP_LEASE"
  echo "RESOLV=$(tr '\n' ' ' < /etc/resolv.conf)"
  echo "DHCP_DONE_UPTIME=$(cut -d' ' -f1 /proc/uptime)"
}

# pings N ADDR TAG: N echo requests, print PING_RECEIVED_<TAG>=<received>,
# fail unless all came back
pings() {
  out=$(ping -c "$1" -W 5 "$2" || true)
  echo "$out"
  got=$(echo "$out" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
  echo "PING_RECEIVED_$3=${got:-0}"
  [ "${got:-0}" = "$1" ]
}

# tcp TAG ADDR PORT: connect, print TCP_<TAG>=<first line of the reply>
tcp() {
  r=$(echo "from-guest" | timeout 20 nc "$2" "$3" | head -n 1 | tr -d '\r' || true)
  echo "TCP_$1=$r"
}

# wait_release: block (bounded) until the host connects to port 7777
# (release_guest on the host)
wait_release() {
  echo "WAITING-FOR-RELEASE"
  timeout 100 nc -l -p 7777 > /tmp/release || true
  echo "RELEASED=$(cat /tmp/release)"
}

# lease: DHCPv4 with the default script; sources /tmp/dhcp.env
lease() {
  udhcpc -i eth0 -q -n -t 15 -T 2 -s /usr/share/udhcpc/default.script 2>&1 || { echo "LEASE-FAILED"; return 1; }
  # shellcheck source=/dev/null # written by the guest's udhcpc script
  . /tmp/dhcp.env
  echo "GUEST-IP=$DHCP_IP ROUTER=$DHCP_ROUTER"
}

# wait_go [SECONDS]: block (bounded) until the host says something on
# tcp/7777 (tell_guest on the host)
wait_go() {
  timeout "${1:-150}" nc -l -p 7777 > /tmp/go 2>/dev/null || true
  echo "GOT-GO=$(cat /tmp/go)"
}

# listen9000: a persistent TCP listener answering LISTENER-OK
listen9000() {
  nc -ll -p 9000 -e /bin/listener-ok >/dev/null 2>&1 &
}

# try_tcp IP PORT: print what a 2 s connection gets (or nothing)
try_tcp() {
  echo | timeout 4 nc -w 2 "$1" "$2" 2>/dev/null || true
}
