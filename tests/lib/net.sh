# shellcheck shell=bash
# tests/lib/net.sh: managed networks seen from the sandboxed host: definitions,
# firewall snapshots, the processes of a network and reports of its state.
# Source after tests/lib/common.sh. Everything here looks at the sandbox's own
# network namespace, firewall, /run and processes only.

# ---------------------------------------------------------------------------
# Definitions and ACL.

# allow_in_acl NAME: `allow NAME` in bridge.conf (once), the file 0644
allow_in_acl() {
  local acl; acl=$(acl_file)
  grep -qx "allow $1" "$acl" 2>/dev/null || echo "allow $1" >> "$acl"
  chmod 0644 "$acl"
}

# define_net NAME [TOML LINE...]: a root-owned 0644 definition (default:
# address 10.200.0.1/24 only), and `allow NAME` in bridge.conf.
define_net() {
  local name=$1; shift
  if [ $# -eq 0 ]; then set -- 'address = "10.200.0.1/24"'; fi
  printf '%s\n' "$@" | define_net_toml "$name"
}

# define_net_toml NAME < TOML: the same, the definition read from stdin.
define_net_toml() {
  local f; f=$(definition_file "$1")
  mkdir -p "$(definitions_dir)"; chmod 0755 "$(definitions_dir)"
  cat > "$f"
  chown root:root "$f"; chmod 0644 "$f"
  allow_in_acl "$1"
}

# ---------------------------------------------------------------------------
# Firewall.

# foreign_rules: someone else's rules, as on a real host (a fresh network
# namespace has no iptables tables at all).
foreign_rules() {
  iptables -A INPUT -p tcp --dport 22 -j ACCEPT
  iptables -A FORWARD -s 192.0.2.0/24 -j DROP
  iptables -A OUTPUT -d 198.51.100.7/32 -j REJECT
  iptables -t nat -A POSTROUTING -s 198.51.100.0/24 -j RETURN
}

# foreign_kept: yes if every foreign rule is still there, unchanged.
foreign_kept() {
  if iptables -C INPUT -p tcp --dport 22 -j ACCEPT 2>/dev/null &&
     iptables -C FORWARD -s 192.0.2.0/24 -j DROP 2>/dev/null &&
     iptables -C OUTPUT -d 198.51.100.7/32 -j REJECT 2>/dev/null &&
     iptables -t nat -C POSTROUTING -s 198.51.100.0/24 -j RETURN 2>/dev/null; then
    echo yes
  else
    echo no
  fi
}

# host_firewall: pre-existing host rules of our own making (like a host
# running Docker and a firewall of its own): an INPUT drop, a nat rule,
# FORWARD policy DROP, an OUTPUT rule with a comment, an IPv6 one.
host_firewall() {
  iptables -A INPUT -s 192.0.2.99 -j DROP
  iptables -A INPUT -p tcp --dport 22 -m comment --comment "ssh from anywhere" -j ACCEPT
  iptables -A OUTPUT -d 192.0.2.98 -j REJECT
  iptables -t nat -A POSTROUTING -s 192.0.2.0/24 ! -d 192.0.2.0/24 -j MASQUERADE
  iptables -P FORWARD DROP
  ip6tables -A INPUT -s 2001:db8::99 -j DROP
}

# fw_backend: the firewall backend the helper uses here: iptables when
# config.toml forces it or nft is missing, else nftables (config's auto).
fw_backend() {
  if grep -qs '^firewall *= *"iptables"' /etc/vnet-helper/config.toml || ! [ -x /usr/sbin/nft ]; then
    echo iptables
  else
    echo nftables
  fi
}

# use_backend iptables|nftables|auto: force it in config.toml (root, 0644).
use_backend() {
  mkdir -p /etc/vnet-helper
  printf 'firewall = "%s"\n' "$1" > /etc/vnet-helper/config.toml
  chmod 0644 /etc/vnet-helper/config.toml
}

# nft_flat: `nft list ruleset`, one line per rule, set line or chain
# header, each prefixed by "FAMILY TABLE CHAIN: " (counters stripped), so
# lines can be grepped, counted and compared one by one.
nft_flat() {
  nft list ruleset 2>/dev/null | awk '
    $1 == "table" { t = $2 " " $3; next }
    ($1 == "chain" || $1 == "set" || $1 == "map") && $NF == "{" { c = $1 == "chain" ? $2 : "set " $2; print t " " c ":"; next }
    $1 == "}" { c = ""; next }
    c != "" { sub(/^[ \t]+/, ""); gsub(/counter packets [0-9]+ bytes [0-9]+/, "counter"); print t " " c ": " $0 }'
}

# nft_ours: nft_flat of what the nftables backend makes: our tables, and
# our chains in the host's iptables-nft tables (their jumps are in
# iptables-save).
nft_ours() { nft_flat | grep -E '^ip6? (vnet_helper |filter vh-)' || true; }

# fw_norm: iptables-save (IPv4) without comments and with counters zeroed,
# then what the nftables backend made (nft_ours).
fw_norm() {
  iptables-save | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]/[0:0]/g'
  nft_ours
}

