//! Differential compliance test (in the style of sudo-rs's compliance tests):
//! every case below is run against BOTH the reference qemu-bridge-helper ($REF)
//! and our vnet-helper ($VH), the same way QEMU calls a helper (socketpair,
//! fork, the caller's uid/gid/groups, exec through the setuid bit, receive the
//! tap fd with SCM_RIGHTS, waitpid), with the same ACL files (contents, owner,
//! group, mode) and the same caller, on real bridges inside a private sandbox
//! (tests/sandbox.sh). The test fails if any case gives a different outcome.
//!
//! A case's outcome is its exit status, whether an fd arrived (and that the tap
//! behind it is enslaved to the requested bridge), and its class:
//!   granted      exit 0, one fd, tap on the requested bridge
//!   denied       exit != 0, "access denied by acl file" on stderr
//!   parse-error  exit != 0, "failed to parse ..." on stderr (main ACL unusable)
//!   failed       exit != 0 for another reason (no such bridge, name too long)
//!   timeout / BROKEN(...)  never acceptable
//! The class is compared too, except for cases marked `outcome_only` (where
//! the two tools legitimately word the failure differently). Each case also
//! states what the reference does (`expect`), so a broken environment (no tun,
//! no bridges) where both tools fail cannot pass silently.
//!
//! `hardening_differences` holds the cases where we deliberately differ from
//! qemu-bridge-helper (one or more for each item of the README's list
//! "Hardening beyond qemu-bridge-helper"); it asserts OUR behaviour only and
//! shows $REF's for the record.
//!
//! `differential_fuzz` (tests/acl_compat/fuzz.rs) decides a few thousand
//! generated configurations and bridges with both helpers; a disagreement
//! that is not one of the documented differences fails, with the smallest
//! reproduction.
//!
//! Run: `sudo cargo test --release --test acl_compat -- --nocapture`
//! (prints the case table). One sandbox per test
//! (tests/scripts/acl_compat/run_cases.sh); the cases loop inside it in
//! tests/tools/acl_harness.py.
//!
//! Harness self-check without our binary: compile this file alone so that $VH
//! is a copy of the reference helper (REF vs REF must all match):
//!   env CARGO_MANIFEST_DIR=$PWD CARGO_BIN_EXE_vnet-helper=/usr/lib/qemu/qemu-bridge-helper \
//!     rustc --edition 2021 --test tests/acl_compat.rs -o /tmp/difftest && /tmp/difftest --nocapture
//! (differential_matches_reference must pass; hardening_differences must fail.)
mod common;
#[path = "acl_compat/fuzz.rs"]
mod fuzz;

use common::Sandbox;

use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;

const ETC: &str = "/etc/qemu";
const CONF: &str = "/etc/qemu/bridge.conf";
/// A 15-byte bridge name (IFNAMSIZ - 1: the longest the kernel allows).
const BR15: &str = "br-abcdefghijkl";
/// 16 bytes: too long for an interface name (CVE-2019-13164 territory).
const BR16: &str = "br-abcdefghijklm";
/// Bridges created in the sandbox (up, empty). A bridge named "all" cannot be
/// created (RTNETLINK: Invalid argument), so the `all` cases request a bridge
/// that does not exist: `failed` there means the ACL let the name through.
const BRIDGES: &[&str] = &["br0", "br1", "br2", "BR0", BR15];
/// Per-case scratch directory (removed between cases), world-searchable.
const CASEDIR: &str = "/run/vh/work/case";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Granted,
    Denied,
    ParseError,
    Failed,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::Granted => "granted",
            Class::Denied => "denied",
            Class::ParseError => "parse-error",
            Class::Failed => "failed",
        }
    }
}

#[derive(Clone)]
struct AclFile {
    path: String,
    content: Vec<u8>,
    uid: u32,
    gid: u32,
    mode: u32,
}

#[derive(Clone)]
struct Case {
    name: String,
    files: Vec<AclFile>,
    /// Extra directories (path, uid, gid, mode), created before the files.
    dirs: Vec<(String, u32, u32, u32)>,
    /// Symbolic links (path, target), created after the files (owned by root).
    links: Vec<(String, String)>,
    uid: u32,
    gid: u32,
    groups: Vec<u32>,
    cwd: String,
    /// The bridge asked for (bytes: it may be any argument).
    bridge: Vec<u8>,
    /// How `--fd=` is written: `{}` stands for the descriptor.
    fd_arg: String,
    /// What the reference helper does (sanity check of the environment).
    expect: Class,
    /// Compare exit status and fd only, not the class of the failure.
    outcome_only: bool,
}

fn case(name: &str, bridge: &str, expect: Class) -> Case {
    Case {
        name: name.to_string(),
        files: vec![],
        dirs: vec![],
        links: vec![],
        uid: 4242,
        gid: 4242,
        groups: vec![],
        cwd: "/run/vh/work".to_string(),
        bridge: bridge.as_bytes().to_vec(),
        fd_arg: "{}".to_string(),
        expect,
        outcome_only: false,
    }
}

