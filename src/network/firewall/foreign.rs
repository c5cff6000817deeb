//! The host's own nftables firewall, as it bears on a network: base chains
//! of other tables (Debian's /etc/nftables.conf, a hand-written ruleset)
//! that would drop or reject the network's traffic. In nftables every base
//! chain on a hook must accept a packet: an accept in our rules does not
//! stop another table's `policy drop`. We do not change other tables; we say
//! which table and chain, and the exact rules an admin would add (status,
//! check, and a warning at bring-up).
//!
//! Pure: `diagnose` reads the text of `nft list ruleset`. iptables-nft's own
//! tables (`ip filter`, `ip6 filter`, where our rules and jumps live) are
//! not foreign.

use crate::network::definition::{Definition, Mode};

/// One base chain of `nft list ruleset`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct BaseChain {
    family: String,
    table: String,
    chain: String,
    hook: String,
    policy_drop: bool,
    /// Its rules, one per line, as nft prints them.
    rules: Vec<String>,
}

/// A foreign chain that drops the network's traffic, and what to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub family: String,
    pub table: String,
    pub chain: String,
    pub hook: String,
    /// "policy drop", or the unconditional rule at its end.
    pub why: String,
    /// Complete `nft insert rule ...` commands.
    pub fixes: Vec<String>,
}

impl Finding {
    /// One line for stderr, syslog and `check`.
    pub fn line(&self, network: &str) -> String {
        format!(
            "network `{network}': the host's nftables chain `{} {} {}' (hook {}, {}) drops its \
             traffic; add: {}",
            self.family,
            self.table,
            self.chain,
            self.hook,
            self.why,
            self.fixes.join("; ")
        )
    }
}

/// The base chains of a ruleset as `nft list ruleset` prints it.
fn base_chains(text: &str) -> Vec<BaseChain> {
    let mut out = Vec::new();
    let (mut family, mut table) = (String::new(), String::new());
    let mut current: Option<BaseChain> = None;
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["table", f, t, "{"] => (family, table) = (f.to_string(), t.to_string()),
            ["chain", c, "{"] => {
                current = Some(BaseChain {
                    family: family.clone(),
                    table: table.clone(),
                    chain: c.to_string(),
                    ..BaseChain::default()
                })
            }
            ["type", _, "hook", hook, ..] => {
                if let Some(c) = current.as_mut() {
                    c.hook = hook.to_string();
                    c.policy_drop = line.contains("policy drop");
                }
            }
            ["}"] => {
                if let Some(c) = current.take().filter(|c| !c.hook.is_empty()) {
                    out.push(c);
                }
            }
            [] => {}
            _ => {
                if let Some(c) = current.as_mut() {
                    c.rules.push(line.to_string());
                }
            }
        }
    }
    out
}

/// Does this chain end in an unconditional drop or reject (firewalld's
/// final reject)? The verdict is its whole rule.
fn final_verdict(rules: &[String]) -> Option<&str> {
    let last = rules.last()?;
    let verdict = last.split(" comment ").next().unwrap_or(last).trim();
    (verdict == "drop" || verdict == "reject" || verdict.starts_with("reject with "))
        .then_some(last.as_str())
}

