//! The admin's policy for user networks: /etc/vnet-helper/user-networks.toml
//! (optional: absent = the feature is off). Read like a network definition
//! (root-owned, not group/other-writable, no symbolic link, at most 64 KiB)
//! and parsed as strictly: unknown keys are errors, every error one line
//! "FILE:LINE: `key': what is wrong" (the definition parser's [`Ctx`]).
//!
//! ```toml
//! [[pool]]
//! users = ["alice", "@vmusers"]   # required; user names and @group names
//! prefix = "vu-"                  # required; every network name of the pool starts with it
//! subnets = ["10.240.0.0/16"]     # required; a string or a list of IPv4 prefixes
//! size = 24                       # each network's prefix length, 16..=30 (default 24)
//! ipv6-subnets = ["fd42:ab::/48"] # optional; carved into /64s
//! modes = ["nat", "isolated"]     # subset of nat, isolated, routed (this default)
//! default-mode = "nat"            # default: the first of modes
//! max-per-user = 4                # 0..=1024 (default 4)
//! auto-create = false             # an attach to a free NAME of the pool creates it
//! forwards = false                # may users publish guest ports on the host?
//! forward-ports = "20000-29999"   # required with forwards = true; within 1024..=65535
//! idle-timeout = "30s"            # as in definitions (default 30s, or "never")
//! ```
//!
//! Checks across pools: no pool's prefix is a prefix of another's (a name
//! belongs to at most one pool) and no two subnets overlap, within a pool or
//! across pools.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::error::Result;
use crate::netaddr::{Family, Prefix};
use crate::network::definition::parse::{toml_error, Ctx};
use crate::network::definition::raw::Scalar;
use crate::network::definition::values::{parse_duration, parse_port_range};
use crate::network::definition::{read_checked, Mode};
use crate::paths;

/// One `[[pool]]`, every default resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    /// "alice", "@vmusers".
    pub users: Vec<String>,
    pub prefix: String,
    pub subnets: Vec<Prefix<Ipv4Addr>>,
    pub size: u8,
    pub ipv6_subnets: Vec<Prefix<Ipv6Addr>>,
    pub modes: Vec<Mode>,
    pub default_mode: Mode,
    pub max_per_user: u32,
    pub auto_create: bool,
    /// The host port range users may publish; None = no forwards.
    pub forward_ports: Option<(u16, u16)>,
    /// None = never.
    pub idle_timeout: Option<Duration>,
    /// Line of the `[[pool]]` header.
    pub line: usize,
}

impl Pool {
    /// Does network name `name` belong to this pool?
    pub fn owns_name(&self, name: &str) -> bool {
        name.len() > self.prefix.len() && name.starts_with(&self.prefix)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub pools: Vec<Pool>,
}

impl Policy {
    /// The pool network name `name` belongs to (at most one: prefixes are
    /// never prefixes of each other).
    pub fn pool_for(&self, name: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.owns_name(name))
    }

    /// The pool with prefix `prefix` (a record's `pool`).
    pub fn pool(&self, prefix: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.prefix == prefix)
    }
}

/// The policy, None when the file does not exist (the feature is off).
/// Any other problem is an error: user networks fail closed.
pub fn load() -> Result<Option<Policy>> {
    let path = Path::new(paths::USER_NETWORKS_POLICY);
    if nix::sys::stat::lstat(path).is_err() {
        return Ok(None);
    }
    let text = read_checked(path, paths::USER_NETWORKS_POLICY)?;
    parse(&text, paths::USER_NETWORKS_POLICY).map(Some)
}

/// Is there a policy file at all (one lstat)?
pub fn exists() -> bool {
    nix::sys::stat::lstat(paths::USER_NETWORKS_POLICY).is_ok()
}

/// A string or a list of strings.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn items(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    pool: Vec<Spanned<RawPool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPool {
    users: Option<Spanned<Vec<String>>>,
    prefix: Option<Spanned<String>>,
    subnets: Option<Spanned<OneOrMany>>,
    size: Option<Spanned<i64>>,
    ipv6_subnets: Option<Spanned<OneOrMany>>,
    modes: Option<Spanned<Vec<String>>>,
    default_mode: Option<Spanned<String>>,
    max_per_user: Option<Spanned<i64>>,
    auto_create: Option<Spanned<bool>>,
    forwards: Option<Spanned<bool>>,
    forward_ports: Option<Spanned<Scalar>>,
    idle_timeout: Option<Spanned<Scalar>>,
}

/// Parse and validate the policy; `file` is only used in messages.
pub fn parse(text: &str, file: &str) -> Result<Policy> {
    let ctx = Ctx { file, text };
    let raw: RawPolicy = toml::de::from_str(text).map_err(|e| toml_error(&ctx, &e))?;
    if raw.pool.is_empty() {
        return Err(fail!("{file}: no [[pool]] defined"));
    }
    let mut pools: Vec<Pool> = Vec::new();
    for p in &raw.pool {
        let pool = parse_pool(&ctx, p)?;
        check_against_others(&ctx, p.get_ref(), &pool, &pools)?;
        pools.push(pool);
    }
    Ok(Policy { pools })
}

