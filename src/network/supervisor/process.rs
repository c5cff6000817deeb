//! The supervisor seen from outside: start it, tell whether it lives, stop it.
//!
//! A supervisor holds its lock (`paths::Network::supervisor_lock`) for its
//! whole life: that is the proof of life a call checks. It reports "ready
//! pid=N" or "failed: why" in its status file once dnsmasq runs (or could
//! not be started). A bring-up starts it (`spawn`, as
//! `supervise --await-bridge NAME`) before anything else, so that its exec
//! and set-up happen while the bridge is made; tells it on its stdin when
//! the bridge has its address (`Starting::go`: dnsmasq may start); and waits
//! for that report last (`Starting::wait`): a detached supervisor then
//! closes its stdout, a pipe the bring-up waits on. It starts watching once
//! that call has released the network's lock.
//!
//! With systemd running, it is started as vnet-helper@NAME.service so it lives
//! outside the caller's login session and cgroup; otherwise it detaches itself
//! (own session, empty environment, default limits, cwd /, root's uid).

use std::fs::{self, File};
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{OrFail, Result};
use crate::network::{exec, lock};
use crate::paths;

/// Is network `net`'s supervisor running? (Its lock is held.) Cheap: one
/// open and one non-blocking flock.
///
/// A user running `status` cannot open the lock (its directory is root's
/// 0700): then the pid in the status file must be a live `vnet-helper
/// supervise NAME` process.
pub fn alive(net: &paths::Network) -> bool {
    match lock::try_acquire(&net.supervisor_lock()) {
        Ok(held) => held.is_none(),
        Err(_) => pid(net).is_some_and(|p| is_supervisor(p, &net.name)),
    }
}

fn is_supervisor(pid: u32, name: &str) -> bool {
    exec::cmdline_matches(pid, |args| supervises(args, name))
}

/// `vnet-helper supervise [--await-bridge] NAME`.
fn supervises(args: &[&[u8]], name: &str) -> bool {
    match args {
        [_, cmd, flag, n, ..] if *flag == b"--await-bridge" => {
            *cmd == b"supervise" && *n == name.as_bytes()
        }
        [_, cmd, n, ..] => *cmd == b"supervise" && *n == name.as_bytes(),
        _ => false,
    }
}

/// The supervisor's pid from its status file, for `status` and `down`.
pub fn pid(net: &paths::Network) -> Option<u32> {
    let text = fs::read_to_string(net.supervisor_status()).ok()?;
    text.split_whitespace()
        .find_map(|w| w.strip_prefix("pid="))
        .and_then(|p| p.parse().ok())
}

fn systemd_running() -> bool {
    Path::new(paths::SYSTEMD_RUNTIME_DIR).is_dir()
}

/// Start the supervisor and wait until it reports that dnsmasq runs (or why
/// not). Called as root with the network's lock held, the bridge made.
pub fn start(net: &paths::Network) -> Result<()> {
    let mut starting = spawn(net)?;
    starting.go(net)?;
    starting.wait(net)
}

/// What a detached supervisor started with `--await-bridge` reads on its
/// stdin before it starts dnsmasq.
pub const GO: &[u8] = b"go";

/// A supervisor on its way up: tell it to `go` once the bridge has its
/// address, then `wait` for its report.
pub struct Starting {
    /// Detached: it was started before the bridge was made, and has done
    /// what needs no bridge (its exec, its lock, dnsmasq's files); the write
    /// end of its stdin, for `GO`, and the read end of its stdout, which it
    /// closes once its status file says how the start went (or when it
    /// dies): no polling while it starts. Under systemd: nothing yet (the
    /// unit starts at `go`).
    detached: Option<Detached>,
    deadline: Instant,
}

struct Detached {
    go: Option<File>,
    report: File,
}

