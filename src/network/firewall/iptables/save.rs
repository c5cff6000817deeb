//! iptables-save output, parsed: per table, each chain with its policy and
//! its rules exactly as printed (the text after "-A CHAIN "), which is how
//! our rules are deleted again (`-D CHAIN <text>`). Also the two questions
//! asked of a printed rule: its words and its `-j`/`-g` target.

use crate::error::Result;

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
pub fn words(rule: &str) -> Vec<String> {
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
