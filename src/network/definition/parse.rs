//! Turning a definition file's text into a [`Definition`]: TOML through
//! serde into the raw shape ([`super::raw`]), then every key checked and every
//! default resolved, in the order the module comment of `definition`
//! describes. Every error names the file and the line ("FILE:LINE: `key':
//! what is wrong"); [`Ctx`] turns serde's byte spans into those prefixes.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use toml::Spanned;

use super::raw::{RawDef, RawForward, RawHost, Scalar};
use super::values::{
    check_domain, check_label, default_range, format_mac, parse_dhcp_range, parse_duration,
    parse_guest_v4, parse_host_address, parse_ipv4_net, parse_ipv6_net, parse_mac,
    parse_port_range, parse_to,
};
use super::{Definition, Forward, Host, Mode, Proto};
use crate::error::{Error, Result};
use crate::ifname::check_managed_name;
use crate::netaddr::Prefix;
use crate::output::printable;

/// dnsmasq refuses lease times below two minutes.
const MIN_LEASE_SECS: u64 = 120;

const DEFAULT_LEASE_SECS: u64 = 3600;
const DEFAULT_IDLE_SECS: u64 = 30;

/// Where we are: turns byte offsets into "FILE:LINE: " prefixes.
pub(crate) struct Ctx<'a> {
    pub file: &'a str,
    pub text: &'a str,
}

impl Ctx<'_> {
    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    pub fn line<T>(&self, s: &Spanned<T>) -> usize {
        self.line_of(s.span().start)
    }

    /// "FILE:LINE: `key': msg", the values echoed in `msg` escaped.
    pub fn bad<T>(&self, key: &str, s: &Spanned<T>, msg: impl fmt::Display) -> Error {
        let msg = escaped(msg);
        fail!("{}:{}: `{key}': {msg}", self.file, self.line(s))
    }

    /// "FILE:LINE: msg", the values echoed in `msg` escaped.
    pub fn at<T>(&self, s: &Spanned<T>, msg: impl fmt::Display) -> Error {
        let msg = escaped(msg);
        fail!("{}:{}: {msg}", self.file, self.line(s))
    }
}

/// A message that may echo the file's keys and values, made printable (the
/// one escaper, [`printable`]): no terminal escapes, NULs or line separators.
pub(crate) fn escaped(msg: impl fmt::Display) -> String {
    printable(msg.to_string().as_bytes())
}

/// Turn toml/serde's error into "FILE:LINE: message", with unknown keys
/// reported as "unknown key `foo'".
pub(crate) fn toml_error(ctx: &Ctx, e: &toml::de::Error) -> Error {
    let msg = e.message().trim();
    let msg = match msg.strip_prefix("unknown field `") {
        Some(rest) => match rest.split_once('`') {
            Some((key, _)) => format!("unknown key `{key}'"),
            None => msg.to_string(),
        },
        None => msg.to_string(),
    };
    let msg = escaped(msg);
    match e.span() {
        Some(span) => {
            // Type errors point at the value: name the key in front of it.
            let key = if msg.starts_with("invalid type") || msg.starts_with("invalid value") {
                key_before(ctx.text, span.start)
            } else {
                None
            };
            match key {
                Some(k) => fail!("{}:{}: `{k}': {msg}", ctx.file, ctx.line_of(span.start)),
                None => fail!("{}:{}: {msg}", ctx.file, ctx.line_of(span.start)),
            }
        }
        None => fail!("{}: {msg}", ctx.file),
    }
}

/// The bare key of a `key = value` line whose value starts at `offset`.
fn key_before(text: &str, offset: usize) -> Option<&str> {
    let before = text.get(..offset)?;
    let line = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
    let (key, rest) = line.split_once('=')?;
    let key = key.trim();
    let ok = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (ok && rest.trim().is_empty()).then_some(key)
}

/// Parse and validate a definition. `file` is only used in messages; `name`
/// is the network (bridge) name.
pub fn parse(text: &str, file: &str, name: &str) -> Result<Definition> {
    let ctx = Ctx { file, text };
    check_managed_name(name).map_err(|m| fail!("{file}: network name `{}': {m}", escaped(name)))?;
    let raw: RawDef = toml::de::from_str(text).map_err(|e| toml_error(&ctx, &e))?;
    let common = parse_common(&ctx, &raw, name)?;
    if common.mode == Mode::Bridged {
        bridged(&ctx, &raw, name, common)
    } else {
        with_ip_service(&ctx, &raw, name, common)
    }
}

/// The keys of every mode, checked.
struct Common {
    mode: Mode,
    uplink: Option<String>,
    mtu: Option<u32>,
    idle_timeout: Option<Duration>,
    allow_default_route_uplink: bool,
}

fn parse_common(ctx: &Ctx, raw: &RawDef, name: &str) -> Result<Common> {
    let mode = parse_mode(ctx, raw)?;
    let uplink = parse_uplink(ctx, raw, name, mode)?;

    let mtu = match &raw.mtu {
        None => None,
        Some(m) => {
            let v = *m.get_ref();
            if !(68..=65535).contains(&v) {
                return Err(ctx.bad("mtu", m, format!("{v} is out of range (68..=65535)")));
            }
            Some(v as u32)
        }
    };

    let idle_timeout = match &raw.idle_timeout {
        None => Some(Duration::from_secs(DEFAULT_IDLE_SECS)),
        Some(s) => match s.get_ref() {
            Scalar::Str(v) if v == "never" => None,
            v => Some(Duration::from_secs(
                parse_duration(v).map_err(|m| ctx.bad("idle-timeout", s, m))?,
            )),
        },
    };

    let allow_default_route_uplink = match &raw.allow_default_route_uplink {
        None => false,
        Some(a) if mode != Mode::Bridged => {
            return Err(ctx.bad("allow-default-route-uplink", a, "only used in bridged mode"))
        }
        Some(a) => *a.get_ref(),
    };

    Ok(Common {
        mode,
        uplink,
        mtu,
        idle_timeout,
        allow_default_route_uplink,
    })
}

