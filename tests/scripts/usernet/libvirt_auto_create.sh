#!/bin/bash
# tests/scripts/usernet/libvirt_auto_create.sh: libvirt session mode
# (qemu:///session as vhuser, uid 4242; tests/lib/libvirt.sh) with
# vnet-helper as its bridge_helper starts a domain whose <interface
# type='bridge'> names va-lv, which does not exist: the pool's auto-create
# makes it a user network of vhuser, the guest gets a lease from it and pings
# its gateway. No bridge.conf at all.
# (run by tests/usernet.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/install.sh
source "$TESTS/lib/install.sh"
# shellcheck source=tests/lib/guest.sh
source "$TESTS/lib/guest.sh"
# shellcheck source=tests/lib/libvirt.sh
source "$TESTS/lib/libvirt.sh"
# shellcheck source=tests/lib/usernet.sh
source "$TESTS/lib/usernet.sh"
dump_on_failure va-lv
T0=$EPOCHREALTIME
libvirt_setup
un_policy <<'P'
[[pool]]
users = ["vhuser"]
prefix = "va-"
subnets = ["10.243.0.0/16"]
auto-create = true
idle-timeout = "2s"
P
echo "ACL_PRESENT=$(yes_no test -e "$(acl_file)")"
{ guest_snippets; cat <<'G'; } > "$WORK/guest.sh"
dhcp lvguest
pings 3 "$DHCP_ROUTER" GW
echo LV-DONE
G
lv_domain lv1 52:54:00:4c:0a:01 va-lv "$WORK/guest.sh"
echo "BEFORE_BRIDGE=$(yes_no link_exists va-lv)"
t=$EPOCHREALTIME
virsh_u start lv1 >&2
echo "T_START=$(since "$t")"
echo "RECORD=$(yes_no test -e "$(un_record va-lv)")"
echo "TAP_MASTER=$(master_of "$(lv_tap lv1)")"
"$VH" net list --json > "$WORK/list.json" || echo "LIST_RC=$?"
python3 - "$WORK/list.json" <<'PY' || echo "PYTHON_FAILED=$?"
import json, sys
n = [n for n in json.load(open(sys.argv[1])) if n["name"] == "va-lv"]
print("LV_OWNER=%s" % (n[0]["owner"] + " " + str(n[0]["uid"]) if n else "none"))
print("LV_MODE=%s" % (n[0]["mode"] if n else "none"))
print("LV_GATEWAY=%s" % (n[0]["gateway"] if n else "none"))
PY
lv_wait_log lv1 '^LV-DONE' 150
echo "T_GUEST_DONE=$(since "$t")"
echo "G_IP=$(gval lv1 LEASE_IP)"
echo "G_ROUTER=$(gval lv1 LEASE_ROUTER)"
echo "G_PING_GW=$(gval lv1 PING_RECEIVED_GW)"
virsh_u destroy lv1 >&2 || true   # the guest may have powered off already
echo "IDLE_DOWN=$(yes_no wait_for 20 net_gone va-lv)"
echo "RECORD_KEPT=$(yes_no test -e "$(un_record va-lv)")"
libvirt_stop
echo "T_TOTAL=$(since "$T0")"
