#!/bin/bash
# tests/scripts/attach/poisoned_environment_is_ignored.sh: a caller's poisoned environment
# (run by tests/attach.rs in tests/sandbox.sh; cases print LABEL.KEY=VALUE)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/attach.sh
source "$TESTS/lib/attach.sh"
attach_setup
# LD_PRELOAD, RUST_BACKTRACE, garbage locale...; PATH points at programs
# that leave a mark if anything runs them
ip link add br1 type bridge
mkdir -p "$WORK/evil"
for p in ip brctl sh bash dash modprobe iptables nft dnsmasq logger id setpriv tunctl sysctl cat ls true; do
  printf '#!/bin/sh\ntouch %s/EVIL-RAN-%s\n' "$WORK" "$p" > "$WORK/evil/$p"
  chmod 0755 "$WORK/evil/$p"
done
echo garbage > "$WORK/evil/libc.so.6"
call poisoned --poison-env "$WORK/evil" --probe --hold-cmd "$INSPECT" "$H" br0
call poisoned_refused --poison-env "$WORK/evil" "$H" br1
call empty_env --clear-env "$H" br0
# shellcheck disable=SC2010 # names we made ourselves
echo "EVIL=$(ls "$WORK" | grep EVIL-RAN | tr '\n' ' ')"
