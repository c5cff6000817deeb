//! Crash fuzzing of every parser, on stable Rust (proptest as a plain random
//! and mutation engine): the ACL (`acl::load`, `acl::validate`), network
//! definitions (`definition::parse`), the command line (`args::parse`) and
//! `status`'s options. Inputs are random bytes and mutations of the valid
//! examples (acl/*.conf, the README's definition). For every input: no
//! panic, a bounded time, and every message one line with its control
//! characters escaped (no '\n', '\r', ESC, NUL, U+2028...).
//!
//! Seeded and bounded: `VH_FUZZ_SEED` picks the seed (else the clock; a
//! failure names it), `VH_FUZZ_CASES` the inputs per parser (default 3000).
//! By hand: `env VH_FUZZ_CASES=200000 cargo test --release --bins fuzz`.
//! Both are read when the tests are compiled (option_env!; cargo rebuilds
//! them when the variables change): nothing under src/ reads the
//! environment at run time, tests included.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};

use crate::acl::{self, AclFiles, ReadError};
use crate::output::non_printing;

/// Longest any one input may take (debug build, loaded machine).
const BOUND: Duration = Duration::from_secs(2);

fn settings() -> (u64, u32) {
    let seed = option_env!("VH_FUZZ_SEED")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    let cases = option_env!("VH_FUZZ_CASES")
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    (seed, cases)
}

/// Run `test` on `cases` inputs of `strategy`; a failure names the seed.
fn fuzz<S: Strategy>(
    what: &str,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let (seed, cases) = settings();
    let config = Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        max_shrink_iters: 2000,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{what}: seed {seed} (VH_FUZZ_SEED={seed} repeats it): {e}");
    }
}

/// One line, nothing a terminal would act on.
fn one_clean_line(what: &str, msg: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        !msg.contains(['\n', '\r']) && !msg.chars().any(non_printing),
        "{what}: message not one clean line: {msg:?}"
    );
    Ok(())
}

fn bounded(t0: Instant) -> Result<(), TestCaseError> {
    prop_assert!(t0.elapsed() < BOUND, "took {:?}", t0.elapsed());
    Ok(())
}

/// Bits that mean something to the parsers, spliced into the inputs.
const TOKENS: &[&str] = &[
    "allow",
    "deny",
    "include",
    "all",
    " ",
    "\t",
    "\n",
    "\r\n",
    "#",
    "br0",
    "/a",
    "/b",
    "/etc/qemu/bridge.conf",
    "\0",
    "\x0b",
    "\x0c",
    "\u{e9}",
    "\u{2028}",
    "\u{202e}",
    "\x1b[2J",
    "=",
    "\"",
    "'",
    "[",
    "]",
    "[[host]]",
    "[[forward]]",
    "{",
    "}",
    ",",
    ".",
    ":",
    "/24",
    "-",
    "--br=",
    "--fd=",
    "--use-vnet",
    "3",
    "0",
    "-1",
    "99999999999",
    "1e3",
    "true",
    "0x",
    "\\u0000",
    "\"\"\"",
    "'''",
    "nat",
    "bridged",
    "10.0.0.1",
    "::1",
    "52:54:00:00:00:10",
];

/// A mutation: (which, where, what) applied by [`mutate`].
type Op = (u8, usize, usize);

fn mutate(mut v: Vec<u8>, ops: &[Op]) -> Vec<u8> {
    for &(op, at, arg) in ops {
        let at = if v.is_empty() { 0 } else { at % (v.len() + 1) };
        match op % 7 {
            0 => v.insert(at, arg as u8),
            1 if at < v.len() => {
                v.remove(at);
            }
            2 if at < v.len() => v[at] = arg as u8,
            3 | 4 => {
                let t = TOKENS[arg % TOKENS.len()].as_bytes();
                v.splice(at..at, t.iter().copied());
            }
            5 => {
                // Repeat a slice (long lines, many includes).
                let end = (at + arg % 64).min(v.len());
                let piece = v[at..end].repeat(1 + arg % 70);
                v.splice(at..at, piece);
            }
            _ => v.truncate(at),
        }
    }
    v
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec((any::<u8>(), any::<usize>(), any::<usize>()), 0..12)
}

/// Inputs: random bytes, or a seed mutated.
fn inputs(seeds: &'static [&'static [u8]]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..400),
        3 => (0..seeds.len(), ops()).prop_map(move |(i, ops)| mutate(seeds[i].to_vec(), &ops)),
    ]
}

// ---------------------------------------------------------------------------
// The ACL.

/// ACL files in memory: bridge.conf, /a and /b; anything else is missing.
struct Files(Vec<(PathBuf, Vec<u8>)>);

impl AclFiles for Files {
    fn read(&self, path: &Path) -> Result<Vec<u8>, ReadError> {
        self.0
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, data)| data.clone())
            .ok_or_else(|| ReadError::Failed("No such file or directory".into()))
    }
}

