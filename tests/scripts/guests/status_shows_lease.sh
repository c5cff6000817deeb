#!/bin/bash
# tests/scripts/guests/status_shows_lease.sh: status (user and root, text and JSON) while a guest holds a lease
# (run by tests/guests.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# Topology (tests/lib/upstream.sh, upstream_with_peer_servers):
#   guests --tap-- [vnet0 10.200.0.1/24] host [uplink0 198.51.100.2/24]
#                                               | veth
#                                netns upstream [eth0 198.51.100.1/24]
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/upstream.sh
source "$TESTS/lib/upstream.sh"
# shellcheck source=tests/lib/guest.sh
source "$TESTS/lib/guest.sh"
export GUEST_TIMEOUT=150
dump_on_failure vnet0
upstream_with_peer_servers
define_net vnet0 'address = "10.200.0.1/24"' 'dhcp-range = "10.200.0.100-10.200.0.199"' \
  'domain = "vm"' 'idle-timeout = "2s"'
MAC=52:54:00:5a:7a:05
{ guest_snippets; cat <<'EOF'
dhcp statusguest
echo G-READY
wait_release
EOF
} > "$WORK/g.sh"
nic vnet0 $MAC
guest_start s "$WORK/g.sh" "${NIC[@]}"
guest_wait_marker s '^G-READY'
IP=$(guest_value s LEASE_IP)
echo "GUEST_IP=$IP"
echo "QEMU_PIDS=$(qemu_pids)"
echo "BRIDGE_PORTS=$(bridge_ports vnet0)"
echo "REAL_DNSMASQ_PID=$(dnsmasq_pids vnet0)"
echo "REAL_SUPERVISOR_PID=$(supervisor_pids vnet0)"

# status_facts PREFIX FILE: the JSON of `status --json vnet0` as KEY=VALUE lines
status_facts() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
p, path = sys.argv[1], sys.argv[2]
try:
    doc = json.load(open(path))
except Exception as e:
    print("%s_JSON=invalid (%s)" % (p, e)); sys.exit(0)
print("%s_JSON=ok" % p)
nets = doc if isinstance(doc, list) else [doc]
net = [n for n in nets if isinstance(n, dict) and n.get("name") == "vnet0"]
print("%s_NETS=%d" % (p, len(net)))
if not net: sys.exit(0)
n = net[0]
print("%s_UP=%s" % (p, json.dumps(n.get("up"))))
print("%s_DNSMASQ_PID=%s" % (p, json.dumps(n.get("dnsmasq_pid"))))
print("%s_SUPERVISOR_PID=%s" % (p, json.dumps(n.get("supervisor_pid"))))
for l in n.get("leases") or []:
    print("%s_LEASE=%s %s %s" % (p, str(l.get("mac")).lower(), l.get("ip"), l.get("hostname")))
for t in n.get("taps") or []:
    print("%s_TAP=%s" % (p, t.get("name")))
    for o in t.get("owners") or []:
        print("%s_OWNER=%s %s %s" % (p, t.get("name"), o.get("pid"), o.get("uid")))
PY
}

# as the unprivileged user
rc=0; as_user "$VH" status --json vnet0 > "$WORK/status-user.json" 2> "$WORK/status-user.err" || rc=$?
echo "USER_RC=$rc"
cat "$WORK/status-user.json" "$WORK/status-user.err" >&2
status_facts USER "$WORK/status-user.json"
rc=0; as_user "$VH" status vnet0 > "$WORK/status-user.txt" 2>&1 || rc=$?
echo "USER_TEXT_RC=$rc"
cat "$WORK/status-user.txt" >&2
echo "USER_TEXT_STATE=$(head -n 1 "$WORK/status-user.txt")"
echo "USER_TEXT_SUPERVISOR=$(sed -n 's/^ *supervisor: //p' "$WORK/status-user.txt")"

# as root: JSON and text
rc=0; "$VH" status --json vnet0 > "$WORK/status-root.json" || rc=$?
echo "ROOT_RC=$rc"
cat "$WORK/status-root.json" >&2
status_facts ROOT "$WORK/status-root.json"
rc=0; "$VH" status vnet0 > "$WORK/status-root.txt" || rc=$?
echo "ROOT_TEXT_RC=$rc"
cat "$WORK/status-root.txt" >&2
tap=$(bridge_ports vnet0)
echo "ROOT_TEXT_TAP_LINE=$(grep -E "^ +$tap( |$)" "$WORK/status-root.txt" | sed 's/^ *//')"
echo "ROOT_TEXT_LEASE_LINE=$(grep -iE "^ +$MAC " "$WORK/status-root.txt" | sed 's/^ *//; s/ expires .*//')"

if release_guest s "$IP"; then echo "RELEASED=yes"; else echo "RELEASED=no"; fi
guest_wait s
