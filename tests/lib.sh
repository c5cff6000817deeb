# tests/lib.sh: shell functions shared by the sandboxed test scripts (sourced
# by tests/common/mod.rs before each script, inside tests/sandbox.sh).

# call_helper HELPER BRIDGE [EXTRA ARGS...]: act like QEMU: make a socketpair,
# run HELPER as the unprivileged test user with --use-vnet --fd=N --br=BRIDGE,
# receive the fd, and print RC=<exit status>, GOT_FD=yes|no, TAP=<name>;
# with HOLD=SECONDS it keeps the tap open that long before exiting (the
# variable HOLD_CMD, if set, is run by bash while the tap is held).
call_helper() {
  /usr/bin/python3 "$TESTS/tools/fake_qemu.py" "$@"
}
