#!/bin/bash
# tests/scripts/acl_compat/run_cases.sh CASES_FILE CASEDIR BRIDGE...: make the
# bridges (up, empty; any bytes but '/', ':' and whitespace), then run every case of CASES_FILE against $REF and $VH
# with tests/tools/acl_harness.py (RES lines on stdout). Prints NO_REF=1 and
# does nothing else when the reference qemu-bridge-helper is not installed.
if [ -z "$REF" ]; then echo NO_REF=1; exit 0; fi
cases=$1 casedir=$2; shift 2
for b in "$@"; do
  ip link add name "$b" type bridge && ip link set dev "$b" up
done
/usr/bin/python3 "$TESTS/tools/acl_harness.py" "$cases" "$casedir"
