#!/bin/bash
# tests/scripts/host_firewalls/nft_backend_repairs.sh: with the nftables
# backend, damaged rules (a flushed chain, lost lookups and jumps, lost map and set elements,
# the whole table deleted) are reported by status and put back exactly by
# `vnet-helper up`; a second network's bring-up leaves the first one's rules
# alone and isolates the two.
# (run by tests/host_firewalls.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
dump_on_failure vn0
define_net vn0 'address = "10.200.0.1/24"' 'idle-timeout = "never"' 'ipv6 = "fd00:1::1/64"'
define_net vn1 'address = "10.201.0.1/24"' 'idle-timeout = "never"'
host_firewall
echo "BACKEND=$(fw_backend)"
"$VH" up vn0 >/dev/null 2>&1
# (sorted: a table made again is listed after the other family's)
nft_ours | sort > "$WORK/ours.up"
status_rules() { "$VH" status vn0 | sed -n 's/^  firewall rules: \([A-Za-z]*\).*/\1/p'; }
echo "UP_RULES=$(status_rules)"
echo "UP_IPV6_CHAINS=$(nft_ours | grep -c '^ip6 vnet_helper vnet-vn0-[a-z]*:$' || true)"
damage() {
  case $1 in
    flush-chain) nft flush chain ip vnet_helper vnet-vn0-fwo ;;
    base-jumps) nft flush chain ip vnet_helper forward; nft flush chain ip vnet_helper postrouting ;;
    map-element) nft delete element ip vnet_helper into-bridge '{ "vn0" }' ;;
    set-element) nft delete element ip vnet_helper bridges '{ "vn0" }' ;;
    table) nft delete table ip vnet_helper ;;
  esac
}
for how in flush-chain base-jumps map-element set-element table; do
  damage $how
  echo "DAMAGED_${how}=$(status_rules)"
  "$VH" up vn0 >/dev/null 2>&1
  echo "REPAIRED_${how}=$(status_rules)"
  if nft_ours | sort | cmp -s - "$WORK/ours.up"; then echo "REPAIRED_${how}_EXACT=same"; else
    echo "REPAIRED_${how}_EXACT=differs"; nft_ours | sort | diff "$WORK/ours.up" - >&2 || true
  fi
done
# a second network: vn0's chains untouched, both bridges in the set, vn1
# refused into vn0 (the set) before any accept
nft_ours | grep -E '^ip vnet_helper vnet-vn0-' > "$WORK/vn0.chains"
"$VH" up vn1 >/dev/null 2>&1
echo "VN0_CHAINS_KEPT=$(nft_ours | grep -E '^ip vnet_helper vnet-vn0-' | cmp -s - "$WORK/vn0.chains" && echo yes || echo no)"
echo "SET=$(nft_ours | grep '^ip vnet_helper set bridges: ' | grep -v 'type ' | grep -oE '"[^"]+"' | tr -d '"' | sort | tr '\n' ' ')"
echo "ISOLATION_FIRST=$(nft_ours | grep -m1 '^ip vnet_helper vnet-vn0-fwi: ' | sed 's/^[^:]*: //')"
echo "DUPS=$(fw_dups)"
echo "UNREACHABLE=$(unreachable_chains)"
"$VH" down vn0 >/dev/null 2>&1
echo "AFTER_VN0_DOWN_IP6_TABLE=$(nft list tables | grep -c 'ip6 vnet_helper' || true)"
echo "VN1_COMPLETE=$(yes_no rules_complete vn1)"
"$VH" down vn1 >/dev/null 2>&1
echo "ALL_DOWN_TABLES=$(nft list tables | grep -c vnet_helper || true)"
