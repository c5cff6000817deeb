# shellcheck shell=bash
# tests/lib/attach.sh: the drop-in tests' setup (tests/scripts/attach/): the
# helper under test as $H, bridge br0 (up, allowed), `call` and an inspection
# script for a held tap. Source after tests/lib/common.sh, then call
# attach_setup.
#
# Environment: USE_REF=1 makes $H the reference qemu-bridge-helper ($REF)
# instead of $VH; SKIP_OURS=1 skips the `call_ours` cases (where we are
# deliberately stricter than the reference).

# attach_setup: H, br0, bridge.conf, $INSPECT
attach_setup() {
  if [ -n "${USE_REF:-}" ]; then H=${REF:-}; else H=$VH; fi
  [ -n "$H" ] || { echo "helper under test not installed (H empty)" >&2; exit 1; }
  ip link add br0 type bridge
  ip link set br0 up
  echo "allow br0" > /etc/qemu/bridge.conf
  chmod 0644 /etc/qemu/bridge.conf
  # run while fake_qemu.py holds the tap fd (--hold-cmd "$INSPECT"); TAP is set
  # shellcheck disable=SC2034 # for the scripts: --hold-cmd "$INSPECT"
  INSPECT="bash $TESTS/lib/inspect_tap.sh"
}

# call LABEL [fake_qemu.py ARGS...]: call the helper like QEMU; print its
# results as LABEL.KEY=VALUE, then LABEL.LEFT=<tun/tap devices still present>
call() {
  local label=$1 out; shift
  out=$(call_helper "$@")
  printf '%s\n' "$out" | sed "s/^/$label./"
  echo "$label.LEFT=$(ip -o link show type tun | awk -F': ' '{printf "%s ", $2}')"
}

# call_ours LABEL [ARGS...]: the same, for a case where we are stricter than
# qemu-bridge-helper: nothing at all under SKIP_OURS=1
call_ours() {
  [ -n "${SKIP_OURS:-}" ] || call "$@"
}
