# shellcheck shell=bash
# tests/lib/guest.sh: boot the busybox test guest (tests/guest/build.sh) under
# QEMU/TCG as the unprivileged test user, from sandboxed test scripts
# (tests/sandbox.sh), and talk to it. Source it after tests/lib/common.sh.
#
#   guest_boot NAME SCRIPT [QEMU ARGS...]   boot, run SCRIPT in the guest, wait;
#                                           0 iff the guest printed TEST-RC=0
#   guest_start NAME SCRIPT [QEMU ARGS...]  the same, in the background
#   guest_initrd NAME SCRIPT                the initrd alone (for libvirt)
#   guest_wait NAME                         wait for a guest_start'ed guest
#   guest_wait_marker NAME REGEX [SECONDS]  poll the serial log (guest running)
#   guest_running NAME                      true while its QEMU has not exited
#   guest_expect NAME REGEX                 grep the serial log (ERE)
#   guest_log NAME                          path of the serial log
#   nic BRIDGE MAC                          NIC=(QEMU options of a NIC via $VH)
#   guest_value NAME KEY / gval NAME KEY    what the guest printed
#   release_guest NAME IP / tell_guest IP MSG   unblock a waiting guest
#   guest_snippets / guest_script FILE      shell functions for guest scripts
#   guest_overlay_build                     static extras for GUEST_OVERLAY
#
# SCRIPT is a file (or - for stdin) run by `sh -e` inside the guest after eth0
# is up (busybox: ip, ping, udhcpc, nc, httpd; wget crashes, use nc). Its output
# goes to the serial log; the guest then powers off. QEMU ARGS are the network
# options, e.g. -netdev bridge,id=n0,br=br0,helper=$VH -device virtio-net-pci,netdev=n0
# On failure the serial log and QEMU's stderr are printed on stderr.
#
# Environment knobs: GUEST_TIMEOUT (seconds per boot, default 150),
# GUEST_DIR (image cache, default <repo>/target/vh-guest), GUEST_APPEND (extra
# kernel arguments), GUEST_OVERLAY (a directory copied into the guest's /),
# GUEST_RUN_AS (prefix for QEMU, default $AS_USER), GUEST_MEM (default 256).

GUEST_DIR=${GUEST_DIR:-${REPO:-$(readlink -f "$TESTS/..")}/target/vh-guest}
declare -gA _GUEST_PID=() _GUEST_T0=()

guest_log() { echo "$WORK/guest-$1.log"; }

# guest_image: build (or reuse) the cached kernel + base initramfs and put
# world-readable copies in $WORK/guest-img for the unprivileged QEMU.
guest_image() {
  if [ ! -s "$WORK/guest-img/vmlinuz" ]; then
    "$TESTS/guest/build.sh" "$GUEST_DIR" >&2
    mkdir -p "$WORK/guest-img"
    install -m 0644 "$GUEST_DIR/vmlinuz" "$WORK/guest-img/vmlinuz"
    install -m 0644 "$GUEST_DIR/base.cpio.gz" "$WORK/guest-img/base.cpio.gz"
    chmod 0755 "$WORK/guest-img"
  fi
}

