//! One managed network's definition: /etc/vnet-helper/networks/NAME.toml, where
//! NAME is the bridge's name.
//!
//! `load` opens the file safely (no symlink, root-owned, not group/other
//! writable, bounded size) and `parse` turns the TOML into a [`Definition`]
//! with every default resolved and every value validated, so that the
//! firewall and dnsmasq planners downstream can paste values into rules and
//! config lines without further checks. Every error names the file and the
//! line: "FILE:LINE: `key': what is wrong".
//!
//! The file format (kebab-case keys):
//!
//! ```toml
//! mode = "nat"                               # nat (default) | isolated | routed | bridged
//! address = "10.200.0.1/24"                  # the bridge's IPv4 address/prefix (not in bridged mode)
//! dhcp = true                                # default true
//! dhcp-range = "10.200.0.100-10.200.0.199"   # default: the whole subnet but network, broadcast, gateway
//! lease-time = "1h"                          # "30s", "5m", "1h", "2d", seconds, or "infinite"; min 2m
//! dns = true                                 # default true
//! domain = "vm"                              # guests' DHCP names resolve as NAME.vm
//! uplink = "eth0"                            # nat: masquerade only out of it; bridged: the enslaved interface
//! mtu = 1500                                 # the bridge's MTU, 68..=65535
//! idle-timeout = "30s"                       # default 30s; "never" keeps the network up
//! allow-default-route-uplink = false         # bridged only
//! ipv6 = "fd42:1:2:3::1/64"                  # the bridge's IPv6 address; RA + DHCPv6
//! ipv6-nat = true                            # nat mode: masquerade IPv6 too (default); false = routed v6
//!
//! [[host]]                                   # static lease
//! mac = "52:54:00:00:00:10"
//! ip = "10.200.0.10"
//! name = "web"
//!
//! [[forward]]                                # port forward, nat and routed modes
//! proto = "tcp"
//! port = 8080                                # or "8000-8010"
//! to = "10.200.0.10:80"                      # or "[fd42:1:2:3::10]:80"
//! host-address = "198.51.100.2"              # optional
//! ```
//!
//! Choices made where the contract left room (each one is checked in `parse`):
//! - Keys that only make sense with IP service on the bridge (address, dhcp,
//!   dhcp-range, lease-time, dns, domain, ipv6, ipv6-nat, [[host]],
//!   [[forward]]) are errors in bridged mode, even when set to a harmless value:
//!   a file that says something the helper will not do is a mistake.
//! - `uplink` is an error in isolated mode (nothing goes out) and in routed
//!   mode (nothing is masqueraded and forwarding follows the routing table);
//!   `allow-default-route-uplink` is an error outside bridged mode.
//! - `dhcp-range` and `lease-time` with `dhcp = false` are errors
//!   (contradiction); `ipv6-nat` without `ipv6`, or set to true outside nat
//!   mode, is an error.
//! - Interface names (the network's own name and `uplink`) are stricter than
//!   the kernel's: 1..=15 bytes of ASCII letters, digits, '-', '_' and '.',
//!   not starting with '-', not "." or "..". They end up in iptables chain
//!   names and arguments ('+' would be a wildcard there), dnsmasq config lines
//!   and file paths, so nothing else is allowed.
//! - IPv4 prefix lengths are 8..=30; the IPv6 prefix must be /64 (SLAAC and
//!   dnsmasq's DHCPv6 ranges as libvirt uses them need it) and the address a
//!   global or unique-local unicast one that is not the prefix's all-zero
//!   (subnet-router anycast) address.
//! - The default DHCP range is every address of the subnet except the
//!   network, broadcast and gateway addresses. One range cannot have a hole,
//!   so when the gateway is neither first nor last usable address the larger
//!   side of it is used (the upper side on a tie).
//! - Durations are capped at 10 years so that later `Instant + Duration`
//!   arithmetic can never overflow (and lease times fit dnsmasq's 32 bits).
//! - A forward's `to` must be a guest address (inside the subnet or the IPv6
//!   prefix, not the network, broadcast or gateway address); `host-address`
//!   must be of the same family, and not unspecified, multicast or loopback
//!   (DNAT to a guest from 127.0.0.1 needs route_localnet, which we refuse
//!   to turn on). Host port ranges map onto a range of the same length from
//!   the `to` port, which must fit below 65536.
//! - Static hosts: unique MACs, IPs and (case-insensitively) names.

use std::fmt;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, OrFail, Result};

/// Largest definition file we read.
pub const MAX_FILE_SIZE: u64 = 64 * 1024;

/// Longest duration accepted anywhere (10 years).
const MAX_DURATION_SECS: u64 = 10 * 365 * 24 * 3600;

/// dnsmasq refuses lease times below two minutes.
const MIN_LEASE_SECS: u64 = 120;

const DEFAULT_LEASE_SECS: u64 = 3600;
const DEFAULT_IDLE_SECS: u64 = 30;

