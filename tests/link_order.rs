//! The code a drop-in call runs is placed together in the binary (link/cc.sh
//! orders the link by link/attach.order; HACKING.md "Measurements": it makes
//! the call ~13% faster). Checked on the binary cargo built for these tests,
//! no root needed:
//! - most functions of the list are still in the binary (otherwise the list
//!   is stale: rerun link/order.sh as root);
//! - those functions lie together at the start of the code, i.e. the
//!   ordering took effect (LLD did the link, cc.sh matched the names).

use std::path::Path;
use std::process::Command;

/// Found functions of the list must all lie within this many bytes.
const MAX_SPAN: u64 = 512 * 1024;
/// At least this share of the list must be found.
const MIN_FOUND_PERCENT: usize = 75;

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Symbol names -> the keys attach.order holds (link/cc.sh --keys).
fn keys(names: &[&str]) -> Vec<String> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new("sh")
        .arg(repo.join("link/cc.sh"))
        .arg("--keys")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("link/cc.sh --keys");
    let input = names.join("\n") + "\n";
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(input.as_bytes()).unwrap();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "link/cc.sh --keys failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn attach_path_code_is_together() {
    let bin = env!("CARGO_BIN_EXE_vnet-helper");
    let comment = run(Command::new("readelf").args(["-p", ".comment", bin]));
    if !comment.contains("Linker: LLD") {
        eprintln!("NOT RUN: {bin} was not linked by LLD, so link/cc.sh did not order it");
        return;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let list = std::fs::read_to_string(repo.join("link/attach.order")).unwrap();
    let wanted: Vec<&str> = list
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    // Only .text is ordered (.init, .iplt, glibc's __libc_freeres_fn are
    // sections of their own).
    let sections = run(Command::new("readelf").args(["-SW", bin]));
    let text = sections
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let i = f.iter().position(|w| *w == ".text")?;
            let addr = u64::from_str_radix(f.get(i + 2)?, 16).ok()?;
            let size = u64::from_str_radix(f.get(i + 4)?, 16).ok()?;
            Some(addr..addr + size)
        })
        .expect("no .text section");
    let nm = run(Command::new("nm").args(["--defined-only", bin]));
    let syms: Vec<(u64, &str)> = nm
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let addr = u64::from_str_radix(f.next()?, 16).ok()?;
            let kind = f.next()?;
            let name = f.next()?;
            ("tTwWiI".contains(kind) && text.contains(&addr)).then_some((addr, name))
        })
        .collect();
    let names: Vec<&str> = syms.iter().map(|s| s.1).collect();
    let sym_keys = keys(&names);
    let mut found = std::collections::BTreeSet::new();
    let (mut lo, mut hi) = (u64::MAX, 0);
    for ((addr, _), key) in syms.iter().zip(&sym_keys) {
        if wanted.contains(&key.as_str()) {
            found.insert(key.as_str());
            lo = lo.min(*addr);
            hi = hi.max(*addr);
        }
    }
    let missing: Vec<&&str> = wanted.iter().filter(|w| !found.contains(**w)).collect();
    assert!(
        found.len() * 100 >= wanted.len() * MIN_FOUND_PERCENT,
        "link/attach.order is stale: {} of its {} functions are not in {bin} (e.g. {:?}); \
         rerun link/order.sh as root",
        missing.len(),
        wanted.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(
        hi - lo <= MAX_SPAN,
        "the {} functions of link/attach.order found in {bin} span {} KB (at most {} KB): \
         link/cc.sh's ordering did not take effect",
        found.len(),
        (hi - lo) / 1024,
        MAX_SPAN / 1024
    );
}
