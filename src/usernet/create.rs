//! Creating a user network (`net create`, and an attach with auto-create).
//!
//! [`precheck`] is every check that needs nothing but the policy, the
//! accounts and the request, in the contract's order (name rule, pool by
//! prefix, membership, mode, IPv6, forwards): a refused caller costs no
//! lock and no file. [`create`] then, under the user-networks lock, refuses
//! collisions (interface, admin network, record, reserved name) and a full
//! quota, allocates the first free subnet (and /64) that overlaps nothing
//! the host, the admin networks or other records use, resolves the
//! forwards against it and writes the record. It does not bring the
//! network up (the first attach does).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::allocate::{self, Taken};
use super::membership::Accounts;
use super::policy::{Policy, Pool};
use super::record::{self, Record};
use crate::error::{Error, Result};
use crate::netaddr::Prefix;
use crate::network::definition::raw::Scalar;
use crate::network::definition::values::parse_port_range;
use crate::network::definition::{self, Forward, Mode};
use crate::network::{definitions, lock};
use crate::output::printable;
use crate::privileges::Caller;

/// Names that are never a user network: sysctl directories
/// (/proc/sys/net/ipv4/conf/{all,default}), /sys/class/net's file, and the
/// names of our own shared paths.
pub const RESERVED: &[&str] = &[
    "all",
    "default",
    "bonding_masters",
    "lo",
    "lock",
    "networks",
    "supervisors",
    "firewall",
    "user-networks",
];

/// What a caller asks for.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub name: String,
    pub mode: Option<String>,
    pub ipv6: bool,
    /// PROTO:HOSTPORT:GUESTIP:GUESTPORT, resolved after allocation.
    pub forwards: Vec<String>,
}

fn denied(msg: String) -> Error {
    Error::denied(msg)
}

/// The checks before any work, in the contract's order; the pool and mode.
pub fn precheck<'p>(
    policy: &'p Policy,
    accounts: &Accounts,
    caller: &Caller,
    req: &Request,
) -> Result<(&'p Pool, Mode)> {
    let name = &req.name;
    crate::ifname::check_managed_name(name).map_err(|m| {
        denied(format!(
            "invalid network name `{}': {m}",
            printable(name.as_bytes())
        ))
    })?;
    let pool = policy.pool_for(name).ok_or_else(|| {
        denied(format!(
            "no pool of user networks has a prefix that `{name}' starts with"
        ))
    })?;
    if !caller.is_root() && !accounts.is_member(caller, &pool.users) {
        return Err(denied(format!(
            "you (uid {}) are not a member of pool `{}' (see {})",
            caller.uid,
            pool.prefix,
            crate::paths::USER_NETWORKS_POLICY
        )));
    }
    let mode = match &req.mode {
        None => pool.default_mode,
        Some(m) => {
            let allowed: Vec<&str> = pool.modes.iter().map(|m| m.as_str()).collect();
            match pool.modes.iter().find(|x| x.as_str() == m) {
                Some(x) => *x,
                None => {
                    return Err(denied(format!(
                        "mode `{}' is not allowed in pool `{}' (allowed: {})",
                        printable(m.as_bytes()),
                        pool.prefix,
                        allowed.join(", ")
                    )))
                }
            }
        }
    };
    if req.ipv6 && pool.ipv6_subnets.is_empty() {
        return Err(denied(format!(
            "pool `{}' has no ipv6-subnets: --ipv6 is not available",
            pool.prefix
        )));
    }
    check_forward_ports(pool, mode, &req.forwards)?;
    Ok((pool, mode))
}

/// Forwards allowed in the pool, host ports within its range; the rest of
/// each forward is checked once the subnet is known.
fn check_forward_ports(pool: &Pool, mode: Mode, forwards: &[String]) -> Result<()> {
    if forwards.is_empty() {
        return Ok(());
    }
    let Some((lo, hi)) = pool.forward_ports else {
        return Err(denied(format!(
            "pool `{}' does not allow port forwards",
            pool.prefix
        )));
    };
    if mode == Mode::Isolated {
        return Err(denied(
            "an isolated network cannot have port forwards".to_string(),
        ));
    }
    for f in forwards {
        let shown = printable(f.as_bytes());
        let parts: Vec<&str> = f.split(':').collect();
        let [_, hp, _, _] = parts[..] else {
            return Err(denied(format!(
                "invalid forward `{shown}' (expected PROTO:HOSTPORT:GUESTIP:GUESTPORT, e.g. tcp:20080:.10:80)"
            )));
        };
        let (a, b) = parse_port_range(&Scalar::Str(hp.to_string()))
            .map_err(|m| denied(format!("forward `{shown}': {}", printable(m.as_bytes()))))?;
        if a < lo || b > hi {
            return Err(denied(format!(
                "forward `{shown}': host port {} is outside pool `{}''s forward-ports {lo}-{hi}",
                if a < lo { a } else { b },
                pool.prefix
            )));
        }
    }
    Ok(())
}

