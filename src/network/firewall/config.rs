//! /etc/vnet-helper/config.toml: the admin's choice of firewall backend.
//! Read like a definition (root-owned, not writable by group or others, no
//! symbolic link, at most 64 KiB; strict TOML: an unknown key or a bad value
//! is an error naming the file and line). A missing file means the defaults.
//!
//! ```toml
//! firewall = "auto"   # or "nftables", "iptables"
//! ```
//!
//! `auto`: nftables where /usr/sbin/nft exists and can read the ruleset,
//! else iptables.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::error::Result;
use crate::network::definition;
use crate::output::printable;
use crate::paths;

/// The `firewall` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Setting {
    #[default]
    Auto,
    Nftables,
    Iptables,
}

impl Setting {
    pub fn as_str(self) -> &'static str {
        match self {
            Setting::Auto => "auto",
            Setting::Nftables => "nftables",
            Setting::Iptables => "iptables",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub firewall: Setting,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    firewall: Option<Spanned<String>>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Parse the file's text; `file` is only used in messages.
pub fn parse(text: &str, file: &str) -> Result<Config> {
    let raw: Raw = toml::de::from_str(text).map_err(|e| {
        let msg = e.message().trim();
        let msg = match msg.strip_prefix("unknown field `") {
            Some(rest) => format!(
                "unknown key `{}'",
                rest.split_once('`').map_or(rest, |(k, _)| k)
            ),
            None => msg.to_string(),
        };
        let msg = printable(msg.as_bytes());
        match e.span() {
            Some(s) => fail!("{file}:{}: {msg}", line_of(text, s.start)),
            None => fail!("{file}: {msg}"),
        }
    })?;
    let firewall = match raw.firewall {
        None => Setting::Auto,
        Some(v) => match v.get_ref().as_str() {
            "auto" => Setting::Auto,
            "nftables" => Setting::Nftables,
            "iptables" => Setting::Iptables,
            other => {
                return Err(fail!(
                "{file}:{}: `firewall': `{}' is not one of \"auto\", \"nftables\", \"iptables\"",
                line_of(text, v.span().start),
                printable(other.as_bytes())
            ))
            }
        },
    };
    Ok(Config { firewall })
}

/// The configuration in force: the file's, or the defaults when there is
/// none.
pub fn load() -> Result<Config> {
    load_from(Path::new(paths::CONFIG_FILE))
}

pub fn load_from(path: &Path) -> Result<Config> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
        _ => {}
    }
    let shown = path.display().to_string();
    let text = definition::read_checked(path, &shown)?;
    parse(&text, &shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_and_errors() {
        assert_eq!(parse("", "c.toml").unwrap().firewall, Setting::Auto);
        assert_eq!(
            parse("# comment\nfirewall = \"iptables\"\n", "c.toml")
                .unwrap()
                .firewall,
            Setting::Iptables
        );
        assert_eq!(
            parse("firewall = \"nftables\"", "c.toml").unwrap().firewall,
            Setting::Nftables
        );
        assert_eq!(
            parse("\nfirewal = \"nftables\"\n", "/etc/c.toml")
                .unwrap_err()
                .to_string(),
            "/etc/c.toml:2: unknown key `firewal'"
        );
        assert_eq!(
            parse("\n\nfirewall = \"pf\"\n", "c.toml")
                .unwrap_err()
                .to_string(),
            "c.toml:3: `firewall': `pf' is not one of \"auto\", \"nftables\", \"iptables\""
        );
        assert!(parse("firewall = 1\n", "c.toml")
            .unwrap_err()
            .to_string()
            .starts_with("c.toml:1: "));
        assert_eq!(
            load_from(Path::new("/nonexistent/config.toml")).unwrap(),
            Config::default()
        );
    }
}