# our_rule_count: rules of our chains, both backends (iptables-save lines
# naming a VNET chain; nftables rules of our tables and vh- chains).
our_rule_count() {
  echo $(( $({ iptables-save; ip6tables-save; } 2>/dev/null | grep -c '^-A.*VNET' || true) + $(nft_ours | grep -vcE ': (type |elements|flags)|:$|^[^:]*: *"' || true) ))
}

# fw_snapshot FILE: save fw_norm.
fw_snapshot() { fw_norm > "$1"; }

# fw_compare PREFIX REF_FILE: compare the current fw_norm with REF_FILE.
# Prints PREFIX_EXACT=same|differs (whole normalized text, order included),
# PREFIX_MULTISET=same|differs (sorted lines), PREFIX_DUPS=<n> (rule lines that
# appear more than once); on a difference the diff goes to stderr.
fw_compare() {
  local p=$1 ref=$2 cur
  cur=$(mktemp "$WORK/fw.XXXXXX")
  fw_norm > "$cur"
  if cmp -s "$cur" "$ref"; then echo "${p}_EXACT=same"; else
    echo "${p}_EXACT=differs"
    { echo "--- $p: ruleset differs from $ref (diff ref cur) ---"; diff "$ref" "$cur" || true; } >&2
  fi
  if [ "$(sort "$cur")" = "$(sort "$ref")" ]; then echo "${p}_MULTISET=same"; else echo "${p}_MULTISET=differs"; fi
  echo "${p}_DUPS=$(fw_dups "$cur")"
  rm -f "$cur"
}

# fw_dups [FILE]: how many distinct rule lines occur more than once.
fw_dups() {
  if [ $# -gt 0 ]; then cat "$1"; else fw_norm; fi | grep -E '^(-A|-I) ' | sort | uniq -d | wc -l
}

# fw_save: the whole IPv4 + IPv6 firewall, normalized (no comment lines, no
# counters), byte-comparable: iptables-save, ip6tables-save, our nftables.
fw_save() {
  echo "== iptables"
  iptables-save | grep -v '^#' | sed -E 's/ \[[0-9]+:[0-9]+\]$//'
  echo "== ip6tables"
  ip6tables-save | grep -v '^#' | sed -E 's/ \[[0-9]+:[0-9]+\]$//'
  # what the nftables backend made (the iptables-nft tables are above; the
  # order of tables in the listing is not state)
  echo "== nft"
  nft_ours | sort
}

# nft_save: the nftables view of the same (what iptables-nft really made),
# counters stripped.
nft_save() {
  nft list ruleset 2>/dev/null | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'
}

# fw_same FILE / nft_same FILE: the firewall is exactly as saved in FILE
fw_same() { [ "$(fw_save)" = "$(cat "$1")" ]; }
nft_same() { [ "$(nft_save)" = "$(cat "$1")" ]; }

# fw_dump: iptables + ip6tables in one text, no comments, counters zeroed
fw_dump() {
  { iptables-save; ip6tables-save 2>/dev/null || true; } | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]/[0:0]/g'
  nft_ours
}

