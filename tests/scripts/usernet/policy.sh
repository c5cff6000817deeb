#!/bin/bash
# tests/scripts/usernet/policy.sh: what the admin's policy allows and refuses
# for `net create`, auto-create (the helper called as QEMU calls it for a
# bridge that does not exist yet), `net list`, and `check`. Every refusal:
# exit 1, one line, nothing created, audited. Four pools:
#   vu-  alice, @vmusers; 10.240.0.0/16; max-per-user 2; no forwards
#   vf-  alice, bob; forwards within 20000-20099
#   vs-  alice, @vmusers; 10.242.0.0/23: room for two /24s
#   v6-  alice; IPv6 /64s from fd42:ab::/48
#   va-  alice, @vmusers; auto-create; max-per-user 1
# carol is in none. In 10.240.0.0/16 the host has an address (10.240.0.0/24),
# a route (10.240.1.0/24) and an admin network (vu-admin, 10.240.2.0/24).
# (run by tests/usernet.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/host_firewalls.sh
source "$TESTS/lib/host_firewalls.sh"
# shellcheck source=tests/lib/launch.sh
source "$TESTS/lib/launch.sh"
# shellcheck source=tests/lib/usernet.sh
source "$TESTS/lib/usernet.sh"
dump_on_failure ""
un_users
un_syslog_start
foreign_rules
un_policy <<'EOF'
[[pool]]
users = ["alice", "@vmusers"]
prefix = "vu-"
subnets = ["10.240.0.0/16"]
max-per-user = 2
idle-timeout = "2s"

[[pool]]
users = ["alice", "bob"]
prefix = "vf-"
subnets = "10.241.0.0/16"
forwards = true
forward-ports = "20000-20099"

[[pool]]
users = ["alice", "@vmusers"]
prefix = "vs-"
subnets = "10.242.0.0/23"

[[pool]]
users = ["alice"]
prefix = "v6-"
subnets = "10.244.0.0/16"
ipv6-subnets = "fd42:ab::/48"

[[pool]]
users = ["alice", "@vmusers"]
prefix = "va-"
subnets = "10.243.0.0/16"
auto-create = true
max-per-user = 1
idle-timeout = "2s"
EOF
ip link add hostx type veth peer name hostx-p
ip addr add 10.240.0.1/24 dev hostx
ip link set hostx up
ip route add 10.240.1.0/24 dev hostx
ip link add vu-taken type veth peer name vu-taken-p
define_net vu-admin 'address = "10.240.2.1/24"'
un_snapshot "$WORK/base"

# --- refused before any work: no lock, no file, nothing at all
un_net NONMEMBER carol net create vu-carol
un_net NOPREFIX alice net create lab
un_net ETH0 alice net create eth0
un_net SLASH alice net create vu-a/b
un_net LONG16 alice net create vu-0123456789abc
un_net PLUS alice net create vu-a+b
un_net DOTDOT alice net create ..
un_net MODE alice net create vu-x --mode routed
un_net BADMODE alice net create vu-x --mode bogus
un_net IPV6 alice net create vu-x --ipv6
un_net FWD_OFF alice net create vu-x --forward tcp:20000:.10:80
un_net FWD_LOW alice net create vf-x --forward tcp:80:.10:80
un_net FWD_OUT alice net create vf-x --forward tcp:30000:.10:80
un_net FWD_SPAN alice net create vf-x --forward tcp:20090-20110:.10:80
un_net FWD_NONMEMBER carol net create vf-x --forward tcp:20000:.10:80
un_same PRE_SAME "$WORK/base"
echo "PRE_RUN_TOP=$(yes_no test -e /run/vnet-helper)"
for who in NONMEMBER:vu-carol:4244 NOPREFIX:lab:4242 ETH0:eth0:4242 SLASH:vu-a/b:4242 \
           LONG16:vu-0123456789abc:4242 PLUS:vu-a+b:4242 MODE:vu-x:4242 IPV6:vu-x:4242 \
           FWD_OFF:vu-x:4242 FWD_LOW:vf-x:4242 FWD_OUT:vf-x:4242 FWD_NONMEMBER:vf-x:4244; do
  IFS=: read -r l n u <<<"$who"
  echo "${l}_AUDITED=$(un_audited "$n" "$u" refused)"