/// How the network reaches (or does not reach) the outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Guests' traffic is masqueraded behind the host's address.
    Nat,
    /// Guests talk to each other and to the host's DHCP/DNS only.
    Isolated,
    /// Guests' traffic is forwarded unmodified (the LAN routes the subnet back).
    Routed,
    /// The bridge enslaves `uplink`: guests sit on the LAN, no IP service here.
    Bridged,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Nat => "nat",
            Mode::Isolated => "isolated",
            Mode::Routed => "routed",
            Mode::Bridged => "bridged",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An IPv4 address with a prefix length ("10.200.0.1/24").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Net {
    pub address: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Net {
    /// The netmask as a number (prefix 0..=32).
    fn mask_bits(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix.min(32)))
        }
    }

    /// The netmask, e.g. 255.255.255.0.
    pub fn mask(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.mask_bits())
    }

    /// The first address of the subnet.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) & self.mask_bits())
    }

    /// The last address of the subnet.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) | !self.mask_bits())
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask_bits() == u32::from(self.network())
    }

    /// The subnet itself ("10.200.0.0/24").
    pub fn subnet(&self) -> Ipv4Net {
        Ipv4Net {
            address: self.network(),
            prefix: self.prefix,
        }
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

/// An IPv6 address with a prefix length ("fd42:1:2:3::1/64").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Net {
    pub address: Ipv6Addr,
    pub prefix: u8,
}

impl Ipv6Net {
    fn mask_bits(&self) -> u128 {
        if self.prefix == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(self.prefix.min(128)))
        }
    }

    /// The first address of the prefix.
    pub fn network(&self) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.address) & self.mask_bits())
    }

    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        u128::from(ip) & self.mask_bits() == u128::from(self.network())
    }

    /// The prefix itself ("fd42:1:2:3::/64").
    pub fn subnet(&self) -> Ipv6Net {
        Ipv6Net {
            address: self.network(),
            prefix: self.prefix,
        }
    }
}

impl fmt::Display for Ipv6Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

/// A static DHCP lease (`[[host]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub mac: [u8; 6],
    pub ip: Ipv4Addr,
    /// A DNS label: ASCII letters, digits and '-', 1..=63 bytes.
    pub name: Option<String>,
    /// Line of the entry in the file (for messages).
    pub line: usize,
}

