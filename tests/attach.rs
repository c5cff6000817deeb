//! The helper as a drop-in qemu-bridge-helper: the protocol, refusals and
//! hostile callers. Each test runs tests/scripts/attach/TEST.sh in
//! tests/sandbox.sh; the script calls the setuid helper as uid 4242 exactly
//! like QEMU does (tests/tools/fake_qemu.py via `call` in tests/lib/attach.sh)
//! and prints each case's results as LABEL.KEY=VALUE; the table of what each
//! case must give (granted, or refused with a message) is here. Two tests boot
//! a real QEMU and guest on a plain bridge.
//!
//! `VH_TEST_HELPER=ref cargo test --test attach` runs the same checks against
//! the reference /usr/lib/qemu/qemu-bridge-helper ($REF) to validate the tests
//! themselves; cases where we are deliberately stricter than the reference
//! (marked `ours`, `call_ours` in the scripts) are skipped then
//! (`VH_TEST_HELPER=ref-all` runs them too, to show what the reference gets
//! wrong).

mod common;

use common::{expect, expect_true, Run, Sandbox};

fn against_ref() -> bool {
    std::env::var("VH_TEST_HELPER").is_ok_and(|v| v == "ref" || v == "ref-all")
}

fn skip_ours_only() -> bool {
    std::env::var("VH_TEST_HELPER").is_ok_and(|v| v == "ref")
}

/// False (after saying so) when the test checks hardening the reference lacks.
fn ours_only(test: &str) -> bool {
    if skip_ours_only() {
        eprintln!(
            "{test}: skipped under VH_TEST_HELPER=ref (qemu-bridge-helper is more lenient here)"
        );
        return false;
    }
    true
}

/// Run tests/scripts/attach/TEST.sh (with ARGS) against the helper under test.
fn script(test: &str, args: &[&str]) -> Run {
    let mut s = Sandbox::new(test, &format!("attach/{test}.sh"));
    for a in args {
        s = s.arg(*a);
    }
    if against_ref() {
        s = s.env("USE_REF", "1");
    }
    if skip_ours_only() {
        s = s.env("SKIP_OURS", "1");
    }
    s.run()
}

