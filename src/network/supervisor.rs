//! The per-network supervisor: one detached root process per network that is
//! up, started by the bring-up (or by the first call that finds the network up
//! with no supervisor, which then adopts it).
//!
//! It holds /run/vnet-helper/lock/NAME.supervisor for its whole life (the
//! proof of life the helper checks), keeps dnsmasq running (watching it with a
//! pidfd, restarting it with backoff), watches the bridge's ports through
//! rtnetlink link notifications (no polling), and when the bridge has had no
//! ports for `idle-timeout` it takes the network's lock, re-checks the ports
//! under it and tears the network down. SIGTERM (e.g. `systemctl stop`) makes
//! it exit and leave the network up: the next call adopts it.
//!
//! With systemd running, it is started as vnet-helper@NAME.service so it lives
//! outside the caller's login session and cgroup; otherwise it detaches itself
//! (own session, empty environment, default limits, cwd /, root's uid).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures_util::{FutureExt, StreamExt};
use netlink_sys::AsyncSocket;
use tokio::io::unix::AsyncFd;

use crate::error::{OrFail, Result};
use crate::network::definition::{Definition, Mode};
use crate::network::lock::{self, Lock, LOCK_DIR};
use crate::network::state::{self, Paths};
use crate::network::{bridge, exec, lifecycle};
use crate::sys;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::link::LinkAttribute;
use netlink_packet_route::RouteNetlinkMessage;

/// Where the supervisor's systemd template unit is installed by install.sh.
pub const UNIT: &str = "vnet-helper@.service";

fn lock_path(name: &str) -> PathBuf {
    Path::new(LOCK_DIR).join(format!("{name}.supervisor"))
}

fn status_path(paths: &Paths) -> PathBuf {
    paths.run.join("supervisor")
}

/// Is network `name`'s supervisor running? (Its lock is held.) Cheap: one
/// open and one non-blocking flock.
///
/// A user running `status` cannot open the lock (its directory is root's
/// 0700): then the pid in the status file must be a live `vnet-helper
/// supervise NAME` process.
pub fn alive(name: &str) -> bool {
    match lock::try_acquire(&lock_path(name)) {
        Ok(held) => held.is_none(),
        Err(_) => pid(&Paths::new(name)).is_some_and(|p| is_supervisor(p, name)),
    }
}

fn is_supervisor(pid: u32, name: &str) -> bool {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    args.len() >= 3 && args[1] == b"supervise" && args[2] == name.as_bytes()
}

/// The supervisor's pid from its status file, for `status` and `down`.
pub fn pid(paths: &Paths) -> Option<u32> {
    let text = fs::read_to_string(status_path(paths)).ok()?;
    text.split_whitespace()
        .find_map(|w| w.strip_prefix("pid="))
        .and_then(|p| p.parse().ok())
}

fn systemd_running() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