impl Host {
    /// "52:54:00:00:00:10"
    pub fn mac_string(&self) -> String {
        format_mac(&self.mac)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A port forward from the host to a guest (`[[forward]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub proto: Proto,
    /// First and last host port (equal for a single port).
    pub host_ports: (u16, u16),
    /// The guest address; IPv4 in the subnet or IPv6 in the ipv6 prefix.
    pub to_ip: IpAddr,
    /// First guest port; host port `host_ports.0 + k` goes to `to_port + k`.
    pub to_port: u16,
    /// Only connections to this host address (same family as `to_ip`).
    pub host_address: Option<IpAddr>,
    /// Line of the entry in the file (for messages).
    pub line: usize,
}

impl Forward {
    /// Last guest port of the range.
    pub fn to_port_end(&self) -> u16 {
        // Validated in parse: fits in u16.
        self.to_port + (self.host_ports.1 - self.host_ports.0)
    }

    pub fn is_ipv6(&self) -> bool {
        self.to_ip.is_ipv6()
    }
}

/// A network definition with every default resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    /// The bridge's name (= the file's stem).
    pub name: String,
    pub mode: Mode,
    /// The bridge's IPv4 address and prefix (None only in bridged mode).
    pub ipv4: Option<Ipv4Net>,
    /// The DHCP range (None with `dhcp = false` or in bridged mode).
    pub dhcp: Option<(Ipv4Addr, Ipv4Addr)>,
    /// Lease time in seconds; None = infinite.
    pub lease_time: Option<u64>,
    /// Whether dnsmasq serves DNS (false in bridged mode).
    pub dns: bool,
    pub domain: Option<String>,
    pub uplink: Option<String>,
    pub mtu: Option<u32>,
    /// None = never tear the network down.
    pub idle_timeout: Option<Duration>,
    pub allow_default_route_uplink: bool,
    pub ipv6: Option<Ipv6Net>,
    /// Masquerade IPv6 (nat mode with ipv6 only).
    pub ipv6_nat: bool,
    pub hosts: Vec<Host>,
    pub forwards: Vec<Forward>,
    /// The other defined networks (bridge names), filled in by the caller of
    /// `load` from the definitions directory: traffic from their bridges is
    /// rejected at this network's bridge (networks are isolated from each
    /// other in every mode). Empty from `parse`.
    pub peers: Vec<String>,
}

impl Definition {
    /// The IPv4 subnet ("10.200.0.0/24").
    pub fn subnet(&self) -> Option<Ipv4Net> {
        self.ipv4.map(|n| n.subnet())
    }

    /// The bridge's own IPv4 address: the guests' gateway and DNS server.
    pub fn gateway(&self) -> Option<Ipv4Addr> {
        self.ipv4.map(|n| n.address)
    }

    /// Number of addresses in the DHCP range (0 without DHCP).
    pub fn lease_max(&self) -> u32 {
        match self.dhcp {
            Some((a, b)) => u32::from(b) - u32::from(a) + 1,
            None => 0,
        }
    }

    /// The DHCPv6 range handed to dnsmasq: PREFIX::100..PREFIX::1ff, or
    /// PREFIX::200..PREFIX::2ff when the bridge's own address is in the first.
    /// None without ipv6 or with `dhcp = false`.
    pub fn dhcp6_range(&self) -> Option<(Ipv6Addr, Ipv6Addr)> {
        let net = self.ipv6?;
        self.dhcp?;
        let base = u128::from(net.network());
        let own = u128::from(net.address) - base;
        let start = if (0x100..=0x1ff).contains(&own) {
            0x200
        } else {
            0x100
        };
        Some((
            Ipv6Addr::from(base + start),
            Ipv6Addr::from(base + start + 0xff),
        ))
    }

    /// Whether the network needs a dnsmasq (DHCP, DNS or router advertisements).
    pub fn needs_dnsmasq(&self) -> bool {
        self.mode != Mode::Bridged && (self.dhcp.is_some() || self.dns || self.ipv6.is_some())
    }
}

/// Open, check and parse a definition file. `name` is the network (bridge)
/// name the caller derived from the file name.
///
/// The file must be a regular file (symlinks are refused: O_NOFOLLOW), owned
/// by root, not writable by group or others, and at most 64 KiB. The checks
/// are made on the opened descriptor, so the file cannot be swapped between
/// check and read.
pub fn load(path: &Path, name: &str) -> Result<Definition> {
    let shown = path.display().to_string();
    let text = read_checked(path, &shown)?;
    parse(&text, &shown, name)
}

fn read_checked(path: &Path, shown: &str) -> Result<String> {
    // std adds O_CLOEXEC itself; O_NONBLOCK keeps a FIFO from blocking the
    // open before fstat refuses it.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                fail!("{shown}: is a symbolic link (refused)")
            } else {
                fail!("{shown}: {e}")
            }
        })?;
    let meta = file.metadata().or_fail(|| shown)?;
    if !meta.file_type().is_file() {
        return Err(fail!("{shown}: not a regular file (refused)"));
    }
    if meta.uid() != 0 {
        return Err(fail!(
            "{shown}: owned by uid {}, not root (refused)",
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(fail!(
            "{shown}: writable by group or others (mode {:o}, refused)",
            meta.mode() & 0o7777
        ));
    }
    if meta.len() > MAX_FILE_SIZE {
        return Err(fail!(
            "{shown}: too large ({} bytes, at most {MAX_FILE_SIZE})",
            meta.len()
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .or_fail(|| shown)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(fail!("{shown}: too large (at most {MAX_FILE_SIZE} bytes)"));
    }
    String::from_utf8(bytes).map_err(|_| fail!("{shown}: not valid UTF-8"))
}

// ---------------------------------------------------------------------------
// Raw TOML shape.

/// A value that may be written as a string or an integer.
#[derive(Debug, Clone)]
enum Scalar {
    Int(i64),
    Str(String),
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Scalar, E> {
                Ok(Scalar::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Scalar, E> {
                i64::try_from(v)
                    .map(Scalar::Int)
                    .map_err(|_| E::custom("number too large"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Scalar, E> {
                Ok(Scalar::Str(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawDef {
    mode: Option<Spanned<String>>,
    address: Option<Spanned<String>>,
    dhcp: Option<Spanned<bool>>,
    dhcp_range: Option<Spanned<String>>,
    lease_time: Option<Spanned<Scalar>>,
    dns: Option<Spanned<bool>>,
    domain: Option<Spanned<String>>,
    uplink: Option<Spanned<String>>,
    mtu: Option<Spanned<i64>>,
    idle_timeout: Option<Spanned<Scalar>>,
    allow_default_route_uplink: Option<Spanned<bool>>,
    ipv6: Option<Spanned<String>>,
    ipv6_nat: Option<Spanned<bool>>,
    #[serde(default)]
    host: Vec<Spanned<RawHost>>,
    #[serde(default)]
    forward: Vec<Spanned<RawForward>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawHost {
    mac: Option<Spanned<String>>,
    ip: Option<Spanned<String>>,
    name: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawForward {
    proto: Option<Spanned<String>>,
    port: Option<Spanned<Scalar>>,
    to: Option<Spanned<String>>,
    host_address: Option<Spanned<String>>,
}

// ---------------------------------------------------------------------------
// Parsing and validation.

/// Where we are: turns byte offsets into "FILE:LINE: " prefixes.
struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
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

    fn line<T>(&self, s: &Spanned<T>) -> usize {
        self.line_of(s.span().start)
    }

    /// "FILE:LINE: `key': msg"
    fn bad<T>(&self, key: &str, s: &Spanned<T>, msg: impl fmt::Display) -> Error {
        fail!("{}:{}: `{key}': {msg}", self.file, self.line(s))
    }

    /// "FILE:LINE: msg"
    fn at<T>(&self, s: &Spanned<T>, msg: impl fmt::Display) -> Error {
        fail!("{}:{}: {msg}", self.file, self.line(s))
    }
}

/// Turn toml/serde's error into "FILE:LINE: message", with unknown keys
/// reported as "unknown key `foo'".
fn toml_error(ctx: &Ctx, e: &toml::de::Error) -> Error {
    let msg = e.message().trim();
    let msg = match msg.strip_prefix("unknown field `") {
        Some(rest) => match rest.split_once('`') {
            Some((key, _)) => format!("unknown key `{key}'"),
            None => msg.to_string(),
        },
        None => msg.to_string(),
    };
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
    check_ifname(name).map_err(|m| fail!("{file}: network name `{name}': {m}"))?;
    let raw: RawDef = toml::de::from_str(text).map_err(|e| toml_error(&ctx, &e))?;

    let mode = match &raw.mode {
        None => Mode::Nat,
        Some(m) => match m.get_ref().as_str() {
            "nat" => Mode::Nat,
            "isolated" => Mode::Isolated,
            "routed" => Mode::Routed,
            "bridged" => Mode::Bridged,
            other => {
                return Err(ctx.bad(
                    "mode",
                    m,
                    format!("unknown mode `{other}' (expected nat, isolated, routed or bridged)"),
                ))
            }
        },
    };

    let uplink = match &raw.uplink {
        None => None,
        Some(u) => {
            check_ifname(u.get_ref())
                .map_err(|m| ctx.bad("uplink", u, format!("`{}': {m}", u.get_ref())))?;
            if u.get_ref() == name {
                return Err(ctx.bad("uplink", u, "is the network's own bridge"));
            }
            match mode {
                Mode::Isolated => {
                    return Err(ctx.bad(
                        "uplink",
                        u,
                        "not used in isolated mode (nothing goes out)",
                    ))
                }
                Mode::Routed => {
                    return Err(ctx.bad(
                        "uplink",
                        u,
                        "not used in routed mode (forwarding follows the routing table)",
                    ))
                }
                Mode::Nat | Mode::Bridged => {}
            }
            Some(u.get_ref().clone())
        }
    };

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

    if mode == Mode::Bridged {
        return bridged(
            &ctx,
            &raw,
            name,
            uplink,
            mtu,
            idle_timeout,
            allow_default_route_uplink,
        );
    }

    // ---- IPv4 address
    let ipv4 = match &raw.address {
        None => return Err(fail!("{file}: `address' is required in {mode} mode")),
        Some(a) => parse_ipv4_net(a.get_ref()).map_err(|m| ctx.bad("address", a, m))?,
    };

    // ---- DHCP
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
        Some(parse_dhcp_range(r.get_ref(), &ipv4).map_err(|m| ctx.bad("dhcp-range", r, m))?)
    } else {
        Some(default_range(&ipv4))
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

    // ---- DNS
    let dns = raw.dns.as_ref().map(|d| *d.get_ref()).unwrap_or(true);
    let domain = match &raw.domain {
        None => None,
        Some(d) => {
            check_domain(d.get_ref())
                .map_err(|m| ctx.bad("domain", d, format!("`{}': {m}", d.get_ref())))?;
            Some(d.get_ref().to_ascii_lowercase())
        }
    };

    // ---- IPv6
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

    // ---- static hosts
    let hosts = parse_hosts(&ctx, &raw.host, &ipv4)?;

    // ---- forwards
    if let Some(f) = raw.forward.first() {
        if !matches!(mode, Mode::Nat | Mode::Routed) {
            return Err(ctx.at(
                f,
                format!("[[forward]] is only possible in nat and routed modes, not {mode}"),
            ));
        }
    }
    let forwards = parse_forwards(&ctx, &raw.forward, &ipv4, ipv6.as_ref())?;

    Ok(Definition {
        name: name.to_string(),
        mode,
        ipv4: Some(ipv4),
        dhcp,
        lease_time,
        dns,
        domain,
        uplink,
        mtu,
        idle_timeout,
        allow_default_route_uplink,
        ipv6,
        ipv6_nat,
        hosts,
        forwards,
        peers: Vec::new(),
    })
}

/// The rest of `parse` for bridged mode: refuse the keys it does not use.
fn bridged(
    ctx: &Ctx,
    raw: &RawDef,
    name: &str,
    uplink: Option<String>,
    mtu: Option<u32>,
    idle_timeout: Option<Duration>,
    allow_default_route_uplink: bool,
) -> Result<Definition> {
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
    if uplink.is_none() {
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
        uplink,
        mtu,
        idle_timeout,
        allow_default_route_uplink,
        ipv6: None,
        ipv6_nat: false,
        hosts: Vec::new(),
        forwards: Vec::new(),
        peers: Vec::new(),
    })
}

fn parse_hosts(ctx: &Ctx, raw: &[Spanned<RawHost>], net: &Ipv4Net) -> Result<Vec<Host>> {
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
    net: &Ipv4Net,
    net6: Option<&Ipv6Net>,
) -> Result<Vec<Forward>> {
    let mut out: Vec<Forward> = Vec::new();
    for entry in raw {
        let f = entry.get_ref();
        let line = ctx.line(entry);
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
        let host_ports =
            parse_port_range(port_s.get_ref()).map_err(|m| ctx.bad("port", port_s, m))?;
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
            Some(h) => {
                let a = parse_host_address(h.get_ref(), to_ip)
                    .map_err(|m| ctx.bad("host-address", h, m))?;
                Some(a)
            }
        };
        let fwd = Forward {
            proto,
            host_ports,
            to_ip,
            to_port,
            host_address,
            line,
        };
        for other in &out {
            if forwards_overlap(other, &fwd) {
                return Err(ctx.bad(
                    "port",
                    port_s,
                    format!(
                        "{} {} overlaps the forward at line {}",
                        proto,
                        port_text(fwd.host_ports),
                        other.line
                    ),
                ));
            }
        }
        out.push(fwd);
    }
    Ok(out)
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

// ---------------------------------------------------------------------------
// Value parsers. They return a message without location; callers add it.

type Msg = String;

/// Interface name rules (see the module comment).
pub fn check_ifname(s: &str) -> std::result::Result<(), Msg> {
    if s.is_empty() {
        return Err("empty interface name".into());
    }
    if s.len() > 15 {
        return Err(format!(
            "interface name too long ({} bytes, at most 15)",
            s.len()
        ));
    }
    if s == "." || s == ".." {
        return Err("not a valid interface name".into());
    }
    if s.starts_with('-') {
        return Err("interface name must not start with '-'".into());
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "character {c:?} not allowed in an interface name (letters, digits, '-', '_', '.')"
        ));
    }
    Ok(())
}

