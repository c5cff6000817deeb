//! Regression tests of the hardening of managed networks ("Hardening, round
//! 2"): what a network's name, the files next to its definition, its guests'
//! taps and its definition's readability can do to it and to the host.
//!
//! - Network names equal to the helper's shared runtime paths (`lock`,
//!   `firewall`, `networks`, `supervisors`) collide with nothing: no deadlock,
//!   one supervisor each, and tearing one down leaves the others whole.
//! - Stray files in the definitions directory (a name that is no interface
//!   name, an empty or invalid file) are no peers: they never reach a rule.
//! - The gateway's MAC is fixed: a guest setting its tap's MAC through the fd
//!   cannot move it.
//! - A tap made persistent and then closed is not a guest: the network idles
//!   down.
//! - An invalid definition the caller cannot read is not echoed to the caller.
//! - Bridges of networks without `ipv6` have IPv6 disabled: no IPv6 to the host
//!   or through it, even when the host forwards IPv6.
//! - `uplink` restricts forwarding out of (and replies into) the bridge to the
//!   uplink.
//!
//! Every test runs tests/scripts/network_integrity/TEST.sh in its own
//! tests/sandbox.sh (private network, mount and PID namespaces), calling the
//! setuid helper as the unprivileged uid 4242, and asserts on the KEY=VALUE
//! lines it prints. "Guests" are network namespaces behind veths whose peers
//! are ports of the bridge; "upstream" and "lan" are namespaces too: no
//! traffic leaves the sandbox.
//!
//! `VH_TEST_BINARY=/path/to/vnet-helper cargo test --test network_integrity`
//! runs them against another build (each must fail on the build before the
//! fixes).

mod common;

use common::{expect, expect_all, expect_contains, expect_num, expect_true, expect_within};
use common::{Run, Sandbox};

/// Runs TEST.sh; with VH_TEST_BINARY=PATH in the environment the sandbox
/// installs PATH instead of the helper cargo built (e.g. to see a test fail
/// on the binary from before the fix).
fn run(test: &str) -> Option<Run> {
    if !common::have_root(test) {
        return None;
    }
    let mut s = Sandbox::new(test, &format!("network_integrity/{test}.sh"))
        .deadline(std::time::Duration::from_secs(240));
    if let Some(b) = std::env::var_os("VH_TEST_BINARY") {
        s = s.binary(std::path::Path::new(&b));
    }
    Some(s.run().ok())
}

/// expect_all for keys made at run time: every (KEY, want) must hold, all
/// failures reported at once.
#[track_caller]
fn expect_each(r: &Run, pairs: &[(String, &str)]) {
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    expect_all(r, &refs);
}

const PATH_NAMES: [&str; 5] = ["lock", "firewall", "networks", "supervisors", "vnet0"];

// ---------------------------------------------------------------------------
// 1. Names like the shared runtime paths. Old layout: network `lock`'s
//    runtime directory was the lock directory (its teardown deleted every
//    network's locks: a second supervisor for vnet0), and network
//    `firewall`'s lock was the firewall lock (its bring-up deadlocked on
//    itself).

#[test]
fn network_names_that_match_shared_paths_collide_with_nothing() {
    let Some(r) = run("network_names_that_match_shared_paths_collide_with_nothing") else {
        return;
    };
    let mut each = Vec::new();
    for n in PATH_NAMES {
        each.push((format!("UP_{n}"), "0 yes"));
        each.push((format!("MASTER_{n}"), n));
        each.push((format!("NSUPERVISOR_{n}"), "1"));
    }
    for (key, want) in [
        ("DOWN_LOCK_RC", "0"),
        ("LOCK_GONE", "yes"),
        ("VNET0_BRIDGE_AFTER", "yes"),
        ("VNET0_NSUPERVISOR_AFTER", "1"),
        ("SECOND_VNET0", "0 yes"),
        ("VNET0_NSUPERVISOR_SECOND", "1"),
        ("AFTER_firewall", "yes 1"),
        ("AFTER_networks", "yes 1"),
        ("AFTER_supervisors", "yes 1"),
    ] {
        each.push((key.to_string(), want));
    }
    expect_each(&r, &each);
}

