#!/bin/bash
# tests/scripts/install/colliding_subnets_are_passed_over.sh: install.sh's
# choice of the default network's subnet, with the host's addresses and routes
# in the way of more and more candidates (each round: install, facts,
# uninstall). The helper itself must agree that the chosen subnet is free.
# (run by tests/install.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/install.sh
source "$TESTS/lib/install.sh"
dump_on_failure vnet0
install_sandbox_setup
ip link add lan0 type veth peer name lan1
ip link set lan0 up

# round TAG: install, print TAG_* facts (a TAG_COLLISION line per candidate
# passed over; whether `vnet-helper up vnet0'
# accepts the subnet, if a network was installed), uninstall
round() {
  local rc=0
  run_install || rc=$?
  echo "$1_RC=$rc"
  install_facts "$1"
  sed -n "s/^default network vnet0: \(.* collides with .*\)/$1_COLLISION=\1/p" "$WORK/install.out"
  echo "$1_SAID_NONE=$(install_said '^no default network: every candidate subnet')"
  if [ -f "$INSTALLED_NET" ]; then
    rc=0; "$INSTALLED_BIN" up vnet0 >&2 || rc=$?
    echo "$1_HELPER_UP_RC=$rc"
    "$INSTALLED_BIN" down --force vnet0 >&2 || true
  fi
  rc=0; run_install --uninstall || rc=$?
  echo "$1_UNINSTALL_RC=$rc"
  echo "$1_NET_AFTER_UNINSTALL=$(file_facts "$INSTALLED_NET")"
}

# an address in the first candidate: the second is chosen
ip addr add 10.200.0.7/24 dev lan0
round ADDR
# ... and a route over the second: the third
ip route add 10.201.0.0/16 dev lan0
round ROUTE
# every candidate in use: no network, the rest installed
ip route add 172.30.0.0/16 dev lan0
ip route add 192.168.200.128/25 via 10.200.0.2 dev lan0
round ALL
