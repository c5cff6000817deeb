#!/bin/bash
# tests/scripts/attach/acl_files_must_be_root_owned_and_not_world_writable.sh: ACL files the caller could have written; PART (an argument) picks how
# (run by tests/attach.rs in tests/sandbox.sh; cases print LABEL.KEY=VALUE)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/attach.sh
source "$TESTS/lib/attach.sh"
attach_setup
case $1 in
  user_owned) chown 4242 /etc/qemu/bridge.conf; call user_owned "$H" br0 ;;
  world_writable) chmod 0666 /etc/qemu/bridge.conf; call world_writable "$H" br0 ;;
  incl_user_owned|incl_world_writable)
    # an included file the caller controls must not grant anything
    ip link add br1 type bridge
    echo 'include /etc/qemu/inc.conf' >> /etc/qemu/bridge.conf
    echo 'allow br1' > /etc/qemu/inc.conf
    chmod 0644 /etc/qemu/inc.conf
    if [ "$1" = incl_user_owned ]; then chown 4242 /etc/qemu/inc.conf; else chmod 0666 /etc/qemu/inc.conf; fi
    call "$1" "$H" br1
    ;;
  *) echo "acl_files_must_be_root_owned_and_not_world_writable.sh: unknown part $1" >&2; exit 2 ;;
esac