fn required<'a, T>(
    ctx: &Ctx,
    pool: &Spanned<RawPool>,
    key: &str,
    v: &'a Option<Spanned<T>>,
) -> Result<&'a Spanned<T>> {
    v.as_ref()
        .ok_or_else(|| ctx.at(pool, format!("[[pool]] without `{key}'")))
}

fn parse_pool(ctx: &Ctx, p: &Spanned<RawPool>) -> Result<Pool> {
    let raw = p.get_ref();
    let users = parse_users(ctx, required(ctx, p, "users", &raw.users)?)?;
    let prefix = parse_name_prefix(ctx, required(ctx, p, "prefix", &raw.prefix)?)?;
    let subnets_raw = required(ctx, p, "subnets", &raw.subnets)?;
    let subnets = parse_subnets::<Ipv4Addr>(ctx, "subnets", subnets_raw, 8, 30)?;
    let size = parse_size(ctx, raw, &subnets)?;
    let ipv6_subnets = match &raw.ipv6_subnets {
        None => Vec::new(),
        Some(s) => parse_subnets::<Ipv6Addr>(ctx, "ipv6-subnets", s, 8, 64)?,
    };
    let (modes, default_mode) = parse_modes(ctx, raw)?;
    let max_per_user = match &raw.max_per_user {
        None => 4,
        Some(m) => match u32::try_from(*m.get_ref()) {
            Ok(v) if v <= 1024 => v,
            _ => {
                return Err(ctx.bad(
                    "max-per-user",
                    m,
                    format!("{} is out of range (0..=1024)", m.get_ref()),
                ))
            }
        },
    };
    let idle_timeout = match &raw.idle_timeout {
        None => Some(Duration::from_secs(30)),
        Some(s) => match s.get_ref() {
            Scalar::Str(v) if v == "never" => None,
            v => Some(Duration::from_secs(
                parse_duration(v).map_err(|m| ctx.bad("idle-timeout", s, m))?,
            )),
        },
    };
    Ok(Pool {
        users,
        prefix,
        subnets,
        size,
        ipv6_subnets,
        modes,
        default_mode,
        max_per_user,
        auto_create: raw.auto_create.as_ref().is_some_and(|a| *a.get_ref()),
        forward_ports: parse_forward_ports(ctx, raw)?,
        idle_timeout,
        line: ctx.line(p),
    })
}

fn parse_users(ctx: &Ctx, u: &Spanned<Vec<String>>) -> Result<Vec<String>> {
    if u.get_ref().is_empty() {
        return Err(ctx.bad("users", u, "lists nobody (give user names or @group names)"));
    }
    for name in u.get_ref() {
        let bare = name.strip_prefix('@').unwrap_or(name);
        if !super::membership::is_account_name(bare) {
            return Err(ctx.bad(
                "users",
                u,
                format!("`{name}' is not a user name or @group name"),
            ));
        }
    }
    Ok(u.get_ref().clone())
}

/// 1..=10 bytes of the strict interface-name alphabet, not starting with '-'.
fn parse_name_prefix(ctx: &Ctx, p: &Spanned<String>) -> Result<String> {
    let s = p.get_ref();
    let ok = (1..=10).contains(&s.len())
        && !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !ok {
        return Err(ctx.bad(
            "prefix",
            p,
            format!("`{s}' is not a name prefix (1 to 10 letters, digits, '-', '_' or '.', not starting with '-')"),
        ));
    }
    Ok(s.clone())
}

/// Subnets written without host bits, prefix length within min..=max.
fn parse_subnets<A: Family + std::str::FromStr>(
    ctx: &Ctx,
    key: &str,
    s: &Spanned<OneOrMany>,
    min: u8,
    max: u8,
) -> Result<Vec<Prefix<A>>> {
    let items = s.get_ref().items();
    if items.is_empty() {
        return Err(ctx.bad(key, s, "lists no subnet"));
    }
    let mut out: Vec<Prefix<A>> = Vec::new();
    for item in items {
        let net = parse_subnet::<A>(item, min, max).map_err(|m| ctx.bad(key, s, m))?;
        if let Some(o) = out.iter().find(|o| o.overlaps(&net)) {
            return Err(ctx.bad(key, s, format!("{net} overlaps {o}")));
        }
        out.push(net);
    }
    Ok(out)
}

/// "10.240.0.0/16": a subnet, no host bits, length within min..=max.
pub fn parse_subnet<A: Family + std::str::FromStr>(
    s: &str,
    min: u8,
    max: u8,
) -> std::result::Result<Prefix<A>, String> {
    let bad = || format!("invalid subnet `{s}' (expected e.g. 10.240.0.0/16)");
    let (a, p) = s.split_once('/').ok_or_else(bad)?;
    let address: A = a.parse().map_err(|_| bad())?;
    if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let prefix: u8 = p.parse().map_err(|_| bad())?;
    if !(min..=max).contains(&prefix) {
        return Err(format!(
            "prefix length /{prefix} of `{s}' not supported ({min}..={max})"
        ));
    }
    let net = Prefix { address, prefix };
    if net.network() != address {
        return Err(format!(
            "`{s}' has host bits set (the subnet is {})",
            net.subnet()
        ));
    }
    Ok(net)
}

