//! The neutral rules of a network (rules.rs) in iptables terms: per table,
//! the network's own chains with their rules as iptables-restore text, and
//! the jumps that lead to them.
//!
//! Hook -> chain (jumped from):
//! - `ToHost` -> filter `VNET-BR-IN` (INPUT, `-i BR`);
//! - `FromHost` -> filter `VNET-BR-OUT` (OUTPUT, `-o BR`);
//! - `GuestToGuest`, `IntoBridge`, `OutOfBridge` -> filter `VNET-BR-FWX`,
//!   `-FWI`, `-FWO` (the shared `VNET-FWX`, `VNET-FWI`, `VNET-FWO`);
//! - `Postrouting` -> nat `VNET-BR-PRT` (POSTROUTING);
//! - `PortForward` -> nat `VNET-BR-DNAT` (PREROUTING, and OUTPUT for the
//!   host's own non-loopback addresses).
//!
//! The filter chains are made even when empty; the nat chains only when they
//! have rules.

use super::chain_name;
use crate::network::definition::Proto;
use crate::network::firewall::rules::{Action, Ct, Family, FamilyRules, Hook, Match, Port, Rule};

/// The chains and jumps a network wants in one table.
#[derive(Debug, Default)]
pub struct TableWant {
    /// Own chains, each with its rules (the text after "-A CHAIN ").
    pub chains: Vec<(String, Vec<String>)>,
    /// Full lines adding the jumps to them ("-I INPUT 1 ...", "-A VNET-FWX ...").
    pub jumps: Vec<String>,
    /// (parent chain, target) for each jump, for `present`.
    pub links: Vec<(String, String)>,
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

/// The chains and jumps a network wants in one family.
#[derive(Debug, Default)]
pub struct FamilyWant {
    pub filter: TableWant,
    pub nat: TableWant,
}

impl FamilyWant {
    pub fn table(&self, name: &str) -> Option<&TableWant> {
        match name {
            "filter" => Some(&self.filter),
            "nat" => Some(&self.nat),
            _ => None,
        }
    }
}

/// Where a hook lives: (table, chain suffix, whether the chain is made
/// even when it has no rules).
fn place(hook: Hook) -> (&'static str, &'static str, bool) {
    match hook {
        Hook::ToHost => ("filter", "IN", true),
        Hook::FromHost => ("filter", "OUT", true),
        Hook::GuestToGuest => ("filter", "FWX", true),
        Hook::IntoBridge => ("filter", "FWI", true),
        Hook::OutOfBridge => ("filter", "FWO", true),
        Hook::Postrouting => ("nat", "PRT", false),
        Hook::PortForward => ("nat", "DNAT", false),
    }
}

/// Network `br`'s rules of one family as chains and jumps.
pub fn family(br: &str, rules: &FamilyRules) -> FamilyWant {
    let mut w = FamilyWant::default();
    for hook in Hook::ALL {
        let (table, suffix, always) = place(hook);
        let text: Vec<String> = rules.hook(hook).map(|r| rule(r, rules.family)).collect();
        if text.is_empty() && !always {
            continue;
        }
        let t = if table == "filter" {
            &mut w.filter
        } else {
            &mut w.nat
        };
        t.chain(chain_name(br, suffix), text);
    }
    jumps(br, rules.family, &mut w);
    w
}

/// The jumps to the chains `family` made, in hook order.
fn jumps(br: &str, fam: Family, w: &mut FamilyWant) {
    let has = |t: &TableWant, s: &str| t.chains.iter().any(|(c, _)| *c == chain_name(br, s));
    let c = |s: &str| chain_name(br, s);
    for (parent, builtin, cond, suffix) in [
        ("INPUT", true, format!("-i {br}"), "IN"),
        ("OUTPUT", true, format!("-o {br}"), "OUT"),
        ("VNET-FWX", false, format!("-i {br} -o {br}"), "FWX"),
        ("VNET-FWI", false, format!("-o {br}"), "FWI"),
        ("VNET-FWO", false, format!("-i {br}"), "FWO"),
    ] {
        if has(&w.filter, suffix) {
            w.filter.jump(parent, builtin, &cond, &c(suffix));
        }
    }
    if has(&w.nat, "PRT") {
        w.nat.jump("POSTROUTING", true, "", &c("PRT"));
    }
    if has(&w.nat, "DNAT") {
        w.nat.jump("PREROUTING", true, "", &c("DNAT"));
        // Connections from the host to its own addresses, but not to
        // loopback ones (DNAT from 127.0.0.1 would need route_localnet).
        let lo = match fam {
            Family::V4 => "127.0.0.0/8",
            Family::V6 => "::1/128",
        };
        let cond = format!("! -d {lo} -m addrtype --dst-type LOCAL");
        w.nat.jump("OUTPUT", true, &cond, &c("DNAT"));
    }
}

/// One rule as the text after "-A CHAIN ".
pub fn rule(r: &Rule, fam: Family) -> String {
    let mut words: Vec<String> = r.matches.iter().map(|m| condition(m, fam)).collect();
    words.push(action(&r.action, fam));
    words.join(" ")
}

fn condition(m: &Match, fam: Family) -> String {
    match m {
        Match::In(i) => format!("-i {i}"),
        Match::Out(o) => format!("-o {o}"),
        Match::Source(a) => format!("-s {a}"),
        Match::Destination(a) => format!("-d {a}"),
        Match::NotDestination(a) => format!("! -d {a}"),
        Match::Proto(p) => format!("-p {p}"),
        Match::Port(p, dir, (a, b)) => {
            let opt = match dir {
                Port::Source => "--sport",
                Port::Destination => "--dport",
            };
            format!("{} {opt} {}", proto_match(*p), port_match(*a, *b))
        }
        Match::Icmp => match fam {
            Family::V4 => "-p icmp".to_string(),
            Family::V6 => "-p ipv6-icmp".to_string(),
        },
        Match::Conntrack(Ct::Reply) => "-m conntrack --ctstate RELATED,ESTABLISHED".to_string(),
        Match::Conntrack(Ct::Dnat) => "-m conntrack --ctstate DNAT".to_string(),
        Match::LocalDestination => "-m addrtype --dst-type LOCAL".to_string(),
    }
}

fn action(a: &Action, fam: Family) -> String {
    match a {
        Action::Accept => "-j ACCEPT".to_string(),
        Action::Reject => match fam {
            Family::V4 => "-j REJECT --reject-with icmp-port-unreachable".to_string(),
            Family::V6 => "-j REJECT --reject-with icmp6-port-unreachable".to_string(),
        },
        Action::Return => "-j RETURN".to_string(),
        Action::Masquerade(None) => "-j MASQUERADE".to_string(),
        Action::Masquerade(Some((a, b))) => format!("-j MASQUERADE --to-ports {a}-{b}"),
        Action::Dnat { to, ports, base } => {
            format!(
                "-j DNAT --to-destination {}",
                dnat_destination(*to, *ports, *base)
            )
        }
    }
}

fn proto_match(p: Proto) -> String {
    format!("-p {p} -m {p}")
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
fn dnat_destination(to: std::net::IpAddr, ports: (u16, u16), base: u16) -> String {
    let ip = match to {
        std::net::IpAddr::V4(a) => a.to_string(),
        std::net::IpAddr::V6(a) => format!("[{a}]"),
    };
    if ports.0 == ports.1 {
        format!("{ip}:{}", ports.0)
    } else {
        format!("{ip}:{}-{}/{base}", ports.0, ports.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::firewall::rules::Addr;

    #[test]
    fn addresses_and_ranges() {
        let v6: std::net::IpAddr = "fd00::5".parse().unwrap();
        assert_eq!(dnat_destination(v6, (22, 22), 2222), "[fd00::5]:22");
        let v4: std::net::IpAddr = "10.0.0.5".parse().unwrap();
        assert_eq!(
            dnat_destination(v4, (9000, 9010), 8000),
            "10.0.0.5:9000-9010/8000"
        );
        let r = Rule {
            hook: Hook::IntoBridge,
            matches: vec![Match::Out("br0".into()), Match::Destination(Addr::host(v4))],
            action: Action::Reject,
        };
        assert_eq!(
            rule(&r, Family::V6),
            "-o br0 -d 10.0.0.5 -j REJECT --reject-with icmp6-port-unreachable"
        );
    }
}
