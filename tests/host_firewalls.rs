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
