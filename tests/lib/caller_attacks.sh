# shellcheck shell=bash
# tests/lib/caller_attacks.sh: what the caller-attack tests
# (tests/scripts/caller_attacks/) need beyond tests/lib/net.sh: the state of a
# network seen WHATEVER the helper's runtime layout (markers and dnsmasq found
# by searching under run_root and by command line, not by a fixed path), so
# that an older binary with another layout fails these tests for its bugs, not
# for its paths; and the sessions of tests/tools/tty_attack.py. Source after
# tests/lib/common.sh and tests/lib/net.sh.

# ---------------------------------------------------------------------------
# A network's state, whatever the layout.

# net_dirs_any NAME: runtime directories named NAME under run_root (one
# level or two deep), space-separated
net_dirs_any() {
  find "$(run_root)" -mindepth 1 -maxdepth 2 -type d -name "$1" 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//'
}

# marker_any NAME MARKER: network NAME's MARKER file (up, pending) exists in
# one of its runtime directories
marker_any() {
  local d
  for d in $(net_dirs_any "$1"); do [ -e "$d/$2" ] && return 0; done
  return 1
}

# dnsmasq_pids_any NAME: dnsmasq processes run with a --conf-file of NAME's
# under run_root (.../NAME/dnsmasq.conf)
dnsmasq_pids_any() {
  local p root; root=$(run_root)
  for p in /proc/[0-9]*; do
    tr '\0' '\n' < "$p/cmdline" 2>/dev/null \
      | grep -qE "^--conf-file=$root/(.*/)?$1/dnsmasq\.conf\$" && echo "${p#/proc/}"
  done | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# guard_pids NAME: the bring-up guards of network NAME (argv [*, guard, NAME])
guard_pids() { pids_where_args guard "$1"; }

# net_complete_any NAME: bridge present, an up marker, a supervisor and a
# dnsmasq running
net_complete_any() {
  bridge_exists "$1" && marker_any "$1" up &&
    [ -n "$(supervisor_pids "$1")" ] && [ -n "$(dnsmasq_pids_any "$1")" ]
}

# net_left_any NAME FW_REF IP_FORWARD_WAS: what is left of network NAME,
# space-separated (nothing: fully undone): bridge, pending and up markers,
# runtime directory, dnsmasq, supervisor, guard, firewall different from
# FW_REF (fw_snapshot), ip_forward other than IP_FORWARD_WAS
net_left_any() {
  local n=$1 left=""
  link_exists "$n" && left="$left bridge"
  marker_any "$n" pending && left="$left pending"
  marker_any "$n" up && left="$left up"
  [ -n "$(net_dirs_any "$n")" ] && left="$left rundir"
  [ -n "$(dnsmasq_pids_any "$n")" ] && left="$left dnsmasq"
  [ -n "$(supervisor_pids "$n")" ] && left="$left supervisor"
  [ -n "$(guard_pids "$n")" ] && left="$left guard"
  [ "$(fw_norm)" = "$(cat "$2")" ] || left="$left firewall"
  [ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$3" ] || left="$left ip_forward"
  echo "${left# }"
}

# net_undone_any NAME FW_REF IP_FORWARD_WAS: nothing of NAME is left
net_undone_any() { [ -z "$(net_left_any "$@")" ]; }

# net_brief_any NAME: one line: bridge, markers, processes (for reports)
net_brief_any() {
  echo "bridge=$(yes_no link_exists "$1") up=$(yes_no marker_any "$1" up)" \
    "pending=$(yes_no marker_any "$1" pending) rundirs=[$(net_dirs_any "$1")]" \
    "supervisor=[$(supervisor_pids "$1")] dnsmasq=[$(dnsmasq_pids_any "$1")]" \
    "guard=[$(guard_pids "$1")] ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)"
}

# network_lock_any NAME: network NAME's lock file: network_lock NAME if it
# exists, else a file NAME.lock elsewhere under run_root/lock (an older
# layout); empty if there is none yet
network_lock_any() {
  local f; f=$(network_lock "$1")
  if [ -e "$f" ]; then echo "$f"; return; fi
  find "$(run_root)/lock" -name "$1.lock" 2>/dev/null | head -n 1
}

# ---------------------------------------------------------------------------
# Sessions (tests/tools/tty_attack.py runs its command as the leader of a
# session of its own).

# child_pids PID: the children of process PID
child_pids() { ps -o pid= --ppid "$1" | tr -d ' ' | tr '\n' ' ' | sed 's/ $//'; }

# session_pids SID: the processes of session SID
session_pids() { ps -e -o pid=,sid= | awk -v s="$1" '$2 == s { print $1 }' | tr '\n' ' ' | sed 's/ $//'; }

# session_helper_states SID: pid:state of the session's vnet-helper processes
session_helper_states() {
  local p st out=""
  for p in $(session_pids "$1"); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = vnet-helper ] || continue
    st=$(proc_stat_field "$p" 3 2>/dev/null) || continue
    out="$out $p:$st"
  done
  echo "${out# }"
}

# session_caller_states SID: pid:state of the session's job (what
# tty_attack.py ran: the fake QEMU, in a process group other than the
# leader's) without its vnet-helper processes; T when the tty stopped it
session_caller_states() {
  ps -e -o pid=,sid=,pgid=,stat=,comm= \
    | awk -v s="$1" '$2 == s && $3 != s && $5 != "vnet-helper" { printf "%s%s:%s", sep, $1, substr($4, 1, 1); sep = " " }'
}

# end_attack PID: end a tty_attack.py started in the background as PID: kill
# (SIGKILL) every process of the session it made, then the tool itself, and
# wait for it
end_attack() {
  local att=$1 sid p
  for sid in $(child_pids "$att"); do
    for p in $(session_pids "$sid"); do kill -KILL "$p" 2>/dev/null || true; done
  done
  kill -KILL "$att" 2>/dev/null || true
  wait "$att" 2>/dev/null || true
}

# ---------------------------------------------------------------------------
# Scheduling and limits of a process.

# online_cpus: the online CPUs' numbers, space-separated
online_cpus() {
  tr ',' '\n' < /sys/devices/system/cpu/online | awk -F- '{ e = ($2 == "" ? $1 : $2); for (c = $1; c <= e; c++) { printf "%s%d", sep, c; sep = " " } } END { print "" }'
}

# allows_all_cpus PID: PID's affinity mask (taskset -p) has every online CPU
allows_all_cpus() {
  local mask c
  mask=$(taskset -p "$1" | sed -n 's/.*affinity mask: //p')
  [ -n "$mask" ] || return 1
  for c in $(online_cpus); do
    # the mask is hex of any length: test CPU c's bit in its 4-bit digit
    local digit=$(( c / 4 )) bit=$(( c % 4 )) len=${#mask}
    [ "$digit" -lt "$len" ] || return 1
    [ $(( (16#${mask:len-1-digit:1} >> bit) & 1 )) = 1 ] || return 1
  done
}

# sched_report PID PREFIX: scheduling policy, nice, I/O class, CPUs, OOM
# score adjustment and open-files limit of PID, as PREFIXKEY=VALUE lines
sched_report() {
  local pid=$1 p=$2
  echo "${p}POLICY=$(chrt -p "$pid" | sed -n 's/.*scheduling policy: //p')"
  echo "${p}NICE=$(proc_nice "$pid")"
  echo "${p}IO=$(ionice -p "$pid")"
  echo "${p}AFFINITY=$(taskset -p "$pid" | sed -n 's/.*affinity mask: //p')"
  echo "${p}ALL_CPUS=$(yes_no allows_all_cpus "$pid")"
  echo "${p}OOM_SCORE_ADJ=$(cat "/proc/$pid/oom_score_adj")"
  echo "${p}NOFILE=$(awk '/^Max open files/ { print $4 "/" $5 }' "/proc/$pid/limits")"
}

# has_cap_sys_resource: this process has CAP_SYS_RESOURCE (bit 24) in its
# effective set (without it nobody, root included, can raise a hard limit)
has_cap_sys_resource() { [ $(( (16#$(proc_status_field "$BASHPID" CapEff) >> 24) & 1 )) = 1 ]; }

# ---------------------------------------------------------------------------
# Descriptors.

# holders_of LINK: pid:comm:fd of every open descriptor whose /proc link
# reads LINK (e.g. pipe:[123]), space-separated
holders_of() {
  local p fd
  for p in /proc/[0-9]*; do
    for fd in "$p"/fd/*; do
      [ "$(readlink "$fd" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}:$(cat "$p/comm" 2>/dev/null):${fd##*/}"
    done
  done 2>/dev/null | tr '\n' ' ' | sed 's/ $//'
}

# ---------------------------------------------------------------------------
# User networks (issue 12) under attack: named users in private copies of
# /etc/passwd and /etc/group (bind mounts, this mount namespace only), the
# admin's policy, and `net` commands as those users.

# ua_users: mallory 4242 (the attacker) and victor 4243 (the victim), each
# with a group of its own, and group vmusers (4300) with both
ua_users() {
  local f
  for f in passwd group; do cp "/etc/$f" "$WORK/ua.$f"; done
  cat >> "$WORK/ua.passwd" <<'EOP'
mallory:x:4242:4242:attacker:/nonexistent:/bin/sh
victor:x:4243:4243:victim:/nonexistent:/bin/sh
EOP
  cat >> "$WORK/ua.group" <<'EOG'
mallory:x:4242:
victor:x:4243:
vmusers:x:4300:mallory,victor
EOG
  for f in passwd group; do
    chown root:root "$WORK/ua.$f"; chmod 0644 "$WORK/ua.$f"
    mount --bind "$WORK/ua.$f" "/etc/$f"
  done
}

# ua_as USER CMD...: CMD as mallory or victor (groups: its own and vmusers)
ua_as() {
  local id; case $1 in mallory) id=4242 ;; victor) id=4243 ;; *) die "ua_as: no user $1" ;; esac
  shift
  setpriv --reuid="$id" --regid="$id" --groups="$id,4300" -- "$@"
}

# ua_policy: /etc/vnet-helper/user-networks.toml (root 0644) from stdin
ua_policy() {
  mkdir -p /etc/vnet-helper
  cat > /etc/vnet-helper/user-networks.toml
  chmod 0644 /etc/vnet-helper/user-networks.toml
}

# ua_records_dir: where user network records are
ua_records_dir() { echo /var/lib/vnet-helper/user-networks; }

# ua_record NAME: NAME's record file
ua_record() { echo "/var/lib/vnet-helper/user-networks/$1.toml"; }

# ua_dir_entries DIR: the number of entries of DIR (0 if it does not exist)
ua_dir_entries() { find "$1" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# ua_pool [KEY = VALUE]...: a policy with one pool `vu-' (10.240.0.0/16,
# every mode, group vmusers) and the extra keys given, one per argument
ua_pool() {
  printf '%s\n' '[[pool]]' 'users = ["@vmusers"]' 'prefix = "vu-"' 'subnets = ["10.240.0.0/16"]' \
    'modes = ["nat", "isolated", "routed"]' "$@" | ua_policy
}
