#!/bin/bash
# tests/scripts/commands/status_as_user_and_root.sh: status, as the user and as root.
# (run by tests/commands.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
dump_on_failure vn0
define_net vn0 'address = "10.200.0.1/24"' 'idle-timeout = "60s"'
# JSON fields of network vn0 as KEY=VALUE lines (Python reprs), prefixed
jq_vn0() {
  python3 -c '
import json, sys
prefix = sys.argv[1]
d = json.load(sys.stdin)
n = [x for x in d if x["name"] == "vn0"]
print(prefix + "COUNT=%d" % len(n))
n = n[0]
for k in ("up", "mode", "address", "bridge", "dnsmasq_pid", "rules_present"):
    print(prefix + "%s=%r" % (k.upper(), n.get(k, "<missing>")))
print(prefix + "TAPS=%s" % ",".join(sorted(t["name"] for t in n["taps"])))
for t in n["taps"]:
    print(prefix + "OWNERS_%s=%s" % (t["name"], ",".join("%d:%d" % (o["pid"], o["uid"]) for o in t["owners"])))
for l in n["leases"]:
    print(prefix + "LEASE=%s %s %s %s" % (l["mac"], l["ip"], l["hostname"], l["expiry"]))
' "$1"
}
# with nothing up
rc=0; as_user "$VH" status > "$WORK/s0.txt" || rc=$?; echo "DOWN_TEXT_RC=$rc"
echo "DOWN_TEXT=$(grep -c '^vn0: down$' "$WORK/s0.txt")"
as_user "$VH" status --json | jq_vn0 DOWN_

# a user's QEMU holds a tap; a veth guest takes a DHCP lease
AS=user attach_bg vn0 "$WORK/a.out"
echo "HOLDER_UID=$(stat -c %u /proc/$HOLDER)"
ip netns add g1
ip link add vh1 type veth peer name vg1 address 52:54:00:aa:00:01
ip link set vg1 netns g1
ip link set vh1 master vn0 up
ip -n g1 link set vg1 up
# shellcheck disable=SC2016 # a script for udhcpc: expanded when it runs
printf '#!/bin/sh\n[ "$1" = bound ] && echo "BOUND_IP=$ip"\nexit 0\n' > "$WORK/udhcpc.sh"
chmod +x "$WORK/udhcpc.sh"
ip netns exec g1 timeout 30 busybox udhcpc -i vg1 -n -q -t 15 -T 1 -x hostname:guest1 -s "$WORK/udhcpc.sh" 2>/dev/null > "$WORK/dhcp.out" || true
cat "$WORK/dhcp.out"
ip=$(sed -n 's/^BOUND_IP=//p' "$WORK/dhcp.out")
# dnsmasq writes its lease file on the lease: wait for it (bounded)
has_lease() { grep -q "52:54:00:aa:00:01" "$(lease_file vn0)" 2>/dev/null; }
wait_for 5 has_lease || true
dns=$(pidfile_dnsmasq vn0 || true)
echo "TAP=$TAPNAME"
echo "HOLDER=$HOLDER"
echo "DNS=$dns"
echo "NOW=$(date +%s)"

rc=0; as_user "$VH" status > "$WORK/u.txt" || rc=$?; echo "USER_TEXT_RC=$rc"
sed 's/^/user-text: /' "$WORK/u.txt"
echo "USER_TEXT_UP=$(grep -c '^vn0: up$' "$WORK/u.txt")"
echo "USER_TEXT_BRIDGE=$(grep -c 'bridge: present' "$WORK/u.txt")"
echo "USER_TEXT_DNSMASQ=$(grep -c "dnsmasq: pid $dns\$" "$WORK/u.txt")"
echo "USER_TEXT_TAP=$(grep -cw "$TAPNAME" "$WORK/u.txt")"
echo "USER_TEXT_LEASE=$(grep -c "52:54:00:aa:00:01 $ip guest1" "$WORK/u.txt")"
rc=0; as_user "$VH" status --json > "$WORK/u.json" || rc=$?; echo "USER_JSON_RC=$rc"
jq_vn0 USER_ < "$WORK/u.json"
as_user "$VH" status --json vn0 | jq_vn0 USER1_

rc=0; "$VH" status > "$WORK/r.txt" || rc=$?; echo "ROOT_TEXT_RC=$rc"
sed 's/^/root-text: /' "$WORK/r.txt"
echo "ROOT_TEXT_OWNER=$(grep -c "$TAPNAME (pid $HOLDER uid 4242)" "$WORK/r.txt")"
echo "ROOT_TEXT_RULES=$(grep -c 'firewall rules: present' "$WORK/r.txt")"
"$VH" status --json | jq_vn0 ROOT_
release "$HOLDER"
