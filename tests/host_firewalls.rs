//! Managed networks on hosts that run a firewall of their own. In nftables
//! every base chain on a hook must accept a packet, so a host ruleset with
//! `policy drop` (a hardened /etc/nftables.conf) drops a network's DHCP, DNS
//! and forwarded traffic whatever our rules say. We never change other
//! tables: the bring-up warns, and `status` and `check` name the table and
//! chain and print the exact rules to add.
//!
//! The matrix: for each host firewall shape (tests/lib/host_firewalls.sh)
//! and each firewall backend, a NAT network brought up by uid 4242 and two
//! veth guests with real DHCP: DHCP, DNS, NAT, a port forward, guest to
//! guest; then teardown leaves `iptables-save`, `ip6tables-save` and `nft
//! list ruleset` exactly as before. Where a shape cannot work (another
//! table's drop that only its admin may change), the diagnosis is asserted
//! instead, and that the drop is real.
//!
//! On iptables-shaped hosts (Docker, ufw) the nftables backend also adds
//! accepts of its own to the host's iptables chains: the matrix asserts
//! which, and that iptables-save keeps working while they are there.
//!
//! Each test runs tests/scripts/host_firewalls/TEST.sh in its own
//! tests/sandbox.sh (private network, mount and PID namespaces; the host
//! ruleset is the sandbox's own), calling the setuid helper as uid 4242.

mod common;

use common::{expect_all, Sandbox};

#[test]
fn nftables_policy_drop_is_diagnosed() {
    let test = "nftables_policy_drop_is_diagnosed";
    if !common::have_root(test) {
        return;
    }
    let r = Sandbox::new(test, &format!("host_firewalls/{test}.sh"))
        .deadline(std::time::Duration::from_secs(180))
        .run()
        .ok();
    // the call works, and says what will not
    expect_all(
        &r,
        &[
            ("CALL_RC", "0"),
            ("CALL_WARNS_INPUT", "1"),
            ("CALL_WARNS_FORWARD", "1"),
            ("STATUS_LINES_BEFORE", "2"),
            ("CHECK_RC_BEFORE", "1"),
            ("CHECK_LINES_BEFORE", "2"),
            // the host's drop policy is real: no lease
            ("DHCP_BEFORE", "failed"),
            // input: udp 53,67 and tcp 53; forward: out, and replies in
            ("FIXES", "4"),
        ],
    );
    assert!(r.values("FIX_FAILED").is_empty(), "{}", r.transcript());
    // with exactly the printed rules added, everything works
    expect_all(
        &r,
        &[
            ("DHCP_AFTER", "ok"),
            ("NAT_PING_AFTER", "ok"),
            ("STATUS_LINES_AFTER", "0"),
            ("CHECK_LINES_AFTER", "0"),
        ],
    );
}

/// The nftables driver's cache of its last listing: after a teardown it is
/// exactly what `nft -a list ruleset` prints (root's, 0600); the next cold
/// bring-up runs nft once (its transaction) instead of twice; after someone
/// else changed the ruleset, a bring-up reads it again (twice), and its
/// warning names the new host table.
#[test]
fn nft_listing_cache_follows_the_ruleset() {
    let test = "nft_listing_cache_follows_the_ruleset";
    if !common::have_root(test) {
        return;
    }
    let r = Sandbox::new(test, "host_firewalls/nft_listing_cache.sh")
        .deadline(std::time::Duration::from_secs(120))
        .run()
        .ok();
    expect_all(
        &r,
        &[
            ("CALL1_RC", "0"),
            ("CACHE_IS_THE_LISTING", "yes"),
            ("CACHE_MODE", "root 600"),
            ("CALL2_RC", "0"),
            ("CALL2_NFT_RUNS", "1"),
            ("CALL3_RC", "0"),
            ("CALL3_NFT_RUNS", "2"),
            ("CALL3_WARNS_FORWARD", "1"),
        ],
    );
}

/// What a cell of the matrix must show.
enum Expect {
    /// Everything works and teardown is exact.
    Works,
    /// status, check and the bring-up name the host's chains (input and
    /// forward) that drop the traffic; the drop is real; teardown is exact.
    Diagnosed,
}

