#!/bin/bash
# tests/scripts/attach/bad_fd_arguments_are_refused.sh: --fd values that are not QEMU's socket
# (run by tests/attach.rs in tests/sandbox.sh; cases print LABEL.KEY=VALUE)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/attach.sh
source "$TESTS/lib/attach.sh"
attach_setup
call letters --raw "$H" --fd=abc --br=br0
call minus_one --raw "$H" --fd=-1 --br=br0
call empty --raw "$H" --fd= --br=br0
call hex --raw "$H" "--fd=0x{fd}" --br=br0
call not_open --raw "$H" --fd=77 --br=br0
call stdin --raw "$H" --fd=0 --br=br0
call stderr --raw "$H" --fd=2 --br=br0
call pipe --fd-kind pipe "$H" br0
call file --fd-kind file "$H" br0
# strict parsing (sudo CVE-2019-14287): qemu-bridge-helper's atoi() takes these
call_ours plus --raw "$H" "--fd=+{fd}" --br=br0
call_ours trailing --raw "$H" "--fd={fd}x" --br=br0
call_ours leading_space --raw "$H" "--fd= {fd}" --br=br0
call_ours overflow --raw "$H" "--fd={fd32}" --br=br0
# a datagram socket is not what QEMU passes
call_ours dgram --fd-kind dgram "$H" br0
