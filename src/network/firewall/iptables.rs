//! The iptables driver: a network's rules as `iptables-restore --noflush` text,
//! planned against the current ruleset parsed from `iptables-save`.
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

use super::{Firewall, Invocation, Plan};
use crate::error::Result;
use crate::network::definition::{Definition, Forward, Mode, Proto};

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

// ---------------------------------------------------------------------------
// iptables-save output.

/// One family's ruleset as iptables-save printed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ruleset {
    pub tables: Vec<Table>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    pub chains: Vec<Chain>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub name: String,
    /// ACCEPT/DROP for built-in chains, None for user chains ("-").
    pub policy: Option<String>,
    /// Each rule exactly as printed after "-A CHAIN ".
    pub rules: Vec<String>,
}

impl Ruleset {
    /// Parse `iptables-save` output (all tables, without counters).
    pub fn parse(text: &str) -> Result<Ruleset> {
        let mut tables: Vec<Table> = Vec::new();
        let mut open = false;
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix('*') {
                if open {
                    return Err(fail!(
                        "iptables-save output, line {n}: table `{name}' starts before COMMIT"
                    ));
                }
                if name.is_empty() || name.contains(char::is_whitespace) {
                    return Err(fail!("iptables-save output, line {n}: bad table line"));
                }
                tables.push(Table {
                    name: name.to_string(),
                    chains: Vec::new(),
                });
                open = true;
                continue;
            }
            let table = match (open, tables.last_mut()) {
                (true, Some(t)) => t,
                _ => {
                    return Err(fail!(
                        "iptables-save output, line {n}: `{}' outside a table",
                        truncate(line)
                    ))
                }
            };
            if line == "COMMIT" {
                open = false;
            } else if let Some(decl) = line.strip_prefix(':') {
                let mut parts = decl.split_whitespace();
                let (name, policy) = match (parts.next(), parts.next()) {
                    (Some(c), Some(p)) => (c, p),
                    _ => return Err(fail!("iptables-save output, line {n}: bad chain line")),
                };
                table.chains.push(Chain {
                    name: name.to_string(),
                    policy: (policy != "-").then(|| policy.to_string()),
                    rules: Vec::new(),
                });
            } else if let Some(rest) = line.strip_prefix("-A ") {
                let (chain, rule) = rest.split_once(' ').unwrap_or((rest, ""));
                match table.chains.iter_mut().find(|c| c.name == chain) {
                    Some(c) => c.rules.push(rule.to_string()),
                    None => {
                        return Err(fail!(
                            "iptables-save output, line {n}: rule for undeclared chain `{chain}'"
                        ))
                    }
                }
            } else {
                return Err(fail!(
                    "iptables-save output, line {n}: unexpected `{}'",
                    truncate(line)
                ));
            }
        }
        if open {
            return Err(fail!("iptables-save output: missing COMMIT at the end"));
        }
        Ok(Ruleset { tables })
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}

