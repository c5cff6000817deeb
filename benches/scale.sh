#!/bin/bash
# benches/scale.sh: how a call's time grows as taps accumulate (issue 10, item 8).
#
# Usage (as root, from anywhere):  benches/scale.sh [N]    (taps per phase, default 1000)
#   VH_BIN=/path/to/binary benches/scale.sh ...   benchmark another build of ours
#   BENCH_RAW=/path/dir benches/scale.sh ...      keep every timing (one file per phase)
#
# In one run, inside tests/sandbox.sh (private net + mount namespaces), as uid
# 4242 through the setuid bit, three phases add taps one by one up to N and
# keep every tap's fd open (benches/call.c -k), so the taps stay attached as
# they do under N QEMUs:
#   (a) qemu-bridge-helper on a plain bridge br0 (the reference: what the kernel
#       itself costs as a bridge and the host's link table grow),
#   (b) our binary as a drop-in on the same bridge,
#   (c) our binary on a managed network vnet0 (up before the phase starts, so
#       every call is a warm one; its supervisor and dnsmasq see every tap).
# Between phases the holder exits and its taps are gone before the next starts.
# Reported per bucket of N/10 taps: p10, median and p90 of the calls' wall
# time, and the median of the helper process's own CPU time (wait4's rusage:
# the machine's other load barely changes it, and it holds the kernel's work
# done in the call); the growth of each from the first bucket to the last for
# each phase (the wall median as asked; the p10 and the CPU time because this
# shared machine's noise disturbs them least); and,
# over phase (c) (the calls plus one second to settle), the CPU time
# (utime+stime from /proc/PID/stat) and RSS of the network's supervisor, and
# dnsmasq's CPU time. Targets: (c)'s growth no larger than (a)'s, the
# supervisor under 0.5 s of CPU for 1000 taps.
set -euo pipefail

if [ "${1:-}" != "--inside" ]; then
    # ---------------------------------------------------------------- outside
    N=${1:-1000}
    case "$N" in ''|*[!0-9]*) echo "usage: $0 [N]" >&2; exit 2;; esac
    [ "$N" -ge 10 ] || { echo "scale.sh: N must be at least 10" >&2; exit 2; }
    [ "$(id -u)" = 0 ] || { echo "scale.sh: must run as root (namespaces, setuid copies)" >&2; exit 2; }
    here=$(dirname "$(readlink -f "$0")")
    repo=$(dirname "$here")
    bin=${VH_BIN:-$repo/target/x86_64-unknown-linux-gnu/release/vnet-helper}
    if [ ! -x "$bin" ]; then
        echo "scale.sh: $bin missing: cargo build --release" >&2
        (cd "$repo" && cargo build --release)
    fi
    tmp=$(mktemp -d /tmp/vh-scale.XXXXXX)
    trap 'rm -rf "$tmp"' EXIT
    chmod 0755 "$tmp"
    gcc -O2 -Wall -Wextra -o "$tmp/call" "$here/call.c"
    "$repo/tests/sandbox.sh" "$bin" "$here/scale.sh" --inside "$N" "$tmp/call" "$bin" "$tmp"
    if [ -n "${BENCH_RAW:-}" ]; then
        mkdir -p "$BENCH_RAW"; cp "$tmp"/raw.* "$BENCH_RAW"/; echo "  raw timings: $BENCH_RAW/raw.*"
    fi
    exit 0
fi

# -------------------------------------------------------------------- inside
# (run by tests/sandbox.sh: $VH, $REF, $WORK are set; we are root in the sandbox)
N=$2; CALL=$3; BIN=$4; OUT=$5
BUCKET=$((N / 10))

[ -n "$REF" ] || { echo "scale.sh: /usr/lib/qemu/qemu-bridge-helper is not installed: no reference" >&2; exit 1; }
ip link add br0 type bridge
ip link set br0 up
printf 'allow br0\nallow vnet0\n' > /etc/qemu/bridge.conf
chown root:root /etc/qemu/bridge.conf; chmod 0644 /etc/qemu/bridge.conf
mkdir -p /etc/vnet-helper/networks
printf 'address = "10.201.0.1/24"\nidle-timeout = "600s"\n' > /etc/vnet-helper/networks/vnet0.toml