fn parse_mode(ctx: &Ctx, raw: &RawDef) -> Result<Mode> {
    let Some(m) = &raw.mode else {
        return Ok(Mode::Nat);
    };
    match m.get_ref().as_str() {
        "nat" => Ok(Mode::Nat),
        "isolated" => Ok(Mode::Isolated),
        "routed" => Ok(Mode::Routed),
        "bridged" => Ok(Mode::Bridged),
        other => Err(ctx.bad(
            "mode",
            m,
            format!("unknown mode `{other}' (expected nat, isolated, routed or bridged)"),
        )),
    }
}

fn parse_uplink(ctx: &Ctx, raw: &RawDef, name: &str, mode: Mode) -> Result<Option<String>> {
    let Some(u) = &raw.uplink else {
        return Ok(None);
    };
    check_managed_name(u.get_ref())
        .map_err(|m| ctx.bad("uplink", u, format!("`{}': {m}", u.get_ref())))?;
    if u.get_ref() == name {
        return Err(ctx.bad("uplink", u, "is the network's own bridge"));
    }
    match mode {
        Mode::Isolated => Err(ctx.bad("uplink", u, "not used in isolated mode (nothing goes out)")),
        Mode::Routed => Err(ctx.bad(
            "uplink",
            u,
            "not used in routed mode (forwarding follows the routing table)",
        )),
        Mode::Nat | Mode::Bridged => Ok(Some(u.get_ref().clone())),
    }
}

/// The rest of `parse` for nat, isolated and routed modes: the bridge's
/// addresses, DHCP, DNS, static hosts and forwards.
fn with_ip_service(ctx: &Ctx, raw: &RawDef, name: &str, c: Common) -> Result<Definition> {
    let mode = c.mode;
    let ipv4 = match &raw.address {
        None => return Err(fail!("{}: `address' is required in {mode} mode", ctx.file)),
        Some(a) => parse_ipv4_net(a.get_ref()).map_err(|m| ctx.bad("address", a, m))?,
    };
    let Dhcp {
        range: dhcp,
        lease_time,
    } = parse_dhcp(ctx, raw, &ipv4)?;

    let dns = raw.dns.as_ref().map(|d| *d.get_ref()).unwrap_or(true);
    let domain = match &raw.domain {
        None => None,
        Some(d) => {
            check_domain(d.get_ref())
                .map_err(|m| ctx.bad("domain", d, format!("`{}': {m}", d.get_ref())))?;
            Some(d.get_ref().to_ascii_lowercase())
        }
    };

    let (ipv6, ipv6_nat) = parse_ipv6(ctx, raw, mode)?;
    let hosts = parse_hosts(ctx, &raw.host, &ipv4)?;
    if let Some(f) = raw.forward.first() {
        if !matches!(mode, Mode::Nat | Mode::Routed) {
            return Err(ctx.at(
                f,
                format!("[[forward]] is only possible in nat and routed modes, not {mode}"),
            ));
        }
    }
    let forwards = parse_forwards(ctx, &raw.forward, &ipv4, ipv6.as_ref())?;

    Ok(Definition {
        name: name.to_string(),
        mode,
        ipv4: Some(ipv4),
        dhcp,
        lease_time,
        dns,
        domain,
        uplink: c.uplink,
        mtu: c.mtu,
        idle_timeout: c.idle_timeout,
        allow_default_route_uplink: c.allow_default_route_uplink,
        ipv6,
        ipv6_nat,
        hosts,
        forwards,
        peers: Vec::new(),
    })
}

/// `dhcp`, `dhcp-range` and `lease-time`, checked.
struct Dhcp {
    /// None without DHCP.
    range: Option<(Ipv4Addr, Ipv4Addr)>,
    /// None = infinite.
    lease_time: Option<u64>,
}

fn parse_dhcp(ctx: &Ctx, raw: &RawDef, ipv4: &Prefix<Ipv4Addr>) -> Result<Dhcp> {
    let dhcp_on = raw.dhcp.as_ref().map(|d| *d.get_ref()).unwrap_or(true);
    if !dhcp_on {
        if let Some(r) = &raw.dhcp_range {
            return Err(ctx.bad("dhcp-range", r, "given but `dhcp = false'"));
        }
        if let Some(l) = &raw.lease_time {
            return Err(ctx.bad("lease-time", l, "given but `dhcp = false'"));
        }
    }
    let dhcp = if !dhcp_on {
        None
    } else if let Some(r) = &raw.dhcp_range {
        Some(parse_dhcp_range(r.get_ref(), ipv4).map_err(|m| ctx.bad("dhcp-range", r, m))?)
    } else {
        Some(default_range(ipv4))
    };

    let lease_time = match &raw.lease_time {
        None => Some(DEFAULT_LEASE_SECS),
        Some(l) => match l.get_ref() {
            Scalar::Str(v) if v == "infinite" => None,
            v => {
                let secs = parse_duration(v).map_err(|m| ctx.bad("lease-time", l, m))?;
                if secs < MIN_LEASE_SECS {
                    return Err(ctx.bad(
                        "lease-time",
                        l,
                        "must be at least 2m (dnsmasq's minimum) or \"infinite\"",
                    ));
                }
                Some(secs)
            }
        },
    };
    Ok(Dhcp {
        range: dhcp,
        lease_time,
    })
}