/// A DNS label: letters, digits, '-', 1..=63 bytes, no '-' at either end.
fn check_label(s: &str) -> std::result::Result<(), Msg> {
    if s.is_empty() || s.len() > 63 {
        return Err("a DNS name label has 1 to 63 characters".into());
    }
    if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err("only letters, digits and '-' are allowed".into());
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("must not start or end with '-'".into());
    }
    Ok(())
}

/// A domain: dot-separated labels, at most 253 bytes, no trailing dot.
fn check_domain(s: &str) -> std::result::Result<(), Msg> {
    if s.is_empty() || s.len() > 253 {
        return Err("a domain has 1 to 253 characters".into());
    }
    for label in s.split('.') {
        check_label(label)?;
    }
    Ok(())
}

fn parse_prefix(s: &str, max: u8) -> std::result::Result<u8, ()> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(());
    }
    match s.parse::<u8>() {
        Ok(p) if p <= max => Ok(p),
        _ => Err(()),
    }
}

fn parse_ipv4_net(s: &str) -> std::result::Result<Ipv4Net, Msg> {
    let bad = || format!("invalid IPv4 address/prefix `{s}'");
    let (a, p) = s.split_once('/').ok_or_else(bad)?;
    let address: Ipv4Addr = a.parse().map_err(|_| bad())?;
    let prefix = parse_prefix(p, 32).map_err(|_| bad())?;
    if !(8..=30).contains(&prefix) {
        return Err(format!("prefix length /{prefix} not supported (8..=30)"));
    }
    let net = Ipv4Net { address, prefix };
    if address.is_multicast() || address.is_broadcast() || address.is_unspecified() {
        return Err(format!("{address} is not a unicast address"));
    }
    if address.is_loopback() {
        return Err(format!("{address} is a loopback address"));
    }
    if address == net.network() {
        return Err(format!(
            "{address} is the subnet's network address; use a host address such as {}",
            Ipv4Addr::from(u32::from(net.network()) + 1)
        ));
    }
    if address == net.broadcast() {
        return Err(format!("{address} is the subnet's broadcast address"));
    }
    Ok(net)
}

