//! The steps that make and unmake a managed network, in order: `bring_up`
//! (firewall, bridge, forwarding and the supervisor with dnsmasq side by
//! side; every step undone if a later one fails), `tear_down`, and
//! `refresh` (an admin's `up` on a network that is up). Each resource is its
//! own module's business; this file only sequences them.
//!
//! Everything here runs as full root (privileges::become_root) with the
//! network's lock held, so bring-up, attach and teardown of one network never
//! interleave. A bring-up killed at any point leaves a `pending` marker and
//! no `up` marker. Its guard (the supervisor it started first, or under
//! systemd `guard`) then undoes what is left at once (`finish_abandoned`);
//! failing that (the guard killed too), the next call
//! redoes the bring-up over what is left (adopting the bridge, replacing
//! half-applied rules, restarting dnsmasq), which every step is written to
//! allow.

use std::fs;

use crate::error::{self, OrFail, Result};
use crate::network::definition::{Definition, Mode};
use crate::network::supervisor::process as supervisor;
use crate::network::{bridge, dnsmasq, firewall, guard, lock, sysctl};
use crate::paths;

/// Up = the bring-up finished (`up` marker) and the supervisor is alive.
/// (The bridge itself is checked by the attach right after.)
pub fn is_up(net: &paths::Network) -> bool {
    net.up_marker().exists() && supervisor::alive(net)
}

/// What a bring-up has done so far, so a failure can undo exactly that.
#[derive(Default)]
struct Done {
    bridge: bool,
    firewall: bool,
    supervisor: bool,
    ip_forward_was: Option<String>,
}

/// Make network `def`; the host's nftables ruleset as it read it, if still
/// current (see `bring_up_steps`).
pub fn bring_up(def: &Definition, net: &paths::Network) -> Result<Option<String>> {
    // A bad config.toml is refused before anything is made.
    firewall::config::load()?;
    // Leftovers of a bring-up that was killed (its guard too): its
    // supervisor and dnsmasq must go (they hold the name and the ports);
    // the bridge and the rules are adopted or replaced below. Without the
    // runtime directory no dnsmasq of ours runs (every teardown stops it
    // before it removes the directory): then the scan of every process's
    // command line (dnsmasq::stop) is skipped.
    let leftovers = net.run.exists();
    let resumed = net.pending_marker().exists() || net.up_marker().exists();
    let _ = fs::remove_file(net.up_marker());
    supervisor::stop(net);
    if leftovers {
        dnsmasq::stop(net);
    }
    // The guard, before anything is made: whatever is made after this is
    // undone if we die. A detached supervisor, started now so that its exec
    // happens while the bridge is made, is its own guard; under systemd
    // (the unit starts once the bridge is made) `vnet-helper guard NAME`
    // is. Both are told when we are done, whichever way it went.
    let mut supervisor = supervisor::spawn_for_bring_up(net)?;
    let guard = match supervisor.guards() {
        true => None,
        false => Some(guard::start(&def.name)?),
    };
    let result = bring_up_guarded(def, net, &mut supervisor, resumed);
    supervisor.done();
    if let Some(guard) = guard {
        guard.done();
    }
    result
}

fn bring_up_guarded(
    def: &Definition,
    net: &paths::Network,
    supervisor: &mut supervisor::Starting,
    resumed: bool,
) -> Result<Option<String>> {
    lock::secure_dir(&net.run.to_string_lossy(), 0o755)?;
    write_pending(net, None)?;
    // The supervisor runs already: `undo` stops it.
    let mut done = Done {
        supervisor: true,
        ..Done::default()
    };
    match bring_up_steps(def, net, supervisor, &mut done) {
        Ok(host_ruleset) => {
            let _ = fs::remove_file(net.pending_marker());
            Ok(host_ruleset)
        }
        Err(e) => Err(match undo(def, net, done, resumed) {
            Ok(()) => e,
            Err(undo_failed) => e.and(format!("undoing it: {undo_failed}")),
        }),
    }
}

