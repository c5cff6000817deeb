//! The admin and user commands: `status` (as the user and as root), `up` and
//! `down` (root only; down refuses attached taps without --force; up restores
//! damaged rules; down --force takes down a network whose definition was
//! deleted), `check` (every problem with file and line, and a bring-up
//! refuses the same), `mac`, and status on a stale isolation list.
//!
//! Every test runs tests/scripts/commands/TEST.sh in its own tests/sandbox.sh
//! and asserts on the KEY=VALUE lines it prints.

mod common;

use common::{expect, expect_contains, expect_true, Run, Sandbox};

fn run(test: &str) -> Option<Run> {
    if !common::have_root(test) {
        return None;
    }
    Some(
        Sandbox::new(test, &format!("commands/{test}.sh"))
            .run()
            .ok(),
    )
}

// ---------------------------------------------------------------------------
// 5. status, as the user and as root.

#[test]
fn status_as_user_and_root() {
    let Some(r) = run("status_as_user_and_root") else {
        return;
    };
    expect(&r, "DOWN_TEXT_RC", "0");
    expect(&r, "DOWN_TEXT", "1");
    expect(&r, "DOWN_COUNT", "1");
    expect(&r, "DOWN_UP", "False");
    expect(&r, "DOWN_BRIDGE", "False");
    expect(&r, "DOWN_DNSMASQ_PID", "None");
    expect(&r, "DOWN_TAPS", "");
    expect(&r, "HOLDER_UID", "4242");
    expect_contains(&r, "BOUND_IP", "10.200.0.");
    let tap = r.value("TAP");
    let holder = r.value("HOLDER");
    let dns = r.value("DNS");
    let ip = r.value("BOUND_IP");
    let now: u64 = r.value("NOW").parse().unwrap_or(0);
    expect_true(&r, !dns.is_empty(), "no dnsmasq pid");

    expect(&r, "USER_TEXT_RC", "0");
    expect(&r, "USER_TEXT_UP", "1");
    expect(&r, "USER_TEXT_BRIDGE", "1");
    expect(&r, "USER_TEXT_DNSMASQ", "1");
    expect(&r, "USER_TEXT_TAP", "1");
    expect(&r, "USER_TEXT_LEASE", "1");
    expect(&r, "USER_JSON_RC", "0");
    let mut taps = [tap.clone(), "vh1".to_string()];
    taps.sort();
    for p in ["USER_", "USER1_", "ROOT_"] {
        let k = |s: &str| format!("{p}{s}");
        expect(&r, &k("COUNT"), "1");
        expect(&r, &k("UP"), "True");
        expect(&r, &k("MODE"), "'nat'");
        expect(&r, &k("ADDRESS"), "'10.200.0.1/24'");
        expect(&r, &k("BRIDGE"), "True");
        expect(&r, &k("DNSMASQ_PID"), &dns);
        expect(&r, &k("TAPS"), &taps.join(","));
        let lease = r.value(&k("LEASE"));
        let f: Vec<&str> = lease.split(' ').collect();
        expect_true(
            &r,
            f.len() == 4 && f[..3] == ["52:54:00:aa:00:01", ip.as_str(), "guest1"],
            &format!("{p}LEASE={lease:?}, want 52:54:00:aa:00:01 {ip} guest1 EXPIRY"),
        );
        let expiry: u64 = f.get(3).and_then(|e| e.parse().ok()).unwrap_or(0);
        expect_true(
            &r,
            expiry > now && expiry <= now + 3700,
            &format!("{p}LEASE expiry {expiry} (now {now}, lease time 1 h)"),
        );
    }
    expect(&r, "USER_RULES_PRESENT", "None");
    expect(&r, "USER1_RULES_PRESENT", "None");
    expect(&r, "ROOT_RULES_PRESENT", "True");
    expect(&r, "ROOT_TEXT_RC", "0");
    expect(&r, "ROOT_TEXT_RULES", "1");
    expect(&r, "ROOT_TEXT_OWNER", "1");
    expect(&r, &format!("ROOT_OWNERS_{tap}"), &format!("{holder}:4242"));
}

// ---------------------------------------------------------------------------
// 6. up and down: root only; down refuses attached taps without --force; up
//    restores flushed rules.

