# shellcheck shell=bash
# tests/lib/container.sh: a Debian 12 container with systemd as PID 1
# (systemd-nspawn), for the tests of the systemd path (tests/systemd.rs). Used
# from a sandboxed script (tests/sandbox.sh: own mount, network and PID
# namespaces; the container gets a network namespace of its own on top,
# --private-network, so nothing it does reaches the host's network). Source it
# after tests/lib/common.sh.
#
#   container_boot                 boot a throw-away container: an overlay (on
#                                  tmpfs) over the cached root file system of
#                                  tests/container/rootfs.sh; sets CT_ROOT (its /,
#                                  seen from here) and CT_PID (its PID 1)
#   ct CMD...                      run CMD as root in the container, as a transient
#                                  unit (systemd-run --wait --pipe --collect): the
#                                  container's capabilities, seccomp and cgroup
#   ct_as USER CMD...              the same as USER (--uid), no login session
#   ct_session USER CMD...         CMD in a login session of USER (runuser -l:
#                                  pam_systemd makes a session-N.scope)
#   ct_sh SCRIPT                   bash -c SCRIPT as root in the container
#   ct_rules                       how many lines of our rules the container's
#                                  firewall has (either backend: VNET chains in
#                                  iptables-save, our vnet_helper tables in nft)
#   ct_install_deb FILE            dpkg -i FILE in the container (output on stderr)
#   ct_cgroup PID                  the unified-hierarchy cgroup of a container pid
#   container_stop                 power it off (bounded), undo the mounts and cgroups
#                                  (done on exit; a failing script first prints
#                                  SCRIPT_FAILED=N and the container's state: ct_dump)
#   ct_dump                        units, processes, links, rules, journal, on stderr
#
# $WORK is bind-mounted into the container at the same path, so files made
# here (guest images, serial logs) have the same name there. What the issue
# found on these hosts (PID 1 is not systemd, cgroups v1 + v2 hybrid):
# --register=no and --keep-unit are needed, and the launching shell must sit
# in a cgroup of its own first; machinectl and systemd-run -M do not work
# without a host systemd, so commands enter with nsenter.

CT_DIR=$WORK/ct
CT_ROOT=$CT_DIR/root
CT_PID=
CT_NSPAWN=
CT_CGROUP=vh-ct-$(cut -c1-13 /proc/sys/kernel/random/uuid)

# _ct_mount_cgroups: this sandbox remounted /sys, hiding the cgroup file
# systems: mount the same hierarchies again (the host's, as there is no
# cgroup namespace), v1 controllers as /proc/self/cgroup lists them
_ct_mount_cgroups() {
  local _n ctl _p dir
  [ -z "$(ls -A /sys/fs/cgroup)" ] || return 0
  if [ "$(cut -d: -f1 /proc/self/cgroup | sort -u)" = 0 ]; then
    mount -t cgroup2 cgroup2 /sys/fs/cgroup
    return 0
  fi
  mount -t tmpfs -o mode=0755 cgroup /sys/fs/cgroup
  while IFS=: read -r _n ctl _p; do
    if [ -z "$ctl" ]; then
      mkdir -p /sys/fs/cgroup/unified
      mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
    elif [ "$ctl" = name=systemd ]; then
      mkdir -p /sys/fs/cgroup/systemd
      mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
    else
      dir=/sys/fs/cgroup/$ctl
      mkdir -p "$dir"
      mount -t cgroup -o "$ctl" cgroup "$dir"
    fi
  done < /proc/self/cgroup
}

# _ct_hierarchies: the cgroup directories nspawn places the container under
_ct_hierarchies() {
  if [ -d /sys/fs/cgroup/systemd ]; then
    echo /sys/fs/cgroup/systemd /sys/fs/cgroup/unified
  else
    echo /sys/fs/cgroup
  fi
}