impl Table {
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

/// Split a rule as iptables-restore does: whitespace-separated, with
/// double-quoted strings (backslash escapes inside) as one word.
fn words(rule: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quoted = false;
    let mut chars = rule.chars();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                }
                '"' => quoted = false,
                _ => cur.push(c),
            }
        } else if c == '"' {
            quoted = true;
            in_word = true;
        } else if c.is_whitespace() {
            if in_word {
                out.push(std::mem::take(&mut cur));
                in_word = false;
            }
        } else {
            cur.push(c);
            in_word = true;
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// The chain a rule jumps or goes to (`-j X` / `-g X`), if any. A "-j" that
/// is the value of `--comment` is not a target.
pub fn rule_target(rule: &str) -> Option<String> {
    let w = words(rule);
    let mut i = 0;
    while i < w.len() {
        if (w[i] == "-j" || w[i] == "-g") && !(i > 0 && w[i - 1] == "--comment") {
            return w.get(i + 1).cloned();
        }
        i += 1;
    }
    None
}

/// The policy of filter FORWARD ("ACCEPT", "DROP"), when the table is there.
pub fn forward_policy(rules: &Ruleset) -> Option<String> {
    rules.table("filter")?.chain("FORWARD")?.policy.clone()
}

// ---------------------------------------------------------------------------
// What a network needs.

/// Both families' current rulesets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub v4: Ruleset,
    /// Empty when ip6tables is unavailable (then nothing IPv6 is planned to
    /// be removed; an IPv6 network's setup still needs ip6tables).
    pub v6: Ruleset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

/// The chains and jumps a network wants in one table.
#[derive(Debug, Default)]
struct TableWant {
    /// Own chains, each with its rules (the text after "-A CHAIN ").
    chains: Vec<(String, Vec<String>)>,
    /// Full lines adding the jumps to them ("-I INPUT 1 ...", "-A VNET-FWX ...").
    jumps: Vec<String>,
    /// (parent chain, target) for each jump, for `present`.
    links: Vec<(String, String)>,
}

impl TableWant {
    fn chain(&mut self, name: String, rules: Vec<String>) {
        self.chains.push((name, rules));
    }

    fn jump(&mut self, parent: &str, builtin: bool, cond: &str, target: &str) {
        let cond = if cond.is_empty() {
            String::new()
        } else {
            format!("{cond} ")
        };
        let line = if builtin {
            format!("-I {parent} 1 {cond}-j {target}")
        } else {
            format!("-A {parent} {cond}-j {target}")
        };
        self.jumps.push(line);
        self.links.push((parent.to_string(), target.to_string()));
    }
}

#[derive(Debug, Default)]
struct FamilyWant {
    filter: TableWant,
    nat: TableWant,
}

impl FamilyWant {
    fn table(&self, name: &str) -> Option<&TableWant> {
        match name {
            "filter" => Some(&self.filter),
            "nat" => Some(&self.nat),
            _ => None,
        }
    }
}

fn port_match(a: u16, b: u16) -> String {
    if a == b {
        a.to_string()
    } else {
        format!("{a}:{b}")
    }
}

/// `--to-destination` of a forward: "IP:PORT", "[IP6]:PORT", and for a range
/// "IP:P-Q/BASE" so that host port BASE+k goes to P+k (xt_DNAT revision 2).
fn dnat_destination(f: &Forward) -> String {
    let ip = match f.to_ip {
        std::net::IpAddr::V4(a) => a.to_string(),
        std::net::IpAddr::V6(a) => format!("[{a}]"),
    };
    if f.host_ports.0 == f.host_ports.1 {
        format!("{ip}:{}", f.to_port)
    } else {
        format!("{ip}:{}-{}/{}", f.to_port, f.to_port_end(), f.host_ports.0)
    }
}

fn proto_match(p: Proto) -> String {
    format!("-p {p} -m {p}")
}

/// The rules network `def` needs in one family; None when it needs none.
fn wanted(def: &Definition, fam: Family) -> Option<FamilyWant> {
    if def.mode == Mode::Bridged {
        return None;
    }
    let subnet = match fam {
        Family::V4 => def.subnet()?.to_string(),
        Family::V6 => def.ipv6?.subnet().to_string(),
    };
    let br = def.name.as_str();
    let c = |s: &str| chain_name(br, s);
    let reject = match fam {
        Family::V4 => "REJECT --reject-with icmp-port-unreachable",
        Family::V6 => "REJECT --reject-with icmp6-port-unreachable",
    };
    let (dhcp_server, dhcp_client) = match fam {
        Family::V4 => (67, 68),
        Family::V6 => (547, 546),
    };
    let dhcp = match fam {
        Family::V4 => def.dhcp.is_some(),
        Family::V6 => def.dhcp6_range().is_some(),
    };
    let forwards: Vec<&Forward> = def
        .forwards
        .iter()
        .filter(|f| f.is_ipv6() == (fam == Family::V6))
        .collect();
    let masquerade = def.mode == Mode::Nat && (fam == Family::V4 || def.ipv6_nat);
    // Into the subnet: anything (routed), replies and forwards only (nat), nothing (isolated).
    let open_inbound = def.mode == Mode::Routed || (def.mode == Mode::Nat && !masquerade);

    let mut w = FamilyWant::default();

    // ---- filter: to and from the host.
    let mut input = Vec::new();
    let mut output = Vec::new();
    if def.dns {
        for p in [Proto::Udp, Proto::Tcp] {
            input.push(format!("-i {br} {} --dport 53 -j ACCEPT", proto_match(p)));
            output.push(format!("-o {br} {} --sport 53 -j ACCEPT", proto_match(p)));
        }
    }
    if dhcp {
        input.push(format!(
            "-i {br} -p udp -m udp --dport {dhcp_server} -j ACCEPT"
        ));
        output.push(format!(
            "-o {br} -p udp -m udp --dport {dhcp_client} -j ACCEPT"
        ));
    }
    if def.mode == Mode::Isolated {
        // Nothing beyond DHCP and DNS on the bridge reaches the host either
        // (IPv6 neighbour discovery and RA/RS must, or nothing works).
        // ICMP (ping to the gateway, errors) and, for IPv6, neighbour
        // discovery and RA/RS, or nothing works.
        let icmp = if fam == Family::V6 {
            "ipv6-icmp"
        } else {
            "icmp"
        };
        input.push(format!("-i {br} -p {icmp} -j ACCEPT"));
        // Replies to connections the host itself opened to a guest.
        input.push(format!(
            "-i {br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
        ));
        input.push(format!("-i {br} -j {reject}"));
    }
    w.filter.chain(c("IN"), input);
    w.filter.chain(c("OUT"), output);

    // ---- filter: forwarding.
    w.filter
        .chain(c("FWX"), vec![format!("-i {br} -o {br} -j ACCEPT")]);
    let mut fwi = Vec::new();
    // Isolation between networks, whatever their modes: nothing forwarded from
    // another network's bridge enters this one (checked before any accept,
    // and VNET-FWI comes before every network's VNET-FWO in FORWARD).
    for peer in def.peers.iter().filter(|p| *p != br) {
        fwi.push(format!("-i {peer} -o {br} -j {reject}"));
    }
    if open_inbound {
        fwi.push(format!("-o {br} -d {subnet} -j ACCEPT"));
    } else if def.mode == Mode::Nat {
        fwi.push(format!(
            "-o {br} -d {subnet} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
        ));
        for f in &forwards {
            fwi.push(format!(
                "-o {br} -d {} {} --dport {} -m conntrack --ctstate DNAT -j ACCEPT",
                f.to_ip,
                proto_match(f.proto),
                port_match(f.to_port, f.to_port_end())
            ));
        }
    }
    fwi.push(format!("-o {br} -j {reject}"));
    w.filter.chain(c("FWI"), fwi);
    let mut fwo = Vec::new();
    if def.mode != Mode::Isolated {
        fwo.push(format!("-i {br} -s {subnet} -j ACCEPT"));
    }
    fwo.push(format!("-i {br} -j {reject}"));
    w.filter.chain(c("FWO"), fwo);

    w.filter.jump("INPUT", true, &format!("-i {br}"), &c("IN"));
    w.filter
        .jump("OUTPUT", true, &format!("-o {br}"), &c("OUT"));
    w.filter
        .jump("VNET-FWX", false, &format!("-i {br} -o {br}"), &c("FWX"));
    w.filter
        .jump("VNET-FWI", false, &format!("-o {br}"), &c("FWI"));
    w.filter
        .jump("VNET-FWO", false, &format!("-i {br}"), &c("FWO"));

    // ---- nat: masquerading and hairpin.
    let mut prt = Vec::new();
    for f in &forwards {
        // A guest reaching a forward through the host's address: make the
        // reply come back through the host too.
        prt.push(format!(
            "-s {subnet} -d {} {} --dport {} -m conntrack --ctstate DNAT -j MASQUERADE",
            f.to_ip,
            proto_match(f.proto),
            port_match(f.to_port, f.to_port_end())
        ));
    }
    if masquerade {
        let out = match &def.uplink {
            Some(u) => format!(" -o {u}"),
            None => String::new(),
        };
        match fam {
            Family::V4 => {
                prt.push(format!("-s {subnet} -d 224.0.0.0/24 -j RETURN"));
                prt.push(format!("-s {subnet} -d 255.255.255.255/32 -j RETURN"));
            }
            Family::V6 => prt.push(format!("-s {subnet} -d ff00::/8 -j RETURN")),
        }
        prt.push(format!(
            "-s {subnet} ! -d {subnet}{out} -p tcp -j MASQUERADE --to-ports 1024-65535"
        ));
        prt.push(format!(
            "-s {subnet} ! -d {subnet}{out} -p udp -j MASQUERADE --to-ports 1024-65535"
        ));
        prt.push(format!("-s {subnet} ! -d {subnet}{out} -j MASQUERADE"));
    }
    if !prt.is_empty() {
        w.nat.chain(c("PRT"), prt);
        w.nat.jump("POSTROUTING", true, "", &c("PRT"));
    }

    // ---- nat: port forwards.
    if !forwards.is_empty() {
        let mut dnat = Vec::new();
        for f in &forwards {
            let dst = match f.host_address {
                Some(a) => format!("-d {a}"),
                None => "-m addrtype --dst-type LOCAL".to_string(),
            };
            dnat.push(format!(
                "{} --dport {} {dst} -j DNAT --to-destination {}",
                proto_match(f.proto),
                port_match(f.host_ports.0, f.host_ports.1),
                dnat_destination(f)
            ));
        }
        w.nat.chain(c("DNAT"), dnat);
        w.nat.jump("PREROUTING", true, "", &c("DNAT"));
        // Connections from the host to its own addresses, but not to
        // loopback ones (DNAT from 127.0.0.1 would need route_localnet).
        let lo = match fam {
            Family::V4 => "127.0.0.0/8",
            Family::V6 => "::1/128",
        };
        w.nat.jump(
            "OUTPUT",
            true,
            &format!("! -d {lo} -m addrtype --dst-type LOCAL"),
            &c("DNAT"),
        );
    }
    Some(w)
}

// ---------------------------------------------------------------------------
// Planning against the current state.

fn own_chain_names(net: &str, table: &str) -> Vec<String> {
    OWN_CHAINS
        .iter()
        .filter(|(t, _)| *t == table)
        .map(|(_, s)| chain_name(net, s))
        .collect()
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

    let mut decl = Vec::new();
    let mut body = Vec::new();
    // (chain, rule) deleted so far, to know what the shared chains keep.
    let mut removed: Vec<(&str, &str)> = Vec::new();

    // Every jump to one of our chains, from anywhere but our own chains
    // (those are flushed or deleted whole).
    for chain in &cur.chains {
        if own.contains(&chain.name) {
            continue;
        }
        for rule in &chain.rules {
            if rule_target(rule).is_some_and(|t| own.contains(&t)) {
                body.push(format!("-D {} {rule}", chain.name));
                removed.push((&chain.name, rule));
            }
        }
    }
    // Our chains that exist but are no longer wanted.
    for name in &own {
        if cur.chain(name).is_some() && !wanted_chains.contains(&name) {
            body.push(format!("-F {name}"));
            body.push(format!("-X {name}"));
        }
    }

    if table == "filter" {
        let uses_shared = !wanted_chains.is_empty();
        if uses_shared {
            for s in SHARED_CHAINS {
                if cur.chain(s).is_none() {
                    decl.push(format!(":{s} - [0:0]"));
                }
            }
            // FORWARD must jump to each shared chain exactly once, in order;
            // anything else is repaired by re-inserting all three on top.
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
                    .all(|((_, t), s)| t == s);
            if !in_order {
                for (r, _) in &to_shared {
                    body.push(format!("-D FORWARD {r}"));
                }
                for s in SHARED_CHAINS.iter().rev() {
                    body.push(format!("-I FORWARD 1 -j {s}"));
                }
            }
        } else {
            // Remove the shared chains when nothing else remains in them.
            let existing: Vec<&Chain> = SHARED_CHAINS.iter().filter_map(|s| cur.chain(s)).collect();
            let all_empty = existing
                .iter()
                .all(|c| c.rules.len() == removed.iter().filter(|(n, _)| *n == c.name).count());
            if !existing.is_empty() && all_empty {
                for chain in &cur.chains {
                    if SHARED_CHAINS.contains(&chain.name.as_str()) || own.contains(&chain.name) {
                        continue;
                    }
                    for rule in &chain.rules {
                        if rule_target(rule).is_some_and(|t| SHARED_CHAINS.contains(&t.as_str())) {
                            body.push(format!("-D {} {rule}", chain.name));
                        }
                    }
                }
                for c in existing {
                    body.push(format!("-X {}", c.name));
                }
            }
        }
    }

    if let Some(w) = want {
        for (name, rules) in &w.chains {
            decl.push(format!(":{name} - [0:0]"));
            for r in rules {
                body.push(format!("-A {name} {r}"));
            }
        }
        body.extend(w.jumps.iter().cloned());
    }

    if decl.is_empty() && body.is_empty() {
        return Vec::new();
    }
    let mut out = vec![format!("*{table}")];
    out.extend(decl);
    out.extend(body);
    out.push("COMMIT".to_string());
    out
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

fn plan(v4: Option<String>, v6: Option<String>) -> Plan {
    let mut steps = Vec::new();
    if let Some(text) = v4 {
        steps.push(Invocation {
            program: IPTABLES_RESTORE,
            args: RESTORE_ARGS,
            stdin: text,
        });
    }
    if let Some(text) = v6 {
        steps.push(Invocation {
            program: IP6TABLES_RESTORE,
            args: RESTORE_ARGS,
            stdin: text,
        });
    }
    Plan { steps }
}

/// The restore texts (IPv4, IPv6) that bring network `def` up to date.
pub fn setup_scripts(def: &Definition, current: &State) -> (Option<String>, Option<String>) {
    let w4 = wanted(def, Family::V4);
    let w6 = wanted(def, Family::V6);
    (
        family_script(&def.name, w4.as_ref(), &current.v4),
        family_script(&def.name, w6.as_ref(), &current.v6),
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
        for (parent, target) in &w.links {
            let linked = t.chain(parent).is_some_and(|p| {
                p.rules
                    .iter()
                    .any(|r| rule_target(r).as_deref() == Some(target.as_str()))
            });
            if !linked {
                return false;
            }
        }
        if table == "filter" {
            let fwd = t
                .chain("FORWARD")
                .map(|c| c.rules.as_slice())
                .unwrap_or(&[]);
            for s in SHARED_CHAINS {
                if !fwd.iter().any(|r| rule_target(r).as_deref() == Some(s)) {
                    return false;
                }
            }
        }
    }
    true
}

/// Whether every chain and jump `setup` creates for `def` is in place.
pub fn present(def: &Definition, current: &State) -> bool {
    let ok4 = wanted(def, Family::V4).is_none_or(|w| family_present(&w, &current.v4));
    let ok6 = wanted(def, Family::V6).is_none_or(|w| family_present(&w, &current.v6));
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

/// The iptables driver.
#[derive(Debug, Clone, Copy, Default)]
pub struct Iptables;

impl Firewall for Iptables {
    type State = State;

    fn read_commands(&self) -> Vec<Invocation> {
        vec![
            Invocation {
                program: IPTABLES_SAVE,
                args: &[],
                stdin: String::new(),
            },
            Invocation {
                program: IP6TABLES_SAVE,
                args: &[],
                stdin: String::new(),
            },
        ]
    }

    fn parse_state(&self, outputs: &[String]) -> Result<State> {
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

    fn setup(&self, def: &Definition, current: &State) -> Plan {
        let (v4, v6) = setup_scripts(def, current);
        plan(v4, v6)
    }

    fn teardown(&self, name: &str, current: &State) -> Plan {
        let (v4, v6) = teardown_scripts(name, current);
        plan(v4, v6)
    }

    fn present(&self, def: &Definition, current: &State) -> bool {
        present(def, current)
    }

    fn leftovers(&self, name: &str, current: &State) -> bool {
        leftovers(name, current)
    }

    fn forward_policy(&self, current: &State) -> Option<String> {
        forward_policy(&current.v4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::definition::parse;

    fn def(name: &str, text: &str) -> Definition {
        parse(text, "test.toml", name).unwrap()
    }

    /// A realistic iptables-save (1.8.9, nf_tables) dump: Docker installed,
    /// an SSH rule, a quoted comment.
    const DOCKER_HOST: &str = r#"# Generated by iptables-save v1.8.9 (nf_tables) on Sat Nov 23 10:00:00 2024
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A INPUT -p tcp -m tcp --dport 22 -m comment --comment "ssh from \"anywhere\" -j VNET-x-IN" -j ACCEPT
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -j RETURN
COMMIT
# Completed on Sat Nov 23 10:00:00 2024
# Generated by iptables-save v1.8.9 (nf_tables) on Sat Nov 23 10:00:00 2024
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
COMMIT
# Completed on Sat Nov 23 10:00:00 2024
"#;

    /// Print a ruleset back in iptables-save's layout (without comments).
    fn save(rs: &Ruleset) -> String {
        let mut out = String::new();
        for t in &rs.tables {
            out.push_str(&format!("*{}\n", t.name));
            for c in &t.chains {
                out.push_str(&format!(
                    ":{} {} [0:0]\n",
                    c.name,
                    c.policy.as_deref().unwrap_or("-")
                ));
            }
            for c in &t.chains {
                for r in &c.rules {
                    out.push_str(&format!("-A {} {r}\n", c.name));
                }
            }
            out.push_str("COMMIT\n");
        }
        out
    }

    /// A model of `iptables-restore --noflush` good enough to check our
    /// scripts: it panics on anything the real one would refuse (deleting a
    /// rule that is not there, a chain that is referenced or not empty,
    /// appending to a chain that does not exist).
    fn restore(rs: &mut Ruleset, script: &str) {
        let mut cur: Option<usize> = None;
        for line in script.lines() {
            if let Some(name) = line.strip_prefix('*') {
                let i = match rs.tables.iter().position(|t| t.name == name) {
                    Some(i) => i,
                    None => {
                        let builtins: &[&str] = match name {
                            "filter" => &["INPUT", "FORWARD", "OUTPUT"],
                            _ => &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
                        };
                        rs.tables.push(Table {
                            name: name.to_string(),
                            chains: builtins
                                .iter()
                                .map(|b| Chain {
                                    name: b.to_string(),
                                    policy: Some("ACCEPT".into()),
                                    rules: vec![],
                                })
                                .collect(),
                        });
                        rs.tables.len() - 1
                    }
                };
                cur = Some(i);
                continue;
            }
            let t = &mut rs.tables[cur.expect("line outside a table")];
            if line == "COMMIT" {
                cur = None;
            } else if let Some(decl) = line.strip_prefix(':') {
                let (name, policy) = decl.split_once(' ').unwrap();
                assert!(policy.starts_with("- "), "built-in chain declared: {line}");
                match t.chains.iter_mut().find(|c| c.name == name) {
                    Some(c) => c.rules.clear(),
                    None => t.chains.push(Chain {
                        name: name.into(),
                        policy: None,
                        rules: vec![],
                    }),
                }
            } else {
                let (cmd, rest) = line.split_at(3);
                let (chain, rule) = rest.split_once(' ').unwrap_or((rest, ""));
                let exists = |t: &Table, n: &str| t.chains.iter().any(|c| c.name == n);
                if let Some(target) = rule_target(rule) {
                    if target.starts_with("VNET") {
                        assert!(exists(t, &target), "jump to missing chain: {line}");
                    }
                }
                let refs = |t: &Table, n: &str| {
                    t.chains
                        .iter()
                        .flat_map(|c| c.rules.iter())
                        .any(|r| rule_target(r).as_deref() == Some(n))
                };
                match cmd {
                    "-A " => t
                        .chains
                        .iter_mut()
                        .find(|c| c.name == chain)
                        .unwrap_or_else(|| panic!("no chain: {line}"))
                        .rules
                        .push(rule.to_string()),
                    "-I " => {
                        let (pos, rule) = rule.split_once(' ').unwrap();
                        assert_eq!(pos, "1");
                        t.chains
                            .iter_mut()
                            .find(|c| c.name == chain)
                            .unwrap_or_else(|| panic!("no chain: {line}"))
                            .rules
                            .insert(0, rule.to_string());
                    }
                    "-D " => {
                        let c = t
                            .chains
                            .iter_mut()
                            .find(|c| c.name == chain)
                            .unwrap_or_else(|| panic!("no chain: {line}"));
                        let i = c
                            .rules
                            .iter()
                            .position(|r| r == rule)
                            .unwrap_or_else(|| panic!("no such rule: {line}"));
                        c.rules.remove(i);
                    }
                    "-F " => t
                        .chains
                        .iter_mut()
                        .find(|c| c.name == chain)
                        .unwrap_or_else(|| panic!("no chain: {line}"))
                        .rules
                        .clear(),
                    "-X " => {
                        assert!(!refs(t, chain), "deleting a referenced chain: {line}");
                        let i = t.chains.iter().position(|c| c.name == chain).unwrap();
                        assert!(
                            t.chains[i].rules.is_empty(),
                            "deleting a non-empty chain: {line}"
                        );
                        t.chains.remove(i);
                    }
                    _ => panic!("unknown command: {line}"),
                }
            }
        }
        assert!(cur.is_none(), "missing COMMIT");
    }

    fn apply(state: &mut State, scripts: (Option<String>, Option<String>)) {
        if let Some(s) = scripts.0 {
            restore(&mut state.v4, &s);
        }
        if let Some(s) = scripts.1 {
            restore(&mut state.v6, &s);
        }
    }

    fn up(state: &mut State, d: &Definition) {
        let scripts = setup_scripts(d, state);
        apply(state, scripts);
    }

    fn down(state: &mut State, name: &str) {
        let scripts = teardown_scripts(name, state);
        apply(state, scripts);
    }

    fn docker_state() -> State {
        State {
            v4: Ruleset::parse(DOCKER_HOST).unwrap(),
            v6: Ruleset::default(),
        }
    }

    #[test]
    fn parses_a_real_dump() {
        let rs = Ruleset::parse(DOCKER_HOST).unwrap();
        assert_eq!(rs.tables.len(), 2);
        let f = rs.table("filter").unwrap();
        assert_eq!(
            f.chains.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            [
                "INPUT",
                "FORWARD",
                "OUTPUT",
                "DOCKER",
                "DOCKER-ISOLATION-STAGE-1",
                "DOCKER-ISOLATION-STAGE-2",
                "DOCKER-USER"
            ]
        );
        assert_eq!(f.chain("FORWARD").unwrap().policy.as_deref(), Some("DROP"));
        assert_eq!(f.chain("DOCKER").unwrap().policy, None);
        assert_eq!(f.chain("FORWARD").unwrap().rules.len(), 6);
        assert_eq!(
            f.chain("FORWARD").unwrap().rules[2],
            "-o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
        );
        let nat = rs.table("nat").unwrap();
        assert_eq!(
            nat.chain("POSTROUTING").unwrap().rules,
            ["-s 172.17.0.0/16 ! -o docker0 -j MASQUERADE"]
        );
        assert_eq!(forward_policy(&rs).as_deref(), Some("DROP"));
        assert_eq!(
            Iptables.forward_policy(&docker_state()).as_deref(),
            Some("DROP")
        );
        assert_eq!(forward_policy(&Ruleset::default()), None);
        // Our printer reproduces the dump (comments aside).
        let bare: String = DOCKER_HOST
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(save(&rs), bare);
        assert_eq!(Ruleset::parse("").unwrap(), Ruleset::default());
    }

    #[test]
    fn parse_errors() {
        for bad in [
            "-A INPUT -j ACCEPT\n",
            "*filter\n-A INPUT -j ACCEPT\nCOMMIT\n",
            "*filter\n:INPUT ACCEPT [0:0]\n",
            "*filter\n*nat\n",
            "*filter\n:INPUT\nCOMMIT\n",
            "*filter\n:INPUT ACCEPT [0:0]\n[0:0] -A INPUT -j ACCEPT\nCOMMIT\n",
        ] {
            assert!(Ruleset::parse(bad).is_err(), "{bad}");
        }
        let e = Iptables
            .parse_state(&["*filter\n".to_string(), String::new()])
            .unwrap_err();
        assert_eq!(
            e.message(),
            "/usr/sbin/iptables-save: iptables-save output: missing COMMIT at the end"
        );
        assert!(Iptables.parse_state(&[String::new()]).is_err());
    }

    #[test]
    fn targets() {
        assert_eq!(
            rule_target("-i br0 -j VNET-br0-IN").as_deref(),
            Some("VNET-br0-IN")
        );
        assert_eq!(
            rule_target("-i br0 -g VNET-br0-IN").as_deref(),
            Some("VNET-br0-IN")
        );
        assert_eq!(rule_target("-p tcp -m tcp --dport 22"), None);
        assert_eq!(
            rule_target(r#"-m comment --comment "x -j VNET-a-IN" -j ACCEPT"#).as_deref(),
            Some("ACCEPT")
        );
        assert_eq!(
            rule_target(r#"-m comment --comment "say \"-j VNET\"" -j DROP"#).as_deref(),
            Some("DROP")
        );
        assert_eq!(
            rule_target("-m comment --comment -j -j DROP").as_deref(),
            Some("DROP")
        );
        assert_eq!(rule_target("-j"), None);
    }

    #[test]
    fn nat_network_exact_text() {
        let d = def("vnet0", "address = \"10.200.0.1/24\"\n");
        let (v4, v6) = setup_scripts(&d, &State::default());
        assert_eq!(v6, None);
        assert_eq!(
            v4.unwrap(),
            "*filter
:VNET-FWX - [0:0]
:VNET-FWI - [0:0]
:VNET-FWO - [0:0]
:VNET-vnet0-IN - [0:0]
:VNET-vnet0-OUT - [0:0]
:VNET-vnet0-FWX - [0:0]
:VNET-vnet0-FWI - [0:0]
:VNET-vnet0-FWO - [0:0]
-I FORWARD 1 -j VNET-FWO
-I FORWARD 1 -j VNET-FWI
-I FORWARD 1 -j VNET-FWX
-A VNET-vnet0-IN -i vnet0 -p udp -m udp --dport 53 -j ACCEPT
-A VNET-vnet0-IN -i vnet0 -p tcp -m tcp --dport 53 -j ACCEPT
-A VNET-vnet0-IN -i vnet0 -p udp -m udp --dport 67 -j ACCEPT
-A VNET-vnet0-OUT -o vnet0 -p udp -m udp --sport 53 -j ACCEPT
-A VNET-vnet0-OUT -o vnet0 -p tcp -m tcp --sport 53 -j ACCEPT
-A VNET-vnet0-OUT -o vnet0 -p udp -m udp --dport 68 -j ACCEPT
-A VNET-vnet0-FWX -i vnet0 -o vnet0 -j ACCEPT
-A VNET-vnet0-FWI -o vnet0 -d 10.200.0.0/24 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A VNET-vnet0-FWI -o vnet0 -j REJECT --reject-with icmp-port-unreachable
-A VNET-vnet0-FWO -i vnet0 -s 10.200.0.0/24 -j ACCEPT
-A VNET-vnet0-FWO -i vnet0 -j REJECT --reject-with icmp-port-unreachable
-I INPUT 1 -i vnet0 -j VNET-vnet0-IN
-I OUTPUT 1 -o vnet0 -j VNET-vnet0-OUT
-A VNET-FWX -i vnet0 -o vnet0 -j VNET-vnet0-FWX
-A VNET-FWI -o vnet0 -j VNET-vnet0-FWI
-A VNET-FWO -i vnet0 -j VNET-vnet0-FWO
COMMIT
*nat
:VNET-vnet0-PRT - [0:0]
-A VNET-vnet0-PRT -s 10.200.0.0/24 -d 224.0.0.0/24 -j RETURN
-A VNET-vnet0-PRT -s 10.200.0.0/24 -d 255.255.255.255/32 -j RETURN
-A VNET-vnet0-PRT -s 10.200.0.0/24 ! -d 10.200.0.0/24 -p tcp -j MASQUERADE --to-ports 1024-65535
-A VNET-vnet0-PRT -s 10.200.0.0/24 ! -d 10.200.0.0/24 -p udp -j MASQUERADE --to-ports 1024-65535
-A VNET-vnet0-PRT -s 10.200.0.0/24 ! -d 10.200.0.0/24 -j MASQUERADE
-I POSTROUTING 1 -j VNET-vnet0-PRT
COMMIT
"
        );
    }

    #[test]
    fn nat_network_with_uplink_and_forwards_exact_text() {
        let d = def(
            "vnet0",
            r#"address = "10.200.0.1/24"
uplink = "eth0"
dns = false
[[forward]]
proto = "tcp"
port = 8080
to = "10.200.0.10:80"
host-address = "198.51.100.2"
[[forward]]
proto = "udp"
port = "8000-8010"
to = "10.200.0.11:9000"
"#,
        );
        let (v4, v6) = setup_scripts(&d, &State::default());
        assert_eq!(v6, None);
        assert_eq!(
            v4.unwrap(),
            "*filter
:VNET-FWX - [0:0]
:VNET-FWI - [0:0]
:VNET-FWO - [0:0]
:VNET-vnet0-IN - [0:0]
:VNET-vnet0-OUT - [0:0]
:VNET-vnet0-FWX - [0:0]
:VNET-vnet0-FWI - [0:0]
:VNET-vnet0-FWO - [0:0]
-I FORWARD 1 -j VNET-FWO
-I FORWARD 1 -j VNET-FWI
-I FORWARD 1 -j VNET-FWX
-A VNET-vnet0-IN -i vnet0 -p udp -m udp --dport 67 -j ACCEPT
-A VNET-vnet0-OUT -o vnet0 -p udp -m udp --dport 68 -j ACCEPT
-A VNET-vnet0-FWX -i vnet0 -o vnet0 -j ACCEPT
-A VNET-vnet0-FWI -o vnet0 -d 10.200.0.0/24 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A VNET-vnet0-FWI -o vnet0 -d 10.200.0.10 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT -j ACCEPT
-A VNET-vnet0-FWI -o vnet0 -d 10.200.0.11 -p udp -m udp --dport 9000:9010 -m conntrack --ctstate DNAT -j ACCEPT
-A VNET-vnet0-FWI -o vnet0 -j REJECT --reject-with icmp-port-unreachable
-A VNET-vnet0-FWO -i vnet0 -s 10.200.0.0/24 -j ACCEPT
-A VNET-vnet0-FWO -i vnet0 -j REJECT --reject-with icmp-port-unreachable
-I INPUT 1 -i vnet0 -j VNET-vnet0-IN
-I OUTPUT 1 -o vnet0 -j VNET-vnet0-OUT
-A VNET-FWX -i vnet0 -o vnet0 -j VNET-vnet0-FWX
-A VNET-FWI -o vnet0 -j VNET-vnet0-FWI
-A VNET-FWO -i vnet0 -j VNET-vnet0-FWO
COMMIT
*nat
:VNET-vnet0-PRT - [0:0]
:VNET-vnet0-DNAT - [0:0]
-A VNET-vnet0-PRT -s 10.200.0.0/24 -d 10.200.0.10 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT -j MASQUERADE
-A VNET-vnet0-PRT -s 10.200.0.0/24 -d 10.200.0.11 -p udp -m udp --dport 9000:9010 -m conntrack --ctstate DNAT -j MASQUERADE
-A VNET-vnet0-PRT -s 10.200.0.0/24 -d 224.0.0.0/24 -j RETURN
-A VNET-vnet0-PRT -s 10.200.0.0/24 -d 255.255.255.255/32 -j RETURN
-A VNET-vnet0-PRT -s 10.200.0.0/24 ! -d 10.200.0.0/24 -o eth0 -p tcp -j MASQUERADE --to-ports 1024-65535
-A VNET-vnet0-PRT -s 10.200.0.0/24 ! -d 10.200.0.0/24 -o eth0 -p udp -j MASQUERADE --to-ports 1024-65535
-A VNET-vnet0-PRT -s 10.200.0.0/24 ! -d 10.200.0.0/24 -o eth0 -j MASQUERADE
-A VNET-vnet0-DNAT -p tcp -m tcp --dport 8080 -d 198.51.100.2 -j DNAT --to-destination 10.200.0.10:80
-A VNET-vnet0-DNAT -p udp -m udp --dport 8000:8010 -m addrtype --dst-type LOCAL -j DNAT --to-destination 10.200.0.11:9000-9010/8000
-I POSTROUTING 1 -j VNET-vnet0-PRT
-I PREROUTING 1 -j VNET-vnet0-DNAT
-I OUTPUT 1 ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j VNET-vnet0-DNAT
COMMIT
"
        );
    }

    #[test]
    fn plan_runs_restore_per_family() {
        let d = def(
            "vnet0",
            "address = \"10.200.0.1/24\"\nipv6 = \"fd00::1/64\"\n",
        );
        let plan = Iptables.setup(&d, &State::default());
        assert_eq!(plan.steps.len(), 2);
        assert_eq!(plan.steps[0].program, "/usr/sbin/iptables-restore");
        assert_eq!(plan.steps[1].program, "/usr/sbin/ip6tables-restore");
        for s in &plan.steps {
            assert_eq!(s.args, ["--noflush", "--wait"]);
            assert!(s.stdin.starts_with("*filter\n") && s.stdin.ends_with("COMMIT\n"));
        }
        let reads = Iptables.read_commands();
        assert_eq!(
            reads.iter().map(|r| r.program).collect::<Vec<_>>(),
            ["/usr/sbin/iptables-save", "/usr/sbin/ip6tables-save"]
        );
        assert!(reads
            .iter()
            .all(|r| r.args.is_empty() && r.stdin.is_empty()));
        assert!(Iptables
            .teardown("vnet0", &State::default())
            .steps
            .is_empty());
    }

    #[test]
    fn setup_then_teardown_restores_the_ruleset() {
        let before = docker_state();
        let mut state = before.clone();
        let d = def(
            "vnet0",
            "address = \"10.200.0.1/24\"\n[[forward]]\nproto = \"tcp\"\nport = 80\nto = \"10.200.0.5:80\"\n",
        );
        assert!(!present(&d, &state));
        assert!(!leftovers("vnet0", &state));
        up(&mut state, &d);
        assert!(present(&d, &state));
        assert!(Iptables.present(&d, &state));
        assert!(leftovers("vnet0", &state));
        assert!(Iptables.leftovers("vnet0", &state));
        let f = state.v4.table("filter").unwrap();
        // Our shared jumps are on top, in order, above Docker's.
        assert_eq!(
            f.chain("FORWARD").unwrap().rules[..4],
            [
                "-j VNET-FWX",
                "-j VNET-FWI",
                "-j VNET-FWO",
                "-j DOCKER-USER"
            ]
        );
        assert_eq!(
            f.chain("INPUT").unwrap().rules[0],
            "-i vnet0 -j VNET-vnet0-IN"
        );
        // The policy was not touched.
        assert_eq!(forward_policy(&state.v4).as_deref(), Some("DROP"));

        down(&mut state, "vnet0");
        assert_eq!(save(&state.v4), save(&before.v4));
        assert!(!leftovers("vnet0", &state));
        // Nothing left to do.
        assert_eq!(teardown_scripts("vnet0", &state), (None, None));
    }

    #[test]
    fn setup_is_idempotent_and_repairs() {
        let d = def(
            "vnet0",
            "address = \"10.200.0.1/24\"\nipv6 = \"fd00::1/64\"\n",
        );
        let mut state = docker_state();
        up(&mut state, &d);
        let once = state.clone();

        // Again: same result, shared chains not redeclared, FORWARD untouched.
        let (v4, _) = setup_scripts(&d, &state);
        let v4 = v4.unwrap();
        assert!(!v4.contains(":VNET-FWX"), "{v4}");
        assert!(!v4.contains("FORWARD"), "{v4}");
        assert!(v4.contains("-D INPUT -i vnet0 -j VNET-vnet0-IN\n"));
        up(&mut state, &d);
        assert_eq!(save(&state.v4), save(&once.v4));
        assert_eq!(save(&state.v6), save(&once.v6));
    }

    #[test]
    fn setup_over_a_half_done_bring_up() {
        let d = def("vnet0", "address = \"10.200.0.1/24\"\n");
        // A bring-up killed after some rules went in, in iptables-save's
        // canonical form (which is not the text we write), and a duplicate jump.
        let half = r#"*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:VNET-FWI - [0:0]
:VNET-FWO - [0:0]
:VNET-FWX - [0:0]
:VNET-other-FWX - [0:0]
:VNET-vnet0-FWX - [0:0]
:VNET-vnet0-IN - [0:0]
-A INPUT -i vnet0 -j VNET-vnet0-IN
-A INPUT -i vnet0 -j VNET-vnet0-IN
-A FORWARD -j VNET-FWX
-A FORWARD -j VNET-FWI
-A FORWARD -j VNET-FWO
-A VNET-FWX -i other -o other -j VNET-other-FWX
-A VNET-FWX -i vnet0 -o vnet0 -j VNET-vnet0-FWX
-A VNET-vnet0-IN -i vnet0 -p udp -m udp --dport 53 -j ACCEPT
COMMIT
"#;
        let mut state = State {
            v4: Ruleset::parse(half).unwrap(),
            v6: Ruleset::default(),
        };
        let (v4, v6) = setup_scripts(&d, &state);
        assert_eq!(v6, None);
        let v4 = v4.unwrap();
        let lines: Vec<&str> = v4.lines().collect();
        assert_eq!(
            lines[..9],
            [
                "*filter",
                ":VNET-vnet0-IN - [0:0]",
                ":VNET-vnet0-OUT - [0:0]",
                ":VNET-vnet0-FWX - [0:0]",
                ":VNET-vnet0-FWI - [0:0]",
                ":VNET-vnet0-FWO - [0:0]",
                "-D INPUT -i vnet0 -j VNET-vnet0-IN",
                "-D INPUT -i vnet0 -j VNET-vnet0-IN",
                "-D VNET-FWX -i vnet0 -o vnet0 -j VNET-vnet0-FWX",
            ]
        );
        // The other network's jump stays; shared chains are not redeclared.
        assert!(!v4.contains("other"));
        assert!(!v4.contains(":VNET-FW"));
        apply(&mut state, (Some(v4), None));
        assert!(present(&d, &state));
        let f = state.v4.table("filter").unwrap();
        assert_eq!(
            f.chain("INPUT").unwrap().rules,
            ["-i vnet0 -j VNET-vnet0-IN"]
        );
        assert_eq!(
            f.chain("VNET-FWX").unwrap().rules,
            [
                "-i other -o other -j VNET-other-FWX",
                "-i vnet0 -o vnet0 -j VNET-vnet0-FWX"
            ]
        );
        assert_eq!(f.chain("VNET-vnet0-IN").unwrap().rules.len(), 3);
    }

    #[test]
    fn forward_jumps_are_repaired() {
        let d = def("vnet0", "address = \"10.200.0.1/24\"\n");
        // FWI's jump lost, and FWO's duplicated: all three are redone on top.
        let broken = r#"*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:VNET-FWI - [0:0]
:VNET-FWO - [0:0]
:VNET-FWX - [0:0]
-A FORWARD -j VNET-FWX
-A FORWARD -j VNET-FWO
-A FORWARD -i eth9 -j ACCEPT
-A FORWARD -j VNET-FWO
COMMIT
"#;
        let mut state = State {
            v4: Ruleset::parse(broken).unwrap(),
            v6: Ruleset::default(),
        };
        let v4 = setup_scripts(&d, &state).0.unwrap();
        assert!(v4.contains(
            "-D FORWARD -j VNET-FWX\n-D FORWARD -j VNET-FWO\n-D FORWARD -j VNET-FWO\n-I FORWARD 1 -j VNET-FWO\n-I FORWARD 1 -j VNET-FWI\n-I FORWARD 1 -j VNET-FWX\n"
        ), "{v4}");
        apply(&mut state, (Some(v4), None));
        assert_eq!(
            state
                .v4
                .table("filter")
                .unwrap()
                .chain("FORWARD")
                .unwrap()
                .rules,
            [
                "-j VNET-FWX",
                "-j VNET-FWI",
                "-j VNET-FWO",
                "-i eth9 -j ACCEPT"
            ]
        );
        // Docker inserting its jump above ours later is fine: nothing to repair.
        let mut docker_first = state.clone();
        docker_first.v4.tables[0].chains[1]
            .rules
            .insert(0, "-j DOCKER-USER".into());
        assert!(!setup_scripts(&d, &docker_first)
            .0
            .unwrap()
            .contains("FORWARD"));
        assert!(present(&d, &docker_first));
    }

    #[test]
    fn two_networks_share_and_the_last_one_cleans_up() {
        let before = docker_state();
        let mut state = before.clone();
        let a = def("vnet-a", "address = \"10.200.0.1/24\"\n");
        let b = def("vnet-b", "mode = \"routed\"\naddress = \"10.201.0.1/24\"\n");
        up(&mut state, &a);
        let (v4b, _) = setup_scripts(&b, &state);
        let v4b = v4b.unwrap();
        assert!(!v4b.contains(":VNET-FW"), "{v4b}");
        assert!(!v4b.contains("vnet-a"), "{v4b}");
        apply(&mut state, (Some(v4b), None));
        assert!(present(&a, &state) && present(&b, &state));
        let f = state.v4.table("filter").unwrap();
        assert_eq!(
            f.chain("VNET-FWI").unwrap().rules,
            [
                "-o vnet-a -j VNET-vnet-a-FWI",
                "-o vnet-b -j VNET-vnet-b-FWI"
            ]
        );

        // Tear down a: the shared chains stay for b.
        let (v4, v6) = teardown_scripts("vnet-a", &state);
        assert_eq!(v6, None);
        let v4 = v4.unwrap();
        assert!(!v4.contains("vnet-b"), "{v4}");
        assert!(!v4.contains("-X VNET-FW"), "{v4}");
        assert!(!v4.contains("FORWARD"), "{v4}");
        apply(&mut state, (Some(v4), None));
        assert!(present(&b, &state));
        assert!(!leftovers("vnet-a", &state));
        assert!(state
            .v4
            .table("filter")
            .unwrap()
            .chain("VNET-FWX")
            .is_some());

        // Tear down b, the last: the shared chains go, and the ruleset is as before.
        let v4 = teardown_scripts("vnet-b", &state).0.unwrap();
        assert!(v4.ends_with(
            "-D FORWARD -j VNET-FWX\n-D FORWARD -j VNET-FWI\n-D FORWARD -j VNET-FWO\n-X VNET-FWX\n-X VNET-FWI\n-X VNET-FWO\nCOMMIT\n"
        ), "{v4}");
        assert!(
            !v4.contains("*nat"),
            "a routed network without forwards has no nat chains"
        );
        apply(&mut state, (Some(v4), None));
        assert_eq!(save(&state.v4), save(&before.v4));
    }

    #[test]
    fn teardown_exact_text() {
        let mut state = State::default();
        let d = def("vnet0", "address = \"10.200.0.1/24\"\n");
        up(&mut state, &d);
        // What iptables-save would print after that (canonical order of options).
        let (v4, v6) = teardown_scripts("vnet0", &state);
        assert_eq!(v6, None);
        assert_eq!(
            v4.unwrap(),
            "*filter
-D INPUT -i vnet0 -j VNET-vnet0-IN
-D OUTPUT -o vnet0 -j VNET-vnet0-OUT
-D VNET-FWX -i vnet0 -o vnet0 -j VNET-vnet0-FWX
-D VNET-FWI -o vnet0 -j VNET-vnet0-FWI
-D VNET-FWO -i vnet0 -j VNET-vnet0-FWO
-F VNET-vnet0-IN
-X VNET-vnet0-IN
-F VNET-vnet0-OUT
-X VNET-vnet0-OUT
-F VNET-vnet0-FWI
-X VNET-vnet0-FWI
-F VNET-vnet0-FWO
-X VNET-vnet0-FWO
-F VNET-vnet0-FWX
-X VNET-vnet0-FWX
-D FORWARD -j VNET-FWX
-D FORWARD -j VNET-FWI
-D FORWARD -j VNET-FWO
-X VNET-FWX
-X VNET-FWI
-X VNET-FWO
COMMIT
*nat
-D POSTROUTING -j VNET-vnet0-PRT
-F VNET-vnet0-PRT
-X VNET-vnet0-PRT
COMMIT
"
        );
    }

    #[test]
    fn shared_chains_with_foreign_rules_are_kept() {
        let mut state = State::default();
        let d = def("vnet0", "address = \"10.200.0.1/24\"\n");
        up(&mut state, &d);
        // Someone added a rule of their own to a shared chain.
        restore(
            &mut state.v4,
            "*filter\n-A VNET-FWO -i eth7 -j ACCEPT\nCOMMIT\n",
        );
        let v4 = teardown_scripts("vnet0", &state).0.unwrap();
        assert!(!v4.contains("-X VNET-FW"));
        assert!(!v4.contains("FORWARD"));
        apply(&mut state, (Some(v4), None));
        assert!(!leftovers("vnet0", &state));
    }

    #[test]
    fn dropped_forwards_remove_the_dnat_chain() {
        let with = def(
            "vnet0",
            "address = \"10.200.0.1/24\"\n[[forward]]\nproto = \"tcp\"\nport = 80\nto = \"10.200.0.5:80\"\n",
        );
        let without = def("vnet0", "address = \"10.200.0.1/24\"\n");
        let mut state = State::default();
        up(&mut state, &with);
        let v4 = setup_scripts(&without, &state).0.unwrap();
        assert!(v4.contains(
            "\n-D PREROUTING -j VNET-vnet0-DNAT\n-D OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j VNET-vnet0-DNAT\n-D POSTROUTING -j VNET-vnet0-PRT\n-F VNET-vnet0-DNAT\n-X VNET-vnet0-DNAT\n-A VNET-vnet0-PRT "
        ), "{v4}");
        apply(&mut state, (Some(v4), None));
        assert!(state
            .v4
            .table("nat")
            .unwrap()
            .chain("VNET-vnet0-DNAT")
            .is_none());
        assert!(present(&without, &state));
    }

    #[test]
    fn isolated_network() {
        let d = def("iso0", "mode = \"isolated\"\naddress = \"10.9.0.1/24\"\n");
        let v4 = setup_scripts(&d, &State::default()).0.unwrap();
        assert!(v4.contains(
            "-A VNET-iso0-FWX -i iso0 -o iso0 -j ACCEPT\n-A VNET-iso0-FWI -o iso0 -j REJECT --reject-with icmp-port-unreachable\n-A VNET-iso0-FWO -i iso0 -j REJECT --reject-with icmp-port-unreachable\n"
        ), "{v4}");
        assert!(v4.contains("-A VNET-iso0-IN -i iso0 -p udp -m udp --dport 67 -j ACCEPT\n"));
        assert!(!v4.contains("*nat"));
        assert!(!v4.contains("MASQUERADE"));
    }

    #[test]
    fn routed_network() {
        let d = def(
            "rt0",
            "mode = \"routed\"\naddress = \"10.9.0.1/24\"\n[[forward]]\nproto = \"tcp\"\nport = 80\nto = \"10.9.0.5:8080\"\n",
        );
        let v4 = setup_scripts(&d, &State::default()).0.unwrap();
        assert!(v4.contains(
            "-A VNET-rt0-FWI -o rt0 -d 10.9.0.0/24 -j ACCEPT\n-A VNET-rt0-FWI -o rt0 -j REJECT --reject-with icmp-port-unreachable\n-A VNET-rt0-FWO -i rt0 -s 10.9.0.0/24 -j ACCEPT\n"
        ), "{v4}");
        assert!(!v4.contains("ctstate DNAT -j ACCEPT"));
        assert!(v4.contains(
            "*nat\n:VNET-rt0-PRT - [0:0]\n:VNET-rt0-DNAT - [0:0]\n-A VNET-rt0-PRT -s 10.9.0.0/24 -d 10.9.0.5 -p tcp -m tcp --dport 8080 -m conntrack --ctstate DNAT -j MASQUERADE\n-A VNET-rt0-DNAT -p tcp -m tcp --dport 80 -m addrtype --dst-type LOCAL -j DNAT --to-destination 10.9.0.5:8080\n"
        ), "{v4}");
        // Only the hairpin masquerades.
        assert_eq!(v4.matches("MASQUERADE").count(), 1);
        // Without forwards a routed network has no nat rules at all.
        let d = def("rt0", "mode = \"routed\"\naddress = \"10.9.0.1/24\"\n");
        assert!(!setup_scripts(&d, &State::default())
            .0
            .unwrap()
            .contains("*nat"));
    }

    #[test]
    fn bridged_network_has_no_rules_and_cleans_leftovers() {
        let d = def("br1", "mode = \"bridged\"\nuplink = \"eth1\"\n");
        assert_eq!(setup_scripts(&d, &State::default()), (None, None));
        assert!(Iptables.setup(&d, &State::default()).steps.is_empty());
        assert!(present(&d, &State::default()));
        // The same bridge used to be a nat network: its rules go.
        let mut state = State::default();
        apply(
            &mut state,
            setup_scripts(
                &def("br1", "address = \"10.9.0.1/24\"\n"),
                &State::default(),
            ),
        );
        up(&mut state, &d);
        assert_eq!(save(&state.v4), "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n");
    }

    #[test]
    fn ipv6_rules() {
        let d = def(
            "vnet6",
            r#"address = "10.200.0.1/24"
ipv6 = "fd42:1:2:3::1/64"
[[forward]]
proto = "tcp"
port = 2222
to = "[fd42:1:2:3::10]:22"
"#,
        );
        let (v4, v6) = setup_scripts(&d, &State::default());
        let v4 = v4.unwrap();
        assert!(!v4.contains("VNET-vnet6-DNAT"), "{v4}");
        assert!(!v4.contains("fd42"));
        assert_eq!(
            v6.unwrap(),
            "*filter
:VNET-FWX - [0:0]
:VNET-FWI - [0:0]
:VNET-FWO - [0:0]
:VNET-vnet6-IN - [0:0]
:VNET-vnet6-OUT - [0:0]
:VNET-vnet6-FWX - [0:0]
:VNET-vnet6-FWI - [0:0]
:VNET-vnet6-FWO - [0:0]
-I FORWARD 1 -j VNET-FWO
-I FORWARD 1 -j VNET-FWI
-I FORWARD 1 -j VNET-FWX
-A VNET-vnet6-IN -i vnet6 -p udp -m udp --dport 53 -j ACCEPT
-A VNET-vnet6-IN -i vnet6 -p tcp -m tcp --dport 53 -j ACCEPT
-A VNET-vnet6-IN -i vnet6 -p udp -m udp --dport 547 -j ACCEPT
-A VNET-vnet6-OUT -o vnet6 -p udp -m udp --sport 53 -j ACCEPT
-A VNET-vnet6-OUT -o vnet6 -p tcp -m tcp --sport 53 -j ACCEPT
-A VNET-vnet6-OUT -o vnet6 -p udp -m udp --dport 546 -j ACCEPT
-A VNET-vnet6-FWX -i vnet6 -o vnet6 -j ACCEPT
-A VNET-vnet6-FWI -o vnet6 -d fd42:1:2:3::/64 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A VNET-vnet6-FWI -o vnet6 -d fd42:1:2:3::10 -p tcp -m tcp --dport 22 -m conntrack --ctstate DNAT -j ACCEPT
-A VNET-vnet6-FWI -o vnet6 -j REJECT --reject-with icmp6-port-unreachable
-A VNET-vnet6-FWO -i vnet6 -s fd42:1:2:3::/64 -j ACCEPT
-A VNET-vnet6-FWO -i vnet6 -j REJECT --reject-with icmp6-port-unreachable
-I INPUT 1 -i vnet6 -j VNET-vnet6-IN
-I OUTPUT 1 -o vnet6 -j VNET-vnet6-OUT
-A VNET-FWX -i vnet6 -o vnet6 -j VNET-vnet6-FWX
-A VNET-FWI -o vnet6 -j VNET-vnet6-FWI
-A VNET-FWO -i vnet6 -j VNET-vnet6-FWO
COMMIT
*nat
:VNET-vnet6-PRT - [0:0]
:VNET-vnet6-DNAT - [0:0]
-A VNET-vnet6-PRT -s fd42:1:2:3::/64 -d fd42:1:2:3::10 -p tcp -m tcp --dport 22 -m conntrack --ctstate DNAT -j MASQUERADE
-A VNET-vnet6-PRT -s fd42:1:2:3::/64 -d ff00::/8 -j RETURN
-A VNET-vnet6-PRT -s fd42:1:2:3::/64 ! -d fd42:1:2:3::/64 -p tcp -j MASQUERADE --to-ports 1024-65535
-A VNET-vnet6-PRT -s fd42:1:2:3::/64 ! -d fd42:1:2:3::/64 -p udp -j MASQUERADE --to-ports 1024-65535
-A VNET-vnet6-PRT -s fd42:1:2:3::/64 ! -d fd42:1:2:3::/64 -j MASQUERADE
-A VNET-vnet6-DNAT -p tcp -m tcp --dport 2222 -m addrtype --dst-type LOCAL -j DNAT --to-destination [fd42:1:2:3::10]:22
-I POSTROUTING 1 -j VNET-vnet6-PRT
-I PREROUTING 1 -j VNET-vnet6-DNAT
-I OUTPUT 1 ! -d ::1/128 -m addrtype --dst-type LOCAL -j VNET-vnet6-DNAT
COMMIT
"
        );

        // ipv6-nat = false: IPv6 is routed (open inbound, no masquerade).
        let d = def(
            "vnet6",
            "address = \"10.200.0.1/24\"\nipv6 = \"fd42::1/64\"\nipv6-nat = false\ndhcp = false\n",
        );
        let v6 = setup_scripts(&d, &State::default()).1.unwrap();
        assert!(v6.contains("-A VNET-vnet6-FWI -o vnet6 -d fd42::/64 -j ACCEPT\n"));
        assert!(!v6.contains("*nat"));
        assert!(!v6.contains("547"), "no DHCPv6 with dhcp = false");

        // IPv6 dropped from the definition: the v6 rules go on the next setup.
        let with = def(
            "vnet6",
            "address = \"10.200.0.1/24\"\nipv6 = \"fd42::1/64\"\n",
        );
        let without = def("vnet6", "address = \"10.200.0.1/24\"\n");
        let mut state = State::default();
        up(&mut state, &with);
        let (_, v6) = setup_scripts(&without, &state);
        apply(&mut state, (None, v6));
        assert!(!leftovers(
            "vnet6",
            &State {
                v4: Ruleset::default(),
                v6: state.v6.clone()
            }
        ));
        assert!(state
            .v6
            .table("filter")
            .unwrap()
            .chain("VNET-FWX")
            .is_none());
    }

    #[test]
    fn chain_names_fit() {
        let longest = "abcdefghijklmno";
        for (_, s) in OWN_CHAINS {
            assert!(chain_name(longest, s).len() <= 28);
        }
    }
}