# fw_rules: fw_dump without what iptables-nft adds by merely touching a table
# (table headers, COMMIT, built-in chains with policy ACCEPT): an empty table
# and an absent one compare equal
fw_rules() {
  fw_dump | grep -vE '^(\*|COMMIT$|:(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) ACCEPT )' || true
}

# fw_rule_count: rules in fw_dump (-A lines; nftables rule, set and map lines of ours)
fw_rule_count() { fw_dump | grep -cE '^-A |^ip6? [^:]*: [^"]' || true; }

# vnet_lines NAME: lines of iptables-save + ip6tables-save that mention NAME's
# chains, plus nftables lines of ours that do
vnet_lines() {
  echo $(( $({ iptables-save; ip6tables-save; } 2>/dev/null | grep -c -- "VNET-$1-" || true) + $(nft_ours | grep -cE -- "(vnet|vh)-$1-" || true) ))
}

# unreachable_chains: VNET chains that no rule jumps to (any table).
unreachable_chains() {
  local save c
  {
    save=$(iptables-save)
    for c in $(printf '%s\n' "$save" | grep -o '^:VNET[^ ]*' | sed 's/^://'); do
      printf '%s\n' "$save" | grep -q -E -- "-j $c( |\$)" || echo "$c"
    done
    save=$(nft_ours)
    for c in $(printf '%s\n' "$save" | awk '{ sub(/:$/, "", $3); print $3 }' | grep '^vnet-' | sort -u); do
      printf '%s\n' "$save" | grep -q -E -- "jump $c(\$| |,)" || echo "$c"
    done
  } | tr '\n' ' ' | sed 's/ $//'
}

# rules_complete NAME: every chain of a NAT network and every jump to it
rules_complete() {
  local n=$1 c s
  if [ "$(fw_backend)" = nftables ]; then
    s=$(nft_ours)
    for c in in out fwx fwi fwo prt; do
      grep -q "^ip vnet_helper vnet-$n-$c: " <<<"$s" || return 1
    done
    for c in "input: iifname vmap @to-host" "output: oifname vmap @from-host" \
             "forward: iifname vmap @guest-to-guest" "forward: oifname vmap @into-bridge" \
             "forward: iifname vmap @out-of-bridge" "postrouting: jump vnet-$n-prt"; do
      [ "$(grep -cxF "ip vnet_helper $c" <<<"$s")" = 1 ] || return 1
    done
    for c in to-host:in from-host:out guest-to-guest:fwx into-bridge:fwi out-of-bridge:fwo; do
      grep -qF "\"$n\" : jump vnet-$n-${c#*:}" <<<"$(grep "^ip vnet_helper set ${c%%:*}: " <<<"$s")" || return 1
    done
    grep -q "^ip vnet_helper set bridges: .*\"$n\"" <<<"$s" || return 1
    return 0
  fi
  for c in IN OUT FWI FWO FWX; do
    iptables -S "VNET-$n-$c" >/dev/null 2>&1 || return 1
  done
  iptables -t nat -S "VNET-$n-PRT" >/dev/null 2>&1 || return 1
  s=$(iptables -S)
  grep -qx -- "-A INPUT -i $n -j VNET-$n-IN" <<<"$s" || return 1
  grep -qx -- "-A OUTPUT -o $n -j VNET-$n-OUT" <<<"$s" || return 1
  grep -qx -- "-A VNET-FWX -i $n -o $n -j VNET-$n-FWX" <<<"$s" || return 1
  grep -qx -- "-A VNET-FWI -o $n -j VNET-$n-FWI" <<<"$s" || return 1
  grep -qx -- "-A VNET-FWO -i $n -j VNET-$n-FWO" <<<"$s" || return 1
  [ "$(grep -c -- '^-A FORWARD -j VNET-FW[XIO]$' <<<"$s")" = 3 ] || return 1
  iptables -t nat -S POSTROUTING | grep -qx -- "-A POSTROUTING -j VNET-$n-PRT" || return 1
}

