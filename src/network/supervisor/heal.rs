//! Self-healing of a network's firewall, without polling: the supervisor
//! wakes only when the ruleset changes or firewalld says something.
//!
//! - netfilter's netlink notifications (NETLINK_NETFILTER, multicast group
//!   NFNLGRP_NFTABLES): every nftables change, iptables-nft's included (a
//!   `nft flush ruleset`, an iptables or nftables reload, firewalld flushing
//!   the iptables tables on reload, start and stop). After a burst settles
//!   ([`SETTLE`]) the supervisor reads the ruleset once and re-applies the
//!   network's rules only if they are not all there; its own re-apply makes
//!   events too, whose check then finds everything present (no loop).
//! - firewalld's `Reloaded` signal and its bus name getting a new owner (it
//!   started or restarted): both drop runtime zone bindings, so the bridge is
//!   bound again (see firewall::firewalld).
//!
//! Guests are never touched: only missing rules are added, in the same
//! transaction a bring-up would run, and established connections stay (our
//! rules match them again; conntrack keeps their state).

use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use tokio::io::unix::AsyncFd;

use crate::network::definition::Definition;
use crate::network::definitions;
use crate::network::firewall::{self, firewalld};
use crate::paths;
use crate::sys;

/// How long a burst of ruleset changes may settle before the check (a
/// firewalld reload is a few transactions in a row).
const SETTLE: Duration = Duration::from_millis(100);

/// NETLINK_NETFILTER's multicast group of nftables changes.
const NFNLGRP_NFTABLES: u32 = 7;

/// What woke us, after a burst settled.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Trigger {
    /// The ruleset changed: check our rules.
    pub ruleset: bool,
    /// firewalld reloaded or (re)started: bind the bridge again.
    pub firewalld: bool,
}

/// A source of news: what we read from, and a duplicate of its descriptor
/// registered with tokio for readiness.
struct Source<T> {
    inner: T,
    ready: AsyncFd<OwnedFd>,
}

impl<T: AsFd> Source<T> {
    fn new(inner: T) -> std::io::Result<Source<T>> {
        let ready = sys::async_fd(inner.as_fd().try_clone_to_owned()?)?;
        Ok(Source { inner, ready })
    }
}

/// The supervisor's two sources of firewall news.
pub struct Healer {
    nft: Option<Source<netlink_sys::Socket>>,
    bus: Option<Source<firewalld::Watch>>,
    /// News read but not yet returned (`next` may be cancelled by the
    /// supervisor's other events while the burst settles).
    pending: Trigger,
}

/// A non-blocking NETLINK_NETFILTER socket in the nftables group.
fn nft_socket() -> std::io::Result<Source<netlink_sys::Socket>> {
    let mut s = netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_NETFILTER)?;
    s.bind_auto()?;
    s.add_membership(NFNLGRP_NFTABLES)?;
    s.set_non_blocking(true)?;
    Source::new(s)
}

impl Healer {
    /// Subscribe to both (each is optional: no nftables in the kernel, no
    /// system bus). Must run inside the supervisor's tokio runtime.
    pub fn open(network: &str) -> Healer {
        let nft = nft_socket()
            .map_err(|e| {
                let why = format!("not watching the ruleset (netfilter notifications: {e})");
                crate::audit::network_failed(0, network, &why);
            })
            .ok();
        let bus = firewalld::Watch::open().and_then(|w| Source::new(w).ok());
        Healer {
            nft,
            bus,
            // One check at the start: the rules are there (a bring-up's
            // transaction may have been the last change, made before we
            // subscribed), and the read refreshes the driver's cache of the
            // ruleset for the next bring-up (nftables/cache.rs).
            pending: Trigger {
                ruleset: true,
                firewalld: false,
            },
        }
    }

