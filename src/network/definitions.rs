//! The registry of defined networks: which names are defined (one
//! /etc/vnet-helper/networks/NAME.toml each), where a definition is, and
//! loading one together with the names of its peers (every other valid
//! definition, whose bridges its firewall rules keep apart from it). A file
//! whose name fails the strict network-name rule, or whose content is
//! invalid, defines nothing and is no peer: nothing from a stray file's name
//! reaches a firewall rule. `check` reports such files ([`files`]).
//!
//! User networks (`crate::usernet`) are networks too: their records
//! (/var/lib/vnet-helper/user-networks/NAME.toml) are in [`names`], [`path`],
//! [`load`] and [`load_all`], turned into definitions with their pool's
//! settings, so they and admin networks are peers of each other (isolated
//! both ways) and `status` shows them. An admin definition of the same name
//! wins. A record is a peer when it is valid by itself; loading it as a
//! network also needs the policy to be valid and to still have its pool.

use std::fs;
use std::path::PathBuf;

use crate::error::Result;
use crate::network::definition::{self, Definition};
use crate::paths;
use crate::usernet::{policy, record};

/// The admin's definition file for network (bridge) `name`, if there is
/// one. The name has passed the protocol's name rule: no '/', not "." or "..".
pub fn admin_path(name: &str) -> Option<PathBuf> {
    let p = paths::definition(name);
    // nix's lstat is one system call (std's metadata first probes statx).
    nix::sys::stat::lstat(&p).is_ok().then_some(p)
}

/// The file that defines network `name`: the admin's definition, else a
/// user network's record; None if neither exists.
pub fn path(name: &str) -> Option<PathBuf> {
    admin_path(name).or_else(|| {
        let p = paths::user_record(name);
        nix::sys::stat::lstat(&p).is_ok().then_some(p)
    })
}

/// The policy, read at most once per registry call.
type PolicyCache = std::cell::OnceCell<Result<Option<policy::Policy>>>;

/// One network's definition without peers: the admin's, or a user
/// network's from its record and pool.
fn load_one(name: &str, policy: &PolicyCache) -> Result<Definition> {
    if admin_path(name).is_some() || !record::exists(name) {
        return definition::load(&paths::definition(name), name);
    }
    let rec = record::load(name)?;
    let shown = paths::USER_NETWORKS_POLICY;
    match policy.get_or_init(policy::load) {
        Ok(Some(p)) => match p.pool(&rec.pool) {
            Some(pool) => Ok(rec.to_definition(pool)),
            None => Err(fail!(
                "user network `{name}': its pool `{}' is no longer in {shown}",
                rec.pool
            )),
        },
        Ok(None) => Err(fail!(
            "user network `{name}': user networks are off ({shown} does not exist)"
        )),
        Err(e) => Err(e.clone()),
    }
}

/// Whether `name` counts as a peer: a valid admin definition, or a record
/// that is valid by itself.
fn is_peer(name: &str) -> bool {
    match admin_path(name) {
        Some(p) => definition::load(&p, name).is_ok(),
        None => record::load(name).is_ok(),
    }
}

/// Read and check network `name`'s definition, with its peers.
pub fn load(name: &str) -> Result<Definition> {
    let mut def = load_one(name, &PolicyCache::new())?;
    def.peers = peers(name);
    Ok(def)
}

/// The networks network `name` is kept apart from, as they are defined now
/// (a long-running supervisor's copy of its definition has the peers of its
/// bring-up: a user network created since is not among them).
pub fn peers(name: &str) -> Vec<String> {
    names()
        .into_iter()
        .filter(|n| n != name && is_peer(n))
        .collect()
}

/// The owner of network `name` if it is a user network: (uid, name shown).
pub fn user_owner(name: &str) -> Option<(u32, String)> {
    if admin_path(name).is_some() {
        return None;
    }
    record::load(name).ok().map(|r| (r.owner, r.owner_name))
}

/// Every defined network (see [`names`]) with its definition read and
/// checked once, peers filled in from the valid ones: what [`load`] gives
/// for each, without reading every file once per network.
pub fn load_all() -> Vec<(String, Result<Definition>)> {
    let cache = PolicyCache::new();
    let mut all: Vec<(String, Result<Definition>)> = names()
        .into_iter()
        .map(|n| {
            let def = load_one(&n, &cache);
            (n, def)
        })
        .collect();
    let valid: Vec<String> = all
        .iter()
        .filter(|(n, d)| d.is_ok() || (admin_path(n).is_none() && record::load(n).is_ok()))
        .map(|(n, _)| n.clone())
        .collect();
    for (name, def) in &mut all {
        if let Ok(def) = def {
            def.peers = valid.iter().filter(|n| *n != name).cloned().collect();
        }
    }
    all
}

/// Every `*.toml` in the definitions directory, by the name before
/// `.toml` (not UTF-8 shown escaped), valid or not, sorted.
pub fn files() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(paths::DEFINITIONS_DIR)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.strip_suffix(".toml").map(String::from)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The names of the admin-defined networks: the files whose name passes
/// the strict network-name rule (sorted).
pub fn admin_names() -> Vec<String> {
    files()
        .into_iter()
        .filter(|n| crate::ifname::check_managed_name(n).is_ok())
        .collect()
}

/// Every network: the admin-defined ones and the user networks (sorted,
/// each name once).
pub fn names() -> Vec<String> {
    let mut all = admin_names();
    all.extend(record::names());
    all.sort();
    all.dedup();
    all
}