# any_rules NAME: some chain of NAME or a jump to one is still there
any_rules() { [ "$(vnet_lines "$1")" != 0 ]; }

# veth_guest NETNS BRIDGE [MAC]: netns NETNS whose eth0 (with MAC, if
# given) is a veth whose peer (vg-NETNS) is a port of BRIDGE: a guest
# without QEMU, for tests of what the network gives it
veth_guest() {
  ip netns add "$1"
  ip link add "vg-$1" type veth peer name eth0 netns "$1" ${3:+address "$3"}
  ip link set "vg-$1" master "$2" up
  ip -n "$1" link set lo up
  ip -n "$1" link set eth0 up
}

# ---------------------------------------------------------------------------
# Processes. Lists of pids are sorted and space-separated on one line.

# pids_where_args ARG...: live processes whose argv from argv[1] on is
# exactly ARG... (zombies have an empty cmdline: not counted)
pids_where_args() {
  local p want="$*" args
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = "$BASHPID" ] && continue
    args=$({ tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null | sed 's/ $//') || continue
    [ -n "$args" ] && [ "${args#* }" = "$want" ] && echo "${p#/proc/}"
  done | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# pids_of_comm COMM...: live processes whose comm is one of COMM... (globs)
pids_of_comm() {
  local p c w
  for p in /proc/[0-9]*; do
    c=$(cat "$p/comm" 2>/dev/null) || continue
    for w in "$@"; do
      # shellcheck disable=SC2254 # COMM may be a glob on purpose
      case $c in $w) echo "${p#/proc/}"; break ;; esac
    done
  done | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# dnsmasq_pids NAME: the dnsmasq processes of network NAME (argv
# /usr/sbin/dnsmasq --keep-in-foreground --conf-file=<run_dir NAME>/dnsmasq.conf)
dnsmasq_pids() { pids_where_args --keep-in-foreground "--conf-file=$(dnsmasq_conf "$1")"; }

# all_dnsmasq_pids: every dnsmasq in the sandbox, whatever its config.
all_dnsmasq_pids() { pids_of_comm dnsmasq; }

# our_dnsmasqs: dnsmasq processes started by vnet-helper for any network
# (their argv has --conf-file=<run_root>/...)
our_dnsmasqs() {
  local p
  for p in /proc/[0-9]*; do
    tr '\0' '\n' < "$p/cmdline" 2>/dev/null | grep -q "^--conf-file=$(run_root)/" && echo "${p#/proc/}"
  done | tr '\n' ' ' | sed 's/ $//'
}

# supervisor_pids NAME: processes whose argv is [*, supervise, NAME] (started
# by systemd or to adopt a network) or [*, supervise, --bring-up, NAME]
# (started by a bring-up).
supervisor_pids() {
  echo "$(pids_where_args supervise "$1") $(pids_where_args supervise --bring-up "$1")" | xargs
}

# freeze_supervisor NAME / thaw_supervisor NAME: stop NAME's supervisor
# (SIGSTOP) so that it cannot heal damage a test makes to read what status
# says about it, and let it go on. The freeze waits a second first, for the
# supervisor's own check of the last change to finish (it must not be frozen
# holding the firewall lock).
freeze_supervisor() {
  local pid; pid=$(supervisor_pids "$1")
  [ -n "$pid" ] || { echo "freeze_supervisor: no supervisor of $1" >&2; return 1; }
  sleep 1
  kill -STOP "$pid"
}
thaw_supervisor() {
  local pid; pid=$(supervisor_pids "$1")
  [ -z "$pid" ] || kill -CONT "$pid"
}

# vh_pids: processes running the installed helper (supervisors included).
vh_pids() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/exe" 2>/dev/null)" = "$VH" ] && echo "${p#/proc/}"
  done | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# iptables_pids: running iptables/xtables programs (e.g. orphans of a killed
