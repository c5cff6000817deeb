//! Networks that users create themselves within an admin's pool (issue 12;
//! README "Networks users create"): `/etc/vnet-helper/user-networks.toml`,
//! `vnet-helper net create|list|delete` and attaches to user networks, run by
//! named unprivileged users inside tests/sandbox.sh. The scripts
//! (tests/scripts/usernet/*.sh, shell in tests/lib/usernet.sh) bind-mount a
//! private /etc/passwd and /etc/group with alice (4242), bob (4243), carol
//! (4244), dave (4245) and the group vmusers (bob, dave).
//!
//! - `user_nat_network_with_a_real_guest`: create, then a real QEMU guest on
//!   it: lease, gateway, upstream through NAT; create and cold-attach times.
//! - `auto_create_through_libvirt_session`: libvirt session mode starts a
//!   domain on a bridge that does not exist; auto-create makes it.
//! - `policy_refusals_auto_create_and_list`: membership, prefix, names,
//!   collisions, quota, pool exhaustion, modes, forwards; IPv6 /64s;
//!   auto-create from a bare QEMU call; a member taken out of the pool;
//!   `net list` per user; `check`. Each refusal: one line, nothing
//!   created, audited.
//! - `sixteen_concurrent_creates`: four users race four creates each.
//! - `isolation_lifecycle_and_delete_{nftables,iptables}`: veth guests with
//!   real DHCP on two users' networks and an admin one; owner-only
//!   attach/delete; subnet and lease across an idle teardown; delete leaves
//!   nothing behind (links, iptables-save, nft list ruleset, files, record),
//!   with other networks up and after all are gone; per firewall backend.

mod common;

use common::{expect, expect_all, expect_contains, expect_true, Run, Sandbox};
use std::time::Duration;

fn run(test: &str, script: &str, deadline: u64) -> Option<Run> {
    if !common::have_root(test) {
        return None;
    }
    let r = Sandbox::new(test, &format!("usernet/{script}.sh"))
        .deadline(Duration::from_secs(deadline))
        .run()
        .ok();
    for l in r.stdout.lines().filter(|l| l.starts_with("T_")) {
        eprintln!("{test}: {l}");
    }
    Some(r)
}

/// LABEL (an `un_net` case) was refused: status 1, nothing on stdout, one
/// line on stderr starting "vnet-helper: "; returns that line.
#[track_caller]
fn refused(r: &Run, label: &str) -> String {
    expect_all(
        r,
        &[
            (&format!("{label}_RC") as &str, "1"),
            (&format!("{label}_OUT_ALL"), ""),
            (&format!("{label}_ERR_LINES"), "1"),
        ],
    );
    let e = r.value(&format!("{label}_ERR"));
    expect_true(
        r,
        e.starts_with("vnet-helper: "),
        &format!("{label}: {e:?} does not start with `vnet-helper: '"),
    );
    e
}

/// Refused with exactly `line`.
#[track_caller]
fn refused_exactly(r: &Run, label: &str, line: &str) {
    let e = refused(r, label);
    expect_true(
        r,
        e == line,
        &format!("{label}: refusal {e:?}, expected {line:?}"),
    );
}

/// Refused with a line that contains every one of `needles`.
#[track_caller]
fn refused_saying(r: &Run, label: &str, needles: &[&str]) {
    let e = refused(r, label);
    for n in needles {
        expect_true(
            r,
            e.contains(n),
            &format!("{label}: refusal {e:?} does not contain {n:?}"),
        );
    }
}

/// LABEL succeeded with the exact first line `created NAME (MODE) for USER:
/// gateway P.1/24, DHCP P.2-P.254`; returns P (the /24's first three octets).
#[track_caller]
fn created(r: &Run, label: &str, name: &str, mode: &str, user: &str) -> String {
    expect_all(
        r,
        &[
            (&format!("{label}_RC") as &str, "0"),
            (&format!("{label}_ERR"), ""),
        ],
    );
    let line = r.value(&format!("{label}_OUT"));
    let head = format!("created {name} ({mode}) for {user}: gateway ");
    let p = line
        .strip_prefix(&head)
        .and_then(|rest| rest.split_once(".1/24, DHCP "))
        .map(|(p, _)| p.to_string())
        .unwrap_or_default();
    let want = format!("{head}{p}.1/24, DHCP {p}.2-{p}.254");
    expect_true(
        r,
        !p.is_empty() && line == want,
        &format!("{label}: first line {line:?}, expected the shape {want:?}"),
    );
    p
}

