#!/bin/bash
# tests/scripts/host_firewalls/nft_listing_cache.sh: the nftables driver's
# cache of its last `nft -a list ruleset' (src/network/firewall/nftables/
# cache.rs), kept with the ruleset's generation. After a teardown the cache
# holds exactly what nft lists; a cold bring-up then runs nft once (its
# transaction), not twice; once something else changed the ruleset (a host
# table with policy drop), the next bring-up reads it again, and its warning
# names that table. Every nft run is logged by a wrapper bind-mounted over
# /usr/sbin/nft (inside the sandbox only) with its parent's command line.
# (run by tests/host_firewalls.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/host_firewalls.sh
source "$TESTS/lib/host_firewalls.sh"
dump_on_failure vnet0
use_backend nftables
define_net vnet0 'address = "10.200.0.1/24"'

cp /usr/sbin/nft "$WORK/nft.real"
cat > "$WORK/nft" <<EOF
#!/bin/sh
printf '%s| %s\n' "\$(tr '\\0' ' ' < /proc/\$PPID/cmdline)" "\$*" >> "$WORK/nft.log"
exec "$WORK/nft.real" "\$@"
EOF
chmod 0755 "$WORK/nft"
: > "$WORK/nft.log"
mount --bind "$WORK/nft" /usr/sbin/nft

# nft runs by an attach call (the helper's command line) after line $1 of the log
call_nft_runs() { tail -n +"$(($1 + 1))" "$WORK/nft.log" | grep -c -- '--use-vnet' || true; }
# cold_call N: bring vnet0 up with a call as uid 4242, then take it down
cold_call() {
  local from; from=$(wc -l < "$WORK/nft.log")
  call_helper "$VH" vnet0 > "$WORK/call$1.out" 2>&1
  echo "CALL$1_RC=$(sed -n 's/^RC=//p' "$WORK/call$1.out")"
  echo "CALL$1_NFT_RUNS=$(call_nft_runs "$from")"
  "$VH" down --force vnet0 > /dev/null
}

cold_call 1
tail -n +2 /run/vnet-helper/nft-listing > "$WORK/cached"
"$WORK/nft.real" -a list ruleset > "$WORK/listed"
echo "CACHE_IS_THE_LISTING=$(cmp -s "$WORK/cached" "$WORK/listed" && echo yes || echo no)"
echo "CACHE_MODE=$(stat -c '%U %a' /run/vnet-helper/nft-listing)"
cold_call 2
hf_nftables_conf
cold_call 3
echo "CALL3_WARNS_FORWARD=$(grep -c "warning: network \`vnet0': the host's nftables chain \`inet filter forward'" "$WORK/call3.out" || true)"