/// `ipv6` and `ipv6-nat`.
fn parse_ipv6(ctx: &Ctx, raw: &RawDef, mode: Mode) -> Result<(Option<Prefix<Ipv6Addr>>, bool)> {
    let ipv6 = match &raw.ipv6 {
        None => None,
        Some(a) => Some(parse_ipv6_net(a.get_ref()).map_err(|m| ctx.bad("ipv6", a, m))?),
    };
    let ipv6_nat = match &raw.ipv6_nat {
        None => mode == Mode::Nat && ipv6.is_some(),
        Some(n) => {
            if ipv6.is_none() {
                return Err(ctx.bad("ipv6-nat", n, "given without `ipv6'"));
            }
            if *n.get_ref() && mode != Mode::Nat {
                return Err(ctx.bad("ipv6-nat", n, format!("not possible in {mode} mode")));
            }
            *n.get_ref()
        }
    };
    Ok((ipv6, ipv6_nat))
}

/// The rest of `parse` for bridged mode: refuse the keys it does not use.
fn bridged(ctx: &Ctx, raw: &RawDef, name: &str, c: Common) -> Result<Definition> {
    fn unused<T>(ctx: &Ctx, key: &str, v: &Option<Spanned<T>>) -> Result<()> {
        match v {
            Some(s) => Err(ctx.bad(key, s, "not used in bridged mode")),
            None => Ok(()),
        }
    }
    unused(ctx, "address", &raw.address)?;
    unused(ctx, "dhcp", &raw.dhcp)?;
    unused(ctx, "dhcp-range", &raw.dhcp_range)?;
    unused(ctx, "lease-time", &raw.lease_time)?;
    unused(ctx, "dns", &raw.dns)?;
    unused(ctx, "domain", &raw.domain)?;
    unused(ctx, "ipv6", &raw.ipv6)?;
    unused(ctx, "ipv6-nat", &raw.ipv6_nat)?;
    if let Some(h) = raw.host.first() {
        return Err(ctx.at(h, "[[host]] is not used in bridged mode"));
    }
    if let Some(f) = raw.forward.first() {
        return Err(ctx.at(f, "[[forward]] is not used in bridged mode"));
    }
    if c.uplink.is_none() {
        return Err(fail!("{}: `uplink' is required in bridged mode", ctx.file));
    }
    Ok(Definition {
        name: name.to_string(),
        mode: Mode::Bridged,
        ipv4: None,
        dhcp: None,
        lease_time: Some(DEFAULT_LEASE_SECS),
        dns: false,
        domain: None,
        uplink: c.uplink,
        mtu: c.mtu,
        idle_timeout: c.idle_timeout,
        allow_default_route_uplink: c.allow_default_route_uplink,
        ipv6: None,
        ipv6_nat: false,
        hosts: Vec::new(),
        forwards: Vec::new(),
        peers: Vec::new(),
    })
}

fn parse_hosts(ctx: &Ctx, raw: &[Spanned<RawHost>], net: &Prefix<Ipv4Addr>) -> Result<Vec<Host>> {
    let mut hosts: Vec<Host> = Vec::new();
    for entry in raw {
        let h = entry.get_ref();
        let line = ctx.line(entry);
        let mac_s = h
            .mac
            .as_ref()
            .ok_or_else(|| ctx.at(entry, "[[host]] needs `mac'"))?;
        let ip_s =
            h.ip.as_ref()
                .ok_or_else(|| ctx.at(entry, "[[host]] needs `ip'"))?;
        let mac = parse_mac(mac_s.get_ref()).map_err(|m| ctx.bad("mac", mac_s, m))?;
        let ip = parse_guest_v4(ip_s.get_ref(), net).map_err(|m| ctx.bad("ip", ip_s, m))?;
        let name = match &h.name {
            None => None,
            Some(n) => {
                check_label(n.get_ref())
                    .map_err(|m| ctx.bad("name", n, format!("`{}': {m}", n.get_ref())))?;
                Some(n.get_ref().clone())
            }
        };
        for other in &hosts {
            if other.mac == mac {
                return Err(ctx.bad(
                    "mac",
                    mac_s,
                    format!("{} already used at line {}", format_mac(&mac), other.line),
                ));
            }
            if other.ip == ip {
                return Err(ctx.bad(
                    "ip",
                    ip_s,
                    format!("{ip} already used at line {}", other.line),
                ));
            }
            if let (Some(a), Some(b), Some(n)) = (&other.name, &name, &h.name) {
                if a.eq_ignore_ascii_case(b) {
                    return Err(ctx.bad(
                        "name",
                        n,
                        format!("`{b}' already used at line {}", other.line),
                    ));
                }
            }
        }
        hosts.push(Host {
            mac,
            ip,
            name,
            line,
        });
    }
    Ok(hosts)
}

fn parse_forwards(
    ctx: &Ctx,
    raw: &[Spanned<RawForward>],
    net: &Prefix<Ipv4Addr>,
    net6: Option<&Prefix<Ipv6Addr>>,
) -> Result<Vec<Forward>> {
    let mut out: Vec<Forward> = Vec::new();
    for entry in raw {
        let (fwd, port_s) = parse_forward(ctx, entry, net, net6)?;
        if let Some(other) = out.iter().find(|o| forwards_overlap(o, &fwd)) {
            return Err(ctx.bad(
                "port",
                port_s,
                format!(
                    "{} {} overlaps the forward at line {}",
                    fwd.proto,
                    port_text(fwd.host_ports),
                    other.line
                ),
            ));
        }
        out.push(fwd);
    }
    Ok(out)
}