    /// Wait for news, let the burst settle, and say what it was.
    /// Cancellation-safe: what was read stays in `pending`.
    pub async fn next(&mut self) -> Trigger {
        while self.pending == Trigger::default() {
            tokio::select! {
                news = nft_news(&self.nft) => self.pending.ruleset = news,
                news = bus_news(&mut self.bus) => self.pending = news,
            }
        }
        tokio::time::sleep(SETTLE).await;
        let mut t = std::mem::take(&mut self.pending);
        // What came meanwhile belongs to this burst (readiness left set
        // here costs at most one wake-up that finds nothing).
        if let Some(src) = &self.nft {
            t.ruleset |= drain_nft(&src.inner);
        }
        if let Some(src) = &mut self.bus {
            match bus_events(&mut src.inner) {
                Some(more) => {
                    t.ruleset |= more.ruleset;
                    t.firewalld |= more.firewalld;
                }
                None => self.bus = None,
            }
        }
        t
    }
}

/// Read every notification the socket holds; whether there was any (a
/// lost-notifications error counts: something changed).
fn drain_nft(s: &netlink_sys::Socket) -> bool {
    let mut buf = vec![0u8; 65536];
    let mut any = false;
    loop {
        match s.recv(&mut &mut buf[..], 0) {
            Ok(_) => any = true,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return any,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return true, // ENOBUFS
        }
    }
}

/// What firewalld's signals say (None: the bus went away).
fn bus_events(w: &mut firewalld::Watch) -> Option<Trigger> {
    let events = w.events().ok()?;
    Some(Trigger {
        ruleset: !events.is_empty(),
        firewalld: events.iter().any(|e| *e != firewalld::Event::Stopped),
    })
}

/// Wait for ruleset notifications (forever without the socket).
async fn nft_news(src: &Option<Source<netlink_sys::Socket>>) -> bool {
    let Some(src) = src else {
        return std::future::pending().await;
    };
    loop {
        let Ok(mut g) = src.ready.readable().await else {
            return std::future::pending().await;
        };
        let mut any = false;
        // Read until the socket is empty; WouldBlock clears the readiness.
        let _ = g.try_io(|_| {
            any = drain_nft(&src.inner);
            Err::<(), _>(std::io::ErrorKind::WouldBlock.into())
        });
        if any {
            return true;
        }
    }
}

/// Wait for firewalld's signals (forever without a bus; a bus that goes
/// away is dropped).
async fn bus_news(bus: &mut Option<Source<firewalld::Watch>>) -> Trigger {
    loop {
        let Some(src) = bus.as_mut() else {
            return std::future::pending().await;
        };
        let Ok(mut g) = src.ready.readable().await else {
            return std::future::pending().await;
        };
        let mut got = Some(Trigger::default());
        let _ = g.try_io(|_| {
            got = bus_events(&mut src.inner);
            Err::<(), _>(std::io::ErrorKind::WouldBlock.into())
        });
        match got {
            None => *bus = None,
            Some(t) if t != Trigger::default() => return t,
            Some(_) => {}
        }
    }
}

/// Re-assert what the trigger says may be gone (network up only: a teardown
/// removes the up marker before it stops us). Returns what it did, for the
/// log and the tests.
pub fn heal(def: &Definition, net: &paths::Network, t: Trigger) -> Option<String> {
    if !net.up_marker().exists() {
        return None;
    }
    let mut did = Vec::new();
    if t.ruleset {
        // Judged and re-applied with the peers defined now, not those of
        // the bring-up: a network created since (a user's `net create`) had
        // this network's rules re-applied to keep it out, and restoring the
        // old list would let it in again.
        let mut def = def.clone();
        def.peers = definitions::peers(&def.name);
        let def = &def;
        let present = firewall::current().is_ok_and(|c| c.present(def));
        if !present {
            did.push(match firewall::apply(def) {
                Ok(_) => "firewall rules restored".to_string(),
                Err(e) => format!("restoring the firewall rules: {e}"),
            });
        }
    }
    if t.firewalld {
        if let firewalld::Binding::Bound(z) = firewalld::bind_or_warn(def) {
            did.push(format!("bridge bound to firewalld zone {z}"));
        }
    }
    (!did.is_empty()).then(|| did.join("; "))
}
