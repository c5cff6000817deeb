//! Exact teardown: iptables-nft creates the tables and base chains a rule
//! needs (`table ip filter`, its `FORWARD` chain with policy accept, ...)
//! and leaves them when the last rule is gone, so `iptables-save` and `nft
//! list ruleset` would differ from before. We note, at each bring-up, which
//! of the tables and base chains our restore writes to did not exist (seen
//! through nf_tables, nfnl.rs), in paths::IPTABLES_CREATED, and after each
//! teardown delete those that are empty again (a base chain: no rule, policy
//! accept; a table: nothing in it), with NLM_F_NONREC so the kernel refuses
//! any that holds something, even something added after we looked. What
//! could not be deleted stays noted for the next teardown; what is gone is
//! forgotten.
//!
//! The planning here is pure (tested exactly); `note_setup` and
//! `tidy_after_teardown` read and write the record file and run nfnl.rs.
//! Both run under the firewall lock, within the read-plan-write.
//!
//! The record, one object a line, sorted: `ip filter`, `ip filter FORWARD`,
//! `ip6 nat POSTROUTING`. A host whose iptables is the legacy one has no such
//! tables in nf_tables: what we note is then never found, and forgotten.

use super::render::{self, FamilyWant};
use super::TABLES;
use crate::error::{OrFail, Result};
use crate::network::firewall::nfnl::{self, Existing, Made};
use crate::network::firewall::rules::NetworkRules;
use crate::paths;

/// Parse the record file (sorted, deduplicated); a line that is not
/// `FAMILY TABLE [CHAIN]` with a family and table of ours is an error.
pub fn parse(text: &str) -> Result<Vec<Made>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let w: Vec<&str> = line.split_whitespace().collect();
        let ok = |f: &str, t: &str| ["ip", "ip6"].contains(&f) && TABLES.contains(&t);
        match w.as_slice() {
            [f, t] if ok(f, t) => out.push(Made::new(f, t, None)),
            [f, t, c] if ok(f, t) => out.push(Made::new(f, t, Some(c))),
            _ => {
                return Err(fail!(
                    "{}, line {}: not `FAMILY TABLE [CHAIN]'",
                    paths::IPTABLES_CREATED,
                    i + 1
                ))
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The record file's text (empty: no file).
pub fn render(made: &[Made]) -> String {
    made.iter().map(|m| m.line() + "\n").collect()
}

/// The tables and built-in chains a setup of `want` writes to.
pub fn touched(want: &NetworkRules) -> Vec<Made> {
    let mut out = Vec::new();
    for (family, rules) in [("ip", &want.v4), ("ip6", &want.v6)] {
        let Some(rules) = rules else { continue };
        let w: FamilyWant = render::family(&want.name, rules);
        for table in TABLES {
            let Some(t) = w.table(table).filter(|t| !t.chains.is_empty()) else {
                continue;
            };
            out.push(Made::new(family, table, None));
            let mut parents: Vec<&str> = t.links.iter().map(|(p, _)| p.as_str()).collect();
            if table == "filter" {
                // the shared chains' jumps (plan::ensure_shared)
                parents.push("FORWARD");
            }
            for p in parents.into_iter().filter(|p| is_builtin(p)) {
                out.push(Made::new(family, table, Some(p)));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn is_builtin(chain: &str) -> bool {
    ["INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING"].contains(&chain)
}

/// The record after a setup that writes to `touched`: what it noted, and
/// every touched table or chain that does not exist yet.
pub fn after_setup(noted: &[Made], touched: &[Made], existing: &Existing) -> Vec<Made> {
    let mut out: Vec<Made> = noted.to_vec();
    out.extend(touched.iter().filter(|m| !existing.has(m)).cloned());
    out.sort();
    out.dedup();
    out
}

/// What to try to delete, in order (chains, then tables), of what is noted:
/// base chains that exist, hold nothing and accept; tables that exist and
/// whose every chain is in that list. The kernel has the last word (NONREC).
pub fn to_delete(noted: &[Made], existing: &Existing) -> Vec<Made> {
    let chains: Vec<Made> = noted
        .iter()
        .filter(|m| {
            m.chain.as_deref().is_some_and(|c| {
                existing
                    .chain(m, c)
                    .is_some_and(|c| c.base && c.accept && c.used == 0)
            })
        })
        .cloned()
        .collect();
    let tables: Vec<Made> = noted
        .iter()
        .filter(|m| m.chain.is_none() && existing.has(m))
        .filter(|m| {
            existing
                .chains
                .iter()
                .filter(|c| c.family == m.family && c.table == m.table)
                .all(|c| chains.contains(&Made::new(&c.family, &c.table, Some(&c.name))))
        })
        .cloned()
        .collect();
    chains.into_iter().chain(tables).collect()
}

/// What stays noted after the deletions: what still exists and was not
/// deleted (`deleted` lists those that were).
pub fn after_teardown(noted: &[Made], existing: &Existing, deleted: &[Made]) -> Vec<Made> {
    noted
        .iter()
        .filter(|m| existing.has(m) && !deleted.contains(m))
        .filter(|m| {
            // a chain of a table that was deleted went with it
            let table = Made::new(&m.family, &m.table, None);
            !deleted.contains(&table)
        })
        .cloned()
        .collect()
}

fn load() -> Result<Vec<Made>> {
    match std::fs::read_to_string(paths::IPTABLES_CREATED) {
        Ok(text) => parse(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(fail!("{}: {e}", paths::IPTABLES_CREATED)),
    }
}

fn store(made: &[Made]) -> Result<()> {
    let path = paths::IPTABLES_CREATED;
    if made.is_empty() {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(fail!("{path}: {e}")),
            _ => Ok(()),
        };
    }
    let tmp = format!("{path}.new");
    std::fs::write(&tmp, render(made)).or_fail(|| tmp.clone())?;
    std::fs::rename(&tmp, path).or_fail(|| path.to_string())
}

/// Before a setup of `want` runs (firewall lock held): note what it will
/// create. Where nf_tables cannot be read (no nf_tables), nothing is noted.
pub fn note_setup(want: &NetworkRules) -> Result<()> {
    let touched = touched(want);
    if touched.is_empty() {
        return Ok(());
    }
    let Ok(existing) = nfnl::dump() else {
        return Ok(());
    };
    let noted = load()?;
    let now = after_setup(&noted, &touched, &existing);
    if now != noted {
        store(&now)?;
    }
    Ok(())
}

/// After a teardown ran (firewall lock held): delete what we created that is
/// empty again. Best effort: the teardown itself has succeeded.
pub fn tidy_after_teardown() {
    let Ok(noted) = load() else { return };
    if noted.is_empty() {
        return;
    }
    let Ok(existing) = nfnl::dump() else { return };
    let deleted: Vec<Made> = to_delete(&noted, &existing)
        .into_iter()
        .filter(|m| nfnl::delete_if_empty(m).unwrap_or(false))
        .collect();
    let _ = store(&after_teardown(&noted, &existing, &deleted));
}

#[cfg(test)]
mod tests;
