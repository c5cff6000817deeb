//! Managed networks on hosts that run a firewall of their own. In nftables
//! every base chain on a hook must accept a packet, so a host ruleset with
//! `policy drop` (a hardened /etc/nftables.conf) drops a network's DHCP, DNS
//! and forwarded traffic whatever our rules say. We never change other
//! tables: the bring-up warns, and `status` and `check` name the table and
//! chain and print the exact rules to add.
//!
//! Each test runs tests/scripts/host_firewalls/TEST.sh in its own
//! tests/sandbox.sh (private network, mount and PID namespaces; the host
//! ruleset is the sandbox's own), calling the setuid helper as uid 4242.
//!
//! The nftables backend (the default where nft works) on an empty host and on
//! iptables-shaped ones (Docker, ufw): real veth guests, and the whole
//! firewall byte-identical after the teardown.

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

/// tests/scripts/host_firewalls/nft_backend_guests.sh on a host shaped
/// `host`: everything works, iptables-save keeps working, and the teardown
/// leaves all three views of the firewall byte-identical.
fn nft_backend_guests(test: &str, host: &str, coexist: &str) {
    if !common::have_root(test) {
        return;
    }
    let r = Sandbox::new(test, "host_firewalls/nft_backend_guests.sh")
        .env("HOST_FW", host)
        .deadline(std::time::Duration::from_secs(180))
        .run()
        .ok();
    expect_all(
        &r,
        &[
            ("BACKEND", "nftables"),
            ("CALL_RC", "0"),
            ("RULES_COMPLETE", "yes"),
            ("STATUS_BACKEND", "nftables"),
            ("STATUS_RULES", "present"),
            // INPUT and FORWARD where the host drops there
            ("STATUS_COEXIST", coexist),
            ("IPTABLES_SAVE_WARNINGS", "0"),
            ("G1_LEASE", "10.200.0.50"),
            ("G2_LEASE", "got"),
            ("DNS", "10.200.0.50"),
            ("NAT_PING", "ok"),
            ("GUEST_TO_GUEST", "ok"),
            ("FORWARD_FROM_UPSTREAM", "ok"),
            ("DOWN_RC", "0"),
            ("AFTER_IPTABLES", "same"),
            ("AFTER_IP6TABLES", "same"),
            ("AFTER_NFT", "same"),
        ],
    );
}

#[test]
fn nft_backend_on_an_empty_host() {
    nft_backend_guests("nft_backend_on_an_empty_host", "empty", "0");
}

#[test]
fn nft_backend_on_a_docker_host() {
    nft_backend_guests("nft_backend_on_a_docker_host", "docker", "1");
}

#[test]
fn nft_backend_on_a_ufw_host() {
    nft_backend_guests("nft_backend_on_a_ufw_host", "ufw", "2");
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
            ("SWITCH_IPTABLES", "same"),
            ("SWITCH_IP6TABLES", "same"),
            ("SWITCH_NFT", "same"),
            ("BAD_UP_MSG", "1"),
            ("BAD_CALL_RC", "1"),
            ("BAD_BRIDGE", "absent"),
            ("BAD_CHECK_RC", "1"),
            ("BAD_CHECK_MSG", "1"),
            ("UNKNOWN_KEY_MSG", "1"),
            ("WRITABLE_MSG", "1"),
            ("BAD_IPTABLES", "same"),
            ("BAD_IP6TABLES", "same"),
            ("BAD_NFT", "same"),
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