fn parse_ipv6_net(s: &str) -> std::result::Result<Ipv6Net, Msg> {
    let bad = || format!("invalid IPv6 address/prefix `{s}'");
    let (a, p) = s.split_once('/').ok_or_else(bad)?;
    let address: Ipv6Addr = a.parse().map_err(|_| bad())?;
    let prefix = parse_prefix(p, 128).map_err(|_| bad())?;
    if prefix != 64 {
        return Err(format!(
            "prefix length /{prefix} not supported (router advertisements and DHCPv6 need /64)"
        ));
    }
    let seg0 = address.segments()[0];
    if address.is_unspecified()
        || address.is_loopback()
        || address.is_multicast()
        || (seg0 & 0xffc0) == 0xfe80
        || address.to_ipv4_mapped().is_some()
    {
        return Err(format!(
            "{address} is not a global or unique-local unicast address"
        ));
    }
    let net = Ipv6Net { address, prefix };
    if address == net.network() {
        return Err(format!(
            "{address} is the prefix's subnet-router anycast address; use e.g. {}",
            Ipv6Addr::from(u128::from(net.network()) + 1)
        ));
    }
    Ok(net)
}

/// An IPv4 address for a guest: inside the subnet, not its network,
/// broadcast or gateway address.
fn parse_guest_v4(s: &str, net: &Ipv4Net) -> std::result::Result<Ipv4Addr, Msg> {
    let ip: Ipv4Addr = s
        .parse()
        .map_err(|_| format!("invalid IPv4 address `{s}'"))?;
    check_guest_v4(ip, net)?;
    Ok(ip)
}

fn check_guest_v4(ip: Ipv4Addr, net: &Ipv4Net) -> std::result::Result<(), Msg> {
    if !net.contains(ip) {
        return Err(format!("{ip} is outside the subnet {}", net.subnet()));
    }
    if ip == net.network() {
        return Err(format!("{ip} is the subnet's network address"));
    }
    if ip == net.broadcast() {
        return Err(format!("{ip} is the subnet's broadcast address"));
    }
    if ip == net.address {
        return Err(format!("{ip} is the bridge's own address"));
    }
    Ok(())
}

