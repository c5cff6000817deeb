//! The native nftables driver: a network's rules (rules.rs) in tables of our
//! own, `table ip vnet_helper` and `table ip6 vnet_helper`, written in ONE
//! atomic `nft -f -` transaction per bring-up or teardown, planned against
//! ONE read (`nft -a list ruleset`) taken under the firewall lock. The last
//! network deletes its family's table, so `nft list ruleset` and
//! `iptables-save` are then as they were.
//!
//! - `parse`: the listing parsed (tables, chains with hooks, policies and
//!   rule handles, set elements);
//! - `render`: the neutral rules as chains in nft's language, and the
//!   accepts for the host's iptables-nft `filter` table;
//! - `plan`: the transaction from the current ruleset to the wanted one
//!   (or to nothing of a network), and `present`/`leftovers`;
//! - `cache`: the last listing read, reused while the ruleset's generation
//!   is unchanged (the read is then one netlink request, not an exec).
//!
//! Layout of each family's table: base chains `input`, `output`, `forward`
//! (filter, priority filter) that look the bridge up in verdict maps
//! (`to-host`, `from-host`, then in `forward` `guest-to-guest`,
//! `into-bridge`, `out-of-bridge`: libvirt's FWX/FWI/FWO order) leading to
//! the network's chains `vnet-BR-{in,out,fwx,fwi,fwo}`; `prerouting`,
//! `nat-output` (nat, dstnat) and `postrouting` (nat, srcnat) with one jump
//! per network to `vnet-BR-dnat` and `vnet-BR-prt` (render.rs says which
//! hook is which); the set `bridges` of managed bridges isolates networks
//! from each other without per-peer rules that would go stale.
//!
//! Why two tables (ip, ip6) and not one `inet`: an IPv4-only network then
//! has, as with iptables, no IPv6 rule at all (no path to forget a family
//! match on), and the nat chains are the classic per-family ones.
//!
//! Other tables: in nftables every base chain on a hook must accept. Our
//! accepts cannot override another table's drop, and ours only accept our
//! bridges' traffic and reject what the iptables backend rejects. Where the
//! host's iptables-nft `filter` table (Docker: FORWARD policy drop; ufw:
//! INPUT and FORWARD drop) would drop a network's traffic, the transaction
//! also adds chains of our own there (`vh-BR-in`, `-fwd`, `-out`, one jump
//! each at the top of INPUT/FORWARD/OUTPUT) with the accepts it needs, in
//! matches iptables-save can print. Other nftables tables (Debian's
//! nftables.conf, firewalld) are diagnosed by `foreign`, never changed.
//!
//! Why `nft -f -` and not netlink from our own process: measured on these
//! machines, `nft -a list ruleset` costs about 3-5 ms and an additions-only
//! `nft -f -` transaction about 3-4 ms, so a cold bring-up's firewall part
//! is two execs (before: iptables-save, ip6tables-save, iptables-restore,
//! plus `nft list ruleset` for the diagnosis, which now shares our read).
//! What dominates is not the exec but the kernel: any commit that deletes
//! something waits for an RCU grace period (~12 ms here), which netlink
//! from our own process would pay too; planning avoids it instead (see
//! plan.rs). nft's parser and transaction batching are what every admin's
//! tool uses, while a netlink encoder of our own would be a large body of
//! code running as root that must track nftables' expression encoding, for
//! the remaining ~2-3 ms per exec. nft runs by absolute path with an empty
//! environment (exec.rs), holding the firewall lock.
//!
//! Switching backends: the transaction also removes the network's chains of
//! the iptables backend (by handle), and its shared chains once empty.

pub mod cache;
mod parse;
mod plan;
mod render;

use super::rules::NetworkRules;
use super::{Invocation, Plan};
use crate::error::Result;
use parse::Ruleset;
pub use render::TABLE;

pub const NFT: &str = "/usr/sbin/nft";

/// The one read: the whole ruleset, with rule handles.
pub fn read_commands() -> Vec<Invocation> {
    vec![Invocation {
        program: NFT,
        args: &["-a", "list", "ruleset"],
        stdin: String::new(),
        optional: false,
    }]
}

/// The ruleset as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub rules: Ruleset,
    /// The listing without handles (what `nft list ruleset` prints), for
    /// the diagnosis of foreign tables.
    pub text: String,
}

impl State {
    pub fn parse(outputs: &[String]) -> Result<State> {
        match outputs {
            [text] => Ok(State::from_listing(text)),
            _ => Err(fail!(
                "internal error: expected 1 nft output, got {}",
                outputs.len()
            )),
        }
    }

    pub fn from_listing(text: &str) -> State {
        State {
            rules: Ruleset::parse(text),
            text: strip_handles(text),
        }
    }

    pub fn setup(&self, want: &NetworkRules) -> Plan {
        transaction(plan::script(&want.name, Some(want), &self.rules, true))
    }

    pub fn teardown(&self, name: &str) -> Plan {
        transaction(plan::script(name, None, &self.rules, true))
    }

    /// Remove what this backend made for network `name`, not the iptables
    /// backend's rules (that backend is in use: a switch back to it).
    pub fn teardown_own(&self, name: &str) -> Plan {
        transaction(plan::script(name, None, &self.rules, false))
    }

    pub fn present(&self, want: &NetworkRules) -> bool {
        plan::present(want, &self.rules)
    }

    /// Take bridge `name` (a network deleted for good) out of the set of
    /// managed bridges.
    pub fn forget(&self, name: &str) -> Plan {
        transaction(plan::forget_script(name, &self.rules))
    }

    pub fn leftovers(&self, name: &str) -> bool {
        plan::leftovers(name, &self.rules)
    }

    /// Where network `name` has accepts in the host's iptables-nft tables.
    pub fn coexistence(&self, name: &str) -> Vec<String> {
        plan::coexistence(name, &self.rules)
    }
}

/// `nft list ruleset` from `nft -a list ruleset`: the `# handle N` comments
/// removed.
pub fn strip_handles(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        out.push_str(line.rsplit_once(" # handle ").map_or(line, |(l, _)| l));
        out.push('\n');
    }
    out
}

fn transaction(script: Option<String>) -> Plan {
    Plan {
        steps: script
            .map(|stdin| Invocation {
                program: NFT,
                args: &["-f", "-"],
                stdin,
                optional: false,
            })
            .into_iter()
            .collect(),
    }
}

#[cfg(test)]
mod tests;
