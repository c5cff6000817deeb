# shellcheck shell=bash
# tests/lib/common.sh: what every sandboxed test script needs. Sourced first,
# inside tests/sandbox.sh (see there for $VH, $REF, $WORK, $TESTS, $REPO,
# $AS_USER), as `source "$TESTS/lib/common.sh"`.
#
# Conventions of tests/lib/*.sh: facts go to stdout as KEY=VALUE lines (the
# Rust side asserts on them); diagnostics go to stderr; nothing waits without
# a bound. Every function name is defined once across tests/lib/.

# ---------------------------------------------------------------------------
# Paths: the one place that knows where vnet-helper keeps things.

# definitions_dir: where network definitions live (NAME.toml)
definitions_dir() { echo /etc/vnet-helper/networks; }
# definition_file NAME: the definition of network NAME
definition_file() { echo "/etc/vnet-helper/networks/$1.toml"; }
# acl_file: qemu-bridge-helper's ACL
acl_file() { echo /etc/qemu/bridge.conf; }
# run_root: the helper's runtime directory
run_root() { echo /run/vnet-helper; }
# run_dir NAME: runtime directory of network NAME (dnsmasq.conf, pid, up...)
run_dir() { echo "/run/vnet-helper/networks/$1"; }
# lib_dir NAME: persistent directory of network NAME (the lease file)
lib_dir() { echo "/var/lib/vnet-helper/networks/$1"; }
# lease_file NAME: dnsmasq's lease file of network NAME
lease_file() { echo "/var/lib/vnet-helper/networks/$1/dnsmasq.leases"; }
# dnsmasq_conf NAME: the dnsmasq configuration of network NAME
dnsmasq_conf() { echo "/run/vnet-helper/networks/$1/dnsmasq.conf"; }
# network_lock NAME: the flock file serializing changes to network NAME
network_lock() { echo "/run/vnet-helper/lock/networks/$1.lock"; }
# supervisor_lock NAME: the flock file held by NAME's supervisor
supervisor_lock() { echo "/run/vnet-helper/lock/supervisors/$1.lock"; }

# ---------------------------------------------------------------------------
# Running things.

# as_user CMD...: run CMD as the unprivileged test user (uid/gid 4242, no
# groups), through the sandbox's $AS_USER prefix
# shellcheck disable=SC2086 # $AS_USER is a command prefix (several words)
as_user() { $AS_USER "$@"; }

# call_helper HELPER BRIDGE [EXTRA ARGS...]: act like QEMU: make a socketpair,
# run HELPER as the unprivileged test user with --use-vnet --fd=N --br=BRIDGE,
# receive the fd, and print RC=<exit status>, GOT_FD=yes|no, TAP=<name>;
# with HOLD=SECONDS it keeps the tap open that long before exiting (the
# variable HOLD_CMD, if set, is run by bash while the tap is held).
call_helper() {
  /usr/bin/python3 "$TESTS/tools/fake_qemu.py" "$@"
}

# ---------------------------------------------------------------------------
# Time.

# now: the current time in seconds since the epoch (fractional)
now() { echo "$EPOCHREALTIME"; }

# since T0: seconds elapsed since T0 (from `now`), two decimals
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }

# diff_s T0 T1: T1 - T0 in seconds, three decimals
diff_s() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# wait_for SECONDS CMD...: run CMD every 50 ms until it succeeds (0) or
# SECONDS (may be fractional) have passed (1). Bounded whatever CMD does
# (each try is a fresh run).
wait_for() {
  local limit=$1 end; shift
  end=$(awk -v t="$EPOCHREALTIME" -v l="$limit" 'BEGIN { printf "%.0f", (t + l) * 1000000 }')
  while :; do
    if "$@"; then return 0; fi
    [ "${EPOCHREALTIME//[.,]/}" -gt "$end" ] && return 1
    sleep 0.05
  done
}

# count WORDS...: the number of words
count() { echo $#; }

# count_words_of CMD...: the number of words CMD prints (e.g. pids)
count_words_of() {
  local out; out=$("$@")
  # shellcheck disable=SC2086 # split into words on purpose
  count $out
}

# ---------------------------------------------------------------------------
# Failures.

# dump_state [NAME]: everything useful after a failure, on stderr (links,
# addresses, routes, processes, the firewall, the helper's files; those of
# network NAME in full)
dump_state() {
  {
    echo "===== sandbox state${1:+ ($1)} ====="
    ip -d link show 2>&1 | grep -E '^[0-9]+:|bridge |stp_state' || true
    ip -br addr 2>&1 || true
    ip route 2>&1 || true
    ip -6 route 2>&1 || true
    ps -eo pid,ppid,user,sid,stat,args 2>&1 || true
    iptables-save 2>&1 || true
    ip6tables-save 2>&1 || true
    echo "--- files"; find "$(run_root)" /var/lib/vnet-helper 2>&1 | head -200 || true
    if [ -n "${1:-}" ]; then
      for f in "$(run_dir "$1")"/* "$(lib_dir "$1")"/*; do
        [ -f "$f" ] && { echo "-- $f"; head -c 3000 "$f"; echo; }
      done 2>/dev/null || true
    fi
    echo "===== end of state ====="
  } >&2
}

# die MSG: print FAIL=MSG and the state, and exit 1
die() {
  echo "FAIL=$*"
  dump_state ""
  exit 1
}

# dump_on_failure [NAME]: when the script fails, name the failing command,
# print SCRIPT_FAILED=<status> and dump the state (of network NAME)
dump_on_failure() {
  set -E
  trap 'echo "FAILED (status $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
  DUMP_NETWORK=${1:-}
  trap _exit_dump EXIT
}
_exit_dump() {
  local rc=$?
  if [ "$rc" != 0 ]; then echo "SCRIPT_FAILED=$rc"; dump_state "$DUMP_NETWORK"; fi
  exit "$rc"
}

# export_functions: export every function defined so far, so that the
# scripts fake_qemu.py and nb_launch.py run while they hold a tap (new bash
# processes) can use them
export_functions() {
  # shellcheck disable=SC2046 # one word per function name
  export -f $(declare -F | awk '{ print $3 }')
}

# yes_no CMD...: "yes" if CMD succeeds, else "no"
yes_no() { if "$@"; then echo yes; else echo no; fi; }
