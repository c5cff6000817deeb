#!/bin/bash
# tests/scripts/commands/check_reports_every_problem_with_file_and_line.sh: check
# reports every problem (ACL, includes, definitions, bad features) with file
# and line, exits 0 only if all is well; a bring-up refuses the same.
# (run by tests/commands.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/upstream.sh
source "$TESTS/lib/upstream.sh"
dump_on_failure vn0
# 1. problems in the ACL, its includes and definitions: every one with its
#    file and line
mkdir -p "$(definitions_dir)"
good_acl() { printf '# ACL\nallow vn0\nallow br0\ninclude /etc/qemu/extra.conf\n' > /etc/qemu/bridge.conf
             printf 'allow vn1\n' > /etc/qemu/extra.conf; }
good_defs() { printf '# a network\naddress = "10.200.0.1/24"\nidle-timeout = "2s"\n' > "$(definitions_dir)/vn0.toml"
              printf 'address = "10.201.0.1/24"\n' > "$(definitions_dir)/vn1.toml"; }
fix_modes() { chmod 0644 /etc/qemu/*.conf "$(definitions_dir)"/*.toml; }
# run_check LABEL [as_user]: LABEL_RC and LABEL_OUT (all output, one line)
run_check() {
  local label=$1 rc=0; shift
  "$@" "$VH" check > "$WORK/out" 2>&1 || rc=$?
  echo "${label}_RC=$rc"
  echo "${label}_OUT=$(tr '\n' '|' < "$WORK/out")"
}
good_acl; good_defs; fix_modes
run_check GOOD_ROOT
run_check GOOD_USER as_user

# a bad ACL line 3, a bad line 2 in an include, a bad definition line 2
printf '# ACL\nallow vn0\nalow br0\ninclude /etc/qemu/extra.conf\n' > /etc/qemu/bridge.conf
printf 'allow vn1\nfrobnicate br1\n' > /etc/qemu/extra.conf
printf 'address = "10.200.0.1/24"\nbogus-key = 1\n' > "$(definitions_dir)/vn0.toml"
fix_modes
run_check BAD_ROOT
run_check BAD_USER as_user
# nothing was brought up or changed by check
echo "BRIDGES=$(ip -o link show type bridge | wc -l)"

# an include the user may not read: a problem for root, a note for the user
# (per-user includes work that way, as in qemu-bridge-helper)
good_acl; good_defs; fix_modes
printf 'allow vn1\nfrobnicate br1\n' > /etc/qemu/extra.conf
chmod 0640 /etc/qemu/extra.conf
run_check UNREADABLE_ROOT
run_check UNREADABLE_USER as_user

# each problem alone is enough for exit 1
good_acl; good_defs; printf 'allow vn0\nalow br0\n' > /etc/qemu/bridge.conf; fix_modes
run_check ACL_ONLY
good_acl; good_defs; printf 'address = "10.200.0.1/24"\nbogus-key = 1\n' > "$(definitions_dir)/vn0.toml"; fix_modes
run_check DEF_ONLY

# 2. bad features of otherwise good definitions: check names them with file
#    and line, a bring-up refuses them with the same message and creates
#    nothing, a good network next to them still works
rm -f /etc/qemu/*.conf "$(definitions_dir)"/*.toml
upstream_setup
# fine: the same port for tcp and for udp
define_net_toml okay <<'EOF'
address = "10.220.9.1/24"
[[host]]
mac = "52:54:00:00:20:09"
ip = "10.220.9.10"
[[forward]]
proto = "tcp"
port = 5000
to = "10.220.9.10:5000"
[[forward]]
proto = "udp"
port = 5000
to = "10.220.9.10:5000"
EOF
define_net_toml badhost <<'EOF'
address = "10.220.1.1/24"

[[host]]
mac = "52:54:00:00:20:01"
ip = "10.99.0.5"
name = "far"
EOF
define_net_toml badfwd <<'EOF'
address = "10.220.2.1/24"

[[forward]]
proto = "tcp"
port = 8080
to = "10.99.0.5:80"
EOF
define_net_toml dupfwd <<'EOF'
address = "10.220.3.1/24"
[[host]]
mac = "52:54:00:00:20:03"
ip = "10.220.3.10"
[[forward]]
proto = "udp"
port = 5000
to = "10.220.3.10:5000"
[[forward]]
proto = "udp"
port = 5000
to = "10.220.3.10:6000"
EOF
# a range that contains another forward's port
define_net_toml rangefwd <<'EOF'
address = "10.220.5.1/24"
[[forward]]
proto = "tcp"
port = 8005
to = "10.220.5.10:80"
[[forward]]
proto = "tcp"
port = "8000-8010"
to = "10.220.5.11:8000"
EOF
define_net_toml mcmac <<'EOF'
address = "10.220.4.1/24"
[[host]]
mac = "01:00:5e:00:00:01"
ip = "10.220.4.10"
EOF
fw0=$(fw_save)
rc=0; as_user "$VH" check > "$WORK/check.out" 2>&1 || rc=$?
echo "CHECK_RC=$rc"
sed 's/^/CHECK=/' "$WORK/check.out"
rc=0; "$VH" check > "$WORK/check.root" 2>&1 || rc=$?
echo "CHECK_ROOT_RC=$rc"
echo "CHECK_SAME_AS_ROOT=$(yes_no cmp -s "$WORK/check.out" "$WORK/check.root")"
for n in badhost badfwd dupfwd rangefwd mcmac; do
  call_helper "$VH" "$n" | sed "s/^/CALL_${n}_/"
  if bridge_exists "$n"; then echo "LEFT_${n}=bridge"; fi
  if [ -e "$(run_dir "$n")" ]; then echo "LEFT_${n}=rundir"; fi
  [ "$(vnet_lines "$n")" = 0 ] || echo "LEFT_${n}=rules"
done
echo "TAPS=$(ip -o link show type tun | wc -l)"
echo "DNSMASQS=$(our_dnsmasqs | wc -w)"
fw1=$(fw_save)
echo "FIREWALL_UNCHANGED=$(yes_no [ "$fw0" = "$fw1" ])"
# the good one still works
call_helper "$VH" okay | sed 's/^/CALL_okay_/'
