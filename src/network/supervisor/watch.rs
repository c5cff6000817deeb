//! The supervisor itself, `vnet-helper supervise NAME` (real uid 0 only):
//! it holds its lock for its whole life (see `process`), keeps dnsmasq
//! running (watching it with a pidfd, restarting it with backoff), watches the
//! bridge's ports through rtnetlink link notifications (no polling), puts
//! the firewall rules and the firewalld zone binding back when they vanish
//! (`heal`: netfilter notifications and firewalld's signals), and when
//! the bridge has had no guest (a port some process holds) for
//! `idle-timeout` it takes the network's lock, re-checks under it and tears
//! the network down (deleting the bridge detaches any tap left on it). SIGTERM (e.g.
//! `systemctl stop`) makes it exit and leave the network up: the next call
//! adopts it.

use std::fs;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use netlink_sys::AsyncSocket;
use tokio::io::unix::AsyncFd;

use super::{heal, process};
use crate::error::{OrFail, Result};
use crate::network::definition::{Definition, Mode};
use crate::network::lock::{self, Lock};
use crate::network::supervisor::ports::{Applied, Ports};
use crate::network::{bridge, definitions, dnsmasq, steps};
use crate::paths;
use crate::sys;

/// `vnet-helper supervise [--bring-up] NAME`: the supervisor's main.
/// Real uid 0 only. With `--bring-up` it was started by a bring-up before
/// anything was made, and guards it (see `process`).
pub fn run(name: &str, bring_up: bool) -> Result<i32> {
    let net = paths::Network::new(name);
    crate::audit::to_journal_stream(name);
    let Some(me) = take_supervisor_lock(&net)? else {
        return Ok(0); // another supervisor has it
    };
    // Read while a bring-up makes the bridge (it needs nothing made).
    let def = definitions::load(name);
    if bring_up {
        if !told(process::GO, false) {
            // The bring-up died (or failed and undid itself) before its
            // bridge had its address.
            drop(me);
            return steps::finish_abandoned(&net).map(|()| 0);
        }
    } else if !net.pending_marker().exists() && !net.up_marker().exists() {
        // Started for a network that was taken down (or by hand, for none)
        // before we got here: there is nothing to supervise.
        return Ok(0);
    }
    let report = |text: String| {
        let _ = fs::write(net.supervisor_status(), text);
        release_stdout();
    };
    let started = def.and_then(|def| {
        let dnsmasq = match def.needs_dnsmasq() {
            true => Some(dnsmasq::running(&net).map_or_else(|| dnsmasq::start(&def, &net), Ok)?),
            false => None,
        };
        Ok((def, dnsmasq))
    });
    let (def, mut dnsmasq) = match started {
        Ok(s) => s,
        Err(e) => {
            report(format!("failed: {e}\n"));
            return Err(e);
        }
    };
    report(format!("ready pid={}\n", std::process::id()));
    if bring_up && !told(process::DONE, true) && !net.up_marker().exists() {
        // The bring-up was killed after its bridge was made, before it
        // finished: undo what it made (our dnsmasq included), as its guard.
        drop(me);
        return steps::finish_abandoned(&net).map(|()| 0);
    }
    // Watch once the call that started us is done with the network (its
    // lock is free, its tap a port): the watch's set-up then does not take
    // a CPU from that call's last steps (the dump finds the tap).
    let _ = lock::network(&net);

    loop {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .or_fail(|| "starting the supervisor runtime")?;
        let outcome = rt.block_on(watch(&def, &net, &mut dnsmasq))?;
        drop(rt);
        match outcome {
            Outcome::Exit => return Ok(0),
            Outcome::Idle => {
                // Re-check under the network's lock: an attach may have added a
                // tap since (it holds this lock until its tap is a port).
                let net_lock: Lock = lock::network(&net)?;
                let guests = bridge::with_rtnetlink(async |h| count_guests(h, &def).await)?;
                if guests > 0 {
                    continue;
                }
                let result = steps::tear_down(&net);
                crate::audit::network(0, name, "torn down after idle timeout");
                drop(me);
                drop(net_lock);
                return result.map(|()| 0);
            }
        }
    }
}

/// Whether the bring-up that started us said `word` on our stdin: the next
/// `word.len()` bytes, or (`to_end`) everything up to its end, which then
/// becomes /dev/null.
fn told(word: &[u8], to_end: bool) -> bool {
    use std::io::Read;
    let mut said = Vec::new();
    let limit = if to_end { 64 } else { word.len() as u64 };
    let _ = std::io::stdin().lock().take(limit).read_to_end(&mut said);
    if to_end {
        onto_dev_null(libc::STDIN_FILENO);
    }
    said == word
}

/// The bring-up that started us waits for our stdout to close (see
/// `process::Starting`): once the status file says how the start went, it
/// is /dev/null.
fn release_stdout() {
    onto_dev_null(libc::STDOUT_FILENO);
}

/// Put /dev/null on standard descriptor `fd` (closing the pipe it was).
fn onto_dev_null(fd: std::os::fd::RawFd) {
    if let Ok(null) = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        use std::os::fd::AsRawFd;
        let _ = nix::unistd::dup2(null.as_raw_fd(), fd);
    }
}

