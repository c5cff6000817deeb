//! Carrying out the firewall plans: read the current ruleset, plan with the
//! chosen backend, run the invocations in order. Programs run by absolute
//! path with an empty environment (exec::run_program), as root; `apply` and
//! `remove` hold the global firewall lock from the read to the last write,
//! and so does every program they run, until it exits: if we are killed
//! while iptables-restore runs, it still commits, and nobody reads or
//! changes the firewall before it has.

use super::{nfnl, nftables, rules, Backend, Current, Invocation};
use crate::error::Result;
use crate::network::definition::Definition;
use crate::network::{exec, lock};

/// What `apply` read on the way.
pub struct Applied {
    /// The host's whole nftables ruleset as it was read (nftables backend),
    /// for the bring-up's diagnosis of foreign tables without a second read.
    pub host_ruleset: Option<String>,
}

/// Bring network `def`'s rules to what it wants (setup, or repair): one
/// read and, with nftables, one write transaction.
pub fn apply(def: &Definition) -> Result<Applied> {
    let fw_lock = lock::firewall()?;
    let current = read_chosen(Some(&fw_lock))?;
    let want = rules::wanted(def);
    current.before_setup(&want)?;
    for inv in current.setup(&want).steps {
        run(&inv, Some(&fw_lock))
            .map_err(|e| e.context(format!("network `{}': firewall", def.name)))?;
    }
    remove_other(current.backend(), &def.name, &fw_lock)?;
    Ok(Applied {
        host_ruleset: current.host_ruleset().map(str::to_string),
    })
}

/// Remove every rule of network `name`, of both backends.
pub fn remove(name: &str) -> Result<()> {
    let fw_lock = lock::firewall()?;
    let current = read_chosen(Some(&fw_lock))?;
    let steps = current.teardown(name).steps;
    let changed = !steps.is_empty();
    for inv in steps {
        run(&inv, Some(&fw_lock))?;
    }
    current.after_teardown();
    remove_other(current.backend(), name, &fw_lock)?;
    // Read again for the cache: the next bring-up (a guest waits for it)
    // then plans on it without an exec of nft, unless the ruleset changed
    // meanwhile (a teardown has no one waiting).
    if changed && current.backend() == Backend::Nftables {
        let _ = nftables_listing(Some(&fw_lock));
    }
    Ok(())
}

/// Under the iptables backend, the network's leftovers of the nftables
/// backend (an admin switched backends), when nft is there. (The nftables
/// backend's own transaction removes the iptables backend's leftovers.)
/// After network `name` was deleted for good: remove what still names it
/// (see `Current::forget`); the ruleset as it was read, before that.
pub fn forget(name: &str) -> Result<Current> {
    let fw_lock = lock::firewall()?;
    let current = read_chosen(Some(&fw_lock))?;
    for inv in current.forget(name).steps {
        run(&inv, Some(&fw_lock))?;
    }
    Ok(current)
}

fn remove_other(used: Backend, name: &str, fw_lock: &lock::Lock) -> Result<()> {
    let other = used.other();
    if other != Backend::Nftables || !std::path::Path::new(nftables::NFT).is_file() {
        return Ok(());
    }
    let Ok(Current::Nftables(current)) = read(other, Some(fw_lock)) else {
        return Ok(());
    };
    for inv in current.teardown_own(name).steps {
        run(&inv, Some(fw_lock))?;
    }
    Ok(())
}

/// The firewall as it is now, read once (for `status`, which asks about
/// every network against the same reading).
pub fn current() -> Result<Current> {
    read_chosen(None)
}

/// The host's whole nftables ruleset as `nft list ruleset` prints it (for
/// `foreign::diagnose`); empty where nft is missing or refuses (not root).
pub fn host_ruleset() -> String {
    exec::tool("nft")
        .and_then(|nft| exec::run_program(&nft, &["list", "ruleset"], None))
        .unwrap_or_default()
}

/// Read with the first backend config.toml allows that can read.
fn read_chosen(fw_lock: Option<&lock::Lock>) -> Result<Current> {
    let backends = Backend::chosen()?;
    let mut last = None;
    for b in backends {
        match read(b, fw_lock) {
            Ok(c) => return Ok(c),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| fail!("no firewall backend")))
}

fn read(backend: Backend, fw_lock: Option<&lock::Lock>) -> Result<Current> {
    if backend == Backend::Nftables {
        let listing = nftables_listing(fw_lock)?;
        return backend.parse(&[listing]);
    }
    let mut outputs = Vec::new();
    for inv in backend.read_commands() {
        match run(&inv, fw_lock) {
            Ok(out) => outputs.push(out),
            Err(_) if inv.optional => outputs.push(String::new()),
            Err(e) => return Err(e),
        }
    }
    backend.parse(&outputs)
}

/// `nft -a list ruleset`, or the listing cached at the ruleset's current
/// generation (nftables/cache.rs). What nft printed is cached if the
/// generation did not change while it ran, under the firewall lock (held
/// already, or free now; else it is not stored).
fn nftables_listing(fw_lock: Option<&lock::Lock>) -> Result<String> {
    let before = nfnl::generation().ok();
    if let Some(listing) = before.and_then(nftables::cache::listing) {
        return Ok(listing);
    }
    let mut listing = String::new();
    for inv in nftables::read_commands() {
        listing.push_str(&run(&inv, fw_lock)?);
    }
    let unchanged = before.filter(|&g| nfnl::generation().ok() == Some(g));
    if let Some(g) = unchanged {
        let held = match fw_lock {
            Some(_) => None,
            None => lock::try_acquire(std::path::Path::new(crate::paths::FIREWALL_LOCK))
                .ok()
                .flatten(),
        };
        if fw_lock.is_some() || held.is_some() {
            nftables::cache::store(g, &listing);
        }
    }
    Ok(listing)
}

fn run(inv: &Invocation, fw_lock: Option<&lock::Lock>) -> Result<String> {
    let input = (!inv.stdin.is_empty()).then_some(inv.stdin.as_str());
    exec::run_program_holding(inv.program, inv.args, input, fw_lock)
}
