#!/bin/sh
# link/cc.sh: the linker driver cargo uses for vnet-helper (.cargo/config.toml).
#
# It runs cc with rustc's own arguments (so Rust's LLD still does the link),
# and for the vnet-helper binary only, adds a symbol ordering: the functions
# that one drop-in call and one warm managed-network call run (listed in
# link/attach.order, made by link/order.sh) are placed together at the start
# of .text. Such a call then faults in 4 windows of code instead of 23
# scattered over 2.6 MB (HACKING.md, "Measurements"). If anything is missing
# (no LLD, no nm, no list), the link is the same without the ordering.
#
# Rust symbol names change with the compiler release and the code (the
# legacy 17h<hash>E suffix, v0 crate disambiguators Cs<hash>_, LTO's .NNNN
# and .llvm.NNNN suffixes), so attach.order holds them without those parts
# ("keys") and they are matched here against the symbols of the objects
# being linked. Other names (glibc's) are used as they are.
#
#   link/cc.sh --keys    filter: symbol names on stdin -> keys on stdout
set -eu
keys='
function key(s) {
    if (s !~ /^_(ZN|R)/) return s
    while (sub(/\.(llvm\.)?[0-9]+$/, "", s)) {}
    sub(/17h[0-9a-f]+E$/, "E", s)
    gsub(/Cs[0-9A-Za-z]+_/, "C", s)
    return s
}'
if [ "${1:-}" = --keys ]; then
    exec awk "$keys"' { print key($0) }'
fi
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
# Only LLD (Rust's default linker here since 1.90: rustc passes -fuse-ld=lld)
# knows --symbol-ordering-file; GNU ld links without the ordering.
case " $* " in
    *" -fuse-ld=lld "*) ;;
    *) exec cc "$@" ;;
esac
if [ ! -r "$order" ] || ! command -v nm >/dev/null 2>&1; then
    exec cc "$@"
fi
list=$(mktemp "${out}.order.XXXXXX")
trap 'rm -f "$list"' EXIT
for a in "$@"; do
    case "$a" in *.o) nm --defined-only "$a" 2>/dev/null || true ;; esac
done | awk -v order="$order" "$keys"'
    BEGIN {
        while ((getline line < order) > 0) {
            if (line == "" || line ~ /^#/) continue
            n++; want[line] = n; name[n] = line
        }
    }
    NF == 3 {
        k = key($3)
        if (k in want) found[want[k]] = found[want[k]] $3 "\n"
    }
    END {
        for (i = 1; i <= n; i++) {
            if (i in found) printf "%s", found[i]
            else print name[i]
        }
    }' >"$list"
cc "$@" "-Wl,--symbol-ordering-file=$list" -Wl,--no-warn-symbol-ordering
