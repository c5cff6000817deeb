# shellcheck shell=bash
# tests/lib/libvirt.sh: libvirt's own daemon in session mode (qemu:///session)
# as the unprivileged test user, inside the sandbox (tests/sandbox.sh), with
# vnet-helper as its bridge helper, exactly as README "libvirt" tells a user.
# Source after tests/lib/common.sh, net.sh, install.sh and guest.sh.
#
#   libvirt_setup              the user (uid 4242, HOME and XDG_RUNTIME_DIR on
#                              the sandbox's /run), /usr/libexec/vnet-helper
#                              (setuid copy of $VH, in this mount namespace
#                              only), the user's qemu.conf naming it
#   virsh_u ARGS...            virsh -c qemu:///session ARGS as the user, with
#                              a login-like environment and nothing else
#   lv_domain NAME MAC BRIDGE SCRIPT   define persistent domain NAME booting the
#                              test guest (SCRIPT as its /test.sh) under TCG,
#                              one virtio NIC on BRIDGE, serial on a file
#   lv_log NAME                its serial log (guest_log NAME)
#   lv_wait_log NAME REGEX SECONDS   poll the serial log (1 on timeout)
#   lv_tap NAME                the tap of the domain's first NIC (domiflist)
#   lv_daemons                 pids of libvirt's daemons in the sandbox
#   libvirt_report_daemons PREFIX  which daemons run, as whom, with what args
#   libvirt_stop               destroy every running domain, kill the daemons
#                              (by pid), print LEFT_PROCS=<anything left>
#   lv_others / lv_none_left   processes not descended from this script
#
# The daemon is whatever `virsh -c qemu:///session` autostarts (libvirt 9.0 as
# Debian ships it: libvirtd --timeout=120, and virtlogd --timeout=120 with the
# first domain); the sandbox's PID namespace ends them at the latest, and
# libvirt_stop ends them before.

LV_USER=vhuser
LV_HOME=/run/vh/home
LV_RUNTIME=/run/user/4242
LV_HELPER=/usr/libexec/vnet-helper

libvirt_setup() {
  if ! [ -x /usr/sbin/libvirtd ] || ! command -v virsh > /dev/null; then
    die "libvirt is not installed (apt-get install libvirt-daemon libvirt-clients)"
  fi
  echo "$LV_USER:x:4242:4242:vnet-helper test user:$LV_HOME:/bin/sh" >> /etc/passwd
  echo "$LV_USER:x:4242:" >> /etc/group
  mkdir -p "$LV_HOME/.config/libvirt" "$LV_RUNTIME"
  echo "bridge_helper = \"$LV_HELPER\"" > "$LV_HOME/.config/libvirt/qemu.conf"
  chown -R 4242:4242 "$LV_HOME" "$LV_RUNTIME"
  chmod 0700 "$LV_RUNTIME"
  # /usr/libexec is the host's: an overlay (changes on the sandbox's tmpfs)
  # gets the setuid copy where a package or install.sh would put it
  overlay_on /usr/libexec /usr/libexec libexec
  install -o root -g root -m 4755 "$VH" "$LV_HELPER"
}

virsh_u() {
  as_user env -i HOME="$LV_HOME" USER="$LV_USER" LOGNAME="$LV_USER" \
    XDG_RUNTIME_DIR="$LV_RUNTIME" PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C \
    timeout -k 5 120 virsh -c qemu:///session "$@"
}

lv_log() { guest_log "$1"; }

lv_domain() {
  local name=$1 mac=$2 br=$3 script=$4 xml
  guest_initrd "$name" "$script"
  rm -f "$(lv_log "$name")"   # libvirt creates it, as the user
  xml="$WORK/$name.xml"
  cat > "$xml" <<EOF
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>${GUEST_MEM:-256}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$WORK/guest-img/vmlinuz</kernel>
    <initrd>$WORK/guest-$name.d/initrd</initrd>
    <cmdline>console=ttyS0 quiet panic=-1</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <interface type='bridge'>
      <source bridge='$br'/>
      <mac address='$mac'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'>
      <source path='$(lv_log "$name")'/>
      <target port='0'/>
    </serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
  chmod 0644 "$xml"
  virsh_u define "$xml" >&2
}

lv_wait_log() {
  local log; log=$(lv_log "$1")
  if wait_for "$3" grep -Eq -- "$2" "$log"; then return 0; fi
  { echo "=== domain $1: no /$2/ in its serial log after $3 s"; cat "$log"
    echo "--- libvirt's log of $1"; tail -n 30 "$LV_HOME/.cache/libvirt/qemu/log/$1.log" 2>/dev/null || true
    echo "=== end of domain $1"; } >&2
  return 1
}

lv_tap() { virsh_u domiflist "$1" | awk '$2 == "bridge" { print $1; exit }'; }

lv_daemons() { pids_of_comm libvirtd 'virt*d'; }

libvirt_report_daemons() {
  local p pid
  p=$1
  echo "${p}_DAEMONS=$(for pid in $(lv_daemons); do cat "/proc/$pid/comm"; done | sort | tr '\n' ' ' | sed 's/ $//')"
  echo "${p}_DAEMON_USERS=$(for pid in $(lv_daemons); do stat -c %U "/proc/$pid"; done | sort -u | tr '\n' ' ' | sed 's/ $//')"
  for pid in $(lv_daemons); do
    echo "${p}_ARGS_$(cat "/proc/$pid/comm")=$(tr '\0' ' ' < "/proc/$pid/cmdline" | sed 's/ $//')"
  done
}

# lv_others: every process of the sandbox but PID 1 (this script) and those
# descended from the subshell asking (its own pipeline), as PID:COMM words;
# lv_none_left: there are none
lv_others() {
  local p q me=$BASHPID
  for p in /proc/[0-9]*; do
    p=${p#/proc/}; q=$p
    while [ "$q" -gt 1 ] && [ "$q" != "$me" ]; do
      q=$(sed 's/^.*) //' "/proc/$q/stat" 2>/dev/null | awk '{ print $2 }') || q=0
      [ -n "$q" ] || q=0
    done
    [ "$p" != 1 ] && [ "$q" = 1 ] && echo "$p:$(cat "/proc/$p/comm" 2>/dev/null)"
  done | tr '\n' ' ' | sed 's/ $//'
}
lv_none_left() { [ -z "$(lv_others)" ]; }
no_lv_daemons() { [ -z "$(lv_daemons)" ]; }

libvirt_stop() {
  local d pid
  for d in $(virsh_u list --name 2>/dev/null); do virsh_u destroy "$d" >&2 || true; done
  for pid in $(lv_daemons); do kill "$pid" 2>/dev/null || true; done
  if ! wait_for 10 no_lv_daemons; then
    for pid in $(lv_daemons); do kill -9 "$pid" 2>/dev/null || true; done
    wait_for 5 no_lv_daemons || true
  fi
  # the network's own daemons go with its idle teardown: give them that time
  wait_for 15 lv_none_left || true
  echo "LEFT_PROCS=$(lv_others)"
}