/// One `[[forward]]`, and its `port` (for a message about overlaps).
fn parse_forward<'a>(
    ctx: &Ctx,
    entry: &'a Spanned<RawForward>,
    net: &Prefix<Ipv4Addr>,
    net6: Option<&Prefix<Ipv6Addr>>,
) -> Result<(Forward, &'a Spanned<Scalar>)> {
    let f = entry.get_ref();
    let proto_s = f
        .proto
        .as_ref()
        .ok_or_else(|| ctx.at(entry, "[[forward]] needs `proto'"))?;
    let port_s = f
        .port
        .as_ref()
        .ok_or_else(|| ctx.at(entry, "[[forward]] needs `port'"))?;
    let to_s =
        f.to.as_ref()
            .ok_or_else(|| ctx.at(entry, "[[forward]] needs `to'"))?;
    let proto = match proto_s.get_ref().as_str() {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        other => {
            return Err(ctx.bad(
                "proto",
                proto_s,
                format!("unknown protocol `{other}' (expected tcp or udp)"),
            ))
        }
    };
    let host_ports = parse_port_range(port_s.get_ref()).map_err(|m| ctx.bad("port", port_s, m))?;
    let (to_ip, to_port) =
        parse_to(to_s.get_ref(), net, net6).map_err(|m| ctx.bad("to", to_s, m))?;
    let span = u32::from(host_ports.1 - host_ports.0);
    if u32::from(to_port) + span > 65535 {
        return Err(ctx.bad(
            "to",
            to_s,
            format!(
                "port range {}-{} does not fit below 65536",
                to_port,
                u32::from(to_port) + span
            ),
        ));
    }
    let host_address = match &f.host_address {
        None => None,
        Some(h) => Some(
            parse_host_address(h.get_ref(), to_ip).map_err(|m| ctx.bad("host-address", h, m))?,
        ),
    };
    let fwd = Forward {
        proto,
        host_ports,
        to_ip,
        to_port,
        host_address,
        line: ctx.line(entry),
    };
    Ok((fwd, port_s))
}

fn port_text(p: (u16, u16)) -> String {
    if p.0 == p.1 {
        p.0.to_string()
    } else {
        format!("{}-{}", p.0, p.1)
    }
}