impl Case {
    /// /etc/qemu/bridge.conf, root:root 0644.
    fn conf(self, content: &str) -> Case {
        self.file(CONF, content, 0, 0, 0o644)
    }
    /// bridge.conf with arbitrary bytes (not UTF-8).
    fn conf_bytes(self, content: &[u8]) -> Case {
        self.file_bytes(CONF, content, 0, 0, 0o644)
    }
    fn file_bytes(mut self, path: &str, content: &[u8], uid: u32, gid: u32, mode: u32) -> Case {
        self.files.push(AclFile {
            path: path.into(),
            content: content.to_vec(),
            uid,
            gid,
            mode,
        });
        self
    }
    /// Any file with explicit owner, group and mode.
    fn file(self, path: &str, content: &str, uid: u32, gid: u32, mode: u32) -> Case {
        self.file_bytes(path, content.as_bytes(), uid, gid, mode)
    }
    /// A root:root 0644 file under /etc/qemu.
    fn etc(self, name: &str, content: &str) -> Case {
        self.file(&format!("{ETC}/{name}"), content, 0, 0, 0o644)
    }
    fn dir(mut self, path: &str, uid: u32, gid: u32, mode: u32) -> Case {
        self.dirs.push((path.to_string(), uid, gid, mode));
        self
    }
    fn symlink(mut self, path: &str, target: &str) -> Case {
        self.links.push((path.to_string(), target.to_string()));
        self
    }
    fn caller(mut self, uid: u32, gid: u32, groups: &[u32]) -> Case {
        self.uid = uid;
        self.gid = gid;
        self.groups = groups.to_vec();
        self
    }
    fn cwd(mut self, cwd: &str) -> Case {
        self.cwd = cwd.to_string();
        self
    }
    fn outcome_only(mut self) -> Case {
        self.outcome_only = true;
        self
    }
    fn bridge_bytes(mut self, bridge: &[u8]) -> Case {
        self.bridge = bridge.to_vec();
        self
    }
    fn fd_arg(mut self, fd_arg: &str) -> Case {
        self.fd_arg = fd_arg.to_string();
        self
    }
}

use Class::*;