# _ct_own_cgroup: move this shell into a cgroup of its own, so that nspawn's
# sub-cgroups do not land at the host's root
_ct_own_cgroup() {
  local h
  for h in $(_ct_hierarchies); do
    [ -d "$h" ] || continue
    mkdir -p "$h/$CT_CGROUP"
    echo $$ > "$h/$CT_CGROUP/cgroup.procs"
  done
}

# _ct_release_cgroups: back to the root cgroups; remove ours (the host's
# hierarchies: nothing of ours may stay there)
_ct_release_cgroups() {
  local h
  for h in $(_ct_hierarchies); do
    [ -d "$h/$CT_CGROUP" ] || continue
    echo $$ > "$h/cgroup.procs" 2>/dev/null || true
    find "$h/$CT_CGROUP" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [ ! -d "$h/$CT_CGROUP" ] || echo "container.sh: could not remove cgroup $h/$CT_CGROUP" >&2
  done
}

container_boot() {
  local rootfs state=
  rootfs=$("$TESTS/container/rootfs.sh") || { echo "FAIL=no container root file system" ; return 1; }
  mkdir -p "$CT_DIR"
  mount -t tmpfs -o mode=0755 ct "$CT_DIR"
  mkdir -p "$CT_DIR/upper" "$CT_DIR/work" "$CT_ROOT"
  mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$CT_DIR/upper,workdir=$CT_DIR/work" "$CT_ROOT"
  echo "ct-$$" > "$CT_ROOT/etc/hostname"
  _ct_mount_cgroups
  _ct_own_cgroup
  set -E
  trap 'echo "FAILED (status $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
  trap _ct_on_exit EXIT
  systemd-nspawn --quiet -D "$CT_ROOT" -b --private-network --register=no --keep-unit \
    --bind=/dev/net/tun --bind="$WORK:$WORK" > "$WORK/ct-console.log" 2>&1 < /dev/null &
  CT_NSPAWN=$!
  for _ in $(seq 100); do
    # nspawn's first child exits once it has forked the container's PID 1
    CT_PID=$(ps -o pid=,comm= --ppid "$CT_NSPAWN" 2>/dev/null | awk '$2 == "systemd" { print $1; exit }')
    [ -n "$CT_PID" ] && break
    sleep 0.1
  done
  [ -n "$CT_PID" ] || { cat "$WORK/ct-console.log" >&2; echo "FAIL=systemd-nspawn started no container"; return 1; }
  for _ in $(seq 300); do
    state=$(nsenter -t "$CT_PID" -a systemctl is-system-running 2>/dev/null || true)
    case $state in running|degraded) break ;; esac
    sleep 0.1
  done
  echo "CONTAINER_STATE=$state"
  echo "CONTAINER_PID1=$(cat "/proc/$CT_PID/comm")"
  case $state in running|degraded) ;; *) cat "$WORK/ct-console.log" >&2; return 1 ;; esac
}

container_stop() {
  local _i
  if [ -n "$CT_NSPAWN" ] && kill -0 "$CT_NSPAWN" 2>/dev/null; then
    kill -TERM "$CT_NSPAWN" 2>/dev/null || true
    for _i in $(seq 150); do kill -0 "$CT_NSPAWN" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$CT_NSPAWN" 2>/dev/null || true
    wait "$CT_NSPAWN" 2>/dev/null || true
  fi
  CT_NSPAWN=
  umount -l "$CT_ROOT" 2>/dev/null || true
  umount -l "$CT_DIR" 2>/dev/null || true
  _ct_release_cgroups
}

# shellcheck disable=SC2120 # options are for callers
_ct_run() { nsenter -t "$CT_PID" -a systemd-run --quiet --wait --pipe --collect "$@"; }

ct() { _ct_run -- "$@"; }

ct_as() { local u=$1; shift; _ct_run --uid="$u" -- "$@"; }

ct_sh() { ct bash -c "$1"; }