fn check_guest_v6(ip: Ipv6Addr, net: &Ipv6Net) -> std::result::Result<(), Msg> {
    if !net.contains(ip) {
        return Err(format!("{ip} is outside the prefix {}", net.subnet()));
    }
    if ip == net.network() {
        return Err(format!(
            "{ip} is the prefix's subnet-router anycast address"
        ));
    }
    if ip == net.address {
        return Err(format!("{ip} is the bridge's own address"));
    }
    Ok(())
}

fn parse_dhcp_range(s: &str, net: &Ipv4Net) -> std::result::Result<(Ipv4Addr, Ipv4Addr), Msg> {
    let bad =
        || format!("invalid range `{s}' (expected FIRST-LAST, e.g. 10.200.0.100-10.200.0.199)");
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let a: Ipv4Addr = a.parse().map_err(|_| bad())?;
    let b: Ipv4Addr = b.parse().map_err(|_| bad())?;
    for ip in [a, b] {
        if !net.contains(ip) {
            return Err(format!("{ip} is outside the subnet {}", net.subnet()));
        }
        if ip == net.network() {
            return Err(format!("{ip} is the subnet's network address"));
        }
        if ip == net.broadcast() {
            return Err(format!("{ip} is the subnet's broadcast address"));
        }
    }
    if u32::from(a) > u32::from(b) {
        return Err(format!("{a} comes after {b}"));
    }
    if (u32::from(a)..=u32::from(b)).contains(&u32::from(net.address)) {
        return Err(format!(
            "the range contains the bridge's own address {}",
            net.address
        ));
    }
    Ok((a, b))
}

/// Every usable address but the gateway; the larger side of it when the
/// gateway is in the middle (upper side on a tie).
fn default_range(net: &Ipv4Net) -> (Ipv4Addr, Ipv4Addr) {
    let first = u32::from(net.network()) + 1;
    let last = u32::from(net.broadcast()) - 1;
    let gw = u32::from(net.address);
    // Prefix <= 30 guarantees at least two usable addresses, one of them the gateway.
    let below = gw - first; // usable addresses below the gateway
    let above = last - gw;
    if above >= below {
        (Ipv4Addr::from(gw + 1), Ipv4Addr::from(last))
    } else {
        (Ipv4Addr::from(first), Ipv4Addr::from(gw - 1))
    }
}

/// "30s", "5m", "1h", "2d", "90" (seconds), or an integer (seconds).
fn parse_duration(v: &Scalar) -> std::result::Result<u64, Msg> {
    let secs = match v {
        Scalar::Int(i) => u64::try_from(*i).map_err(|_| format!("{i} is negative"))?,
        Scalar::Str(s) => {
            let bad = || format!("invalid duration `{s}' (e.g. \"30s\", \"5m\", \"1h\", \"2d\")");
            let (digits, unit) = match s.char_indices().last() {
                Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], &s[i..]),
                _ => (s.as_str(), "s"),
            };
            if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(bad());
            }
            let n: u64 = digits.parse().map_err(|_| bad())?;
            let mult = match unit {
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                "d" => 86400,
                _ => return Err(bad()),
            };
            n.checked_mul(mult).ok_or_else(bad)?
        }
    };
    if secs > MAX_DURATION_SECS {
        return Err(format!("{secs} seconds is too long (at most 10 years)"));
    }
    Ok(secs)
}

/// "52:54:00:00:00:10": six pairs of hex digits, unicast, not all zero.
fn parse_mac(s: &str) -> std::result::Result<[u8; 6], Msg> {
    let bad = || format!("invalid MAC address `{s}' (expected e.g. 52:54:00:00:00:10)");
    let mut mac = [0u8; 6];
    let mut n = 0;
    for part in s.split(':') {
        if n == 6 || part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        mac[n] = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        n += 1;
    }
    if n != 6 {
        return Err(bad());
    }
    if mac[0] & 1 != 0 {
        return Err(format!("{s} is a multicast MAC address"));
    }
    if mac == [0; 6] {
        return Err(format!("{s} is the all-zero MAC address"));
    }
    Ok(mac)
}

pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn parse_port(s: &str) -> std::result::Result<u16, Msg> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid port `{s}'"));
    }
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("port `{s}' out of range (1..=65535)")),
    }
}

/// 8080, "8080" or "8000-8010".
fn parse_port_range(v: &Scalar) -> std::result::Result<(u16, u16), Msg> {
    match v {
        Scalar::Int(i) => match u16::try_from(*i) {
            Ok(p) if p > 0 => Ok((p, p)),
            _ => Err(format!("port {i} out of range (1..=65535)")),
        },
        Scalar::Str(s) => {
            let (a, b) = match s.split_once('-') {
                Some((a, b)) => (parse_port(a)?, parse_port(b)?),
                None => {
                    let p = parse_port(s)?;
                    (p, p)
                }
            };
            if a > b {
                return Err(format!("invalid port range `{s}' (first port after last)"));
            }
            Ok((a, b))
        }
    }
}

