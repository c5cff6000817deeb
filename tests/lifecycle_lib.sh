# tests/lifecycle_lib.sh: shell functions for tests/network_lifecycle.rs, sourced
# inside tests/sandbox.sh after tests/lib.sh. Everything here looks at the
# sandbox's own network namespace, firewall and /run only.
#
# Conventions: functions that check something return 0/1 and print nothing
# unless asked; `die MSG` prints FAIL=MSG plus a state dump and exits 1.

NETDIR=/etc/vnet-helper/networks
FAKE_QEMU="$TESTS/tools/fake_qemu.py"

now() { date +%s.%N; }

# since T0: seconds elapsed since T0 (from `now`), two decimals
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# diff_s T0 T1: T1 - T0 in seconds, three decimals
diff_s() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# wait_for SECONDS CMD...: run CMD every 50 ms until it succeeds (0) or
# SECONDS have passed (1). Bounded whatever CMD does (each try is a fresh run).
wait_for() {
  local limit=$1; shift
  local t0; t0=$(now)
  while :; do
    if "$@"; then return 0; fi
    if awk -v a="$t0" -v b="$(now)" -v l="$limit" 'BEGIN { exit !(b - a > l) }'; then
      return 1
    fi
    sleep 0.05
  done
}

# define_net NAME ADDRESS IDLE [EXTRA TOML LINE...]: a root-owned 0644
# definition, and `allow NAME` in bridge.conf.
define_net() {
  local name=$1 addr=$2 idle=$3; shift 3
  mkdir -p "$NETDIR"
  {
    echo "address = \"$addr\""
    echo "idle-timeout = \"$idle\""
    local l; for l in "$@"; do echo "$l"; done
  } > "$NETDIR/$name.toml"
  chmod 0644 "$NETDIR/$name.toml"
  echo "allow $name" >> /etc/qemu/bridge.conf
  chmod 0644 /etc/qemu/bridge.conf
}

# Pre-existing host rules of our own making (like a host running Docker and a
# firewall of its own): an INPUT drop, a nat rule, FORWARD policy DROP, an
# OUTPUT rule with a comment, an IPv6 one.
host_firewall() {
  iptables -A INPUT -s 192.0.2.99 -j DROP
  iptables -A INPUT -p tcp --dport 22 -m comment --comment "ssh from anywhere" -j ACCEPT
  iptables -A OUTPUT -d 192.0.2.98 -j REJECT
  iptables -t nat -A POSTROUTING -s 192.0.2.0/24 ! -d 192.0.2.0/24 -j MASQUERADE
  iptables -P FORWARD DROP
  ip6tables -A INPUT -s 2001:db8::99 -j DROP
}

# fw_save: the whole IPv4 + IPv6 firewall, normalized (no comment lines, no
# counters), byte-comparable.
fw_save() {
  echo "== iptables"
  iptables-save | grep -v '^#' | sed -E 's/ \[[0-9]+:[0-9]+\]$//'
  echo "== ip6tables"
  ip6tables-save | grep -v '^#' | sed -E 's/ \[[0-9]+:[0-9]+\]$//'
}

# nft_save: the nftables view of the same (what iptables-nft really made),
# counters stripped.
nft_save() {
  nft list ruleset 2>/dev/null | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'
}

# fw_same FILE: the firewall is exactly as saved in FILE (fw_save output)
fw_same() { [ "$(fw_save)" = "$(cat "$1")" ]; }
nft_same() { [ "$(nft_save)" = "$(cat "$1")" ]; }

# --- processes and state of one network ---------------------------------

# pids (one per line, sorted) of live dnsmasq processes for network NAME
dnsmasq_pids() {
  pgrep -x -f "/usr/sbin/dnsmasq --conf-file=/run/vnet-helper/networks/$1/dnsmasq.conf" | sort -n || true
}
# pids of live supervisors of network NAME
supervisor_pids() {
  pgrep -x -f "(/[^ ]*/)?vnet-helper supervise $1" | sort -n || true
}
count_lines() { if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l; fi; }

# supervisor_lock_held NAME: someone holds the supervisor's flock (without
# ever creating the file)
supervisor_lock_held() {
  local f=/run/vnet-helper/lock/supervisors/$1.lock
  [ -e "$f" ] || return 1
  ! ( flock -n 9 ) 9<"$f"
}

# pid in dnsmasq's pid file, if that process is our dnsmasq
pidfile_dnsmasq() {
  local f=/run/vnet-helper/networks/$1/dnsmasq.pid p
  p=$(cat "$f" 2>/dev/null) || return 1
  [ -n "$p" ] && tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null \
    | grep -qx "/usr/sbin/dnsmasq --conf-file=/run/vnet-helper/networks/$1/dnsmasq.conf " || return 1
  echo "$p"
}

bridge_exists() { [ -d "/sys/class/net/$1/bridge" ]; }
link_exists() { ip link show "$1" >/dev/null 2>&1; }

