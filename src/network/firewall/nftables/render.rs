//! The neutral rules of a network (rules.rs) in nft's language: the
//! network's own chains in our table, each with its rules as `add rule`
//! text, and the accepts it needs in the host's iptables-nft `filter` table
//! when that table would drop its traffic (coexistence).
//!
//! Hook -> chain `vnet-BR-SUFFIX` of table `ip vnet_helper` (`ip6` for IPv6),
//! jumped from our base chains (see plan.rs):
//! `ToHost` -> `in`, `FromHost` -> `out`, `GuestToGuest` -> `fwx`,
//! `IntoBridge` -> `fwi`, `OutOfBridge` -> `fwo` (made even when empty),
//! `Postrouting` -> `prt`, `PortForward` -> `dnat` (only with rules).
//!
//! Isolation between networks: instead of one reject per peer fixed at
//! bring-up, `fwi` starts with `iifname @bridges oifname "BR" reject`, the
//! set holding every managed bridge (each setup adds itself and its peers),
//! so a network defined after this one came up is refused too.

use std::net::IpAddr;

use crate::network::definition::Proto;
use crate::network::firewall::rules::{Action, Ct, Family, FamilyRules, Hook, Match, Port, Rule};

/// Our table's name, in each family.
pub const TABLE: &str = "vnet_helper";
/// The set of managed bridges.
pub const BRIDGES: &str = "bridges";

/// Every chain a network may own in our table, in hook order.
pub const SUFFIXES: [&str; 7] = ["in", "out", "fwx", "fwi", "fwo", "prt", "dnat"];

/// "ip" or "ip6".
pub fn family_name(f: Family) -> &'static str {
    match f {
        Family::V4 => "ip",
        Family::V6 => "ip6",
    }
}

/// "vnet-BR-SUFFIX" (a letter first: nft names may not start with a digit).
pub fn chain_name(net: &str, suffix: &str) -> String {
    format!("vnet-{net}-{suffix}")
}

/// What a network wants in one family's table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FamilyWant {
    /// Own chains (full names) with their rules, in hook order.
    pub chains: Vec<(String, Vec<String>)>,
    /// Bridges to put in the set: the network itself, then its peers.
    pub bridges: Vec<String>,
}

fn suffix(hook: Hook) -> (&'static str, bool) {
    match hook {
        Hook::ToHost => ("in", true),
        Hook::FromHost => ("out", true),
        Hook::GuestToGuest => ("fwx", true),
        Hook::IntoBridge => ("fwi", true),
        Hook::OutOfBridge => ("fwo", true),
        Hook::Postrouting => ("prt", false),
        Hook::PortForward => ("dnat", false),
    }
}

/// A per-peer reject (`-i PEER -o BR`), which the set replaces.
fn peer_reject(br: &str, r: &Rule) -> Option<String> {
    match (r.hook, r.matches.as_slice(), &r.action) {
        (Hook::IntoBridge, [Match::In(p), Match::Out(o)], Action::Reject) if o == br && p != br => {
            Some(p.clone())
        }
        _ => None,
    }
}

/// Network `br`'s rules of one family as chains.
pub fn family(br: &str, rules: &FamilyRules) -> FamilyWant {
    let mut w = FamilyWant {
        bridges: vec![br.to_string()],
        ..FamilyWant::default()
    };
    for hook in Hook::ALL {
        let (suffix, always) = suffix(hook);
        let mut text = Vec::new();
        if hook == Hook::IntoBridge {
            text.push(format!(
                "iifname @{BRIDGES} oifname \"{br}\" {}",
                reject(rules.family)
            ));
        }
        for r in rules.hook(hook) {
            match peer_reject(br, r) {
                Some(p) => w.bridges.push(p),
                None => text.push(rule(r, rules.family)),
            }
        }
        if text.is_empty() && !always {
            continue;
        }
        w.chains.push((chain_name(br, suffix), text));
    }
    w
}

/// One rule as the text after `add rule FAMILY TABLE CHAIN `.
pub fn rule(r: &Rule, fam: Family) -> String {
    let mut words: Vec<String> = r.matches.iter().map(|m| condition(m, fam)).collect();
    let proto = r.matches.iter().find_map(|m| match m {
        Match::Port(p, Port::Destination, _) => Some(*p),
        _ => None,
    });
    words.push(action(&r.action, fam, proto));
    words.join(" ")
}

fn addr_kw(fam: Family) -> &'static str {
    family_name(fam)
}