/// The compliance cases: $VH must behave exactly like $REF on each.
fn compliance_cases() -> Vec<Case> {
    let inc = "/etc/qemu/inc.conf";
    let alice = "/etc/qemu/alice.conf";
    let per_user = |name: &str, bridge: &str, expect: Class| {
        case(name, bridge, expect)
            .conf("include /etc/qemu/alice.conf\n")
            .file(alice, "allow br1\n", 0, 4243, 0o640)
    };
    let group_conf = |name: &str, expect: Class| {
        case(name, "br0", expect).file(CONF, "allow br0\n", 0, 4244, 0o640)
    };
    let bad_include = |name: &str, bridge: &str, expect: Class| {
        case(name, bridge, expect)
            .conf("include /etc/qemu/inc.conf\nallow br2\n")
            .etc("inc.conf", "allow br0\nbogus x\nallow br1\n")
    };
    let nested = |name: &str, l3: &str, main: &str, bridge: &str, expect: Class| {
        case(name, bridge, expect)
            .conf(main)
            .etc("l1.conf", "include /etc/qemu/d/l2.conf\n")
            .file(
                "/etc/qemu/d/l2.conf",
                "include /etc/qemu/d/e/l3.conf\nallow br1\n",
                0,
                0,
                0o644,
            )
            .file("/etc/qemu/d/e/l3.conf", l3, 0, 0, 0o644)
    };
    vec![
        // --- basic rules -------------------------------------------------
        case("allow NAME", "br0", Granted).conf("allow br0\n"),
        case("allow NAME, other bridge", "br1", Denied).conf("allow br0\n"),
        case("allow all", "br1", Granted).conf("allow all\n"),
        case("deny NAME + allow all (NAME)", "br0", Denied).conf("deny br0\nallow all\n"),
        case("deny NAME + allow all (other)", "br1", Granted).conf("deny br0\nallow all\n"),
        case("allow all + deny all", "br0", Denied).conf("allow all\ndeny all\n"),
        case("deny all + allow NAME (order)", "br0", Denied).conf("deny all\nallow br0\n"),
        case("deny all alone", "br0", Denied).conf("deny all\n"),
        case("no match: default deny", "br0", Denied).conf("allow br1\ndeny br2\n"),
        case("empty bridge.conf", "br0", Denied).conf(""),
        case("only a commented-out allow", "br0", Denied).conf("# allow br0\n"),
        case("missing bridge.conf", "br0", ParseError),
        case("bridge.conf unreadable (root 0600)", "br0", ParseError).file(
            CONF,
            "allow br0\n",
            0,
            0,
            0o600,
        ),
        // --- lexical details ---------------------------------------------
        case("comments, blank lines, leading ws", "br0", Granted)
            .conf("# header\n\n   \n\t\n   allow br0\n  # allow br1\n\t#deny all\n"),
        case("comment after the name is part of it", "br0", Denied).conf("allow br0 # mine\n"),
        case("tab separator", "br0", Granted).conf("allow\tbr0\n"),
        case("tab then space: cmd is `allow<TAB>`", "br0", ParseError).conf("allow\t br0\n"),
        case("several spaces before the name", "br0", Granted).conf("allow     br0\n"),
        case("CRLF line endings", "br0", Granted).conf("# c\r\n\r\nallow br0\r\n"),
        case("CRLF deny + allow all", "br0", Denied).conf("allow all\r\ndeny br0\r\n"),
        case("CRLF deny all", "br0", Denied).conf("allow br0\r\ndeny all\r\n"),
        case("CRLF include path", "br1", Granted)
            .conf("include /etc/qemu/inc.conf\r\n")
            .etc("inc.conf", "allow br1\r\n"),
        // qemu 7.2 uses g_ascii_isspace: form feed is whitespace, vertical tab is not.
        case("form feed is whitespace", "br0", Granted).conf("\x0c allow \x0cbr0\x0c\n"),
        case("vertical tab is not whitespace (name)", "br0", Denied).conf("allow \x0bbr0\n"),
        case("vertical tab is not whitespace (lead)", "br0", ParseError).conf("\x0ballow br0\n"),
        case("non-UTF-8 byte in a comment", "br0", Granted)
            .conf_bytes(b"# caf\xe9 \xff\nallow br0\n"),
        case("non-UTF-8 byte in an included comment", "br0", Granted)
            .conf("include /etc/qemu/inc.conf\n")
            .file_bytes(
                "/etc/qemu/inc.conf",
                b"# \xe9t\xe9\nallow br0\n",
                0,
                0,
                0o644,
            ),
        case("no newline at end of file", "br0", Granted).conf("allow br0"),
        case("trailing spaces after the name", "br0", Granted).conf("allow br0   \n"),
        case("trailing tab after the name", "br0", Granted).conf("allow br0\t\n"),
        case("`allow ` (trailing space, no name)", "br0", Denied).conf("allow \n"),
        case("`allow` without argument", "br0", ParseError).conf("allow\n"),
        case("two names on one line", "br0", Denied).conf("allow br0 br1\n"),
        case("`deny ` (no name) + allow", "br0", Granted).conf("deny \nallow br0\n"),
        case("`deny all` with trailing spaces", "br0", Denied).conf("allow br0\ndeny all   \n"),
        case("unknown command in main file", "br0", ParseError).conf("allow br0\nbogus x\n"),
        case("unknown command first in main file", "br0", ParseError).conf("bogus x\nallow br0\n"),
        case("command case: ALLOW", "br0", ParseError).conf("ALLOW br0\n"),
        // qemu reads lines with fgets into 4096 bytes: the rest of a longer
        // line is a line of its own, for us too.
        case("line cut at 4095 bytes: the rest is a deny", "br0", Denied)
            .conf(&format!("allow all\n#{}deny br0\n", "x".repeat(4094))),
        case(
            "line cut at 4095 bytes: the rest is a deny (other)",
            "br1",
            Granted,
        )
        .conf(&format!("allow all\n#{}deny br0\n", "x".repeat(4094))),
        case(
            "line cut at 4095 bytes: the rest is unknown",
            "br0",
            ParseError,
        )
        .conf(&format!("allow all\n#{}xdeny br0\n", "x".repeat(4094))),
        case("line of exactly 4095 bytes", "br0", Granted)
            .conf(&format!("#{}\nallow br0\n", "x".repeat(4094))),
        // --- names -------------------------------------------------------
        case("15-byte bridge name allowed", BR15, Granted).conf(&format!("allow {BR15}\n")),
        case("16-byte name in ACL", BR15, ParseError).conf(&format!("allow {BR16}\n")),
        case("16-byte --br with allow all", BR16, Failed).conf("allow all\n"),
        case(
            "16-byte name in include: earlier rules kept",
            "br0",
            Granted,
        )
        .conf("include /etc/qemu/inc.conf\n")
        .etc("inc.conf", &format!("allow br0\nallow {BR16}\nallow br1\n")),
        case("empty --br with allow all", "", Failed)
            .conf("allow all\n")
            .outcome_only(),
        case("allow all, bridge does not exist", "br9", Failed).conf("allow all\n"),
        case("--fd= with leading zeros", "br0", Granted)
            .conf("allow br0\n")
            .fd_arg("000{}"),
        case("deny, bridge does not exist", "br9", Denied).conf("allow br0\n"),
        case("names differ in case (allow br0, BR0)", "BR0", Denied).conf("allow br0\n"),
        case("names differ in case (allow BR0, BR0)", "BR0", Granted).conf("allow BR0\n"),
        case("names differ in case (allow BR0, br0)", "br0", Denied).conf("allow BR0\n"),
        case("keyword case: allow ALL", "br0", Denied).conf("allow ALL\n"),
        // "all" cannot exist as a bridge: `failed` means the ACL let it through.
        case("bridge `all`, allow all", "all", Failed).conf("allow all\n"),
        case("bridge `all`, deny all", "all", Denied).conf("allow all\ndeny all\n"),
        case("bridge `all`, deny br0 + allow all", "all", Failed).conf("deny br0\nallow all\n"),
        // --- includes ----------------------------------------------------
        case("include nonexistent + allow", "br0", Granted)
            .conf("include /etc/qemu/nope.conf\nallow br0\n"),
        case("include unreadable (deny all) ignored", "br0", Granted)
            .conf("include /etc/qemu/secret.conf\nallow br0\n")
            .file("/etc/qemu/secret.conf", "deny all\n", 0, 0, 0o600),
        case("include unreadable (allow) ignored", "br0", Denied)
            .conf("include /etc/qemu/secret.conf\n")
            .file("/etc/qemu/secret.conf", "allow br0\n", 0, 0, 0o600),
        bad_include("include: rule before bad line kept", "br0", Granted),
        bad_include("include: rule after bad line dropped", "br1", Denied),
        bad_include("include: main continues after it", "br2", Granted),
        case("allow in include", "br1", Granted)
            .conf("include /etc/qemu/inc.conf\n")
            .etc("inc.conf", "allow br1\n"),
        case("deny in include beats allow in main", "br0", Denied)
            .conf("allow all\ninclude /etc/qemu/inc.conf\n")
            .etc("inc.conf", "deny br0\n"),
        case("deny in main beats allow in include", "br1", Denied)
            .conf("include /etc/qemu/inc.conf\ndeny br1\n")
            .etc("inc.conf", "allow all\n"),
        nested(
            "nested includes, 3 levels: allow",
            "allow br2\n",
            "include /etc/qemu/l1.conf\n",
            "br2",
            Granted,
        ),
        nested(
            "nested includes, 3 levels: deny",
            "deny br0\n",
            "allow all\ninclude /etc/qemu/l1.conf\n",
            "br0",
            Denied,
        ),
        nested(
            "nested: bad line at level 3, level 2 goes on",
            "bogus\n",
            "include /etc/qemu/l1.conf\n",
            "br1",
            Granted,
        ),
        case("include path with trailing spaces", "br0", Granted)
            .conf(&format!("include {inc}   \n"))
            .etc("inc.conf", "allow br0\n"),
        case("include path containing a space", "br0", Granted)
            .conf("include /etc/qemu/my acl.conf\n")
            .etc("my acl.conf", "allow br0\n"),
        case("include of a directory + allow", "br0", Granted)
            .conf("include /etc/qemu/d\nallow br0\n")
            .dir("/etc/qemu/d", 0, 0, 0o755),
        case("include with empty path + allow", "br0", Granted).conf("include \nallow br0\n"),
        case("bridge.conf is a symlink", "br0", Granted)
            .etc("real.conf", "allow br0\n")
            .symlink(CONF, "/etc/qemu/real.conf"),
        case("include via a symlink", "br1", Granted)
            .conf("include /etc/qemu/link.conf\n")
            .etc("real.conf", "allow br1\n")
            .symlink("/etc/qemu/link.conf", "real.conf"),
        case("include in a group-only dir: member", "br1", Granted)
            .conf("include /etc/qemu/users/alice.conf\n")
            .dir("/etc/qemu/users", 0, 4243, 0o750)
            .file("/etc/qemu/users/alice.conf", "allow br1\n", 0, 0, 0o644)
            .caller(4242, 4242, &[4243]),
        case("include in a group-only dir: non-member", "br1", Denied)
            .conf("include /etc/qemu/users/alice.conf\n")
            .dir("/etc/qemu/users", 0, 4243, 0o750)
            .file("/etc/qemu/users/alice.conf", "allow br1\n", 0, 0, 0o644),
        // --- per-user includes (the QEMU wiki recipe) ----------------------
        per_user("per-user include: supplementary group", "br1", Granted).caller(
            4242,
            4242,
            &[4243],
        ),
        per_user("per-user include: not in group", "br1", Denied),
        per_user("per-user include: primary gid", "br1", Granted).caller(4242, 4243, &[]),
        per_user("per-user include: other bridge", "br0", Denied).caller(4242, 4242, &[4243]),
        per_user("per-user include: other groups only", "br1", Denied).caller(
            4242,
            4242,
            &[4244, 4245],
        ),
        // --- bridge.conf root:4244 0640 limits the helper to group 4244 -----
        group_conf("bridge.conf 0640 group: member", Granted).caller(4242, 4242, &[4244]),
        group_conf("bridge.conf 0640 group: primary gid", Granted).caller(4242, 4244, &[]),
        // Both fail; the wording is each tool's own.
        group_conf("bridge.conf 0640 group: non-member", ParseError).outcome_only(),
    ]
}