/// One cell: tests/scripts/host_firewalls/matrix.sh CASE BACKEND. `coexist`:
/// how many of the host's iptables chains (filter INPUT/FORWARD, IPv4 and
/// IPv6) got our accepts, as `status` lists them.
fn cell(test: &str, case: &str, backend: &str, expect: Expect, coexist: &str) {
    if !common::have_root(test) {
        return;
    }
    let r = Sandbox::new(test, "host_firewalls/matrix.sh")
        .arg(case)
        .arg(backend)
        .deadline(std::time::Duration::from_secs(240))
        .run()
        .ok();
    let teardown = [
        // auto (no config.toml) picks nftables where nft works
        ("AUTO_BACKEND", "nftables"),
        ("CALL_RC", "0"),
        ("STATUS_BACKEND", backend),
        ("STATUS_RULES", "present"),
        ("RULES_COMPLETE", "yes"),
        ("STATUS_COEXIST", coexist),
        // iptables-save keeps working while our rules are in
        ("IPTABLES_SAVE_WARNINGS", "0"),
        ("BRIDGE_GONE", "yes"),
        ("RECORD_GONE", "yes"),
        ("FIREWALL_SAME", "yes"),
    ];
    expect_all(&r, &teardown);
    assert!(r.values("FIX_FAILED").is_empty(), "{}", r.transcript());
    match expect {
        Expect::Works => expect_all(
            &r,
            &[
                ("CALL_WARNINGS", "0"),
                ("STATUS_HOST_LINES", "0"),
                ("CHECK_RC", "0"),
                ("DHCP_G1", "10.200.0.10"),
                ("DHCP_G2", "ok"),
                ("DNS", "ok"),
                ("NAT", "ok"),
                ("NAT_SOURCE", "198.51.100.2"),
                ("FORWARD", "ok"),
                ("GUEST_TO_GUEST", "ok"),
            ],
        ),
        Expect::Diagnosed => expect_all(
            &r,
            &[
                ("CALL_WARNINGS", "2"),
                ("STATUS_HOST_LINES", "2"),
                ("CHECK_RC", "1"),
                ("CHECK_HOST_LINES", "2"),
                ("DHCP_G1", "failed"),
                ("DHCP_G2", "failed"),
            ],
        ),
    }
}

/// One #[test] per cell; the nftables column is one more line per case.
/// The last column: the host chains that got our accepts (`cell`).
macro_rules! cells {
    ($($name:ident: $case:literal, $backend:literal, $expect:ident, $coexist:literal;)*) => {$(
        #[test]
        fn $name() {
            cell(stringify!($name), $case, $backend, Expect::$expect, $coexist);
        }
    )*};
}

cells! {
    matrix_empty_iptables: "empty", "iptables", Works, "0";
    matrix_docker_iptables: "docker", "iptables", Works, "0";
    matrix_ufw_iptables: "ufw", "iptables", Works, "0";
    matrix_nftconf_iptables: "nftconf", "iptables", Diagnosed, "0";
    matrix_nftconf_fixed_iptables: "nftconf_fixed", "iptables", Works, "0";
    matrix_firewalld_shaped_iptables: "firewalld", "iptables", Diagnosed, "0";
    matrix_empty_nftables: "empty", "nftables", Works, "0";
    matrix_docker_nftables: "docker", "nftables", Works, "1";
    matrix_ufw_nftables: "ufw", "nftables", Works, "4";
    matrix_nftconf_nftables: "nftconf", "nftables", Diagnosed, "0";
    matrix_nftconf_fixed_nftables: "nftconf_fixed", "nftables", Works, "0";
    matrix_firewalld_shaped_nftables: "firewalld", "nftables", Diagnosed, "0";
}

/// A real firewalld (its own system D-Bus in the sandbox): without our zone
/// the bring-up warns naming the file and a guest gets nothing; with the
/// zones installed and firewalld reloaded, the supervisor binds the bridge
/// itself, and a veth guest gets DHCP, DNS and NAT but no other host port.
#[test]
fn firewalld_zone_binding() {
    let test = "firewalld_zone_binding";
    if !common::have_root(test) {
        return;
    }
    let r = Sandbox::new(test, &format!("host_firewalls/{test}.sh"))
        .deadline(std::time::Duration::from_secs(240))
        .run()
        .ok();
    expect_all(
        &r,
        &[
            ("FIREWALLD", "running"),
            // without the zone: a warning naming the file, and nothing works
            ("CALL_RC", "0"),
            ("CALL_WARNS_ZONE", "1"),
            ("ZONE_BEFORE", ""),
            ("STATUS_ZONE_BEFORE", "NONE"),
            ("CHECK_RC_BEFORE", "1"),
            ("CHECK_SAYS_NOT_INSTALLED", "1"),
            ("DHCP_BEFORE", "failed"),
            ("DNS_BEFORE", "no"),
            // installed + reloaded: bound by the supervisor, rules back
            ("ZONE_AFTER", "vnet-helper"),
            ("STATUS_ZONE_AFTER", "vnet-helper"),
            ("CHECK_ZONE_LINES_AFTER", "0"),
            ("DHCP_AFTER", "ok"),
            ("DNS_AFTER", "yes"),
            ("NAT_PING", "ok"),
            ("NAT_TCP", "1"),
            ("NAT_SOURCE", "198.51.100.2 "),
            // no other port of the host: not even ssh (the default zone's)
            ("HOST_SSH_OPEN", "no"),
            ("HOST_2222_OPEN", "no"),
            ("HOST_SSH_LOCAL", "yes"),
            ("ZONE_AFTER_UP", "vnet-helper"),
            // teardown takes the bridge out of the zone
            ("ZONE_AFTER_TEARDOWN", ""),
            ("ZONE_INTERFACES_AFTER_TEARDOWN", ""),
        ],
    );
    let bound = seconds(&r, "BOUND_AFTER_RELOAD_S");
    assert!(
        bound <= 1.0,
        "bound {bound} s after the reload (at most 1 s)"
    );
}

