//! Planning against the current ruleset: the `iptables-restore --noflush`
//! script that takes one family from what iptables-save printed to what a
//! network wants (or to nothing of it, for a teardown), one transaction per
//! table; and the checks `present` and `leftovers` for `status`.
//!
//! Planning rules:
//! - our rules are recognised only by their `-j`/`-g` target (one of the
//!   network's chain names), never by comparing text, and deleted with the
//!   exact text iptables-save printed (`-D CHAIN <text>`);
//! - the network's chains are declared (`:C - [0:0]`), which under --noflush
//!   flushes an existing one: setup rewrites them whole;
//! - shared chains are declared only when absent (declaring would flush the
//!   other networks' jumps) and removed by the teardown that leaves them empty;
//! - built-in chains are never declared (that would reset their policy); jumps
//!   from them are inserted at position 1 so a DROP policy or a REJECT below
//!   cannot shadow them.

use super::render::{self, FamilyWant, TableWant};
use super::save::{rule_target, words, Chain, Ruleset, Table};
use super::{chain_name, State, OWN_CHAINS, SHARED_CHAINS, TABLES};
use crate::network::firewall::rules::{FamilyRules, NetworkRules};

fn own_chain_names(net: &str, table: &str) -> Vec<String> {
    OWN_CHAINS
        .iter()
        .filter(|(t, _)| *t == table)
        .map(|(_, s)| chain_name(net, s))
        .collect()
}

/// One table's script as it is built: chain declarations, then commands.
#[derive(Default)]
struct Script {
    decl: Vec<String>,
    body: Vec<String>,
}

/// The restore text for one table, or nothing when the table needs no change.
fn table_script(
    net: &str,
    table: &str,
    want: Option<&TableWant>,
    cur: Option<&Table>,
) -> Vec<String> {
    let empty = Table {
        name: table.to_string(),
        chains: Vec::new(),
    };
    let cur = cur.unwrap_or(&empty);
    let own = own_chain_names(net, table);
    let wanted_chains: Vec<&String> = want
        .map(|w| w.chains.iter().map(|(c, _)| c).collect())
        .unwrap_or_default();

    let mut s = Script::default();
    let removed = drop_jumps_to(&own, cur, &mut s);
    // Our chains that exist but are no longer wanted.
    for name in &own {
        if cur.chain(name).is_some() && !wanted_chains.contains(&name) {
            s.body.push(format!("-F {name}"));
            s.body.push(format!("-X {name}"));
        }
    }
    if table == "filter" {
        if wanted_chains.is_empty() {
            drop_shared_if_empty(&own, cur, &removed, &mut s);
        } else {
            ensure_shared(cur, &mut s);
        }
    }
    if let Some(w) = want {
        for (name, rules) in &w.chains {
            s.decl.push(format!(":{name} - [0:0]"));
            for r in rules {
                s.body.push(format!("-A {name} {r}"));
            }
        }
        s.body.extend(w.jumps.iter().cloned());
    }

    if s.decl.is_empty() && s.body.is_empty() {
        return Vec::new();
    }
    let mut out = vec![format!("*{table}")];
    out.extend(s.decl);
    out.extend(s.body);
    out.push("COMMIT".to_string());
    out
}

/// Delete every jump to one of the chains `own`, from anywhere but those
/// chains themselves (they are flushed or deleted whole). Returns the
/// (chain, rule) pairs deleted, to know what the shared chains keep.
fn drop_jumps_to<'a>(own: &[String], cur: &'a Table, s: &mut Script) -> Vec<(&'a str, &'a str)> {
    let mut removed = Vec::new();
    for chain in &cur.chains {
        if own.contains(&chain.name) {
            continue;
        }
        for rule in &chain.rules {
            if rule_target(rule).is_some_and(|t| own.contains(&t)) {
                s.body.push(format!("-D {} {rule}", chain.name));
                removed.push((chain.name.as_str(), rule.as_str()));
            }
        }
    }
    removed
}

/// The shared chains exist and FORWARD jumps to each exactly once, in order;
/// anything else is repaired by re-inserting all three on top.
fn ensure_shared(cur: &Table, s: &mut Script) {
    for c in SHARED_CHAINS {
        if cur.chain(c).is_none() {
            s.decl.push(format!(":{c} - [0:0]"));
        }
    }
    let fwd: Vec<&String> = cur
        .chain("FORWARD")
        .map(|c| c.rules.iter().collect())
        .unwrap_or_default();
    let to_shared: Vec<(&String, String)> = fwd
        .iter()
        .filter_map(|r| {
            rule_target(r)
                .filter(|t| SHARED_CHAINS.contains(&t.as_str()))
                .map(|t| (*r, t))
        })
        .collect();
    let in_order = to_shared.len() == 3
        && to_shared
            .iter()
            .zip(SHARED_CHAINS)
            .all(|((_, t), c)| t == c);
    if !in_order {
        for (r, _) in &to_shared {
            s.body.push(format!("-D FORWARD {r}"));
        }
        for c in SHARED_CHAINS.iter().rev() {
            s.body.push(format!("-I FORWARD 1 -j {c}"));
        }
    }
}

