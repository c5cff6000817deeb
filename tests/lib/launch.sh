# shellcheck shell=bash
# tests/lib/launch.sh: QEMU stand-ins that call the helper under test ($VH)
# and keep what they get. Source after tests/lib/common.sh.
#   launch [OPTIONS] NAME       tests/tools/nb_launch.py: N simultaneous calls,
#                               SIGKILL of the helper, a hostile caller...
#   attach_bg NAME OUTFILE      a call in the background that keeps its tap
#   release PID                 end such a call (its tap closes)

# launch [OPTIONS] NAME: tests/tools/nb_launch.py with $VH (see its docstring).
launch() { /usr/bin/python3 "$TESTS/tools/nb_launch.py" "${@:1:$#-1}" "$VH" "${@: -1}"; }

# attach_bg NAME OUTFILE [fake_qemu options...]: call the helper like QEMU in
# the background and keep the tap until `release`; waits (bounded) for the
# call's result. Sets HOLDER (the fake QEMU's pid, which holds the tap) and
# TAPNAME. With AS=user the fake QEMU itself runs as uid 4242 (so the tap's
# holder is the user, as with a real unprivileged QEMU).
attach_bg() {
  local name=$1 out=$2; shift 2
  if [ "${AS:-root}" = user ]; then
    # not as_user: $! must be the fake QEMU itself (setpriv execs it)
    # shellcheck disable=SC2086 # $AS_USER is a command prefix (several words)
    $AS_USER /usr/bin/python3 "$TESTS/tools/fake_qemu.py" --as-root --hold 600 "$@" "$VH" "$name" > "$out" 2>&1 &
  else
    /usr/bin/python3 "$TESTS/tools/fake_qemu.py" --hold 600 "$@" "$VH" "$name" > "$out" 2>&1 &
  fi
  # shellcheck disable=SC2034 # HOLDER and TAPNAME are for the caller
  HOLDER=$!
  wait_for 25 grep -q '^RC=' "$out" || { cat "$out"; die "attach to $name: no result within 25 s"; }
  if ! grep -qx 'RC=0' "$out" || ! grep -qx 'GOT_FD=yes' "$out"; then
    cat "$out"; die "attach to $name failed"
  fi
  # shellcheck disable=SC2034
  TAPNAME=$(sed -n 's/^TAP=//p' "$out")
}

# release PID: end a fake QEMU started by attach_bg (its tap closes) and wait
# until it is gone
release() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
