//! The supervisor seen from outside: start it, tell whether it lives, stop it.
//!
//! A supervisor holds its lock (`paths::Network::supervisor_lock`) for its
//! whole life: that is the proof of life a call checks. It reports "ready
//! pid=N" or "failed: why" in its status file once dnsmasq runs (or could
//! not be started). A bring-up starts it (`spawn`) before it sets up the
//! firewall, so that dnsmasq starts meanwhile, and waits for that report
//! afterwards (`Starting::wait`); a detached supervisor then closes its
//! stdout, a pipe the bring-up waits on.
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

fn supervises(args: &[&[u8]], name: &str) -> bool {
    args.len() >= 3 && args[1] == b"supervise" && args[2] == name.as_bytes()
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
/// not). Called as root with the network's lock held.
pub fn start(net: &paths::Network) -> Result<()> {
    spawn(net)?.wait(net)
}

/// A supervisor on its way up: `wait` for its report.
pub struct Starting {
    /// The read end of the detached supervisor's stdout, which it closes
    /// once its status file says how the start went (or when it dies): no
    /// polling while it starts. None when systemd starts it.
    stdout: Option<File>,
    deadline: Instant,
}

/// Start the supervisor (it starts dnsmasq) without waiting for it, so the
/// bring-up can do something else meanwhile; `Starting::wait` then waits for
/// its report. Called as root with the network's lock held.
pub fn spawn(net: &paths::Network) -> Result<Starting> {
    let name = &net.name;
    let _ = fs::remove_file(net.supervisor_status());
    let unit_installed = paths::SUPERVISOR_UNITS
        .iter()
        .any(|u| Path::new(u).exists());
    let stdout = if systemd_running() && unit_installed {
        let systemctl = exec::tool("systemctl")?;
        let unit = format!("vnet-helper@{name}.service");
        exec::run_program(&systemctl, &["start", "--no-block", &unit], None)?;
        None
    } else {
        let me = fs::read_link("/proc/self/exe").or_fail(|| "finding our own binary")?;
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .or_fail(|| "making the supervisor's pipe")?;
        let null = fs::File::options()
            .read(true)
            .write(true)
            .open("/dev/null")
            .or_fail(|| "opening /dev/null")?;
        exec::spawn_unwaited(
            &me.to_string_lossy(),
            &["supervise", name],
            [null.as_fd(), write.as_fd(), null.as_fd()],
        )
        .map_err(|e| e.context("starting the network supervisor"))?;
        // Not waited for: it outlives us and is reparented to init.
        Some(File::from(read))
    };
    Ok(Starting {
        stdout,
        deadline: Instant::now() + Duration::from_secs(10),
    })
}

impl Starting {
    /// Wait until the supervisor reports that dnsmasq runs (or why not), up
    /// to 10 s from its start.
    pub fn wait(mut self, net: &paths::Network) -> Result<()> {
        if let Some(pipe) = &mut self.stdout {
            if wait_for_eof(pipe, self.deadline) {
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
