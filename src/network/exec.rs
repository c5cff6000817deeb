//! Running the host tools a bring-up needs (iptables-restore, iptables-save,
//! dnsmasq) the only way a setuid program may: by absolute path from a fixed
//! list (never the caller's PATH), with an empty environment, as ruid = euid
//! = 0 (privileges::become_root), stdin/stdout/stderr of our choosing, no
//! inherited descriptors (everything we hold is close-on-exec), default
//! resource limits and signal dispositions (sys::clean_child).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::{OrFail, Result};
use crate::sys;

/// Where Debian, Fedora and Arch put these tools. Searched in this order.
const DIRS: &[&str] = &["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/// The absolute path of a system tool, found in the fixed list of directories.
pub fn tool(name: &str) -> Result<String> {
    for d in DIRS {
        let p = format!("{d}/{name}");
        if Path::new(&p).is_file() {
            return Ok(p);
        }
    }
    Err(fail!(
        "`{name}' is not installed (looked in {})",
        DIRS.join(", ")
    ))
}

/// Resource limits every child gets instead of the caller's (a caller with
/// `ulimit -n 12` must not cripple a shared dnsmasq): the usual Linux
/// defaults of a fresh login.
pub const DEFAULT_LIMITS: &[sys::Limit] = &[
    (libc::RLIMIT_CPU, libc::RLIM_INFINITY, libc::RLIM_INFINITY),
    (libc::RLIMIT_FSIZE, libc::RLIM_INFINITY, libc::RLIM_INFINITY),
    (libc::RLIMIT_DATA, libc::RLIM_INFINITY, libc::RLIM_INFINITY),
    (libc::RLIMIT_STACK, 8 << 20, libc::RLIM_INFINITY),
    (libc::RLIMIT_CORE, 0, libc::RLIM_INFINITY),
    (libc::RLIMIT_NOFILE, 1024, 524288),
    (libc::RLIMIT_AS, libc::RLIM_INFINITY, libc::RLIM_INFINITY),
    (libc::RLIMIT_NPROC, libc::RLIM_INFINITY, libc::RLIM_INFINITY),
    (libc::RLIMIT_MEMLOCK, 8 << 20, 8 << 20),
    (libc::RLIMIT_LOCKS, libc::RLIM_INFINITY, libc::RLIM_INFINITY),
    (libc::RLIMIT_SIGPENDING, 63535, 63535),
    (libc::RLIMIT_MSGQUEUE, 819200, 819200),
    (libc::RLIMIT_NICE, 0, 0),
    (libc::RLIMIT_RTPRIO, 0, 0),
    (
        libc::RLIMIT_RTTIME,
        libc::RLIM_INFINITY,
        libc::RLIM_INFINITY,
    ),
];

/// A Command for `program` with a clean slate (see the module comment).
pub fn command(program: &str, new_session: bool) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear().current_dir("/").stdin(Stdio::null());
    sys::clean_child(&mut cmd, DEFAULT_LIMITS, new_session);
    cmd
}

/// Run a tool (absolute path) to completion, feeding `input` on stdin; its
/// stdout on success, its first line of stderr in the error otherwise.
pub fn run_program(path: &str, args: &[&str], input: Option<&str>) -> Result<String> {
    debug_assert!(path.starts_with('/'));
    let mut cmd = command(path, false);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    if input.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().or_fail(|| format!("running {path}"))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .or_fail(|| format!("writing to {path}"))?;
    }
    let out = child
        .wait_with_output()
        .or_fail(|| format!("running {path}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message");
        return Err(fail!("{path} failed ({}): {first}", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
