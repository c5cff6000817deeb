//! The supervisor seen from outside: start it, tell whether it lives, stop it.
//!
//! A supervisor holds its lock (`paths::Network::supervisor_lock`) for its
//! whole life: that is the proof of life a call checks. It reports "ready
//! pid=N" or "failed: why" in its status file once dnsmasq runs (or could
//! not be started).
//!
//! With systemd running, it is started as vnet-helper@NAME.service so it lives
//! outside the caller's login session and cgroup; otherwise it detaches itself
//! (own session, empty environment, default limits, cwd /, root's uid).

use std::fs;
use std::path::Path;
use std::process::Stdio;
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
    let name = &net.name;
    let status = net.supervisor_status();
    let _ = fs::remove_file(&status);
    let unit_installed = paths::SUPERVISOR_UNITS
        .iter()
        .any(|u| Path::new(u).exists());
    if systemd_running() && unit_installed {
        let systemctl = exec::tool("systemctl")?;
        let unit = format!("vnet-helper@{name}.service");
        exec::run_program(&systemctl, &["start", "--no-block", &unit], None)?;
    } else {
        let me = fs::read_link("/proc/self/exe").or_fail(|| "finding our own binary")?;
        exec::command(&me.to_string_lossy())
            .args(["supervise", name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .or_fail(|| "starting the network supervisor")?;
        // Not waited for: it outlives us and is reparented to init.
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = fs::read_to_string(&status) {
            if text.starts_with("ready") {
                return Ok(());
            }
            if let Some(why) = text.strip_prefix("failed: ") {
                return Err(fail!("{}", why.trim()));
            }
        }
        if Instant::now() > deadline {
            return Err(fail!(
                "network `{name}': the supervisor did not start within 10 s"
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
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
