//! The network's bridge, through rtnetlink (the rtnetlink crate on a
//! single-threaded tokio runtime: no thread is ever started, so the per-thread
//! capability rules of `privileges` still hold).
//!
//! * `check_collisions`: refuse a subnet that overlaps an address or a route
//!   already on the host (another interface, another network).
//! * `ensure`: create the bridge (STP off, forward delay 0, MTU, up) with its
//!   gateway address, or finish one that a killed bring-up left behind.
//! * `delete`: remove it (teardown, undo).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures_util::stream::TryStreamExt;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::link::{BridgeStpState, InfoKind, LinkAttribute, LinkInfo, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteType,
};
use rtnetlink::{Handle, LinkBridge, LinkUnspec, RouteMessageBuilder};

use crate::error::{OrFail, Result};
use crate::netaddr::{Family, Prefix};
use crate::network::definition::{Definition, Mode};
use crate::network::sysctl;

/// Run `f` with an rtnetlink handle on a current-thread runtime.
pub fn with_rtnetlink<T>(f: impl AsyncFnOnce(&Handle) -> Result<T>) -> Result<T> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .or_fail(|| "starting the netlink runtime")?;
    rt.block_on(async {
        let (conn, handle, _) = rtnetlink::new_connection().or_fail(|| "opening rtnetlink")?;
        tokio::spawn(conn);
        f(&handle).await
    })
}

fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.code.map(|c| -c.get()),
        _ => None,
    }
}

/// A link by name, or None.
pub async fn link(h: &Handle, name: &str) -> Result<Option<LinkMessage>> {
    let mut s = h.link().get().match_name(name.to_string()).execute();
    match s.try_next().await {
        Ok(m) => Ok(m),
        Err(e) if errno(&e) == Some(libc::ENODEV) => Ok(None),
        Err(e) => Err(fail!("looking up {name}: {e}")),
    }
}

pub fn link_name(m: &LinkMessage) -> String {
    m.attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        })
        .unwrap_or_else(|| format!("#{}", m.header.index))
}

pub fn is_bridge(m: &LinkMessage) -> bool {
    m.attributes.iter().any(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos
            .iter()
            .any(|i| matches!(i, LinkInfo::Kind(InfoKind::Bridge))),
        _ => false,
    })
}

/// Is there a bridge `name` with the fixed MAC address we give network
/// `name`'s bridge (`mac::bridge`): one we made, not an admin's of the same
/// name? (A bridged network's takes its uplink's address: never ours here.)
pub fn made_by_us(name: &str) -> bool {
    let ours = crate::mac::bridge(name);
    with_rtnetlink(async |h| link(h, name).await)
        .ok()
        .flatten()
        .is_some_and(|m| {
            is_bridge(&m)
                && m.attributes
                    .iter()
                    .any(|a| matches!(a, LinkAttribute::Address(mac) if mac[..] == ours[..]))
        })
}

/// Ports (links whose master is `index`), by name.
/// One port of a bridge.
#[derive(Debug, Clone)]
pub struct Port {
    pub index: u32,
    pub name: String,
    /// It has carrier. A tap has carrier while a process holds it; one made
    /// persistent (TUNSETPERSIST, which whoever holds the fd may do) and left
    /// by its process has none, and is no guest.
    pub attached: bool,
}

/// The names of bridge `name`'s attached ports (a process holds them; see
/// [`Port::attached`]) but `except` (a bridged network's uplink): the
/// guests that keep a network in use. None if there is no such bridge.
pub fn guests(name: &str, except: Option<&str>) -> Result<Vec<String>> {
    let ports = with_rtnetlink(async |h| match link(h, name).await? {
        Some(m) => ports(h, m.header.index).await,
        None => Ok(Vec::new()),
    })?;
    Ok(ports
        .into_iter()
        .filter(|p| p.attached && Some(p.name.as_str()) != except)
        .map(|p| p.name)
        .collect())
}

/// Ports of bridge `index` (links whose master it is).
pub async fn ports(h: &Handle, index: u32) -> Result<Vec<Port>> {
    let mut out = Vec::new();
    let mut s = h.link().get().execute();
    while let Some(m) = s.try_next().await.or_fail(|| "listing links")? {
        let mut port = false;
        let mut attached = false;
        for a in &m.attributes {
            match a {
                LinkAttribute::Controller(c) if *c == index => port = true,
                LinkAttribute::Carrier(c) => attached = *c != 0,
                _ => {}
            }
        }
        if port {
            out.push(Port {
                index: m.header.index,
                name: link_name(&m),
                attached,
            });
        }
    }
    Ok(out)
}