# guest_initrd NAME SCRIPT: build guest NAME's initrd (the base image, then
# SCRIPT as /test.sh and $GUEST_OVERLAY) as $WORK/guest-NAME.d/initrd,
# world-readable (the kernel is $WORK/guest-img/vmlinuz)
guest_initrd() {
  local name=$1 script=$2
  local d="$WORK/guest-$name.d"
  guest_image
  rm -rf "$d"; mkdir -p "$d/root"
  if [ "$script" = - ]; then cat > "$d/root/test.sh"; else cp "$script" "$d/root/test.sh"; fi
  if [ -n "${GUEST_OVERLAY:-}" ]; then cp -a "$GUEST_OVERLAY/." "$d/root/"; fi
  chmod 0755 "$d/root/test.sh"
  (cd "$d/root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -1 > "$d/test.cpio.gz"
  # the kernel unpacks concatenated archives in order: base, then the test's
  cat "$WORK/guest-img/base.cpio.gz" "$d/test.cpio.gz" > "$d/initrd"
  chmod 0755 "$d"; chmod 0644 "$d/initrd"
}

guest_start() {
  local name=$1 script=$2; shift 2
  local d="$WORK/guest-$name.d" log
  log=$(guest_log "$name")
  guest_initrd "$name" "$script"
  : > "$log"; : > "$log.qemu-stderr"
  # shellcheck disable=SC2086 # $GUEST_RUN_AS / $AS_USER are command prefixes
  ${GUEST_RUN_AS:-$AS_USER} timeout -k 5 "${GUEST_TIMEOUT:-150}" \
    qemu-system-x86_64 -accel tcg -m "${GUEST_MEM:-256}" -smp 1 \
      -nodefaults -no-user-config -display none -serial stdio -no-reboot \
      -kernel "$WORK/guest-img/vmlinuz" -initrd "$d/initrd" \
      -append "console=ttyS0 quiet panic=-1 ${GUEST_APPEND:-}" \
      "$@" </dev/null >"$log" 2>"$log.qemu-stderr" &
  _GUEST_PID[$name]=$!
  _GUEST_T0[$name]=$EPOCHREALTIME
}

# _guest_dump NAME WHY: explain a failure with the whole serial log
_guest_dump() {
  local log; log=$(guest_log "$1")
  {
    echo "=== guest $1: $2"
    echo "--- serial log ($log) ---"; cat "$log" 2>/dev/null || true
    echo "--- qemu stderr ---"; cat "$log.qemu-stderr" 2>/dev/null || true
    echo "=== end of guest $1"
  } >&2
}

guest_wait() {
  local name=$1 rc=0 log t
  log=$(guest_log "$name")
  wait "${_GUEST_PID[$name]}" || rc=$?
  t=$(awk -v a="${_GUEST_T0[$name]}" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  echo "GUEST_SECONDS_$name=$t"
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    _guest_dump "$name" "timed out after ${GUEST_TIMEOUT:-150} s"; return 1
  elif [ "$rc" != 0 ]; then
    _guest_dump "$name" "QEMU exited with status $rc"; return 1
  elif ! grep -q '^VH-GUEST: TEST-RC=0' "$log"; then
    _guest_dump "$name" "the guest's test script did not succeed (no 'VH-GUEST: TEST-RC=0')"; return 1
  fi
  return 0
}

guest_boot() {
  guest_start "$@"
  guest_wait "$1"
}

guest_running() { kill -0 "${_GUEST_PID[$1]}" 2>/dev/null; }

guest_wait_marker() {
  local name=$1 re=$2 secs=${3:-${GUEST_TIMEOUT:-150}} log i=0
  log=$(guest_log "$name")
  while ! grep -Eq -- "$re" "$log" 2>/dev/null; do
    if ! guest_running "$name"; then
      _guest_dump "$name" "exited before printing /$re/"; return 1
    fi
    if [ $i -ge $((secs * 5)) ]; then
      _guest_dump "$name" "no /$re/ after $secs s"; return 1
    fi
    sleep 0.2; i=$((i + 1))
  done
}

guest_expect() {
  if ! grep -Eq -- "$2" "$(guest_log "$1")"; then
    _guest_dump "$1" "expected /$2/ in the serial log"; return 1
  fi
}

# ---------------------------------------------------------------------------
# Talking to guests.

# nic BRIDGE MAC: NIC=(the QEMU options of one virtio NIC on BRIDGE through $VH)
nic() {
  # shellcheck disable=SC2034 # for the caller: guest_start NAME SCRIPT "${NIC[@]}"
  NIC=(-netdev "bridge,id=n0,br=$1,helper=$VH" -device "virtio-net-pci,netdev=n0,mac=$2")
}

# guest_value NAME KEY: the last KEY=... line the guest printed (CR stripped)
guest_value() {
  tr -d '\r' < "$(guest_log "$1")" | sed -n "s/^$2=//p" | tail -n 1
}

# gval NAME KEY: the value of the first "KEY=VALUE" line of guest NAME's
# serial log (carriage returns stripped, one pair of [brackets] removed)
gval() {
  tr -d '\r' < "$(guest_log "$1")" | sed -n "s/^$2=//p" | head -1 | sed 's/^\[\(.*\)\]$/\1/'
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

# guest_snippets: shell functions for a guest's script (busybox sh -e), on
# stdout. dhcp HOSTNAME: take a lease with the image's udhcpc script
# (tests/guest/build.sh: configures eth0, the default route and resolv.conf,
# writes /tmp/dhcp.env) and print it as LEASE_* lines. pings N ADDR TAG,
# tcp TAG ADDR PORT. wait_release: block (bounded) until the host connects to
# port 7777 (see release_guest). lease, wait_go, listen9000, try_tcp: the
# same kind of thing for tests/scripts/features (see guest_script).
guest_snippets() {
  cat "$TESTS/lib/guest_side.sh"
}

# guest_script FILE < BODY: guest_snippets followed by BODY, as FILE
guest_script() { { guest_snippets; cat; } > "$1"; }

# ---------------------------------------------------------------------------
# The guest's extras, in $GUEST_EXTRAS (give it as GUEST_OVERLAY): a static
# UDP recorder (busybox nc here has no -u), a static DHCPv6 client (no udhcpc6
# either), both from tests/tools/, and a listener script.

GUEST_EXTRAS=$WORK/overlay

guest_overlay_build() {
  [ -x "$GUEST_EXTRAS/bin/dhcp6c" ] && return 0
  mkdir -p "$GUEST_EXTRAS/bin"
  local p
  for p in udprecv dhcp6c; do
    gcc -static -O2 -o "$GUEST_EXTRAS/bin/$p" "$TESTS/tools/$p.c"
    strip "$GUEST_EXTRAS/bin/$p" 2>/dev/null || true
  done
  printf '#!/bin/sh\necho LISTENER-OK\n' > "$GUEST_EXTRAS/bin/listener-ok"
  chmod 0755 "$GUEST_EXTRAS/bin/"*
  chmod -R a+rX "$GUEST_EXTRAS"
}