/// The `pending` marker, with the IPv4 forwarding value found before the
/// bring-up changed it (for whoever has to undo it).
fn write_pending(net: &paths::Network, ip_forward_was: Option<&str>) -> Result<()> {
    let text = match ip_forward_was {
        Some(v) => format!("ip_forward_was={}\n", v.trim()),
        None => String::new(),
    };
    fs::write(net.pending_marker(), text).or_fail(|| net.pending_marker().display().to_string())
}

/// For a bring-up's guard (`vnet-helper guard NAME`, or the supervisor it
/// started) whose bring-up died half-way: undo what it left.
pub fn finish_abandoned(net: &paths::Network) -> Result<()> {
    let _lock = lock::network(net)?;
    // Under the lock: a later call may have finished the network meanwhile,
    // or undone it; or the bring-up died before it made anything.
    if net.up_marker().exists() || !net.run.exists() {
        return Ok(());
    }
    let pending = fs::read_to_string(net.pending_marker()).unwrap_or_default();
    let was = pending
        .lines()
        .find_map(|l| l.strip_prefix("ip_forward_was="));
    let mut results = vec![tear_down(net)];
    if let Some(was) = was.filter(|v| v.trim() != "1") {
        results.push(sysctl::write(sysctl::IPV4_FORWARD, was));
    }
    let result = error::all(results);
    let event = match &result {
        Ok(()) => "bring-up killed half-way; undone by its guard".to_string(),
        Err(e) => format!("bring-up killed half-way; undoing it: {e}"),
    };
    crate::audit::network(0, &net.name, &event);
    result
}

/// The steps; the host's nftables ruleset as the firewall set-up read it,
/// when it is still current (for `foreign::diagnose`, without a second read).
fn bring_up_steps(
    def: &Definition,
    net: &paths::Network,
    supervisor: &mut supervisor::Starting,
    done: &mut Done,
) -> Result<Option<String>> {
    // The firewall is set up on a thread of its own, side by side with the
    // bridge, forwarding and the supervisor's start: its rules name the
    // bridge but need not find it, and its two transactions are the longest
    // step. The scope joins it whichever way a step fails, before `undo`.
    std::thread::scope(|s| {
        // 1. The supervisor (started by `bring_up`) starts dnsmasq when
        // told that the bridge has its address (5), and is waited for last.
        // It heals nothing before the `up` marker exists (supervisor::heal).
        let firewall = bridge::with_rtnetlink(async |h| {
            // 2. A colliding subnet is refused while nothing is made yet.
            bridge::check_collisions(h, def).await?;
            // 3. Firewall (one read, one write transaction), started.
            done.firewall = true;
            let firewall = s.spawn(|| firewall::apply(def));
            // 4. Bridge.
            let made = bridge::ensure(h, def).await;
            done.bridge = match &made {
                Ok(m) => m.created,
                Err(_) => bridge::link(h, &def.name).await.ok().flatten().is_some(),
            };
            made.map(|_| firewall)
        })?;
        // 5. dnsmasq may start.
        supervisor.go(net)?;
        // 6. Forwarding (the previous value is restored if this bring-up fails).
        if matches!(def.mode, Mode::Nat | Mode::Routed) {
            done.ip_forward_was = sysctl::read(sysctl::IPV4_FORWARD);
            write_pending(net, done.ip_forward_was.as_deref())?;
            sysctl::write(sysctl::IPV4_FORWARD, "1")?;
            if def.ipv6.is_some() {
                sysctl::write(sysctl::IPV6_FORWARD, "1")?;
            }
        }
        // 7. The firewall, done.
        let applied = firewall
            .join()
            .map_err(|_| fail!("network `{}': the firewall set-up crashed", def.name))??;
        // 7b. firewalld, if it runs: the bridge into our zone (a missing zone
        // is a warning naming the file to install, not a failure). Binding
        // rewrites firewalld's tables: the ruleset read before is stale then.
        let binding = firewall::firewalld::bind_or_warn(def);
        let host_ruleset = applied
            .host_ruleset
            .filter(|_| binding == firewall::firewalld::Binding::NoFirewalld);
        // 8. dnsmasq runs (or the bring-up fails with its error).
        supervisor.wait(net)?;
        // 9. Up.
        fs::write(net.up_marker(), b"").or_fail(|| net.up_marker().display().to_string())?;
        Ok(host_ruleset)
    })
}