# helper).
iptables_pids() { pids_of_comm 'iptables*' 'ip6tables*' 'xtables*' nft; }

# qemu_pids: live QEMU processes in the sandbox
qemu_pids() { pids_of_comm qemu-system-x86; }

# pidfile_dnsmasq NAME: the pid in dnsmasq's pid file, if that process is
# the network's dnsmasq
pidfile_dnsmasq() {
  local f p
  f="$(run_dir "$1")/dnsmasq.pid"
  p=$(cat "$f" 2>/dev/null) || return 1
  [ -n "$p" ] && tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null \
    | grep -qx "/usr/sbin/dnsmasq --keep-in-foreground --conf-file=$(dnsmasq_conf "$1") " || return 1
  echo "$p"
}

# supervisor_lock_held NAME: someone holds the supervisor's flock (without
# ever creating the file)
supervisor_lock_held() {
  local f; f=$(supervisor_lock "$1")
  [ -e "$f" ] || return 1
  ! ( flock -n 9 ) 9<"$f"
}

# proc_status_field PID FIELD: a /proc/PID/status value (first word).
proc_status_field() { awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$1/status"; }

# sig_bit MASKHEX SIGNUM: 1 if the signal's bit is set in a /proc mask.
sig_bit() { echo $(( (0x$1 >> ($2 - 1)) & 1 )); }

# nofile_soft PID: soft "Max open files" of a process.
nofile_soft() { awk '/^Max open files/ { print $4 }' "/proc/$1/limits"; }

# proc_stat_field PID N: field N of /proc/PID/stat (counted as in proc(5));
# proc_sid PID / proc_nice PID: fields 6 and 19.
proc_stat_field() { sed 's/^.*) //' "/proc/$1/stat" | awk -v n="$2" '{ print $(n - 2) }'; }
proc_sid() { proc_stat_field "$1" 6; }
proc_nice() { proc_stat_field "$1" 19; }

# proc_report PID PREFIX: identity, environment, limits, signals, session.
proc_report() {
  local pid=$1 p=$2 ign blk
  echo "${p}EXE=$(readlink "/proc/$pid/exe")"
  echo "${p}USER=$(stat -c %U "/proc/$pid")"
  echo "${p}UIDS=$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$pid/status")"
  echo "${p}ARGS=$(tr '\0' ' ' < "/proc/$pid/cmdline" | sed 's/ $//')"
  echo "${p}ENV_BYTES=$(wc -c < "/proc/$pid/environ")"
  echo "${p}NOFILE_SOFT=$(nofile_soft "$pid")"
  ign=$(proc_status_field "$pid" SigIgn); blk=$(proc_status_field "$pid" SigBlk)
  echo "${p}SIGTERM_IGNORED=$(sig_bit "$ign" 15)"
  echo "${p}SIGTERM_BLOCKED=$(sig_bit "$blk" 15)"
  echo "${p}SIGBLK=$blk"
  echo "${p}SID=$(proc_sid "$pid")"
  echo "${p}NICE=$(proc_nice "$pid")"
  echo "${p}CWD=$(readlink "/proc/$pid/cwd")"
  if as_user kill -0 "$pid" 2>/dev/null; then echo "${p}KILLABLE_BY_CALLER=yes"; else echo "${p}KILLABLE_BY_CALLER=no"; fi
}

# ---------------------------------------------------------------------------
# Links.

# link_exists IFACE / bridge_exists NAME / bridge_gone NAME
link_exists() { ip link show "$1" >/dev/null 2>&1; }
bridge_exists() { [ -d "/sys/class/net/$1/bridge" ]; }
bridge_gone() { ! link_exists "$1"; }

# bridge_ports NAME: the ports of bridge NAME
bridge_ports() {
  local d=/sys/class/net/$1/brif
  [ -d "$d" ] || return 0
  find "$d" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' ' | sed 's/ $//'
}

# master_of IFACE: the bridge IFACE is a port of ("none" if none).
master_of() { basename "$(readlink "/sys/class/net/$1/master" 2>/dev/null || echo none)"; }

