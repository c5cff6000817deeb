//! The firewall of managed networks: what a network wants, planned by a
//! backend against the current ruleset and run under the global firewall lock
//! (the shape of netavark's firewall/ module).
//!
//! - `rules`: what a network wants, from its definition, as backend-neutral
//!   data (hooks, matches, verdicts);
//! - one driver per backend (`iptables`, `nftables`), which never runs anything
//!   itself: it says which programs read the current ruleset, parses their
//!   output, and plans the programs that bring it to what `rules` wants (or
//!   remove a network), each with the text for its stdin;
//! - `runner`: reads, plans and runs the invocations in order, as root with
//!   an empty environment, holding the global firewall lock from the read to
//!   the last write so the read-modify-write cannot race with another
//!   bring-up. Its `apply`, `remove` and `current` are the whole API the rest
//!   of vnet-helper uses; nothing outside this module names a backend.
//!
//! - `config`: /etc/vnet-helper/config.toml, the admin's choice of backend
//!   (`auto` by default: nftables where nft works, else iptables).
//!
//! - `foreign`: other tables of the host's nftables ruleset that would drop
//!   a network's traffic, with the rules an admin would add (diagnosis only:
//!   we never change them).
//!
//! - `nfnl`: the few things we ask nf_tables over netlink ourselves (which
//!   tables and chains exist, the ruleset's generation, deleting an empty
//!   table or chain iptables-nft made for us).
//!
//! Adding a backend: a new directory in firewall/ with what
//! iptables/mod.rs has: `read_commands()`, and a `State` with `parse`,
//! `setup` and `present` (taking [`rules::NetworkRules`], which it renders
//! in its own language), `teardown`, `leftovers` and `forward_policy`; then
//! a variant in [`Backend`] and in [`Current`], with its arm in each `match`
//! below (the compiler lists them), and [`Backend::chosen`], the one place
//! that picks the backend. Nothing outside firewall/ changes.

pub mod config;
pub mod firewalld;
pub mod foreign;
pub mod iptables;
pub mod nfnl;
pub mod nftables;
pub mod rules;
mod runner;

pub use runner::{apply, current, forget, host_ruleset, remove};

use crate::error::Result;
use crate::network::definition::Definition;
use rules::NetworkRules;

/// One program to run: absolute path, arguments, and the text for its stdin
/// (empty: nothing to feed). The environment must be empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub program: &'static str,
    pub args: &'static [&'static str],
    pub stdin: String,
    /// Whether the program may fail: its output then counts as empty (e.g.
    /// ip6tables-save on a host without IPv6).
    pub optional: bool,
}

/// What to run, in order; empty when the firewall is already as wanted for the
/// parts that must change (e.g. a bridged network on a clean ruleset).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Invocation>,
}

/// A network's isolation list as its rules have it, against its definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StalePeers {
    /// Defined networks it is not isolated from yet.
    pub missing: Vec<String>,
    /// Networks it isolates from that are no longer defined.
    pub gone: Vec<String>,
}

/// The firewall backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Iptables,
    Nftables,
}

impl Backend {
    /// The backends to try, in order, as config.toml says: the one place
    /// that picks. `auto` is nftables where /usr/sbin/nft exists, then
    /// iptables if nft cannot read the ruleset (runner tries in order).
    pub fn chosen() -> Result<Vec<Backend>> {
        Ok(match config::load()?.firewall {
            config::Setting::Iptables => vec![Backend::Iptables],
            config::Setting::Nftables => vec![Backend::Nftables],
            config::Setting::Auto if std::path::Path::new(nftables::NFT).is_file() => {
                vec![Backend::Nftables, Backend::Iptables]
            }
            config::Setting::Auto => vec![Backend::Iptables],
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Iptables => "iptables",
            Backend::Nftables => "nftables",
        }
    }

    /// The other backend, whose leftovers of a network a change removes.
    fn other(self) -> Backend {
        match self {
            Backend::Iptables => Backend::Nftables,
            Backend::Nftables => Backend::Iptables,
        }
    }

    /// Programs whose stdout, in the same order, `parse` reads.
    fn read_commands(self) -> Vec<Invocation> {
        match self {
            Backend::Iptables => iptables::read_commands(),
            Backend::Nftables => nftables::read_commands(),
        }
    }

    /// Parse the outputs of `read_commands` (same order, same count; an
    /// optional program that failed gave "").
    fn parse(self, outputs: &[String]) -> Result<Current> {
        match self {
            Backend::Iptables => iptables::State::parse(outputs).map(Current::Iptables),
            Backend::Nftables => nftables::State::parse(outputs).map(Current::Nftables),
        }
    }
}

/// The current ruleset, as the chosen backend read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Current {
    Iptables(iptables::State),
    Nftables(nftables::State),
}

