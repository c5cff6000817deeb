//! Integration tests of vnet-helper as a drop-in qemu-bridge-helper: each test
//! runs a script in tests/sandbox.sh that calls the setuid helper as uid 4242
//! exactly like QEMU does (tests/tools/fake_qemu.py via `call_helper`) and
//! checks the tap it hands back, or that a refusal leaves nothing behind.
//!
//! `VH_TEST_HELPER=ref cargo test --test drop_in` runs the same checks against
//! the reference /usr/lib/qemu/qemu-bridge-helper ($REF) to validate the tests
//! themselves; cases where we are deliberately stricter than the reference
//! (marked `ours_only`) are skipped then (`VH_TEST_HELPER=ref-all` runs them
//! too, to show what the reference gets wrong).

mod common;

use common::Run;

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

/// Shell set up before every test body: br0 (up, allowed), `call` and an
/// inspection script for a held tap.
const PRELUDE: &str = r#"
[ -n "$H" ] || { echo "helper under test not installed (H empty)" >&2; exit 1; }
ip link add br0 type bridge
ip link set br0 up
echo "allow br0" > /etc/qemu/bridge.conf
chmod 0644 /etc/qemu/bridge.conf
# call LABEL [fake_qemu.py ARGS...]: call the helper like QEMU; print its
# results as LABEL.KEY=VALUE, then LABEL.LEFT=<tun/tap devices still present>
call() {
  local label=$1 out; shift
  out=$(call_helper "$@")
  printf '%s\n' "$out" | sed "s/^/$label./"
  echo "$label.LEFT=$(ip -o link show type tun | awk -F': ' '{printf "%s ", $2}')"
}
# run while fake_qemu.py holds the tap fd (--hold-cmd "$INSPECT"); TAP is set
cat > "$WORK/inspect.sh" <<'EOF'
s=/sys/class/net/$TAP
echo "MASTER=$(basename "$(readlink "$s/master" || echo none)")"
echo "MTU=$(cat "$s/mtu")"
echo "MAC=$(cat "$s/address")"
echo "UP=$(( $(cat "$s/flags") & 1 ))"
echo "TUNS=$(ip -o link show type tun | wc -l)"
echo "RX=$(cat "$s/statistics/rx_packets")"
EOF
INSPECT="bash $WORK/inspect.sh"
"#;

/// Run `body` after PRELUDE with $H = the helper under test.
fn script(body: &str) -> Run {
    let h = if against_ref() { "H=${REF:-}" } else { "H=$VH" };
    common::sandbox(&format!("{h}\n{PRELUDE}\n{body}\n"))
}