#[test]
fn up_and_down_admin_commands() {
    let Some(r) = run("up_and_down_admin_commands") else {
        return;
    };
    for label in ["USER_UP_DOWNNET", "USER_DOWN", "USER_DOWN_FORCE", "USER_UP"] {
        expect(&r, &format!("{label}_RC"), "1");
        let msg = r.value(&format!("{label}_ERR"));
        expect_true(
            &r,
            msg.to_lowercase().contains("root"),
            &format!("{label}: message {msg:?} does not mention root"),
        );
    }
    expect(&r, "USER_UP_CHANGED", "no");
    expect(&r, "USER_CHANGED", "no");
    expect(&r, "ROOT_UP_RC", "0");
    expect(&r, "ROOT_UP_WHOLE", "yes");
    expect(&r, "ROOT_UP_RULES", "True");
    let rc = r.value("ROOT_DOWN_RC");
    expect_true(&r, rc != "0", "down with a tap attached was not refused");
    expect_contains(&r, "ROOT_DOWN_ERR", "--force");
    expect(&r, "ROOT_DOWN_CHANGED", "no");
    expect(&r, "ROOT_DOWN_FORCE_RC", "0");
    expect(&r, "FORCE_GONE", "0");
    expect(&r, "FORCE_FW_SAME", "yes");
    expect(&r, "FORCE_NFT_SAME", "yes");
    expect(&r, "FORCE_LEASES_KEPT", "yes");
    expect(&r, "ROOT_UP2_RC", "0");
    expect(&r, "ROOT_UP2_WHOLE", "yes");
    expect(&r, "UP2_FW_SAME", "yes");
    for how in [
        "flush-chain",
        "forward-jump",
        "net-jump",
        "nat-jump",
        "reload",
    ] {
        // status (as root) must notice the damage, `up` must repair it
        // exactly, without restarting dnsmasq
        expect(&r, &format!("DAMAGED_{how}_RULES"), "False");
        expect(&r, &format!("REUP_{how}_RC"), "0");
        expect(&r, &format!("REUP_{how}_RULES"), "True");
        expect(&r, &format!("REUP_{how}_COMPLETE"), "yes");
        expect(&r, &format!("REUP_{how}_FW"), "same");
        expect(&r, &format!("REUP_{how}_DNSMASQ"), "kept");
    }
    expect(&r, "ROOT_DOWN2_RC", "0");
    expect(&r, "DOWN2_GONE", "yes");
    expect(&r, "DOWN2_FW_SAME", "yes");
}

/// A network up with a guest attached, its definition file then deleted (the
/// package's prerm runs `down --force` for each network on removal): `down`
/// refuses naming the file, `down --force` leaves nothing. Then only rules
/// and our bridge left, no definition and no runtime state: `down` names
/// them, `down --force` removes them, an admin's bridge of the name stays.
/// Both backends.
#[test]
fn down_force_after_definition_deleted() {
    let Some(r) = run("down_force_after_definition_deleted") else {
        return;
    };
    for p in ["IPT", "NFT"] {
        for (k, v) in [
            ("UP", "yes"),
            ("STATUS_UP", "1"),
            ("STATUS_SAYS", "1"),
            ("DOWN_RC", "1"),
            ("DOWN_NAMES_FILE", "1"),
            ("DOWN_SUGGESTS_FORCE", "1"),
            ("DOWN_CHANGED", "no"),
            ("FORCE_RC", "0"),
            ("GONE", "yes"),
            ("DNSMASQ_DEAD", "yes"),
            ("FW_SAME", "yes"),
            ("NFT_SAME", "yes"),
            ("AGAIN_RC", "1"),
            ("AGAIN_MSG", "1"),
            ("LEFT_RC", "1"),
            ("LEFT_SAYS", "1"),
            ("LEFT_CHANGED", "no"),
            ("LEFT_FORCE_RC", "0"),
            ("LEFT_BRIDGE", "no"),
            ("LEFT_FW_SAME", "yes"),
            ("LEFT_NFT_SAME", "yes"),
            ("FOREIGN_RC", "1"),
            ("FOREIGN_KEPT", "yes"),
        ] {
            expect(&r, &format!("{p}_{k}"), v);
        }
    }
}

// ---------------------------------------------------------------------------
// 7. check: every problem with file and line; exit 0 only if all is well.

