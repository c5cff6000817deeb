#!/bin/bash
# tests/scripts/host_firewalls/nft_backend_switch_and_config.sh: switching the
# firewall backend in /etc/vnet-helper/config.toml leaves nothing of the
# other behind (a bring-up or teardown under one backend removes the
# network's rules of the other, the last one the shared parts too); a bad
# config.toml is refused naming file and line, and changes nothing.
# (run by tests/host_firewalls.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/upstream.sh
source "$TESTS/lib/upstream.sh"
# shellcheck source=tests/lib/host_firewalls.sh
source "$TESTS/lib/host_firewalls.sh"
dump_on_failure vnet0
define_net vnet0 'address = "10.200.0.1/24"' 'idle-timeout = "never"' \
  '[[forward]]' 'proto = "tcp"' 'port = 8080' 'to = "10.200.0.50:80"'
define_net vnet1 'address = "10.201.0.1/24"' 'idle-timeout = "never"'
# someone's rules in every table iptables-nft would otherwise create
# (iptables-nft leaves the base chains it made: the iptables backend's own
# exactness is tested elsewhere)
foreign_rules
iptables -t nat -A PREROUTING -d 192.0.2.1/32 -j RETURN
iptables -t nat -A OUTPUT -d 192.0.2.1/32 -j RETURN
ip6tables -A INPUT -s 2001:db8::99 -j DROP
hf_views "$WORK/before"
# iptables lines naming NAME's chains; nftables lines of ours naming them
ipt_lines() { { iptables-save; ip6tables-save; } 2>/dev/null | grep -c -- "VNET-${1:-}" || true; }
nft_lines() { nft_ours | grep -cE -- "(vnet|vh)-$1-" || true; }

use_backend iptables
"$VH" up vnet0 > "$WORK/ipt.up0" 2>&1 || cat "$WORK/ipt.up0" >&2; "$VH" up vnet1 >/dev/null 2>&1
echo "IPT_UP=$(ipt_lines vnet0)/$(ipt_lines vnet1)/$(nft_lines vnet0)"
echo "IPT_STATUS=$("$VH" status vnet0 | sed -n 's/^firewall backend: \([a-z]*\).*/\1/p')"

use_backend nftables
"$VH" up vnet0 >/dev/null 2>&1
echo "SWITCHED_VNET0_IPT=$(ipt_lines vnet0-) NFT=$( [ "$(nft_lines vnet0)" -gt 0 ] && echo yes || echo no)"
echo "SWITCHED_VNET1_IPT=$( [ "$(ipt_lines vnet1-)" -gt 0 ] && echo kept || echo gone)"
echo "SWITCHED_COMPLETE=$(yes_no rules_complete vnet0)"
"$VH" down vnet1 >/dev/null 2>&1
echo "DOWN_VNET1_IPT_ALL=$(ipt_lines)"

use_backend iptables
"$VH" down vnet0 >/dev/null 2>&1
echo "DOWN_VNET0_NFT=$(nft_lines vnet0) TABLES=$(nft list tables | grep -c vnet_helper || true)"
hf_same SWITCH_FIREWALL "$WORK/before"

# a bad config.toml: refused with file:line, nothing made
printf '# the backend\nfirewall = "nft"\n' > /etc/vnet-helper/config.toml
rc=0; "$VH" up vnet0 > "$WORK/bad.out" 2>&1 || rc=$?
echo "BAD_UP_RC=$rc"
echo "BAD_UP_MSG=$(grep -c "/etc/vnet-helper/config.toml:2: \`firewall'" "$WORK/bad.out" || true)"
rc=0; HOLD=1 call_helper "$VH" vnet0 > "$WORK/bad.call" 2>&1 || rc=$?
echo "BAD_CALL_RC=$(sed -n 's/^RC=//p' "$WORK/bad.call")"
echo "BAD_BRIDGE=$(ip link show vnet0 >/dev/null 2>&1 && echo present || echo absent)"
rc=0; "$VH" check > "$WORK/check.out" 2>&1 || rc=$?
echo "BAD_CHECK_RC=$rc"
echo "BAD_CHECK_MSG=$(grep -c "/etc/vnet-helper/config.toml:2: " "$WORK/check.out" || true)"
printf 'firewall = "nftables"\nbackend = "x"\n' > /etc/vnet-helper/config.toml
rc=0; "$VH" up vnet0 > "$WORK/bad2.out" 2>&1 || rc=$?
echo "UNKNOWN_KEY_MSG=$(grep -c "config.toml:2: unknown key \`backend'" "$WORK/bad2.out" || true)"
use_backend nftables; chmod 0666 /etc/vnet-helper/config.toml
rc=0; "$VH" up vnet0 > "$WORK/bad3.out" 2>&1 || rc=$?
echo "WRITABLE_MSG=$(grep -c "config.toml: writable by group or others" "$WORK/bad3.out" || true)"
hf_same BAD_FIREWALL "$WORK/before"
