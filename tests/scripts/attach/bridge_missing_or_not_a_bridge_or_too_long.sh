#!/bin/bash
# tests/scripts/attach/bridge_missing_or_not_a_bridge_or_too_long.sh: missing bridges, non-bridges, long names
# (run by tests/attach.rs in tests/sandbox.sh; cases print LABEL.KEY=VALUE)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/attach.sh
source "$TESTS/lib/attach.sh"
attach_setup
# CVE-2019-13164: a 16-byte name must be refused even when its first 15
# bytes name an allowed bridge; 15 bytes (IFNAMSIZ - 1) is fine.
ip link add vnot type veth peer name vnotp
ip link add 0123456789abcde type bridge
printf 'allow br0\nallow nosuch\nallow vnot\nallow 0123456789abcde\n' > /etc/qemu/bridge.conf
call missing "$H" nosuch
call not_a_bridge "$H" vnot
call len15 "$H" 0123456789abcde
call len16 "$H" 0123456789abcdef
call len40 "$H" 0123456789abcde0123456789abcde0123456789
