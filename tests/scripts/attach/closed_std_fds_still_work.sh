#!/bin/bash
# tests/scripts/attach/closed_std_fds_still_work.sh: a caller with fds 0-2 closed
# (run by tests/attach.rs in tests/sandbox.sh; cases print LABEL.KEY=VALUE)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/attach.sh
source "$TESTS/lib/attach.sh"
attach_setup
# the received tap must be a working tap (not the helper's fd 0-2 reused
# for something else); a refusal with nowhere to write must still exit 1
ip link add br1 type bridge
call closed --close-std --probe --hold-cmd "$INSPECT" "$H" br0
call closed_refused --close-std "$H" br1
