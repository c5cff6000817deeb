//! libvirt session mode with vnet-helper as its bridge helper, as README
//! "libvirt" tells a user to set it up: Debian's libvirt 9.0 daemon, started
//! the way `virsh -c qemu:///session` starts it (libvirtd --timeout=120) as an
//! unprivileged user (uid 4242) whose HOME and XDG_RUNTIME_DIR are on the
//! sandbox's /run, `bridge_helper = "/usr/libexec/vnet-helper"` in its
//! ~/.config/libvirt/qemu.conf (the setuid copy is put there inside the
//! sandbox's mount namespace only), and domains with
//! `<interface type='bridge'><source bridge='vnet0'/><model type='virtio'/></interface>`
//! booting the busybox test guest (tests/guest/) with <kernel>/<initrd> under
//! TCG. libvirt, not QEMU, runs the helper: `--use-vnet --br=NAME --fd=N`,
//! its own environment, cwd /, fds 0-1 on /dev/null, stderr on a pipe it reads.
//!
//! Scripts: tests/scripts/libvirt/*.sh, shell in tests/lib/libvirt.sh. The
//! guest's facts come from its serial console (a file); `virsh domifaddr`
//! knows only libvirt's own networks' leases.

mod common;

use common::{expect, expect_all, expect_num, expect_true, expect_within, Run, Sandbox};
use std::time::Duration;

/// The network's idle-timeout in the scripts is 2 s.
const IDLE_DOWN_MAX: f64 = 15.0;

fn run(test: &str, script: &str, deadline: u64) -> Run {
    let r = Sandbox::new(test, &format!("libvirt/{script}.sh"))
        .deadline(Duration::from_secs(deadline))
        .run()
        .ok();
    for l in r.stdout.lines().filter(|l| l.starts_with("T_")) {
        eprintln!("{test}: {l}");
    }
    r
}

/// One domain g1 (started twice) and one g2: three TCG boots in all.
#[test]
fn libvirt_session_guests() {
    const TEST: &str = "libvirt_session_guests";
    if !common::have_root(TEST) {
        return;
    }
    let r = run(TEST, "lifecycle", 900);

    // virsh -c qemu:///session autostarted libvirtd (not virtqemud) as the
    // user, with an idle timeout; virtlogd joined with the first domain
    expect_all(
        &r,
        &[
            ("AUTOSTART_DAEMONS", "libvirtd"),
            ("AUTOSTART_DAEMON_USERS", "vhuser"),
            (
                "AUTOSTART_ARGS_libvirtd",
                "/usr/sbin/libvirtd --timeout=120",
            ),
            ("RUNNING_DAEMONS", "libvirtd virtlogd"),
            ("RUNNING_DAEMON_USERS", "vhuser"),
        ],
    );

    // g1: the network came up for it; a lease from vnet0's range; the gateway
    expect(&r, "BEFORE_BRIDGE", "no");
    let ip = r.value("G1_IP");
    expect_true(
        &r,
        ip.strip_prefix("10.200.0.")
            .and_then(|n| n.parse::<u8>().ok())
            .is_some_and(|n| (100..=199).contains(&n)),
        &format!("g1's lease {ip} is not in 10.200.0.100-199"),
    );
    expect_all(
        &r,
        &[
            ("G1_ROUTER", "10.200.0.1"),
            ("G1_PING_GW", "3"),
            ("G1_TAP_MASTER", "vnet0"),
        ],
    );

    // g2 joins; g1 destroyed: its tap goes, g2 never misses its gateway
    let g2 = r.value("G2_IP");
    expect_true(&r, g2 != ip, &format!("g1 and g2 both got {ip}"));
    expect(&r, "TWO_PORTS", &r.value("TWO_EXPECTED"));
    expect(&r, "G1_TAP_GONE", "yes");
    expect(&r, "ONE_PORT", &r.value("G2_TAP"));
    expect(&r, "BRIDGE_MAC_KEPT", "yes");
    expect(&r, "G2_AFTER_MISS", "0");
    // ~8 s of one ping every ~0.2 s (TCG is slow: at least 10 answered)
    let ok = expect_num(&r, "G2_AFTER_OK");
    expect_true(
        &r,
        ok >= 10,
        &format!("g2 answered only {ok} pings after g1 went"),
    );

    // the last destroy: tap gone, then the network idles down
    expect(&r, "G2_TAP_GONE", "yes");
    expect(&r, "IDLE_DOWN", "yes");
    expect_within(&r, "T_IDLE_DOWN", IDLE_DOWN_MAX);

    // g1 again (same MAC): the network comes back, the lease is the same
    expect(&r, "G1_AGAIN_IP", &ip);
    expect(&r, "G1_AGAIN_PING_GW", "3");

    // virsh attach-interface --live: a second tap on vnet0, a lease for the
    // new MAC, the gateway through the new NIC
    expect(&r, "HOTPLUG_NPORTS", "2");
    let hip = r.value("HOTPLUG_IP");
    expect_true(
        &r,
        !hip.is_empty() && hip != ip,
        &format!("the hotplugged NIC got {hip:?}"),
    );
    expect(&r, "HOTPLUG_LEASED", &hip);
    expect(&r, "HOTPLUG_PING", "3");

    // virsh detach-interface --live: the hotplugged tap leaves the bridge
    // (and the host), the guest loses eth1 and keeps pinging its gateway
    // through eth0 without a miss, the network stays up on the primary tap
    expect_all(
        &r,
        &[
            ("DETACH_HOT_TAP_MASTER", "vnet0"),
            ("DETACH_TAP_GONE", "yes"),
            ("DETACH_GUEST_ETH1_GONE", "1"),
            ("DETACH_DOMIFLIST", "0"),
            ("DETACH_PL_MISS", "0"),
            ("DETACH_NET_UP", "yes"),
        ],
    );
    expect(&r, "DETACH_PORTS", &r.value("DETACH_PRIMARY"));
    let ok = expect_num(&r, "DETACH_PL_OK");
    expect_true(
        &r,
        ok >= 5,
        &format!("g1 answered only {ok} pings around the detach"),
    );

    // and at the end nothing is left: no network, no libvirt, no QEMU
    expect(&r, "END_DOWN", "yes");
    expect(&r, "LEFT_PROCS", "");
}

/// 10 refused starts for each reason; the user sees the helper's own line
/// every time (libvirt builds its message the moment the --fd socket closes).
#[test]
fn libvirt_refusal_shows_reason() {
    const TEST: &str = "libvirt_refusal_shows_reason";
    if !common::have_root(TEST) {
        return;
    }
    let r = run(TEST, "refusals", 300);
    expect_all(
        &r,
        &[
            ("SHOWN_denied", "10/10"),
            ("SHOWN_broken", "10/10"),
            ("STARTED_denied", "0"),
            ("STARTED_broken", "0"),
            ("STATE_denied", "shut off"),
            ("STATE_broken", "shut off"),
            ("GONE_denied0", "yes"),
            ("GONE_broken0", "yes"),
            ("TAPS_LEFT", "0"),
            ("LEFT_PROCS", ""),
        ],
    );
    // the reasons are the ones the helper gives for these two cases
    expect(
        &r,
        "REASON_denied0",
        "vnet-helper: access denied by acl file `/etc/qemu/bridge.conf' for bridge `denied0': no allow rule matches it",
    );
    expect(
        &r,
        "REASON_broken0",
        "vnet-helper: /etc/vnet-helper/networks/broken0.toml:1: `address': invalid IPv4 address/prefix `nonsense'",
    );
}
