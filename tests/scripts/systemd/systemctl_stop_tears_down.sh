#!/bin/bash
# tests/scripts/systemd/systemctl_stop_tears_down.sh DEB: under a real systemd
# (systemd-nspawn container, the package DEB installed), a QEMU-like caller
# holds a tap on vnet0; `systemctl stop vnet-helper@vnet0` must tear the
# network down at once (bridge, rules, dnsmasq, supervisor, runtime files),
# the next call must bring it up again under the unit, and `vnet-helper down
# --force` must stop the unit without its ExecStop doing a second teardown.
# (run by tests/systemd.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/container.sh
source "$TESTS/lib/container.sh"
deb=$1
unit=vnet-helper@vnet0.service
container_boot
ct_install_deb "$deb"
echo "RULES_BEFORE=$(ct_rules)"

ct_hold_tap 120
wait_for 20 ct_ports_are vnet0 1 || { cat "$WORK/hold.out" >&2; die "no tap on vnet0"; }
echo "UNIT_ACTIVE=$(ct systemctl is-active "$unit" || true)"
echo "RULES_UP=$(ct_rules)"
echo "DNSMASQ_UP=$(ct pgrep -x dnsmasq | wc -l)"

t0=$(now)
ct systemctl stop "$unit"
echo "STOP_SECONDS=$(since "$t0")"
echo "STOP_LEFT_NOTHING=$(yes_no ct_network_gone vnet0)"
echo "UNIT_AFTER_STOP=$(ct systemctl is-active "$unit" || true)"
echo "RULES_AFTER_STOP=$(ct_rules)"
# ExecStop's `down` logged its line to the unit's journal stream
ct journalctl -u "$unit" -o cat --no-pager > "$WORK/unit-journal.txt"
echo "UNIT_JOURNAL_TAKEN_DOWN=$(grep -c "^network: uid=0 bridge=vnet0 taken down by .vnet-helper down'" "$WORK/unit-journal.txt" || true)"

ct_attach vnet0 > "$WORK/attach.out"
cat "$WORK/attach.out" >&2
echo "ATTACH_AGAIN_$(grep '^RC=' "$WORK/attach.out")"
echo "UNIT_AGAIN=$(ct systemctl is-active "$unit" || true)"
echo "SUPERVISOR_CGROUP_AGAIN=$(ct_cgroup "$(ct systemctl show -p MainPID --value "$unit")")"

ct /usr/libexec/vnet-helper down --force vnet0 >&2
wait_for 10 bash -c "! ct systemctl is-active --quiet $unit" || true
echo "UNIT_AFTER_DOWN=$(ct systemctl is-active "$unit" || true)"
echo "DOWN_LEFT_NOTHING=$(yes_no ct_network_gone vnet0)"
ct journalctl -t vnet-helper --no-pager -o cat > "$WORK/journal.txt"
cat "$WORK/journal.txt" >&2
echo "JOURNAL_TAKEN_DOWN=$(grep -c "^network: uid=0 bridge=vnet0 taken down by .vnet-helper down'" "$WORK/journal.txt" || true)"
echo "JOURNAL_BROUGHT_UP=$(grep -c '^network: uid=4242 bridge=vnet0 brought up' "$WORK/journal.txt" || true)"
