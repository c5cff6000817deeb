//! The supervisor seen from outside: start it, tell whether it lives, stop it.
//!
//! A supervisor holds its lock (`paths::Network::supervisor_lock`) for its
//! whole life: that is the proof of life a call checks. It reports "ready
//! pid=N" or "failed: why" in its status file once dnsmasq runs (or could
//! not be started).
//!
//! A bring-up starts it (`spawn_for_bring_up`, as `supervise --bring-up
//! NAME`) before it makes anything, so that its exec happens while the
//! bridge is made; tells it on its stdin when the bridge has its address
//! (`Starting::go`: dnsmasq may start); waits for its report last
//! (`Starting::wait`: it closes its stdout, a pipe the bring-up waits on);
//! and tells it when the bring-up is over (`Starting::done`). Until then it
//! is also the bring-up's guard: if its stdin closes without those words,
//! the bring-up was killed half-way, and it undoes what is left
//! (`steps::finish_abandoned`) instead of supervising, unless the network
//! was finished. It starts watching once that call has released the
//! network's lock (its tap is a port then).
//!
//! With systemd running, it is started as vnet-helper@NAME.service so it lives
//! outside the caller's login session and cgroup (at `go`; a `vnet-helper
//! guard NAME` process guards that bring-up); otherwise it detaches itself
//! (own session, empty environment, default limits, cwd /, root's uid).

use std::fs::{self, File};
use std::io::Write;
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

/// `vnet-helper supervise [--bring-up] NAME`.
fn supervises(args: &[&[u8]], name: &str) -> bool {
    match args {
        [_, cmd, flag, n, ..] if *flag == b"--bring-up" => {
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

/// Start a supervisor for a network that is up (its supervisor died) and
/// wait until it reports that dnsmasq runs (or why not). Called as root with
/// the network's lock held.
pub fn start(net: &paths::Network) -> Result<()> {
    let mut starting = spawn(net, false)?;
    starting.go(net)?;
    starting.wait(net)
}

/// Start the supervisor of a bring-up, before anything is made: detached,
/// it is the bring-up's guard (see the module comment) and does nothing
/// else until told `go`, so that its exec happens while the bring-up makes
/// the bridge; under systemd, nothing happens before `go` (the unit starts
/// then) and `guards` is false. Called as root with the network's lock held.
pub fn spawn_for_bring_up(net: &paths::Network) -> Result<Starting> {
    spawn(net, true)
}

/// What a supervisor started for a bring-up reads on its stdin: `GO` once
/// the bridge has its address (dnsmasq may start), then `DONE` once the
/// bring-up is over. Its stdin closing before either means the bring-up
/// died (or failed, and undid itself).
pub const GO: &[u8] = b"go";
pub const DONE: &[u8] = b"done";

/// A supervisor on its way up: tell it to `go` once the bridge has its
/// address, `wait` for its report, then tell it the bring-up is `done`.
pub struct Starting {
    /// Detached: the read end of its stdout, which it closes once its
    /// status file says how the start went (or when it dies), so there is no
    /// polling while it starts; and, for a bring-up, the write end of its
    /// stdin. Under systemd: None (the unit starts at `go`).
    detached: Option<Detached>,
    deadline: Instant,
}

struct Detached {
    stdin: Option<File>,
    report: File,
}

fn spawn(net: &paths::Network, bring_up: bool) -> Result<Starting> {
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
        let (report, stdout) = pipe()?;
        let null = fs::File::options()
            .read(true)
            .write(true)
            .open("/dev/null")
            .or_fail(|| "opening /dev/null")?;
        let (stdin, tell) = match bring_up {
            true => {
                let (read, write) = pipe()?;
                (Some(read), Some(File::from(write)))
            }
            false => (None, None),
        };
        let args: &[&str] = match bring_up {
            true => &["supervise", "--bring-up", &net.name],
            false => &["supervise", &net.name],
        };
        let stdin_fd = stdin.as_ref().map_or(null.as_fd(), |s| s.as_fd());
        exec::spawn_unwaited(
            &me.to_string_lossy(),
            args,
            [stdin_fd, stdout.as_fd(), null.as_fd()],
        )
        .map_err(|e| e.context("starting the network supervisor"))?;
        // Not waited for: it outlives us and is reparented to init.
        Some(Detached {
            stdin: tell,
            report: File::from(report),
        })
    };
    Ok(Starting {
        detached,
        deadline: Instant::now() + Duration::from_secs(10),
    })
}

impl Starting {
    /// Whether it guards the bring-up that started it (detached): then no
    /// `vnet-helper guard` is needed.
    pub fn guards(&self) -> bool {
        self.detached.as_ref().is_some_and(|d| d.stdin.is_some())
    }

    /// The bridge has its address: dnsmasq may start (under systemd, the
    /// unit starts now).
    pub fn go(&mut self, net: &paths::Network) -> Result<()> {
        self.deadline = Instant::now() + Duration::from_secs(10);
        match &mut self.detached {
            Some(d) => {
                // A supervisor that is gone already gives EPIPE (SIGPIPE is
                // ignored): `wait` then finds its stdout closed and no report.
                if let Some(stdin) = &mut d.stdin {
                    let _ = stdin.write_all(GO);
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

    /// The bring-up is over (made, or failed and undone): a detached
    /// supervisor stops guarding it. Its stdin closes.
    pub fn done(mut self) {
        if let Some(mut stdin) = self.detached.as_mut().and_then(|d| d.stdin.take()) {
            let _ = stdin.write_all(DONE);
        }
    }

    /// Wait until the supervisor reports that dnsmasq runs (or why not), up
    /// to 10 s from `go`.
    pub fn wait(&mut self, net: &paths::Network) -> Result<()> {
        if let Some(d) = &mut self.detached {
            if exec::read_until_closed(&mut d.report, 0, self.deadline).is_some() {
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
