#!/bin/bash
# tests/scripts/attach/argument_orders_of_qemu_and_libvirt.sh: the argument orders QEMU and libvirt use
# (run by tests/attach.rs in tests/sandbox.sh; cases print LABEL.KEY=VALUE)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/attach.sh
source "$TESTS/lib/attach.sh"
attach_setup
call qemu "$H" br0
call libvirt --libvirt "$H" br0
call libvirt_novnet --libvirt --no-vnet "$H" br0
call vnet_last --raw "$H" --br=br0 "--fd={fd}" --use-vnet
call fd_first --raw "$H" "--fd={fd}" --use-vnet --br=br0
# caps cleared but CAP_NET_ADMIN, as libvirt does: must not matter
call as_root --as-root "$H" br0