/// Refuse a subnet that overlaps an address or a (non-default) route of any
/// interface but the network's own bridge.
pub async fn check_collisions(h: &Handle, def: &Definition) -> Result<()> {
    let own = link(h, &def.name).await?.map(|m| m.header.index);
    let mut names = std::collections::HashMap::new();
    let mut s = h.link().get().execute();
    while let Some(m) = s.try_next().await.or_fail(|| "listing links")? {
        names.insert(m.header.index, link_name(&m));
    }
    let name_of = |i: u32| names.get(&i).cloned().unwrap_or_else(|| format!("#{i}"));
    let collide = |what: String| {
        fail!(
            "network `{}': its subnet collides with {what}; choose another `address' in /etc/vnet-helper/networks/{}.toml",
            def.name,
            def.name
        )
    };

    let mut addrs = h.address().get().execute();
    while let Some(a) = addrs.try_next().await.or_fail(|| "listing addresses")? {
        if Some(a.header.index) == own {
            continue;
        }
        for attr in &a.attributes {
            let AddressAttribute::Address(ip) = *attr else {
                continue;
            };
            if ip.is_loopback() || is_link_local(ip) {
                continue;
            }
            if let Some(theirs) = overlapping(def, ip, a.header.prefix_len) {
                let on = name_of(a.header.index);
                return Err(collide(format!("address {theirs} on {on}")));
            }
        }
    }

    for msg in route_dumps(def) {
        let mut routes = h.route().get(msg).execute();
        while let Some(r) = routes.try_next().await.or_fail(|| "listing routes")? {
            if r.header.destination_prefix_length == 0
                || r.header.kind != RouteType::Unicast
                || r.header.table != RouteHeader::RT_TABLE_MAIN
            {
                continue;
            }
            let (dst, oif) = destination_and_oif(&r);
            if oif.is_some() && oif == own {
                continue;
            }
            let Some(dst) = dst.filter(|d| !is_link_local(*d)) else {
                continue;
            };
            if let Some(theirs) = overlapping(def, dst, r.header.destination_prefix_length) {
                let via = oif
                    .map(|i| format!(" (via {})", name_of(i)))
                    .unwrap_or_default();
                return Err(collide(format!("route {theirs}{via}")));
            }
        }
    }
    Ok(())
}

/// `ip/prefix` (an address or a route of the host), shown, if it overlaps
/// the network's subnet of the same family.
fn overlapping(def: &Definition, ip: IpAddr, prefix: u8) -> Option<String> {
    fn hit<A: Family>(ours: Option<Prefix<A>>, address: A, prefix: u8) -> Option<String> {
        let theirs = Prefix { address, prefix };
        ours.filter(|n| n.overlaps(&theirs))
            .map(|_| theirs.to_string())
    }
    match ip {
        IpAddr::V4(a) => hit(def.subnet(), a, prefix),
        IpAddr::V6(a) => hit(def.ipv6, a, prefix),
    }
}

/// Route dump requests for the families the network has (IPv4 first).
fn route_dumps(def: &Definition) -> Vec<RouteMessage> {
    let mut dumps = Vec::new();
    if def.subnet().is_some() {
        dumps.push(RouteMessageBuilder::<Ipv4Addr>::new().build());
    }
    if def.ipv6.is_some() {
        dumps.push(RouteMessageBuilder::<Ipv6Addr>::new().build());
    }
    dumps
}

/// A route's destination address and output interface, where it has them.
fn destination_and_oif(r: &RouteMessage) -> (Option<IpAddr>, Option<u32>) {
    let mut dst = None;
    let mut oif = None;
    for a in &r.attributes {
        match a {
            RouteAttribute::Destination(RouteAddress::Inet(d)) => dst = Some(IpAddr::V4(*d)),
            RouteAttribute::Destination(RouteAddress::Inet6(d)) => dst = Some(IpAddr::V6(*d)),
            RouteAttribute::Oif(i) => oif = Some(*i),
            _ => {}
        }
    }
    (dst, oif)
}