#[derive(Clone, Copy)]
enum Want {
    /// exit 0, an fd came back, the kernel named the tap tapN, silent.
    Granted,
    /// exit 1, no fd, one stderr line containing this ("" = anything).
    Refused(&'static str),
}
use Want::*;

/// One `call LABEL ...` of a script, and what it must give.
struct Case {
    label: &'static str,
    want: Want,
    /// Stricter than qemu-bridge-helper: not checked under VH_TEST_HELPER=ref.
    ours_only: bool,
}

const fn case(label: &'static str, want: Want) -> Case {
    Case {
        label,
        want,
        ours_only: false,
    }
}
/// A `call_ours` case: stricter than qemu-bridge-helper.
const fn ours(label: &'static str, want: Want) -> Case {
    Case {
        label,
        want,
        ours_only: true,
    }
}

fn get(r: &Run, label: &str, key: &str) -> Option<String> {
    let v = r.values(&format!("{label}.{key}"));
    if v.len() == 1 {
        Some(v[0].trim().to_string())
    } else {
        None
    }
}

fn case_lines(r: &Run, label: &str) -> String {
    let p = format!("{label}.");
    r.stdout
        .lines()
        .filter(|l| l.starts_with(&p))
        .collect::<Vec<_>>()
        .join("\n    ")
}

/// Check one call's results; returns a description of what is wrong.
fn check(r: &Run, label: &str, want: Want) -> Vec<String> {
    let mut bad = Vec::new();
    let g = |k: &str| get(r, label, k).unwrap_or_else(|| format!("<no {k}>"));
    if !g("LEFT").is_empty() {
        bad.push(format!("tap devices left after the call: {}", g("LEFT")));
    }
    match want {
        Granted => {
            if g("RC") != "0" {
                bad.push(format!("exit status {} (want 0)", g("RC")));
            }
            if g("GOT_FD") != "yes" {
                bad.push("no fd received".into());
            }
            let tap = g("TAP");
            if !(tap.starts_with("tap")
                && tap.len() > 3
                && tap[3..].bytes().all(|b| b.is_ascii_digit()))
            {
                bad.push(format!(
                    "received fd is not a tapN device: TAP={tap:?} {}",
                    g("TUN_ERR")
                ));
            }
            if g("STDERR_LINES") != "0" {
                bad.push(format!("unexpected output: {:?}", g("STDERR")));
            }
        }
        Refused(msg) => {
            if g("RC") != "1" {
                bad.push(format!("exit status {} (want 1)", g("RC")));
            }
            if g("GOT_FD") != "no" {
                bad.push("an fd was sent anyway".into());
            }
            if g("STDERR_LINES") != "1" {
                bad.push(format!(
                    "want exactly one line on stderr, got {}: {:?}",
                    g("STDERR_LINES"),
                    g("STDERR")
                ));
            }
            if !g("STDERR").contains(msg) {
                bad.push(format!("stderr {:?} does not contain {msg:?}", g("STDERR")));
            }
        }
    }
    bad
}

/// Panic listing every failed case, with the whole transcript.
fn verdict(r: &Run, failures: Vec<String>) {
    if !failures.is_empty() {
        r.fail(&format!(
            "{} failed case(s):\n{}",
            failures.len(),
            failures.join("\n")
        ));
    }
}

fn fail_case(r: &Run, label: &str, what: &[String]) -> String {
    format!(
        "[{label}] {}\n    {}",
        what.join("; "),
        case_lines(r, label)
    )
}

/// Run tests/scripts/attach/TEST.sh with ARGS, and check every applicable case.
fn run_cases(test: &str, args: &[&str], cases: &[Case]) -> Run {
    let cases: Vec<&Case> = cases
        .iter()
        .filter(|c| !(c.ours_only && skip_ours_only()))
        .collect();
    let r = script(test, args);
    if r.status != 0 {
        verdict(&r, vec![format!("script exited {}", r.status)]);
    }
    let mut failures = Vec::new();
    for c in &cases {
        let bad = check(&r, c.label, c.want);
        if !bad.is_empty() {
            failures.push(fail_case(&r, c.label, &bad));
        }
    }
    verdict(&r, failures);
    r
}

/// Extra per-case expectations: KEY must equal VALUE.
fn expect_eq(r: &Run, pairs: &[(&str, &str, &str)]) {
    let mut failures = Vec::new();
    for (label, key, want) in pairs {
        let got = get(r, label, key);
        if got.as_deref() != Some(*want) {
            failures.push(fail_case(
                r,
                label,
                &[format!("{key}={got:?}, want {want:?}")],
            ));
        }
    }
    verdict(r, failures);
}

// ---------------------------------------------------------------- the tap

#[test]
fn tap_with_vnet_header_is_enslaved_up_and_works() {
    if !common::have_root("tap_with_vnet_header_is_enslaved_up_and_works") {
        return;
    }
    let r = run_cases(
        "tap_with_vnet_header_is_enslaved_up_and_works",
        &[],
        &[case("vnet", Granted)],
    );
    expect_eq(
        &r,
        &[
            ("vnet", "VNET_HDR", "yes"),
            ("vnet", "MASTER", "br0"),
            ("vnet", "UP", "1"),
            // the host's IPv6 stays on a drop-in tap, as with
            // qemu-bridge-helper (a managed network's taps have it off)
            ("vnet", "HOST_IPV6_OFF", "0"),
            ("vnet", "TUNS", "1"),
            ("vnet", "MTU", "1500"),
            ("vnet", "PROBE", "ok"),
            ("vnet", "RX", "1"),
            ("vnet", "HOLD_RC", "0"),
        ],
    );
    let mac = get(&r, "vnet", "MAC").unwrap_or_default();
    assert!(
        mac.len() == 17 && mac.starts_with("fe:"),
        "tap MAC {mac:?} must keep the kernel's address with the first byte 0xfe\n{}",
        r.stdout
    );
}

#[test]
fn tap_without_vnet_header() {
    if !common::have_root("tap_without_vnet_header") {
        return;
    }
    let r = run_cases("tap_without_vnet_header", &[], &[case("novnet", Granted)]);
    expect_eq(
        &r,
        &[
            ("novnet", "VNET_HDR", "no"),
            ("novnet", "MASTER", "br0"),
            ("novnet", "UP", "1"),
            ("novnet", "PROBE", "ok"),
            ("novnet", "RX", "1"),
        ],
    );
}

#[test]
fn mtu_is_copied_from_the_bridge() {
    if !common::have_root("mtu_is_copied_from_the_bridge") {
        return;
    }
    // br1 takes 1400 from its only port (a veth: this kernel has no dummy);
    // br0 is empty and set to 1280 by hand; br2 is a jumbo bridge.
    let r = run_cases(
        "mtu_is_copied_from_the_bridge",
        &[],
        &[
            case("m0", Granted),
            case("m1", Granted),
            case("m2", Granted),
        ],
    );
    assert_eq!(r.value("BRIDGE_MTUS"), "1280 1400 9000", "test setup");
    expect_eq(
        &r,
        &[
            ("m0", "MTU", "1280"),
            ("m0", "MASTER", "br0"),
            ("m1", "MTU", "1400"),
            ("m1", "MASTER", "br1"),
            ("m2", "MTU", "9000"),
            ("m2", "MASTER", "br2"),
        ],
    );
}

// ---------------------------------------------------------------- arguments

#[test]
fn argument_orders_of_qemu_and_libvirt() {
    if !common::have_root("argument_orders_of_qemu_and_libvirt") {
        return;
    }
    let r = run_cases(
        "argument_orders_of_qemu_and_libvirt",
        &[],
        &[
            case("qemu", Granted),
            case("libvirt", Granted),
            case("libvirt_novnet", Granted),
            case("vnet_last", Granted),
            case("fd_first", Granted),
            // caps cleared but CAP_NET_ADMIN, as libvirt does: must not matter
            case("as_root", Granted),
        ],
    );
    expect_eq(
        &r,
        &[
            ("qemu", "VNET_HDR", "yes"),
            ("libvirt", "VNET_HDR", "yes"),
            ("libvirt_novnet", "VNET_HDR", "no"),
            ("vnet_last", "VNET_HDR", "yes"),
            ("fd_first", "VNET_HDR", "yes"),
        ],
    );
}

#[test]
fn repeated_flags_last_one_wins() {
    if !common::have_root("repeated_flags_last_one_wins") {
        return;
    }
    let r = run_cases(
        "repeated_flags_last_one_wins",
        &[],
        &[
            case("br_last", Granted),
            // br1 exists but is not allowed: the later --br must be the one checked
            case("br_last_denied", Refused("access denied by acl file")),
            case("fd_last", Granted),
            case("fd_last_bad", Refused("")),
            case("vnet_twice", Granted),
        ],
    );
    expect_eq(
        &r,
        &[
            ("br_last", "MASTER", "br0"),
            ("vnet_twice", "VNET_HDR", "yes"),
        ],
    );
}

#[test]
fn helper_string_with_a_space_runs_through_sh() {
    if !common::have_root("helper_string_with_a_space_runs_through_sh") {
        return;
    }
    // QEMU: /bin/sh -c "<helper string> --use-vnet --fd=N [--br=BR]"
    let r = run_cases(
        "helper_string_with_a_space_runs_through_sh",
        &[],
        &[case("sh_br_in_string", Granted), case("sh_plain", Granted)],
    );
    expect_eq(
        &r,
        &[
            ("sh_br_in_string", "MASTER", "br1"),
            ("sh_br_in_string", "VNET_HDR", "yes"),
            ("sh_plain", "MASTER", "br0"),
        ],
    );
}

#[test]
fn usage_errors_are_refused() {
    if !common::have_root("usage_errors_are_refused") {
        return;
    }
    run_cases(
        "usage_errors_are_refused",
        &[],
        &[
            case("no_args", Refused("")),
            case("unknown_option", Refused("")),
            case("positional", Refused("")),
            case("no_fd", Refused("")),
            case("no_br", Refused("")),
            case("separate_values", Refused("")),
            case("vnet_with_value", Refused("")),
            // pkexec (CVE-2021-4034): exec'ed with argc == 0
            case("argc0", Refused("")),
        ],
    );
}

#[test]
fn help_and_version_exit_0() {
    if !common::have_root("help_and_version_exit_0") || !ours_only("help_and_version_exit_0") {
        return;
    }
    let r = script("help_and_version_exit_0", &[]).ok();
    expect_eq(
        &r,
        &[
            ("help", "RC", "0"),
            ("help", "GOT_FD", "no"),
            ("help", "LEFT", ""),
            ("version", "RC", "0"),
            ("version", "GOT_FD", "no"),
            ("version", "LEFT", ""),
        ],
    );
    let help = get(&r, "help", "STDERR").unwrap_or_default();
    assert!(
        help.contains("--br="),
        "--help should show the usage, got {help:?}"
    );
    let version = get(&r, "version", "STDERR").unwrap_or_default();
    assert!(
        version.contains(env!("CARGO_PKG_VERSION")),
        "--version should print {}, got {version:?}",
        env!("CARGO_PKG_VERSION")
    );
}

// ---------------------------------------------------------------- refusals

#[test]
fn acl_refusals() {
    if !common::have_root("acl_refusals") {
        return;
    }
    run_cases(
        "acl_refusals",
        &["lists"],
        &[
            case("not_listed", Refused("access denied by acl file")),
            case("deny_after_allow", Refused("access denied by acl file")),
            case("deny_before_allow", Refused("access denied by acl file")),
            case("whitespace_trimmed", Granted),
        ],
    );
    // deny all beats any allow; allow all; no file at all
    run_cases(
        "acl_refusals",
        &["deny_all"],
        &[case("deny_all", Refused("access denied by acl file"))],
    );
    run_cases(
        "acl_refusals",
        &["allow_all"],
        &[case("allow_all", Granted)],
    );
    run_cases(
        "acl_refusals",
        &["no_acl_file"],
        &[case("no_acl_file", Refused(""))],
    );
    // qemu-bridge-helper compares names as strings, but SIOCGIFMTU and
    // friends strip a ":alias" suffix: br0:1 would reach the denied br0
    run_cases(
        "acl_refusals",
        &["alias"],
        &[
            case("denied", Refused("access denied by acl file")),
            ours("alias_bypass", Refused("")),
            ours("alias_bypass_empty", Refused("")),
        ],
    );
}

#[test]
fn bridge_missing_or_not_a_bridge_or_too_long() {
    if !common::have_root("bridge_missing_or_not_a_bridge_or_too_long") {
        return;
    }
    // CVE-2019-13164: a 16-byte name must be refused even when its first 15
    // bytes name an allowed bridge; 15 bytes (IFNAMSIZ - 1) is fine.
    run_cases(
        "bridge_missing_or_not_a_bridge_or_too_long",
        &[],
        &[
            case("missing", Refused("")),
            case("not_a_bridge", Refused("")),
            case("len15", Granted),
            case("len16", Refused("too long")),
            case("len40", Refused("too long")),
        ],
    );
}

#[test]
fn bad_bridge_names_are_refused() {
    if !common::have_root("bad_bridge_names_are_refused") {
        return;
    }
    run_cases(
        "bad_bridge_names_are_refused",
        &[],
        &[
            case("dotdot_slash", Refused("")),
            case("slash", Refused("")),
            case("dash", Refused("")),
            case("space", Refused("")),
            case("percent_d", Refused("")),
            case("empty", Refused("")),
            case("dot", Refused("")),
            case("dotdot", Refused("")),
            case("star", Refused("")),
            // the kernel's ioctls strip ":alias": br0:1 would act on br0
            ours("colon", Refused("")),
            // must stay one line on stderr even if the name is echoed
            ours("newline", Refused("")),
            ours("nonutf8", Refused("")),
        ],
    );
}

#[test]
fn bad_fd_arguments_are_refused() {
    if !common::have_root("bad_fd_arguments_are_refused") {
        return;
    }
    let cases = [
        case("letters", Refused("")),
        case("minus_one", Refused("")),
        case("empty", Refused("")),
        case("hex", Refused("")),
        case("not_open", Refused("")),
        case("stdin", Refused("")),
        case("stderr", Refused("")),
        case("pipe", Refused("")),
        case("file", Refused("")),
        // strict parsing (sudo CVE-2019-14287): qemu-bridge-helper's atoi() takes these
        ours("plus", Refused("")),
        ours("trailing", Refused("")),
        ours("leading_space", Refused("")),
        ours("overflow", Refused("")),
        // a datagram socket is not what QEMU passes
        ours("dgram", Refused("")),
    ];
    run_cases("bad_fd_arguments_are_refused", &[], &cases);
}

// ---------------------------------------------------------------- hostile callers

#[test]
fn closed_std_fds_still_work() {
    if !common::have_root("closed_std_fds_still_work") {
        return;
    }
    // the received tap must be a working tap (not the helper's fd 0-2 reused
    // for something else); a refusal with nowhere to write must still exit 1
    let r = run_cases("closed_std_fds_still_work", &[], &[case("closed", Granted)]);
    expect_eq(
        &r,
        &[
            ("closed", "MASTER", "br0"),
            ("closed", "UP", "1"),
            ("closed", "PROBE", "ok"),
            ("closed", "RX", "1"),
            ("closed_refused", "RC", "1"),
            ("closed_refused", "GOT_FD", "no"),
            ("closed_refused", "LEFT", ""),
        ],
    );
}

#[test]
fn poisoned_environment_is_ignored() {
    if !common::have_root("poisoned_environment_is_ignored") {
        return;
    }
    // LD_PRELOAD, RUST_BACKTRACE, garbage locale...; PATH points at programs
    // that leave a mark if anything runs them
    let r = run_cases(
        "poisoned_environment_is_ignored",
        &[],
        &[
            case("poisoned", Granted),
            case("poisoned_refused", Refused("access denied by acl file")),
            case("empty_env", Granted),
        ],
    );
    expect_eq(
        &r,
        &[("poisoned", "MASTER", "br0"), ("poisoned", "PROBE", "ok")],
    );
    assert_eq!(
        r.value("EVIL").trim(),
        "",
        "the helper ran a program found through the caller's PATH"
    );
}

#[test]
fn acl_files_must_be_root_owned_and_not_world_writable() {
    if !common::have_root("acl_files_must_be_root_owned_and_not_world_writable")
        || !ours_only("acl_files_must_be_root_owned_and_not_world_writable")
    {
        return;
    }
    run_cases(
        "acl_files_must_be_root_owned_and_not_world_writable",
        &["user_owned"],
        &[case("user_owned", Refused("/etc/qemu/bridge.conf"))],
    );
    run_cases(
        "acl_files_must_be_root_owned_and_not_world_writable",
        &["world_writable"],
        &[case("world_writable", Refused("/etc/qemu/bridge.conf"))],
    );
    // an included file the caller controls must not grant anything
    for label in ["incl_user_owned", "incl_world_writable"] {
        let r = script(
            "acl_files_must_be_root_owned_and_not_world_writable",
            &[label],
        )
        .ok();
        expect_eq(
            &r,
            &[
                (label, "RC", "1"),
                (label, "GOT_FD", "no"),
                (label, "LEFT", ""),
            ],
        );
    }
}

#[test]
fn unreadable_acl_file_is_refused() {
    if !common::have_root("unreadable_acl_file_is_refused") {
        return;
    }
    // read with the caller's rights, like qemu-bridge-helper
    run_cases(
        "unreadable_acl_file_is_refused",
        &[],
        &[case(
            "unreadable",
            Refused("failed to parse default acl file"),
        )],
    );
}

#[test]
fn per_user_include_needs_the_group() {
    if !common::have_root("per_user_include_needs_the_group") {
        return;
    }
    let r = script("per_user_include_needs_the_group", &[]).ok();
    let mut failures = Vec::new();
    for (label, want) in [("with_group", Granted), ("main_file_still_works", Granted)] {
        let bad = check(&r, label, want);
        if !bad.is_empty() {
            failures.push(fail_case(&r, label, &bad));
        }
    }
    expect_eq(&r, &[("with_group", "MASTER", "br1")]);
    // without the group: denied; the only other lines allowed are warnings
    // about the unreadable include
    let stderr = get(&r, "without_group", "STDERR").unwrap_or_default();
    let lines: Vec<&str> = stderr.split(" | ").collect();
    let ok = get(&r, "without_group", "RC").as_deref() == Some("1")
        && get(&r, "without_group", "GOT_FD").as_deref() == Some("no")
        && get(&r, "without_group", "LEFT").as_deref() == Some("")
        && lines
            .last()
            .is_some_and(|l| l.contains("access denied by acl file"))
        && lines[..lines.len() - 1]
            .iter()
            .all(|l| l.contains("/etc/qemu/u4242.conf"));
    if !ok {
        failures.push(fail_case(
            &r,
            "without_group",
            &["want exit 1, no fd, no tap, last line \"access denied by acl file\"".into()],
        ));
    }
    verdict(&r, failures);
}

#[test]
fn audit_goes_to_syslog_and_never_blocks() {
    if !common::have_root("audit_goes_to_syslog_and_never_blocks")
        || !ours_only("audit_goes_to_syslog_and_never_blocks")
    {
        return;
    }
    // tests/tools/fake_syslogd.py on a private /dev/log: a listener, a stale
    // socket, a "stuck syslogd" whose queue is full (the call must still finish)
    let r = script("audit_goes_to_syslog_and_never_blocks", &[]).ok();
    let mut failures = Vec::new();
    for (label, want) in [
        ("granted", Granted),
        ("refused", Refused("access denied by acl file")),
        ("stale", Granted),
        ("stale_refused", Refused("access denied by acl file")),
        ("stuck", Granted),
        ("stuck_refused", Refused("access denied by acl file")),
    ] {
        let bad = check(&r, label, want);
        if !bad.is_empty() {
            failures.push(fail_case(&r, label, &bad));
        }
    }
    if r.value("SYSLOG_GRANTED") != "1" {
        failures.push("no syslog line naming uid=4242, br0 and the tap for the grant".into());
    }
    if r.value("SYSLOG_REFUSED") != "1" {
        failures.push("no syslog line naming uid=4242 and br1 for the refusal".into());
    }
    verdict(&r, failures);
}

// ---------------------------------------------------------------- a real QEMU

/// A real QEMU (TCG), run as the unprivileged uid 4242, gets its NIC from the
/// setuid helper; the busybox guest (tests/guest/) pings the bridge's
/// address; while it runs the host checks that a tap is enslaved to br0 and
/// tells the guest over TCP. On failure the guest's serial log is part of the
/// panic message. Under VH_TEST_HELPER=ref* the reference helper is used.
fn qemu_e2e(test: &str, kind: &str) {
    if !common::have_root(test) {
        return;
    }
    let mut s = Sandbox::new(test, "attach/qemu_guest_on_a_plain_bridge.sh").arg(kind);
    if std::env::var("VH_TEST_HELPER").is_ok_and(|v| v.starts_with("ref")) {
        s = s.env("USE_REF", "1");
    }
    let r = s.run().ok();
    let tap = r.value("TAP");
    expect_true(
        &r,
        tap.starts_with("tap"),
        "no tap enslaved to br0 while the guest ran",
    );
    expect_true(&r, r.value("TAP_MAC").starts_with("fe:"), "tap MAC");
    expect(&r, "TAP_UP", "1");
    expect(&r, "TOLD_GUEST", "yes");
    expect(&r, "TAPS_AFTER", "0");
    eprintln!("{test}: guest ran in {} s", r.value("GUEST_SECONDS_e2e"));
}

#[test]
fn qemu_netdev_bridge_with_helper() {
    qemu_e2e("qemu_netdev_bridge_with_helper", "bridge");
}

#[test]
fn qemu_netdev_tap_with_helper_string() {
    // a helper string with a space: QEMU runs it with /bin/sh -c and leaves
    // out --br= because the string has one
    qemu_e2e("qemu_netdev_tap_with_helper_string", "tap");
}
