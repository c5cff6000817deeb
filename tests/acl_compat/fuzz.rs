//! The differential fuzzer: generated bridge.conf files (and includes) and
//! bridge names, each decided by qemu-bridge-helper and by vnet-helper as uid
//! 4242 in the sandbox (tests/scripts/acl_compat/fuzz.sh runs
//! tests/tools/acl_fuzz.py); any disagreement outside the documented hardening
//! differences fails the run with the smallest reproduction found by dropping
//! files and lines while the disagreement persists.
//!
//! What is generated: valid and invalid lines; odd whitespace (tabs, CR, VT,
//! FF, several spaces, CRLF, no final newline); case variants and misspellings
//! of the commands; comments, also after names; NUL bytes; lines around
//! qemu's 4095-byte fgets buffer; long, 15/16/17-byte and non-ASCII names;
//! includes of missing, unreadable (0600), empty and directory paths, chains
//! deeper than our limit, cycles (qemu-bridge-helper overflows its stack on
//! those: a documented difference), relative and empty include paths; every
//! order of allow/deny/all. Bridges requested: existing ones (also `-x`,
//! `b\x01c` and `br\xff`, which we refuse in the arguments), missing ones,
//! `all`, empty, too long.
//!
//! Seeded and bounded: `VH_FUZZ_SEED` picks the seed (else the clock; it is
//! printed either way), `VH_FUZZ_CASES` the number of decisions (default
//! 3000, four bridges per configuration). By hand:
//! `sudo env VH_FUZZ_CASES=100000 cargo test --release --test acl_compat differential_fuzz -- --nocapture`.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::time::Instant;

use crate::common::{self, Sandbox};

/// splitmix64: small, seedable, good enough to pick cases.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    /// One of `(weight, bytes)` pairs, by weight.
    pub fn bytes(&mut self, items: &[(usize, &'static [u8])]) -> &'static [u8] {
        self.weighted::<&'static [u8]>(items)
    }
    /// An item of `(weight, item)` pairs, by weight.
    pub fn weighted<'a, T>(&mut self, items: &'a [(usize, T)]) -> &'a T {
        let total: usize = items.iter().map(|(w, _)| w).sum();
        let mut n = self.below(total);
        for (w, item) in items {
            if n < *w {
                return item;
            }
            n -= w;
        }
        unreachable!()
    }
}

/// Bridges that exist in the sandbox. The last four are refused in our
/// arguments (a documented difference): qemu-bridge-helper uses them.
pub const BRIDGES: &[&[u8]] = &[
    b"br0",
    b"br1",
    b"BR0",
    b"br-abcdefghijkl",
    "\u{e9}t\u{e9}0".as_bytes(),
    b"-x",
    b"b\x01c",
    b"br\xff",
    "br\u{202e}0".as_bytes(),
];
/// Names asked for that are no bridge (or cannot be one).
const MISSING: &[&[u8]] = &[
    b"br9",
    b"all",
    b"ALL",
    b"",
    b"br-abcdefghijklm",
    b"br-abcdefghijklmn",
    b"br0 ",
    b"br0#",
];
/// Names in rules: the bridges, near misses, keywords and their variants.
const NAMES: &[&[u8]] = &[
    b"br0",
    b"br0",
    b"br1",
    b"BR0",
    b"br-abcdefghijkl",
    "\u{e9}t\u{e9}0".as_bytes(),
    b"-x",
    b"b\x01c",
    b"br\xff",
    b"br9",
    b"all",
    b"all",
    b"all",
    b"ALL",
    b"All",
    b"all # everyone",
    b"br0 # mine",
    b"br0 br1",
    b"br-abcdefghijklm",
    b"br-abcdefghijklmn",
    b"",
    b"br",
    b"br00",
    "br0\u{a0}".as_bytes(),
];
const COMMANDS: &[(usize, &[u8])] = &[
    (40, b"allow"),
    (40, b"deny"),
    (2, b"ALLOW"),
    (2, b"Allow"),
    (2, b"DENY"),
    (2, b"alow"),
    (1, b"allowx"),
    (1, b"include"),
    (1, b"#allow"),
];
const SEPARATORS: &[(usize, &[u8])] = &[
    (60, b" "),
    (15, b"\t"),
    (5, b"   "),
    (4, b" \t"),
    (4, b"\t "),
    (3, b"\x0c"),
    (3, b"\x0b"),
    (2, b"\r"),
    (2, b""),
];
const LEADS: &[(usize, &[u8])] = &[
    (75, b""),
    (6, b" "),
    (6, b"\t"),
    (3, b"  \t "),
    (3, b"\x0c"),
    (3, b"\x0b"),
    (2, b"\r"),
    (2, b"\0"),
];
const TRAILS: &[(usize, &[u8])] = &[
    (70, b""),
    (8, b" "),
    (6, b"\t"),
    (6, b"\r"),
    (3, b"\x0b"),
    (3, b"\x0c"),
    (2, b"\0junk"),
    (2, b" # c"),
];
/// Include files the generator writes (created or not, see [`gen_case`]).
const INCLUDES: usize = 11;
const ETC: &str = "/etc/qemu";