# master_or_empty IFACE: the same, empty if none
master_or_empty() { basename "$(readlink "/sys/class/net/$1/master" 2>/dev/null)" 2>/dev/null || true; }

# listening_udp PORT: yes if some socket is bound to UDP PORT (any address).
listening_udp() {
  awk -v port="$(printf '%04X' "$1")" 'NR > 1 { split($2, a, ":"); if (a[2] == port) f = 1 }
    END { print (f ? "yes" : "no") }' /proc/net/udp
}

# ---------------------------------------------------------------------------
# State reports.

# net_state NAME [PREFIX]: what exists of network NAME, as PREFIXKEY=VALUE lines.
net_state() {
  local n=$1 p=${2:-} dm sv ports
  if link_exists "$n"; then echo "${p}BRIDGE=present"; else echo "${p}BRIDGE=absent"; fi
  echo "${p}NBRIDGES=$(ip -o link show type bridge | wc -l)"
  ports=$(bridge_ports "$n")
  echo "${p}PORTS=$ports"
  # shellcheck disable=SC2086 # one word per port
  echo "${p}NPORTS=$(count $ports)"
  echo "${p}ADDR=$(ip -4 -o addr show dev "$n" 2>/dev/null | awk '{ print $4 }' | tr '\n' ' ' | sed 's/ $//')"
  echo "${p}STP=$(ip -d link show "$n" 2>/dev/null | grep -o 'stp_state [0-9]*' | awk '{ print $2 }')"
  echo "${p}FWD_DELAY=$(ip -d link show "$n" 2>/dev/null | grep -o 'forward_delay [0-9]*' | awk '{ print $2 }')"
  echo "${p}IP_FORWARD=$(cat /proc/sys/net/ipv4/ip_forward)"
  dm=$(dnsmasq_pids "$n"); sv=$(supervisor_pids "$n")
  echo "${p}DNSMASQ_PIDS=$dm"
  # shellcheck disable=SC2046,SC2086 # one word per pid
  {
    echo "${p}NDNSMASQ=$(count $dm)"
    echo "${p}NDNSMASQ_ANY=$(count_words_of all_dnsmasq_pids)"
    echo "${p}SUPERVISOR_PIDS=$sv"
    echo "${p}NSUPERVISOR=$(count $sv)"
  }
  echo "${p}CHAINS=$(iptables-save | grep -o '^:VNET[^ ]*' | sed 's/^://' | sort | tr '\n' ' ' | sed 's/ $//')"
  echo "${p}NVNET_LINES=$(iptables-save | grep -c 'VNET' || true)"
  echo "${p}DUPS=$(fw_dups)"
  echo "${p}FOREIGN_KEPT=$(foreign_kept)"
  if [ -d "$(run_dir "$n")" ]; then echo "${p}RUNDIR=present"; else echo "${p}RUNDIR=absent"; fi
  if [ -d "$(lib_dir "$n")" ]; then echo "${p}LIBDIR=present"; else echo "${p}LIBDIR=absent"; fi
  if [ -e "$(run_dir "$n")/up" ]; then echo "${p}UP_MARKER=present"; else echo "${p}UP_MARKER=absent"; fi
}

# nothing NAME PREFIX: what is left of NAME after a refusal or a teardown, to
# compare with nothing at all (the firewall with the baseline $WORK/fw.base).
nothing() {
  net_state "$1" "$2"
  fw_compare "${2}FW" "$WORK/fw.base"
  # shellcheck disable=SC2046 # one word per pid
  echo "${2}NVH_PROCS=$(count_words_of vh_pids)"
  if [ -e "$(run_root)" ]; then echo "${2}RUN_TOP=present"; else echo "${2}RUN_TOP=absent"; fi
}