#[derive(Clone, Copy)]
enum Want {
    /// exit 0, an fd came back, the kernel named the tap tapN, silent.
    Granted,
    /// exit 1, no fd, one stderr line containing this ("" = anything).
    Refused(&'static str),
}
use Want::*;

struct Case {
    label: &'static str,
    /// fake_qemu.py arguments, as shell words ($H is the helper).
    args: &'static str,
    want: Want,
    /// Stricter than qemu-bridge-helper: not checked under VH_TEST_HELPER=ref.
    ours_only: bool,
}

const fn case(label: &'static str, args: &'static str, want: Want) -> Case {
    Case {
        label,
        args,
        want,
        ours_only: false,
    }
}
const fn ours(label: &'static str, args: &'static str, want: Want) -> Case {
    Case {
        label,
        args,
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
    if g("LEFT") != "" {
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
        panic!(
            "{} failed case(s):\n{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            failures.len(),
            failures.join("\n"),
            r.stdout,
            r.stderr
        );
    }
}

fn fail_case(r: &Run, label: &str, what: &[String]) -> String {
    format!(
        "[{label}] {}\n    {}",
        what.join("; "),
        case_lines(r, label)
    )
}

/// Run `setup`, then every applicable case, and check them all.
fn run_cases(setup: &str, cases: &[Case]) -> Run {
    run_cases_then(setup, cases, "")
}

/// The same, with shell run after the cases (`post`) before checking.
fn run_cases_then(setup: &str, cases: &[Case], post: &str) -> Run {
    let cases: Vec<&Case> = cases
        .iter()
        .filter(|c| !(c.ours_only && skip_ours_only()))
        .collect();
    let mut body = String::from(setup);
    body.push('\n');
    for c in &cases {
        body.push_str(&format!("call {} {}\n", c.label, c.args));
    }
    body.push_str(post);
    body.push('\n');
    let r = script(&body);
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
        "",
        &[case(
            "vnet",
            r#"--probe --hold-cmd "$INSPECT" "$H" br0"#,
            Granted,
        )],
    );
    expect_eq(
        &r,
        &[
            ("vnet", "VNET_HDR", "yes"),
            ("vnet", "MASTER", "br0"),
            ("vnet", "UP", "1"),
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
    let r = run_cases(
        "",
        &[case(
            "novnet",
            r#"--no-vnet --probe --hold-cmd "$INSPECT" "$H" br0"#,
            Granted,
        )],
    );
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
    let setup = r#"
ip link add br1 type bridge; ip link add br2 type bridge
ip link add vp1 mtu 1400 type veth peer name vp1b mtu 1400
ip link set vp1 master br1
ip link add vp2 mtu 9000 type veth peer name vp2b mtu 9000
ip link set vp2 master br2; ip link set br2 mtu 9000
ip link set br0 mtu 1280
for b in br1 br2; do ip link set $b up; done
printf 'allow br0\nallow br1\nallow br2\n' > /etc/qemu/bridge.conf
echo "BRIDGE_MTUS=$(cat /sys/class/net/br0/mtu) $(cat /sys/class/net/br1/mtu) $(cat /sys/class/net/br2/mtu)"
"#;
    let r = run_cases(
        setup,
        &[
            case("m0", r#"--hold-cmd "$INSPECT" "$H" br0"#, Granted),
            case("m1", r#"--hold-cmd "$INSPECT" "$H" br1"#, Granted),
            case("m2", r#"--hold-cmd "$INSPECT" "$H" br2"#, Granted),
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
        "",
        &[
            case("qemu", r#""$H" br0"#, Granted),
            case("libvirt", r#"--libvirt "$H" br0"#, Granted),
            case("libvirt_novnet", r#"--libvirt --no-vnet "$H" br0"#, Granted),
            case(
                "vnet_last",
                r#"--raw "$H" --br=br0 --fd={fd} --use-vnet"#,
                Granted,
            ),
            case(
                "fd_first",
                r#"--raw "$H" --fd={fd} --use-vnet --br=br0"#,
                Granted,
            ),
            // caps cleared but CAP_NET_ADMIN, as libvirt does: must not matter
            case("as_root", r#"--as-root "$H" br0"#, Granted),
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
        "ip link add br1 type bridge",
        &[
            case(
                "br_last",
                r#"--hold-cmd "$INSPECT" --raw "$H" --br=nosuch --br=br0 --fd={fd}"#,
                Granted,
            ),
            // br1 exists but is not allowed: the later --br must be the one checked
            case(
                "br_last_denied",
                r#"--raw "$H" --br=br0 --br=br1 --fd={fd}"#,
                Refused("access denied by acl file"),
            ),
            case(
                "fd_last",
                r#"--raw "$H" --fd=77 --fd={fd} --br=br0"#,
                Granted,
            ),
            case(
                "fd_last_bad",
                r#"--raw "$H" --fd={fd} --fd=77 --br=br0"#,
                Refused(""),
            ),
            case(
                "vnet_twice",
                r#"--raw "$H" --use-vnet --use-vnet --fd={fd} --br=br0"#,
                Granted,
            ),
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
        "ip link add br1 type bridge; echo 'allow br1' >> /etc/qemu/bridge.conf",
        &[
            case(
                "sh_br_in_string",
                r#"--hold-cmd "$INSPECT" --shell "$H --br=br1" br0"#,
                Granted,
            ),
            case(
                "sh_plain",
                r#"--hold-cmd "$INSPECT" --shell "$H" br0"#,
                Granted,
            ),
        ],
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
        "",
        &[
            case("no_args", r#"--raw "$H""#, Refused("")),
            case(
                "unknown_option",
                r#"--raw "$H" --bogus --use-vnet --fd={fd} --br=br0"#,
                Refused(""),
            ),
            case(
                "positional",
                r#"--raw "$H" --use-vnet --fd={fd} --br=br0 extra"#,
                Refused(""),
            ),
            case("no_fd", r#"--raw "$H" --use-vnet --br=br0"#, Refused("")),
            case("no_br", r#"--raw "$H" --use-vnet --fd={fd}"#, Refused("")),
            case(
                "separate_values",
                r#"--raw "$H" --use-vnet --fd {fd} --br br0"#,
                Refused(""),
            ),
            case(
                "vnet_with_value",
                r#"--raw "$H" --use-vnet=1 --fd={fd} --br=br0"#,
                Refused(""),
            ),
            // pkexec (CVE-2021-4034): exec'ed with argc == 0
            case("argc0", r#"--argc0 "$H" br0"#, Refused("")),
        ],
    );
}

#[test]
fn help_and_version_exit_0() {
    if !common::have_root("help_and_version_exit_0") || !ours_only("help_and_version_exit_0") {
        return;
    }
    let r = script("call help --raw \"$H\" --help\ncall version --raw \"$H\" --version\n").ok();
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
    let setup = r#"
ip link add br1 type bridge; ip link add br2 type bridge; ip link add br3 type bridge
ip link add good type bridge
cat > /etc/qemu/bridge.conf <<'EOF'
# comment
allow br0
allow br2
deny br2
deny br3
allow br3
  allow   good
EOF
"#;
    run_cases(
        setup,
        &[
            case(
                "not_listed",
                r#""$H" br1"#,
                Refused("access denied by acl file"),
            ),
            case(
                "deny_after_allow",
                r#""$H" br2"#,
                Refused("access denied by acl file"),
            ),
            case(
                "deny_before_allow",
                r#""$H" br3"#,
                Refused("access denied by acl file"),
            ),
            case("whitespace_trimmed", r#""$H" good"#, Granted),
        ],
    );
    // deny all beats any allow; allow all; no file at all
    run_cases(
        "printf 'allow br0\\ndeny all\\n' > /etc/qemu/bridge.conf",
        &[case(
            "deny_all",
            r#""$H" br0"#,
            Refused("access denied by acl file"),
        )],
    );
    run_cases(
        "ip link add br1 type bridge; printf 'allow all\\n' > /etc/qemu/bridge.conf",
        &[case("allow_all", r#""$H" br1"#, Granted)],
    );
    run_cases(
        "rm /etc/qemu/bridge.conf",
        &[case("no_acl_file", r#""$H" br0"#, Refused(""))],
    );
    // qemu-bridge-helper compares names as strings, but SIOCGIFMTU and
    // friends strip a ":alias" suffix: br0:1 would reach the denied br0
    run_cases(
        "printf 'allow all\\ndeny br0\\n' > /etc/qemu/bridge.conf",
        &[
            case(
                "denied",
                r#""$H" br0"#,
                Refused("access denied by acl file"),
            ),
            ours("alias_bypass", r#""$H" br0:1"#, Refused("")),
            ours("alias_bypass_empty", r#""$H" br0:"#, Refused("")),
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
    let setup = r#"
ip link add vnot type veth peer name vnotp
ip link add 0123456789abcde type bridge
printf 'allow br0\nallow nosuch\nallow vnot\nallow 0123456789abcde\n' > /etc/qemu/bridge.conf
"#;
    run_cases(
        setup,
        &[
            case("missing", r#""$H" nosuch"#, Refused("")),
            case("not_a_bridge", r#""$H" vnot"#, Refused("")),
            case("len15", r#""$H" 0123456789abcde"#, Granted),
            case("len16", r#""$H" 0123456789abcdef"#, Refused("too long")),
            case(
                "len40",
                r#""$H" 0123456789abcde0123456789abcde0123456789"#,
                Refused("too long"),
            ),
        ],
    );
}

#[test]
fn bad_bridge_names_are_refused() {
    if !common::have_root("bad_bridge_names_are_refused") {
        return;
    }
    run_cases(
        "echo 'allow all' > /etc/qemu/bridge.conf",
        &[
            case("dotdot_slash", r#""$H" ../x"#, Refused("")),
            case("slash", r#""$H" a/b"#, Refused("")),
            case("dash", r#""$H" -x"#, Refused("")),
            case("space", r#""$H" "a b""#, Refused("")),
            case("percent_d", r#""$H" a%d"#, Refused("")),
            case("empty", r#""$H" """#, Refused("")),
            case("dot", r#""$H" ."#, Refused("")),
            case("dotdot", r#""$H" .."#, Refused("")),
            case("star", r#""$H" "*""#, Refused("")),
            // the kernel's ioctls strip ":alias": br0:1 would act on br0
            ours("colon", r#""$H" br0:1"#, Refused("")),
            // must stay one line on stderr even if the name is echoed
            ours("newline", r#""$H" $'br0\nx'"#, Refused("")),
            ours("nonutf8", r#""$H" $'br\xff'"#, Refused("")),
        ],
    );
}

#[test]
fn bad_fd_arguments_are_refused() {
    if !common::have_root("bad_fd_arguments_are_refused") {
        return;
    }
    let cases = [
        case("letters", "--raw \"$H\" --fd=abc --br=br0", Refused("")),
        case("minus_one", "--raw \"$H\" --fd=-1 --br=br0", Refused("")),
        case("empty", "--raw \"$H\" --fd= --br=br0", Refused("")),
        case("hex", "--raw \"$H\" --fd=0x{fd} --br=br0", Refused("")),
        case("not_open", "--raw \"$H\" --fd=77 --br=br0", Refused("")),
        case("stdin", "--raw \"$H\" --fd=0 --br=br0", Refused("")),
        case("stderr", "--raw \"$H\" --fd=2 --br=br0", Refused("")),
        case("pipe", "--fd-kind pipe \"$H\" br0", Refused("")),
        case("file", "--fd-kind file \"$H\" br0", Refused("")),
        // strict parsing (sudo CVE-2019-14287): qemu-bridge-helper's atoi() takes these
        ours("plus", "--raw \"$H\" --fd=+{fd} --br=br0", Refused("")),
        ours("trailing", "--raw \"$H\" --fd={fd}x --br=br0", Refused("")),
        ours(
            "leading_space",
            "--raw \"$H\" \"--fd= {fd}\" --br=br0",
            Refused(""),
        ),
        ours("overflow", "--raw \"$H\" --fd={fd32} --br=br0", Refused("")),
        // a datagram socket is not what QEMU passes
        ours("dgram", "--fd-kind dgram \"$H\" br0", Refused("")),
    ];
    run_cases("", &cases);
}

// ---------------------------------------------------------------- hostile callers

#[test]
fn closed_std_fds_still_work() {
    if !common::have_root("closed_std_fds_still_work") {
        return;
    }
    // the received tap must be a working tap (not the helper's fd 0-2 reused
    // for something else); a refusal with nowhere to write must still exit 1
    let r = run_cases_then(
        "ip link add br1 type bridge",
        &[case(
            "closed",
            r#"--close-std --probe --hold-cmd "$INSPECT" "$H" br0"#,
            Granted,
        )],
        r#"call closed_refused --close-std "$H" br1"#,
    );
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
    let setup = r#"
ip link add br1 type bridge
mkdir -p "$WORK/evil"
for p in ip brctl sh bash dash modprobe iptables nft dnsmasq logger id setpriv tunctl sysctl cat ls true; do
  printf '#!/bin/sh\ntouch %s/EVIL-RAN-%s\n' "$WORK" "$p" > "$WORK/evil/$p"
  chmod 0755 "$WORK/evil/$p"
done
echo garbage > "$WORK/evil/libc.so.6"
"#;
    let r = run_cases_then(
        setup,
        &[
            case(
                "poisoned",
                r#"--poison-env "$WORK/evil" --probe --hold-cmd "$INSPECT" "$H" br0"#,
                Granted,
            ),
            case(
                "poisoned_refused",
                r#"--poison-env "$WORK/evil" "$H" br1"#,
                Refused("access denied by acl file"),
            ),
            case("empty_env", r#"--clear-env "$H" br0"#, Granted),
        ],
        r#"echo "EVIL=$(ls "$WORK" | grep EVIL-RAN | tr '\n' ' ')""#,
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
        "chown 4242 /etc/qemu/bridge.conf",
        &[case(
            "user_owned",
            r#""$H" br0"#,
            Refused("/etc/qemu/bridge.conf"),
        )],
    );
    run_cases(
        "chmod 0666 /etc/qemu/bridge.conf",
        &[case(
            "world_writable",
            r#""$H" br0"#,
            Refused("/etc/qemu/bridge.conf"),
        )],
    );
    // an included file the caller controls must not grant anything
    for (label, fix) in [
        ("incl_user_owned", "chown 4242"),
        ("incl_world_writable", "chmod 0666"),
    ] {
        let setup = format!(
            "ip link add br1 type bridge\necho 'include /etc/qemu/inc.conf' >> /etc/qemu/bridge.conf\n\
             echo 'allow br1' > /etc/qemu/inc.conf\nchmod 0644 /etc/qemu/inc.conf\n{fix} /etc/qemu/inc.conf\n\
             call {label} \"$H\" br1\n"
        );
        let r = script(&setup).ok();
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
        "chmod 0600 /etc/qemu/bridge.conf",
        &[case(
            "unreadable",
            r#""$H" br0"#,
            Refused("failed to parse default acl file"),
        )],
    );
}

#[test]
fn per_user_include_needs_the_group() {
    if !common::have_root("per_user_include_needs_the_group") {
        return;
    }
    let setup = r#"
ip link add br1 type bridge
echo 'include /etc/qemu/u4242.conf' >> /etc/qemu/bridge.conf
echo 'allow br1' > /etc/qemu/u4242.conf
chown root:4243 /etc/qemu/u4242.conf; chmod 0640 /etc/qemu/u4242.conf
call with_group --as 4242:4242:4243 --hold-cmd "$INSPECT" "$H" br1
call without_group "$H" br1
call main_file_still_works "$H" br0
"#;
    let r = script(setup).ok();
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

/// Fake syslog daemons on /dev/log for `audit_goes_to_syslog_and_never_blocks`.
const SYSLOGD_PY: &str = r#"
import os, socket, sys, time
mode, out = sys.argv[1], sys.argv[2]
try:
    os.unlink("/dev/log")
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
if mode == "stale":
    s.close()  # the socket file stays, nobody listens: ECONNREFUSED
    open(out, "w").close()
    sys.exit(0)
if mode == "stuck":
    c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    c.setblocking(False)
    try:
        while True:
            c.sendto(b"filler", "/dev/log")
    except BlockingIOError:
        pass
    open(out, "w").close()
    time.sleep(60)  # never reads
    sys.exit(0)
with open(out, "w") as f:
    s.settimeout(30)
    while True:
        f.write(s.recv(8192).decode(errors="replace") + "\n")
        f.flush()
"#;

#[test]
fn audit_goes_to_syslog_and_never_blocks() {
    if !common::have_root("audit_goes_to_syslog_and_never_blocks")
        || !ours_only("audit_goes_to_syslog_and_never_blocks")
    {
        return;
    }
    // A private /dev (overlay, this sandbox only) so that /dev/log can exist:
    // 1. a listener records what arrives; 2. a stale socket nobody listens
    // on; 3. a "stuck syslogd" whose queue is full: a blocking send would
    // hang the helper and with it QEMU, so the call must still finish (10 s).
    // (Without any /dev/log, as in every other test, calls succeed silently.)
    let body = format!(
        r#"
mkdir -p /run/devov/u /run/devov/w
mount -t overlay devov -o lowerdir=/dev,upperdir=/run/devov/u,workdir=/run/devov/w /dev
ip link add br1 type bridge
cat > "$WORK/syslogd.py" <<'PYEOF'
{SYSLOGD_PY}
PYEOF
start_syslogd() {{
  python3 "$WORK/syslogd.py" "$1" "$WORK/$1.txt" & SYSLOGD=$!
  for i in $(seq 100); do [ -e "$WORK/$1.txt" ] && break; sleep 0.1; done
}}
start_syslogd listen
call granted "$H" br0
call refused "$H" br1
sleep 0.5
kill $SYSLOGD; wait $SYSLOGD || true
echo "SYSLOG_GRANTED=$(grep -c 'uid=4242.*br0.*tap[0-9]\|uid=4242.*tap[0-9].*br0' "$WORK/listen.txt" || true)"
echo "SYSLOG_REFUSED=$(grep -c 'uid=4242.*br1' "$WORK/listen.txt" || true)"
sed 's/^/SYSLOG_LINE=/' "$WORK/listen.txt"
python3 "$WORK/syslogd.py" stale "$WORK/stale.txt"
call stale "$H" br0
call stale_refused "$H" br1
start_syslogd stuck
call stuck --timeout 10 "$H" br0
call stuck_refused --timeout 10 "$H" br1
kill $SYSLOGD; wait $SYSLOGD || true
"#
    );
    let r = script(&body).ok();
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
