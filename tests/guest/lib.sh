# tests/guest/lib.sh: boot the busybox test guest (tests/guest/build.sh) under
# QEMU/TCG as the unprivileged test user, from sandboxed test scripts
# (tests/sandbox.sh). Source it after tests/lib.sh:  source "$TESTS/guest/lib.sh"
#
#   guest_boot NAME SCRIPT [QEMU ARGS...]   boot, run SCRIPT in the guest, wait;
#                                           0 iff the guest printed TEST-RC=0
#   guest_start NAME SCRIPT [QEMU ARGS...]  the same, in the background
#   guest_wait NAME                         wait for a guest_start'ed guest
#   guest_wait_marker NAME REGEX [SECONDS]  poll the serial log (guest running)
#   guest_running NAME                      true while its QEMU has not exited
#   guest_expect NAME REGEX                 grep the serial log (ERE)
#   guest_log NAME                          path of the serial log
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

guest_start() {
  local name=$1 script=$2; shift 2
  local d="$WORK/guest-$name.d" log
  log=$(guest_log "$name")
  guest_image
  rm -rf "$d"; mkdir -p "$d/root"
  if [ "$script" = - ]; then cat > "$d/root/test.sh"; else cp "$script" "$d/root/test.sh"; fi
  if [ -n "${GUEST_OVERLAY:-}" ]; then cp -a "$GUEST_OVERLAY/." "$d/root/"; fi
  chmod 0755 "$d/root/test.sh"
  (cd "$d/root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -1 > "$d/test.cpio.gz"
  # the kernel unpacks concatenated archives in order: base, then the test's
  cat "$WORK/guest-img/base.cpio.gz" "$d/test.cpio.gz" > "$d/initrd"
  chmod 0755 "$d"; chmod 0644 "$d/initrd"
  : > "$log"; : > "$log.qemu-stderr"
  # shellcheck disable=SC2086  # $GUEST_RUN_AS / $AS_USER are command prefixes
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
