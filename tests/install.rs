//! Tests of install.sh: the repository's own install.sh runs as root inside
//! tests/sandbox.sh, installing for real into the sandbox's /usr/libexec
//! (an overlay), /etc and /var/lib, with its `cargo build` in an overlay of
//! this test run's target directory (tests/lib/install.sh). Then the README's
//! quick-start QEMU line, taken from README.md here so that the two cannot
//! drift, boots the test guest as uid 4242: it must get a lease in the subnet
//! install.sh chose and reach an upstream namespace through NAT. Also: the
//! subnet choice when the host's addresses and routes collide with candidates,
//! an admin's vnet0.toml kept, --uninstall removing only what install.sh wrote
//! and nobody edited, and CARGO_TARGET_DIR followed.
//!
//! Run with --release: install.sh builds the release binary, which a release
//! test run has already built (cargo finds it fresh in well under a second);
//! a debug test run makes install.sh build it inside the sandbox (minutes).

mod common;

use common::{expect, expect_all, expect_true, Run, Sandbox};
use std::path::PathBuf;

/// The quick start's install command and QEMU line, from README.md.
fn readme_quick_start() -> (String, String) {
    let readme = std::fs::read_to_string(common::repo().join("README.md")).expect("README.md");
    let section = readme
        .split("\n## Quick start\n")
        .nth(1)
        .expect("README.md has a `## Quick start' section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("the quick start has a ```sh block");
    let lines: Vec<&str> = block.lines().map(str::trim).collect();
    assert_eq!(
        lines.len(),
        2,
        "the quick start is the install command and one QEMU line: {lines:?}"
    );
    (lines[0].to_string(), lines[1].to_string())
}

/// Cargo's target directory of this test run (the helper is
/// TARGET/<triple>/<profile>/vnet-helper).
fn target_dir() -> PathBuf {
    let bin = common::helper_binary();
    let profile = bin.parent().and_then(|p| p.file_name());
    if profile.is_some_and(|p| p != "release") {
        eprintln!("tests/install.rs: not a --release run: install.sh will build the release binary in the sandbox (slow)");
    }
    bin.ancestors()
        .nth(3)
        .expect("the helper's path is TARGET/<triple>/<profile>/vnet-helper")
        .to_path_buf()
}

fn release_run() -> bool {
    common::helper_binary()
        .parent()
        .and_then(|p| p.file_name())
        .is_some_and(|p| p == "release")
}

fn run(test: &str, extra: &[(&str, &str)]) -> Run {
    let target = target_dir();
    let mut s = Sandbox::new(test, &format!("install/{test}.sh")).env(
        "VH_TARGET_DIR",
        target.to_str().expect("a UTF-8 target path"),
    );
    for (k, v) in extra {
        s = s.env(k, v);
    }
    s.run().ok()
}

/// What a complete install left (the network file as `mode owner`).
fn expect_installed(r: &Run, tag: &str, net: &str) {
    expect_all(
        r,
        &[
            (&format!("{tag}_BIN"), "4755 root:root"),
            (&format!("{tag}_ACL"), "644 root:root"),
            (&format!("{tag}_UNIT"), "644 root:root"),
            (&format!("{tag}_NET"), net),
        ],
    );
}

#[test]
fn readme_qemu_line_gives_a_guest_a_lease_and_nat() {
    const TEST: &str = "readme_qemu_line_gives_a_guest_a_lease_and_nat";
    if !common::have_root(TEST) {
        return;
    }
    let (install, qemu) = readme_quick_start();
    assert_eq!(
        install, "sudo ./install.sh",
        "the quick start's install command"
    );
    let r = run(TEST, &[("QEMU_LINE", &qemu)]);
    for l in r.stdout.lines().filter(|l| l.starts_with("T_")) {
        eprintln!("{TEST}: {l}");
    }

    // install.sh: everything in place, the network on the first candidate
    // (nothing in the sandbox uses it), the binary cargo built
    expect(&r, "INSTALL_RC", "0");
    expect_installed(&r, "INSTALLED", "644 root:root");
    expect(&r, "INSTALLED_SUBNET", "10.200.0.0/24");
    expect(&r, "INSTALLED_NET_ADDRESS", "10.200.0.1/24");
    expect(&r, "ACL_ALLOWS_VNET0", "yes");
    expect(&r, "INSTALLED_SHA", &r.value("BUILT_SHA"));
    expect(&r, "BEFORE_BRIDGE", "no");

    // the guest ran with the README's options, verbatim
    let options = r.values("QEMU_OPTION");
    let nic: Vec<&str> = qemu
        .split_whitespace()
        .skip_while(|w| *w != "-nic")
        .take(2)
        .collect();
    expect_true(
        &r,
        nic.len() == 2 && options.windows(2).any(|w| w[0] == nic[0] && w[1] == nic[1]),
        &format!("the guest's options {options:?} lack the README's {nic:?}"),
    );

    // a lease in install.sh's subnet, the gateway as router and DNS server
    let ip = r.value("LEASE_IP");
    let host = ip
        .strip_prefix("10.200.0.")
        .and_then(|n| n.parse::<u8>().ok());
    expect_true(
        &r,
        host.is_some_and(|n| (2..=254).contains(&n)),
        &format!("the lease {ip} is not a host of 10.200.0.0/24 (besides the gateway)"),
    );
    expect(&r, "LEASE_MASK", "24");
    expect(&r, "LEASE_ROUTER", "10.200.0.1");
    expect(&r, "LEASE_DNS", "10.200.0.1");
    expect(&r, "PING_RECEIVED_GW", "3");
    // NAT: the upstream answered and saw the host's uplink address
    expect(&r, "TCP_UPSTREAM", "hello-upstream");
    expect(&r, "UPSTREAM_PEERS", "198.51.100.2");
}

#[test]
fn existing_definition_is_kept() {
    const TEST: &str = "existing_definition_is_kept";
    if !common::have_root(TEST) {
        return;
    }
    let r = run(TEST, &[]);
    expect_all(
        &r,
        &[
            ("INSTALL_RC", "0"),
            ("SAID_KEPT", "yes"),
            ("SAID_INSTALLED_NET", "no"),
            ("AFTER_INSTALL_SAME", "yes"),
            ("AFTER_INSTALL_MODE", "640 root:root"),
            ("INSTALLED_SUBNET", ""),
            ("UNINSTALL_RC", "0"),
            ("AFTER_UNINSTALL_SAME", "yes"),
        ],
    );
    expect_installed(&r, "INSTALLED", "640 root:root");
    expect_all(
        &r,
        &[
            ("UNINSTALLED_BIN", "absent"),
            ("UNINSTALLED_ACL", "absent"),
            ("UNINSTALLED_UNIT", "absent"),
            ("UNINSTALLED_NET", "640 root:root"),
        ],
    );
}

/// The candidates install.sh passed over in round `tag`, and why, in order.
#[track_caller]
fn expect_collisions(r: &Run, tag: &str, want: &[&str]) {
    let got = r.values(&format!("{tag}_COLLISION"));
    if got != want {
        r.fail(&format!("{tag}: passed over {got:?}, expected {want:?}"));
    }
}

#[test]
fn colliding_subnets_are_passed_over() {
    const TEST: &str = "colliding_subnets_are_passed_over";
    if !common::have_root(TEST) {
        return;
    }
    let r = run(TEST, &[]);
    // an address in the first candidate: the second
    expect(&r, "ADDR_RC", "0");
    expect_installed(&r, "ADDR", "644 root:root");
    expect(&r, "ADDR_SUBNET", "10.201.0.0/24");
    expect(&r, "ADDR_NET_ADDRESS", "10.201.0.1/24");
    let first = "10.200.0.0/24 collides with address 10.200.0.7/24 on lan0";
    expect_collisions(&r, "ADDR", &[first]);
    expect(&r, "ADDR_HELPER_UP_RC", "0");
    // a route over the second too: the third
    expect(&r, "ROUTE_SUBNET", "172.30.200.0/24");
    expect(&r, "ROUTE_NET_ADDRESS", "172.30.200.1/24");
    let second = "10.201.0.0/24 collides with route 10.201.0.0/16 (via lan0)";
    expect_collisions(&r, "ROUTE", &[first, second]);
    expect(&r, "ROUTE_HELPER_UP_RC", "0");
    // all in use: no network, and the rest installed all the same
    expect(&r, "ALL_RC", "0");
    expect_installed(&r, "ALL", "absent");
    expect(&r, "ALL_SUBNET", "");
    expect_collisions(
        &r,
        "ALL",
        &[
            first,
            second,
            "172.30.200.0/24 collides with route 172.30.0.0/16 (via lan0)",
            "192.168.200.0/24 collides with route 192.168.200.128/25 (via lan0)",
        ],
    );
    expect(&r, "ALL_SAID_NONE", "yes");
    for tag in ["ADDR", "ROUTE", "ALL"] {
        expect(&r, &format!("{tag}_UNINSTALL_RC"), "0");
        expect(&r, &format!("{tag}_NET_AFTER_UNINSTALL"), "absent");
    }
}

#[test]
fn uninstall_removes_only_what_it_wrote() {
    const TEST: &str = "uninstall_removes_only_what_it_wrote";
    if !common::have_root(TEST) {
        return;
    }
    let r = run(TEST, &[]);
    expect_all(
        &r,
        &[
            ("FIRST_RC", "0"),
            ("SECOND_RC", "0"),
            ("SECOND_SAID_KEPT_OWN", "yes"),
            ("UNINSTALL_RC", "0"),
            ("SAID_REMOVED_NET", "yes"),
            ("THIRD_RC", "0"),
            ("EDITED_UNINSTALL_RC", "0"),
            ("SAID_KEPT_EDITED", "yes"),
            ("EDITED_SAME", "yes"),
            ("SAID_KEPT_EDITED_ACL", "yes"),
            ("EDITED_ACL_SAME", "yes"),
        ],
    );
    expect_installed(&r, "INSTALLED", "644 root:root");
    for (tag, kept) in [("UNINSTALLED", "absent"), ("EDITED", "644 root:root")] {
        expect_all(
            &r,
            &[
                (&format!("{tag}_BIN"), "absent"),
                (&format!("{tag}_ACL"), kept),
                (&format!("{tag}_UNIT"), "absent"),
                (&format!("{tag}_NET"), kept),
                (&format!("{tag}_FIREWALLD_ZONE"), "absent"),
                (&format!("{tag}_FIREWALLD_POLICY"), "absent"),
            ],
        );
    }
    // firewalld is installed on the test hosts: its zones are installed too
    expect_all(
        &r,
        &[
            ("INSTALLED_FIREWALLD_ZONE", "644 root:root"),
            ("INSTALLED_FIREWALLD_POLICY", "644 root:root"),
        ],
    );
}

#[test]
fn cargo_target_dir_elsewhere() {
    const TEST: &str = "cargo_target_dir_elsewhere";
    if !common::have_root(TEST) {
        return;
    }
    let r = run(TEST, &[]);
    expect(&r, "INSTALL_RC", "0");
    expect(
        &r,
        "FROM",
        "/run/vh/elsewhere/x86_64-unknown-linux-gnu/release/vnet-helper",
    );
    let installed = r.value("INSTALLED_SHA");
    expect(&r, "ELSEWHERE_SHA", &installed);
    expect_true(
        &r,
        installed != r.value("STALE_SHA"),
        "install.sh installed the stale binary of the repository's target/",
    );
    if release_run() {
        // the very binary this test run built
        expect(&r, "VH_SHA", &installed);
    }
    expect_installed(&r, "INSTALLED", "644 root:root");
}