impl Current {
    /// Bring the network's rules to what `want` says, repairing whatever a
    /// previous bring-up killed half-way left behind, without touching other
    /// networks' rules.
    fn setup(&self, want: &NetworkRules) -> Plan {
        match self {
            Current::Iptables(s) => s.setup(want),
            Current::Nftables(s) => s.setup(want),
        }
    }

    /// Before `setup(want)` runs (lock held): whatever the backend must
    /// remember to make the last teardown exact.
    fn before_setup(&self, want: &NetworkRules) -> Result<()> {
        match self {
            Current::Iptables(s) => s.note_setup(want),
            // Our own tables: the last teardown deletes them whole.
            Current::Nftables(_) => Ok(()),
        }
    }

    /// After `teardown` ran (lock held): remove what the backend's tools
    /// created for us and left behind, now empty. Best effort.
    fn after_teardown(&self) {
        match self {
            Current::Iptables(s) => s.tidy_after_teardown(),
            Current::Nftables(_) => {}
        }
    }

    /// After network `name` was deleted for good (a user network; it is
    /// down): what still names it. nftables: its element of the `bridges`
    /// set; iptables: nothing here (other networks' rules name their peers:
    /// re-applying them is the caller's job, see `names_peers`).
    fn forget(&self, name: &str) -> Plan {
        match self {
            Current::Iptables(_) => Plan::default(),
            Current::Nftables(s) => s.forget(name),
        }
    }

    /// Whether each network's rules name the other networks one by one
    /// (iptables), so that adding or deleting one needs the others'
    /// rules re-applied; nftables isolates through the shared set, which a
    /// network joins when it comes up.
    pub fn names_peers(&self) -> bool {
        matches!(self, Current::Iptables(_))
    }

    /// Remove every rule and chain of network `name`; the shared parts go
    /// with the last network.
    fn teardown(&self, name: &str) -> Plan {
        match self {
            Current::Iptables(s) => s.teardown(name),
            Current::Nftables(s) => s.teardown(name),
        }
    }

    /// Whether everything a setup of `def` would create is in place.
    pub fn present(&self, def: &Definition) -> bool {
        let want = rules::wanted(def);
        match self {
            Current::Iptables(s) => s.present(&want),
            Current::Nftables(s) => s.present(&want),
        }
    }

    /// When `def`'s rules are in place except that they isolate it from
    /// another set of networks than today's definitions say (a network was
    /// defined or removed since it came up): (peers not yet isolated from,
    /// peers no longer defined). None when the rules are missing for another
    /// reason, or are current.
    pub fn stale_peers(&self, def: &Definition) -> Option<StalePeers> {
        let found = match self {
            Current::Iptables(s) => s.isolated_peers(&def.name)?,
            // Isolation goes through the set of bridges, which every
            // bring-up brings up to date: never stale for one network.
            Current::Nftables(_) => return None,
        };
        let mut wanted: Vec<String> = def.peers.clone();
        wanted.sort();
        wanted.dedup();
        if found == wanted {
            return None;
        }
        let as_found = Definition {
            peers: found.clone(),
            ..def.clone()
        };
        self.present(&as_found).then(|| StalePeers {
            missing: wanted
                .iter()
                .filter(|p| !found.contains(p))
                .cloned()
                .collect(),
            gone: found
                .iter()
                .filter(|p| !wanted.contains(p))
                .cloned()
                .collect(),
        })
    }

    /// Whether anything of network `name` is in the ruleset (stale rules).
    pub fn leftovers(&self, name: &str) -> bool {
        match self {
            Current::Iptables(s) => s.leftovers(name),
            Current::Nftables(s) => s.leftovers(name),
        }
    }

    /// The IPv4 FORWARD policy, when known ("DROP" under Docker: harmless
    /// for us since our jumps come first, but worth saying in diagnostics).
    pub fn forward_policy(&self) -> Option<String> {
        match self {
            Current::Iptables(s) => s.forward_policy(),
            // Our rules do not sit in that chain: coexistence says more.
            Current::Nftables(_) => None,
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Current::Iptables(_) => Backend::Iptables,
            Current::Nftables(_) => Backend::Nftables,
        }
    }

    /// The host's iptables-nft chains where network `name` has accepts of
    /// ours (nftables backend, on Docker and ufw hosts).
    pub fn coexistence(&self, name: &str) -> Vec<String> {
        match self {
            Current::Iptables(_) => Vec::new(),
            Current::Nftables(s) => s.coexistence(name),
        }
    }

    /// The host's nftables ruleset as `nft list ruleset` prints it, when
    /// this reading included it.
    pub fn host_ruleset(&self) -> Option<&str> {
        match self {
            Current::Iptables(_) => None,
            Current::Nftables(s) => Some(&s.text),
        }
    }
}