fn include_path(i: usize) -> Vec<u8> {
    format!("{ETC}/i{i}.conf").into_bytes()
}

/// One file of a configuration: lines with their own terminators, so that
/// dropping one keeps the others as they were.
#[derive(Clone, Debug)]
pub struct File {
    pub path: Vec<u8>,
    pub lines: Vec<Vec<u8>>,
    pub mode: u32,
    pub dir: bool,
}

/// A configuration and the bridges asked for under it.
#[derive(Clone, Debug)]
pub struct Config {
    pub files: Vec<File>,
    pub bridges: Vec<Vec<u8>>,
}

fn name(rng: &mut Rng) -> Vec<u8> {
    if rng.chance(3) {
        // Around the limits: 14 to 18 bytes, sometimes not ASCII.
        let n = 14 + rng.below(5);
        let fill: &[u8] = if rng.chance(30) {
            "\u{e9}".as_bytes()
        } else {
            b"a"
        };
        let mut v = b"br".to_vec();
        while v.len() < n {
            v.extend_from_slice(fill);
        }
        v.truncate(n);
        return v;
    }
    rng.pick(NAMES).to_vec()
}

fn include_target(rng: &mut Rng, from: usize) -> Vec<u8> {
    match rng.below(100) {
        // Mostly forwards (acyclic); sometimes anywhere (cycles).
        0..=75 if from + 1 < INCLUDES => include_path(from + 1 + rng.below(INCLUDES - from - 1)),
        0..=79 => include_path(rng.below(INCLUDES)),
        80 => format!("{ETC}/bridge.conf").into_bytes(),
        81..=85 => format!("{ETC}/missing.conf").into_bytes(),
        86..=89 => format!("{ETC}/secret.conf").into_bytes(),
        90..=92 => format!("{ETC}/empty.conf").into_bytes(),
        93..=94 => format!("{ETC}/dir").into_bytes(),
        95..=96 => b"i1.conf".to_vec(),
        97..=98 => b"".to_vec(),
        _ => format!("{ETC}//i1.conf").into_bytes(),
    }
}

/// Only what qemu-bridge-helper accepts, so that a file of them is valid.
const CLEAN_COMMANDS: &[(usize, &[u8])] = &[(50, b"allow"), (50, b"deny")];
const CLEAN_SEPARATORS: &[(usize, &[u8])] = &[(60, b" "), (20, b"\t"), (10, b"   "), (10, b" \t")];
const CLEAN_LEADS: &[(usize, &[u8])] =
    &[(80, b""), (8, b" "), (8, b"\t"), (2, b"\x0c"), (2, b"\r")];