/// A real firewalld with our zones installed: a routed and an isolated
/// network are bound to vnet-routed and vnet-isolated at bring-up; both
/// guests get DHCP and DNS and no other host port; the routed guest talks
/// to the upstream with its own address both ways; the isolated guest
/// reaches nothing beyond the host; teardown unbinds both.
#[test]
fn firewalld_routed_and_isolated_zones() {
    let test = "firewalld_routed_and_isolated_zones";
    if !common::have_root(test) {
        return;
    }
    let r = Sandbox::new(test, "host_firewalls/firewalld_routed_isolated.sh")
        .deadline(std::time::Duration::from_secs(180))
        .run()
        .ok();
    let mut want = vec![("FIREWALLD", "running")];
    for (k, zone) in [("VR", "vnet-routed"), ("VI", "vnet-isolated")] {
        for (what, v) in [
            ("UP_RC", "0"),
            ("UP_WARNINGS", "0"),
            ("ZONE", zone),
            ("DHCP", "ok"),
            ("DNS", "yes"),
            ("HOST_SSH_OPEN", "no"),
            ("HOST_SSH_LOCAL", "yes"),
            ("OUT", if k == "VR" { "1" } else { "0" }),
            ("ZONE_AFTER_DOWN", ""),
        ] {
            want.push((Box::leak(format!("{k}_{what}").into_boxed_str()), v));
        }
    }
    want.extend([
        // routed: no NAT either way
        ("VR_OUT_SOURCE", "10.201.0.50"),
        ("VR_IN", "1"),
        ("VR_IN_SOURCE", "198.51.100.1"),
        ("VI_TO_VR", "no"),
        ("ZONE_INTERFACES_AFTER_DOWN", " "),
    ]);
    expect_all(&r, &want);
}

/// Seconds from a KEY=VALUE line (99 if absent or not a number).
fn seconds(r: &common::Run, key: &str) -> f64 {
    r.value(key)
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(99.0)
}

/// Without firewalld: `nft flush ruleset` and a reload of the backend's
/// tool remove our rules; the supervisor puts them back within a second, a
/// guest's TCP connection stays up, and the supervisor does not wake while
/// idle. Both backends.
#[test]
fn heal_nft_flush_iptables() {
    heal_nft_flush("heal_nft_flush_iptables", "iptables");
}

#[test]
fn heal_nft_flush_nftables() {
    heal_nft_flush("heal_nft_flush_nftables", "nftables");
}

fn heal_nft_flush(test: &str, backend: &str) {
    if !common::have_root(test) {
        return;
    }
    let r = Sandbox::new(test, "host_firewalls/heal_nft_flush.sh")
        .env("BACKEND", backend)
        .deadline(std::time::Duration::from_secs(180))
        .run()
        .ok();
    expect_all(
        &r,
        &[
            ("CALL_RC", "0"),
            ("FLUSH_GONE", "yes"),
            ("RESTORE_GONE", "yes"),
            ("CONN_OK", "yes"),
            ("NAT_PING_AFTER", "ok"),
            ("RULE_DUPLICATES", "0"),
            ("IDLE_SWITCHES_10S", "0"),
            ("SUPERVISOR_SAME", "yes"),
        ],
    );
    for k in ["FLUSH_BACK_S", "RESTORE_BACK_S"] {
        assert!(seconds(&r, k) <= 1.0, "{k}: {}", r.transcript());
    }
}

/// A real firewalld: after `firewall-cmd --reload` and after a restart, our
/// rules and the zone binding are back within a second, and a guest's TCP
/// connection through NAT survives both. With iptables, the reload really
/// removed our rules; with nftables, firewalld leaves our table alone.
#[test]
fn heal_firewalld_reload_and_restart_iptables() {
    heal_firewalld_reload_and_restart("heal_firewalld_reload_and_restart_iptables", "iptables");
}

