#!/bin/bash
# tests/scripts/systemd/supervisor_outlives_sessions.sh DEB: under a real systemd (a
# container booted by systemd-nspawn, the package DEB installed), two users
# boot TCG guests on the package's default network vnet0 from login
# sessions. Prints where the supervisor and dnsmasq live (their cgroups, the
# unit), what terminating the first user's session left running while the
# second user's guest pings its gateway, the idle teardown stopping the unit,
# and the audit lines in the journal and in `systemctl status`.
# (run by tests/systemd.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/guest.sh
source "$TESTS/lib/guest.sh"
# shellcheck source=tests/lib/container.sh
source "$TESTS/lib/container.sh"
deb=$1
container_boot
ct_install_deb "$deb"
ct useradd -m -u 4301 alice
ct useradd -m -u 4302 bob
ct_sh 'echo "idle-timeout = \"3s\"" >> /etc/vnet-helper/networks/vnet0.toml'
# the package's helper, for nic (guest.sh)
# shellcheck disable=SC2034
VH=/usr/libexec/vnet-helper

# alice's guest: a lease, the gateway, then it waits (until her session ends)
guest_script "$WORK/a.sh" <<'G'
dhcp alice-vm
pings 3 "$DHCP_ROUTER" A
wait_go 150
G
# bob's guest: a lease, the gateway; told to go on, the gateway again
guest_script "$WORK/b.sh" <<'G'
dhcp bob-vm
pings 3 "$DHCP_ROUTER" B1
wait_go 150
pings 10 "$DHCP_ROUTER" B2
G
nic vnet0 52:54:00:12:34:01
GUEST_RUN_AS="ct_session alice" guest_start a "$WORK/a.sh" "${NIC[@]}"
guest_wait_marker a '^PING_RECEIVED_A='
echo "GUEST_A_LEASE=$(gval a LEASE_IP)"
echo "GUEST_A_PINGS=$(gval a PING_RECEIVED_A)"

unit=vnet-helper@vnet0.service
echo "UNIT_ACTIVE=$(ct systemctl is-active "$unit" || true)"
sup=$(ct_unit_pid "$unit")
dns=$(ct pgrep -x dnsmasq)
qa=$(ct pgrep -u alice -x qemu-system-x86)
echo "SUPERVISOR_ARGS=$(ct ps -o args= -p "$sup")"
echo "SUPERVISOR_CGROUP=$(ct_cgroup "$sup")"
echo "DNSMASQ_CGROUP=$(ct_cgroup "$dns")"
echo "QEMU_A_CGROUP=$(ct_cgroup "$qa")"
echo "UNIT_CGROUP=$(ct systemctl show -p ControlGroup --value "$unit")"
echo "ALICE_SESSIONS=$(ct loginctl list-sessions --no-legend | awk '$3 == "alice" { print $1 }' | tr '\n' ' ')"

nic vnet0 52:54:00:12:34:02
GUEST_RUN_AS="ct_session bob" guest_start b "$WORK/b.sh" "${NIC[@]}"
guest_wait_marker b '^PING_RECEIVED_B1='
echo "GUEST_B_LEASE=$(gval b LEASE_IP)"

# end alice's login: her QEMU goes, the network stays for bob
ct loginctl terminate-user alice
if wait_for 20 bash -c "! kill -0 ${_GUEST_PID[a]} 2>/dev/null"; then echo "GUEST_A_GONE=yes"; else echo "GUEST_A_GONE=no"; fi
echo "QEMU_A_LEFT=$(ct pgrep -u alice -x qemu-system-x86 | wc -l)"
echo "AFTER_TERMINATE_UNIT_ACTIVE=$(ct systemctl is-active "$unit" || true)"
echo "AFTER_TERMINATE_SAME_SUPERVISOR=$(yes_no test "$(ct_unit_pid "$unit")" = "$sup")"
echo "AFTER_TERMINATE_SAME_DNSMASQ=$(yes_no test "$(ct pgrep -x dnsmasq)" = "$dns")"
echo "AFTER_TERMINATE_PORTS=$(ct ls /sys/class/net/vnet0/brif | wc -l)"
ct_tell_guest "$(gval b LEASE_IP)" go
guest_wait b
echo "GUEST_B_PINGS_AFTER=$(gval b PING_RECEIVED_B2)"

# bob's guest is gone: the idle teardown stops the unit
t0=$(now)
if wait_for 30 ct_network_gone vnet0; then echo "TORN_DOWN_AFTER=$(since "$t0")"; else echo "TORN_DOWN_AFTER=never"; fi
echo "UNIT_AFTER_IDLE=$(ct systemctl is-active "$unit" || true)"
echo "--- journal" >&2
ct journalctl -t vnet-helper --no-pager -o cat > "$WORK/journal.txt"
cat "$WORK/journal.txt" >&2
echo "JOURNAL_GRANTED_ALICE=$(grep -c '^granted: uid=4301 bridge=vnet0 ' "$WORK/journal.txt" || true)"
echo "JOURNAL_GRANTED_BOB=$(grep -c '^granted: uid=4302 bridge=vnet0 ' "$WORK/journal.txt" || true)"
echo "JOURNAL_BROUGHT_UP=$(grep -c '^network: uid=4301 bridge=vnet0 brought up' "$WORK/journal.txt" || true)"
echo "JOURNAL_IDLE_TEARDOWN=$(grep -c '^network: uid=0 bridge=vnet0 torn down after idle timeout' "$WORK/journal.txt" || true)"
ct systemctl status --no-pager -n 20 "$unit" > "$WORK/status.txt" || true
cat "$WORK/status.txt" >&2
echo "STATUS_SHOWS_TEARDOWN=$(yes_no grep -q 'torn down after idle timeout' "$WORK/status.txt")"
# the supervisor's last line, filed under its unit (its journal stream, not
# a syslog datagram that journald may read after the sender is gone),
# with syslog's facility (authpriv = 10) and level (info = 6)
ct journalctl -u "$unit" -o json --no-pager > "$WORK/unit-journal.json"
teardown=$(grep 'torn down after idle timeout' "$WORK/unit-journal.json" || true)
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" <<<"$teardown"; }
echo "UNIT_TEARDOWN_TRANSPORT=$(field _TRANSPORT)"
echo "UNIT_TEARDOWN_IDENTIFIER=$(field SYSLOG_IDENTIFIER)"
echo "UNIT_TEARDOWN_FACILITY=$(field SYSLOG_FACILITY)"
echo "UNIT_TEARDOWN_PRIORITY=$(field PRIORITY)"