# rules_complete NAME: every chain of a NAT network and every jump to it
rules_complete() {
  local n=$1 c
  for c in IN OUT FWI FWO FWX; do
    iptables -S "VNET-$n-$c" >/dev/null 2>&1 || return 1
  done
  iptables -t nat -S "VNET-$n-PRT" >/dev/null 2>&1 || return 1
  local s; s=$(iptables -S)
  grep -qx -- "-A INPUT -i $n -j VNET-$n-IN" <<<"$s" || return 1
  grep -qx -- "-A OUTPUT -o $n -j VNET-$n-OUT" <<<"$s" || return 1
  grep -qx -- "-A VNET-FWX -i $n -o $n -j VNET-$n-FWX" <<<"$s" || return 1
  grep -qx -- "-A VNET-FWI -o $n -j VNET-$n-FWI" <<<"$s" || return 1
  grep -qx -- "-A VNET-FWO -i $n -j VNET-$n-FWO" <<<"$s" || return 1
  [ "$(grep -c -- '^-A FORWARD -j VNET-FW[XIO]$' <<<"$s")" = 3 ] || return 1
  iptables -t nat -S POSTROUTING | grep -qx -- "-A POSTROUTING -j VNET-$n-PRT" || return 1
}

# any_rules NAME: some chain of NAME or a jump to one is still there
any_rules() { fw_save | grep -q -- "VNET-$1-"; }

# net_gone NAME: nothing of the network is left; prints what is left when not
net_gone() {
  local n=$1 left=""
  link_exists "$n" && left="$left bridge"
  [ -n "$(dnsmasq_pids "$n")" ] && left="$left dnsmasq"
  [ -n "$(supervisor_pids "$n")" ] && left="$left supervisor"
  supervisor_lock_held "$n" && left="$left supervisor-lock"
  [ -e "/run/vnet-helper/networks/$n" ] && left="$left rundir"
  any_rules "$n" && left="$left rules"
  [ -z "$left" ] && return 0
  [ "${VERBOSE_GONE:-}" ] && echo "LEFT=$left"
  return 1
}

# net_whole NAME: up and complete: bridge up, dnsmasq (pid file) running,
# exactly one supervisor holding its lock, up marker, rules complete
net_whole() {
  local n=$1 why=""
  bridge_exists "$n" || why="$why no-bridge"
  [ $(( $(cat "/sys/class/net/$n/flags" 2>/dev/null || echo 0) & 1 )) = 1 ] || why="$why bridge-down"
  pidfile_dnsmasq "$n" >/dev/null || why="$why no-dnsmasq"
  [ "$(count_lines "$(dnsmasq_pids "$n")")" = 1 ] || why="$why dnsmasq-count"
  [ "$(count_lines "$(supervisor_pids "$n")")" = 1 ] || why="$why supervisor-count"
  supervisor_lock_held "$n" || why="$why no-supervisor-lock"
  [ -e "/run/vnet-helper/networks/$n/up" ] || why="$why no-up-marker"
  rules_complete "$n" || why="$why rules"
  [ -z "$why" ] && return 0
  [ "${VERBOSE_WHOLE:-}" ] && echo "NOT_WHOLE=$why"
  return 1
}

# --- QEMU stand-ins --------------------------------------------------------

# attach_bg NAME OUTFILE [fake_qemu options...]: call the helper like QEMU in
# the background and keep the tap until `release`; waits (bounded) for the
# call's result. Sets HOLDER (the fake QEMU's pid, which holds the tap) and
# TAPNAME. With AS=user the fake QEMU itself runs as uid 4242 (so the tap's
# holder is the user, as with a real unprivileged QEMU).
attach_bg() {
  local name=$1 out=$2; shift 2
  if [ "${AS:-root}" = user ]; then
    $AS_USER /usr/bin/python3 "$FAKE_QEMU" --as-root --hold 600 "$@" "$VH" "$name" > "$out" 2>&1 &
  else
    /usr/bin/python3 "$FAKE_QEMU" --hold 600 "$@" "$VH" "$name" > "$out" 2>&1 &
  fi
  HOLDER=$!
  wait_for 25 grep -q '^RC=' "$out" || { cat "$out"; die "attach to $name: no result within 25 s"; }
  grep -qx 'RC=0' "$out" && grep -qx 'GOT_FD=yes' "$out" \
    || { cat "$out"; die "attach to $name failed"; }
  TAPNAME=$(sed -n 's/^TAP=//p' "$out")
}

# release PID: end a fake QEMU started by attach_bg (its tap closes) and wait
# until it is gone
release() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# --- reporting -------------------------------------------------------------

dump_state() {
  echo "--- state dump ---"
  ip -o link show 2>&1 | sed 's/^/link: /'
  ps -eo pid,ppid,user,stat,args 2>&1 | sed 's/^/ps: /'
  find /run/vnet-helper -maxdepth 2 2>&1 | sed 's/^/run: /'
  fw_save 2>&1 | sed 's/^/fw: /'
}

die() {
  echo "FAIL=$*"
  dump_state
  exit 1
}
