#!/bin/bash
# tests/guest/build.sh OUTDIR: build the test guest used by the QEMU tests:
#   OUTDIR/vmlinuz       a world-readable copy of the installed Debian kernel
#   OUTDIR/base.cpio.gz  busybox-static (with applet symlinks), the virtio_net
#                        module chain and an /init that mounts proc/sys/dev,
#                        loads the modules, brings up lo and eth0, runs /test.sh
#                        if present (a second cpio archive appended by
#                        tests/lib/guest.sh), prints VH-GUEST markers on the
#                        serial console and powers off.
# Does nothing when OUTDIR already holds an image built from the same inputs.
# Environment: GUEST_KVER forces a kernel version (default: the running one if
# its modules are installed, else the newest installed linux-image).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out=$1
self=$(readlink -f "$0")
busybox=/usr/bin/busybox
[ -x /bin/busybox ] && busybox=/bin/busybox
# virtio_net and what it needs, in load order (some may be built in)
modules="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net"

# --- pick the kernel: one with both an image in /boot and its modules ---
kver=${GUEST_KVER:-}
if [ -z "$kver" ]; then
  r=$(uname -r)
  if [ -e "/boot/vmlinuz-$r" ] && [ -d "/lib/modules/$r/kernel" ]; then
    kver=$r
  else
    for k in $(find /boot -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' 2>/dev/null | sed 's|^vmlinuz-||' | sort -V -r); do
      if [ -d "/lib/modules/$k/kernel" ]; then kver=$k; break; fi
    done
  fi
fi
[ -n "$kver" ] || { echo "build.sh: no /boot/vmlinuz-* with /lib/modules/<ver>/kernel (install linux-image-amd64)" >&2; exit 1; }
kernel=/boot/vmlinuz-$kver
moddir=/lib/modules/$kver
if ! [ -x "$busybox" ] || ! "$busybox" --list >/dev/null; then echo "build.sh: busybox-static missing" >&2; exit 1; fi

# --- resolve the module files (only what exists, in order) ---
kos=()
for m in $modules; do
  f=$(find "$moddir/kernel" \( -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" -o -name "$m.ko.gz" \) -print -quit)
  if [ -n "$f" ]; then
    kos+=("$f")
  elif ! grep -q "/$m\.ko\$" "$moddir/modules.builtin" 2>/dev/null; then
    echo "build.sh: warning: module $m neither in $moddir/kernel nor built in" >&2
  fi
done

# --- cache key: every input's identity ---
key=$( { sha256sum "$self"; for f in "$kernel" "$busybox" "${kos[@]}"; do stat -c '%n %s %Y' "$f"; done; } | sha256sum | cut -d' ' -f1)
mkdir -p "$out"
exec 9>"$out/.lock"
flock 9   # concurrent tests may build the same OUTDIR
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$key" ] \
   && [ -s "$out/vmlinuz" ] && [ -s "$out/base.cpio.gz" ]; then
  exit 0
fi

stage=$(mktemp -d "$out/stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/share/udhcpc,etc,proc,sys,dev,tmp,run,root,lib/modules,www}
cp "$busybox" "$root/bin/busybox"
# applet symlinks now rather than `busybox --install` at every boot
"$busybox" --list-full | while read -r p; do
  [ "$p" = bin/busybox ] && continue
  [ -e "$root/$p" ] || ln -s /bin/busybox "$root/$p"
done
: > "$root/etc/modules"
for f in "${kos[@]}"; do
  b=$(basename "$f")
  case "$f" in
    *.xz)  xz -dc "$f" > "$root/lib/modules/${b%.xz}" ;;
    *.zst) zstd -qdc "$f" > "$root/lib/modules/${b%.zst}" ;;
    *.gz)  gzip -dc "$f" > "$root/lib/modules/${b%.gz}" ;;
    *)     cp "$f" "$root/lib/modules/$b" ;;
  esac
  echo "${b%%.ko*}" >> "$root/etc/modules"
done
echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
echo "root:x:0:" > "$root/etc/group"
printf '127.0.0.1 localhost\n' > "$root/etc/hosts"

# udhcpc's default script: apply the lease, record it, print one marker line
cat > "$root/usr/share/udhcpc/default.script" <<'EOF'
#!/bin/sh
# udhcpc event script for the test guest: configure $interface and record
# the lease in /tmp/dhcp.env (sourceable) and a VH-DHCP marker on the console
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    if [ -n "${router:-}" ]; then
      ip route replace default via "${router%% *}" dev "$interface"
    fi
    : > /etc/resolv.conf
    for d in ${dns:-}; do echo "nameserver $d" >> /etc/resolv.conf; done
    { echo "DHCP_IP=$ip"; echo "DHCP_MASK=${mask:-}"; echo "DHCP_ROUTER=${router:-}"
      echo "DHCP_DNS='${dns:-}'"; echo "DHCP_DOMAIN=${domain:-}"; echo "DHCP_HOSTNAME=${hostname:-}"
      echo "DHCP_LEASE=${lease:-}"; echo "DHCP_SERVER=${serverid:-}"; } > /tmp/dhcp.env
    echo "VH-DHCP: $1 ip=$ip mask=${mask:-} router=${router:-} dns=${dns:-} lease=${lease:-}" ;;
  leasefail|nak)
    echo "VH-DHCP: $1" ;;
esac
exit 0
EOF
chmod 755 "$root/usr/share/udhcpc/default.script"

cat > "$root/init" <<'EOF'
#!/bin/sh
# /init of the test guest: set up, load virtio_net, bring up eth0, run /test.sh,
# power off. Markers (VH-GUEST: ...) go to the serial console for the host.
export PATH=/sbin:/usr/sbin:/bin:/usr/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
exec </dev/console >/dev/console 2>&1
echo "VH-GUEST: INIT $(uname -r)"
while read -r m; do
  insmod "/lib/modules/$m.ko" || echo "VH-GUEST: INSMOD-FAILED $m"
done < /etc/modules
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
ip link set lo up
if [ -e /sys/class/net/eth0 ]; then
  ip link set eth0 up
  echo "VH-GUEST: BOOTED eth0=$(cat /sys/class/net/eth0/address)"
else
  echo "VH-GUEST: BOOTED eth0=missing"
fi
if [ -f /test.sh ]; then
  echo "VH-GUEST: TEST-START"
  sh -e /test.sh
  echo "VH-GUEST: TEST-RC=$?"
else
  echo "VH-GUEST: NO-TEST"
fi
echo "VH-GUEST: POWEROFF"
sync
poweroff -f
EOF
chmod 755 "$root/init"

(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -1 > "$stage/base.cpio.gz"
install -m 0644 "$kernel" "$stage/vmlinuz"
mv -f "$stage/base.cpio.gz" "$out/base.cpio.gz"
mv -f "$stage/vmlinuz" "$out/vmlinuz"
echo "$kver" > "$out/kver"
echo "$key" > "$out/stamp"
chmod 0755 "$out"
