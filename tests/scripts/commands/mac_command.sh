#!/bin/bash
# tests/scripts/commands/mac_command.sh: `mac` through the setuid copy, as the
# user and as root: stable per seed, random without one, one seed at most.
# (run by tests/commands.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
echo "WEB1=$(as_user "$VH" mac web)"
echo "WEB2=$(as_user "$VH" mac web)"
echo "WEB_ROOT=$("$VH" mac web)"
echo "DB=$(as_user "$VH" mac db)"
echo "RAND1=$(as_user "$VH" mac)"
echo "RAND2=$(as_user "$VH" mac)"
rc=0; "$VH" mac a b > /dev/null 2>&1 || rc=$?; echo "TWO_SEEDS_RC=$rc"
echo "MAC=$(as_user "$VH" mac vm1)"
