//! The iptables driver: a network's rules (rules.rs) as `iptables-restore
//! --noflush` text, one atomic transaction per table and one exec per address
//! family, planned against the current ruleset parsed from `iptables-save`.
//!
//! - `save`: iptables-save output parsed (tables, chains, rules as printed);
//! - `render`: the neutral rules as chains and jumps in iptables text;
//! - `plan`: the restore script from the current ruleset to the wanted one,
//!   and the `present`/`leftovers` checks;
//! - `created` (with firewall/nfnl.rs, netlink to nf_tables): the tables and base
//!   chains iptables-nft created for us, noted at setup and deleted again
//!   when empty after a teardown, so that teardown leaves `iptables-save`
//!   and `nft list ruleset` as they were.
//!
//! Chains, per network BR (at most "VNET-" + 15 + "-DNAT" = 25 bytes):
//! - filter `VNET-BR-IN` (from INPUT, `-i BR`): DHCP/DNS from guests to the host;
//! - filter `VNET-BR-OUT` (from OUTPUT, `-o BR`): DHCP/DNS replies to guests;
//! - filter `VNET-BR-FWX`, `VNET-BR-FWI`, `VNET-BR-FWO`: guest to guest, into
//!   the bridge, out of the bridge; jumped from the shared chains `VNET-FWX`,
//!   `VNET-FWI`, `VNET-FWO`, which FORWARD jumps to, in that order. Sharing
//!   them orders every network's "into" rejects before any network's "out of"
//!   accepts, so a guest of A cannot reach B through A's accept (libvirt's
//!   LIBVIRT_FWX/FWI/FWO design);
//! - nat `VNET-BR-PRT` (from POSTROUTING): masquerading, hairpin for forwards;
//! - nat `VNET-BR-DNAT` (from PREROUTING, and from OUTPUT for the host's own
//!   non-loopback addresses): port forwards.
//!
//! The same names are used in the ip6tables tables for IPv6.

mod created;
mod plan;
mod render;
mod save;

use super::rules::NetworkRules;
use super::{Invocation, Plan};
use crate::error::Result;
use save::Ruleset;

pub const IPTABLES_SAVE: &str = "/usr/sbin/iptables-save";
pub const IP6TABLES_SAVE: &str = "/usr/sbin/ip6tables-save";
pub const IPTABLES_RESTORE: &str = "/usr/sbin/iptables-restore";
pub const IP6TABLES_RESTORE: &str = "/usr/sbin/ip6tables-restore";
pub const RESTORE_ARGS: &[&str] = &["--noflush", "--wait"];

/// The shared filter chains, in the order FORWARD must jump to them.
pub const SHARED_CHAINS: [&str; 3] = ["VNET-FWX", "VNET-FWI", "VNET-FWO"];

/// Every chain a network may own: (table, suffix).
const OWN_CHAINS: [(&str, &str); 7] = [
    ("filter", "IN"),
    ("filter", "OUT"),
    ("filter", "FWI"),
    ("filter", "FWO"),
    ("filter", "FWX"),
    ("nat", "PRT"),
    ("nat", "DNAT"),
];

/// The only tables we touch.
const TABLES: [&str; 2] = ["filter", "nat"];

/// "VNET-BR-SUFFIX"
pub fn chain_name(net: &str, suffix: &str) -> String {
    format!("VNET-{net}-{suffix}")
}

/// The programs whose outputs, in this order, `State::parse` reads. A host
/// without IPv6 (ipv6.disable=1) cannot run ip6tables-save: it has no IPv6
/// rules of ours either, so that read is optional (a network that wants
/// IPv6 fails later, at ip6tables-restore, with that tool's message).
pub fn read_commands() -> Vec<Invocation> {
    vec![
        Invocation {
            program: IPTABLES_SAVE,
            args: &[],
            stdin: String::new(),
            optional: false,
        },
        Invocation {
            program: IP6TABLES_SAVE,
            args: &[],
            stdin: String::new(),
            optional: true,
        },
    ]
}

/// Both families' current rulesets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub v4: Ruleset,
    /// Empty when ip6tables is unavailable (then nothing IPv6 is planned to
    /// be removed; an IPv6 network's setup still needs ip6tables).
    pub v6: Ruleset,
}

impl State {
    /// Parse the outputs of `read_commands` (same order, same count).
    pub fn parse(outputs: &[String]) -> Result<State> {
        match outputs {
            [v4, v6] => Ok(State {
                v4: Ruleset::parse(v4).map_err(|e| e.context(IPTABLES_SAVE))?,
                v6: Ruleset::parse(v6).map_err(|e| e.context(IP6TABLES_SAVE))?,
            }),
            _ => Err(fail!(
                "internal error: expected 2 iptables-save outputs, got {}",
                outputs.len()
            )),
        }
    }

    /// iptables-restore, then ip6tables-restore, each only when its family
    /// changes.
    pub fn setup(&self, want: &NetworkRules) -> Plan {
        let (v4, v6) = plan::setup_scripts(want, self);
        restore(v4, v6)
    }

    /// Before the setup of `want` runs: note which tables and base chains
    /// it will create (created.rs).
    pub fn note_setup(&self, want: &NetworkRules) -> Result<()> {
        created::note_setup(want)
    }

    /// After a teardown ran: delete the tables and base chains we created
    /// that are empty again (created.rs). Best effort.
    pub fn tidy_after_teardown(&self) {
        created::tidy_after_teardown()
    }

    pub fn teardown(&self, name: &str) -> Plan {
        let (v4, v6) = plan::teardown_scripts(name, self);
        restore(v4, v6)
    }

    pub fn present(&self, want: &NetworkRules) -> bool {
        plan::present(want, self)
    }

    pub fn leftovers(&self, name: &str) -> bool {
        plan::leftovers(name, self)
    }

    /// The peers network `name`'s rules isolate it from (see
    /// plan::isolated_peers).
    pub fn isolated_peers(&self, name: &str) -> Option<Vec<String>> {
        plan::isolated_peers(name, self)
    }

    /// The policy of IPv4 filter FORWARD, when the table is there.
    pub fn forward_policy(&self) -> Option<String> {
        save::forward_policy(&self.v4)
    }
}

fn restore(v4: Option<String>, v6: Option<String>) -> Plan {
    let step = |program, stdin| Invocation {
        program,
        args: RESTORE_ARGS,
        stdin,
        optional: false,
    };
    let mut steps = Vec::new();
    steps.extend(v4.map(|text| step(IPTABLES_RESTORE, text)));
    steps.extend(v6.map(|text| step(IP6TABLES_RESTORE, text)));
    Plan { steps }
}

#[cfg(test)]
mod tests;