// ---------------------------------------------------------------------------
// 2. Stray definition files. Old: every *.toml was a peer whose name went
//    into vnet0's isolation rules: `+` (iptables' wildcard) made `-i + -o
//    vnet0 -j REJECT`, rejecting NAT replies; `x"y` broke iptables-restore,
//    failing every bring-up; invalid files were peers too.

#[test]
fn stray_definition_files_are_not_peers() {
    let Some(r) = run("stray_definition_files_are_not_peers") else {
        return;
    };
    // P0: vnet0 alone (the reference); P1: with +.toml, empty.toml,
    // bad.toml; P2: with x"y.toml too
    let mut each = Vec::new();
    for p in ["P0", "P1", "P2"] {
        each.push((format!("{p}_CALL"), "0 yes"));
        each.push((format!("{p}_STDERR"), ""));
        each.push((format!("{p}_FW_INTERFACES"), "vnet0"));
        each.push((format!("{p}_NAT_PING"), "ok"));
    }
    for p in ["P1", "P2"] {
        each.push((format!("{p}_FW_EXACT"), "same"));
        each.push((format!("{p}_FW_DUPS"), "0"));
    }
    for (key, want) in [
        ("CHECK_RC", "1"),
        ("CHECK_PLUS", "yes"),
        ("CHECK_QUOTE", "yes"),
        ("CHECK_EMPTY", "yes"),
        ("CHECK_BAD", "yes"),
        ("CHECK_VNET0", "no"),
    ] {
        each.push((key.to_string(), want));
    }
    expect_each(&r, &each);
}

// ---------------------------------------------------------------------------
// 3. The gateway's MAC. Old: the bridge took its lowest port's MAC, so a
//    guest setting 00:00:00:00:00:01 on its tap became the gateway's address
//    (and a new bring-up got another address).

#[test]
fn gateway_mac_is_fixed_whatever_the_ports_do() {
    let Some(r) = run("gateway_mac_is_fixed_whatever_the_ports_do") else {
        return;
    };
    let gw = r.value("MAC_COLD");
    expect_all(
        &r,
        &[
            ("MAC_COLD_LOCAL_UNICAST", "yes"),
            ("SET_MAC", "ok"),
            ("TAP_B_MAC", "00:00:00:00:00:01"),
            ("TAP_B_MASTER", "vnet0"),
            ("MAC_WITH_B", &gw),
            ("MAC_B_ALONE", &gw),
            ("MAC_AGAIN", &gw),
        ],
    );
    // derived from the network, not taken from the first port
    expect_true(
        &r,
        gw != r.value("TAP_A_MAC"),
        "the gateway's MAC is the first tap's",
    );
}

// ---------------------------------------------------------------------------
// 4. A persistent tap. Old: a port was a guest whether or not any process
//    held it, so the network never idled down.

#[test]
fn persistent_tap_does_not_keep_network_up() {
    let Some(r) = run("persistent_tap_does_not_keep_network_up") else {
        return;
    };
    expect_all(
        &r,
        &[
            ("CALL", "0 yes"),
            ("PERSIST", "ok"),
            ("OWNER", "ok"),
            ("TAP_EXISTS", "yes"),
            ("TAP_MASTER", "vnet0"),
            ("STATUS_MARKS_TAP", "yes"),
            ("STATUS_JSON_ATTACHED", "false"),
            ("NSUPERVISOR", "0"),
            ("TAP_EXISTS_AFTER", "yes"),
            ("TAP_MASTER_AFTER", "none"),
        ],
    );
    // idle-timeout 2 s: gone within 10 s of the caller's exit
    expect_within(&r, "GONE_AFTER", 10.0);
}

// ---------------------------------------------------------------------------
// 5. An unreadable invalid definition. Old: the parse error, with the
//    offending value, went to the caller's stderr.