const ACL_SEEDS: &[&[u8]] = &[
    include_bytes!("../acl/bridge.conf"),
    include_bytes!("../acl/alice.conf"),
    b"allow br0\ndeny br1\nallow all\ninclude /a\n",
    b"include /a\ninclude /b\ndeny all\n",
    b"  allow\tbr0 \r\n#c\ninclude /etc/qemu/bridge.conf\n",
];

#[test]
fn acl_parser_never_panics_and_says_one_line() {
    let strategy = (inputs(ACL_SEEDS), inputs(ACL_SEEDS), inputs(ACL_SEEDS));
    fuzz("acl", strategy, |(main, a, b)| {
        let files = Files(vec![
            (PathBuf::from(acl::DEFAULT_ACL_FILE), main),
            (PathBuf::from("/a"), a),
            (PathBuf::from("/b"), b),
        ]);
        let t0 = Instant::now();
        let mut problems = Vec::new();
        let loaded = acl::load(&files, acl::DEFAULT_ACL_FILE, &mut |p| {
            problems.push(p.to_string())
        });
        acl::validate(&files, acl::DEFAULT_ACL_FILE, &mut |p| {
            problems.push(p.to_string())
        });
        bounded(t0)?;
        if let Err(e) = &loaded {
            one_clean_line("acl load", e.message())?;
        }
        if let Ok(acl) = &loaded {
            let _ = acl.decide("br0");
        }
        for p in &problems {
            one_clean_line("acl problem", p)?;
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------
// Network definitions.

/// The README's example definition (the one ```toml block).
fn readme_example() -> &'static str {
    let readme = include_str!("../README.md");
    let start = readme.find("```toml\n").expect("README has a toml block") + 8;
    let len = readme[start..].find("```").expect("the block ends");
    &readme[start..start + len]
}

const DEFINITION_SEEDS: &[&[u8]] = &[
    b"address = \"10.200.0.1/24\"\n",
    b"mode = \"bridged\"\nuplink = \"eth0\"\n",
    b"mode = \"isolated\"\naddress = \"10.1.0.1/24\"\nipv6 = \"fd42:1:2:3::1/64\"\n",
    b"address = \"10.2.0.1/24\"\n[[forward]]\nproto = \"udp\"\nport = \"8000-8010\"\nto = \"10.2.0.9:8000\"\n",
];

#[test]
fn definition_parser_never_panics_and_says_one_line() {
    let seeds = prop_oneof![
        1 => inputs(DEFINITION_SEEDS),
        2 => ops().prop_map(|ops| mutate(readme_example().as_bytes().to_vec(), &ops)),
    ];
    let names = prop_oneof![
        4 => Just("vnet0".to_string()),
        1 => any::<String>(),
    ];
    fuzz("definition", (seeds, names), |(text, name)| {
        let text = String::from_utf8_lossy(&text);
        let t0 = Instant::now();
        let parsed =
            crate::network::definition::parse(&text, "/etc/vnet-helper/networks/x.toml", &name);
        bounded(t0)?;
        if let Err(e) = parsed {
            one_clean_line("definition", e.message())?;
        }
        Ok(())
    });
}

#[test]
fn readme_example_is_valid() {
    // The seed of the mutations is itself a valid definition.
    crate::network::definition::parse(readme_example(), "vnet0.toml", "vnet0").unwrap();
}

// ---------------------------------------------------------------------------
// The command line.

fn argv() -> impl Strategy<Value = Vec<String>> {
    let word = prop_oneof![
        4 => (0..TOKENS.len(), 0..TOKENS.len(), 0..TOKENS.len())
            .prop_map(|(a, b, c)| format!("{}{}{}", TOKENS[a], TOKENS[b], TOKENS[c])),
        2 => prop::sample::select(vec![
            "--use-vnet", "--br=br0", "--fd=3", "status", "--json", "up", "down", "--force",
            "check", "mac", "supervise", "guard", "-h", "--help", "-V", "--version", "help",
        ])
        .prop_map(String::from),
        1 => any::<String>(),
    ];
    prop::collection::vec(word, 0..6).prop_map(|mut v| {
        v.insert(0, "vnet-helper".to_string());
        v
    })
}

#[test]
fn argument_parser_never_panics_and_says_one_line() {
    fuzz("argv", argv(), |argv| {
        let t0 = Instant::now();
        let parsed = crate::args::parse(&argv, crate::commands::exists);
        let status = crate::commands::status::parse_options(&argv[1..]);
        bounded(t0)?;
        if let Err(e) = parsed {
            one_clean_line("argv", e.message())?;
        }
        if let Err(e) = status {
            one_clean_line("status options", e.message())?;
        }
        Ok(())
    });
}
