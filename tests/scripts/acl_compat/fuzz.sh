#!/bin/bash
# tests/scripts/acl_compat/fuzz.sh CASES_FILE BRIDGE...: make the bridges (up,
# empty; names may hold any byte but '/', ':' and whitespace), then let
# tests/tools/acl_fuzz.py decide every case of CASES_FILE with $REF and $VH
# (R lines on stdout). Prints NO_REF=1 and does nothing else when the
# reference qemu-bridge-helper is not installed.
if [ -z "$REF" ]; then echo NO_REF=1; exit 0; fi
cases=$1; shift
for b in "$@"; do
  ip link add name "$b" type bridge && ip link set dev "$b" up
done
/usr/bin/python3 "$TESTS/tools/acl_fuzz.py" "$cases"
