//! Shared support for the integration tests: run a bash script inside a fresh
//! sandbox (tests/sandbox.sh: private network + mount namespace, tmpfs /etc/qemu,
//! /etc/vnet-helper, /run, /var/lib/vnet-helper, the helper installed setuid root
//! as $VH, the reference qemu-bridge-helper as $REF, `$AS_USER` to run as uid 4242).
//!
//! These tests need root (namespaces, setuid copies). Run as non-root they say
//! so loudly on stderr and return without asserting anything; under CI
//! (CI set in the environment) a missing root is a failure, never a silent pass.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn helper_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vnet-helper"))
}

/// True if the test may go on; false (after a loud message) if it must skip.
pub fn have_root(test: &str) -> bool {
    // SAFETY-free: geteuid via /proc would do too, but `id -u` keeps tests dependency-free.
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

/// The result of a sandboxed script.
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panic with the whole transcript unless the script exited 0.
    pub fn ok(self) -> Run {
        if self.status != 0 {
            panic!(
                "sandbox script failed with status {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                self.status, self.stdout, self.stderr
            );
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
    pub fn value(&self, key: &str) -> String {
        let v = self.values(key);
        assert!(
            v.len() == 1,
            "expected exactly one {key}= line, got {v:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout,
            self.stderr
        );
        v[0].clone()
    }
}

/// Run `script` (bash, `set -eu`) in a fresh sandbox with the helper built by cargo.
/// `tests/lib.sh` is sourced first (shared shell functions).
pub fn sandbox(script: &str) -> Run {
    sandbox_with(&helper_binary(), script)
}

pub fn sandbox_with(binary: &Path, script: &str) -> Run {
    let dir = tempdir();
    let path = dir.join("script.sh");
    let lib = repo().join("tests/lib.sh");
    let body = format!("source {}\n{script}\n", lib.display());
    std::fs::write(&path, body).unwrap();
    let out: Output = Command::new(repo().join("tests/sandbox.sh"))
        .arg(binary)
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .expect("running tests/sandbox.sh");
    let _ = std::fs::remove_dir_all(&dir);
    Run {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "vh-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}
