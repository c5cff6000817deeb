#!/bin/bash
# tests/scripts/bringup/refused_calls_create_nothing_fuzz.sh SEED COUNT: COUNT
# calls of $VH as uid 4242 with mutated definitions of vnet0 or random
# argument vectors (tests/tools/refusal_fuzz.py); after every refusal nothing
# may be left (no link, rule, process or runtime directory). Prints BAD lines
# and one STATS line. (run by tests/bringup.rs in tests/sandbox.sh)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
bringup_host
/usr/bin/python3 "$TESTS/tools/refusal_fuzz.py" "$1" "$2"