/// Cases where vnet-helper deliberately differs from qemu-bridge-helper. Each
/// one's `expect` is OUR outcome; $REF's is shown in the table for the record.
fn hardening_cases() -> Vec<Case> {
    let wd = format!("{CASEDIR}/cwd");
    vec![
        // qemu-bridge-helper fopen()s a relative include path as is, i.e.
        // relative to the CALLER's working directory: any user can then
        // `include` a file of their own and grant themselves any bridge (REF:
        // granted). We refuse relative include paths.
        case("relative include (hole in REF)", "br0", Denied)
            .conf("include rel.conf\n")
            .dir(&wd, 4242, 4242, 0o755)
            .file(&format!("{wd}/rel.conf"), "allow br0\n", 4242, 4242, 0o644)
            .cwd(&wd)
            .outcome_only(),
        case("relative include ./ (hole in REF)", "br0", Denied)
            .conf("include ./rel.conf\n")
            .dir(&wd, 4242, 4242, 0o755)
            .file(&format!("{wd}/rel.conf"), "allow br0\n", 4242, 4242, 0o644)
            .cwd(&wd)
            .outcome_only(),
        // a.conf includes b.conf includes a.conf: REF recurses without limit
        // until fopen() runs out of fds (then goes on, and grants) or, with a
        // high RLIMIT_NOFILE, the stack overflows (SIGSEGV). The caller sets
        // that limit, so no answer of REF's is one to copy: we refuse.
        case("include cycle a->b->a", "br0", ParseError)
            .conf("include /etc/qemu/a.conf\n")
            .etc("a.conf", "allow br0\ninclude /etc/qemu/b.conf\n")
            .etc("b.conf", "allow br1\ninclude /etc/qemu/a.conf\n"),
        case("bridge.conf includes itself", "br0", ParseError)
            .conf("allow br0\ninclude /etc/qemu/bridge.conf\n"),
        // Fail closed: where a limit or check of ours keeps us from reading a
        // file that REF reads, the call fails; ignoring the file could drop a
        // deny (REF: denied).
        case("include over 1 MiB holding a deny", "br0", ParseError)
            .conf("allow all\ninclude /etc/qemu/inc.conf\n")
            .etc(
                "inc.conf",
                &format!(
                    "deny br0\n{}",
                    format!("#{}\n", "x".repeat(999)).repeat(1050)
                ),
            ),
        case("1025th file holding a deny", "br0", ParseError)
            .conf(&format!(
                "allow all\n{}include /etc/qemu/d.conf\n",
                "include /etc/qemu/a.conf\n".repeat(1023)
            ))
            .etc("a.conf", "allow br1\n")
            .etc("d.conf", "deny br0\n"),
        case(
            "includes nested 9 deep, a deny at the bottom",
            "br0",
            ParseError,
        )
        .conf("allow all\ninclude /etc/qemu/n1.conf\n")
        .etc("n1.conf", "include /etc/qemu/n2.conf\n")
        .etc("n2.conf", "include /etc/qemu/n3.conf\n")
        .etc("n3.conf", "include /etc/qemu/n4.conf\n")
        .etc("n4.conf", "include /etc/qemu/n5.conf\n")
        .etc("n5.conf", "include /etc/qemu/n6.conf\n")
        .etc("n6.conf", "include /etc/qemu/n7.conf\n")
        .etc("n7.conf", "include /etc/qemu/n8.conf\n")
        .etc("n8.conf", "include /etc/qemu/n9.conf\n")
        .etc("n9.conf", "deny br0\n"),
        case(
            "relative include in an include, then a deny",
            "br0",
            ParseError,
        )
        .conf("allow all\ninclude /etc/qemu/inc.conf\n")
        .etc("inc.conf", "include rel.conf\ndeny br0\n"),
        case("world-writable include holding a deny", "br0", ParseError)
            .conf("allow all\ninclude /etc/qemu/inc.conf\n")
            .file("/etc/qemu/inc.conf", "deny br0\n", 0, 0, 0o666),
        // Bridge names are checked in the arguments: a leading '-', control
        // characters and bytes that are not UTF-8 are refused (REF: granted,
        // these bridges exist). So are names no interface can have ('/', ':',
        // '%', whitespace, empty, `.`, `..`): REF says `denied' or fails.
        case("bridge `-x' (exists), allow all", "-x", Failed).conf("allow all\n"),
        case("bridge `b\\x01c' (exists), allow all", "", Failed)
            .bridge_bytes(b"b\x01c")
            .conf("allow all\n"),
        case("bridge `br\\xff' (exists), allow all", "", Failed)
            .bridge_bytes(b"br\xff")
            .conf("allow all\n"),
        case("bridge `br0/x', allow br0", "br0/x", Failed).conf("allow br0\n"),
        case("bridge `.', allow br0", ".", Failed).conf("allow br0\n"),
        case("bridge `a%d', allow br0", "a%d", Failed).conf("allow br0\n"),
        // --fd= is plain decimal (REF uses atoi: a sign, spaces, junk after).
        case("--fd=+N", "br0", Failed)
            .conf("allow br0\n")
            .fd_arg("+{}"),
        case("--fd=' N'", "br0", Failed)
            .conf("allow br0\n")
            .fd_arg(" {}"),
        case("--fd=Nx", "br0", Failed)
            .conf("allow br0\n")
            .fd_arg("{}x"),
        // World-writable or not-root-owned ACL files: anyone (or that owner)
        // could grant any bridge; REF uses them. We refuse them, naming the file.
        case("bridge.conf world-writable", "br0", Denied)
            .file(CONF, "allow br0\n", 0, 0, 0o666)
            .outcome_only(),
        case("bridge.conf owned by the caller", "br0", Denied)
            .file(CONF, "allow br0\n", 4242, 4242, 0o644)
            .outcome_only(),
        case("bridge.conf owned by another user", "br0", Denied)
            .file(CONF, "allow br0\n", 4300, 0, 0o644)
            .outcome_only(),
        // Like sudo-rs, we also refuse group-writable ACL files (e.g. root:qemu
        // 0664); REF uses them.
        case("bridge.conf group-writable", "br0", Denied)
            .file(CONF, "allow br0\n", 0, 4244, 0o664)
            .outcome_only(),
        // An insecure include refuses the whole ACL (fail closed: it could
        // hold a deny).
        case("include world-writable", "br0", ParseError)
            .conf("include /etc/qemu/inc.conf\n")
            .file("/etc/qemu/inc.conf", "allow br0\n", 0, 0, 0o666),
        case("include owned by the caller", "br0", ParseError)
            .conf("include /etc/qemu/inc.conf\n")
            .file("/etc/qemu/inc.conf", "allow br0\n", 4242, 4242, 0o644),
    ]
}