/// Start the supervisor and wait until it reports that dnsmasq runs (or why
/// not). Called as root with the network's lock held.
pub fn start(name: &str, paths: &Paths) -> Result<()> {
    let status = status_path(paths);
    let _ = fs::remove_file(&status);
    if systemd_running() && Path::new(&format!("/etc/systemd/system/{UNIT}")).exists() {
        let systemctl = exec::tool("systemctl")?;
        exec::run_program(
            &systemctl,
            &[
                "start",
                "--no-block",
                &format!("vnet-helper@{name}.service"),
            ],
            None,
        )?;
    } else {
        let me = fs::read_link("/proc/self/exe").or_fail(|| "finding our own binary")?;
        exec::command(&me.to_string_lossy(), true)
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

/// Stop a running supervisor (for `down`) and wait for it to be gone.
pub fn stop(name: &str, paths: &Paths) {
    // Only a pid that still is this network's supervisor: never a process
    // that reused the pid of a dead one.
    if let Some(pid) = pid(paths).filter(|&p| is_supervisor(p, name)) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    for i in 0..1000 {
        if !alive(name) {
            return;
        }
        if i == 400 {
            // 2 s without exiting on SIGTERM: it will not (a blocked signal
            // inherited by an old version, a hang); make sure it goes.
            if let Some(pid) = pid(paths).filter(|&p| is_supervisor(p, name)) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `vnet-helper supervise NAME`: the supervisor's main. Real uid 0 only.
pub fn run(name: &str) -> Result<i32> {
    let paths = Paths::new(name);
    // `alive()` probes this lock by taking it for a moment, so a held lock
    // only means another supervisor if it stays held.
    let mut me = None;
    for _ in 0..500 {
        me = lock::try_acquire(&lock_path(name))?;
        if me.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let Some(_me) = me else {
        return Ok(0); // another supervisor has it
    };
    let report = |text: String| {
        let _ = fs::write(status_path(&paths), text);
    };
    let def = match lifecycle::load_definition(name) {
        Ok(d) => d,
        Err(e) => {
            report(format!("failed: {e}\n"));
            return Err(e);
        }
    };
    let mut dnsmasq = match def.needs_dnsmasq() {
        true => match state::running_dnsmasq(&paths)
            .map(Ok)
            .unwrap_or_else(|| lifecycle::start_dnsmasq(&def, &paths))
        {
            Ok(pid) => Some(pid),
            Err(e) => {
                report(format!("failed: {e}\n"));
                return Err(e);
            }
        },
        false => None,
    };
    report(format!("ready pid={}\n", std::process::id()));

    loop {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .or_fail(|| "starting the supervisor runtime")?;
        let outcome = rt.block_on(watch(&def, &paths, &mut dnsmasq))?;
        drop(rt);
        match outcome {
            Outcome::Exit => return Ok(0),
            Outcome::Idle => {
                // Re-check under the network's lock: an attach may have added a
                // tap since (it holds this lock until its tap is a port).
                let net_lock: Lock = lock::network(name)?;
                let ports = bridge::with_rtnetlink(async |h| count_ports(h, &def).await)?;
                if ports > 0 {
                    continue;
                }
                let result = lifecycle::tear_down(name);
                crate::audit::network(0, name, "torn down after idle timeout");
                drop(_me);
                drop(net_lock);
                return result.map(|()| 0);
            }
        }
    }
}

enum Outcome {
    /// SIGTERM: exit, leave the network up.
    Exit,
    /// No ports for idle-timeout: tear down (after re-checking under the lock).
    Idle,
}

/// What the supervisor watches: its bridge and the bridge's guest ports (a
/// bridged network's uplink is not a guest, or the network would never be
/// idle).
struct Watched {
    bridge: Option<u32>,
    ports: Vec<u32>,
}

async fn watched(h: &rtnetlink::Handle, def: &Definition) -> Result<Watched> {
    let uplink = (def.mode == Mode::Bridged)
        .then_some(def.uplink.as_deref())
        .flatten();
    let Some(m) = bridge::link(h, &def.name).await? else {
        return Ok(Watched {
            bridge: None,
            ports: Vec::new(),
        });
    };
    let ports = bridge::port_links(h, m.header.index)
        .await?
        .into_iter()
        .filter(|(_, name)| Some(name.as_str()) != uplink)
        .map(|(index, _)| index)
        .collect();
    Ok(Watched {
        bridge: Some(m.header.index),
        ports,
    })
}

async fn count_ports(h: &rtnetlink::Handle, def: &Definition) -> Result<usize> {
    Ok(watched(h, def).await?.ports.len())
}

/// Does a link notification concern this network: its bridge, one of its
/// ports, or a link that names the bridge as master or has its name? Other
/// networks' taps come and go without waking a recount here.
fn concerns(msg: &NetlinkMessage<RouteNetlinkMessage>, def: &Definition, w: &Watched) -> bool {
    let link = match &msg.payload {
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l))
        | NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(l)) => l,
        // Anything else (an overrun: notifications were lost): recount.
        _ => return true,
    };
    let index = link.header.index;
    Some(index) == w.bridge
        || w.ports.contains(&index)
        || link.attributes.iter().any(|a| match a {
            LinkAttribute::Controller(c) => Some(*c) == w.bridge,
            LinkAttribute::IfName(n) => *n == def.name,
            _ => false,
        })
}

/// How long the supervisor lets a burst of link events settle before it
/// recounts the bridge's ports (far below any idle-timeout).
const RECOUNT_DELAY: Duration = Duration::from_millis(50);

/// Wait for a pidfd to become readable (the process exited).
async fn exited(fd: &Option<AsyncFd<std::os::fd::OwnedFd>>) {
    match fd {
        Some(fd) => {
            let _ = fd.readable().await;
        }
        None => std::future::pending().await,
    }
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

async fn watch(def: &Definition, paths: &Paths, dnsmasq: &mut Option<u32>) -> Result<Outcome> {
    let (mut conn, handle, mut events) =
        rtnetlink::new_connection().or_fail(|| "opening rtnetlink")?;
    conn.socket_mut()
        .socket_mut()
        .bind(&netlink_sys::SocketAddr::new(0, libc::RTMGRP_LINK as u32))
        .or_fail(|| "subscribing to link notifications")?;
    tokio::spawn(conn);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .or_fail(|| "installing the SIGTERM handler")?;

    let watch_pid = |pid: Option<u32>| {
        pid.and_then(|p| sys::pidfd_open(p).ok())
            .and_then(|fd| AsyncFd::new(fd).ok())
    };
    let mut pidfd = watch_pid(*dnsmasq);
    let mut restart_at: Option<Instant> = None;
    let mut backoff = Duration::from_millis(100);
    let mut started_at = Instant::now();
    let mut idle_since: Option<Instant> = None;

    loop {
        let w = watched(&handle, def).await?;
        idle_since = match (w.ports.len(), idle_since) {
            (0, None) => Some(Instant::now()),
            (0, since) => since,
            _ => None,
        };
        let teardown_at = match (idle_since, def.idle_timeout) {
            (Some(since), Some(t)) => Some(since + t),
            _ => None,
        };
        // Wait for something that concerns this network, then recount.
        loop {
            tokio::select! {
                ev = events.next() => match ev {
                    Some((msg, _)) if !concerns(&msg, def, &w) => continue,
                    Some(_) => {
                        // A tap arrives as a burst of events while its helper
                        // is still configuring it; a link dump now would
                        // contend for rtnl with that helper. Recount once,
                        // after the burst.
                        tokio::time::sleep(RECOUNT_DELAY).await;
                        while let Some(Some(_)) = events.next().now_or_never() {}
                        break;
                    }
                    None => return Err(fail!("network `{}': link notifications ended", def.name)),
                },
                _ = term.recv() => return Ok(Outcome::Exit),
                _ = sleep_until(teardown_at) => return Ok(Outcome::Idle),
                _ = exited(&pidfd) => {
                    // dnsmasq died: restart it after a backoff that grows while it
                    // keeps dying and resets once it has run for a while.
                    pidfd = None;
                    *dnsmasq = None;
                    if started_at.elapsed() > Duration::from_secs(30) {
                        backoff = Duration::from_millis(100);
                    }
                    restart_at = Some(Instant::now() + backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    crate::audit::network_failed(0, &def.name, "dnsmasq exited; restarting it");
                }
                _ = sleep_until(restart_at) => {
                    restart_at = None;
                    match lifecycle::start_dnsmasq(def, paths) {
                        Ok(pid) => {
                            *dnsmasq = Some(pid);
                            pidfd = watch_pid(Some(pid));
                            started_at = Instant::now();
                        }
                        Err(e) => {
                            crate::audit::network_failed(0, &def.name, e.message());
                            restart_at = Some(Instant::now() + backoff);
                            backoff = (backoff * 2).min(Duration::from_secs(5));
                        }
                    }
                }
            }
        }
    }
}
