//! The integration tests' one harness: run a shell script of the repository
//! (tests/scripts/SUBJECT/NAME.sh) inside a fresh sandbox (tests/sandbox.sh:
//! private network + mount + PID namespaces, tmpfs /etc/qemu, /etc/vnet-helper,
//! /run, /var/lib/vnet-helper, the helper installed setuid root as $VH, the
//! reference qemu-bridge-helper as $REF, `$AS_USER` to run as uid 4242), and
//! assert on the KEY=VALUE lines it prints. Scripts source what they need from
//! tests/lib/.
//!
//! These tests need root (namespaces, setuid copies). Run as non-root they say
//! so loudly on stderr and return without asserting anything; under CI
//! (CI set in the environment) a missing root is a failure, never a silent pass.
//!
//! Every failed expectation prints the whole transcript (status, stdout,
//! stderr); `VH_TEST_SHOW=1` prints it for passing runs too.
#![allow(dead_code)]

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn helper_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vnet-helper"))
}

/// True if the test named `test` may go on; false (after a loud message) if
/// it must skip because we are not root. Under CI a missing root panics.
pub fn have_root(test: &str) -> bool {
    // `id -u` keeps the tests free of dependencies (and of unsafe code)
    let uid = Command::new("id").arg("-u").output().expect("id -u");
    if String::from_utf8_lossy(&uid.stdout).trim() == "0" {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: needs root, and CI must run every test as root");
    }
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED {test}: needs root (namespaces, setuid copies). Run `sudo cargo test --release` ***\n"
    );
    false
}

// ---------------------------------------------------------------------------
// Running a script.

/// One sandboxed run of a script file: `Sandbox::new(test, "bringup/x.sh")`,
/// optionally `.arg(..)`, `.env(..)`, `.binary(..)`, `.deadline(..)`, then `.run()`.
pub struct Sandbox {
    test: String,
    script: PathBuf,
    args: Vec<OsString>,
    env: Vec<(String, String)>,
    binary: PathBuf,
    deadline: Option<Duration>,
}

impl Sandbox {
    /// `script` is relative to tests/scripts/.
    pub fn new(test: &str, script: &str) -> Sandbox {
        let path = repo().join("tests/scripts").join(script);
        assert!(path.is_file(), "{test}: no script {}", path.display());
        Sandbox {
            test: test.to_string(),
            script: path,
            args: Vec::new(),
            env: Vec::new(),
            binary: helper_binary(),
            deadline: None,
        }
    }

    /// An argument of the script ($1, $2...).
    pub fn arg(mut self, a: impl Into<OsString>) -> Sandbox {
        self.args.push(a.into());
        self
    }