/// Files whose name must appear on our stderr for each hardening case.
fn hardening_must_name(case: &str) -> Option<&'static str> {
    match case {
        "bridge.conf world-writable"
        | "bridge.conf group-writable"
        | "bridge.conf owned by the caller"
        | "bridge.conf owned by another user" => Some(CONF),
        "include world-writable"
        | "include owned by the caller"
        | "include over 1 MiB holding a deny"
        | "relative include in an include, then a deny"
        | "world-writable include holding a deny" => Some("/etc/qemu/inc.conf"),
        "1025th file holding a deny" => Some("more than 1024 files"),
        "includes nested 9 deep, a deny at the bottom" => Some("/etc/qemu/n8.conf:1"),
        "include cycle a->b->a" => Some("/etc/qemu/b.conf:2: include cycle"),
        "bridge.conf includes itself" => Some("include cycle"),
        "bridge `-x' (exists), allow all" => Some("invalid bridge name `-x'"),
        "bridge `b\\x01c' (exists), allow all" => Some("invalid bridge name `b\\x01c'"),
        "bridge `br\\xff' (exists), allow all" => Some("not valid UTF-8"),
        "--fd=+N" | "--fd=' N'" | "--fd=Nx" => Some("invalid --fd="),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// The harness: tests/scripts/acl_compat/run_cases.sh runs
// tests/tools/acl_harness.py on the cases (Python data written here).

fn py_escape(s: &[u8], prefix: &str) -> String {
    let mut o = String::from(prefix);
    o.push('"');
    for &b in s {
        if b.is_ascii_alphanumeric() || b" _./-:".contains(&b) {
            o.push(b as char);
        } else {
            let _ = write!(o, "\\x{b:02x}");
        }
    }
    o.push('"');
    o
}

fn py_cases(cases: &[Case]) -> String {
    let mut o = String::from("CASES = [\n");
    for c in cases {
        let files: Vec<String> = c
            .files
            .iter()
            .map(|f| {
                format!(
                    "({}, {}, {}, {}, 0o{:o})",
                    py_escape(f.path.as_bytes(), ""),
                    py_escape(&f.content, "b"),
                    f.uid,
                    f.gid,
                    f.mode
                )
            })
            .collect();
        let dirs: Vec<String> = c
            .dirs
            .iter()
            .map(|(p, u, g, m)| format!("({}, {u}, {g}, 0o{m:o})", py_escape(p.as_bytes(), "")))
            .collect();
        let links: Vec<String> = c
            .links
            .iter()
            .map(|(p, t)| {
                format!(
                    "({}, {})",
                    py_escape(p.as_bytes(), ""),
                    py_escape(t.as_bytes(), "")
                )
            })
            .collect();
        let groups: Vec<String> = c.groups.iter().map(|g| g.to_string()).collect();
        let _ = writeln!(
            o,
            " dict(name={}, bridge={}, fd_arg={}, uid={}, gid={}, groups=[{}], cwd={}, files=[{}], dirs=[{}], links=[{}]),",
            py_escape(c.name.as_bytes(), ""),
            py_escape(&c.bridge, "b"),
            py_escape(c.fd_arg.as_bytes(), "b"),
            c.uid,
            c.gid,
            groups.join(", "),
            py_escape(c.cwd.as_bytes(), ""),
            files.join(", "),
            dirs.join(", "),
            links.join(", ")
        );
    }
    o.push_str("]\n");
    o
}

struct Res {
    class: String,
    rc: i32,
    nfds: usize,
    tap: String,
    stderr: String,
}

impl Res {
    fn short(&self) -> String {
        if self.class == "granted" {
            format!("granted ({})", self.tap)
        } else {
            format!("{} (rc={})", self.class, self.rc)
        }
    }
}

/// Run the cases in one sandbox. Returns None (after saying why) when the
/// reference helper is not installed and we are not under CI.
fn run(test: &str, cases: &[Case]) -> Option<Vec<(Option<Res>, Option<Res>)>> {
    let cases_file = common::temp_file("cases.py", &py_cases(cases));
    let mut sandbox = Sandbox::new(test, "acl_compat/run_cases.sh")
        .arg(&cases_file)
        .arg(CASEDIR);
    for b in BRIDGES {
        sandbox = sandbox.arg(*b);
    }
    // The bridges whose names only qemu-bridge-helper accepts.
    for b in ["-x".as_bytes(), b"b\x01c", b"br\xff"] {
        sandbox = sandbox.arg(std::ffi::OsStr::from_bytes(b));
    }
    let r = sandbox.run().ok();
    let _ = std::fs::remove_dir_all(cases_file.parent().unwrap());
    if r.stdout.lines().any(|l| l == "NO_REF=1") {
        if std::env::var_os("CI").is_some() {
            panic!(
                "/usr/lib/qemu/qemu-bridge-helper is missing: CI must install qemu-system-common"
            );
        }
        eprintln!(
            "\n*** SKIPPED: no reference qemu-bridge-helper (install qemu-system-common) ***\n"
        );
        return None;
    }
    let mut out: Vec<(Option<Res>, Option<Res>)> = cases.iter().map(|_| (None, None)).collect();
    for line in r.stdout.lines() {
        let f: Vec<&str> = line.splitn(10, '\t').collect();
        if f.len() != 10 || f[0] != "RES" {
            continue;
        }
        let i = cases
            .iter()
            .position(|c| c.name == f[1])
            .unwrap_or_else(|| panic!("harness reported unknown case {:?}", f[1]));
        let res = Res {
            class: f[3].to_string(),
            rc: f[4].parse().unwrap_or(-1),
            nfds: f[5].parse().unwrap_or(0),
            tap: f[6].to_string(),
            stderr: f[9].to_string(),
        };
        if f[2] == "REF" {
            out[i].0 = Some(res);
        } else {
            out[i].1 = Some(res);
        }
    }
    for (c, (rf, vh)) in cases.iter().zip(&out) {
        if vh.is_none() || rf.is_none() {
            r.fail(&format!("case {:?} produced no result", c.name));
        }
    }
    Some(out)
}

fn table(cases: &[Case], res: &[(Option<Res>, Option<Res>)], verdicts: &[String]) -> String {
    let w = cases
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(10)
        .max(4);
    let b = cases
        .iter()
        .map(|c| c.bridge.escape_ascii().to_string().len())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{:<w$}  {:<b$}  {:<20}  {:<20}  verdict",
        "case", "bridge", "REF", "VH"
    );
    let _ = writeln!(t, "{}", "-".repeat(w + b + 60));
    for ((c, (rf, vh)), v) in cases.iter().zip(res).zip(verdicts) {
        let rs = rf
            .as_ref()
            .map(Res::short)
            .unwrap_or_else(|| "(not run)".into());
        let vs = vh.as_ref().map(Res::short).unwrap_or_default();
        let _ = writeln!(
            t,
            "{:<w$}  {:<b$}  {:<20}  {:<20}  {}",
            c.name,
            if c.bridge.is_empty() {
                "''".to_string()
            } else {
                c.bridge.escape_ascii().to_string()
            },
            rs,
            vs,
            v
        );
    }
    t
}

