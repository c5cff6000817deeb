//! The registry of defined networks: which names are defined (one
//! /etc/vnet-helper/networks/NAME.toml each), where a definition is, and
//! loading one together with the names of its peers (every other valid
//! definition, whose bridges its firewall rules keep apart from it). A file
//! whose name fails the strict network-name rule, or whose content is
//! invalid, defines nothing and is no peer: nothing from a stray file's name
//! reaches a firewall rule. `check` reports such files ([`files`]).

use std::fs;
use std::path::PathBuf;

use crate::error::Result;
use crate::network::definition::{self, Definition};
use crate::paths;

/// The definition file for network (bridge) `name`, if there is one. The name
/// has passed the protocol's name rule: no '/', not "." or "..".
pub fn path(name: &str) -> Option<PathBuf> {
    let p = paths::definition(name);
    // nix's lstat is one system call (std's metadata first probes statx).
    nix::sys::stat::lstat(&p).is_ok().then_some(p)
}

/// Read and check network `name`'s definition, with its peers.
pub fn load(name: &str) -> Result<Definition> {
    let mut def = definition::load(&paths::definition(name), name)?;
    def.peers = names()
        .into_iter()
        .filter(|n| n != name && definition::load(&paths::definition(n), n).is_ok())
        .collect();
    Ok(def)
}

/// Every defined network (see [`names`]) with its definition read and
/// checked once, peers filled in from the valid ones: what [`load`] gives
/// for each, without reading every file once per network.
pub fn load_all() -> Vec<(String, Result<Definition>)> {
    let mut all: Vec<(String, Result<Definition>)> = names()
        .into_iter()
        .map(|n| {
            let def = definition::load(&paths::definition(&n), &n);
            (n, def)
        })
        .collect();
    let valid: Vec<String> = all
        .iter()
        .filter(|(_, d)| d.is_ok())
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

/// The names of the defined networks: the files whose name passes the
/// strict network-name rule (sorted).
pub fn names() -> Vec<String> {
    files()
        .into_iter()
        .filter(|n| crate::ifname::check_managed_name(n).is_ok())
        .collect()
}
