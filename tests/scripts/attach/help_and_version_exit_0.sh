#!/bin/bash
# tests/scripts/attach/help_and_version_exit_0.sh: --help and --version
# (run by tests/attach.rs in tests/sandbox.sh; cases print LABEL.KEY=VALUE)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/attach.sh
source "$TESTS/lib/attach.sh"
attach_setup
call help --raw "$H" --help
call version --raw "$H" --version