/// Everything already in use, for collisions and allocation.
struct InUse {
    host: Taken,
    records: Vec<Record>,
    admin_v4: Vec<Prefix<Ipv4Addr>>,
    admin_v6: Vec<Prefix<Ipv6Addr>>,
    /// Every other network's forwards, with the network's name.
    forwards: Vec<(String, Forward)>,
}

fn in_use() -> Result<InUse> {
    let host = allocate::host_taken()?;
    let mut records = Vec::new();
    for n in record::names() {
        // Fail closed: an unreadable record could hide a taken subnet.
        records.push(record::load(&n).map_err(|e| e.context("cannot allocate"))?);
    }
    let (mut admin_v4, mut admin_v6, mut forwards) = (Vec::new(), Vec::new(), Vec::new());
    for n in definitions::admin_names() {
        let Ok(def) = definition::load(&crate::paths::definition(&n), &n) else {
            continue; // an invalid definition never comes up
        };
        admin_v4.extend(def.subnet());
        admin_v6.extend(def.ipv6.map(|p| p.subnet()));
        forwards.extend(def.forwards.into_iter().map(|f| (n.clone(), f)));
    }
    for r in &records {
        forwards.extend(r.forwards.iter().map(|f| (r.name.clone(), f.clone())));
    }
    Ok(InUse {
        host,
        records,
        admin_v4,
        admin_v6,
        forwards,
    })
}

/// Under the user-networks lock: collisions, quota, allocation, record.
pub fn create(
    pool: &Pool,
    mode: Mode,
    req: &Request,
    caller: &Caller,
    owner_name: &str,
) -> Result<Record> {
    // The caller's limits must not cut the work short half-way: a file-size
    // limit kills us in the record's write (SIGXFSZ), a few open files make
    // the re-isolation below fail (where root may raise them).
    crate::privileges::reset_own_limits();
    lock::prepare_dirs()?;
    let _lock = lock::user_networks()?;
    let used = in_use()?;
    let name = req.name.as_str();
    check_collisions(name, &used)?;
    let uid = caller.uid.as_raw();
    let mine = used
        .records
        .iter()
        .filter(|r| r.owner == uid && r.pool == pool.prefix)
        .count();
    if !caller.is_root() && mine >= pool.max_per_user as usize {
        return Err(denied(format!(
            "quota: you have {mine} network{} in pool `{}' (max-per-user {})",
            if mine == 1 { "" } else { "s" },
            pool.prefix,
            pool.max_per_user
        )));
    }
    let address = allocate_v4(pool, &used)?;
    let ipv6 = match req.ipv6 {
        true => Some(allocate_v6(pool, &used)?),
        false => None,
    };
    let forwards = resolve_forwards(req, &address, &used)?;
    let rec = Record {
        name: name.to_string(),
        owner: uid,
        owner_name: owner_name.to_string(),
        pool: pool.prefix.clone(),
        mode,
        address,
        ipv6,
        forwards,
        created: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    };
    record::write(&rec)?;
    // With the iptables backend a network keeps others out by naming them
    // in its own rules: a network that another one which is up does not
    // name yet must not exist (a routed network would let its guests in).
    // (With nftables this reads the ruleset once and changes nothing.)
    if let Err(e) = reisolate(name) {
        let undone = record::remove(name);
        let _ = reisolate(name);
        return Err(match undone {
            Ok(()) => e.context(format!(
                "`{name}' not created: the other networks could not be isolated from it"
            )),
            Err(u) => e.and(u),
        });
    }
    Ok(rec)
}

fn check_collisions(name: &str, used: &InUse) -> Result<()> {
    let what = if RESERVED.contains(&name) {
        "a reserved name".to_string()
    } else if definitions::admin_path(name).is_some() {
        "an admin-defined network".to_string()
    } else if let Some(r) = used.records.iter().find(|r| r.name == name) {
        format!("a user network of {}", r.owner_name)
    } else if used.host.interfaces.iter().any(|i| i == name) {
        "an existing interface".to_string()
    } else {
        return Ok(());
    };
    Err(denied(format!("`{name}' is already taken: it is {what}")))
}