done

# --- created; the subnet avoids the host's address and route and vu-admin
un_net LAB alice net create vu-lab
echo "LAB_RECORD=$(stat -c '%U:%G %a' "$(un_record vu-lab)" 2>&1)"
echo "LAB_BRIDGE=$(yes_no link_exists vu-lab)"
echo "LAB_AUDITED=$(un_audited vu-lab 4242 created)"
un_net BOB bob net create vu-bob
un_net LAB2 alice net create vu-lab2
# membership is the kernel's view of the caller: dave without his
# supplementary groups is no member; carol with vmusers' gid is one
as_ids() { local ids=$1; shift; setpriv --reuid="${ids%%:*}" --regid="${ids%%:*}" "$@"; }
rc=0; as_ids 4245 --clear-groups -- "$VH" net create vu-dave > /dev/null 2> "$WORK/dave.err" || rc=$?
echo "DAVE_NOGROUPS_RC=$rc"; echo "DAVE_NOGROUPS_ERR=$(cat "$WORK/dave.err")"
echo "DAVE_NOGROUPS_LEFT=$(un_leftovers vu-dave)"
rc=0; as_ids 4244 --groups="$UN_GROUP_GID" -- "$VH" net create vu-carolg > "$WORK/carolg.out" 2>&1 || rc=$?
echo "CAROL_GROUP_RC=$rc"; echo "CAROL_GROUP_OUT=$(head -n 1 "$WORK/carolg.out")"
un_net CAROL_DELETE carol net delete vu-carolg
echo "CAROL_LEFT=$(un_leftovers vu-carolg)"
un_snapshot "$WORK/three"

# --- refused under the lock: collisions and quota; nothing new
un_net TAKEN alice net create vu-taken
un_net ADMIN alice net create vu-admin
un_net OTHERS alice net create vu-bob
un_net OTHERS2 bob net create vu-lab
un_net QUOTA alice net create vu-lab3
un_same LOCKED_SAME "$WORK/three"
for who in TAKEN:vu-taken:4242 ADMIN:vu-admin:4242 OTHERS:vu-bob:4242 OTHERS2:vu-lab:4243 QUOTA:vu-lab3:4242; do
  IFS=: read -r l n u <<<"$who"
  echo "${l}_AUDITED=$(un_audited "$n" "$u" refused)"
done
echo "TAKEN_KIND=$(ip -o -d link show vu-taken | grep -o veth)"
echo "ADMIN_DEF=$(yes_no test -e "$(definition_file vu-admin)")"
echo "ADMIN_RECORD=$(yes_no test -e "$(un_record vu-admin)")"

# --- forwards: in range, then the same host port again, a guest outside
un_net WEB alice net create vf-web --forward tcp:20080:.10:80
un_net WEB2 bob net create vf-web2 --forward tcp:20080:.10:80
un_net WEB3 bob net create vf-web3 --forward tcp:20081:10.9.9.9:80
echo "WEB2_LEFT=$(un_leftovers vf-web2)"
echo "WEB3_LEFT=$(un_leftovers vf-web3)"

# --- the small pool: two /24s, then none left
un_net S1 alice net create vs-1
un_net S2 bob net create vs-2
un_net S3 dave net create vs-3
echo "S3_LEFT=$(un_leftovers vs-3)"

# --- IPv6 and the isolated mode: /64s of their own, on the bridge once up
un_net V6A alice net create v6-a --ipv6
un_net V6B alice net create v6-b --ipv6 --mode isolated
un_hold alice v6-a "$WORK/hold.v6"
echo "V6A_BRIDGE_V6=$(ip -6 -o addr show dev v6-a scope global | awk '{ print $4 }')"
release "$UN_HOLDER"

