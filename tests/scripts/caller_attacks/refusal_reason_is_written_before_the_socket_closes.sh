#!/bin/bash
# tests/scripts/caller_attacks/refusal_reason_is_written_before_the_socket_closes.sh:
# libvirt reads the helper's stderr the moment the --fd socket closes (EOF in
# its recvmsg) and shows only what is there then. Every refusal must have
# written its reason by then: 10 ACL refusals of a plain bridge and 10 of a
# defined network, each through tests/tools/libvirt_like.py --slow-helper
# (the helper SCHED_IDLE on the reader's CPU: the reader runs the moment the
# socket closes).
# (run by tests/caller_attacks.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/caller_attacks.sh
source "$TESTS/lib/caller_attacks.sh"
dump_on_failure ""
PER_KIND=${PER_KIND:-10}
REASON="access denied by acl file"
ip link add brplain type bridge
define_net vnetdeny 'address = "10.200.0.1/24"'
# the ACL allows neither (only an unrelated bridge)
echo "allow brother" > "$(acl_file)"
chmod 0644 "$(acl_file)"
for bridge in brplain vnetdeny; do
  at_close=0 at_exit=0 refused=0
  for i in $(seq 1 "$PER_KIND"); do
    out=$(python3 "$TESTS/tools/libvirt_like.py" --slow-helper "$VH" "$bridge")
    rc=$(printf '%s\n' "$out" | sed -n 's/^RC=//p')
    fd=$(printf '%s\n' "$out" | sed -n 's/^GOT_FD=//p')
    close=$(printf '%s\n' "$out" | sed -n 's/^REASON_AT_CLOSE=//p')
    all=$(printf '%s\n' "$out" | sed -n 's/^STDERR_ALL=//p')
    [ "$rc" = 1 ] && [ "$fd" = no ] && refused=$((refused + 1))
    case $close in *"$REASON"*) at_close=$((at_close + 1)) ;; esac
    case $all in *"$REASON"*) at_exit=$((at_exit + 1)) ;; esac
    echo "CALL=$bridge.$i rc=$rc got_fd=$fd reason_at_close=[$close] stderr_all=[$all]"
  done
  echo "${bridge}_REFUSED=$refused"
  echo "${bridge}_REASON_AT_CLOSE=$at_close"
  echo "${bridge}_REASON_AT_EXIT=$at_exit"
done
# nothing of the refused network was made
echo "VNETDENY_BRIDGE=$(yes_no link_exists vnetdeny)"
echo "VNETDENY_RUNDIRS=$(net_dirs_any vnetdeny)"