fn stderr_detail(cases: &[Case], res: &[(Option<Res>, Option<Res>)], bad: &[usize]) -> String {
    let mut t = String::new();
    for &i in bad {
        let (rf, vh) = &res[i];
        let _ = writeln!(t, "[{}]", cases[i].name);
        if let Some(r) = rf {
            let _ = writeln!(
                t,
                "   REF: class={} rc={} fds={} stderr: {}",
                r.class, r.rc, r.nfds, r.stderr
            );
        }
        if let Some(v) = vh {
            let _ = writeln!(
                t,
                "   VH:  class={} rc={} fds={} stderr: {}",
                v.class, v.rc, v.nfds, v.stderr
            );
        }
    }
    t
}

#[test]
fn differential_matches_reference() {
    const TEST: &str = "differential_matches_reference";
    if !common::have_root(TEST) {
        return;
    }
    let cases = compliance_cases();
    assert!(cases.len() >= 30);
    let Some(res) = run(TEST, &cases) else { return };
    let mut verdicts = vec![];
    let mut bad = vec![];
    for (i, (c, (rf, vh))) in cases.iter().zip(&res).enumerate() {
        let (rf, vh) = (rf.as_ref().unwrap(), vh.as_ref().unwrap());
        let mut problems = vec![];
        if rf.class != c.expect.name() {
            problems.push(format!(
                "REF is {} (expected {}: environment?)",
                rf.class,
                c.expect.name()
            ));
        }
        if vh.rc != rf.rc {
            problems.push(format!("exit {} vs {}", vh.rc, rf.rc));
        }
        if (vh.nfds > 0) != (rf.nfds > 0) {
            problems.push(format!("fds {} vs {}", vh.nfds, rf.nfds));
        }
        let fatal_vh = vh.class.starts_with("BROKEN") || vh.class == "timeout";
        if fatal_vh || (!c.outcome_only && vh.class != rf.class) {
            problems.push(format!("class {} vs {}", vh.class, rf.class));
        }
        if problems.is_empty() {
            verdicts.push(if c.outcome_only && vh.class != rf.class {
                "same outcome".into()
            } else {
                "same".into()
            });
        } else {
            verdicts.push(format!("DIFFERENT: {}", problems.join("; ")));
            bad.push(i);
        }
    }
    let t = table(&cases, &res, &verdicts);
    println!(
        "\nvnet-helper vs qemu-bridge-helper: {} cases\n{t}",
        cases.len()
    );
    if !bad.is_empty() {
        panic!(
            "{} of {} cases differ from qemu-bridge-helper (see the table above):\n{}",
            bad.len(),
            cases.len(),
            stderr_detail(&cases, &res, &bad)
        );
    }
}