ms() { awk -v u="$1" 'BEGIN { printf "%.3f", u / 1000 }'; }
ports() { ip -o link show master "$1" 2>/dev/null | wc -l; }
# utime+stime of a process, in clock ticks; its RSS and peak RSS in KiB
ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }
secs() { awk -v t="$1" -v h="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / h }'; }

# One phase: N calls to one target, as uid 4242, every fd kept open by the
# timing program (call -k) until release() closes its standard input.
hold() {
    local tag=$1 name=$2 path=$3 bridge=$4
    rm -f "$OUT/fifo"; mkfifo "$OUT/fifo"
    "$CALL" -n "$N" -w 5 -k -o "$OUT/raw.$tag" "name=$name,path=$path,br=$bridge" \
        <"$OUT/fifo" >"$OUT/stat.$tag" &
    holder=$!
    exec 3>"$OUT/fifo"
    until grep -q '^STAT' "$OUT/stat.$tag"; do
        kill -0 "$holder" 2>/dev/null || { wait "$holder"; echo "scale.sh: phase $tag failed" >&2; exit 1; }
        sleep 0.2
    done
    hold_bridge=$bridge
}
# Let the taps go, and wait until they are.
release() {
    exec 3>&-
    wait "$holder"
    for _ in $(seq 600); do [ "$(ports "$hold_bridge")" = 0 ] && break; sleep 0.1; done
}

# Per bucket of $BUCKET taps: "bucket p10 median p90 cpu-median" in
# microseconds (nearest rank; the last is the median of the helper's own CPU
# time, which the machine's other load barely disturbs).
buckets() {
    join <(percentiles "$1" 3) <(percentiles "$1" 4 | cut -d' ' -f1,3)
}
# percentiles RAW COLUMN: "bucket p10 p50 p90" of that column of the raw file
percentiles() {
    awk -v b="$BUCKET" -v col="$2" -F'\t' '{ print int($1 / b) "\t" $col }' "$1" | sort -k1,1n -k2,2n |
        awk -F'\t' '
            function r(p) { return v[int((p * n + 99) / 100)] }
            function flush() { if (n) printf "%d %s %s %s\n", cur, r(10), r(50), r(90) }
            $1 != cur && NR > 1 { flush(); n = 0 }
            { cur = $1; v[++n] = $2 }
            END { flush() }'
}

echo "vnet-helper scale bench: taps accumulating 0 -> $N per phase, as uid 4242 through setuid"
echo "  binary: $BIN ($(stat -c %s "$BIN") bytes)"
echo "  kernel $(uname -r), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"

t0=$EPOCHREALTIME
hold ref qemu-bridge-helper "$REF" br0
t1=$EPOCHREALTIME
release
t2=$EPOCHREALTIME
hold dropin vnet-helper "$VH" br0
t3=$EPOCHREALTIME
release

"$VH" up vnet0 >/dev/null
sup=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' /run/vnet-helper/networks/vnet0/supervisor)
dns=$(pgrep -f 'conf-file=/run/vnet-helper/networks/vnet0/' | head -1)
sleep 1
s0=$(ticks "$sup"); d0=$(ticks "$dns"); r0=$(kib "$sup" VmRSS)
t4=$EPOCHREALTIME
hold managed managed "$VH" vnet0
t5=$EPOCHREALTIME
sleep 1
s1=$(ticks "$sup"); d1=$(ticks "$dns"); r1=$(kib "$sup" VmRSS); hwm=$(kib "$sup" VmHWM)
[ "$(ports vnet0)" = "$N" ] || { echo "scale.sh: vnet0 has $(ports vnet0) ports, not $N" >&2; exit 1; }
release
sleep 1
s2=$(ticks "$sup"); d2=$(ticks "$dns")
"$VH" down vnet0 >/dev/null

el() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
echo "  phases (wall time to add the taps): reference $(el "$t0" "$t1") s, drop-in $(el "$t2" "$t3") s," \
     "managed $(el "$t4" "$t5") s"
echo
echo "  wall time of a call (fork to exit), and the median CPU time (user+system) of the helper process:"
printf '  %-9s %31s %31s %31s\n' "" "qemu-bridge-helper" "drop-in (ours)" "managed (ours)"
h="p10 median p90 cpu"
# shellcheck disable=SC2086 # $h: four headings
printf '  %-9s %7s %7s %7s %7s %7s %7s %7s %7s %7s %7s %7s %7s\n' "taps / ms" $h $h $h
join <(buckets "$OUT/raw.ref") <(buckets "$OUT/raw.dropin") | join - <(buckets "$OUT/raw.managed") |
    while read -r b rest; do
        line="$((b * BUCKET))-$(((b + 1) * BUCKET - 1))"
        for v in $rest; do line="$line $(ms "$v")"; done
        # shellcheck disable=SC2086 # $line: the bucket and twelve figures
        printf '  %-9s %7s %7s %7s %7s %7s %7s %7s %7s %7s %7s %7s %7s\n' $line
    done
echo
# growth TAG COLUMN (2: p10, 3: median, 5: CPU median) from the first bucket to the last
growth() {
    local first last
    first=$(buckets "$OUT/raw.$1" | head -1 | cut -d' ' -f"$2")
    last=$(buckets "$OUT/raw.$1" | tail -1 | cut -d' ' -f"$2")
    awk -v a="$first" -v b="$last" 'BEGIN { printf "%.3f -> %.3f ms: %+.3f ms", a / 1000, b / 1000, (b - a) / 1000 }'
}
g() { growth "$1" "$2" | sed 's/.*: //; s/ ms//'; }
echo "  growth, first bucket -> last:     median of the wall time        (p10)         (median CPU time)"
for t in "ref qemu-bridge-helper, plain bridge:" "dropin vnet-helper, drop-in:            " \
    "managed vnet-helper, managed network:    "; do
    echo "    ${t#* } $(growth "${t%% *}" 3)   ($(growth "${t%% *}" 2 | sed 's/.*: //'))" \
         "  ($(growth "${t%% *}" 5 | sed 's/.*: //'))"
done
echo "  managed network, over phase (c) (taps added, plus 1 s to settle):"
echo "    supervisor CPU $(secs $((s1 - s0))) s, RSS $r0 -> $r1 KiB (peak $hwm KiB); dnsmasq CPU $(secs $((d1 - d0))) s"
echo "    and while the $N taps went away: supervisor CPU $(secs $((s2 - s1))) s, dnsmasq CPU $(secs $((d2 - d1))) s"
for col in "3 median" "2 p10" "5 CPU-median"; do
    if awk -v c="$(g managed "${col% *}")" -v a="$(g ref "${col% *}")" 'BEGIN { exit !(c <= a) }'; then
        echo "  target growth (managed <= reference), ${col#* }: MET"
    else
        echo "  target growth (managed <= reference), ${col#* }: NOT MET"
    fi
done
lim=$(awk -v n="$N" -v h="$(getconf CLK_TCK)" 'BEGIN { printf "%d", 0.5 * n / 1000 * h }')
if [ $((s1 - s0)) -le "$lim" ]; then
    echo "  target supervisor CPU (< 0.5 s per 1000 taps): MET"
else
    echo "  target supervisor CPU (< 0.5 s per 1000 taps): NOT MET"
fi