fn parse_size(ctx: &Ctx, raw: &RawPool, subnets: &[Prefix<Ipv4Addr>]) -> Result<u8> {
    let Some(s) = &raw.size else {
        let size = 24;
        return match subnets.iter().find(|n| n.prefix > size) {
            Some(n) => Err(fail!(
                "{}:{}: `size': the default /24 is larger than subnet {n}; set `size'",
                ctx.file,
                subnets_line(ctx, raw)
            )),
            None => Ok(size),
        };
    };
    let v = *s.get_ref();
    if !(16..=30).contains(&v) {
        return Err(ctx.bad("size", s, format!("{v} is out of range (16..=30)")));
    }
    let size = v as u8;
    if let Some(n) = subnets.iter().find(|n| n.prefix > size) {
        return Err(ctx.bad("size", s, format!("/{size} is larger than subnet {n}")));
    }
    Ok(size)
}

fn subnets_line(ctx: &Ctx, raw: &RawPool) -> usize {
    raw.subnets.as_ref().map_or(0, |s| ctx.line(s))
}

fn parse_mode(s: &str) -> Option<Mode> {
    match s {
        "nat" => Some(Mode::Nat),
        "isolated" => Some(Mode::Isolated),
        "routed" => Some(Mode::Routed),
        _ => None,
    }
}

fn parse_modes(ctx: &Ctx, raw: &RawPool) -> Result<(Vec<Mode>, Mode)> {
    let modes = match &raw.modes {
        None => vec![Mode::Nat, Mode::Isolated],
        Some(m) => {
            if m.get_ref().is_empty() {
                return Err(ctx.bad("modes", m, "lists no mode"));
            }
            let mut out = Vec::new();
            for s in m.get_ref() {
                let mode = parse_mode(s).ok_or_else(|| {
                    ctx.bad(
                        "modes",
                        m,
                        format!("unknown mode `{s}' (expected nat, isolated or routed)"),
                    )
                })?;
                if !out.contains(&mode) {
                    out.push(mode);
                }
            }
            out
        }
    };
    let default_mode = match &raw.default_mode {
        None => modes[0],
        Some(d) => match parse_mode(d.get_ref()) {
            Some(m) if modes.contains(&m) => m,
            _ => {
                return Err(ctx.bad(
                    "default-mode",
                    d,
                    format!("`{}' is not one of the pool's modes", d.get_ref()),
                ))
            }
        },
    };
    Ok((modes, default_mode))
}

fn parse_forward_ports(ctx: &Ctx, raw: &RawPool) -> Result<Option<(u16, u16)>> {
    let on = raw.forwards.as_ref().is_some_and(|f| *f.get_ref());
    match (&raw.forward_ports, &raw.forwards) {
        (None, Some(f)) if on => Err(ctx.bad("forwards", f, "true needs `forward-ports'")),
        (None, _) => Ok(None),
        (Some(p), _) if !on => Err(ctx.bad("forward-ports", p, "only used with forwards = true")),
        (Some(p), _) => {
            let r = parse_port_range(p.get_ref()).map_err(|m| ctx.bad("forward-ports", p, m))?;
            if r.0 < 1024 {
                return Err(ctx.bad(
                    "forward-ports",
                    p,
                    format!(
                        "port {} is below 1024 (the range must be within 1024..=65535)",
                        r.0
                    ),
                ));
            }
            Ok(Some(r))
        }
    }
}

/// Prefixes that are prefixes of each other, subnets that overlap.
fn check_against_others(ctx: &Ctx, raw: &RawPool, pool: &Pool, others: &[Pool]) -> Result<()> {
    for o in others {
        if o.prefix.starts_with(&pool.prefix) || pool.prefix.starts_with(&o.prefix) {
            if let Some(p) = &raw.prefix {
                return Err(ctx.bad(
                    "prefix",
                    p,
                    format!("`{}' and pool `{}' (line {}) overlap: no pool's prefix may start with another's", pool.prefix, o.prefix, o.line),
                ));
            }
        }
        let clash4 = pool.subnets.iter().find_map(|n| {
            o.subnets
                .iter()
                .find(|m| n.overlaps(m))
                .map(|m| (n.to_string(), m.to_string()))
        });
        let clash6 = pool.ipv6_subnets.iter().find_map(|n| {
            o.ipv6_subnets
                .iter()
                .find(|m| n.overlaps(m))
                .map(|m| (n.to_string(), m.to_string()))
        });
        let (key, spanned) = match (clash4.is_some(), &raw.subnets, &raw.ipv6_subnets) {
            (true, Some(s), _) => ("subnets", s),
            (false, _, Some(s)) => ("ipv6-subnets", s),
            _ => continue,
        };
        if let Some((n, m)) = clash4.or(clash6) {
            return Err(ctx.bad(
                key,
                spanned,
                format!("{n} overlaps {m} of pool `{}' (line {})", o.prefix, o.line),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
