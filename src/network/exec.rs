//! Running the host tools a bring-up needs (iptables-restore, iptables-save,
//! dnsmasq, systemctl), and stopping the daemons we started, the only way a
//! setuid program may: by absolute path from a fixed list (never the
//! caller's PATH), with an empty environment, as ruid = euid = 0
//! (privileges::become_root), stdin/stdout/stderr of our choosing, no
//! inherited descriptors (everything we hold is close-on-exec), default
//! resource limits, signal dispositions and scheduling, in a session of its
//! own that the caller's terminal cannot reach (sys::clean_child). The
//! daemons we start and do not wait for (the guard, the supervisor) get the
//! same slate without our waiting for their exec (`spawn_unwaited`).

use std::ffi::CString;
use std::io::Write;
use std::os::fd::BorrowedFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{OrFail, Result};
use crate::network::lock::Lock;
use crate::{privileges, sys};

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

/// A Command for `program` with a clean slate (see the module comment).
pub fn command(program: &str) -> Command {
    command_holding(program, None)
}

/// The same, and the child holds `lock` too (it inherits the descriptor)
/// until it exits: a tool that outlives us (we were killed while it ran)
/// keeps others from acting on what it is still changing.
fn command_holding(program: &str, lock: Option<&Lock>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear().current_dir("/").stdin(Stdio::null());
    let keep = lock.map(Lock::raw_fd);
    sys::clean_child(&mut cmd, privileges::DEFAULT_LIMITS, keep);
    cmd
}

/// Start `program` (absolute path) with `args` and the clean slate of
/// `command`, its stdin, stdout and stderr `stdio`, without waiting for its
/// exec (sys::spawn_unwaited: for the guard and the supervisor, which we do
/// not wait for anyway). Its pid.
pub fn spawn_unwaited(program: &str, args: &[&str], stdio: [BorrowedFd<'_>; 3]) -> Result<u32> {
    debug_assert!(program.starts_with('/'));
    let argv: Vec<CString> = std::iter::once(program)
        .chain(args.iter().copied())
        .map(|a| CString::new(a).map_err(|_| fail!("a NUL in the arguments of {program}")))
        .collect::<Result<_>>()?;
    sys::spawn_unwaited(&argv, stdio, privileges::DEFAULT_LIMITS)
        .or_fail(|| format!("starting {program}"))
}

/// Run a tool (absolute path) to completion, feeding `input` on stdin; its
/// stdout on success, its first line of stderr in the error otherwise.
pub fn run_program(path: &str, args: &[&str], input: Option<&str>) -> Result<String> {
    run_program_holding(path, args, input, None)
}

/// run_program, the child holding `lock` as long as it runs (see
/// command_holding).
pub fn run_program_holding(
    path: &str,
    args: &[&str],
    input: Option<&str>,
    lock: Option<&Lock>,
) -> Result<String> {
    debug_assert!(path.starts_with('/'));
    let mut cmd = command_holding(path, lock);
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

/// Read `pipe`, a child's stdout or stderr, until the child closes it (it
/// ends, or it says it is ready that way): what it wrote (the first `keep`
/// bytes), or None if the pipe is still open at `deadline`. A failed poll
/// or read counts as closed.
pub fn read_until_closed(
    pipe: &mut (impl std::io::Read + std::os::fd::AsFd),
    keep: usize,
    deadline: Instant,
) -> Option<Vec<u8>> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut kept = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        let ms = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(pipe.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return Some(kept),
            Ok(_) => match pipe.read(&mut buf) {
                Ok(0) => return Some(kept),
                Ok(n) => {
                    let room = keep.saturating_sub(kept.len()).min(n);
                    kept.extend_from_slice(&buf[..room]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Some(kept),
            },
        }
    }
}

/// Stop process `pid` if `is_ours(pid)` says it is still the process we mean
/// (checked before every signal, so a pid that was reused meanwhile is never
/// signalled): SIGTERM, up to `grace` for it to go, then SIGKILL and up to 3 s
/// more. Returns whether it is gone.
pub fn stop_verified(pid: u32, is_ours: impl Fn(u32) -> bool, grace: Duration) -> bool {
    use nix::sys::signal::{kill, Signal};
    let target = nix::unistd::Pid::from_raw(pid as i32);
    for (signal, wait) in [
        (Signal::SIGTERM, grace),
        (Signal::SIGKILL, Duration::from_secs(3)),
    ] {
        if !is_ours(pid) {
            return true;
        }
        let _ = kill(target, signal);
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            // Its command line empties as soon as its memory is released,
            // before its sockets are closed: wait until it is a zombie (or
            // reaped), so that a successor can bind its ports at once.
            if !is_ours(pid) && has_exited(pid) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    !is_ours(pid)
}

/// Has process `pid` exited: reaped, or a zombie (state Z or X in
/// /proc/PID/stat, after the command name's closing parenthesis)?
fn has_exited(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return true;
    };
    let state = stat
        .rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next());
    matches!(state, Some('Z' | 'X') | None)
}

/// Every process whose command line satisfies `test` (see cmdline_matches).
pub fn processes_matching(test: impl Fn(&[&[u8]]) -> bool) -> Vec<u32> {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| cmdline_matches(pid, &test))
        .collect()
}

/// Does /proc/PID/cmdline, split at NULs, satisfy `test`? (False for a
/// process that is gone, or a zombie, whose command line is empty.)
pub fn cmdline_matches(pid: u32, test: impl Fn(&[&[u8]]) -> bool) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    !cmdline.is_empty() && test(&args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::Read;
    use std::os::fd::{AsFd, AsRawFd};

    /// A process counts as stopped only once it is a zombie or reaped (its
    /// empty command line alone is no proof: its sockets may still be open).
    #[test]
    fn exited_means_zombie_or_reaped() {
        assert!(!has_exited(std::process::id()));
        let mut child = std::process::Command::new("/bin/true").spawn().unwrap();
        let pid = child.id();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !has_exited(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(has_exited(pid), "a zombie has exited");
        child.wait().unwrap();
        assert!(has_exited(pid), "a reaped process has exited");
    }

    /// What spawn_unwaited's child starts with: no environment, cwd /, a
    /// session of its own, nothing blocked (SIGUSR1 blocked here), the
    /// descriptors given and not our (close-on-exec) end of its pipe.
    #[test]
    fn unwaited_child_starts_clean() {
        use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal};
        let mut usr1 = SigSet::empty();
        usr1.add(Signal::SIGUSR1);
        pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&usr1), None).unwrap();
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let inode = nix::sys::stat::fstat(read.as_raw_fd()).unwrap().st_ino;
        let mut read = File::from(read);
        let null = File::open("/dev/null").unwrap();
        let script = format!(
            "echo env=$(wc -c < /proc/$$/environ) cwd=$(pwd) \
             leader=$(test \"$(cut -d' ' -f6 /proc/$$/stat)\" = $$ && echo yes) \
             pipe_ends=$(ls -l /proc/$$/fd | grep -c 'pipe:.{inode}.'); exec grep SigBlk /proc/self/status"
        );
        let pid = spawn_unwaited(
            "/bin/sh",
            &["-c", &script],
            [null.as_fd(), write.as_fd(), null.as_fd()],
        )
        .unwrap();
        drop(write);
        pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&usr1), None).unwrap();
        let mut out = String::new();
        read.read_to_string(&mut out).unwrap();
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid as i32), None);
        assert!(
            out.contains("env=0 cwd=/ leader=yes pipe_ends=1\n"),
            "child set-up: {out}"
        );
        assert!(
            out.contains("SigBlk:\t0000000000000000"),
            "child set-up: {out}"
        );
    }
}