/// "10.200.0.10:80" or "[fd42:1:2:3::10]:80".
fn parse_to(
    s: &str,
    net: &Ipv4Net,
    net6: Option<&Ipv6Net>,
) -> std::result::Result<(IpAddr, u16), Msg> {
    let sa: SocketAddr = s.parse().map_err(|_| {
        format!("invalid destination `{s}' (expected e.g. 10.200.0.10:80 or [fd42::10]:80)")
    })?;
    if sa.port() == 0 {
        return Err(format!("port 0 in `{s}'"));
    }
    match sa {
        SocketAddr::V4(v4) => {
            check_guest_v4(*v4.ip(), net)?;
        }
        SocketAddr::V6(v6) => {
            if v6.scope_id() != 0 || v6.flowinfo() != 0 {
                return Err(format!("invalid destination `{s}'"));
            }
            let net6 = net6.ok_or_else(|| {
                format!(
                    "{} is an IPv6 address but the network has no `ipv6'",
                    v6.ip()
                )
            })?;
            check_guest_v6(*v6.ip(), net6)?;
        }
    }
    Ok((sa.ip(), sa.port()))
}

fn parse_host_address(s: &str, to: IpAddr) -> std::result::Result<IpAddr, Msg> {
    let a: IpAddr = s.parse().map_err(|_| format!("invalid IP address `{s}'"))?;
    if a.is_ipv4() != to.is_ipv4() {
        return Err(format!(
            "{a} and the destination {to} are not of the same family"
        ));
    }
    if a.is_unspecified() || a.is_multicast() {
        return Err(format!("{a} is not a unicast address"));
    }
    if let IpAddr::V4(v4) = a {
        if v4.is_broadcast() {
            return Err(format!("{a} is not a unicast address"));
        }
    }
    if a.is_loopback() {
        return Err(format!(
            "{a} is a loopback address (forwarding from it would need route_localnet)"
        ));
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"mode = "nat"
address = "10.200.0.1/24"
dhcp = true
dhcp-range = "10.200.0.100-10.200.0.199"
lease-time = "1h"
dns = true
domain = "vm"
uplink = "eth0"
mtu = 1500
idle-timeout = "30s"
ipv6 = "fd42:1:2:3::1/64"
ipv6-nat = true

[[host]]
mac = "52:54:00:00:00:10"
ip = "10.200.0.10"
name = "web"

[[forward]]
proto = "tcp"
port = 8080
to = "10.200.0.10:80"
host-address = "198.51.100.2"

[[forward]]
proto = "udp"
port = "8000-8010"
to = "[fd42:1:2:3::10]:9000"
"#;

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
    fn example_parses() {
        let d = p(EXAMPLE).unwrap();
        assert_eq!(d.name, "vnet0");
        assert_eq!(d.mode, Mode::Nat);
        assert_eq!(
            d.ipv4,
            Some(Ipv4Net {
                address: Ipv4Addr::new(10, 200, 0, 1),
                prefix: 24
            })
        );
        assert_eq!(d.subnet().unwrap().to_string(), "10.200.0.0/24");
        assert_eq!(d.ipv4.unwrap().mask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(
            d.dhcp,
            Some((
                Ipv4Addr::new(10, 200, 0, 100),
                Ipv4Addr::new(10, 200, 0, 199)
            ))
        );
        assert_eq!(d.lease_max(), 100);
        assert_eq!(d.lease_time, Some(3600));
        assert!(d.dns);
        assert_eq!(d.domain.as_deref(), Some("vm"));
        assert_eq!(d.uplink.as_deref(), Some("eth0"));
        assert_eq!(d.mtu, Some(1500));
        assert_eq!(d.idle_timeout, Some(Duration::from_secs(30)));
        assert!(!d.allow_default_route_uplink);
        assert_eq!(d.ipv6.unwrap().to_string(), "fd42:1:2:3::1/64");
        assert_eq!(d.ipv6.unwrap().subnet().to_string(), "fd42:1:2:3::/64");
        assert!(d.ipv6_nat);
        assert_eq!(
            d.hosts,
            vec![Host {
                mac: [0x52, 0x54, 0, 0, 0, 0x10],
                ip: Ipv4Addr::new(10, 200, 0, 10),
                name: Some("web".into()),
                line: 14,
            }]
        );
        assert_eq!(d.hosts[0].mac_string(), "52:54:00:00:00:10");
        assert_eq!(d.forwards.len(), 2);
        assert_eq!(
            d.forwards[0],
            Forward {
                proto: Proto::Tcp,
                host_ports: (8080, 8080),
                to_ip: "10.200.0.10".parse().unwrap(),
                to_port: 80,
                host_address: Some("198.51.100.2".parse().unwrap()),
                line: 19,
            }
        );
        assert_eq!(d.forwards[1].host_ports, (8000, 8010));
        assert_eq!(d.forwards[1].to_port_end(), 9010);
        assert!(d.forwards[1].is_ipv6());
        assert_eq!(d.forwards[1].line, 25);
        assert_eq!(
            d.dhcp6_range(),
            Some((
                "fd42:1:2:3::100".parse().unwrap(),
                "fd42:1:2:3::1ff".parse().unwrap()
            ))
        );
        assert!(d.needs_dnsmasq());
    }

    #[test]
    fn defaults() {
        let d = p("address = \"192.168.50.1/24\"\n").unwrap();
        assert_eq!(d.mode, Mode::Nat);
        assert_eq!(
            d.dhcp,
            Some((
                Ipv4Addr::new(192, 168, 50, 2),
                Ipv4Addr::new(192, 168, 50, 254)
            ))
        );
        assert_eq!(d.lease_max(), 253);
        assert_eq!(d.lease_time, Some(3600));
        assert!(d.dns);
        assert_eq!(d.domain, None);
        assert_eq!(d.uplink, None);
        assert_eq!(d.mtu, None);
        assert_eq!(d.idle_timeout, Some(Duration::from_secs(30)));
        assert_eq!(d.ipv6, None);
        assert!(!d.ipv6_nat);
        assert!(d.hosts.is_empty() && d.forwards.is_empty());
        assert_eq!(d.dhcp6_range(), None);
    }

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
    fn net_helpers() {
        let n = Ipv4Net {
            address: Ipv4Addr::new(172, 16, 5, 9),
            prefix: 20,
        };
        assert_eq!(n.network(), Ipv4Addr::new(172, 16, 0, 0));
        assert_eq!(n.broadcast(), Ipv4Addr::new(172, 16, 15, 255));
        assert_eq!(n.mask(), Ipv4Addr::new(255, 255, 240, 0));
        assert!(n.contains(Ipv4Addr::new(172, 16, 15, 1)));
        assert!(!n.contains(Ipv4Addr::new(172, 16, 16, 1)));
        let n6 = Ipv6Net {
            address: "fd00:1::5".parse().unwrap(),
            prefix: 64,
        };
        assert_eq!(n6.network(), "fd00:1::".parse::<Ipv6Addr>().unwrap());
        assert!(n6.contains("fd00:1::ffff:1".parse().unwrap()));
        assert!(!n6.contains("fd00:2::1".parse().unwrap()));
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

    // ---- load(): file checks.

    struct TempDir(std::path::PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn tempdir(tag: &str) -> TempDir {
        let p = std::path::PathBuf::from(format!(
            "/tmp/vnet-helper-test-{}-{tag}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir(&p).unwrap();
        TempDir(p)
    }

    fn write(path: &Path, text: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn load_checks_the_file() {
        let dir = tempdir("load");
        let f = dir.0.join("vnet0.toml");
        write(&f, "address = \"10.0.0.1/24\"\n", 0o644);
        let root = std::fs::metadata(&f).unwrap().uid() == 0;
        if root {
            assert_eq!(load(&f, "vnet0").unwrap().name, "vnet0");
        } else {
            assert!(load(&f, "vnet0")
                .unwrap_err()
                .message()
                .contains("not root"));
        }
        let shown = f.display().to_string();

        // Errors in the file name it.
        write(&f, "address = \"10.0.0.1/24\"\nbogus = 1\n", 0o644);
        if root {
            assert_eq!(
                load(&f, "vnet0").unwrap_err().message(),
                format!("{shown}:2: unknown key `bogus'")
            );
        }

        // Writable by group or others.
        write(&f, "address = \"10.0.0.1/24\"\n", 0o664);
        if root {
            assert_eq!(
                load(&f, "vnet0").unwrap_err().message(),
                format!("{shown}: writable by group or others (mode 664, refused)")
            );
        }
        write(&f, "address = \"10.0.0.1/24\"\n", 0o646);
        if root {
            assert!(load(&f, "vnet0")
                .unwrap_err()
                .message()
                .contains("writable"));
        }

        // Symlink.
        write(&f, "address = \"10.0.0.1/24\"\n", 0o644);
        let link = dir.0.join("link.toml");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        assert_eq!(
            load(&link, "link").unwrap_err().message(),
            format!("{}: is a symbolic link (refused)", link.display())
        );

        // Directory.
        let sub = dir.0.join("dir.toml");
        std::fs::create_dir(&sub).unwrap();
        assert!(load(&sub, "dir")
            .unwrap_err()
            .message()
            .contains("not a regular file"));

        // Missing.
        let missing = dir.0.join("missing.toml");
        assert!(load(&missing, "missing")
            .unwrap_err()
            .message()
            .starts_with(&format!("{}: ", missing.display())));

        // Too large.
        let big = dir.0.join("big.toml");
        write(&big, &"#".repeat(MAX_FILE_SIZE as usize + 1), 0o644);
        if root {
            assert!(load(&big, "big")
                .unwrap_err()
                .message()
                .contains("too large"));
        }

        // Not owned by root.
        if root {
            std::os::unix::fs::chown(&f, Some(1), None).unwrap();
            assert_eq!(
                load(&f, "vnet0").unwrap_err().message(),
                format!("{shown}: owned by uid 1, not root (refused)")
            );
        }

        // Not UTF-8.
        let bin = dir.0.join("bin.toml");
        std::fs::write(&bin, [0xff, 0xfe]).unwrap();
        if root {
            assert!(load(&bin, "bin").unwrap_err().message().contains("UTF-8"));
        }
    }
}