#[test]
fn heal_firewalld_reload_and_restart_nftables() {
    heal_firewalld_reload_and_restart("heal_firewalld_reload_and_restart_nftables", "nftables");
}

fn heal_firewalld_reload_and_restart(test: &str, backend: &str) {
    if !common::have_root(test) {
        return;
    }
    let r = Sandbox::new(test, "host_firewalls/heal_firewalld_reload_and_restart.sh")
        .env("BACKEND", backend)
        .deadline(std::time::Duration::from_secs(240))
        .run()
        .ok();
    expect_all(
        &r,
        &[
            ("CALL_RC", "0"),
            ("CALL_STDERR", ""),
            ("ZONE_AT_BRING_UP", "vnet-helper"),
            ("DHCP", "ok"),
            ("CONN_OK", "yes"),
            ("NAT_PING_AFTER", "ok"),
            ("DHCP_AFTER", "ok"),
            ("RULE_DUPLICATES", "0"),
        ],
    );
    let removed = r.value("RELOAD_REMOVED_OURS") != "0";
    assert_eq!(removed, backend == "iptables", "{}", r.transcript());
    for k in ["RELOAD_HEALED_S", "RESTART_HEALED_S"] {
        assert!(seconds(&r, k) <= 1.0, "{k}: {}", r.transcript());
    }
}

#[test]
fn switching_backends_leaves_nothing_and_bad_config_is_refused() {
    let test = "switching_backends_leaves_nothing_and_bad_config_is_refused";
    if !common::have_root(test) {
        return;
    }
    let r = Sandbox::new(test, "host_firewalls/nft_backend_switch_and_config.sh")
        .deadline(std::time::Duration::from_secs(180))
        .run()
        .ok();
    expect_all(
        &r,
        &[
            ("IPT_STATUS", "iptables"),
            // vnet0 under iptables has chains there (nothing in nftables)
            ("SWITCHED_VNET0_IPT", "0 NFT=yes"),
            ("SWITCHED_VNET1_IPT", "kept"),
            ("SWITCHED_COMPLETE", "yes"),
            // the last iptables network gone under nftables: shared chains too
            ("DOWN_VNET1_IPT_ALL", "0"),
            ("DOWN_VNET0_NFT", "0 TABLES=0"),
            ("SWITCH_FIREWALL", "yes"),
            ("BAD_UP_MSG", "1"),
            ("BAD_CALL_RC", "1"),
            ("BAD_BRIDGE", "absent"),
            ("BAD_CHECK_RC", "1"),
            ("BAD_CHECK_MSG", "1"),
            ("UNKNOWN_KEY_MSG", "1"),
            ("WRITABLE_MSG", "1"),
            ("BAD_FIREWALL", "yes"),
        ],
    );
    let up = r.value("IPT_UP");
    let parts: Vec<&str> = up.split('/').collect();
    assert!(
        parts.len() == 3 && parts[0] != "0" && parts[1] != "0" && parts[2] == "0",
        "IPT_UP={up}\n{}",
        r.transcript()
    );
    assert_ne!(r.value("BAD_UP_RC"), "0", "{}", r.transcript());
}

#[test]
fn nft_backend_repairs_and_isolates() {
    let test = "nft_backend_repairs_and_isolates";
    if !common::have_root(test) {
        return;
    }
    let r = Sandbox::new(test, "host_firewalls/nft_backend_repairs.sh")
        .deadline(std::time::Duration::from_secs(180))
        .run()
        .ok();
    let mut want = vec![
        ("BACKEND", "nftables"),
        ("UP_RULES", "present"),
        ("UP_IPV6_CHAINS", "6"),
        ("VN0_CHAINS_KEPT", "yes"),
        ("SET", "vn0 vn1 "),
        ("ISOLATION_FIRST", "iifname @bridges oifname \"vn0\" reject"),
        ("DUPS", "0"),
        ("UNREACHABLE", ""),
        ("AFTER_VN0_DOWN_IP6_TABLE", "0"),
        ("VN1_COMPLETE", "yes"),
        ("ALL_DOWN_TABLES", "0"),
    ];
    for how in [
        "flush-chain",
        "base-jumps",
        "map-element",
        "set-element",
        "table",
    ] {
        for (k, v) in [("DAMAGED", "MISSING"), ("REPAIRED", "present")] {
            want.push((Box::leak(format!("{k}_{how}").into_boxed_str()), v));
        }
        want.push((
            Box::leak(format!("REPAIRED_{how}_EXACT").into_boxed_str()),
            "same",
        ));
    }
    expect_all(&r, &want);
}