/// The third octet of P (from `created`).
fn third(p: &str) -> u8 {
    p.rsplit('.')
        .next()
        .and_then(|o| o.parse().ok())
        .unwrap_or(255)
}

#[test]
fn user_nat_network_with_a_real_guest() {
    const TEST: &str = "user_nat_network_with_a_real_guest";
    let Some(r) = run(TEST, "real_guest", 400) else {
        return;
    };
    // no bridge.conf: user networks do not need it
    expect(&r, "ACL_PRESENT", "no");
    let p = created(&r, "CREATE", "vu-lab", "nat", "alice");
    expect_true(
        &r,
        p.starts_with("10.240."),
        &format!("vu-lab's subnet {p}.0/24 is not in the pool 10.240.0.0/16"),
    );
    // the usage line names the helper by its own path; nothing is up yet
    expect(
        &r,
        "NIC_OPTION",
        "bridge,br=vu-lab,helper=/run/vh/vnet-helper",
    );
    expect(&r, "AFTER_CREATE_BRIDGE", "no");
    // the first attach (QEMU as alice) brings it up
    r.value("T_COLD_ATTACH_WHOLE");
    expect(&r, "QEMU_USER", "alice");
    expect_all(
        &r,
        &[
            ("LIST_STATE", "up"),
            ("LIST_NTAPS", "1"),
            ("LIST_SUBNET", &format!("{p}.0/24")),
            ("LIST_GATEWAY", &format!("{p}.1")),
            ("LIST_MODE", "nat"),
        ],
    );
    // the guest: a lease in the subnet, the gateway, the upstream through NAT
    let ip = r.value("G_IP");
    expect_true(
        &r,
        ip.strip_prefix(&format!("{p}."))
            .and_then(|n| n.parse::<u8>().ok())
            .is_some_and(|n| (2..=254).contains(&n)),
        &format!("the guest's lease {ip} is not in {p}.2-254"),
    );
    expect_all(
        &r,
        &[
            ("G_ROUTER", &format!("{p}.1")),
            ("G_PING_GW", "3"),
            ("G_TCP_UPSTREAM", "hello-upstream"),
            ("UPSTREAM_PEERS", "198.51.100.2"),
            ("LEASED", &ip),
            ("IDLE_DOWN", "yes"),
        ],
    );
}

#[test]
fn auto_create_through_libvirt_session() {
    const TEST: &str = "auto_create_through_libvirt_session";
    let Some(r) = run(TEST, "libvirt_auto_create", 400) else {
        return;
    };
    expect_all(
        &r,
        &[
            ("ACL_PRESENT", "no"),
            ("BEFORE_BRIDGE", "no"),
            ("RECORD", "yes"),
            ("TAP_MASTER", "va-lv"),
            ("LV_OWNER", "vhuser 4242"),
            ("LV_MODE", "nat"),
            ("G_PING_GW", "3"),
            ("IDLE_DOWN", "yes"),
            ("RECORD_KEPT", "yes"),
            ("LEFT_PROCS", ""),
        ],
    );
    let gw = r.value("LV_GATEWAY");
    expect_true(
        &r,
        gw.starts_with("10.243.") && gw.ends_with(".1"),
        &format!("va-lv's gateway {gw} is not a .1 in 10.243.0.0/16"),
    );
    expect(&r, "G_ROUTER", &gw);
    let ip = r.value("G_IP");
    let net = gw.trim_end_matches('1');
    expect_true(
        &r,
        ip.starts_with(net) && ip != gw,
        &format!("the guest's lease {ip} is not in va-lv's subnet {net}0/24"),
    );
}