# --- auto-create: an attach to a free va- name creates it for the caller
un_hold alice va-auto "$WORK/hold.auto"
echo "AUTO_TAP_MASTER=$(master_of "$UN_TAP")"
echo "AUTO_RECORD=$(yes_no test -e "$(un_record va-auto)")"
echo "AUTO_AUDITED=$(un_audited va-auto 4242 created)"
un_net AUTOLIST alice net list --json
echo "AUTO_OWNER=$(python3 -c 'import json,sys; print([n["owner"] for n in json.load(open(sys.argv[1])) if n["name"] == "va-auto"])' "$WORK/out.AUTOLIST")"
AUTO_GW=$(ip -4 -o addr show dev va-auto | awk '{ print $4 }')
echo "AUTO_GW=$AUTO_GW"
veth_guest ga va-auto 52:54:00:a0:00:01
echo "AUTO_LEASE=$(vguest_dhcp ga || true)"
un_attach AUTO_OTHER bob va-auto
un_attach AUTO_QUOTA alice va-more
un_attach AUTO_NONMEMBER carol va-carol
un_attach AUTO_OFF alice vu-nope
for n in va-more va-carol vu-nope; do echo "LEFT_$n=$(un_leftovers "$n")"; done
echo "AUTO_OTHER_AUDITED=$(un_audited va-auto 4243 refused)"
ip netns del ga
release "$UN_HOLDER"

# --- net list: each sees their own; a non-member an empty list; root all
for who in alice bob carol root; do
  un_net "LIST_$who" "$who" net list
  echo "LIST_${who}_NAMES=$(awk 'NR > 1 && $1 != "NAME" { print $1 }' "$WORK/out.LIST_$who" | sort | tr '\n' ' ' | sed 's/ $//')"
  un_net "JSON_$who" "$who" net list --json
  echo "JSON_${who}_NAMES=$(python3 -c 'import json,sys; print(" ".join(sorted(n["name"] for n in json.load(open(sys.argv[1])))))' "$WORK/out.JSON_$who" 2>&1)"
done
python3 - "$WORK/out.JSON_root" <<'PY' || echo "PYTHON_FAILED=$?"
import json, sys
nets = {n["name"]: n for n in json.load(open(sys.argv[1]))}
keys = "name owner uid pool mode subnet gateway ipv6 state taps leases forwards"
print("JSON_KEYS=" + ("ok" if all(set(keys.split()) <= set(n) for n in nets.values()) else "missing"))
for name in ("vu-lab", "vu-bob", "vf-web"):
    n = nets.get(name, {})
    print(f"J_{name}=" + " ".join(str(n.get(k)) for k in ("owner", "uid", "pool", "mode", "state", "ipv6")))
print("J_vf-web_FORWARDS=" + str(len(nets.get("vf-web", {}).get("forwards", []))))
subnets = [n["subnet"] for n in nets.values()]
print("JSON_SUBNETS=" + " ".join(sorted(subnets)))
print("JSON_DISTINCT=" + ("yes" if len(set(subnets)) == len(subnets) else "no"))
PY

# --- check: the policy and the records; then a broken policy
un_net CHECK root check
cp /etc/vnet-helper/user-networks.toml "$WORK/policy.good"

# --- the admin takes @vmusers out of the vu- pool: bob keeps his record but
# may no longer attach to vu-bob
sed '0,/"alice", "@vmusers"/s//"alice"/' "$WORK/policy.good" | un_policy
un_attach REVOKED bob vu-bob
echo "REVOKED_BRIDGE=$(yes_no link_exists vu-bob)"
echo "REVOKED_RECORD=$(yes_no test -e "$(un_record vu-bob)")"
{ cat "$WORK/policy.good"; echo 'bogus-key = 1'; } | un_policy
echo "BAD_LINE=$(( $(wc -l < "$WORK/policy.good") + 1 ))"
un_net CHECK_BAD root check
un_net CREATE_BAD alice net create vu-z
un_policy < "$WORK/policy.good"
un_syslog_stop