fn allocate_v4(pool: &Pool, used: &InUse) -> Result<Prefix<Ipv4Addr>> {
    let mut taken = used.host.v4.clone();
    taken.extend(used.admin_v4.iter().copied());
    taken.extend(used.records.iter().map(|r| r.address.subnet()));
    allocate::first_free(&pool.subnets, pool.size, &taken).ok_or_else(|| {
        denied(format!(
            "pool `{}' has no free /{} left",
            pool.prefix, pool.size
        ))
    })
}

fn allocate_v6(pool: &Pool, used: &InUse) -> Result<Prefix<Ipv6Addr>> {
    let mut taken = used.host.v6.clone();
    taken.extend(used.admin_v6.iter().copied());
    taken.extend(
        used.records
            .iter()
            .filter_map(|r| r.ipv6.map(|p| p.subnet())),
    );
    allocate::first_free(&pool.ipv6_subnets, 64, &taken)
        .ok_or_else(|| denied(format!("pool `{}' has no free IPv6 /64 left", pool.prefix)))
}

/// The forwards against the allocated subnet; a host port another network
/// (or an earlier forward of this request) publishes is refused.
fn resolve_forwards(req: &Request, net: &Prefix<Ipv4Addr>, used: &InUse) -> Result<Vec<Forward>> {
    let mut out: Vec<Forward> = Vec::new();
    for f in &req.forwards {
        let fwd = record::parse_forward(f, net).map_err(|m| {
            denied(format!(
                "forward `{}': {}",
                printable(f.as_bytes()),
                printable(m.as_bytes())
            ))
        })?;
        let clash = |o: &Forward| {
            o.proto == fwd.proto
                && o.host_ports.0 <= fwd.host_ports.1
                && fwd.host_ports.0 <= o.host_ports.1
        };
        if let Some((n, _)) = used.forwards.iter().find(|(_, o)| clash(o)) {
            return Err(denied(format!(
                "forward `{}': host port {} is already forwarded by network `{n}'",
                printable(f.as_bytes()),
                record::forward_text(&fwd)
                    .split(':')
                    .nth(1)
                    .unwrap_or_default()
            )));
        }
        if out.iter().any(clash) {
            return Err(denied(format!(
                "forward `{}': host port given twice",
                printable(f.as_bytes())
            )));
        }
        out.push(fwd);
    }
    Ok(out)
}

/// After a user network is created or deleted (as root, under the
/// user-networks lock). With nftables, networks keep each other out through
/// the shared set of managed bridges, which a network joins when it comes
/// up: a create needs nothing, a delete takes the name out of the set.
/// With iptables, every other network that is up gets its firewall
/// rules re-applied with the new set of peers, so isolation holds both ways
/// at once and a deleted network's name is left in no rule. A network's
/// lock is taken before asking whether it is up: one whose bring-up is under
/// way (it read its peers before the change) is waited for, then
/// re-applied. Every failure is audited; the first is returned (a create is
/// then undone; after a delete, a stale name only isolates more).
pub fn reisolate(changed: &str) -> Result<()> {
    crate::privileges::reset_own_limits();
    use crate::network::firewall;
    // One read of the ruleset either way: a delete's forget reads it too.
    let current = match record::exists(changed) {
        true => firewall::current()?,
        false => firewall::forget(changed)?,
    };
    if !current.names_peers() {
        return Ok(());
    }
    let mut results = Vec::new();
    for name in definitions::names() {
        if name == changed {
            continue;
        }
        let done = reisolate_one(&name);
        if let Err(e) = &done {
            crate::audit::network_failed(
                0,
                &name,
                &format!("re-isolating after `{changed}': {}", e.message()),
            );
        }
        results.push(done.map_err(|e| e.context(format!("network `{name}'"))));
    }
    crate::error::all(results)
}

/// Re-apply network `name`'s rules if it is up, under its lock.
fn reisolate_one(name: &str) -> Result<()> {
    let net = crate::paths::Network::new(name);
    // Free and not up: nothing to do, and a bring-up that starts later
    // reads the new set of peers. Held: wait for it, then look.
    let _lock = match lock::try_acquire(&net.lock())? {
        Some(l) => l,
        None => lock::network(&net)?,
    };
    if !crate::network::steps::is_up(&net) {
        return Ok(());
    }
    definitions::load(name).and_then(|def| crate::network::firewall::apply(&def).map(|_| ()))
}

#[cfg(test)]
mod tests;
