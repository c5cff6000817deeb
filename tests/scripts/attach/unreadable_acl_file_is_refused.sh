#!/bin/bash
# tests/scripts/attach/unreadable_acl_file_is_refused.sh: an ACL the caller cannot read
# (run by tests/attach.rs in tests/sandbox.sh; cases print LABEL.KEY=VALUE)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/attach.sh
source "$TESTS/lib/attach.sh"
attach_setup
# read with the caller's rights, like qemu-bridge-helper
chmod 0600 /etc/qemu/bridge.conf
call unreadable "$H" br0
