#!/bin/bash
# tests/scripts/attach/usage_errors_are_refused.sh: usage errors
# (run by tests/attach.rs in tests/sandbox.sh; cases print LABEL.KEY=VALUE)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/attach.sh
source "$TESTS/lib/attach.sh"
attach_setup
call no_args --raw "$H"
call unknown_option --raw "$H" --bogus --use-vnet "--fd={fd}" --br=br0
call positional --raw "$H" --use-vnet "--fd={fd}" --br=br0 extra
call no_fd --raw "$H" --use-vnet --br=br0
call no_br --raw "$H" --use-vnet "--fd={fd}"
call separate_values --raw "$H" --use-vnet --fd "{fd}" --br br0
call vnet_with_value --raw "$H" --use-vnet=1 "--fd={fd}" --br=br0
# pkexec (CVE-2021-4034): exec'ed with argc == 0
call argc0 --argc0 "$H" br0