/// Start the supervisor without letting it start dnsmasq yet, so that its
/// exec and set-up happen while the bring-up makes the bridge (under
/// systemd, nothing happens before `go`). Called as root with the network's
/// lock held. Dropping the result without `go` makes a detached supervisor
/// exit.
pub fn spawn(net: &paths::Network) -> Result<Starting> {
    let _ = fs::remove_file(net.supervisor_status());
    let unit_installed = paths::SUPERVISOR_UNITS
        .iter()
        .any(|u| Path::new(u).exists());
    let detached = if systemd_running() && unit_installed {
        None
    } else {
        let me = fs::read_link("/proc/self/exe").or_fail(|| "finding our own binary")?;
        let pipe = || {
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
                .or_fail(|| "making the supervisor's pipes")
        };
        let (stdin, go) = pipe()?;
        let (report, stdout) = pipe()?;
        let null = fs::File::options()
            .write(true)
            .open("/dev/null")
            .or_fail(|| "opening /dev/null")?;
        exec::spawn_unwaited(
            &me.to_string_lossy(),
            &["supervise", "--await-bridge", &net.name],
            [stdin.as_fd(), stdout.as_fd(), null.as_fd()],
        )
        .map_err(|e| e.context("starting the network supervisor"))?;
        // Not waited for: it outlives us and is reparented to init.
        Some(Detached {
            go: Some(File::from(go)),
            report: File::from(report),
        })
    };
    Ok(Starting {
        detached,
        deadline: Instant::now() + Duration::from_secs(10),
    })
}

impl Starting {
    /// The bridge has its address: dnsmasq may start (under systemd, the
    /// unit starts now).
    pub fn go(&mut self, net: &paths::Network) -> Result<()> {
        self.deadline = Instant::now() + Duration::from_secs(10);
        match &mut self.detached {
            Some(d) => {
                use std::io::Write;
                // Written, then closed: it reads to the end. A supervisor
                // that is gone already gives EPIPE (SIGPIPE is ignored), and
                // `wait` then finds its stdout closed and no report.
                if let Some(mut go) = d.go.take() {
                    let _ = go.write_all(GO);
                }
                Ok(())
            }
            None => {
                let systemctl = exec::tool("systemctl")?;
                let unit = format!("vnet-helper@{}.service", net.name);
                exec::run_program(&systemctl, &["start", "--no-block", &unit], None)?;
                Ok(())
            }
        }
    }

    /// Wait until the supervisor reports that dnsmasq runs (or why not), up
    /// to 10 s from `go`.
    pub fn wait(mut self, net: &paths::Network) -> Result<()> {
        if let Some(d) = &mut self.detached {
            if wait_for_eof(&mut d.report, self.deadline) {
                // Closed: it reported, or it is gone (its exec failed, or
                // another supervisor holds the lock) and never will.
                return report(net).unwrap_or_else(|| {
                    Err(fail!(
                        "network `{}': the supervisor exited without reporting",
                        net.name
                    ))
                });
            }
        }
        loop {
            if let Some(reported) = report(net) {
                return reported;
            }
            if Instant::now() > self.deadline {
                return Err(fail!(
                    "network `{}': the supervisor did not start within 10 s",
                    net.name
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// What the supervisor's status file says, once it says it.
fn report(net: &paths::Network) -> Option<Result<()>> {
    let text = fs::read_to_string(net.supervisor_status()).ok()?;
    if text.starts_with("ready") {
        return Some(Ok(()));
    }
    let why = text.strip_prefix("failed: ")?;
    Some(Err(fail!("{}", why.trim())))
}

/// Block until the supervisor closes its stdout (true), or until `deadline`
/// (false).
fn wait_for_eof(pipe: &mut File, deadline: Instant) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::io::Read;
    let mut buf = [0u8; 64];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(pipe.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) => return false,
            Ok(_) => match pipe.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => {} // it wrote something: not part of the protocol, ignored
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return true,
            },
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return false,
        }
    }
}

/// Stop a running supervisor (for `down` and a new bring-up) and wait for it
/// to be gone: SIGTERM, then after 2 s (a blocked signal inherited by an old
/// version, a hang) SIGKILL. Only a pid that still is this network's
/// supervisor is signalled, never a process that reused a dead one's pid.
pub fn stop(net: &paths::Network) {
    let mut pids: Vec<u32> = pid(net).into_iter().collect();
    if pids.is_empty() && alive(net) {
        // Alive but not (yet) reported: started by a bring-up that was
        // killed before its supervisor wrote its status.
        pids = exec::processes_matching(|args| supervises(args, &net.name));
    }
    for pid in pids {
        exec::stop_verified(pid, |p| is_supervisor(p, &net.name), Duration::from_secs(2));
    }
    // Its lock goes with its last descriptor (and one that is still starting
    // has no pid in its status file yet).
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(net) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}