/// Does a default route (IPv4 or IPv6, main table) go out of `index`?
async fn carries_default_route(h: &Handle, index: u32) -> Result<bool> {
    for msg in [
        RouteMessageBuilder::<Ipv4Addr>::new().build(),
        RouteMessageBuilder::<Ipv6Addr>::new().build(),
    ] {
        let mut routes = h.route().get(msg).execute();
        while let Some(r) = routes.try_next().await.or_fail(|| "listing routes")? {
            if r.header.destination_prefix_length == 0
                && r.header.table == RouteHeader::RT_TABLE_MAIN
                && r.attributes
                    .iter()
                    .any(|a| matches!(a, RouteAttribute::Oif(i) if *i == index))
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// An IPv6 link-local address (fe80::/10); no IPv4 address counts.
fn is_link_local(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)
}

/// What `ensure` did, for undo.
pub struct Made {
    pub created: bool,
}

/// Create (or finish) the bridge: STP off, forward delay 0, MTU, a fixed
/// MAC address, IPv6 off unless the network has IPv6, addresses, in bridged
/// mode the uplink as a port, up.
pub async fn ensure(h: &Handle, def: &Definition) -> Result<Made> {
    let (index, created) = create_or_adopt(h, def).await?;
    let made = Made { created };
    if def.ipv6.is_none() && def.mode != Mode::Bridged {
        // Like libvirt: no IPv6 at all on a bridge of an IPv4-only network,
        // so guests have no IPv6 path to the host or through it (the kernel
        // drops IPv6 that arrives on it, forwarding included).
        sysctl::set_ipv6(&def.name, "accept_ra", "0");
        sysctl::set_ipv6(&def.name, "autoconf", "0");
        sysctl::set_ipv6(&def.name, "disable_ipv6", "1");
    }
    if let Some(net) = def.ipv4 {
        add_address(h, index, IpAddr::V4(net.address), net.prefix, &def.name).await?;
    }
    if let Some(net6) = def.ipv6 {
        sysctl::set_ipv6(&def.name, "disable_ipv6", "0");
        sysctl::set_ipv6(&def.name, "accept_ra", "0");
        add_address(h, index, IpAddr::V6(net6.address), net6.prefix, &def.name).await?;
    }
    // A bridge without an address of its own set takes its lowest port's,
    // which changes as guests come and go (and a guest may pick it): the
    // network's own fixed address, or in bridged mode the uplink's.
    let mut mac = crate::mac::bridge(&def.name).to_vec();
    if def.mode == Mode::Bridged {
        mac = enslave_uplink(h, def, index).await?;
    }
    let mut up = LinkUnspec::new_with_index(index).address(mac).up();
    if let Some(mtu) = def.mtu {
        up = up.mtu(mtu);
    }
    h.link()
        .set(up.build())
        .execute()
        .await
        .map_err(|e| fail!("bringing {} up: {e}", def.name))?;
    Ok(made)
}

/// The bridge's index, and whether it was created now (rather than left by
/// a killed bring-up).
async fn create_or_adopt(h: &Handle, def: &Definition) -> Result<(u32, bool)> {
    match link(h, &def.name).await? {
        Some(m) if is_bridge(&m) => return Ok((m.header.index, false)),
        Some(_) => {
            return Err(fail!(
            "an interface named `{}' exists and is not a bridge; network `{}' cannot be brought up",
            def.name,
            def.name
        ))
        }
        None => {}
    }
    let mut b = LinkBridge::new(&def.name)
        .address(crate::mac::bridge(&def.name).to_vec())
        .stp_state(BridgeStpState::Disabled)
        .forward_delay(0)
        .down();
    if let Some(mtu) = def.mtu {
        b = b.mtu(mtu);
    }
    h.link()
        .add(b.build())
        .execute()
        .await
        .map_err(|e| fail!("creating bridge {}: {e}", def.name))?;
    let m = link(h, &def.name)
        .await?
        .ok_or_else(|| fail!("bridge {} vanished", def.name))?;
    Ok((m.header.index, true))
}

/// Bridged mode: make the uplink a port (unless it carries the default
/// route and that was not allowed); its MAC address, for the bridge.
async fn enslave_uplink(h: &Handle, def: &Definition, index: u32) -> Result<Vec<u8>> {
    let uplink = def.uplink.as_deref().unwrap_or_default();
    let u = link(h, uplink)
        .await?
        .ok_or_else(|| fail!("network `{}': uplink `{uplink}' does not exist", def.name))?;
    if !def.allow_default_route_uplink && carries_default_route(h, u.header.index).await? {
        return Err(fail!(
            "network `{}': uplink `{uplink}' carries the host's default route; enslaving it would cut \
             the host off (set allow-default-route-uplink = true if that is really meant)",
            def.name
        ));
    }
    let mut msg = LinkUnspec::new_with_index(u.header.index)
        .controller(index)
        .up()
        .build();
    msg.attributes
        .retain(|a| !matches!(a, LinkAttribute::IfName(_)));
    h.link()
        .set(msg)
        .execute()
        .await
        .map_err(|e| fail!("adding uplink {uplink} to bridge {}: {e}", def.name))?;
    let mac = u.attributes.iter().find_map(|a| match a {
        LinkAttribute::Address(m) => Some(m.clone()),
        _ => None,
    });
    Ok(mac.unwrap_or_else(|| crate::mac::bridge(&def.name).to_vec()))
}

async fn add_address(h: &Handle, index: u32, ip: IpAddr, prefix: u8, name: &str) -> Result<()> {
    h.address()
        .add(index, ip, prefix)
        .replace()
        .execute()
        .await
        .map_err(|e| fail!("adding {ip}/{prefix} to {name}: {e}"))
}

/// Delete the bridge if it exists (its ports are released by the kernel).
pub async fn delete(h: &Handle, name: &str) -> Result<()> {
    if let Some(m) = link(h, name).await? {
        if !is_bridge(&m) {
            return Ok(());
        }
        match h.link().del(m.header.index).execute().await {
            Ok(()) => {}
            Err(e) if errno(&e) == Some(libc::ENODEV) => {}
            Err(e) => return Err(fail!("deleting bridge {name}: {e}")),
        }
    }
    Ok(())
}