#[test]
fn policy_refusals_auto_create_and_list() {
    const TEST: &str = "policy_refusals_auto_create_and_list";
    let Some(r) = run(TEST, "policy", 300) else {
        return;
    };
    // refused before any work: nothing at all changed, not even /run/vnet-helper
    refused_saying(&r, "NONMEMBER", &["member", "`vu-'"]);
    let no_pool = |n: &str| {
        format!("vnet-helper: no pool of user networks has a prefix that `{n}' starts with")
    };
    refused_exactly(&r, "NOPREFIX", &no_pool("lab"));
    refused_exactly(&r, "ETH0", &no_pool("eth0"));
    refused_saying(&r, "SLASH", &["vu-a/b"]);
    refused_saying(&r, "LONG16", &["vu-0123456789abc"]);
    refused_saying(&r, "PLUS", &["vu-a+b"]);
    refused(&r, "DOTDOT");
    refused_saying(&r, "MODE", &["routed"]);
    refused_saying(&r, "BADMODE", &["bogus"]);
    refused_saying(&r, "IPV6", &["ipv6"]);
    refused(&r, "FWD_OFF");
    refused_saying(&r, "FWD_LOW", &["tcp:80:.10:80"]);
    refused_saying(&r, "FWD_OUT", &["tcp:30000:.10:80"]);
    refused_saying(&r, "FWD_SPAN", &["20090-20110"]);
    refused_saying(&r, "FWD_NONMEMBER", &["member"]);
    expect(&r, "PRE_SAME", "same");
    expect(&r, "PRE_RUN_TOP", "no");
    for l in [
        "NONMEMBER",
        "NOPREFIX",
        "ETH0",
        "SLASH",
        "LONG16",
        "PLUS",
        "MODE",
        "IPV6",
        "FWD_OFF",
        "FWD_LOW",
        "FWD_OUT",
        "FWD_NONMEMBER",
    ] {
        expect(&r, &format!("{l}_AUDITED"), "yes");
    }

    // created: not in 10.240.0-2.0/24 (host address, host route, admin network)
    let lab = created(&r, "LAB", "vu-lab", "nat", "alice");
    let bob = created(&r, "BOB", "vu-bob", "nat", "bob");
    let lab2 = created(&r, "LAB2", "vu-lab2", "nat", "alice");
    for p in [&lab, &bob, &lab2] {
        expect_true(
            &r,
            p.starts_with("10.240.") && third(p) > 2,
            &format!("subnet {p}.0/24 overlaps the host's address, route or vu-admin"),
        );
    }
    expect_true(
        &r,
        lab != bob && lab != lab2 && bob != lab2,
        "two networks got the same subnet",
    );
    expect_all(
        &r,
        &[
            ("LAB_RECORD", "root:root 644"),
            ("LAB_BRIDGE", "no"),
            ("LAB_AUDITED", "yes"),
        ],
    );

    // membership: the caller's groups as the kernel sees them, not /etc/group
    expect_all(
        &r,
        &[
            ("DAVE_NOGROUPS_RC", "1"),
            (
                "DAVE_NOGROUPS_ERR",
                "vnet-helper: you (uid 4245) are not a member of pool `vu-' (see /etc/vnet-helper/user-networks.toml)",
            ),
            ("DAVE_NOGROUPS_LEFT", ""),
            ("CAROL_GROUP_RC", "0"),
            ("CAROL_DELETE_RC", "0"),
            ("CAROL_DELETE_OUT_ALL", "deleted vu-carolg"),
            ("CAROL_LEFT", ""),
        ],
    );
    expect_contains(&r, "CAROL_GROUP_OUT", "created vu-carolg (nat) for carol: ");

    // refused under the lock: collisions and the quota; nothing changed
    refused_saying(&r, "TAKEN", &["vu-taken", "interface"]);
    refused_saying(&r, "ADMIN", &["vu-admin"]);
    refused_saying(&r, "OTHERS", &["vu-bob"]);
    refused_saying(&r, "OTHERS2", &["vu-lab"]);
    refused_saying(
        &r,
        "QUOTA",
        &["you have 2 networks in pool `vu-' (max-per-user 2)"],
    );
    expect_all(
        &r,
        &[
            ("LOCKED_SAME", "same"),
            ("TAKEN_KIND", "veth"),
            ("ADMIN_DEF", "yes"),
            ("ADMIN_RECORD", "no"),
        ],
    );
    for l in ["TAKEN", "ADMIN", "OTHERS", "OTHERS2", "QUOTA"] {
        expect(&r, &format!("{l}_AUDITED"), "yes");
    }

    // forwards: in range is fine and printed; the same host port twice or a
    // guest outside the subnet is not
    let web = created(&r, "WEB", "vf-web", "nat", "alice");
    expect_contains(&r, "WEB_OUT_ALL", "20080");
    expect_contains(&r, "WEB_OUT_ALL", &format!("{web}.10"));
    refused_saying(&r, "WEB2", &["20080"]);
    refused_saying(&r, "WEB3", &["10.9.9.9"]);
    expect(&r, "WEB2_LEFT", "");
    expect(&r, "WEB3_LEFT", "");

    // a pool of two /24s: the third create finds none
    let s1 = created(&r, "S1", "vs-1", "nat", "alice");
    let s2 = created(&r, "S2", "vs-2", "nat", "bob");
    let mut s = [s1, s2];
    s.sort();
    expect_true(
        &r,
        s == ["10.242.0", "10.242.1"],
        &format!("vs- networks got {s:?}"),
    );
    refused_saying(&r, "S3", &["pool `vs-' has no free /24 left"]);
    expect(&r, "S3_LEFT", "");

    // IPv6: a /64 each from the pool's /48, on the bridge once it is up;
    // the isolated mode as asked
    created(&r, "V6A", "v6-a", "nat", "alice");
    created(&r, "V6B", "v6-b", "isolated", "alice");
    let v6 = |label: &str| {
        let all = r.value(&format!("{label}_OUT_ALL"));
        all.split(" | ")
            .find_map(|l| l.strip_prefix("IPv6: "))
            .and_then(|l| l.split(' ').next())
            .unwrap_or_default()
            .to_string()
    };
    let (a6, b6) = (v6("V6A"), v6("V6B"));
    for x in [&a6, &b6] {
        let addr = x
            .strip_suffix("/64")
            .and_then(|a| a.parse::<std::net::Ipv6Addr>().ok());
        expect_true(
            &r,
            addr.is_some_and(|a| {
                let s = a.segments();
                s[..2] == [0xfd42, 0xab] && s[4..] == [0, 0, 0, 1]
            }),
            &format!("IPv6 gateway {x:?} is not a ::1/64 in fd42:ab::/48"),
        );
    }
    expect_true(&r, a6 != b6, &format!("both got {a6}"));
    expect(&r, "V6A_BRIDGE_V6", &a6);

    // auto-create from a bare attach: alice's network, a real DHCP lease on it
    expect_all(
        &r,
        &[
            ("AUTO_TAP_MASTER", "va-auto"),
            ("AUTO_RECORD", "yes"),
            ("AUTO_AUDITED", "yes"),
            ("AUTO_OWNER", "['alice']"),
        ],
    );
    let gw = r.value("AUTO_GW");
    let prefix = gw.trim_end_matches("1/24");
    expect_true(
        &r,
        gw.starts_with("10.243.") && gw.ends_with(".1/24"),
        &format!("va-auto's address {gw}"),
    );
    let lease = r.value("AUTO_LEASE");
    expect_true(
        &r,
        lease.starts_with(prefix) && lease != format!("{prefix}1"),
        &format!("the veth guest's lease {lease:?} is not in {gw}"),
    );
    // someone else's: refused naming the owner; over the quota: refused;
    // not a member, or auto-create off: the drop-in path (bridge.conf says no)
    expect_all(
        &r,
        &[
            ("AUTO_OTHER_RC", "1"),
            ("AUTO_OTHER_GOT_FD", "no"),
            (
                "AUTO_OTHER_STDERR",
                "vnet-helper: network `va-auto' is a user network of alice: only its owner may attach",
            ),
            ("AUTO_OTHER_AUDITED", "yes"),
            ("AUTO_QUOTA_RC", "1"),
            ("AUTO_QUOTA_GOT_FD", "no"),
            ("AUTO_NONMEMBER_RC", "1"),
            (
                "AUTO_NONMEMBER_STDERR",
                "vnet-helper: access denied by acl file `/etc/qemu/bridge.conf' for bridge `va-carol': no allow rule matches it",
            ),
            ("AUTO_OFF_RC", "1"),
            (
                "AUTO_OFF_STDERR",
                "vnet-helper: access denied by acl file `/etc/qemu/bridge.conf' for bridge `vu-nope': no allow rule matches it",
            ),
            ("LEFT_va-more", ""),
            ("LEFT_va-carol", ""),
            ("LEFT_vu-nope", ""),
        ],
    );
    expect_contains(&r, "AUTO_QUOTA_STDERR", "max-per-user 1");

    // net list: one's own networks; nothing for a non-member; root all
    let alice = "v6-a v6-b va-auto vf-web vs-1 vu-lab vu-lab2";
    let bob = "vs-2 vu-bob";
    let all = "v6-a v6-b va-auto vf-web vs-1 vs-2 vu-bob vu-lab vu-lab2";
    expect_all(
        &r,
        &[
            ("LIST_alice_RC", "0"),
            ("LIST_alice_NAMES", alice),
            ("JSON_alice_NAMES", alice),
            ("LIST_bob_NAMES", bob),
            ("JSON_bob_NAMES", bob),
            ("LIST_carol_RC", "0"),
            ("LIST_carol_NAMES", ""),
            ("JSON_carol_RC", "0"),
            ("JSON_carol_OUT_ALL", "[]"),
            ("LIST_root_NAMES", all),
            ("JSON_root_NAMES", all),
            ("JSON_KEYS", "ok"),
            ("J_vu-lab", "alice 4242 vu- nat down None"),
            ("J_vu-bob", "bob 4243 vu- nat down None"),
            ("J_vf-web", "alice 4242 vf- nat down None"),
            ("J_vf-web_FORWARDS", "1"),
            ("JSON_DISTINCT", "yes"),
        ],
    );

    // a member no more: the record stays, the attach is refused
    expect_all(
        &r,
        &[
            ("REVOKED_RC", "1"),
            ("REVOKED_GOT_FD", "no"),
            (
                "REVOKED_STDERR",
                "vnet-helper: network `vu-bob': you are no longer a member of pool `vu-'",
            ),
            ("REVOKED_BRIDGE", "no"),
            ("REVOKED_RECORD", "yes"),
        ],
    );

    // check (it writes to stderr): the note on bridge.conf; the pool around
    // the admin network vu-admin is a warning, not a problem (creates work
    // around it, as above). An unknown key is named with file and line, and
    // nobody can create while the policy is broken.
    expect(&r, "CHECK_RC", "0");
    expect_contains(
        &r,
        "CHECK_ERR",
        "note: user networks do not need /etc/qemu/bridge.conf",
    );
    expect_contains(
        &r,
        "CHECK_ERR",
        "`subnets': 10.240.0.0/16 overlaps network `vu-admin'",
    );
    expect_true(
        &r,
        !r.value("CHECK_ERR").contains("problem(s) found"),
        "check counted the pool around an admin network as a problem",
    );
    expect(&r, "CHECK_BAD_RC", "1");
    let bad = format!(
        "/etc/vnet-helper/user-networks.toml:{}: unknown key `bogus-key'",
        r.value("BAD_LINE")
    );
    expect_contains(&r, "CHECK_BAD_ERR", &bad);
    refused_exactly(&r, "CREATE_BAD", &format!("vnet-helper: {bad}"));
}