/// What the network's traffic needs from a chain on `hook`: its rules, as
/// nft matches (empty: nothing of ours passes that hook).
fn needs(def: &Definition, hook: &str) -> Vec<String> {
    let br = &def.name;
    match hook {
        "input" if def.needs_dnsmasq() => {
            let mut udp = Vec::new();
            if def.dns {
                udp.push("53");
            }
            if def.dhcp.is_some() {
                udp.push("67");
            }
            let mut m = Vec::new();
            if !udp.is_empty() {
                m.push(format!(
                    "iifname \"{br}\" udp dport {{ {} }} accept",
                    udp.join(", ")
                ));
            }
            if def.dns {
                m.push(format!("iifname \"{br}\" tcp dport 53 accept"));
            }
            m
        }
        "forward" => match def.mode {
            Mode::Nat => {
                let mut m = vec![
                    format!("iifname \"{br}\" accept"),
                    format!("oifname \"{br}\" ct state established,related accept"),
                ];
                if !def.forwards.is_empty() {
                    m.push(format!("oifname \"{br}\" ct status dnat accept"));
                }
                m
            }
            Mode::Routed => vec![
                format!("iifname \"{br}\" accept"),
                format!("oifname \"{br}\" accept"),
            ],
            Mode::Isolated | Mode::Bridged => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// Does any line of table `family table` mention `needle` (a chain it jumps
/// to, e.g. firewalld's zone dispatch `iifname "vnet0" goto filter_IN_ZONE`)?
fn table_mentions(ruleset: &str, family: &str, table: &str, needle: &str) -> bool {
    let head = format!("table {family} {table} {{");
    let mut inside = false;
    for line in ruleset.lines() {
        if line.trim() == head {
            inside = true;
        } else if inside && line == "}" {
            inside = false;
        } else if inside && line.contains(needle) {
            return true;
        }
    }
    false
}

/// The foreign chains that would drop `def`'s traffic, given `nft list
/// ruleset`. A table that mentions the bridge by name in any of its chains
/// is taken to handle it (a firewalld zone binding shows as
/// `iifname "BRIDGE" goto filter_IN_ZONE` in its dispatch chains).
pub fn diagnose(def: &Definition, ruleset: &str) -> Vec<Finding> {
    let families: &[&str] = match def.ipv6.is_some() {
        true => &["ip", "ip6", "inet"],
        false => &["ip", "inet"],
    };
    let quoted = format!("\"{}\"", def.name);
    let mut out = Vec::new();
    for c in base_chains(ruleset) {
        let iptables_own = (c.table == "filter" || c.table == super::nftables::TABLE)
            && (c.family == "ip" || c.family == "ip6");
        if iptables_own || !families.contains(&c.family.as_str()) {
            continue;
        }
        let why = match (c.policy_drop, final_verdict(&c.rules)) {
            (true, _) => "policy drop".to_string(),
            (false, Some(rule)) => format!("ends with `{rule}'"),
            (false, None) => continue,
        };
        if c.rules.iter().any(|r| r.contains(&quoted))
            || table_mentions(ruleset, &c.family, &c.table, &quoted)
        {
            continue;
        }
        let fixes: Vec<String> = needs(def, &c.hook)
            .into_iter()
            .map(|m| format!("nft insert rule {} {} {} {m}", c.family, c.table, c.chain))
            .collect();
        if fixes.is_empty() {
            continue;
        }
        out.push(Finding {
            family: c.family,
            table: c.table,
            chain: c.chain,
            hook: c.hook,
            why,
            fixes,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::definition::parse;

    fn def(text: &str) -> Definition {
        parse(text, "t.toml", "vnet0").unwrap()
    }

    /// Debian's /etc/nftables.conf, hardened (policy drop), as nft prints it.
    const DEBIAN_DROP: &str = "table inet filter {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established,related accept
\t\tiif \"lo\" accept
\t}
\tchain forward {
\t\ttype filter hook forward priority filter; policy drop;
\t}
\tchain output {
\t\ttype filter hook output priority filter; policy accept;
\t}
}
table ip filter {
\tchain FORWARD {
\t\ttype filter hook forward priority filter; policy drop;
\t}
}
";

    #[test]
    fn debian_drop_policy_exact_text() {
        let d = def("address = \"10.200.0.1/24\"\n");
        let f = diagnose(&d, DEBIAN_DROP);
        let lines: Vec<String> = f.iter().map(|f| f.line("vnet0")).collect();
        assert_eq!(
            lines,
            [
                "network `vnet0': the host's nftables chain `inet filter input' (hook input, \
                 policy drop) drops its traffic; add: nft insert rule inet filter input iifname \
                 \"vnet0\" udp dport { 53, 67 } accept; nft insert rule inet filter input iifname \
                 \"vnet0\" tcp dport 53 accept",
                "network `vnet0': the host's nftables chain `inet filter forward' (hook forward, \
                 policy drop) drops its traffic; add: nft insert rule inet filter forward iifname \
                 \"vnet0\" accept; nft insert rule inet filter forward oifname \"vnet0\" ct state \
                 established,related accept",
            ]
        );
    }

    #[test]
    fn firewalld_final_reject() {
        let text = "table inet firewalld {
\tchain filter_FORWARD {
\t\ttype filter hook forward priority filter + 10; policy accept;
\t\tct state established,related accept
\t\treject with icmpx admin-prohibited
\t}
\tchain filter_INPUT {
\t\ttype filter hook input priority filter + 10; policy accept;
\t\tct state established,related accept
\t}
}
";
        let f = diagnose(&def("address = \"10.200.0.1/24\"\n"), text);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].chain, "filter_FORWARD");
        assert_eq!(f[0].why, "ends with `reject with icmpx admin-prohibited'");
    }

    /// The bridge bound to a firewalld zone: firewalld's dispatch chains name
    /// it, so its final rejects are not ours to report.
    #[test]
    fn firewalld_zone_binding_handles_the_bridge() {
        let text = "table inet firewalld {
\tchain filter_INPUT {
\t\ttype filter hook input priority filter + 10; policy accept;
\t\tjump filter_INPUT_ZONES
\t\treject with icmpx admin-prohibited
\t}
\tchain filter_INPUT_ZONES {
\t\tiifname \"vnet0\" goto filter_IN_vnet-helper
\t\tgoto filter_IN_public
\t}
}
";
        assert!(diagnose(&def("address = \"10.200.0.1/24\"\n"), text).is_empty());
        let other = text.replace("\"vnet0\"", "\"vnet9\"");
        assert_eq!(
            diagnose(&def("address = \"10.200.0.1/24\"\n"), &other).len(),
            1
        );
    }

    #[test]
    fn nothing_to_say() {
        let d = def("address = \"10.200.0.1/24\"\nmode = \"isolated\"\ndns = false\n");
        // isolated: nothing forwarded; input needs DHCP only
        let f = diagnose(&d, DEBIAN_DROP);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].fixes,
            ["nft insert rule inet filter input iifname \"vnet0\" udp dport { 67 } accept"]
        );
        assert!(diagnose(&d, "").is_empty());
        let accept = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n";
        assert!(diagnose(&d, accept).is_empty());
    }
}