#[test]
fn hardening_differences() {
    const TEST: &str = "hardening_differences";
    if !common::have_root(TEST) {
        return;
    }
    let cases = hardening_cases();
    let Some(res) = run(TEST, &cases) else { return };
    let mut verdicts = vec![];
    let mut bad = vec![];
    for (i, (c, (_, vh))) in cases.iter().zip(&res).enumerate() {
        let vh = vh.as_ref().unwrap();
        let mut problems = vec![];
        let ok_outcome = match c.expect {
            Granted => vh.class == "granted",
            // Refusals: exit 1, no fd; the wording is ours (checked below).
            _ => {
                vh.rc == 1
                    && vh.nfds == 0
                    && !vh.class.starts_with("BROKEN")
                    && vh.class != "timeout"
            }
        };
        if !ok_outcome || (!c.outcome_only && vh.class != c.expect.name()) {
            problems.push(format!(
                "VH is {} (rc={}), expected {}",
                vh.class,
                vh.rc,
                c.expect.name()
            ));
        }
        if let Some(file) = hardening_must_name(&c.name) {
            if !vh.stderr.contains(file) {
                problems.push(format!("stderr does not name {file}"));
            }
        }
        if problems.is_empty() {
            verdicts.push(format!("ok (expected {})", c.expect.name()));
        } else {
            verdicts.push(format!("WRONG: {}", problems.join("; ")));
            bad.push(i);
        }
    }
    let t = table(&cases, &res, &verdicts);
    let all: Vec<usize> = (0..cases.len()).collect();
    println!(
        "\nhardening: where vnet-helper deliberately differs from qemu-bridge-helper\n{t}\nstderr:\n{}",
        stderr_detail(&cases, &res, &all)
    );
    if !bad.is_empty() {
        panic!(
            "{} of {} hardening cases wrong (see the table above):\n{}",
            bad.len(),
            cases.len(),
            stderr_detail(&cases, &res, &bad)
        );
    }
}

/// The differential fuzzer (tests/acl_compat/fuzz.rs): a few thousand
/// generated configurations and bridges, decided by both helpers; any
/// disagreement outside the documented differences fails, with the smallest
/// reproduction.
#[test]
fn differential_fuzz() {
    const TEST: &str = "differential_fuzz";
    if !common::have_root(TEST) {
        return;
    }
    fuzz::differential(TEST);
}
