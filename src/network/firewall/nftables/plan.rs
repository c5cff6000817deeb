//! Planning against the ruleset read once (`nft -a list ruleset`, under the
//! firewall lock): the one `nft -f -` transaction that brings a network to
//! what it wants, or removes it; and the checks `present` and `leftovers`.
//!
//! Planning rules:
//! - the filter base chains hold fixed lookups in verdict maps keyed by
//!   bridge name (`iifname vmap @to-host`...), so a network joins by `add
//!   element` (idempotent) and no base chain is rewritten; the nat base
//!   chains hold one jump per network (added when missing, deleted by handle);
//! - a cold bring-up only adds: nothing that exists is declared again and
//!   nothing is deleted, because every commit that deletes waits for an RCU
//!   grace period (measured: ~12 ms of a ~16 ms transaction); a network's
//!   chains that exist already (repair, resumed bring-up) are flushed and
//!   refilled, so `up` restores them exactly;
//! - the last network deletes the whole table of its family;
//! - in the host's iptables-nft `filter` tables (coexistence) and in the
//!   iptables backend's leftovers, rules are deleted by handle, never
//!   matched by text.

use super::parse::{Chain, Ruleset, Table};
use super::render::{self, chain_name, family_name, FamilyWant, BRIDGES, SUFFIXES, TABLE};
use crate::network::firewall::iptables;
use crate::network::firewall::rules::{Family, FamilyRules, NetworkRules};

/// Our base chains: name, declaration.
const BASE: [(&str, &str); 6] = [
    (
        "input",
        "type filter hook input priority filter; policy accept;",
    ),
    (
        "output",
        "type filter hook output priority filter; policy accept;",
    ),
    (
        "forward",
        "type filter hook forward priority filter; policy accept;",
    ),
    (
        "prerouting",
        "type nat hook prerouting priority dstnat; policy accept;",
    ),
    (
        "nat-output",
        "type nat hook output priority -100; policy accept;",
    ),
    (
        "postrouting",
        "type nat hook postrouting priority srcnat; policy accept;",
    ),
];

/// The verdict maps from bridge name to a network's filter chain: map,
/// chain suffix, the base chain that looks it up, and with what (the
/// `forward` lookups in this order: libvirt's FWX/FWI/FWO).
pub const MAPS: [(&str, &str, &str, &str); 5] = [
    ("to-host", "in", "input", "iifname"),
    ("from-host", "out", "output", "oifname"),
    ("guest-to-guest", "fwx", "forward", "iifname"),
    ("into-bridge", "fwi", "forward", "oifname"),
    ("out-of-bridge", "fwo", "forward", "iifname"),
];

/// The jumps to a network's nat chains: base chain, chain suffix, condition.
fn nat_jumps(fam: Family) -> [(&'static str, &'static str, &'static str); 3] {
    let local = match fam {
        Family::V4 => "ip daddr != 127.0.0.0/8 fib daddr type local ",
        Family::V6 => "ip6 daddr != ::1 fib daddr type local ",
    };
    [
        ("prerouting", "dnat", ""),
        ("nat-output", "dnat", local),
        ("postrouting", "prt", ""),
    ]
}

/// The rules of a filter base chain, as nft prints them.
fn base_lookups(base: &str) -> Vec<String> {
    MAPS.iter()
        .filter(|(_, _, b, _)| *b == base)
        .map(|(map, _, _, key)| format!("{key} vmap @{map}"))
        .collect()
}

/// The host's iptables-nft hooks we may need accepts in: chain, our suffix.
pub const COEXIST_HOOKS: [(&str, &str); 3] =
    [("INPUT", "in"), ("FORWARD", "fwd"), ("OUTPUT", "out")];

/// Our chain in the host's `filter` table: "vh-BR-SUFFIX" (at most 22
/// bytes: iptables-save prints names up to 28).
pub fn coexist_chain(net: &str, suffix: &str) -> String {
    format!("vh-{net}-{suffix}")
}

/// The iptables backend's chains of a network (its OWN_CHAINS).
const IPTABLES_SUFFIXES: [&str; 7] = ["IN", "OUT", "FWX", "FWI", "FWO", "PRT", "DNAT"];

const FAMILIES: [Family; 2] = [Family::V4, Family::V6];

/// The networks with chains in our table.
fn networks(t: &Table) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in &t.chains {
        let Some(rest) = c.name.strip_prefix("vnet-") else {
            continue;
        };
        let net = SUFFIXES
            .iter()
            .find_map(|s| rest.strip_suffix(&format!("-{s}")));
        if let Some(net) = net.filter(|n| !out.iter().any(|o| o == n)) {
            out.push(net.to_string());
        }
    }
    out
}