# net_brief NAME PREFIX: a short report, as PREFIX_KEY=VALUE lines (bridge,
# ports, dnsmasq and supervisor counts, rules in fw_dump)
net_brief() {
  local n=$1 p=$2 dm sv
  if link_exists "$n"; then echo "${p}_BRIDGE=present"; else echo "${p}_BRIDGE=absent"; fi
  echo "${p}_PORTS=$(bridge_ports "$n")"
  dm=$(dnsmasq_pids "$n"); sv=$(supervisor_pids "$n")
  # shellcheck disable=SC2046,SC2086 # one word per pid
  {
    echo "${p}_NDNSMASQ=$(count $dm)"
    echo "${p}_NDNSMASQ_ANY=$(count_words_of all_dnsmasq_pids)"
    echo "${p}_NSUPERVISOR=$(count $sv)"
  }
  echo "${p}_NRULES=$(fw_rule_count)"
  echo "${p}_NVNET_RULES=$(our_rule_count)"
}

# net_gone NAME: nothing of the network is left; with VERBOSE_GONE set,
# prints LEFT=<what is left> when not
net_gone() {
  local n=$1 left=""
  link_exists "$n" && left="$left bridge"
  [ -n "$(dnsmasq_pids "$n")" ] && left="$left dnsmasq"
  [ -n "$(supervisor_pids "$n")" ] && left="$left supervisor"
  supervisor_lock_held "$n" && left="$left supervisor-lock"
  [ -e "$(run_dir "$n")" ] && left="$left rundir"
  any_rules "$n" && left="$left rules"
  [ -z "$left" ] && return 0
  [ "${VERBOSE_GONE:-}" ] && echo "LEFT=$left"
  return 1
}

# net_whole NAME: up and complete: bridge up, dnsmasq (pid file) running,
# exactly one supervisor holding its lock, up marker, rules complete; with
# VERBOSE_WHOLE set, prints NOT_WHOLE=<why> when not
net_whole() {
  local n=$1 why=""
  bridge_exists "$n" || why="$why no-bridge"
  [ $(( $(cat "/sys/class/net/$n/flags" 2>/dev/null || echo 0) & 1 )) = 1 ] || why="$why bridge-down"
  pidfile_dnsmasq "$n" >/dev/null || why="$why no-dnsmasq"
  # shellcheck disable=SC2046 # one word per pid
  [ "$(count $(dnsmasq_pids "$n"))" = 1 ] || why="$why dnsmasq-count"
  # shellcheck disable=SC2046 # one word per pid
  [ "$(count $(supervisor_pids "$n"))" = 1 ] || why="$why supervisor-count"
  supervisor_lock_held "$n" || why="$why no-supervisor-lock"
  [ -e "$(run_dir "$n")/up" ] || why="$why no-up-marker"
  rules_complete "$n" || why="$why rules"
  [ -z "$why" ] && return 0
  [ "${VERBOSE_WHOLE:-}" ] && echo "NOT_WHOLE=$why"
  return 1
}

# bringup_host: the start of every tests/scripts/bringup script: ip_forward
# at 0 (it is per network namespace) so that the bring-up has to set it, and
# a firewall like a real host's: filter and nat tables with rules of someone
# else's (which must survive every bring-up and teardown unchanged, in
# place). Prints DNSMASQ_UID (the uid dnsmasq should run as).
bringup_host() {
  echo 0 > /proc/sys/net/ipv4/ip_forward
  foreign_rules
  echo "DNSMASQ_UID=$(id -u dnsmasq 2>/dev/null || id -u nobody)"
}

# holds_file PID FILE: process PID has FILE open
holds_file() {
  local fd
  for fd in /proc/"$1"/fd/*; do
    [ "$(readlink "$fd" 2>/dev/null)" = "$2" ] && return 0
  done
  return 1
}

# report_fw_same KEY FILE: KEY=yes if the firewall is exactly as saved in
# FILE (fw_save), else KEY=no and the difference
report_fw_same() {
  if fw_same "$2"; then echo "$1=yes"; else echo "$1=no"; diff "$2" <(fw_save) || true; fi
}

# report_nft_same KEY FILE: the same for nft_save
report_nft_same() {
  if nft_same "$2"; then echo "$1=yes"; else echo "$1=no"; diff "$2" <(nft_save) || true; fi
}