/// `process::alive()` probes the supervisor lock by taking it for a moment,
/// so a held lock only means another supervisor if it stays held.
fn take_supervisor_lock(net: &paths::Network) -> Result<Option<Lock>> {
    for _ in 0..500 {
        if let Some(me) = lock::try_acquire(&net.supervisor_lock())? {
            return Ok(Some(me));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(None)
}

enum Outcome {
    /// SIGTERM: exit, leave the network up.
    Exit,
    /// No guests for idle-timeout: tear down (after re-checking under the lock).
    Idle,
}

/// The bridge's ports as a dump sees them now (see `ports`).
async fn dump(h: &rtnetlink::Handle, def: &Definition) -> Result<Ports> {
    let Some(m) = bridge::link(h, &def.name).await? else {
        return Ok(Ports::from_dump(None, &[]));
    };
    let uplink = uplink(def);
    let ports: Vec<bridge::Port> = bridge::ports(h, m.header.index)
        .await?
        .into_iter()
        .filter(|p| Some(p.name.as_str()) != uplink)
        .collect();
    Ok(Ports::from_dump(Some(m.header.index), &ports))
}

/// A bridged network's uplink: a port, but no guest.
fn uplink(def: &Definition) -> Option<&str> {
    (def.mode == Mode::Bridged)
        .then_some(def.uplink.as_deref())
        .flatten()
}

async fn count_guests(h: &rtnetlink::Handle, def: &Definition) -> Result<usize> {
    Ok(dump(h, def).await?.guests())
}

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

/// Keeps dnsmasq running: watches it with a pidfd and restarts it after a
/// backoff that grows while it keeps dying and resets once it has run for a
/// while.
struct Keeper<'a> {
    def: &'a Definition,
    net: &'a paths::Network,
    pid: &'a mut Option<u32>,
    pidfd: Option<AsyncFd<std::os::fd::OwnedFd>>,
    restart_at: Option<Instant>,
    backoff: Duration,
    started_at: Instant,
}

impl<'a> Keeper<'a> {
    fn new(def: &'a Definition, net: &'a paths::Network, pid: &'a mut Option<u32>) -> Self {
        let pidfd = watch_pid(*pid);
        Keeper {
            def,
            net,
            pid,
            pidfd,
            restart_at: None,
            backoff: Duration::from_millis(100),
            started_at: Instant::now(),
        }
    }

    fn died(&mut self) {
        self.pidfd = None;
        if let Some(pid) = self.pid.take() {
            dnsmasq::reap(pid);
        }
        if self.started_at.elapsed() > Duration::from_secs(30) {
            self.backoff = Duration::from_millis(100);
        }
        self.retry_later();
        crate::audit::network_failed(0, &self.def.name, "dnsmasq exited; restarting it");
    }

    fn retry_later(&mut self) {
        self.restart_at = Some(Instant::now() + self.backoff);
        self.backoff = (self.backoff * 2).min(Duration::from_secs(5));
    }

    fn restart(&mut self) {
        self.restart_at = None;
        match dnsmasq::start(self.def, self.net) {
            Ok(pid) => {
                *self.pid = Some(pid);
                self.pidfd = watch_pid(Some(pid));
                self.started_at = Instant::now();
            }
            Err(e) => {
                crate::audit::network_failed(0, &self.def.name, e.message());
                self.retry_later();
            }
        }
    }
}

fn watch_pid(pid: Option<u32>) -> Option<AsyncFd<std::os::fd::OwnedFd>> {
    pid.and_then(|p| sys::async_pidfd(p).ok())
}

async fn watch(
    def: &Definition,
    net: &paths::Network,
    dnsmasq_pid: &mut Option<u32>,
) -> Result<Outcome> {
    let (mut conn, handle, mut events) =
        rtnetlink::new_connection().or_fail(|| "opening rtnetlink")?;
    conn.socket_mut()
        .socket_mut()
        .bind(&netlink_sys::SocketAddr::new(0, libc::RTMGRP_LINK as u32))
        .or_fail(|| "subscribing to link notifications")?;
    tokio::spawn(conn);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .or_fail(|| "installing the SIGTERM handler")?;
    let mut keeper = Keeper::new(def, net, dnsmasq_pid);
    let mut healer = heal::Healer::open(&def.name);
    let mut idle_since: Option<Instant> = None;
    // Dumped once (the subscription is already made), then kept from the
    // notifications: no per-event dump (see `ports`).
    let mut ports = dump(&handle, def).await?;

    loop {
        idle_since = match (ports.guests(), idle_since) {
            (0, None) => Some(Instant::now()),
            (0, since) => since,
            _ => None,
        };
        let teardown_at = match (idle_since, def.idle_timeout) {
            (Some(since), Some(t)) => Some(since + t),
            _ => None,
        };
        // Wait for something that changes this network's ports.
        loop {
            tokio::select! {
                ev = events.next() => match ev {
                    Some((msg, _)) => match ports.apply(&msg, &def.name, uplink(def)) {
                        Applied::Ignored => continue,
                        Applied::Changed => break,
                        Applied::Resync => {
                            ports = dump(&handle, def).await?;
                            break;
                        }
                    },
                    None => return Err(fail!("network `{}': link notifications ended", def.name)),
                },
                _ = term.recv() => return Ok(Outcome::Exit),
                _ = sleep_until(teardown_at) => return Ok(Outcome::Idle),
                _ = exited(&keeper.pidfd) => keeper.died(),
                _ = sleep_until(keeper.restart_at) => keeper.restart(),
                t = healer.next() => {
                    if let Some(did) = heal::heal(def, net, t) {
                        crate::audit::network(0, &def.name, &did);
                    }
                }
            }
        }
    }
}