/// Remove the shared chains when nothing else remains in them once the
/// `removed` rules are gone.
fn drop_shared_if_empty(own: &[String], cur: &Table, removed: &[(&str, &str)], s: &mut Script) {
    let existing: Vec<&Chain> = SHARED_CHAINS.iter().filter_map(|c| cur.chain(c)).collect();
    let all_empty = existing
        .iter()
        .all(|c| c.rules.len() == removed.iter().filter(|(n, _)| *n == c.name).count());
    if existing.is_empty() || !all_empty {
        return;
    }
    for chain in &cur.chains {
        if SHARED_CHAINS.contains(&chain.name.as_str()) || own.contains(&chain.name) {
            continue;
        }
        for rule in &chain.rules {
            if rule_target(rule).is_some_and(|t| SHARED_CHAINS.contains(&t.as_str())) {
                s.body.push(format!("-D {} {rule}", chain.name));
            }
        }
    }
    for c in existing {
        s.body.push(format!("-X {}", c.name));
    }
}

/// The whole restore text for one family, or None when nothing changes.
fn family_script(net: &str, want: Option<&FamilyWant>, cur: &Ruleset) -> Option<String> {
    let mut lines = Vec::new();
    for table in TABLES {
        lines.extend(table_script(
            net,
            table,
            want.and_then(|w| w.table(table)),
            cur.table(table),
        ));
    }
    if lines.is_empty() {
        return None;
    }
    let mut text = lines.join("\n");
    text.push('\n');
    Some(text)
}

fn render(name: &str, rules: &Option<FamilyRules>) -> Option<FamilyWant> {
    rules.as_ref().map(|r| render::family(name, r))
}

/// The restore texts (IPv4, IPv6) that bring network `want` up to date.
pub fn setup_scripts(want: &NetworkRules, current: &State) -> (Option<String>, Option<String>) {
    let w4 = render(&want.name, &want.v4);
    let w6 = render(&want.name, &want.v6);
    (
        family_script(&want.name, w4.as_ref(), &current.v4),
        family_script(&want.name, w6.as_ref(), &current.v6),
    )
}

/// The restore texts (IPv4, IPv6) that remove network `name`.
pub fn teardown_scripts(name: &str, current: &State) -> (Option<String>, Option<String>) {
    (
        family_script(name, None, &current.v4),
        family_script(name, None, &current.v6),
    )
}

fn family_present(want: &FamilyWant, cur: &Ruleset) -> bool {
    for table in TABLES {
        let Some(w) = want.table(table) else { continue };
        if w.chains.is_empty() {
            continue;
        }
        let Some(t) = cur.table(table) else {
            return false;
        };
        // Each of our chains must hold as many rules as setup puts in it (a
        // flushed or pruned chain is as broken as a missing one; the text is
        // not compared: iptables-save prints rules in its own canonical form).
        if w.chains.iter().any(|(c, rules)| {
            t.chain(c)
                .is_none_or(|have| have.rules.len() != rules.len())
        }) {
            return false;
        }
        let jumps_to = |parent: &str, target: &str| {
            t.chain(parent).is_some_and(|p| {
                p.rules
                    .iter()
                    .any(|r| rule_target(r).as_deref() == Some(target))
            })
        };
        if !w
            .links
            .iter()
            .all(|(parent, target)| jumps_to(parent, target))
        {
            return false;
        }
        if table == "filter" && !SHARED_CHAINS.iter().all(|c| jumps_to("FORWARD", c)) {
            return false;
        }
    }
    true
}

/// Whether every chain and jump `setup` creates for `want` is in place.
pub fn present(want: &NetworkRules, current: &State) -> bool {
    let ok4 = render(&want.name, &want.v4).is_none_or(|w| family_present(&w, &current.v4));
    let ok6 = render(&want.name, &want.v6).is_none_or(|w| family_present(&w, &current.v6));
    ok4 && ok6
}

/// Whether any chain of network `name`, or any jump to one, is in the ruleset.
pub fn leftovers(name: &str, current: &State) -> bool {
    [&current.v4, &current.v6].iter().any(|rs| {
        rs.tables.iter().any(|t| {
            let own = own_chain_names(name, &t.name);
            t.chains.iter().any(|c| {
                own.contains(&c.name)
                    || c.rules
                        .iter()
                        .any(|r| rule_target(r).is_some_and(|x| own.contains(&x)))
            })
        })
    })
}

/// The peers network `name`'s rules isolate it from now: the `X` of every
/// `-i X -o NAME -j REJECT ...` in its IPv4 (else IPv6) `VNET-NAME-FWI`
/// chain, sorted (rules.rs puts one such reject per peer there, and nothing
/// else of that shape). None when the chain is in neither family.
pub fn isolated_peers(name: &str, current: &State) -> Option<Vec<String>> {
    let fwi = chain_name(name, "FWI");
    let chain = [&current.v4, &current.v6]
        .iter()
        .find_map(|rs| rs.table("filter")?.chain(&fwi))?;
    let mut peers: Vec<String> = chain
        .rules
        .iter()
        .filter_map(|r| match words(r).as_slice() {
            [i, x, o, br, j, reject, ..]
                if i == "-i" && o == "-o" && br == name && j == "-j" && reject == "REJECT" =>
            {
                (x != name).then(|| x.clone())
            }
            _ => None,
        })
        .collect();
    peers.sort();
    peers.dedup();
    Some(peers)
}
