#!/bin/bash
# tests/scripts/attach/per_user_include_needs_the_group.sh: a per-user include readable by a group only
# (run by tests/attach.rs in tests/sandbox.sh; cases print LABEL.KEY=VALUE)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/attach.sh
source "$TESTS/lib/attach.sh"
attach_setup
ip link add br1 type bridge
echo 'include /etc/qemu/u4242.conf' >> /etc/qemu/bridge.conf
echo 'allow br1' > /etc/qemu/u4242.conf
chown root:4243 /etc/qemu/u4242.conf; chmod 0640 /etc/qemu/u4242.conf
call with_group --as 4242:4242:4243 --hold-cmd "$INSPECT" "$H" br1
call without_group "$H" br1
call main_file_still_works "$H" br0
