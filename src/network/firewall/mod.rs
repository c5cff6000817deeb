//! Firewall planning for managed networks: one trait, one driver per backend
//! (the shape of netavark's firewall/ module).
//!
//! A driver never runs anything itself. It says which programs to run to read
//! the current ruleset (`read_commands`), turns their output into its own
//! state (`parse_state`), and from a definition and that state plans the
//! programs to run, each with the text to feed on its stdin (`setup`,
//! `teardown`). The runner (elsewhere) executes the invocations in order, with
//! ruid = euid = 0 and an empty environment, holding the global firewall lock
//! from the read to the last write so the read-modify-write cannot race with
//! another bring-up.
//!
//! `iptables` is the only driver today: iptables-restore --noflush, one atomic
//! transaction per table, one exec per address family. An nftables driver
//! would be a second implementation of [`Firewall`] with a table of its own.

pub mod iptables;

use crate::error::Result;
use crate::network::definition::Definition;

/// One program to run: absolute path, arguments, and the text for its stdin
/// (empty: nothing to feed). The environment must be empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub program: &'static str,
    pub args: &'static [&'static str],
    pub stdin: String,
}

/// What to run, in order; empty when the firewall is already as wanted for the
/// parts that must change (e.g. a bridged network on a clean ruleset).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Invocation>,
}

/// A firewall backend.
pub trait Firewall {
    /// The backend's view of the current ruleset.
    type State;

    /// Programs whose stdout, in the same order, `parse_state` reads.
    fn read_commands(&self) -> Vec<Invocation>;

    /// Parse the outputs of `read_commands` (same order, same count).
    fn parse_state(&self, outputs: &[String]) -> Result<Self::State>;

    /// Bring the network's rules to what `def` needs, repairing whatever a
    /// previous bring-up killed half-way left behind, without touching other
    /// networks' rules.
    fn setup(&self, def: &Definition, current: &Self::State) -> Plan;

    /// Remove every rule and chain of network `name`; the shared parts go
    /// with the last network.
    fn teardown(&self, name: &str, current: &Self::State) -> Plan;

    /// Whether everything `setup` would create is in place (for `status`).
    fn present(&self, def: &Definition, current: &Self::State) -> bool;

    /// Whether anything of network `name` is in the ruleset (stale rules).
    fn leftovers(&self, name: &str, current: &Self::State) -> bool;

    /// The IPv4 FORWARD policy, when known ("DROP" under Docker: harmless for
    /// us since our jumps come first, but worth saying in diagnostics).
    fn forward_policy(&self, current: &Self::State) -> Option<String>;
}

// ---- the runner (temporary home; the firewall restructuring replaces it) ----

use crate::network::{exec, lock};

type IptState = <iptables::Iptables as Firewall>::State;

fn read(fw: &iptables::Iptables) -> Result<IptState> {
    let mut outputs = Vec::new();
    for (i, inv) in fw.read_commands().iter().enumerate() {
        match run(inv) {
            Ok(out) => outputs.push(out),
            // A host without IPv6 (ipv6.disable=1) cannot save ip6tables: it
            // has no IPv6 rules of ours either.
            Err(_) if i > 0 => outputs.push(String::new()),
            Err(e) => return Err(e),
        }
    }
    fw.parse_state(&outputs)
}

fn run(inv: &Invocation) -> Result<String> {
    let input = (!inv.stdin.is_empty()).then_some(inv.stdin.as_str());
    exec::run_program(inv.program, inv.args, input)
}

pub fn apply(def: &Definition) -> Result<()> {
    let _fw_lock = lock::firewall()?;
    let fw = iptables::Iptables;
    let current = read(&fw)?;
    for inv in fw.setup(def, &current).steps {
        run(&inv).map_err(|e| e.context(format!("network `{}': firewall", def.name)))?;
    }
    Ok(())
}

pub fn current() -> Result<IptState> {
    read(&iptables::Iptables)
}

pub fn remove(name: &str) -> Result<()> {
    let _fw_lock = lock::firewall()?;
    let fw = iptables::Iptables;
    let current = read(&fw)?;
    for inv in fw.teardown(name, &current).steps {
        run(&inv)?;
    }
    Ok(())
}
