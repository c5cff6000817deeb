//! `nft -a list ruleset` parsed into what planning needs: per table its
//! chains (hook, whether the policy is drop, rules with their handles) and
//! its named sets' and maps' elements (a map's keys). Blocks we do not need (maps' data, flowtables,
//! counters, quotas...) are skipped by depth; nothing in a foreign table is
//! interpreted beyond this.

/// One rule as nft printed it, without its `# handle N` comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub text: String,
    pub handle: Option<u64>,
}

impl Rule {
    /// The chain this rule jumps or goes to, when its verdict is one.
    pub fn target(&self) -> Option<&str> {
        let words: Vec<&str> = self.text.split_whitespace().collect();
        let i = words.iter().rposition(|w| *w == "jump" || *w == "goto")?;
        words.get(i + 1).copied()
    }

    /// Whether its verdict drops or rejects (the last words, before a comment).
    pub fn drops(&self) -> bool {
        let verdict = self.text.split(" comment ").next().unwrap_or("").trim();
        verdict.ends_with(" drop")
            || verdict == "drop"
            || verdict == "reject"
            || verdict.ends_with(" reject")
            || verdict.contains("reject with ")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chain {
    pub name: String,
    /// "input", "forward"...: a base chain.
    pub hook: Option<String>,
    pub policy_drop: bool,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Set {
    pub name: String,
    /// The quoted elements (interface names; a map's keys), unquoted.
    pub elements: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub family: String,
    pub name: String,
    pub chains: Vec<Chain>,
    pub sets: Vec<Set>,
}

impl Table {
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }

    pub fn set(&self, name: &str) -> Option<&Set> {
        self.sets.iter().find(|s| s.name == name)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ruleset {
    pub tables: Vec<Table>,
}

impl Ruleset {
    pub fn table(&self, family: &str, name: &str) -> Option<&Table> {
        self.tables
            .iter()
            .find(|t| t.family == family && t.name == name)
    }

    /// Parse `nft -a list ruleset` (or the same without handles).
    pub fn parse(text: &str) -> Ruleset {
        let mut p = Parser::default();
        for line in text.lines() {
            p.line(line);
        }
        Ruleset { tables: p.tables }
    }
}

/// Where the parser is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum In {
    Chain,
    Set,
    Elements,
    Other,
}

#[derive(Default)]
struct Parser {
    tables: Vec<Table>,
    /// Blocks open inside the current table.
    stack: Vec<In>,
}

/// The line without its `# handle N` comment, and N.
fn split_handle(line: &str) -> (&str, Option<u64>) {
    match line.rsplit_once(" # handle ") {
        Some((text, h)) => (text.trim(), h.trim().parse().ok()),
        None => (line.trim(), None),
    }
}

/// The strings between double quotes on a line.
fn quoted(line: &str) -> impl Iterator<Item = String> + '_ {
    line.split('"').skip(1).step_by(2).map(str::to_string)
}

impl Parser {
    fn table(&mut self) -> Option<&mut Table> {
        self.tables.last_mut()
    }

    fn line(&mut self, raw: &str) {
        let (line, handle) = split_handle(raw);
        let words: Vec<&str> = line.split_whitespace().collect();
        if self.stack.last() == Some(&In::Elements) {
            self.elements(line);
            return;
        }
        match (self.stack.last().copied(), words.as_slice()) {
            (None, ["table", family, name, "{"]) => {
                self.tables.push(Table {
                    family: family.to_string(),
                    name: name.to_string(),
                    ..Table::default()
                });
                self.stack.push(In::Other);
            }
            (Some(In::Other), ["chain", name, "{"]) if self.stack.len() == 1 => {
                let name = name.to_string();
                if let Some(t) = self.table() {
                    t.chains.push(Chain {
                        name,
                        ..Chain::default()
                    });
                }
                self.stack.push(In::Chain);
            }
            (Some(In::Other), ["set" | "map", name, "{"]) if self.stack.len() == 1 => {
                let name = name.to_string();
                if let Some(t) = self.table() {
                    t.sets.push(Set {
                        name,
                        ..Set::default()
                    });
                }
                self.stack.push(In::Set);
            }
            (Some(In::Set), ["elements", "=", "{", ..]) => {
                self.stack.push(In::Elements);
                self.elements(line);
            }
            (Some(In::Chain), ["type", _, "hook", hook, ..]) => {
                let hook = hook.to_string();
                if let Some(c) = self.table().and_then(|t| t.chains.last_mut()) {
                    c.hook = Some(hook);
                    c.policy_drop = line.contains("policy drop");
                }
            }
            (_, ["}"]) => {
                self.stack.pop();
            }
            (_, [.., "{"]) if !self.stack.is_empty() => self.stack.push(In::Other),
            (Some(In::Chain), [_, ..]) => {
                if let Some(c) = self.table().and_then(|t| t.chains.last_mut()) {
                    c.rules.push(Rule {
                        text: line.to_string(),
                        handle,
                    });
                }
            }
            _ => {}
        }
    }

    /// A line of a set's `elements = { ... }`, which may span lines.
    fn elements(&mut self, line: &str) {
        let names: Vec<String> = quoted(line).collect();
        if let Some(s) = self.table().and_then(|t| t.sets.last_mut()) {
            s.elements.extend(names);
        }
        if line.ends_with('}') {
            self.stack.pop();
        }
    }
}
