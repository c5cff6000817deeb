#!/bin/bash
# tests/scripts/bringup/hostile_caller.sh: a hostile caller (env NOFILE: its soft RLIMIT_NOFILE; HOSTILE_SKIP: traits to leave out)
# (run by tests/bringup.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
# checks the iptables backend's chains and programs by name (bringup.rs):
# forced; the nftables backend's are in tests/scripts/host_firewalls/
use_backend iptables
bringup_host
export_functions
define_net vnet0 'address = "10.200.0.1/24"' 'idle-timeout = "never"'
fw_snapshot "$WORK/fw.base"
EVIL=$WORK/evil
mkdir -p "$EVIL/xtables"
# fake tools first in PATH: each leaves $WORK/pwned-<name> if it ever runs
for t in iptables iptables-restore iptables-save iptables-nft iptables-nft-restore \
         iptables-nft-save iptables-legacy iptables-legacy-restore xtables-nft-multi \
         ip6tables ip6tables-restore ip6tables-save nft dnsmasq ip systemctl sysctl \
         modprobe sh bash dash env setsid setpriv kill true logger; do
  printf '#!/bin/sh\n: > %s/pwned-%s\nexit 0\n' "$WORK" "$t" > "$EVIL/$t"
  chmod 0755 "$EVIL/$t"
done
printf ': > %s/pwned-bashenv\n' "$WORK" > "$EVIL/bashenv"
# a real library whose constructor leaves pwned-so-<pid>: for LD_PRELOAD, and
# as every iptables extension in XTABLES_LIBDIR
cat > "$EVIL/evil.c" <<EOF
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
__attribute__((constructor)) static void evil(void) {
  char p[512];
  snprintf(p, sizeof p, "$WORK/pwned-so-%d", (int)getpid());
  close(open(p, O_CREAT | O_WRONLY, 0666));
}
EOF
if TMPDIR=$WORK gcc -shared -fPIC -o "$EVIL/evil.so" "$EVIL/evil.c" 2>&2; then
  echo EVIL_SO=built
  for e in conntrack udp tcp standard REJECT MASQUERADE comment state multiport mark; do
    cp "$EVIL/evil.so" "$EVIL/xtables/libxt_$e.so"
    cp "$EVIL/evil.so" "$EVIL/xtables/libipt_$e.so"
  done
else
  echo EVIL_SO=missing
fi
chmod -R a+rX "$EVIL"
# controls: the canaries do fire when honoured (in a throwaway netns)
rm -f "$WORK"/pwned-*
LD_PRELOAD=$EVIL/evil.so /bin/true
echo "CONTROL_PRELOAD=$(compgen -G "$WORK/pwned-so-*" >/dev/null && echo fires || echo silent)"
rm -f "$WORK"/pwned-*
unshare -n env XTABLES_LIBDIR="$EVIL/xtables" /usr/sbin/iptables -A INPUT -p tcp -m conntrack --ctstate NEW -j ACCEPT >/dev/null 2>&1 || true
echo "CONTROL_XTABLES=$(compgen -G "$WORK/pwned-so-*" >/dev/null && echo fires || echo silent)"
rm -f "$WORK"/pwned-*
env PATH="$EVIL:$PATH" iptables -L >/dev/null 2>&1 || true
echo "CONTROL_PATH=$( [ -e "$WORK/pwned-iptables" ] && echo fires || echo silent)"
rm -f "$WORK"/pwned-*
pwned_files() {
  local f
  for f in "$WORK"/pwned-*; do [ -e "$f" ] && printf '%s\n' "${f##*/}"; done | tr '\n' ' ' | sed 's/ $//'
}

t4_held() {
  net_state vnet0
  echo "TAP_MASTER=$(master_of "$TAPS")"
  # the caller did setsid(): its session id is its pid
  echo "CALLER_SID=$CALLER_PIDS"
  echo "QEMU_SID=$(proc_sid $$)"
  for d in $(dnsmasq_pids vnet0); do proc_report "$d" DNSMASQ_; done
  for s in $(supervisor_pids vnet0); do proc_report "$s" SUP_; done
}
export -f t4_held
# the hostile caller: PATH=$EVIL first, LD_PRELOAD (/nonexistent/evil.so and
# the real one), LD_LIBRARY_PATH, LD_AUDIT, XTABLES_LIBDIR, RUST_BACKTRACE=1,
# IFS garbage...; soft RLIMIT_NOFILE $NOFILE and RLIMIT_FSIZE 0 (soft only: root in
# these sandboxes lacks CAP_SYS_RESOURCE, so the helper could not raise a
# lowered hard limit back for its children), fds 0-2 closed, SIGTERM ignored
# and blocked, nice 19, umask 077, its own session (see nb_launch.py)
launch --hostile "$EVIL" --nofile "$NOFILE" ${HOSTILE_SKIP:+--hostile-skip "$HOSTILE_SKIP"} \
  --hold-cmd t4_held vnet0
echo "PWNED=$(pwned_files)"
# SIGTERM reaches the supervisor and dnsmasq: down is quick and complete
t0=$(date +%s%N)
echo "DOWN_RC=$(timeout 60 "$VH" down --force vnet0 >&2; echo $?)"
echo "DOWN_MS=$(( ($(date +%s%N) - t0) / 1000000 ))"
net_state vnet0 DOWN_
echo "DOWN_NVH_PROCS=$(count_words_of vh_pids)"
echo "PWNED_END=$(pwned_files)"
dump_state vnet0
# and the network can be brought up again by an ordinary caller
call_helper "$VH" vnet0 | sed 's/^/NEXT_/'
