# shellcheck shell=bash
# tests/lib/firewalld.sh: a real firewalld with its own system D-Bus, inside
# the test's sandbox (tests/sandbox.sh: /run and /etc are already private).
# /var/log gets a tmpfs; /etc/firewalld is the sandbox's overlay of the
# host's, so zones written there never reach the host.
#
#   firewalld_start        start dbus-daemon --system and firewalld; wait
#                          until firewalld owns org.fedoraproject.FirewallD1
#   firewalld_stop         stop firewalld (it cleans up its rules)
#   firewalld_restart      stop, then start again
#   firewalld_zone_install copy packaging/firewalld/ into /etc/firewalld/
#   fw_cmd ARGS...         firewall-cmd with a bound

# _firewalld_bus_up: start the sandbox's system bus once
_firewalld_bus_up() {
  [ -S /run/dbus/system_bus_socket ] && return 0
  mkdir -p /run/dbus /var/lib/dbus
  if ! mountpoint -q /var/log; then mount -t tmpfs -o mode=0755 varlog /var/log; fi
  [ -s /var/lib/dbus/machine-id ] || dbus-uuidgen > /var/lib/dbus/machine-id
  dbus-daemon --system --fork --nopidfile 2>"$WORK/dbus.err" \
    || { cat "$WORK/dbus.err" >&2; return 1; }
  wait_for 5 test -S /run/dbus/system_bus_socket
}

# firewalld_owner: the unique bus name owning org.fedoraproject.FirewallD1 (empty if none)
firewalld_owner() {
  dbus-send --system --print-reply --dest=org.freedesktop.DBus / \
    org.freedesktop.DBus.GetNameOwner string:org.fedoraproject.FirewallD1 2>/dev/null \
    | sed -n 's/^ *string "\(.*\)"$/\1/p'
}

# firewalld_running: firewalld owns its name and has finished starting
firewalld_running() {
  [ -n "$(firewalld_owner)" ] && [ "$(fw_cmd --state 2>/dev/null)" = running ]
}

firewalld_start() {
  _firewalld_bus_up || return 1
  firewalld --nofork --nopid >>"$WORK/firewalld.out" 2>&1 &
  FIREWALLD_PID=$!
  wait_for 30 firewalld_running || { cat "$WORK/firewalld.out" /var/log/firewalld >&2 2>/dev/null; return 1; }
}

firewalld_stop() {
  [ -n "${FIREWALLD_PID:-}" ] || return 0
  kill "$FIREWALLD_PID" 2>/dev/null || true
  wait_for 20 bash -c "! kill -0 $FIREWALLD_PID 2>/dev/null" || kill -9 "$FIREWALLD_PID" 2>/dev/null || true
  wait "$FIREWALLD_PID" 2>/dev/null || true
  FIREWALLD_PID=
}

firewalld_restart() { firewalld_stop; firewalld_start; }

# fw_cmd ARGS...: firewall-cmd, bounded
fw_cmd() { timeout 30 firewall-cmd "$@"; }

# firewalld_zone_install: what install.sh installs for firewalld
firewalld_zone_install() {
  local f
  for f in "$REPO"/packaging/firewalld/zones/*.xml "$REPO"/packaging/firewalld/policies/*.xml; do
    install -D -m 0644 "$f" "/etc/firewalld/${f#"$REPO/packaging/firewalld/"}"
  done
}
