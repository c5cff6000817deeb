//! The systemd path under a real systemd: a Debian 12 container booted by
//! systemd-nspawn (tests/lib/container.sh; its root file system is built once
//! by tests/container/rootfs.sh and cached in /var/cache/vnet-helper-ci), with
//! the .deb that `cargo deb` built installed inside it. The supervisor runs
//! as vnet-helper@NAME.service with dnsmasq in that unit's cgroup, outside
//! the users' login sessions; ending a session does not take the network from
//! another user's guest; the idle teardown, `systemctl stop` and `vnet-helper
//! down` stop the unit and leave nothing behind; the journal and `systemctl
//! status` show the audit lines; install, upgrade, statoverride, remove and
//! purge leave the host as they found it.
//!
//! Every test runs tests/scripts/systemd/TEST.sh with the .deb's path in its
//! own tests/sandbox.sh and asserts on the KEY=VALUE lines it prints.

mod common;

use std::time::Duration;

use common::{expect_all, expect_true, expect_within, Run, Sandbox};

fn run(test: &str) -> Option<Run> {
    if !common::have_root(test) {
        return None;
    }
    let deb = common::debian_package(test);
    Some(
        Sandbox::new(test, &format!("systemd/{test}.sh"))
            .arg(deb)
            .deadline(Duration::from_secs(400))
            .run()
            .ok(),
    )
}

const UNIT_CGROUP: &str = "/system.slice/system-vnet\\x2dhelper.slice/vnet-helper@vnet0.service";

#[test]
fn supervisor_outlives_sessions() {
    let Some(r) = run("supervisor_outlives_sessions") else {
        return;
    };
    expect_all(
        &r,
        &[
            ("CONTAINER_STATE", "running"),
            ("CONTAINER_PID1", "systemd"),
            ("GUEST_A_PINGS", "3"),
            ("UNIT_ACTIVE", "active"),
            (
                "SUPERVISOR_ARGS",
                "/usr/libexec/vnet-helper supervise vnet0",
            ),
            ("UNIT_CGROUP", UNIT_CGROUP),
            ("SUPERVISOR_CGROUP", UNIT_CGROUP),
            ("DNSMASQ_CGROUP", UNIT_CGROUP),
            // ending alice's session took her guest, and nothing else
            ("GUEST_A_GONE", "yes"),
            ("QEMU_A_LEFT", "0"),
            ("AFTER_TERMINATE_UNIT_ACTIVE", "active"),
            ("AFTER_TERMINATE_SAME_SUPERVISOR", "yes"),
            ("AFTER_TERMINATE_SAME_DNSMASQ", "yes"),
            ("AFTER_TERMINATE_PORTS", "1"),
            ("GUEST_B_PINGS_AFTER", "10"),
            ("UNIT_AFTER_IDLE", "inactive"),
            ("JOURNAL_GRANTED_ALICE", "1"),
            ("JOURNAL_GRANTED_BOB", "1"),
            ("JOURNAL_BROUGHT_UP", "1"),
            ("JOURNAL_IDLE_TEARDOWN", "1"),
            ("STATUS_SHOWS_TEARDOWN", "yes"),
            ("UNIT_TEARDOWN_TRANSPORT", "stdout"),
            ("UNIT_TEARDOWN_IDENTIFIER", "vnet-helper"),
            ("UNIT_TEARDOWN_FACILITY", "10"),
            ("UNIT_TEARDOWN_PRIORITY", "6"),
        ],
    );
    let sessions = r.value("ALICE_SESSIONS");
    let qemu = r.value("QEMU_A_CGROUP");
    expect_true(
        &r,
        !sessions.trim().is_empty(),
        "alice had no login session",
    );
    expect_true(
        &r,
        qemu.starts_with("/user.slice/user-4301.slice/session-") && qemu.ends_with(".scope"),
        "alice's QEMU is not in her session scope",
    );
    expect_true(
        &r,
        r.value("GUEST_A_LEASE").starts_with("10.200.0."),
        "guest A's lease",
    );
    expect_true(
        &r,
        r.value("GUEST_B_LEASE").starts_with("10.200.0."),
        "guest B's lease",
    );
    // idle-timeout is 3 s
    expect_within(&r, "TORN_DOWN_AFTER", 15.0);
}

#[test]
fn systemctl_stop_tears_down() {
    let Some(r) = run("systemctl_stop_tears_down") else {
        return;
    };
    expect_all(
        &r,
        &[
            ("CONTAINER_STATE", "running"),
            ("RULES_BEFORE", "0"),
            ("UNIT_ACTIVE", "active"),
            ("DNSMASQ_UP", "1"),
            ("STOP_LEFT_NOTHING", "yes"),
            ("UNIT_JOURNAL_TAKEN_DOWN", "1"),
            ("UNIT_AFTER_STOP", "inactive"),
            ("RULES_AFTER_STOP", "0"),
            ("ATTACH_AGAIN_RC", "0"),
            ("UNIT_AGAIN", "active"),
            ("SUPERVISOR_CGROUP_AGAIN", UNIT_CGROUP),
            ("UNIT_AFTER_DOWN", "inactive"),
            ("DOWN_LEFT_NOTHING", "yes"),
            // one by systemctl stop (ExecStop), one by our down: the ExecStop
            // of a supervisor that `down` stopped does nothing
            ("JOURNAL_TAKEN_DOWN", "2"),
            ("JOURNAL_BROUGHT_UP", "2"),
        ],
    );
    expect_true(&r, r.value("RULES_UP") != "0", "no rules while up");
    expect_within(&r, "STOP_SECONDS", 10.0);
}

#[test]
fn package_lifecycle() {
    let Some(r) = run("package_lifecycle") else {
        return;
    };
    expect_all(
        &r,
        &[
            ("CONTAINER_STATE", "running"),
            ("MODE_INSTALLED", "4755:root:root"),
            ("ACL_KEPT", "yes"),
            ("DEFAULT_NETWORK", "address = \"10.200.0.1/24\""),
            ("MODE_UPGRADED", "4755:root:root"),
            ("UP_AFTER_UPGRADE", "yes"),
            ("SAME_DNSMASQ_AFTER_UPGRADE", "yes"),
            ("DEFINITION_KEPT", "yes"),
            ("ATTACH_AFTER_UPGRADE_RC", "0"),
            ("MODE_STATOVERRIDE", "4750:root:root"),
            ("MODE_OVERRIDE_REMOVED", "4755:root:root"),
            ("ORPHAN_UP", "active"),
            ("REMOVE_LEFT_NOTHING", "yes"),
            ("REMOVE_ORPHAN_GONE", "yes"),
            ("REMOVE_RULES", "0"),
            ("REMOVE_RUN_DIR", "0"),
            ("REMOVE_UNITS", "0"),
            ("REMOVE_HELPER_PROCESSES", "0"),
            ("PURGE_LEFTOVERS", ""),
            ("PURGE_MISSING", ""),
            ("ACL_KEPT_AFTER_PURGE", "yes"),
            ("LINKS_AFTER_PURGE", ""),
            ("RULES_AFTER_PURGE", "0"),
        ],
    );
    expect_true(
        &r,
        r.value("VERSION_UPGRADED").ends_with("+up1"),
        "the upgrade's version",
    );
}