/// One line (with its terminator) of file number `from` (0 = bridge.conf).
/// A `clean` line is one qemu-bridge-helper accepts.
fn line(rng: &mut Rng, from: usize, clean: bool) -> Vec<u8> {
    let mut l = rng.bytes(if clean { CLEAN_LEADS } else { LEADS }).to_vec();
    let separators = if clean { CLEAN_SEPARATORS } else { SEPARATORS };
    match rng.below(if clean { 90 } else { 100 }) {
        0..=61 => {
            l.extend_from_slice(rng.bytes(if clean { CLEAN_COMMANDS } else { COMMANDS }));
            l.extend_from_slice(rng.bytes(separators));
            let mut n = name(rng);
            while clean && n.len() >= 16 {
                n = name(rng);
            }
            l.extend_from_slice(&n);
            l.extend_from_slice(rng.bytes(TRAILS));
        }
        62..=75 => {
            l.extend_from_slice(if clean || rng.chance(90) {
                b"include"
            } else {
                b"INCLUDE"
            });
            l.extend_from_slice(rng.bytes(separators));
            l.extend_from_slice(&include_target(rng, from));
            l.extend_from_slice(rng.bytes(TRAILS));
        }
        76..=83 => {
            l.push(b'#');
            l.extend_from_slice(rng.bytes(COMMANDS));
            l.push(b' ');
            l.extend_from_slice(&name(rng));
        }
        84..=86 => {}
        87..=89 => {
            // Around qemu's 4095-byte buffer: the rest is a line of its own.
            l.clear();
            l.push(if clean || rng.chance(70) { b'#' } else { b'a' });
            l.extend(std::iter::repeat_n(b'x', 4090 + rng.below(10)));
            let tails: [&[u8]; 4] = [b"deny br0", b"allow br1", b" deny all", b"x y"];
            let tail: &[u8] = rng.pick::<&[u8]>(&tails);
            l.extend_from_slice(tail);
        }
        _ => {
            // Junk: random bytes from a small alphabet.
            let alphabet = b"ab #\t\r\x0b\x0c\0\xff\xc3\xa9/lowdenyi";
            for _ in 0..rng.below(12) {
                l.push(*rng.pick(alphabet));
            }
        }
    }
    l.extend_from_slice(if rng.chance(8) { b"\r\n" } else { b"\n" });
    l
}

fn file(rng: &mut Rng, path: Vec<u8>, from: usize, clean: bool) -> File {
    let n = rng.below(if from == 0 { 7 } else { 5 });
    let mut lines: Vec<Vec<u8>> = (0..n).map(|_| line(rng, from, clean)).collect();
    if let Some(last) = lines.last_mut() {
        if rng.chance(10) {
            // No newline at the end of the file.
            while last.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                last.pop();
            }
        }
    }
    File {
        path,
        lines,
        mode: 0o644,
        dir: false,
    }
}

