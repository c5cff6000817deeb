#!/bin/bash
# tests/scripts/systemd/package_lifecycle.sh DEB: the package's install,
# upgrade, dpkg-statoverride, remove and purge in a container booted by
# systemd-nspawn, on a host whose admin already has an /etc/qemu/bridge.conf.
# Prints the helper's mode after each step, whether the admin's ACL was kept,
# whether a network that is up survives an upgrade, and what remove and purge
# leave behind (links, rules, processes, and every file compared with the
# container's file system before the install), also of a network whose
# definition was deleted while it was up.
# (run by tests/systemd.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/container.sh
source "$TESTS/lib/container.sh"
deb=$1

# files_now: every file and directory of the container's / and /run, but
# dpkg's and the system's own bookkeeping (logs, journal, caches, dpkg's
# database, systemd's runtime state, our scratch files; agetty's reload
# marker, which it makes when an interface's addresses change)
files_now() {
  # shellcheck disable=SC2016 # run by the container's bash
  ct_sh 'for top in / /run; do
      find "$top" -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /tmp -o -path /var/tmp \
        -o -path /var/log -o -path /var/cache -o -path /var/lib/dpkg -o -path /var/lib/apt \
        -o -path /var/lib/systemd -o -path /run/systemd -o -path /run/log -o -path /run/user \
        -o -path /root -o -path /run/vh -o -path /run/agetty.reload \) -prune -o -print
    done | sort'
}
mode_of() { ct stat -c '%a:%U:%G' /usr/libexec/vnet-helper; }

container_boot
ct mkdir -p /etc/qemu
ct_sh 'printf "# the admin'"'"'s own ACL\nallow vnet0\n" > /etc/qemu/bridge.conf'
acl_sum=$(ct sha256sum /etc/qemu/bridge.conf)
files_now > "$WORK/files.before"

# a built copy with a higher version, for the upgrade
mkdir "$WORK/deb2"
dpkg-deb -R "$deb" "$WORK/deb2/tree"
version=$(dpkg-deb -f "$deb" Version)
sed -i "s/^Version: .*/Version: $version+up1/" "$WORK/deb2/tree/DEBIAN/control"
dpkg-deb -b "$WORK/deb2/tree" "$WORK/deb2/next.deb" >&2

ct_install_deb "$deb"
echo "MODE_INSTALLED=$(mode_of)"
echo "ACL_KEPT=$(yes_no test "$(ct sha256sum /etc/qemu/bridge.conf)" = "$acl_sum")"
echo "DEFAULT_NETWORK=$(ct_sh 'grep ^address /etc/vnet-helper/networks/vnet0.toml' || true)"
ct_hold_tap 120
wait_for 20 ct_ports_are vnet0 1 || { cat "$WORK/hold.out" >&2; die "no tap on vnet0"; }
dns=$(ct pgrep -x dnsmasq)
def_sum=$(ct sha256sum /etc/vnet-helper/networks/vnet0.toml)

ct_install_deb "$WORK/deb2/next.deb"
echo "VERSION_UPGRADED=$(ct_sh 'dpkg -s vnet-helper | sed -n "s/^Version: //p"')"
echo "MODE_UPGRADED=$(mode_of)"
echo "UP_AFTER_UPGRADE=$(yes_no test "$(ct_ports vnet0)" = 1)"
echo "SAME_DNSMASQ_AFTER_UPGRADE=$(yes_no test "$(ct pgrep -x dnsmasq)" = "$dns")"
echo "DEFINITION_KEPT=$(yes_no test "$(ct sha256sum /etc/vnet-helper/networks/vnet0.toml)" = "$def_sum")"
echo "ATTACH_AFTER_UPGRADE_$(ct_attach vnet0 | grep '^RC=')"

# an admin's statoverride survives an upgrade (here: a reinstall)
ct dpkg-statoverride --update --add root root 4750 /usr/libexec/vnet-helper
ct_install_deb "$WORK/deb2/next.deb"
echo "MODE_STATOVERRIDE=$(mode_of)"
ct dpkg-statoverride --remove /usr/libexec/vnet-helper
ct_install_deb "$WORK/deb2/next.deb"
echo "MODE_OVERRIDE_REMOVED=$(mode_of)"

# a second network, up, whose definition is deleted before the remove: the
# prerm's `down --force` takes it down all the same
ct_sh 'printf "address = \"10.201.0.1/24\"\nidle-timeout = \"never\"\n" > /etc/vnet-helper/networks/vnet9.toml
  /usr/libexec/vnet-helper up vnet9 && rm /etc/vnet-helper/networks/vnet9.toml' >&2
echo "ORPHAN_UP=$(ct_sh 'test -d /sys/class/net/vnet9/bridge && systemctl is-active vnet-helper@vnet9' || true)"

# remove while a guest holds a tap: the networks go with the package
ct dpkg -r vnet-helper >&2
echo "REMOVE_LEFT_NOTHING=$(yes_no ct_network_gone vnet0)"
echo "REMOVE_ORPHAN_GONE=$(yes_no ct_network_gone vnet9)"
echo "REMOVE_RULES=$(ct_rules)"
echo "REMOVE_RUN_DIR=$(ct_sh 'ls -d /run/vnet-helper 2>/dev/null | wc -l')"
echo "REMOVE_UNITS=$(ct_sh 'systemctl list-units --all --no-legend "vnet-helper@*" | wc -l')"
echo "REMOVE_HELPER_PROCESSES=$(ct_sh 'pgrep -f "^/usr/libexec/vnet-helper" | wc -l')"

ct dpkg -P vnet-helper >&2
files_now > "$WORK/files.after"
echo "PURGE_LEFTOVERS=$(comm -13 "$WORK/files.before" "$WORK/files.after" | tr '\n' ' ')"
echo "PURGE_MISSING=$(comm -23 "$WORK/files.before" "$WORK/files.after" | tr '\n' ' ')"
echo "ACL_KEPT_AFTER_PURGE=$(yes_no test "$(ct sha256sum /etc/qemu/bridge.conf)" = "$acl_sum")"
# the QEMU-like holder still has its (detached) tap; once it exits, no link
# but lo may be left
ct pkill -f fake_qemu.py || true
wait_for 10 bash -c "! ct pgrep -f fake_qemu.py >/dev/null" || true
echo "LINKS_AFTER_PURGE=$(ct_sh 'ip -br link | grep -v "^lo " | cut -d" " -f1 | tr "\n" " "')"
echo "RULES_AFTER_PURGE=$(ct_rules)"