    /// An environment variable of the script.
    pub fn env(mut self, key: &str, value: &str) -> Sandbox {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// The binary installed setuid as $VH (default: the vnet-helper cargo built).
    pub fn binary(mut self, b: &Path) -> Sandbox {
        self.binary = b.to_path_buf();
        self
    }

    /// Fail the test if the script has not finished after `d`.
    pub fn deadline(mut self, d: Duration) -> Sandbox {
        self.deadline = Some(d);
        self
    }

    pub fn run(self) -> Run {
        let t0 = Instant::now();
        let mut cmd = Command::new(repo().join("tests/sandbox.sh"));
        cmd.arg(&self.binary)
            .arg(&self.script)
            .args(&self.args)
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let test = self.test.clone();
        let out = match self.deadline {
            None => cmd.output().expect("running tests/sandbox.sh"),
            Some(d) => {
                let (tx, rx) = mpsc::channel();
                std::thread::spawn(move || {
                    let _ = tx.send(cmd.output().expect("running tests/sandbox.sh"));
                });
                rx.recv_timeout(d).unwrap_or_else(|_| {
                    panic!("{test}: the sandboxed script did not finish within {d:?}")
                })
            }
        };
        let r = Run {
            test: self.test,
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        eprintln!(
            "{}: sandbox script {} took {:.1} s (status {})",
            r.test,
            self.script.display(),
            t0.elapsed().as_secs_f64(),
            r.status
        );
        if std::env::var_os("VH_TEST_SHOW").is_some() {
            eprintln!("===== {} =====\n{}", r.test, r.transcript());
        }
        r
    }
}

/// Write `content` to a fresh file outside the sandbox (root reads it inside:
/// /tmp is the host's) and return its path.
pub fn temp_file(name: &str, content: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "vh-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

// ---------------------------------------------------------------------------
// The result, and the expectations on it.

/// The result of a sandboxed script.
pub struct Run {
    pub test: String,
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Status, stdout and stderr, for failure messages.
    pub fn transcript(&self) -> String {
        format!(
            "--- {}: status {} ---\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.test, self.status, self.stdout, self.stderr
        )
    }

    /// Panic with `msg` and the whole transcript.
    #[track_caller]
    pub fn fail(&self, msg: &str) -> ! {
        panic!("{}: {msg}\n{}", self.test, self.transcript())
    }

    /// Panic with the whole transcript unless the script exited 0.
    #[track_caller]
    pub fn ok(self) -> Run {
        if self.status != 0 {
            self.fail(&format!(
                "sandbox script failed with status {}",
                self.status
            ));
        }
        self
    }

    /// Lines of stdout that start with `KEY=`, values only.
    pub fn values(&self, key: &str) -> Vec<String> {
        let p = format!("{key}=");
        self.stdout
            .lines()
            .filter_map(|l| l.strip_prefix(&p).map(str::to_string))
            .collect()
    }

    /// The value of the one `KEY=` line (fails if it is missing or repeated).
    #[track_caller]
    pub fn value(&self, key: &str) -> String {
        let v = self.values(key);
        if v.len() != 1 {
            self.fail(&format!("expected exactly one {key}= line, got {v:?}"));
        }
        v[0].clone()
    }

    /// The value of the `KEY=` line if there is one (fails if repeated).
    #[track_caller]
    pub fn maybe(&self, key: &str) -> Option<String> {
        let v = self.values(key);
        if v.len() > 1 {
            self.fail(&format!("more than one {key}= line: {v:?}"));
        }
        v.into_iter().next()
    }
}

/// KEY's one value must equal `want`.
#[track_caller]
pub fn expect(r: &Run, key: &str, want: &str) {
    let got = r.value(key);
    if got != want {
        r.fail(&format!("{key} is {got:?}, expected {want:?}"));
    }
}

/// Every (KEY, want) pair must hold; reports all that do not at once.
#[track_caller]
pub fn expect_all(r: &Run, pairs: &[(&str, &str)]) {
    let bad: Vec<String> = pairs
        .iter()
        .filter_map(|(key, want)| {
            let v = r.values(key);
            (v.len() != 1 || v[0] != *want).then(|| format!("{key}: got {v:?}, expected {want:?}"))
        })
        .collect();
    if !bad.is_empty() {
        r.fail(&format!(
            "{} expectation(s) failed:\n  {}",
            bad.len(),
            bad.join("\n  ")
        ));
    }
}

/// KEY's value must contain `needle`.
#[track_caller]
pub fn expect_contains(r: &Run, key: &str, needle: &str) {
    let got = r.value(key);
    if !got.contains(needle) {
        r.fail(&format!(
            "{key} is {got:?}, expected it to contain {needle:?}"
        ));
    }
}

/// KEY's value is a number of seconds <= `max` (not "timeout"); returns it.
#[track_caller]
pub fn expect_within(r: &Run, key: &str, max: f64) -> f64 {
    let v = r.value(key);
    let s: f64 = v.parse().unwrap_or(f64::INFINITY);
    if s > max {
        r.fail(&format!("{key}={v:?}, want a time <= {max} s"));
    }
    s
}

/// KEY's value must be an integer; returns it.
#[track_caller]
pub fn expect_num(r: &Run, key: &str) -> i64 {
    let v = r.value(key);
    v.trim()
        .parse()
        .unwrap_or_else(|_| r.fail(&format!("{key} is {v:?}, expected a number")))
}

/// `cond` must hold; `what` says what is wrong when it does not.
#[track_caller]
pub fn expect_true(r: &Run, cond: bool, what: &str) {
    if !cond {
        r.fail(what);
    }
}

// ---------------------------------------------------------------------------
// The Debian package.

/// The .deb that `cargo deb --target x86_64-unknown-linux-gnu` built (.ci/run
/// builds it before the tests): the newest vnet-helper_*.deb in
/// <target>/debian or <target>/<triple>/debian. Panics, saying what to run,
/// if there is none or if it is older than the sources it is built from.
pub fn debian_package(test: &str) -> PathBuf {
    // <target>/<triple>/<profile>/vnet-helper
    let exe = helper_binary();
    let triple_dir = exe.parent().and_then(Path::parent).expect("target layout");
    let target = triple_dir.parent().expect("target layout");
    let build = "cargo deb --locked --target x86_64-unknown-linux-gnu";
    let newest = [target.join("debian"), triple_dir.join("debian")]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("vnet-helper_") && name.ends_with(".deb")
        })
        .max_by_key(|p| modified(p));
    let Some(deb) = newest else {
        panic!(
            "{test}: no vnet-helper_*.deb under {}/debian: run `{build}` first",
            target.display()
        );
    };
    let built = modified(&deb);
    for src in ["src", "dist", "doc", "acl", "Cargo.toml", "Cargo.lock"] {
        if let Some(newer) = newer_than(&repo().join(src), built) {
            panic!(
                "{test}: {} is older than {}: run `{build}` again",
                deb.display(),
                newer.display()
            );
        }
    }
    deb
}

fn modified(p: &Path) -> std::time::SystemTime {
    std::fs::metadata(p)
        .and_then(|m| m.modified())
        .unwrap_or(std::time::UNIX_EPOCH)
}

/// A file under `p` (or `p` itself) modified after `t`, if any.
fn newer_than(p: &Path, t: std::time::SystemTime) -> Option<PathBuf> {
    if p.is_dir() {
        let entries = std::fs::read_dir(p).ok()?;
        entries
            .filter_map(|e| e.ok())
            .find_map(|e| newer_than(&e.path(), t))
    } else {
        (modified(p) > t).then(|| p.to_path_buf())
    }
}
