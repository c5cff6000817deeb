#!/bin/bash
# tests/scripts/attach/tap_without_vnet_header.sh: a granted tap without a vnet header
# (run by tests/attach.rs in tests/sandbox.sh; cases print LABEL.KEY=VALUE)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/attach.sh
source "$TESTS/lib/attach.sh"
attach_setup
call novnet --no-vnet --probe --hold-cmd "$INSPECT" "$H" br0
