#!/bin/bash
# tests/scripts/commands/down_force_after_definition_deleted.sh: a network
# that is up (a guest's tap attached) whose definition file is then deleted,
# as the package's prerm meets it on removal: `down` refuses naming the
# missing file and suggesting --force, and changes nothing (`status` lists
# it, saying the same); `down --force` takes it down from what is running:
# no bridge, dnsmasq, supervisor, run directory or rule left, iptables-save,
# ip6tables-save and nft list ruleset as before. Then what a teardown
# whose firewall step failed leaves once the definition is gone too (rules
# and our bridge, no runtime state): `down` names them, `down --force`
# removes them; an admin's own bridge of that name is left alone. Under
# both firewall backends (PREFIX_ keys: IPT_, NFT_).
# (run by tests/commands.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
dump_on_failure vn0
host_firewall
fw_save > "$WORK/fw.base"; nft_save > "$WORK/nft.base"
# state: what a refused command must not change
snap() {
  echo "bridge=$(yes_no bridge_exists vn0)"
  echo "dnsmasq=$(pidfile_dnsmasq vn0 || true)"
  echo "supervisor=$(supervisor_pids vn0 | tr '\n' ,)"
  fw_save
}

for backend in iptables nftables; do
  p=${backend:0:3}; p=${p^^}
  use_backend "$backend"
  define_net vn0 'address = "10.200.0.1/24"' 'ipv6 = "fd42:1::1/64"' 'idle-timeout = "never"' \
    '[[forward]]' 'proto = "tcp"' 'port = 8080' 'to = "10.200.0.50:80"'
  attach_bg vn0 "$WORK/a.$p.out"
  echo "${p}_UP=$(VERBOSE_WHOLE=1 net_whole vn0 && echo yes)"
  dns=$(pidfile_dnsmasq vn0 || true)
  rm "$(definition_file vn0)"
  snap > "$WORK/s.$p"

  # status (every network) still shows it, and what to do
  "$VH" status > "$WORK/status.$p" 2>&1
  echo "${p}_STATUS_UP=$(grep -c '^vn0: up$' "$WORK/status.$p" || true)"
  echo "${p}_STATUS_SAYS=$(grep -c "definition: $(definition_file vn0) is gone; \`vnet-helper down --force vn0' takes it down" "$WORK/status.$p" || true)"

  rc=0; "$VH" down vn0 > "$WORK/down.$p" 2>&1 || rc=$?
  echo "${p}_DOWN_RC=$rc"
  echo "${p}_DOWN_NAMES_FILE=$(grep -c "$(definition_file vn0) is gone" "$WORK/down.$p" || true)"
  echo "${p}_DOWN_SUGGESTS_FORCE=$(grep -c 'vnet-helper down --force vn0' "$WORK/down.$p" || true)"
  echo "${p}_DOWN_CHANGED=$([ "$(snap)" = "$(cat "$WORK/s.$p")" ] && echo no || echo yes)"

  rc=0; "$VH" down --force vn0 > "$WORK/force.$p" 2>&1 || { rc=$?; cat "$WORK/force.$p" >&2; }
  echo "${p}_FORCE_RC=$rc"
  release "$HOLDER"
  echo "${p}_GONE=$(VERBOSE_GONE=1 net_gone vn0 && echo yes)"
  echo "${p}_DNSMASQ_DEAD=$(yes_no test ! -d "/proc/$dns")"
  report_fw_same "${p}_FW_SAME" "$WORK/fw.base"
  report_nft_same "${p}_NFT_SAME" "$WORK/nft.base"
  # nothing of it left: a second --force finds nothing to take down
  rc=0; "$VH" down --force vn0 > "$WORK/again.$p" 2>&1 || rc=$?
  echo "${p}_AGAIN_RC=$rc"
  echo "${p}_AGAIN_MSG=$(grep -c "no network named \`vn0' is defined" "$WORK/again.$p" || true)"

  # what a teardown whose firewall step failed leaves once the definition
  # is gone too: rules and our bridge, no runtime state (no processes)
  define_net vn0 'address = "10.200.0.1/24"' 'idle-timeout = "never"'
  "$VH" up vn0 > /dev/null
  for pid in $(supervisor_pids vn0) $(dnsmasq_pids vn0); do kill -9 "$pid"; done
  rm -rf "$(run_dir vn0)" "$(definition_file vn0)"
  snap > "$WORK/l.$p"
  rc=0; "$VH" down vn0 > "$WORK/left.$p" 2>&1 || rc=$?
  echo "${p}_LEFT_RC=$rc"
  echo "${p}_LEFT_SAYS=$(grep -c "no network named \`vn0' is defined ($(definition_file vn0)), but its firewall rules and bridge are left; \`vnet-helper down --force vn0' removes them" "$WORK/left.$p" || true)"
  echo "${p}_LEFT_CHANGED=$([ "$(snap)" = "$(cat "$WORK/l.$p")" ] && echo no || echo yes)"
  rc=0; "$VH" down --force vn0 > "$WORK/leftforce.$p" 2>&1 || { rc=$?; cat "$WORK/leftforce.$p" >&2; }
  echo "${p}_LEFT_FORCE_RC=$rc"
  echo "${p}_LEFT_BRIDGE=$(yes_no bridge_exists vn0)"
  report_fw_same "${p}_LEFT_FW_SAME" "$WORK/fw.base"
  report_nft_same "${p}_LEFT_NFT_SAME" "$WORK/nft.base"
  # an admin's own bridge of that name (not our MAC) is nobody's leftover
  ip link add vn0 type bridge
  rc=0; "$VH" down --force vn0 > "$WORK/foreign.$p" 2>&1 || rc=$?
  echo "${p}_FOREIGN_RC=$rc"
  echo "${p}_FOREIGN_KEPT=$(yes_no bridge_exists vn0)"
  ip link del vn0
done
