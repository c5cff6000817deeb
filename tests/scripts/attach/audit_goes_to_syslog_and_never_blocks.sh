#!/bin/bash
# tests/scripts/attach/audit_goes_to_syslog_and_never_blocks.sh: the audit
# line goes to syslog, and a broken syslog never blocks a call.
# (run by tests/attach.rs in tests/sandbox.sh; cases print LABEL.KEY=VALUE)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/attach.sh
source "$TESTS/lib/attach.sh"
attach_setup
# A private /dev (overlay, this sandbox only) so that /dev/log can exist:
# 1. a listener records what arrives; 2. a stale socket nobody listens
# on; 3. a "stuck syslogd" whose queue is full: a blocking send would
# hang the helper and with it QEMU, so the call must still finish (10 s).
# (Without any /dev/log, as in every other test, calls succeed silently.)
mkdir -p /run/devov/u /run/devov/w
mount -t overlay devov -o lowerdir=/dev,upperdir=/run/devov/u,workdir=/run/devov/w /dev
ip link add br1 type bridge
start_syslogd() {
  python3 "$TESTS/tools/fake_syslogd.py" "$1" "$WORK/$1.txt" & SYSLOGD=$!
  for _ in $(seq 100); do [ -e "$WORK/$1.txt" ] && break; sleep 0.1; done
}
start_syslogd listen
call granted "$H" br0
call refused "$H" br1
sleep 0.5
kill "$SYSLOGD"; wait "$SYSLOGD" || true
echo "SYSLOG_GRANTED=$(grep -c 'uid=4242.*br0.*tap[0-9]\|uid=4242.*tap[0-9].*br0' "$WORK/listen.txt" || true)"
echo "SYSLOG_REFUSED=$(grep -c 'uid=4242.*br1' "$WORK/listen.txt" || true)"
sed 's/^/SYSLOG_LINE=/' "$WORK/listen.txt"
python3 "$TESTS/tools/fake_syslogd.py" stale "$WORK/stale.txt"
call stale "$H" br0
call stale_refused "$H" br1
start_syslogd stuck
call stuck --timeout 10 "$H" br0
call stuck_refused --timeout 10 "$H" br1
kill "$SYSLOGD"; wait "$SYSLOGD" || true
