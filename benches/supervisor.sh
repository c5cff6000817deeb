#!/bin/bash
# benches/supervisor.sh: the idle cost of a network's supervisor. Brings a
# managed network up, attaches 20 taps (held like 20 QEMUs would hold them),
# then samples the supervisor's RSS and CPU time (utime+stime from
# /proc/PID/stat) over SECONDS (default 60). Also counts the supervisor's
# wake-ups (voluntary context switches) to show it sleeps on netlink and its
# child rather than polling. Runs inside tests/sandbox.sh; root only.
#   usage: benches/supervisor.sh [SECONDS]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
bin=${VH_BIN:-$repo/target/x86_64-unknown-linux-gnu/release/vnet-helper}
[ -x "$bin" ] || (cd "$repo" && cargo build --release --locked >&2)
script=$(mktemp)
trap 'rm -f "$script"' EXIT
cat > "$script" <<SCRIPT
echo "allow vnet0" > /etc/qemu/bridge.conf
mkdir -p /etc/vnet-helper/networks
printf 'address = "10.200.0.1/24"\nidle-timeout = "never"\n' > /etc/vnet-helper/networks/vnet0.toml
for i in \$(seq 20); do
  python3 "\$TESTS/tools/fake_qemu.py" --hold $((secs + 30)) "\$VH" vnet0 > "\$WORK/call.\$i" 2>&1 &
done
for i in \$(seq 300); do
  [ "\$(ip -o link show master vnet0 2>/dev/null | wc -l)" -ge 20 ] && break; sleep 0.1
done
ports=\$(ip -o link show master vnet0 | wc -l)
sup=\$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' /run/vnet-helper/networks/vnet0/supervisor)
tck=\$(getconf CLK_TCK)
cpu() { awk '{print \$14 + \$15}' /proc/\$sup/stat; }
ctx() { awk '/^voluntary_ctxt_switches/ {print \$2}' /proc/\$sup/status; }
c0=\$(cpu); v0=\$(ctx); t0=\$EPOCHREALTIME
sleep $secs
c1=\$(cpu); v1=\$(ctx); t1=\$EPOCHREALTIME
rss=\$(awk '/^VmRSS/ {print \$2}' /proc/\$sup/status)
hwm=\$(awk '/^VmHWM/ {print \$2}' /proc/\$sup/status)
dns=\$(pgrep -f 'conf-file=/run/vnet-helper/networks/vnet0/' | head -1)
drss=\$(awk '/^VmRSS/ {print \$2}' /proc/\$dns/status)
awk -v c="\$((c1 - c0))" -v t0="\$t0" -v t1="\$t1" -v tck="\$tck" -v v="\$((v1 - v0))" \
    -v rss="\$rss" -v hwm="\$hwm" -v drss="\$drss" -v ports="\$ports" 'BEGIN {
  el = t1 - t0
  printf "supervisor with %d taps attached, sampled over %.1f s:\n", ports, el
  printf "  RSS %d KiB (peak %d KiB); dnsmasq RSS %d KiB\n", rss, hwm, drss
  printf "  CPU %.3f s = %.4f%% of one core\n", c / tck, 100 * c / tck / el
  printf "  wake-ups %d (%.2f per second)\n", v, v / el
}'
SCRIPT
"$repo/tests/sandbox.sh" "$bin" "$script"