/// Undo a failed bring-up in reverse order (a leftover bridge or rules of a
/// killed bring-up are ours too); every failure is reported.
fn undo(def: &Definition, net: &paths::Network, done: Done, resumed: bool) -> Result<()> {
    if done.supervisor {
        supervisor::stop(net);
    }
    dnsmasq::stop(net);
    let mut results = Vec::new();
    if done.firewall || resumed {
        firewall::firewalld::unbind(&def.name);
        results.push(firewall::remove(&def.name));
    }
    if done.bridge || resumed {
        results.push(bridge::with_rtnetlink(async |h| {
            bridge::delete(h, &def.name).await
        }));
    }
    if let Some(was) = done.ip_forward_was.filter(|v| v.trim() != "1") {
        results.push(sysctl::write(sysctl::IPV4_FORWARD, &was));
    }
    remove_runtime_files(net);
    error::all(results)
}

/// Take the network down: dnsmasq, rules, bridge, runtime files. The lease
/// file stays. The caller holds the network's lock. Every step is tried;
/// every failure is reported.
pub fn tear_down(net: &paths::Network) -> Result<()> {
    // Markers first: a supervisor still starting then finds nothing to
    // supervise.
    let _ = fs::remove_file(net.up_marker());
    let _ = fs::remove_file(net.pending_marker());
    if supervisor::pid(net) != Some(std::process::id()) {
        supervisor::stop(net);
    }
    dnsmasq::stop(net);
    firewall::firewalld::unbind(&net.name);
    let fw = firewall::remove(&net.name);
    let br = bridge::with_rtnetlink(async |h| bridge::delete(h, &net.name).await);
    remove_runtime_files(net);
    error::all([fw, br])
}

/// What is left of network `name` that has neither a definition nor
/// runtime state (a teardown whose firewall step failed after its
/// definition was deleted): `rules` (its firewall rules, either backend),
/// `bridge` (only one made by us: bridge::made_by_us).
pub fn leftovers(name: &str) -> Vec<&'static str> {
    let mut left = Vec::new();
    if firewall::current().is_ok_and(|c| c.leftovers(name)) {
        left.push("firewall rules");
    }
    if bridge::made_by_us(name) {
        left.push("bridge");
    }
    left
}

/// Remove what `leftovers` finds. The caller holds the network's lock.
pub fn remove_leftovers(name: &str) -> Result<()> {
    firewall::firewalld::unbind(name);
    let fw = firewall::remove(name);
    let br = match bridge::made_by_us(name) {
        true => bridge::with_rtnetlink(async |h| bridge::delete(h, name).await),
        false => Ok(()),
    };
    error::all([fw, br])
}

/// For `vnet-helper up` on a network that is up: put the bridge's settings and
/// the firewall rules back (someone deleted the address, a firewall reload
/// flushed the rules) and have dnsmasq re-read the static hosts without
/// dropping guests.
pub fn refresh(def: &Definition, net: &paths::Network) -> Result<()> {
    bridge::with_rtnetlink(async |h| bridge::ensure(h, def).await.map(|_| ()))?;
    firewall::apply(def)?;
    firewall::firewalld::bind_or_warn(def);
    dnsmasq::reload_hosts(def, net)
}

fn remove_runtime_files(net: &paths::Network) {
    let _ = fs::remove_dir_all(&net.run);
}
