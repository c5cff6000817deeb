//! Value parsers and validators for a definition's keys: addresses and
//! prefixes, guest addresses, DHCP ranges, durations, MAC addresses, ports
//! and forward destinations, DNS names. Each takes the value's text (or
//! [`Scalar`]) and returns the value or a message without location; `parse`
//! adds "FILE:LINE: `key': " in front.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::raw::Scalar;
use crate::netaddr::Prefix;

/// Longest duration accepted anywhere (10 years).
const MAX_DURATION_SECS: u64 = 10 * 365 * 24 * 3600;

/// A message without location; the caller adds "FILE:LINE: `key': ".
pub type Msg = String;

/// A DNS label: letters, digits, '-', 1..=63 bytes, no '-' at either end.
pub fn check_label(s: &str) -> std::result::Result<(), Msg> {
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
pub fn check_domain(s: &str) -> std::result::Result<(), Msg> {
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

pub fn parse_ipv4_net(s: &str) -> std::result::Result<Prefix<Ipv4Addr>, Msg> {
    let bad = || format!("invalid IPv4 address/prefix `{s}'");
    let (a, p) = s.split_once('/').ok_or_else(bad)?;
    let address: Ipv4Addr = a.parse().map_err(|_| bad())?;
    let prefix = parse_prefix(p, 32).map_err(|_| bad())?;
    if !(8..=30).contains(&prefix) {
        return Err(format!("prefix length /{prefix} not supported (8..=30)"));
    }
    let net = Prefix { address, prefix };
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

pub fn parse_ipv6_net(s: &str) -> std::result::Result<Prefix<Ipv6Addr>, Msg> {
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
    let net = Prefix { address, prefix };
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
pub fn parse_guest_v4(s: &str, net: &Prefix<Ipv4Addr>) -> std::result::Result<Ipv4Addr, Msg> {
    let ip: Ipv4Addr = s
        .parse()
        .map_err(|_| format!("invalid IPv4 address `{s}'"))?;
    check_guest_v4(ip, net)?;
    Ok(ip)
}

pub fn check_guest_v4(ip: Ipv4Addr, net: &Prefix<Ipv4Addr>) -> std::result::Result<(), Msg> {
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

fn check_guest_v6(ip: Ipv6Addr, net: &Prefix<Ipv6Addr>) -> std::result::Result<(), Msg> {
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

pub fn parse_dhcp_range(
    s: &str,
    net: &Prefix<Ipv4Addr>,
) -> std::result::Result<(Ipv4Addr, Ipv4Addr), Msg> {
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
pub fn default_range(net: &Prefix<Ipv4Addr>) -> (Ipv4Addr, Ipv4Addr) {
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
pub fn parse_duration(v: &Scalar) -> std::result::Result<u64, Msg> {
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
pub fn parse_mac(s: &str) -> std::result::Result<[u8; 6], Msg> {
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
pub fn parse_port_range(v: &Scalar) -> std::result::Result<(u16, u16), Msg> {
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
pub fn parse_to(
    s: &str,
    net: &Prefix<Ipv4Addr>,
    net6: Option<&Prefix<Ipv6Addr>>,
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

pub fn parse_host_address(s: &str, to: IpAddr) -> std::result::Result<IpAddr, Msg> {
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
