#!/bin/bash
# tests/scripts/install/readme_qemu_line_gives_a_guest_a_lease_and_nat.sh: a
# fresh `install.sh' (the real one, as root, cargo's default target/), then the
# README's quick-start QEMU line ($QEMU_LINE, extracted from README.md by
# tests/install.rs) as uid 4242: the guest gets a lease in the subnet
# install.sh chose and reaches the upstream through NAT.
# (run by tests/install.rs in tests/sandbox.sh; prints KEY=VALUE lines)
#   guest --tap-- [vnet0, install.sh's subnet] host [uplink0 198.51.100.2/24]
#                                                      | veth
#                                       netns upstream [eth0 198.51.100.1/24]
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/upstream.sh
source "$TESTS/lib/upstream.sh"
# shellcheck source=tests/lib/guest.sh
source "$TESTS/lib/guest.sh"
# shellcheck source=tests/lib/install.sh
source "$TESTS/lib/install.sh"
export GUEST_TIMEOUT=150
dump_on_failure vnet0
# the test guest's image first: its cache lives in the real target/, which
# install_sandbox_setup then covers with an overlay
guest_image
install_sandbox_setup
upstream_with_peer_servers

t0=$EPOCHREALTIME
rc=0
# shellcheck disable=SC2119 # install.sh without arguments: install
run_install || rc=$?
echo "T_INSTALL=$(since "$t0")"
echo "INSTALL_RC=$rc"
install_facts INSTALLED
echo "INSTALLED_SHA=$(sha256sum < "$INSTALLED_BIN" | cut -c1-64)"
echo "BUILT_SHA=$(sha256sum < "$REPO/target/x86_64-unknown-linux-gnu/release/vnet-helper" | cut -c1-64)"
echo "ACL_ALLOWS_VNET0=$(yes_no grep -qx 'allow vnet0' "$(acl_file)")"
echo "BEFORE_BRIDGE=$(yes_no ip link show vnet0)"

# the guest: exactly the README's options (only -accel and the disk image
# are the test guest's own: see readme_qemu_args)
readme_qemu_args "$QEMU_LINE"
printf 'QEMU_OPTION=%s\n' "${QEMU_ARGS[@]}"
echo "GUEST_MEM=$GUEST_MEM"
guest_script "$WORK/g.sh" <<'G'
dhcp guest1
pings 3 "$DHCP_ROUTER" GW
tcp UPSTREAM 198.51.100.1 7000
G
t1=$EPOCHREALTIME
guest_boot g1 "$WORK/g.sh" "${QEMU_ARGS[@]}"
echo "T_GUEST=$(since "$t1")"
for k in LEASE_IP LEASE_MASK LEASE_ROUTER LEASE_DNS PING_RECEIVED_GW TCP_UPSTREAM; do
  echo "$k=$(guest_value g1 $k)"
done
echo "UPSTREAM_PEERS=$(sed -n 's/^PEER=//p' "$UPSTREAM_PEERS" | sort -u | tr '\n' ' ' | sed 's/ $//')"
