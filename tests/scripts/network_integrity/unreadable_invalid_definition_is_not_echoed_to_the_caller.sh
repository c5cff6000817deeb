#!/bin/bash
# tests/scripts/network_integrity/unreadable_invalid_definition_is_not_echoed_to_the_caller.sh:
# a definition only root may read (0600) that is invalid: the caller's call
# fails without a word of its content (pointing at `vnet-helper check'),
# while `vnet-helper check' as root shows the detail.
# (run by tests/network_integrity.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
dump_on_failure vnet0
define_net vnet0 'address = "10.200.0.1/24"' 'domain = "s3cr3t_internal.example"'
chmod 0600 "$(definition_file vnet0)"
echo "DEF_MODE=$(stat -c %a "$(definition_file vnet0)")"
echo "USER_CAN_READ=$(yes_no as_user test -r "$(definition_file vnet0)")"

call_helper "$VH" vnet0 > "$WORK/call.out" 2>&1
cat "$WORK/call.out" >&2
echo "CALL=$(sed -n 's/^RC=//p' "$WORK/call.out") $(sed -n 's/^GOT_FD=//p' "$WORK/call.out")"
err=$(sed -n 's/^STDERR=//p' "$WORK/call.out")
echo "CALL_STDERR=$err"
echo "CALL_LEAKS_SECRET=$(yes_no grep -qi 's3cr3t' <<<"$err")"
echo "CALL_LEAKS_DOMAIN_KEY=$(yes_no grep -q 'domain' <<<"$err")"
echo "CALL_POINTS_TO_CHECK=$(yes_no grep -qF 'vnet-helper check' <<<"$err")"
echo "BRIDGE=$(yes_no link_exists vnet0)"

# root sees the problem in full
"$VH" check > "$WORK/check.out" 2>&1 && rc=0 || rc=$?
cat "$WORK/check.out" >&2
echo "CHECK_RC=$rc"
echo "CHECK_SHOWS_DETAIL=$(yes_no grep -qE 'vnet0\.toml:[0-9]+: .*s3cr3t_internal\.example' "$WORK/check.out")"