#[test]
fn check_reports_every_problem_with_file_and_line() {
    let Some(r) = run("check_reports_every_problem_with_file_and_line") else {
        return;
    };
    expect(&r, "GOOD_ROOT_RC", "0");
    expect(&r, "GOOD_USER_RC", "0");
    for who in ["BAD_ROOT", "BAD_USER"] {
        expect(&r, &format!("{who}_RC"), "1");
        let key = format!("{who}_OUT");
        expect_contains(&r, &key, "/etc/qemu/bridge.conf:3");
        expect_contains(&r, &key, "/etc/qemu/extra.conf:2");
        expect_contains(&r, &key, "vn0.toml:2");
        let out = r.value(&key);
        expect_true(
            &r,
            !out.contains("vn1.toml"),
            &format!("{key}: the good definition is flagged: {out}"),
        );
        expect_true(
            &r,
            !out.contains("bridge.conf:1:")
                && !out.contains("bridge.conf:2:")
                && !out.contains("bridge.conf:4:"),
            &format!("{key}: a good ACL line is flagged: {out}"),
        );
    }
    expect(&r, "BRIDGES", "0");
    expect(&r, "UNREADABLE_ROOT_RC", "1");
    expect_contains(&r, "UNREADABLE_ROOT_OUT", "/etc/qemu/extra.conf:2");
    expect(&r, "UNREADABLE_USER_RC", "0");
    expect_contains(&r, "UNREADABLE_USER_OUT", "extra.conf");
    expect(&r, "ACL_ONLY_RC", "1");
    expect_contains(&r, "ACL_ONLY_OUT", "/etc/qemu/bridge.conf:2");
    expect(&r, "DEF_ONLY_RC", "1");
    expect_contains(&r, "DEF_ONLY_OUT", "vn0.toml:2");
    check_refuses_bad_features(&r);
}

/// Bad features of otherwise good definitions (part 2 of the check script):
/// (network, line of the error, a word the message must contain)
const BAD: [(&str, usize, &str); 5] = [
    ("badhost", 5, "outside"),
    ("badfwd", 6, "outside"),
    ("dupfwd", 11, "overlaps"),
    ("rangefwd", 8, "overlaps"),
    ("mcmac", 3, "multicast"),
];

/// `check` and bring-up refuse bad features, with file and line.
fn check_refuses_bad_features(r: &Run) {
    expect(r, "CHECK_RC", "1"); // check exits 1 on bad definitions
    expect(r, "CHECK_ROOT_RC", "1"); // as root too
    let check = r.values("CHECK");
    for (name, line, word) in BAD {
        let loc = format!("/etc/vnet-helper/networks/{name}.toml:{line}:");
        let msg = check
            .iter()
            .find_map(|l| l.find(&loc).map(|i| l[i..].to_string()))
            .unwrap_or_else(|| r.fail(&format!("check does not report {loc}")));
        expect_true(
            r,
            msg.contains(word),
            &format!("check's message for {name}: {msg:?} lacks {word:?}"),
        );
        expect_true(
            r,
            !check
                .iter()
                .any(|l| l.contains(&format!("{name}.toml:")) && !l.contains(&loc)),
            &format!("check reports {name} at another line than {line}"),
        );
        // bring-up: the same message, nothing created
        expect_true(
            r,
            r.value(&format!("CALL_{name}_RC")) != "0",
            &format!("helper call on {name} succeeded"),
        );
        expect(r, &format!("CALL_{name}_GOT_FD"), "no"); // no tap for a bad network
        let err = r.value(&format!("CALL_{name}_STDERR"));
        expect_true(
            r,
            err.contains(&msg),
            &format!("the helper's refusal of {name} is check's message {msg:?}; got {err:?}"),
        );
        expect_true(
            r,
            r.values(&format!("LEFT_{name}")).is_empty(),
            &format!(
                "a refused bring-up of {name} left {:?}",
                r.values(&format!("LEFT_{name}"))
            ),
        );
    }
    expect_true(
        r,
        !check.iter().any(|l| l.contains("okay.toml")),
        "check complains about the good definition",
    );
    expect_true(
        r,
        check
            .iter()
            .any(|l| l.contains(&format!("{} problem", BAD.len()))),
        &format!("check counts exactly {} problems", BAD.len()),
    );
    expect(r, "CHECK_SAME_AS_ROOT", "yes"); // the same as the user and as root
    expect(r, "TAPS", "0"); // no tap left
    expect(r, "DNSMASQS", "0"); // no dnsmasq started
    expect(r, "FIREWALL_UNCHANGED", "yes"); // no firewall change from refused networks
    expect(r, "CALL_okay_RC", "0"); // the good network next to them comes up
    expect(r, "CALL_okay_GOT_FD", "yes"); // and gives a tap
}