fn condition(m: &Match, fam: Family) -> String {
    let ip = addr_kw(fam);
    match m {
        Match::In(i) => format!("iifname \"{i}\""),
        Match::Out(o) => format!("oifname \"{o}\""),
        Match::Source(a) => format!("{ip} saddr {a}"),
        Match::Destination(a) => format!("{ip} daddr {a}"),
        Match::NotDestination(a) => format!("{ip} daddr != {a}"),
        Match::Proto(p) => format!("meta l4proto {p}"),
        Match::Port(p, dir, (a, b)) => {
            let dir = match dir {
                Port::Source => "sport",
                Port::Destination => "dport",
            };
            format!("{p} {dir} {}", ports(*a, *b))
        }
        Match::Icmp => match fam {
            Family::V4 => "meta l4proto icmp".to_string(),
            Family::V6 => "meta l4proto ipv6-icmp".to_string(),
        },
        Match::Conntrack(Ct::Reply) => "ct state established,related".to_string(),
        Match::Conntrack(Ct::Dnat) => "ct status dnat".to_string(),
        Match::LocalDestination => "fib daddr type local".to_string(),
    }
}

fn ports(a: u16, b: u16) -> String {
    if a == b {
        a.to_string()
    } else {
        format!("{a}-{b}")
    }
}

/// "port unreachable" of the family, as the iptables backend rejects.
pub fn reject(fam: Family) -> &'static str {
    match fam {
        Family::V4 => "reject with icmp type port-unreachable",
        Family::V6 => "reject with icmpv6 type port-unreachable",
    }
}

fn action(a: &Action, fam: Family, proto: Option<Proto>) -> String {
    match a {
        Action::Accept => "accept".to_string(),
        Action::Reject => reject(fam).to_string(),
        Action::Return => "return".to_string(),
        Action::Masquerade(None) => "masquerade".to_string(),
        Action::Masquerade(Some((a, b))) => format!("masquerade to :{a}-{b}"),
        Action::Dnat { to, ports, base } => dnat(*to, *ports, *base, proto),
    }
}

/// Destination NAT: one port; a range mapped onto itself (the port is
/// kept); or a shifted range, port by port through an anonymous map (host
/// port BASE+k to P+k, as iptables' `P-Q/BASE`).
fn dnat(to: IpAddr, ports: (u16, u16), base: u16, proto: Option<Proto>) -> String {
    let bracketed = match to {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    };
    if ports.0 == ports.1 {
        return format!("dnat to {bracketed}:{}", ports.0);
    }
    if ports.0 == base {
        return format!("dnat to {to}");
    }
    let p = proto.map(|p| p.to_string()).unwrap_or_else(|| "tcp".into());
    let kw = if to.is_ipv4() { "ip" } else { "ip6" };
    let pairs: Vec<String> = (ports.0..=ports.1)
        .map(|guest| format!("{} : {to} . {guest}", base + (guest - ports.0)))
        .collect();
    format!("dnat {kw} to {p} dport map {{ {} }}", pairs.join(", "))
}

/// The accepts network `br` needs in the host's iptables-nft `filter` table
/// on one hook ("INPUT", "FORWARD", "OUTPUT") so that a drop there does not
/// undo ours: every base chain on a hook must accept. Only matches that
/// iptables-nft can print back (no `ct`), so `iptables-save` keeps working.
/// Where our own table rejects everything of the bridge it does not accept
/// (forwarding; an isolated network's input), one accept of the bridge is
/// exact: the packet must still pass our table. Elsewhere (a nat network's
/// input: the host's own rules decide about ssh and the like), our accepts
/// one by one.
pub fn coexist(br: &str, rules: &FamilyRules, hook: &str) -> Vec<String> {
    let ours = |h: Hook| rules.hook(h).cloned().collect::<Vec<Rule>>();
    let ends_in_reject = |rs: &[Rule]| rs.last().is_some_and(|r| r.action == Action::Reject);
    match hook {
        "FORWARD" => vec![
            format!("iifname \"{br}\" accept"),
            format!("oifname \"{br}\" accept"),
        ],
        "INPUT" | "OUTPUT" => {
            let h = if hook == "INPUT" {
                Hook::ToHost
            } else {
                Hook::FromHost
            };
            let rs = ours(h);
            if ends_in_reject(&rs) {
                let dir = if hook == "INPUT" {
                    "iifname"
                } else {
                    "oifname"
                };
                return vec![format!("{dir} \"{br}\" accept")];
            }
            rs.iter()
                .filter(|r| r.action == Action::Accept)
                .filter(|r| !r.matches.iter().any(|m| matches!(m, Match::Conntrack(_))))
                .map(|r| rule(r, rules.family))
                .collect()
        }
        _ => Vec::new(),
    }
}