#[test]
fn sixteen_concurrent_creates() {
    const TEST: &str = "sixteen_concurrent_creates";
    let Some(r) = run(TEST, "concurrent_creates", 120) else {
        return;
    };
    expect_all(
        &r,
        &[
            ("CREATED", "12"),
            ("QUOTA_REFUSED", "4"),
            ("OTHER_REFUSED", "0"),
            ("RECORDS", "12"),
            ("LISTED", "12"),
            ("DISTINCT_NAMES", "12"),
            ("DISTINCT_SUBNETS", "12"),
            ("OVERLAPS", "0"),
            ("IN_POOL", "12"),
            ("PER_alice", "3"),
            ("PER_bob", "3"),
            ("PER_carol", "3"),
            ("PER_dave", "3"),
            ("NAME_OWNER_MATCH", "12"),
            ("SEES_alice", "alice alice alice"),
            ("SEES_bob", "bob bob bob"),
            ("SEES_carol", "carol carol carol"),
            ("SEES_dave", "dave dave dave"),
            // created, not brought up
            ("BRIDGES", "0"),
        ],
    );
}

#[test]
fn isolation_lifecycle_and_delete_nftables() {
    isolation_lifecycle_and_delete("isolation_lifecycle_and_delete_nftables", "nftables");
}

