#!/bin/bash
# tests/scripts/commands/status_says_isolation_list_is_stale.sh: a network
# whose rules are in place but whose isolation list predates a network
# defined (or removed) since it came up: status says "present; isolation list
# stale" with the fix, not MISSING; `up` refreshes it.
# (run by tests/commands.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
dump_on_failure vn1
# The iptables backend lists a network's peers in its chains; the nftables
# backend isolates through one set of bridges, which is never stale.
use_backend iptables
define_net vn1 'address = "10.200.0.1/24"' 'idle-timeout = "never"'
rules_line() { "$VH" status vn1 | sed -n 's/^  firewall rules: //p'; }
json_of() { "$VH" status --json vn1 | python3 -c "import json,sys; print(json.load(sys.stdin)[0][\"$1\"])"; }
"$VH" up vn1 > /dev/null
echo "RULES_UP=$(rules_line)"
# the supervisor would refresh the list at its next look at the ruleset
# (tests/host_firewalls.rs tests healing): frozen, so status is what is seen
freeze_supervisor vn1
# another network defined after vn1 came up
define_net vn2 'address = "10.201.0.1/24"'
echo "RULES_NEW_PEER=$(rules_line)"
echo "JSON_PRESENT_NEW_PEER=$(json_of rules_present)"
echo "JSON_STALE_NEW_PEER=$(json_of isolation_stale)"
# the fix it names
"$VH" up vn1 > /dev/null
echo "RULES_REFRESHED=$(rules_line)"
echo "JSON_STALE_REFRESHED=$(json_of isolation_stale)"
# the other network removed again
rm "$(definition_file vn2)"
echo "RULES_PEER_GONE=$(rules_line)"
# a truly damaged chain is still MISSING
iptables -F VNET-vn1-IN
echo "RULES_DAMAGED=$(rules_line)"
thaw_supervisor vn1
"$VH" down vn1 > /dev/null
