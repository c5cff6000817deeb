#!/bin/bash
# link/order.sh: remakes link/attach.order, the list of functions that
# link/cc.sh places together at the start of vnet-helper's code.
#
# Usage (as root, from anywhere):  link/order.sh [BINARY]
#   BINARY defaults to target/x86_64-unknown-linux-gnu/release/vnet-helper
#
# In tests/sandbox.sh, one drop-in call (plain bridge br0) and then one warm
# call (managed network vnet0, already up) are made as uid 4242 through the
# setuid bit under link/trace.c, which single-steps them; every function they
# execute is listed, in the order first run (drop-in call first), by its
# symbol name without the parts that change between builds (see cc.sh, which
# matches them). Rerun after changes to the attach path; a stale list costs speed
# only (benches/attach.sh shows it), never correctness.
set -euo pipefail

if [ "${1:-}" != "--inside" ]; then
    [ "$(id -u)" = 0 ] || { echo "order.sh: must run as root (namespaces, setuid copies)" >&2; exit 2; }
    here=$(dirname "$(readlink -f "$0")")
    repo=$(dirname "$here")
    bin=$(readlink -f "${1:-$repo/target/x86_64-unknown-linux-gnu/release/vnet-helper}")
    [ -x "$bin" ] || { echo "order.sh: $bin missing: cargo build --release" >&2; exit 2; }
    tmp=$(mktemp -d /tmp/vh-order.XXXXXX)
    trap 'rm -rf "$tmp"' EXIT
    chmod 0755 "$tmp"
    gcc -O2 -Wall -Wextra -o "$tmp/trace" "$here/trace.c"
    "$repo/tests/sandbox.sh" "$bin" "$here/order.sh" --inside "$tmp"
    {
        echo "# link/attach.order: made by link/order.sh (see there and link/cc.sh); do not edit."
        echo "# $(rustc --version 2>/dev/null || echo rustc unknown), $(date -u +%Y-%m-%d)"
        nm -n --defined-only "$bin" | awk -v offsets="$tmp/offsets" '
            # hex of equal width, compared as strings ("x" prefix: mawk has no strtonum)
            $2 ~ /^[tTwWiI]$/ { n++; addr[n] = "x" $1; name[n] = $3 }
            END {
                while ((getline line < offsets) > 0) {
                    off = "x" line; lo = 1; hi = n
                    if (off < addr[1]) continue
                    while (lo < hi) { mid = int((lo + hi + 1) / 2); if (addr[mid] <= off) lo = mid; else hi = mid - 1 }
                    print name[lo]
                }
            }' | "$here/cc.sh" --keys | awk '!seen[$0]++'
    } >"$here/attach.order"
    echo "order.sh: $(grep -vc '^#' "$here/attach.order") functions in $here/attach.order"
    exit 0
fi

# -------------------------------------------------------------------- inside
# (run by tests/sandbox.sh: $VH is the setuid copy; we are root in the sandbox)
tmp=$2
ip link add br0 type bridge
ip link set br0 up
mkdir -p /etc/vnet-helper/networks
printf 'address = "10.201.0.1/24"\nidle-timeout = "never"\n' >/etc/vnet-helper/networks/vnet0.toml
printf 'allow br0\nallow vnet0\n' >/etc/qemu/bridge.conf
chown root:root /etc/qemu/bridge.conf
chmod 0644 /etc/qemu/bridge.conf
"$VH" up vnet0 >/dev/null
"$tmp/trace" "$VH" br0 "$tmp/drop-in"
"$tmp/trace" "$VH" vnet0 "$tmp/warm"
cat "$tmp/drop-in" "$tmp/warm" >"$tmp/offsets"
