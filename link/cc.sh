#!/bin/sh
# link/cc.sh: the linker driver cargo uses for vnet-helper (.cargo/config.toml).
#
# It runs cc with rustc's own arguments (so Rust's LLD still does the link),
# and for the vnet-helper binary only, adds a symbol ordering: the functions
# that one drop-in call and one warm managed-network call run (listed in
# link/attach.order, made by link/order.sh) are placed together at the start
# of .text. Such a call then faults in 4 windows of code instead of 23
# scattered over 2.6 MB, about 0.15 ms of a 1.4 ms call (HACKING.md,
# "Measurements"). Names in attach.order carry no Rust symbol hash (the
# 17h<16 hex>E suffix changes with every compiler release): they are matched
# here against the symbols of the objects being linked. If anything is
# missing (no nm, no list), the link is the same without the ordering.
set -eu
order="$(dirname "$0")/attach.order"
out=
prev=
for a in "$@"; do
    [ "$prev" = -o ] && out=$a
    prev=$a
done
case "$out" in
    */vnet_helper-*) ;;
    *) exec cc "$@" ;;
esac
if [ ! -r "$order" ] || ! command -v nm >/dev/null 2>&1; then
    exec cc "$@"
fi
list=$(mktemp "${out}.order.XXXXXX")
trap 'rm -f "$list"' EXIT
for a in "$@"; do
    case "$a" in *.o) nm --defined-only "$a" 2>/dev/null || true ;; esac
done | awk -v order="$order" '
    BEGIN {
        while ((getline line < order) > 0) {
            if (line == "" || line ~ /^#/) continue
            n++; want[line] = n; name[n] = line
        }
    }
    NF == 3 {
        key = $3
        sub(/17h[0-9a-f]+E$/, "E", key)
        if (key in want) { found[want[key]] = found[want[key]] $3 "\n"; seen[key] = 1 }
    }
    END {
        for (i = 1; i <= n; i++) {
            if (i in found) printf "%s", found[i]
            else print name[i]
        }
    }' >"$list"
cc "$@" "-Wl,--symbol-ordering-file=$list" -Wl,--no-warn-symbol-ordering
