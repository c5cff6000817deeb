#!/bin/bash
# tests/scripts/attach/helper_string_with_a_space_runs_through_sh.sh: QEMU: /bin/sh -c "<helper string> --use-vnet --fd=N [--br=BR]"
# (run by tests/attach.rs in tests/sandbox.sh; cases print LABEL.KEY=VALUE)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/attach.sh
source "$TESTS/lib/attach.sh"
attach_setup
ip link add br1 type bridge; echo 'allow br1' >> /etc/qemu/bridge.conf
call sh_br_in_string --hold-cmd "$INSPECT" --shell "$H --br=br1" br0
call sh_plain --hold-cmd "$INSPECT" --shell "$H" br0