/// A configuration: bridge.conf, some of the include files (each mostly
/// including later ones), the special files, and four bridges to ask for.
pub fn gen_case(rng: &mut Rng) -> Config {
    let mut files = Vec::new();
    let chain = rng.chance(6);
    if !rng.chance(2) {
        // Mostly a bridge.conf qemu accepts, so that the rules matter.
        let clean = rng.chance(70);
        let mut main = file(rng, format!("{ETC}/bridge.conf").into_bytes(), 0, clean);
        if rng.chance(1) {
            main.mode = 0o600;
        }
        if chain || rng.chance(20) {
            // Start a chain, sometimes deeper than our limit of 8.
            let at = if chain {
                0
            } else {
                rng.below(main.lines.len() + 1)
            };
            main.lines
                .insert(at, b"include /etc/qemu/i0.conf\n".to_vec());
        }
        files.push(main);
    }
    for i in 0..INCLUDES {
        if chain || rng.chance(50) {
            let clean = rng.chance(50);
            let mut f = file(rng, include_path(i), i, clean);
            if chain && i + 1 < INCLUDES {
                f.lines
                    .insert(0, format!("include {ETC}/i{}.conf\n", i + 1).into_bytes());
            }
            files.push(f);
        }
    }
    files.push(File {
        path: format!("{ETC}/secret.conf").into_bytes(),
        lines: vec![if rng.chance(50) {
            b"deny all\n".to_vec()
        } else {
            b"allow all\n".to_vec()
        }],
        mode: 0o600,
        dir: false,
    });
    files.push(File {
        path: format!("{ETC}/empty.conf").into_bytes(),
        lines: vec![],
        mode: 0o644,
        dir: false,
    });
    files.push(File {
        path: format!("{ETC}/dir").into_bytes(),
        lines: vec![],
        mode: 0o755,
        dir: true,
    });
    let bridges = (0..4)
        .map(|_| {
            if rng.chance(8) {
                rng.pick(&BRIDGES[5..]).to_vec()
            } else if rng.chance(75) {
                rng.pick(&BRIDGES[..5]).to_vec()
            } else {
                rng.pick(MISSING).to_vec()
            }
        })
        .collect();
    Config { files, bridges }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The runner's input: one `C` line per configuration.
fn cases_text(configs: &[Config]) -> String {
    let mut o = String::new();
    for (i, c) in configs.iter().enumerate() {
        let files: Vec<String> = c
            .files
            .iter()
            .map(|f| {
                if f.dir {
                    format!("{}:D", hex(&f.path))
                } else {
                    format!("{}:{}:{:o}", hex(&f.path), hex(&f.lines.concat()), f.mode)
                }
            })
            .collect();
        let bridges: Vec<String> = c.bridges.iter().map(|b| hex(b)).collect();
        let _ = writeln!(o, "C\t{i}\t{}\t{}", files.join(";"), bridges.join(","));
    }
    o
}

/// Both helpers' answers for one bridge of one configuration.
#[derive(Clone, Debug)]
pub struct Answer {
    pub ref_class: String,
    pub ref_rc: i32,
    pub vh_class: String,
    pub vh_rc: i32,
    pub vh_stderr: String,
    pub ref_stderr: String,
}

/// What our stderr says when we refuse on purpose what qemu-bridge-helper
/// accepts (README, "Hardening beyond qemu-bridge-helper").
pub const DOCUMENTED: &[&str] = &[
    "invalid bridge name",
    "not valid UTF-8",
    "is not absolute",
    "include cycle",
    "nested more than",
    "files to read",
    "larger than",
    "not root",
    "writable by group or others",
    "not a regular file",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Same,
    /// A documented difference: the marker found on our stderr.
    Documented(&'static str),
    Different(String),
}

pub fn verdict(a: &Answer) -> Verdict {
    let broken = |c: &str| c == "timeout" || c == "crash" || c.starts_with("BROKEN");
    if broken(&a.vh_class) {
        return Verdict::Different(format!("vnet-helper: {}", a.vh_class));
    }
    if a.ref_class == a.vh_class && a.ref_rc == a.vh_rc {
        return Verdict::Same;
    }
    if a.vh_class != "granted" {
        if let Some(m) = DOCUMENTED.iter().find(|m| a.vh_stderr.contains(*m)) {
            return Verdict::Documented(m);
        }
    }
    Verdict::Different(format!(
        "REF {} (rc {}), VH {} (rc {})",
        a.ref_class, a.ref_rc, a.vh_class, a.vh_rc
    ))
}

/// Run `configs` in one sandbox; the answers by (configuration, bridge).
/// None if the reference helper is missing (outside CI).
pub fn run(test: &str, configs: &[Config]) -> Option<Vec<Vec<Option<Answer>>>> {
    let cases = common::temp_file("fuzz.txt", &cases_text(configs));
    let mut sandbox = Sandbox::new(test, "acl_compat/fuzz.sh").arg(&cases);
    for b in BRIDGES {
        sandbox = sandbox.arg(OsStr::from_bytes(b));
    }
    let r = sandbox.run();
    let _ = std::fs::remove_dir_all(cases.parent().unwrap());
    if r.stdout.lines().any(|l| l == "NO_REF=1") {
        assert!(
            std::env::var_os("CI").is_none(),
            "/usr/lib/qemu/qemu-bridge-helper is missing: CI must install qemu-system-common"
        );
        eprintln!("\n*** SKIPPED: no reference qemu-bridge-helper ***\n");
        return None;
    }
    let r = r.ok();
    let mut out: Vec<Vec<Option<Answer>>> = configs
        .iter()
        .map(|c| vec![None; c.bridges.len()])
        .collect();
    for line in r.stdout.lines() {
        let f: Vec<&str> = line.splitn(9, '\t').collect();
        if f.len() != 9 || f[0] != "R" {
            continue;
        }
        let (i, j): (usize, usize) = (f[1].parse().unwrap(), f[2].parse().unwrap());
        out[i][j] = Some(Answer {
            ref_class: f[3].into(),
            ref_rc: f[4].parse().unwrap_or(-1),
            vh_class: f[5].into(),
            vh_rc: f[6].parse().unwrap_or(-1),
            vh_stderr: f[7].into(),
            ref_stderr: f[8].into(),
        });
    }
    if out.iter().flatten().any(Option::is_none) {
        r.fail("the fuzz runner did not answer every case");
    }
    Some(out)
}

/// Every configuration one step smaller than `c`: one file or one line less.
fn smaller(c: &Config) -> Vec<Config> {
    let mut out = Vec::new();
    for i in 0..c.files.len() {
        let mut s = c.clone();
        s.files.remove(i);
        out.push(s);
    }
    for (i, f) in c.files.iter().enumerate() {
        for j in 0..f.lines.len() {
            let mut s = c.clone();
            s.files[i].lines.remove(j);
            out.push(s);
        }
    }
    out
}

/// Drop files and lines while the disagreement persists (one sandbox run per
/// round, every candidate of the round in it).
pub fn shrink(test: &str, mut c: Config) -> Config {
    for _ in 0..60 {
        let candidates = smaller(&c);
        if candidates.is_empty() {
            break;
        }
        let Some(answers) = run(test, &candidates) else {
            break;
        };
        let still = candidates
            .iter()
            .zip(&answers)
            .find(|(_, a)| matches!(verdict(a[0].as_ref().unwrap()), Verdict::Different(_)));
        match still {
            Some((s, _)) => c = s.clone(),
            None => break,
        }
    }
    c
}

/// The configuration, every byte visible (`\n`, `\x0b`, `\xff`...).
pub fn show(c: &Config) -> String {
    let mut o = String::new();
    for f in &c.files {
        let path = f.path.escape_ascii();
        if f.dir {
            let _ = writeln!(o, "  {path}: a directory");
            continue;
        }
        let _ = writeln!(o, "  {path} (mode {:o}):", f.mode);
        for l in &f.lines {
            let _ = writeln!(o, "      \"{}\"", l.escape_ascii());
        }
    }
    let _ = writeln!(o, "  bridge asked for: \"{}\"", c.bridges[0].escape_ascii());
    o
}

/// The seed and the number of decisions, from VH_FUZZ_SEED / VH_FUZZ_CASES.
pub fn settings(default_cases: usize) -> (u64, usize) {
    let seed = std::env::var("VH_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    let cases = std::env::var("VH_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_cases);
    (seed, cases)
}

/// The whole run: generate, decide, compare, shrink the first disagreement.
pub fn differential(test: &str) {
    let (seed, cases) = settings(3000);
    println!("differential fuzz: seed {seed} (VH_FUZZ_SEED={seed} repeats it), {cases} decisions");
    let mut rng = Rng::new(seed);
    let configs: Vec<Config> = (0..cases.div_ceil(4)).map(|_| gen_case(&mut rng)).collect();
    let t0 = Instant::now();
    let Some(answers) = run(test, &configs) else {
        return;
    };
    let mut same = 0;
    let mut documented: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut different = Vec::new();
    let mut classes: std::collections::BTreeMap<String, usize> = Default::default();
    for (c, row) in configs.iter().zip(&answers) {
        for (j, a) in row.iter().enumerate() {
            let a = a.as_ref().unwrap();
            *classes
                .entry(format!("{}/{}", a.ref_class, a.vh_class))
                .or_default() += 1;
            match verdict(a) {
                Verdict::Same => same += 1,
                Verdict::Documented(m) => *documented.entry(m).or_default() += 1,
                Verdict::Different(why) => different.push((c, j, a.clone(), why)),
            }
        }
    }
    println!(
        "{} decisions in {:.1} s: {same} identical, {} documented differences {documented:?}, {} disagreements",
        same + documented.values().sum::<usize>() + different.len(),
        t0.elapsed().as_secs_f64(),
        documented.values().sum::<usize>(),
        different.len()
    );
    println!("outcomes (qemu-bridge-helper/vnet-helper): {classes:?}");
    let Some((c, j, a, why)) = different.first() else {
        return;
    };
    let mut one = (*c).clone();
    one.bridges = vec![c.bridges[*j].clone()];
    let small = shrink(test, one);
    panic!(
        "{} of {} decisions differ from qemu-bridge-helper (seed {seed}); first: {why}\n  REF stderr: {}\n  VH stderr:  {}\nsmallest reproduction:\n{}",
        different.len(),
        cases,
        a.ref_stderr,
        a.vh_stderr,
        show(&small)
    );
}
