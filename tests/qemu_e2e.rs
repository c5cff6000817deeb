//! End-to-end: a real QEMU (TCG), run as the unprivileged uid 4242, gets its
//! NIC from the setuid helper, both through `-netdev bridge,helper=` and
//! through `-netdev tap,helper="HELPER --br=br0"` (the /bin/sh -c path). The
//! busybox guest (tests/guest/) pings the bridge's address; while it runs the
//! host checks that a tap is enslaved to br0 and tells the guest over TCP.
//! On failure the guest's serial log is part of the panic message.
//!
//! `VH_TEST_HELPER=ref cargo test --test qemu_e2e` runs the same against the
//! reference qemu-bridge-helper, to validate the test itself.

mod common;

/// The guest: address itself, wait (bounded) for the host's go-ahead on TCP
/// port 7777, then require 3 ping replies from the bridge.
const GUEST: &str = r#"
ip addr add 10.99.0.2/24 dev eth0
echo GUEST-READY
timeout 90 nc -l -p 7777 > /tmp/host-msg || true
echo "HOST-SAID=$(cat /tmp/host-msg)"
grep -q TAP-SEEN /tmp/host-msg
out=$(ping -c 3 -W 5 10.99.0.1 || true)
echo "$out"
echo "$out" | grep -q '3 packets received'
echo GUEST-PING-OK
"#;

fn e2e(test: &str, netdev: &str) {
    if !common::have_root(test) {
        return;
    }
    let helper = if std::env::var("VH_TEST_HELPER").is_ok_and(|v| v.starts_with("ref")) {
        "$REF"
    } else {
        "$VH"
    };
    let script = format!(
        r#"
source "$TESTS/guest/lib.sh"
H={helper}
ip link add br0 type bridge
ip addr add 10.99.0.1/24 dev br0
ip link set br0 up
echo "allow br0" > /etc/qemu/bridge.conf
cat > "$WORK/guest.sh" <<'EOF'
{GUEST}
EOF
guest_start e2e "$WORK/guest.sh" {netdev} -device virtio-net-pci,netdev=n0
guest_wait_marker e2e '^GUEST-READY'
# while the guest runs: its tap must be on br0, up, with an fe: MAC
tap=$(ip -o link show master br0 | awk -F': ' '$2 ~ /^tap/ {{print $2}}')
echo "TAP=$tap"
if [ -n "$tap" ]; then
  echo "TAP_MAC=$(cat /sys/class/net/$tap/address)"
  echo "TAP_UP=$(( $(cat /sys/class/net/$tap/flags) & 1 ))"
  # tell the guest (retrying until its listener is up)
  for i in $(seq 60); do
    guest_running e2e || break
    if timeout 5 bash -c 'echo TAP-SEEN > /dev/tcp/10.99.0.2/7777' 2>/dev/null; then
      echo "TOLD_GUEST=yes"; break
    fi
    sleep 1
  done
fi
guest_wait e2e
guest_expect e2e '^GUEST-PING-OK'
echo "TAPS_AFTER=$(ip -o link show type tun | wc -l)"
"#,
        netdev = netdev
    );
    let r = common::sandbox(&script);
    let transcript = format!("--- stdout ---\n{}\n--- stderr ---\n{}", r.stdout, r.stderr);
    assert!(
        r.status == 0,
        "e2e script failed (status {})\n{transcript}",
        r.status
    );
    let tap = r.value("TAP");
    assert!(
        tap.starts_with("tap"),
        "no tap enslaved to br0 while the guest ran\n{transcript}"
    );
    assert!(
        r.value("TAP_MAC").starts_with("fe:"),
        "tap MAC\n{transcript}"
    );
    assert_eq!(r.value("TAP_UP"), "1", "tap not up\n{transcript}");
    assert_eq!(
        r.value("TOLD_GUEST"),
        "yes",
        "host could not reach the guest\n{transcript}"
    );
    assert_eq!(
        r.value("TAPS_AFTER"),
        "0",
        "tap left after QEMU exited\n{transcript}"
    );
    eprintln!("{test}: guest ran in {} s", r.value("GUEST_SECONDS_e2e"));
}

#[test]
fn qemu_netdev_bridge_with_helper() {
    e2e(
        "qemu_netdev_bridge_with_helper",
        r#"-netdev "bridge,id=n0,br=br0,helper=$H""#,
    );
}

#[test]
fn qemu_netdev_tap_with_helper_string() {
    // a helper string with a space: QEMU runs it with /bin/sh -c and leaves
    // out --br= because the string has one
    e2e(
        "qemu_netdev_tap_with_helper_string",
        r#"-netdev "tap,id=n0,helper=$H --br=br0""#,
    );
}
