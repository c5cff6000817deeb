#!/bin/bash
# tests/scripts/attach/acl_refusals.sh: ACL refusals; PART (an argument) picks the ACL
# (run by tests/attach.rs in tests/sandbox.sh; cases print LABEL.KEY=VALUE)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/attach.sh
source "$TESTS/lib/attach.sh"
attach_setup
case $1 in
  lists)
    ip link add br1 type bridge; ip link add br2 type bridge; ip link add br3 type bridge
    ip link add good type bridge
    cat > /etc/qemu/bridge.conf <<'ACL'
# comment
allow br0
allow br2
deny br2
deny br3
allow br3
  allow   good
ACL
    call not_listed "$H" br1
    call deny_after_allow "$H" br2
    call deny_before_allow "$H" br3
    call whitespace_trimmed "$H" good
    ;;
  deny_all)  # deny all beats any allow
    printf 'allow br0\ndeny all\n' > /etc/qemu/bridge.conf
    call deny_all "$H" br0
    ;;
  allow_all)
    ip link add br1 type bridge; printf 'allow all\n' > /etc/qemu/bridge.conf
    call allow_all "$H" br1
    ;;
  no_acl_file)
    rm /etc/qemu/bridge.conf
    call no_acl_file "$H" br0
    ;;
  alias)
    # qemu-bridge-helper compares names as strings, but SIOCGIFMTU and
    # friends strip a ":alias" suffix: br0:1 would reach the denied br0
    printf 'allow all\ndeny br0\n' > /etc/qemu/bridge.conf
    call denied "$H" br0
    call_ours alias_bypass "$H" br0:1
    call_ours alias_bypass_empty "$H" br0:
    ;;
  *) echo "acl_refusals.sh: unknown part $1" >&2; exit 2 ;;
esac
