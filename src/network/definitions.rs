//! The registry of defined networks: which names are defined (one
//! /etc/vnet-helper/networks/NAME.toml each), where a definition is, and
//! loading one together with the names of its peers (every other defined
//! network, which its firewall rules keep apart from it).

use std::fs;
use std::path::PathBuf;

use crate::error::Result;
use crate::network::definition::{self, Definition};
use crate::paths;

/// The definition file for network (bridge) `name`, if there is one. The name
/// has passed the protocol's name rule: no '/', not "." or "..".
pub fn path(name: &str) -> Option<PathBuf> {
    let p = paths::definition(name);
    fs::symlink_metadata(&p).is_ok().then_some(p)
}

/// Read and check network `name`'s definition, with its peers.
pub fn load(name: &str) -> Result<Definition> {
    let mut def = definition::load(&paths::definition(name), name)?;
    def.peers = names().into_iter().filter(|n| n != name).collect();
    Ok(def)
}

/// The names of all defined networks (sorted), from the definitions directory.
pub fn names() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(paths::DEFINITIONS_DIR)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".toml"))
                        .filter(|n| crate::args::check_bridge_name(n).is_ok())
                        .map(String::from)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
