#!/bin/bash
# tests/scripts/attach/bad_bridge_names_are_refused.sh: bridge names that must never reach the kernel
# (run by tests/attach.rs in tests/sandbox.sh; cases print LABEL.KEY=VALUE)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/attach.sh
source "$TESTS/lib/attach.sh"
attach_setup
echo 'allow all' > /etc/qemu/bridge.conf
call dotdot_slash "$H" ../x
call slash "$H" a/b
call dash "$H" -x
call space "$H" "a b"
call percent_d "$H" a%d
call empty "$H" ""
call dot "$H" .
call dotdot "$H" ..
call star "$H" "*"
# the kernel's ioctls strip ":alias": br0:1 would act on br0
call_ours colon "$H" br0:1
# must stay one line on stderr even if the name is echoed
call_ours newline "$H" $'br0\nx'
call_ours nonutf8 "$H" $'br\xff'