#[test]
fn isolation_lifecycle_and_delete_iptables() {
    isolation_lifecycle_and_delete("isolation_lifecycle_and_delete_iptables", "iptables");
}

fn isolation_lifecycle_and_delete(test: &str, backend: &str) {
    if !common::have_root(test) {
        return;
    }
    let r = Sandbox::new(test, "usernet/lifecycle.sh")
        .arg(backend)
        .deadline(Duration::from_secs(300))
        .run()
        .ok();
    expect(&r, "BACKEND", backend);
    let a = created(&r, "CREATE_A", "vu-a", "nat", "alice");
    let b = created(&r, "CREATE_B", "vu-b", "nat", "bob");
    expect_all(
        &r,
        &[
            ("GW_A", &format!("{a}.1")),
            ("GW_B", &format!("{b}.1")),
            ("WHOLE_A", "yes"),
        ],
    );
    for (k, p) in [
        ("IP_A", &a),
        ("IP_B", &b),
        ("IP_0", &"10.200.0".to_string()),
    ] {
        let ip = r.value(k);
        expect_true(
            &r,
            ip.starts_with(&format!("{p}.")) && !ip.ends_with(".1"),
            &format!("{k} {ip:?} is not a guest address in {p}.0/24"),
        );
    }
    // each reaches its own gateway, never another network's guest
    expect_all(
        &r,
        &[
            ("PING_A_GW", "ok"),
            ("PING_B_GW", "ok"),
            ("PING_0_GW", "ok"),
            ("PING_A_B", "fails"),
            ("PING_B_A", "fails"),
            ("PING_A_0", "fails"),
            ("PING_0_A", "fails"),
            ("PING_B_0", "fails"),
            ("PING_0_B", "fails"),
        ],
    );
    // a network created, brought up and deleted while the others run:
    // nothing of it is left, the whole ruleset is as before
    created(&r, "CREATE_C", "vu-c", "nat", "alice");
    expect_all(
        &r,
        &[
            ("C_WHOLE", "yes"),
            ("DELETE_C_RC", "0"),
            ("DELETE_C_OUT_ALL", "deleted vu-c"),
            ("C_LEFT", ""),
            ("C_SAME_SORTED", "same"),
        ],
    );
    // with nftables, byte for byte; iptables re-appends the other networks'
    // jumps when a network is created or deleted (the same rules, in another
    // order among our own)
    if backend == "nftables" {
        expect(&r, "C_SAME", "same");
    }
    // alice's list while up: hers only, with its tap and the guest's lease
    let ip_a = r.value("IP_A");
    expect_all(
        &r,
        &[
            ("LA_COUNT", "1"),
            ("LA_NAME", "vu-a"),
            ("LA_OWNER", "alice 4242"),
            ("LA_STATE", "up"),
            // the veth guest is a port too
            ("LA_TAPS", &format!("{} vg-ga", r.value("TAP_A"))),
            ("LA_LEASES", &format!("52:54:00:a0:00:0a {ip_a}")),
            ("LA_GATEWAY", &format!("{a}.1")),
            ("STATUS_OWNER_A", "1"),
            ("STATUS_OWNER_B", "1"),
        ],
    );
    // bob can neither attach to nor delete alice's network; alice cannot
    // delete it while it is in use, --force is root's
    expect_all(
        &r,
        &[
            ("BOB_ATTACH_RC", "1"),
            ("BOB_ATTACH_GOT_FD", "no"),
            (
                "BOB_ATTACH_STDERR",
                "vnet-helper: network `vu-a' is a user network of alice: only its owner may attach",
            ),
            ("BOB_ATTACH_AUDITED", "yes"),
        ],
    );
    refused_exactly(
        &r,
        "BOB_DELETE",
        "vnet-helper: network `vu-a' belongs to alice: only its owner or root may delete it",
    );
    refused_saying(&r, "A_DELETE_IN_USE", &["vu-a", "in use by 2 taps"]);
    refused_saying(&r, "A_DELETE_FORCE", &["--force"]);
    expect_all(
        &r,
        &[
            ("AFTER_REFUSALS_PORTS", "2"), // tap and veth guest
            ("AFTER_REFUSALS_WHOLE", "yes"),
        ],
    );
    // idle teardown keeps the record and the lease; the next attach brings
    // back the same subnet, and the guest gets the same address
    expect_all(
        &r,
        &[
            ("IDLE_DOWN", "yes"),
            ("DOWN_RECORD", "yes"),
            ("DOWN_LEASE_FILE", "1"),
            ("LIST_DOWN_STATE", "down"),
            ("GW_A_AGAIN", &format!("{a}.1")),
            ("IP_A_AGAIN", &ip_a),
            ("PING_A_GW_AGAIN", "ok"),
        ],
    );
    // root deletes it with --force while in use; bob deletes his own (up,
    // no taps): nothing is left, and at the end links, firewall and files
    // are exactly as before the networks were created
    expect_all(
        &r,
        &[
            ("ROOT_FORCE_RC", "0"),
            ("ROOT_FORCE_OUT_ALL", "deleted vu-a"),
            ("A_LEFT", ""),
            ("DELETE_AUDITED", "yes"),
            ("B_DELETE_RC", "0"),
            ("B_DELETE_OUT_ALL", "deleted vu-b"),
            ("B_LEFT", ""),
            ("LIST_AFTER_OUT_ALL", "[]"),
            ("VNET0_DOWN", "yes"),
            ("END_SAME", "same"),
            ("END_SAME_SORTED", "same"),
        ],
    );
}