/// Two forwards collide when the same packet could match both: same protocol
/// and address family, overlapping host ports, and host addresses that are
/// equal or where either is unrestricted.
fn forwards_overlap(a: &Forward, b: &Forward) -> bool {
    a.proto == b.proto
        && a.is_ipv6() == b.is_ipv6()
        && a.host_ports.0 <= b.host_ports.1
        && b.host_ports.0 <= a.host_ports.1
        && match (a.host_address, b.host_address) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::time::Duration;

    fn p(text: &str) -> Result<Definition> {
        parse(text, "/etc/vnet-helper/networks/vnet0.toml", "vnet0")
    }

    fn err(text: &str) -> String {
        match p(text) {
            Ok(d) => panic!("expected an error, got {d:?}"),
            Err(e) => e.message().to_string(),
        }
    }

    const F: &str = "/etc/vnet-helper/networks/vnet0.toml";

    #[test]
    fn default_range_around_gateway() {
        // Gateway last: the range is below it.
        let d = p("address = \"10.0.0.254/24\"\n").unwrap();
        assert_eq!(
            d.dhcp,
            Some((Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 253)))
        );
        // Gateway in the middle: the larger side.
        let d = p("address = \"10.0.0.10/24\"\n").unwrap();
        assert_eq!(
            d.dhcp,
            Some((Ipv4Addr::new(10, 0, 0, 11), Ipv4Addr::new(10, 0, 0, 254)))
        );
        let d = p("address = \"10.0.0.200/24\"\n").unwrap();
        assert_eq!(
            d.dhcp,
            Some((Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 199)))
        );
        // /30: two usable addresses, one of them the gateway.
        let d = p("address = \"10.0.0.1/30\"\n").unwrap();
        assert_eq!(
            d.dhcp,
            Some((Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 2)))
        );
        assert_eq!(d.lease_max(), 1);
        let d = p("address = \"10.0.0.2/30\"\n").unwrap();
        assert_eq!(
            d.dhcp,
            Some((Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 1)))
        );
    }

    #[test]
    fn unknown_keys_name_key_file_and_line() {
        assert_eq!(
            err("address = \"10.0.0.1/24\"\n\nfoo = 1\n"),
            format!("{F}:3: unknown key `foo'")
        );
        assert_eq!(
            err("address = \"10.0.0.1/24\"\n[[host]]\nmac = \"52:54:00:00:00:10\"\nip = \"10.0.0.5\"\nnmae = \"x\"\n"),
            format!("{F}:5: unknown key `nmae'")
        );
        assert_eq!(
            err("address = \"10.0.0.1/24\"\n[[forward]]\nproto = \"tcp\"\nport = 1\nto = \"10.0.0.5:1\"\nhost_address = \"1.2.3.4\"\n"),
            format!("{F}:6: unknown key `host_address'")
        );
    }

    #[test]
    fn keys_and_values_echoed_escaped() {
        // A quoted key and values holding an ESC sequence, NUL, U+2028 and a
        // bidi override: printed as \xNN, one line.
        assert_eq!(
            err("\"\\u001b[2J\\u0000\" = 1\n"),
            format!("{F}:1: unknown key `\\x1b[2J\\x00'")
        );
        assert_eq!(
            err("mode = \"nat\\u2028x\\u202e\"\n"),
            format!("{F}:1: `mode': unknown mode `nat\\xe2\\x80\\xa8x\\xe2\\x80\\xae' (expected nat, isolated, routed or bridged)")
        );
        for text in [
            "address = \"10.0.0.1/24\"\ndomain = \"a\\u001bb\"\n",
            "address = \"1\\u2029\"\n",
            "uplink = \"e\\u0007\"\n",
            "\u{2028} = 1\n",
            "x\u{1b} = 1\n",
            "mtu = \"\\u0085\"\n",
        ] {
            let e = err(text);
            assert!(
                !e.chars().any(crate::output::non_printing),
                "{text:?}: {e:?}"
            );
        }
    }

    #[test]
    fn syntax_and_type_errors_have_lines() {
        assert_eq!(
            err("address = \"10.0.0.1/24\"\ndhcp = \"yes\"\n"),
            format!("{F}:2: `dhcp': invalid type: string \"yes\", expected a boolean")
        );
        assert_eq!(
            err("address = \"10.0.0.1/24\"\n[[forward]]\nproto = \"tcp\"\nport = 1.5\n"),
            format!("{F}:4: `port': invalid type: floating point `1.5`, expected a string or an integer")
        );
        let e = err("address = \"10.0.0.1/24\"\n[host]\nmac = \"x\"\n");
        assert!(e.starts_with(&format!("{F}:2: ")), "{e}");
        let e = err("address = \"10.0.0.1/24\"\naddress = \"10.0.0.1/24\"\n");
        assert!(e.starts_with(&format!("{F}:2: ")), "{e}");
        let e = err("mode = \n");
        assert!(e.starts_with(&format!("{F}:1: ")), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn address_errors() {
        assert_eq!(
            err("address = \"10.200.0.1/33\"\n"),
            format!("{F}:1: `address': invalid IPv4 address/prefix `10.200.0.1/33'")
        );
        assert_eq!(
            err("\naddress = \"10.200.0.1\"\n"),
            format!("{F}:2: `address': invalid IPv4 address/prefix `10.200.0.1'")
        );
        assert_eq!(
            err("address = \"10.200.0.1/31\"\n"),
            format!("{F}:1: `address': prefix length /31 not supported (8..=30)")
        );
        assert_eq!(
            err("address = \"10.0.0.1/7\"\n"),
            format!("{F}:1: `address': prefix length /7 not supported (8..=30)")
        );
        assert_eq!(
            err("address = \"10.200.0.0/24\"\n"),
            format!("{F}:1: `address': 10.200.0.0 is the subnet's network address; use a host address such as 10.200.0.1")
        );
        assert_eq!(
            err("address = \"10.200.0.255/24\"\n"),
            format!("{F}:1: `address': 10.200.0.255 is the subnet's broadcast address")
        );
        assert!(err("address = \"010.200.0.1/24\"\n").contains("invalid IPv4"));
        assert!(err("address = \"10.200.0.1/+24\"\n").contains("invalid IPv4"));
        assert!(err("address = \"127.0.0.1/8\"\n").contains("loopback"));
        assert!(err("address = \"224.0.0.1/24\"\n").contains("unicast"));
        assert_eq!(
            err("dns = true\n"),
            format!("{F}: `address' is required in nat mode")
        );
        assert_eq!(
            err("mode = \"isolated\"\n"),
            format!("{F}: `address' is required in isolated mode")
        );
        assert_eq!(
            err("mode = \"bridge\"\n"),
            format!(
                "{F}:1: `mode': unknown mode `bridge' (expected nat, isolated, routed or bridged)"
            )
        );
    }

    #[test]
    fn dhcp_range_errors() {
        let base = "address = \"10.0.0.1/24\"\n";
        let r = |range: &str| err(&format!("{base}dhcp-range = \"{range}\"\n"));
        assert_eq!(
            r("10.0.1.5-10.0.0.9"),
            format!("{F}:2: `dhcp-range': 10.0.1.5 is outside the subnet 10.0.0.0/24")
        );
        assert_eq!(
            r("10.0.0.0-10.0.0.9"),
            format!("{F}:2: `dhcp-range': 10.0.0.0 is the subnet's network address")
        );
        assert_eq!(
            r("10.0.0.2-10.0.0.255"),
            format!("{F}:2: `dhcp-range': 10.0.0.255 is the subnet's broadcast address")
        );
        assert_eq!(
            r("10.0.0.9-10.0.0.2"),
            format!("{F}:2: `dhcp-range': 10.0.0.9 comes after 10.0.0.2")
        );
        assert_eq!(
            r("10.0.0.1-10.0.0.20"),
            format!("{F}:2: `dhcp-range': the range contains the bridge's own address 10.0.0.1")
        );
        assert!(r("10.0.0.2").contains("invalid range"));
        assert!(r("10.0.0.2 - 10.0.0.5").contains("invalid range"));
        let d = p(&format!("{base}dhcp-range = \"10.0.0.2-10.0.0.2\"\n")).unwrap();
        assert_eq!(d.lease_max(), 1);
        assert_eq!(
            err(&format!(
                "{base}dhcp = false\ndhcp-range = \"10.0.0.2-10.0.0.3\"\n"
            )),
            format!("{F}:3: `dhcp-range': given but `dhcp = false'")
        );
        assert_eq!(
            err(&format!("{base}dhcp = false\nlease-time = \"1h\"\n")),
            format!("{F}:3: `lease-time': given but `dhcp = false'")
        );
        let d = p(&format!("{base}dhcp = false\n")).unwrap();
        assert_eq!(d.dhcp, None);
        assert_eq!(d.lease_max(), 0);
    }

    #[test]
    fn durations() {
        let base = "address = \"10.0.0.1/24\"\n";
        let lt = |v: &str| p(&format!("{base}lease-time = {v}\n")).map(|d| d.lease_time);
        assert_eq!(lt("\"2m\"").unwrap(), Some(120));
        assert_eq!(lt("\"2d\"").unwrap(), Some(172800));
        assert_eq!(lt("\"90m\"").unwrap(), Some(5400));
        assert_eq!(lt("\"3600\"").unwrap(), Some(3600));
        assert_eq!(lt("7200").unwrap(), Some(7200));
        assert_eq!(lt("\"infinite\"").unwrap(), None);
        assert_eq!(
            lt("\"90s\"").unwrap_err().message(),
            format!("{F}:2: `lease-time': must be at least 2m (dnsmasq's minimum) or \"infinite\"")
        );
        assert_eq!(
            lt("\"1w\"").unwrap_err().message(),
            format!(
                "{F}:2: `lease-time': invalid duration `1w' (e.g. \"30s\", \"5m\", \"1h\", \"2d\")"
            )
        );
        assert!(lt("\"-5m\"").is_err());
        assert!(lt("\"5 m\"").is_err());
        assert!(lt("\"\"").is_err());
        assert!(lt("\"h\"").is_err());
        assert!(lt("-300").unwrap_err().message().contains("negative"));
        assert!(lt("\"99999999999d\"")
            .unwrap_err()
            .message()
            .contains("too long"));
        assert!(lt("true").is_err());
        let it = |v: &str| p(&format!("{base}idle-timeout = {v}\n")).map(|d| d.idle_timeout);
        assert_eq!(it("\"never\"").unwrap(), None);
        assert_eq!(it("\"0\"").unwrap(), Some(Duration::ZERO));
        assert_eq!(it("\"5m\"").unwrap(), Some(Duration::from_secs(300)));
        assert_eq!(it("45").unwrap(), Some(Duration::from_secs(45)));
        assert!(it("\"Never\"").is_err());
    }

    #[test]
    fn names() {
        let base = "address = \"10.0.0.1/24\"\n";
        for bad in [
            "",
            "a/b",
            "a b",
            "a%d",
            "a:1",
            "-x",
            ".",
            "..",
            "abcdefghijklmnop",
            "eth+",
            "é",
        ] {
            assert!(
                parse(base, "f", bad)
                    .unwrap_err()
                    .message()
                    .starts_with("f: network name"),
                "{bad}"
            );
            if !bad.is_empty() {
                let e = err(&format!("{base}uplink = \"{bad}\"\n"));
                assert!(e.starts_with(&format!("{F}:2: `uplink': ")), "{e}");
            }
        }
        for good in ["br0", "vnet-lab_1", "eth0.100", "abcdefghijklmno"] {
            parse(base, "f", good).unwrap();
        }
        assert_eq!(
            err(&format!("{base}uplink = \"vnet0\"\n")),
            format!("{F}:2: `uplink': is the network's own bridge")
        );
        assert_eq!(
            err("mode = \"isolated\"\naddress = \"10.0.0.1/24\"\nuplink = \"eth0\"\n"),
            format!("{F}:3: `uplink': not used in isolated mode (nothing goes out)")
        );
        assert!(
            err("mode = \"routed\"\naddress = \"10.0.0.1/24\"\nuplink = \"eth0\"\n")
                .contains("not used in routed mode")
        );
        let e = err(&format!("{base}domain = \"my_lab\"\n"));
        assert!(
            e.starts_with(&format!("{F}:2: `domain': `my_lab': ")),
            "{e}"
        );
        assert!(err(&format!("{base}domain = \"vm.\"\n")).contains("`domain'"));
        assert!(err(&format!("{base}domain = \"-vm\"\n")).contains("`domain'"));
        assert_eq!(
            p(&format!("{base}domain = \"Lab.Example\"\n"))
                .unwrap()
                .domain
                .as_deref(),
            Some("lab.example")
        );
    }

    #[test]
    fn mtu_range() {
        let base = "address = \"10.0.0.1/24\"\n";
        assert_eq!(p(&format!("{base}mtu = 68\n")).unwrap().mtu, Some(68));
        assert_eq!(p(&format!("{base}mtu = 65535\n")).unwrap().mtu, Some(65535));
        assert_eq!(
            err(&format!("{base}mtu = 67\n")),
            format!("{F}:2: `mtu': 67 is out of range (68..=65535)")
        );
        assert!(err(&format!("{base}mtu = 65536\n")).contains("out of range"));
        assert!(err(&format!("{base}mtu = \"1500\"\n")).starts_with(&format!("{F}:2: ")));
    }

    #[test]
    fn bridged_mode() {
        let d = p("mode = \"bridged\"\nuplink = \"eth1\"\nallow-default-route-uplink = true\nmtu = 9000\n").unwrap();
        assert_eq!(d.mode, Mode::Bridged);
        assert_eq!(d.ipv4, None);
        assert_eq!(d.dhcp, None);
        assert!(!d.dns);
        assert!(d.allow_default_route_uplink);
        assert_eq!(d.mtu, Some(9000));
        assert!(!d.needs_dnsmasq());
        assert_eq!(
            err("mode = \"bridged\"\n"),
            format!("{F}: `uplink' is required in bridged mode")
        );
        assert_eq!(
            err("mode = \"bridged\"\nuplink = \"eth1\"\naddress = \"10.0.0.1/24\"\n"),
            format!("{F}:3: `address': not used in bridged mode")
        );
        assert_eq!(
            err("mode = \"bridged\"\nuplink = \"eth1\"\ndns = false\n"),
            format!("{F}:3: `dns': not used in bridged mode")
        );
        assert_eq!(
            err("mode = \"bridged\"\nuplink = \"eth1\"\n[[host]]\nmac = \"52:54:00:00:00:01\"\nip = \"10.0.0.2\"\n"),
            format!("{F}:3: [[host]] is not used in bridged mode")
        );
        assert_eq!(
            err("address = \"10.0.0.1/24\"\nallow-default-route-uplink = false\n"),
            format!("{F}:2: `allow-default-route-uplink': only used in bridged mode")
        );
    }

    #[test]
    fn modes() {
        let d =
            p("mode = \"isolated\"\naddress = \"10.0.0.1/24\"\nipv6 = \"fd00::1/64\"\n").unwrap();
        assert_eq!(d.mode, Mode::Isolated);
        assert!(!d.ipv6_nat);
        let d = p("mode = \"routed\"\naddress = \"10.0.0.1/24\"\nipv6 = \"fd00::1/64\"\n").unwrap();
        assert_eq!(d.mode, Mode::Routed);
        assert!(!d.ipv6_nat);
        assert_eq!(
            err("mode = \"routed\"\naddress = \"10.0.0.1/24\"\nipv6 = \"fd00::1/64\"\nipv6-nat = true\n"),
            format!("{F}:4: `ipv6-nat': not possible in routed mode")
        );
        assert_eq!(
            err("address = \"10.0.0.1/24\"\nipv6-nat = false\n"),
            format!("{F}:2: `ipv6-nat': given without `ipv6'")
        );
        let d = p("address = \"10.0.0.1/24\"\nipv6 = \"fd00::1/64\"\nipv6-nat = false\n").unwrap();
        assert!(!d.ipv6_nat);
        let d = p("address = \"10.0.0.1/24\"\ndhcp = false\ndns = false\n").unwrap();
        assert!(!d.needs_dnsmasq());
    }

    #[test]
    fn ipv6_errors() {
        let base = "address = \"10.0.0.1/24\"\n";
        let e = |v: &str| err(&format!("{base}ipv6 = \"{v}\"\n"));
        assert_eq!(
            e("fd00::1/48"),
            format!("{F}:2: `ipv6': prefix length /48 not supported (router advertisements and DHCPv6 need /64)")
        );
        assert!(e("fd00::1").contains("invalid IPv6"));
        assert!(e("fd00::1/129").contains("invalid IPv6"));
        assert!(e("fe80::1/64").contains("not a global or unique-local"));
        assert!(e("ff02::1/64").contains("not a global or unique-local"));
        assert!(e("::1/64").contains("not a global or unique-local"));
        assert!(e("::ffff:10.0.0.1/64").contains("not a global or unique-local"));
        assert!(e("fd00::/64").contains("subnet-router anycast"));
        // The DHCPv6 range moves out of the way of the bridge's own address.
        let d = p(&format!("{base}ipv6 = \"fd00::180/64\"\n")).unwrap();
        assert_eq!(
            d.dhcp6_range(),
            Some(("fd00::200".parse().unwrap(), "fd00::2ff".parse().unwrap()))
        );
        let d = p(&format!("{base}dhcp = false\nipv6 = \"fd00::1/64\"\n")).unwrap();
        assert_eq!(d.dhcp6_range(), None);
        assert!(d.needs_dnsmasq());
    }

    #[test]
    fn host_errors() {
        let base = "address = \"10.0.0.1/24\"\n";
        let h =
            |mac: &str, ip: &str| err(&format!("{base}[[host]]\nmac = \"{mac}\"\nip = \"{ip}\"\n"));
        assert_eq!(
            h("53:54:00:00:00:01", "10.0.0.5"),
            format!("{F}:3: `mac': 53:54:00:00:00:01 is a multicast MAC address")
        );
        assert_eq!(
            h("00:00:00:00:00:00", "10.0.0.5"),
            format!("{F}:3: `mac': 00:00:00:00:00:00 is the all-zero MAC address")
        );
        for bad in [
            "52:54:00:00:00",
            "52:54:00:00:00:01:02",
            "52-54-00-00-00-01",
            "52:54:0:00:00:01",
            "52:54:00:00:00:0g",
            "+2:54:00:00:00:01",
        ] {
            assert!(h(bad, "10.0.0.5").contains("invalid MAC"), "{bad}");
        }
        assert_eq!(
            h("52:54:00:00:00:01", "10.0.1.5"),
            format!("{F}:4: `ip': 10.0.1.5 is outside the subnet 10.0.0.0/24")
        );
        assert_eq!(
            h("52:54:00:00:00:01", "10.0.0.1"),
            format!("{F}:4: `ip': 10.0.0.1 is the bridge's own address")
        );
        assert!(h("52:54:00:00:00:01", "10.0.0.255").contains("broadcast"));
        assert!(h("52:54:00:00:00:01", "10.0.0.0").contains("network address"));
        assert_eq!(
            err(&format!("{base}[[host]]\nip = \"10.0.0.5\"\n")),
            format!("{F}:2: [[host]] needs `mac'")
        );
        let two = |a: &str, b: &str| err(&format!("{base}[[host]]\n{a}\n[[host]]\n{b}\n"));
        assert_eq!(
            two(
                "mac = \"52:54:00:00:00:01\"\nip = \"10.0.0.5\"",
                "mac = \"52:54:00:00:00:01\"\nip = \"10.0.0.6\""
            ),
            format!("{F}:6: `mac': 52:54:00:00:00:01 already used at line 2")
        );
        // MACs compare as numbers, not text.
        assert_eq!(
            two(
                "mac = \"52:54:00:00:00:AB\"\nip = \"10.0.0.5\"",
                "mac = \"52:54:00:00:00:ab\"\nip = \"10.0.0.6\""
            ),
            format!("{F}:6: `mac': 52:54:00:00:00:ab already used at line 2")
        );
        assert_eq!(
            two(
                "mac = \"52:54:00:00:00:01\"\nip = \"10.0.0.5\"",
                "mac = \"52:54:00:00:00:02\"\nip = \"10.0.0.5\""
            ),
            format!("{F}:7: `ip': 10.0.0.5 already used at line 2")
        );
        assert_eq!(
            two(
                "mac = \"52:54:00:00:00:01\"\nip = \"10.0.0.5\"\nname = \"Web\"",
                "mac = \"52:54:00:00:00:02\"\nip = \"10.0.0.6\"\nname = \"web\""
            ),
            format!("{F}:9: `name': `web' already used at line 2")
        );
        for bad in ["", "a.b", "a b", "-a", "a-", "x#y", &"a".repeat(64)] {
            let e = err(&format!("{base}[[host]]\nmac = \"52:54:00:00:00:01\"\nip = \"10.0.0.5\"\nname = \"{bad}\"\n"));
            assert!(e.starts_with(&format!("{F}:5: `name': ")), "{e}");
        }
    }

    #[test]
    fn forward_errors() {
        let base = "address = \"10.0.0.1/24\"\nipv6 = \"fd00::1/64\"\n";
        let f = |body: &str| err(&format!("{base}[[forward]]\n{body}\n"));
        assert_eq!(
            f("proto = \"sctp\"\nport = 1\nto = \"10.0.0.5:1\""),
            format!("{F}:4: `proto': unknown protocol `sctp' (expected tcp or udp)")
        );
        assert_eq!(
            f("proto = \"tcp\"\nport = 0\nto = \"10.0.0.5:1\""),
            format!("{F}:5: `port': port 0 out of range (1..=65535)")
        );
        assert!(f("proto = \"tcp\"\nport = 70000\nto = \"10.0.0.5:1\"").contains("out of range"));
        assert!(f("proto = \"tcp\"\nport = \"10-5\"\nto = \"10.0.0.5:1\"")
            .contains("first port after last"));
        assert!(f("proto = \"tcp\"\nport = \"10-\"\nto = \"10.0.0.5:1\"").contains("invalid port"));
        assert!(f("proto = \"tcp\"\nport = \"+10\"\nto = \"10.0.0.5:1\"").contains("invalid port"));
        assert_eq!(
            f("proto = \"tcp\"\nport = 80\nto = \"10.0.1.5:80\""),
            format!("{F}:6: `to': 10.0.1.5 is outside the subnet 10.0.0.0/24")
        );
        assert!(
            f("proto = \"tcp\"\nport = 80\nto = \"10.0.0.1:80\"").contains("bridge's own address")
        );
        assert!(f("proto = \"tcp\"\nport = 80\nto = \"10.0.0.5\"").contains("invalid destination"));
        assert!(f("proto = \"tcp\"\nport = 80\nto = \"10.0.0.5:0\"").contains("port 0"));
        assert!(
            f("proto = \"tcp\"\nport = 80\nto = \"[fd01::5]:80\"").contains("outside the prefix")
        );
        assert!(
            f("proto = \"tcp\"\nport = 80\nto = \"[fd00::1]:80\"").contains("bridge's own address")
        );
        assert_eq!(
            f("proto = \"tcp\"\nport = \"1000-1010\"\nto = \"10.0.0.5:65530\""),
            format!("{F}:6: `to': port range 65530-65540 does not fit below 65536")
        );
        assert_eq!(
            f("proto = \"tcp\"\nport = 80\nto = \"10.0.0.5:80\"\nhost-address = \"fd00::9\""),
            format!("{F}:7: `host-address': fd00::9 and the destination 10.0.0.5 are not of the same family")
        );
        assert!(f(
            "proto = \"tcp\"\nport = 80\nto = \"10.0.0.5:80\"\nhost-address = \"127.0.0.1\""
        )
        .contains("route_localnet"));
        assert!(
            f("proto = \"tcp\"\nport = 80\nto = \"10.0.0.5:80\"\nhost-address = \"0.0.0.0\"")
                .contains("not a unicast")
        );
        assert_eq!(
            f("port = 80\nto = \"10.0.0.5:80\""),
            format!("{F}:3: [[forward]] needs `proto'")
        );
        // IPv6 destination without ipv6 on the network.
        let e = err("address = \"10.0.0.1/24\"\n[[forward]]\nproto = \"tcp\"\nport = 80\nto = \"[fd00::5]:80\"\n");
        assert!(e.contains("the network has no `ipv6'"), "{e}");
        // Forwards in isolated mode.
        assert_eq!(
            err("mode = \"isolated\"\naddress = \"10.0.0.1/24\"\n[[forward]]\nproto = \"tcp\"\nport = 80\nto = \"10.0.0.5:80\"\n"),
            format!("{F}:3: [[forward]] is only possible in nat and routed modes, not isolated")
        );
        assert!(p("mode = \"routed\"\naddress = \"10.0.0.1/24\"\n[[forward]]\nproto = \"tcp\"\nport = 80\nto = \"10.0.0.5:80\"\n").is_ok());
    }

    #[test]
    fn forward_overlaps() {
        let base = "address = \"10.0.0.1/24\"\nipv6 = \"fd00::1/64\"\n";
        let two = |a: &str, b: &str| p(&format!("{base}[[forward]]\n{a}\n\n[[forward]]\n{b}\n"));
        let e = two(
            "proto = \"tcp\"\nport = \"8000-8010\"\nto = \"10.0.0.5:8000\"",
            "proto = \"tcp\"\nport = 8005\nto = \"10.0.0.6:80\"",
        )
        .unwrap_err();
        assert_eq!(
            e.message(),
            format!("{F}:10: `port': tcp 8005 overlaps the forward at line 3")
        );
        // Other protocol: fine.
        two(
            "proto = \"tcp\"\nport = 8005\nto = \"10.0.0.5:80\"",
            "proto = \"udp\"\nport = 8005\nto = \"10.0.0.6:80\"",
        )
        .unwrap();
        // Different host addresses: fine; same or unrestricted: overlap.
        two(
            "proto = \"tcp\"\nport = 80\nto = \"10.0.0.5:80\"\nhost-address = \"198.51.100.1\"",
            "proto = \"tcp\"\nport = 80\nto = \"10.0.0.6:80\"\nhost-address = \"198.51.100.2\"",
        )
        .unwrap();
        assert!(two(
            "proto = \"tcp\"\nport = 80\nto = \"10.0.0.5:80\"\nhost-address = \"198.51.100.1\"",
            "proto = \"tcp\"\nport = 80\nto = \"10.0.0.6:80\"\nhost-address = \"198.51.100.1\"",
        )
        .is_err());
        let e = two(
            "proto = \"tcp\"\nport = 80\nto = \"10.0.0.5:80\"",
            "proto = \"tcp\"\nport = \"70-80\"\nto = \"10.0.0.6:70\"\nhost-address = \"198.51.100.1\"",
        )
        .unwrap_err();
        assert_eq!(
            e.message(),
            format!("{F}:10: `port': tcp 70-80 overlaps the forward at line 3")
        );
        // Other family: separate rulesets, fine.
        two(
            "proto = \"tcp\"\nport = 80\nto = \"10.0.0.5:80\"",
            "proto = \"tcp\"\nport = 80\nto = \"[fd00::5]:80\"",
        )
        .unwrap();
        // Adjacent ranges do not overlap.
        two(
            "proto = \"tcp\"\nport = \"80-89\"\nto = \"10.0.0.5:80\"",
            "proto = \"tcp\"\nport = \"90-99\"\nto = \"10.0.0.5:90\"",
        )
        .unwrap();
    }
}