ct_session() {
  local u=$1; shift
  # runuser -l USER -c 'exec "$0" "$@"' CMD ARGS: a login shell of USER runs
  # CMD ARGS (the arguments after the user name go to the shell)
  # shellcheck disable=SC2016 # for the user's shell
  ct runuser -l -c 'exec "$0" "$@"' -- "$u" "$@"
}

ct_rules() {
  ct_sh '{ iptables-save 2>/dev/null; nft list ruleset 2>/dev/null; } | grep -c -e VNET -e vnet_helper' || true
}

ct_install_deb() {
  cp "$1" "$CT_ROOT/root/"
  ct dpkg -i "/root/$(basename "$1")" >&2
}

ct_cgroup() { ct_sh "sed -n 's/^0:://p' /proc/$1/cgroup"; }

ct_dump() {
  {
    echo "===== container state ====="
    ct_sh 'systemctl --no-pager --all list-units "vnet-helper@*"; ps -eo pid,user,cgroup:60,args;
      ip -br link; iptables-save; ls -laR /run/vnet-helper; journalctl --no-pager -n 80' 2>&1 || true
    echo "--- console"; tail -n 30 "$WORK/ct-console.log" 2>/dev/null || true
    echo "===== end of container state ====="
  } >&2
}

_ct_on_exit() {
  local rc=$?
  if [ "$rc" != 0 ]; then echo "SCRIPT_FAILED=$rc"; ct_dump; fi
  container_stop
  exit "$rc"
}

# ct_tell_guest IP MSG: tell_guest from inside the container (the guest's
# network is the container's): deliver MSG to the guest's `nc -l -p 7777`
ct_tell_guest() {
  # shellcheck disable=SC2016 # expanded by the container's bash
  ct bash -c 'for i in $(seq 60); do
      if timeout 3 bash -c "echo $2 > /dev/tcp/$1/7777" 2>/dev/null; then exit 0; fi; sleep 0.5
    done; echo "ct_tell_guest $1: could not connect" >&2; exit 1' sh "$1" "$2"
}

# ct_unit_pid UNIT: the main pid of UNIT in the container (0 if none)
ct_unit_pid() { ct systemctl show -p MainPID --value "$1"; }

# ct_network_gone NAME: true when nothing of network NAME is left in the
# container: no bridge, no rule, no dnsmasq, no supervisor, no runtime files
ct_network_gone() {
  ct_sh "! ip link show dev $1 >/dev/null 2>&1 && ! iptables-save | grep -q VNET \
    && ! pgrep -x dnsmasq >/dev/null && ! pgrep -f '^/usr/libexec/vnet-helper supervise' >/dev/null \
    && [ ! -e /run/vnet-helper/networks/$1 ]"
}

# ct_hold_tap SECONDS [NAME]: in the background, act like QEMU in the
# container (tests/tools/fake_qemu.py, as uid 4242): take a tap on network
# NAME (default vnet0) from the package's helper and hold it SECONDS
ct_hold_tap() {
  cp "$TESTS/tools/fake_qemu.py" "$WORK/fake_qemu.py"
  ct env HOLD="$1" python3 "$WORK/fake_qemu.py" /usr/libexec/vnet-helper "${2:-vnet0}" > "$WORK/hold.out" 2>&1 &
}

# ct_attach [NAME]: one QEMU-like call in the container (uid 4242); its output
ct_attach() {
  cp "$TESTS/tools/fake_qemu.py" "$WORK/fake_qemu.py"
  ct python3 "$WORK/fake_qemu.py" /usr/libexec/vnet-helper "${1:-vnet0}"
}

# ct_ports NAME: the number of ports of bridge NAME in the container
ct_ports() { ct_sh "ls /sys/class/net/$1/brif 2>/dev/null | wc -l"; }

# ct_ports_are NAME N: true if bridge NAME has N ports (for wait_for)
ct_ports_are() { [ "$(ct_ports "$1")" = "$2" ]; }