fn drop_chain(f: &str, table: &str, chain: &str, out: &mut Vec<String>) {
    out.push(format!("flush chain {f} {table} {chain}"));
    out.push(format!("delete chain {f} {table} {chain}"));
}

/// Handles of the rules of `chain` that jump to `target`.
fn jumps_to(t: &Table, chain: &str, target: &str) -> Vec<u64> {
    t.chain(chain)
        .map(|c| {
            c.rules
                .iter()
                .filter(|r| r.target() == Some(target))
                .filter_map(|r| r.handle)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether map or set `name` has element `key`.
fn has_element(t: &Table, name: &str, key: &str) -> bool {
    t.set(name)
        .is_some_and(|s| s.elements.iter().any(|e| e == key))
}

/// The table, its set, maps and base chains, declared only where absent
/// (declaring an existing base chain again is an update the kernel pays
/// for); a filter base chain whose lookups are not exactly ours is
/// rewritten.
fn skeleton(f: &str, cur: Option<&Table>, out: &mut Vec<String>) {
    let empty = Table::default();
    let t = cur.unwrap_or(&empty);
    if cur.is_none() {
        out.push(format!("add table {f} {TABLE}"));
    }
    if t.set(BRIDGES).is_none() {
        out.push(format!("add set {f} {TABLE} {BRIDGES} {{ type ifname; }}"));
    }
    for (map, ..) in MAPS {
        if t.set(map).is_none() {
            out.push(format!(
                "add map {f} {TABLE} {map} {{ type ifname : verdict; }}"
            ));
        }
    }
    for (name, decl) in BASE {
        let have = t.chain(name);
        if have.is_none() {
            out.push(format!("add chain {f} {TABLE} {name} {{ {decl} }}"));
        }
        let want = base_lookups(name);
        if want.is_empty() {
            continue;
        }
        let texts: Vec<&str> = have
            .map(|c| c.rules.iter().map(|r| r.text.as_str()).collect())
            .unwrap_or_default();
        if texts != want {
            if have.is_some_and(|c| !c.rules.is_empty()) {
                out.push(format!("flush chain {f} {TABLE} {name}"));
            }
            out.extend(
                want.iter()
                    .map(|r| format!("add rule {f} {TABLE} {name} {r}")),
            );
        }
    }
}

/// Remove network `net` from a table that keeps other networks: its map
/// elements and nat jumps first, then its chains.
fn remove_net(
    f: &str,
    fam: Family,
    net: &str,
    t: &Table,
    chains: &[String],
    out: &mut Vec<String>,
) {
    for (map, ..) in MAPS {
        if has_element(t, map, net) {
            out.push(format!("delete element {f} {TABLE} {map} {{ \"{net}\" }}"));
        }
    }
    for (base, suffix, _) in nat_jumps(fam) {
        for h in jumps_to(t, base, &chain_name(net, suffix)) {
            out.push(format!("delete rule {f} {TABLE} {base} handle {h}"));
        }
    }
    for c in chains {
        drop_chain(f, TABLE, c, out);
    }
    // Its name stays in the set: the networks left may name it as a peer
    // (their setup put it there), and a bridge of that name is refused
    // into them, as with the iptables backend. The set goes with the table.
}

/// Exactly one jump from each nat base chain to the network's nat chains.
fn nat_jump_lines(
    f: &str,
    fam: Family,
    net: &str,
    w: &FamilyWant,
    t: &Table,
    out: &mut Vec<String>,
) {
    for (base, suffix, cond) in nat_jumps(fam) {
        let c = chain_name(net, suffix);
        if !w.chains.iter().any(|(n, _)| *n == c) {
            continue;
        }
        let have = jumps_to(t, base, &c);
        if have.is_empty() {
            out.push(format!("add rule {f} {TABLE} {base} {cond}jump {c}"));
        }
        for h in have.iter().skip(1) {
            out.push(format!("delete rule {f} {TABLE} {base} handle {h}"));
        }
    }
}

/// Our table of one family: to what `want` says (None: nothing of `net`).
/// A cold bring-up only adds (no deletion: each commit that deletes waits
/// for an RCU grace period, about 12 ms measured here); chains that exist
/// already (a repair, a resumed bring-up) are flushed and refilled.
fn table_lines(
    net: &str,
    fam: Family,
    want: Option<&FamilyWant>,
    cur: Option<&Table>,
) -> Vec<String> {
    let f = family_name(fam);
    let empty = Table::default();
    let t = cur.unwrap_or(&empty);
    let had: Vec<String> = SUFFIXES
        .iter()
        .map(|s| chain_name(net, s))
        .filter(|c| t.chain(c).is_some())
        .collect();
    let mut out = Vec::new();
    let Some(w) = want else {
        if had.is_empty() {
            return out;
        }
        if networks(t).iter().all(|n| n == net) {
            out.push(format!("delete table {f} {TABLE}"));
        } else {
            remove_net(f, fam, net, t, &had, &mut out);
        }
        return out;
    };
    skeleton(f, cur, &mut out);
    let unwanted: Vec<String> = had
        .iter()
        .filter(|c| !w.chains.iter().any(|(n, _)| n == *c))
        .cloned()
        .collect();
    for c in &unwanted {
        for (base, suffix, _) in nat_jumps(fam) {
            if *c == chain_name(net, suffix) {
                for h in jumps_to(t, base, c) {
                    out.push(format!("delete rule {f} {TABLE} {base} handle {h}"));
                }
            }
        }
        drop_chain(f, TABLE, c, &mut out);
    }
    for (c, rules) in &w.chains {
        match t.chain(c) {
            None => out.push(format!("add chain {f} {TABLE} {c}")),
            Some(_) => out.push(format!("flush chain {f} {TABLE} {c}")),
        }
        out.extend(
            rules
                .iter()
                .map(|r| format!("add rule {f} {TABLE} {c} {r}")),
        );
    }
    for (map, suffix, ..) in MAPS {
        let c = chain_name(net, suffix);
        if w.chains.iter().any(|(n, _)| *n == c) {
            out.push(format!(
                "add element {f} {TABLE} {map} {{ \"{net}\" : jump {c} }}"
            ));
        }
    }
    nat_jump_lines(f, fam, net, w, t, &mut out);
    let elems: Vec<String> = w.bridges.iter().map(|b| format!("\"{b}\"")).collect();
    out.push(format!(
        "add element {f} {TABLE} {BRIDGES} {{ {} }}",
        elems.join(", ")
    ));
    out
}

/// The script that takes bridge `name`, a network that no longer exists (a
/// deleted user network), out of the `bridges` set of each family's table
/// where it still is; None if it is in none. Nothing else changes: setups
/// only ever add to the set, so a bring-up that read its peers before the
/// delete never takes a live network out.
pub fn forget_script(name: &str, rs: &Ruleset) -> Option<String> {
    let lines: Vec<String> = FAMILIES
        .iter()
        .map(|fam| family_name(*fam))
        .filter(|f| {
            rs.table(f, TABLE)
                .is_some_and(|t| has_element(t, BRIDGES, name))
        })
        .map(|f| format!("delete element {f} {TABLE} {BRIDGES} {{ \"{name}\" }}\n"))
        .collect();
    (!lines.is_empty()).then(|| lines.concat())
}

/// Whether a chain of the host's filter table can drop or reject: its
/// policy, its rules, or the chains it jumps to (ours excluded).
fn drops(t: &Table, c: &Chain, depth: usize) -> bool {
    if c.policy_drop || c.rules.iter().any(|r| r.drops()) {
        return true;
    }
    depth < 8
        && c.rules.iter().filter_map(|r| r.target()).any(|target| {
            !target.starts_with("vh-")
                && !target.starts_with("VNET-")
                && t.chain(target).is_some_and(|j| drops(t, j, depth + 1))
        })
}

/// The hooks of the host's filter table of this family that would drop
/// traffic, with the accepts network `net` needs there.
pub fn coexist_wanted(
    net: &str,
    rules: Option<&FamilyRules>,
    filter: Option<&Table>,
) -> Vec<(&'static str, &'static str, Vec<String>)> {
    let (Some(rules), Some(t)) = (rules, filter) else {
        return Vec::new();
    };
    COEXIST_HOOKS
        .iter()
        .filter(|(hook, _)| t.chain(hook).is_some_and(|c| drops(t, c, 0)))
        .map(|(hook, s)| (*hook, *s, render::coexist(net, rules, hook)))
        .filter(|(_, _, r)| !r.is_empty())
        .collect()
}

/// The host's `filter` table of one family: our accepts where it drops.
fn coexist_lines(
    net: &str,
    fam: Family,
    rules: Option<&FamilyRules>,
    cur: Option<&Table>,
) -> Vec<String> {
    let f = family_name(fam);
    let Some(t) = cur else {
        return Vec::new();
    };
    let wanted = coexist_wanted(net, rules, Some(t));
    let mut out = Vec::new();
    for (hook, suffix) in COEXIST_HOOKS {
        let name = coexist_chain(net, suffix);
        let jumps: Vec<u64> = t
            .chain(hook)
            .map(|c| {
                c.rules
                    .iter()
                    .filter(|r| r.target() == Some(name.as_str()))
                    .filter_map(|r| r.handle)
                    .collect()
            })
            .unwrap_or_default();
        match wanted.iter().find(|(h, _, _)| *h == hook) {
            Some((_, _, rules)) => {
                out.push(format!("add chain {f} filter {name}"));
                out.push(format!("flush chain {f} filter {name}"));
                out.extend(
                    rules
                        .iter()
                        .map(|r| format!("add rule {f} filter {name} {r}")),
                );
                if jumps.is_empty() {
                    out.push(format!("insert rule {f} filter {hook} jump {name}"));
                }
                for h in jumps.iter().skip(1) {
                    out.push(format!("delete rule {f} filter {hook} handle {h}"));
                }
            }
            None => {
                for h in &jumps {
                    out.push(format!("delete rule {f} filter {hook} handle {h}"));
                }
                if t.chain(&name).is_some() {
                    drop_chain(f, "filter", &name, &mut out);
                }
            }
        }
    }
    out
}

/// The iptables backend's rules of network `net` in one table (`filter`
/// or `nat` of a family), and its shared chains once they would be empty.
fn iptables_lines(net: &str, f: &str, t: &Table) -> Vec<String> {
    let own: Vec<String> = IPTABLES_SUFFIXES
        .iter()
        .map(|s| iptables::chain_name(net, s))
        .filter(|c| t.chain(c).is_some())
        .collect();
    let mut out = Vec::new();
    let mut left: Vec<(&str, usize)> = Vec::new();
    for c in t.chains.iter().filter(|c| !own.contains(&c.name)) {
        let mut removed = 0;
        for r in &c.rules {
            if let (Some(target), Some(h)) = (r.target(), r.handle) {
                if own.iter().any(|o| o == target) {
                    out.push(format!("delete rule {f} {} {} handle {h}", t.name, c.name));
                    removed += 1;
                }
            }
        }
        left.push((c.name.as_str(), c.rules.len() - removed));
    }
    for c in &own {
        drop_chain(f, &t.name, c, &mut out);
    }
    let shared: Vec<&str> = iptables::SHARED_CHAINS
        .iter()
        .copied()
        .filter(|s| t.chain(s).is_some())
        .collect();
    let shared_empty = shared
        .iter()
        .all(|s| left.iter().any(|(c, n)| c == s && *n == 0));
    if t.name == "filter" && !shared.is_empty() && shared_empty {
        for c in t
            .chains
            .iter()
            .filter(|c| !shared.contains(&c.name.as_str()))
        {
            for r in &c.rules {
                if let (Some(target), Some(h)) = (r.target(), r.handle) {
                    if shared.contains(&target) {
                        out.push(format!("delete rule {f} filter {} handle {h}", c.name));
                    }
                }
            }
        }
        for s in shared {
            out.push(format!("delete chain {f} filter {s}"));
        }
    }
    out
}

/// The whole `nft -f -` text that brings network `name` to `want` (None:
/// removes it), or None when nothing changes. With `iptables_too`, the
/// network's chains of the iptables backend go as well (not when that
/// backend is the one in use and only our leftovers are to be removed).
pub fn script(
    name: &str,
    want: Option<&NetworkRules>,
    rs: &Ruleset,
    iptables_too: bool,
) -> Option<String> {
    let mut lines = Vec::new();
    for fam in FAMILIES {
        let f = family_name(fam);
        let rules = want.and_then(|w| match fam {
            Family::V4 => w.v4.as_ref(),
            Family::V6 => w.v6.as_ref(),
        });
        let w = rules.map(|r| render::family(name, r));
        lines.extend(table_lines(name, fam, w.as_ref(), rs.table(f, TABLE)));
        lines.extend(coexist_lines(name, fam, rules, rs.table(f, "filter")));
        for t in ["filter", "nat"].into_iter().filter(|_| iptables_too) {
            if let Some(t) = rs.table(f, t) {
                lines.extend(iptables_lines(name, f, t));
            }
        }
    }
    if lines.is_empty() {
        return None;
    }
    let mut text = lines.join("\n");
    text.push('\n');
    Some(text)
}

/// Whether everything `script` would create for `want` is in place.
pub fn present(want: &NetworkRules, rs: &Ruleset) -> bool {
    FAMILIES.iter().all(|&fam| {
        let f = family_name(fam);
        let rules = match fam {
            Family::V4 => want.v4.as_ref(),
            Family::V6 => want.v6.as_ref(),
        };
        let Some(rules) = rules else { return true };
        let w = render::family(&want.name, rules);
        let Some(t) = rs.table(f, TABLE) else {
            return false;
        };
        let chains_ok = w
            .chains
            .iter()
            .all(|(c, r)| t.chain(c).is_some_and(|have| have.rules.len() == r.len()));
        let lookups_ok = BASE.iter().all(|(base, _)| {
            let want = base_lookups(base);
            want.is_empty()
                || t.chain(base).is_some_and(|c| {
                    c.rules.iter().map(|r| r.text.as_str()).collect::<Vec<_>>() == want
                })
        });
        let elements_ok = MAPS.iter().all(|(map, suffix, ..)| {
            let c = chain_name(&want.name, suffix);
            !w.chains.iter().any(|(n, _)| *n == c) || has_element(t, map, &want.name)
        });
        let nat_ok = nat_jumps(fam).iter().all(|(base, suffix, _)| {
            let c = chain_name(&want.name, suffix);
            !w.chains.iter().any(|(n, _)| *n == c) || jumps_to(t, base, &c).len() == 1
        });
        let in_set = has_element(t, BRIDGES, &want.name);
        let filter = rs.table(f, "filter");
        let coexist_ok =
            coexist_wanted(&want.name, Some(rules), filter)
                .iter()
                .all(|(hook, suffix, r)| {
                    let name = coexist_chain(&want.name, suffix);
                    filter.is_some_and(|t| {
                        t.chain(&name).is_some_and(|c| c.rules.len() == r.len())
                            && t.chain(hook)
                                .is_some_and(|c| c.rules.iter().any(|x| x.target() == Some(&name)))
                    })
                });
        chains_ok && lookups_ok && elements_ok && nat_ok && in_set && coexist_ok
    })
}

/// Whether anything of network `name` is in the ruleset: chains in our
/// tables, accepts in the host's filter tables, the iptables backend's
/// chains.
pub fn leftovers(name: &str, rs: &Ruleset) -> bool {
    rs.tables.iter().any(|t| {
        let mut names: Vec<String> = Vec::new();
        if t.name == TABLE {
            names.extend(SUFFIXES.iter().map(|s| chain_name(name, s)));
        } else if t.name == "filter" || t.name == "nat" {
            names.extend(COEXIST_HOOKS.iter().map(|(_, s)| coexist_chain(name, s)));
            names.extend(
                IPTABLES_SUFFIXES
                    .iter()
                    .map(|s| iptables::chain_name(name, s)),
            );
        }
        t.chains.iter().any(|c| names.contains(&c.name))
    })
}

/// The host's hooks where network `name` has accepts (for `status`).
pub fn coexistence(name: &str, rs: &Ruleset) -> Vec<String> {
    let mut out = Vec::new();
    for fam in FAMILIES {
        let f = family_name(fam);
        let Some(t) = rs.table(f, "filter") else {
            continue;
        };
        for (hook, suffix) in COEXIST_HOOKS {
            let c = coexist_chain(name, suffix);
            if t.chain(&c).is_some() {
                out.push(format!("{f} filter {hook} (chain {c})"));
            }
        }
    }
    out
}