// ---------------------------------------------------------------------------
// 8. mac: stable per seed, random without one, the same through the setuid
//    copy as the user and as root.

/// 52:54:00:xx:xx:xx, lowercase, unicast
fn mac_ok(m: &str) -> bool {
    let parts: Vec<&str> = m.split(':').collect();
    m.len() == 17
        && parts.len() == 6
        && parts.iter().all(|p| {
            p.len() == 2
                && p.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
        && m.starts_with("52:54:00:")
        && u8::from_str_radix(parts[0], 16).is_ok_and(|b| b & 1 == 0)
}

/// `vnet-helper mac ARGS` run directly (no sandbox, no root needed).
fn mac_of(args: &[&str]) -> String {
    let out = std::process::Command::new(common::helper_binary())
        .arg("mac")
        .args(args)
        .output()
        .expect("running vnet-helper mac");
    assert!(out.status.success(), "vnet-helper mac {args:?}: {out:?}");
    assert!(
        out.stderr.is_empty(),
        "vnet-helper mac {args:?} wrote to stderr: {out:?}"
    );
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(
        s.ends_with('\n') && s.lines().count() == 1,
        "one line: {s:?}"
    );
    s.trim_end().to_string()
}

#[test]
fn mac_command() {
    // the binary itself, as whoever runs the tests
    let a = mac_of(&["vm1"]);
    assert!(
        mac_ok(&a),
        "`mac vm1` = {a}: 52:54:00:xx:xx:xx, lowercase, unicast"
    );
    for _ in 0..3 {
        assert_eq!(mac_of(&["vm1"]), a, "`mac vm1` is stable");
    }
    let b = mac_of(&["vm2"]);
    assert!(mac_ok(&b), "`mac vm2` = {b}");
    assert_ne!(a, b, "different seeds, different MACs");
    let r1 = mac_of(&[]);
    let r2 = mac_of(&[]);
    assert!(mac_ok(&r1) && mac_ok(&r2), "random MACs {r1} {r2}");
    assert_ne!(
        r1, r2,
        "two random MACs differ (1 in 16M chance of a false failure)"
    );
    // through the setuid copy, as the unprivileged user and as root
    let Some(r) = run("mac_command") else {
        return;
    };
    for k in ["WEB1", "WEB2", "WEB_ROOT", "DB", "RAND1", "RAND2", "MAC"] {
        let m = r.value(k);
        expect_true(
            &r,
            mac_ok(&m),
            &format!("{k}={m:?} is not 52:54:00:xx:xx:xx"),
        );
    }
    let v = |k: &str| r.value(k);
    expect_true(&r, v("WEB1") == v("WEB2"), "same seed, different MACs");
    expect_true(
        &r,
        v("WEB1") == v("WEB_ROOT"),
        "same seed, different MAC for root",
    );
    expect_true(&r, v("WEB1") != v("DB"), "different seeds, same MAC");
    expect_true(
        &r,
        v("RAND1") != v("RAND2"),
        "two random MACs are equal (1 in 16 million)",
    );
    expect_true(
        &r,
        v("TWO_SEEDS_RC") != "0",
        "mac with two seeds was accepted",
    );
    // setuid `mac vm1` as a user gives the same MAC
    expect(&r, "MAC", &a);
}

// ---------------------------------------------------------------------------
// status when a network's isolation list is out of date.

#[test]
fn status_says_isolation_list_is_stale() {
    let Some(r) = run("status_says_isolation_list_is_stale") else {
        return;
    };
    expect(&r, "RULES_UP", "present");
    expect(
        &r,
        "RULES_NEW_PEER",
        "present; isolation list stale: not yet isolated from vn2 (`vnet-helper up vn1` refreshes it)",
    );
    expect(&r, "JSON_PRESENT_NEW_PEER", "True");
    expect(&r, "JSON_STALE_NEW_PEER", "True");
    expect(&r, "RULES_REFRESHED", "present");
    expect(&r, "JSON_STALE_REFRESHED", "False");
    expect(
        &r,
        "RULES_PEER_GONE",
        "present; isolation list stale: still isolated from vn2 (no longer defined) (`vnet-helper up vn1` refreshes it)",
    );
    expect(
        &r,
        "RULES_DAMAGED",
        "MISSING (run `vnet-helper up vn1` to restore)",
    );
}