#[test]
fn unreadable_invalid_definition_is_not_echoed_to_the_caller() {
    let Some(r) = run("unreadable_invalid_definition_is_not_echoed_to_the_caller") else {
        return;
    };
    expect_all(
        &r,
        &[
            ("DEF_MODE", "600"),
            ("USER_CAN_READ", "no"),
            ("CALL", "1 no"),
            ("CALL_LEAKS_SECRET", "no"),
            ("CALL_LEAKS_DOMAIN_KEY", "no"),
            ("CALL_POINTS_TO_CHECK", "yes"),
            ("BRIDGE", "no"),
            ("CHECK_RC", "1"),
            ("CHECK_SHOWS_DETAIL", "yes"),
        ],
    );
    expect_contains(
        &r,
        "CALL_STDERR",
        "network `vnet0': its definition is invalid",
    );
}

// ---------------------------------------------------------------------------
// 6. IPv6 on IPv4-only networks. Old: their bridges had IPv6 (a link-local
//    address): the host answered a guest's IPv6 and, with IPv6 forwarding on
//    for another network, forwarded it upstream (from the isolated network
//    too).

#[test]
fn ipv4_only_networks_carry_no_ipv6() {
    let Some(r) = run("ipv4_only_networks_carry_no_ipv6") else {
        return;
    };
    let mut each = vec![("ALL_FORWARDING".to_string(), "1")];
    // a bridge port needs no IPv6 of its own, whatever the network
    for p in ["ISO", "NAT", "V6"] {
        each.push((format!("{p}_TAP_IPV6_OFF"), "1"));
        each.push((format!("{p}_TAP_V6_ADDRS"), "0"));
    }
    for p in ["ISO", "NAT"] {
        for (key, want) in [
            ("DISABLE_IPV6", "1"),
            ("BRIDGE_V6_ADDRS", "0"),
            ("ALLNODES_OTHERS", ""),
            ("UPSTREAM_PING", "0"),
            ("HOST_TOOK_IN", "0"),
            ("UPSTREAM_GOT_FROM_GUEST", "0"),
        ] {
            each.push((format!("{p}_{key}"), want));
        }
    }
    expect_each(&r, &each);
    // the control: the same guest set-up on the IPv6 network gets through
    expect(&r, "V6_DISABLE_IPV6", "0");
    expect_true(
        &r,
        !r.value("V6_ALLNODES_OTHERS").is_empty(),
        "the host does not answer the IPv6 network's guest on ff02::1",
    );
    for (key, what) in [
        ("V6_UPSTREAM_PING", "no echo reply from the upstream"),
        ("V6_HOST_TOOK_IN", "the host took in nothing"),
        ("UPSTREAM_GOT_MASQUERADED", "the upstream got nothing"),
    ] {
        expect_true(
            &r,
            expect_num(&r, key) > 0,
            &format!("the IPv6 network's guest (the control): {what}"),
        );
    }
}

// ---------------------------------------------------------------------------
// 7. `uplink`. Old: forwarding out of the bridge was accepted to any
//    interface (only the masquerade was limited to the uplink), so a guest's
//    packets reached the lan with its private source address.

#[test]
fn uplink_restricts_forwarding_to_it() {
    let Some(r) = run("uplink_restricts_forwarding_to_it") else {
        return;
    };
    expect_all(
        &r,
        &[
            ("LAN_SAW_HOST", "192.0.2.2"),
            ("UPSTREAM_SAW", "198.51.100.2"),
            ("LAN_PING_192_0_2_1", "no"),
            ("LAN_PING_203_0_113_1", "no"),
            ("LAN_SAW", ""),
            ("LAN_PACKETS_FROM_GUESTS", "0"),
        ],
    );
    // rejected, not silently dropped
    expect_contains(&r, "LAN_TCP_192_0_2_1", "Connection refused");
    expect_contains(&r, "LAN_TCP_203_0_113_1", "Connection refused");
}
