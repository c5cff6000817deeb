# shellcheck shell=bash
# tests/lib/install.sh: run the repository's own install.sh inside the sandbox
# (tests/sandbox.sh) as root, exactly as on a real host, without touching the
# host. Source after tests/lib/common.sh. /etc, /var/lib, /etc/qemu,
# /etc/vnet-helper and /run are the sandbox's already; install_sandbox_setup
# adds, in the sandbox's mount namespace only:
#   /usr/libexec   an overlay whose changes live on the sandbox's tmpfs, so
#                  install.sh installs /usr/libexec/vnet-helper for real
#   $REPO/target   an overlay of cargo's target directory of this test run
#                  ($VH_TARGET_DIR, from tests/install.rs), so the `cargo
#                  build' of install.sh finds the test's release build fresh
#                  (well under a second) and writes nothing to the real one
#
#   install_sandbox_setup        the overlays above; call first
#   overlay_on LOWER DIR TAG     a writable overlay of LOWER at DIR (changes on tmpfs)
#   run_install [ARGS...]        $REPO/install.sh ARGS, CARGO_TARGET_DIR unset
#                                (cargo's default target/); its output in
#                                $WORK/install.out and on stderr; its status
#   install_said REGEX           yes|no: a line of the last output matches (ERE)
#   install_facts TAG            TAG_BIN, TAG_ACL, TAG_NET (mode owner, or
#                                absent), TAG_NET_ADDRESS, TAG_SUBNET lines
#   readme_qemu_args LINE        QEMU_ARGS/GUEST_MEM from the README's QEMU line

# The files install.sh installs (PREFIX=/usr, no DESTDIR).
INSTALLED_BIN=/usr/libexec/vnet-helper
INSTALLED_NET=/etc/vnet-helper/networks/vnet0.toml
INSTALLED_UNIT=/etc/systemd/system/vnet-helper@.service

overlay_on() {
  local d=/run/vh/overlay/$3
  mkdir -p "$d/upper" "$d/work" "$2"
  mount -t overlay overlay -o "lowerdir=$1,upperdir=$d/upper,workdir=$d/work" "$2"
}

install_sandbox_setup() {
  if [ -z "${VH_TARGET_DIR:-}" ] || [ ! -d "$VH_TARGET_DIR" ]; then
    echo "install_sandbox_setup: VH_TARGET_DIR (cargo's target directory) is not a directory" >&2
    return 1
  fi
  overlay_on /usr/libexec /usr/libexec libexec
  overlay_on "$VH_TARGET_DIR" "$REPO/target" target
}

run_install() {
  local rc=0
  env -u CARGO_TARGET_DIR CARGO_NET_OFFLINE=true "$REPO/install.sh" "$@" > "$WORK/install.out" 2>&1 || rc=$?
  { echo "--- install.sh $*: status $rc"; cat "$WORK/install.out"; } >&2
  return "$rc"
}

install_said() { yes_no grep -Eq -- "$1" "$WORK/install.out"; }

# file_facts FILE: "MODE OWNER:GROUP", or absent
file_facts() {
  if [ -e "$1" ]; then stat -c '%a %U:%G' "$1"; else echo absent; fi
}

install_facts() {
  local addr=""
  echo "$1_BIN=$(file_facts "$INSTALLED_BIN")"
  echo "$1_ACL=$(file_facts "$(acl_file)")"
  echo "$1_UNIT=$(file_facts "$INSTALLED_UNIT")"
  echo "$1_NET=$(file_facts "$INSTALLED_NET")"
  echo "$1_FIREWALLD_ZONE=$(file_facts /etc/firewalld/zones/vnet-helper.xml)"
  echo "$1_FIREWALLD_POLICY=$(file_facts /etc/firewalld/policies/vnet-helper-out.xml)"
  if [ -f "$INSTALLED_NET" ]; then
    addr=$(sed -n 's/^address = "\(.*\)"$/\1/p' "$INSTALLED_NET")
  fi
  echo "$1_NET_ADDRESS=$addr"
  echo "$1_SUBNET=$(sed -n 's/.*the default network vnet0 (NAT, DHCP, DNS) on \([0-9./]*\),.*/\1/p' "$WORK/install.out")"
}

# readme_qemu_args LINE: from the README's QEMU command line, QEMU_ARGS=(its
# options, verbatim) and GUEST_MEM (its -m), for guest_start; left out, as
# guest_start supplies them for the test guest: the program name, `-accel
# kvm' (the guest runs under TCG: -accel tcg) and the disk image (the test
# guest boots from -kernel/-initrd).
readme_qemu_args() {
  local -a w
  local i=1
  read -ra w <<< "$1"
  if [ "${w[0]:-}" != qemu-system-x86_64 ]; then
    echo "readme_qemu_args: not a qemu-system-x86_64 line: $1" >&2
    return 1
  fi
  QEMU_ARGS=()
  while [ "$i" -lt "${#w[@]}" ]; do
    case "${w[i]}" in
      -accel) i=$((i + 2)) ;;
      -m) GUEST_MEM=${w[i + 1]}; i=$((i + 2)) ;;
      *.img|*.qcow2|*.raw) i=$((i + 1)) ;;
      *) QEMU_ARGS+=("${w[i]}"); i=$((i + 1)) ;;
    esac
  done
  export GUEST_MEM
}
