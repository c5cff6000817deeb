#!/bin/bash
# tests/scripts/attach/tap_with_vnet_header_is_enslaved_up_and_works.sh: a granted tap with a vnet header, inspected while held
# (run by tests/attach.rs in tests/sandbox.sh; cases print LABEL.KEY=VALUE)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/attach.sh
source "$TESTS/lib/attach.sh"
attach_setup
call vnet --probe --hold-cmd "$INSPECT" "$H" br0
