#!/bin/bash
# tests/scripts/attach/repeated_flags_last_one_wins.sh: a repeated flag: the last one counts
# (run by tests/attach.rs in tests/sandbox.sh; cases print LABEL.KEY=VALUE)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/attach.sh
source "$TESTS/lib/attach.sh"
attach_setup
ip link add br1 type bridge
call br_last --hold-cmd "$INSPECT" --raw "$H" --br=nosuch --br=br0 "--fd={fd}"
# br1 exists but is not allowed: the later --br must be the one checked
call br_last_denied --raw "$H" --br=br0 --br=br1 "--fd={fd}"
call fd_last --raw "$H" --fd=77 "--fd={fd}" --br=br0
call fd_last_bad --raw "$H" "--fd={fd}" --fd=77 --br=br0
call vnet_twice --raw "$H" --use-vnet --use-vnet "--fd={fd}" --br=br0
