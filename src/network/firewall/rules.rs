//! What a network wants from the firewall, whatever the backend: computed from
//! a [`Definition`] once, as plain data (no iptables or nft syntax), which a
//! backend then renders into its own language.
//!
//! Per address family, an ordered list of rules, each in one of the network's
//! hooks (see [`Hook`]): the host services guests may use (DNS, DHCP), the
//! isolation from the other networks' bridges, what may be forwarded into,
//! out of and within the bridge (the rest is rejected), masquerading (with
//! libvirt's source-port range and multicast/broadcast exceptions), the port
//! forwards and their hairpin. Rules are evaluated in list order within a
//! hook; the first verdict wins.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::network::definition::{Definition, Forward, Mode, Proto};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// Where a rule applies. Each network has its own set; the forwarding hooks
/// are visited in the order `GuestToGuest` of every network, then
/// `IntoBridge` of every network, then `OutOfBridge` of every network, so
/// that one network's rejects of traffic into it come before any network's
/// accepts of traffic out of it (libvirt's FWX/FWI/FWO design).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// Packets from the bridge to the host itself.
    ToHost,
    /// Packets from the host itself out to the bridge.
    FromHost,
    /// Forwarded from the bridge back into the bridge.
    GuestToGuest,
    /// Forwarded into the bridge (from anywhere else).
    IntoBridge,
    /// Forwarded out of the bridge (to anywhere else).
    OutOfBridge,
    /// Source NAT, after routing (masquerading, hairpin).
    Postrouting,
    /// Destination NAT: packets arriving at the host, and the host's own
    /// connections to its local addresses other than loopback ones.
    PortForward,
}

impl Hook {
    /// Every hook, in the order backends lay them out.
    pub const ALL: [Hook; 7] = [
        Hook::ToHost,
        Hook::FromHost,
        Hook::GuestToGuest,
        Hook::IntoBridge,
        Hook::OutOfBridge,
        Hook::Postrouting,
        Hook::PortForward,
    ];
}

/// An address, or a prefix when `prefix` is set ("10.0.0.5", "10.0.0.0/24").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addr {
    pub ip: IpAddr,
    pub prefix: Option<u8>,
}

impl Addr {
    pub fn host(ip: IpAddr) -> Addr {
        Addr { ip, prefix: None }
    }

    pub fn net(ip: impl Into<IpAddr>, prefix: u8) -> Addr {
        Addr {
            ip: ip.into(),
            prefix: Some(prefix),
        }
    }
}

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.prefix {
            Some(p) => write!(f, "{}/{p}", self.ip),
            None => write!(f, "{}", self.ip),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    Source,
    Destination,
}

/// Connection-tracking states a rule can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ct {
    /// Replies, and packets related to a known connection.
    Reply,
    /// A connection whose destination was translated (a port forward).
    Dnat,
}

/// One condition of a rule; a rule's conditions all hold, in list order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// Arrived on this interface.
    In(String),
    /// Leaves by this interface.
    Out(String),
    Source(Addr),
    Destination(Addr),
    NotDestination(Addr),
    /// The protocol alone.
    Proto(Proto),
    /// The protocol and a port range (first, last; equal for one port).
    Port(Proto, Port, (u16, u16)),
    /// ICMP of the rule's family (ICMPv6 for IPv6).
    Icmp,
    Conntrack(Ct),
    /// Addressed to one of the host's own addresses.
    LocalDestination,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Accept,
    /// Refused with "port unreachable" of the rule's family.
    Reject,
    /// Leave the hook: no verdict from this network.
    Return,
    /// Source NAT to the outgoing interface's address, the source port
    /// mapped into this range when set.
    Masquerade(Option<(u16, u16)>),
    /// Destination NAT to `to` port `ports.0` (one port), or, for a range,
    /// port `ports.0 + (p - base)` for arriving port p.
    Dnat {
        to: IpAddr,
        ports: (u16, u16),
        base: u16,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub hook: Hook,
    pub matches: Vec<Match>,
    pub action: Action,
}

/// A network's rules in one family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyRules {
    pub family: Family,
    pub rules: Vec<Rule>,
}

impl FamilyRules {
    /// The rules of one hook, in order.
    pub fn hook(&self, hook: Hook) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(move |r| r.hook == hook)
    }
}

/// Everything network `name` (= its bridge) wants; a family is None when the
/// network needs nothing there (bridged mode, no address of that family).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRules {
    pub name: String,
    pub v4: Option<FamilyRules>,
    pub v6: Option<FamilyRules>,
}

/// The rules network `def` needs.
pub fn wanted(def: &Definition) -> NetworkRules {
    NetworkRules {
        name: def.name.clone(),
        v4: family(def, Family::V4),
        v6: family(def, Family::V6),
    }
}

/// What the rules of one family are built from.
struct Ctx<'a> {
    def: &'a Definition,
    fam: Family,
    br: &'a str,
    subnet: Addr,
    forwards: Vec<&'a Forward>,
    masquerade: bool,
    rules: Vec<Rule>,
}

impl Ctx<'_> {
    fn add(&mut self, hook: Hook, matches: Vec<Match>, action: Action) {
        self.rules.push(Rule {
            hook,
            matches,
            action,
        });
    }

    fn bridge_in(&self) -> Match {
        Match::In(self.br.to_string())
    }

    fn bridge_out(&self) -> Match {
        Match::Out(self.br.to_string())
    }
}

fn family(def: &Definition, fam: Family) -> Option<FamilyRules> {
    if def.mode == Mode::Bridged {
        return None;
    }
    let subnet = match fam {
        Family::V4 => def.subnet().map(|n| Addr::net(n.address, n.prefix))?,
        Family::V6 => def
            .ipv6
            .map(|n| n.subnet())
            .map(|n| Addr::net(n.address, n.prefix))?,
    };
    let mut cx = Ctx {
        def,
        fam,
        br: &def.name,
        subnet,
        forwards: def
            .forwards
            .iter()
            .filter(|f| f.is_ipv6() == (fam == Family::V6))
            .collect(),
        masquerade: def.mode == Mode::Nat && (fam == Family::V4 || def.ipv6_nat),
        rules: Vec::new(),
    };
    host(&mut cx);
    forwarding(&mut cx);
    nat(&mut cx);
    port_forwards(&mut cx);
    Some(FamilyRules {
        family: fam,
        rules: cx.rules,
    })
}

/// To and from the host: the services dnsmasq offers on the bridge.
fn host(cx: &mut Ctx) {
    use Match::Port as P;
    let (dhcp_server, dhcp_client) = match cx.fam {
        Family::V4 => (67, 68),
        Family::V6 => (547, 546),
    };
    let dhcp = match cx.fam {
        Family::V4 => cx.def.dhcp.is_some(),
        Family::V6 => cx.def.dhcp6_range().is_some(),
    };
    if cx.def.dns {
        for p in [Proto::Udp, Proto::Tcp] {
            let (i, o) = (cx.bridge_in(), cx.bridge_out());
            cx.add(
                Hook::ToHost,
                vec![i, P(p, Port::Destination, (53, 53))],
                Action::Accept,
            );
            cx.add(
                Hook::FromHost,
                vec![o, P(p, Port::Source, (53, 53))],
                Action::Accept,
            );
        }
    }
    if dhcp {
        let (i, o) = (cx.bridge_in(), cx.bridge_out());
        let server = P(Proto::Udp, Port::Destination, (dhcp_server, dhcp_server));
        let client = P(Proto::Udp, Port::Destination, (dhcp_client, dhcp_client));
        cx.add(Hook::ToHost, vec![i, server], Action::Accept);
        cx.add(Hook::FromHost, vec![o, client], Action::Accept);
    }
    if cx.def.mode == Mode::Isolated {
        // Nothing beyond DHCP and DNS on the bridge reaches the host, but
        // ICMP (ping to the gateway, errors; for IPv6 also neighbour
        // discovery and RA/RS, or nothing works) and replies to connections
        // the host itself opened to a guest.
        let i = cx.bridge_in();
        cx.add(Hook::ToHost, vec![i.clone(), Match::Icmp], Action::Accept);
        let reply = Match::Conntrack(Ct::Reply);
        cx.add(Hook::ToHost, vec![i.clone(), reply], Action::Accept);
        cx.add(Hook::ToHost, vec![i], Action::Reject);
    }
}

/// Forwarding: within, into and out of the bridge.
fn forwarding(cx: &mut Ctx) {
    let (i, o, subnet) = (cx.bridge_in(), cx.bridge_out(), cx.subnet);
    let mode = cx.def.mode;
    let uplink = cx.def.uplink.clone().filter(|_| mode == Mode::Nat);
    cx.add(
        Hook::GuestToGuest,
        vec![i.clone(), o.clone()],
        Action::Accept,
    );
    // Isolation between networks, whatever their modes: nothing forwarded
    // from another network's bridge enters this one (checked before any
    // accept, and every network's IntoBridge comes before any OutOfBridge).
    let (def, br) = (cx.def, cx.br);
    for peer in def.peers.iter().filter(|p| *p != br) {
        let from_peer = Match::In(peer.clone());
        cx.add(Hook::IntoBridge, vec![from_peer, o.clone()], Action::Reject);
    }
    // Into the subnet: anything (routed, or nat without masquerading),
    // replies and port forwards only (nat), nothing (isolated).
    let open_inbound = mode == Mode::Routed || (mode == Mode::Nat && !cx.masquerade);
    let to_subnet = Match::Destination(subnet);
    if open_inbound {
        cx.add(Hook::IntoBridge, vec![o.clone(), to_subnet], Action::Accept);
    } else if mode == Mode::Nat {
        // Replies come back only through the uplink, when there is one
        // (libvirt's <forward dev=...>).
        let mut m: Vec<Match> = uplink.clone().map(Match::In).into_iter().collect();
        m.extend([o.clone(), to_subnet, Match::Conntrack(Ct::Reply)]);
        cx.add(Hook::IntoBridge, m, Action::Accept);
        for f in cx.forwards.clone() {
            let m = vec![
                o.clone(),
                Match::Destination(Addr::host(f.to_ip)),
                to_guest_port(f),
                Match::Conntrack(Ct::Dnat),
            ];
            cx.add(Hook::IntoBridge, m, Action::Accept);
        }
    }
    cx.add(Hook::IntoBridge, vec![o], Action::Reject);
    if mode != Mode::Isolated {
        // Out of the uplink only, when there is one: not to a LAN, VPN or
        // container bridge with the guests' private addresses.
        let mut m = vec![i.clone(), Match::Source(subnet)];
        m.extend(uplink.map(Match::Out));
        cx.add(Hook::OutOfBridge, m, Action::Accept);
    }
    cx.add(Hook::OutOfBridge, vec![i], Action::Reject);
}

/// A forward's guest port range.
fn to_guest_port(f: &Forward) -> Match {
    Match::Port(f.proto, Port::Destination, (f.to_port, f.to_port_end()))
}

/// Source NAT: hairpin for port forwards, masquerading.
fn nat(cx: &mut Ctx) {
    let subnet = cx.subnet;
    for f in cx.forwards.clone() {
        // A guest reaching a forward through the host's address: make the
        // reply come back through the host too.
        let m = vec![
            Match::Source(subnet),
            Match::Destination(Addr::host(f.to_ip)),
            to_guest_port(f),
            Match::Conntrack(Ct::Dnat),
        ];
        cx.add(Hook::Postrouting, m, Action::Masquerade(None));
    }
    if !cx.masquerade {
        return;
    }
    // Multicast and broadcast keep their source (libvirt's exceptions).
    let keep: &[Addr] = match cx.fam {
        Family::V4 => &[
            Addr::net(Ipv4Addr::new(224, 0, 0, 0), 24),
            Addr::net(Ipv4Addr::BROADCAST, 32),
        ],
        Family::V6 => &[Addr::net(Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8)],
    };
    for dst in keep {
        let m = vec![Match::Source(subnet), Match::Destination(*dst)];
        cx.add(Hook::Postrouting, m, Action::Return);
    }
    let uplink = cx.def.uplink.clone();
    let leaving = || {
        let mut m = vec![Match::Source(subnet), Match::NotDestination(subnet)];
        m.extend(uplink.clone().map(Match::Out));
        m
    };
    // TCP and UDP get unprivileged source ports (libvirt's range).
    for p in [Proto::Tcp, Proto::Udp] {
        let mut m = leaving();
        m.push(Match::Proto(p));
        cx.add(
            Hook::Postrouting,
            m,
            Action::Masquerade(Some((1024, 65535))),
        );
    }
    let m = leaving();
    cx.add(Hook::Postrouting, m, Action::Masquerade(None));
}

/// Destination NAT: the port forwards.
fn port_forwards(cx: &mut Ctx) {
    for f in cx.forwards.clone() {
        let to_host = match f.host_address {
            Some(a) => Match::Destination(Addr::host(a)),
            None => Match::LocalDestination,
        };
        let m = vec![
            Match::Port(f.proto, Port::Destination, f.host_ports),
            to_host,
        ];
        let dnat = Action::Dnat {
            to: f.to_ip,
            ports: (f.to_port, f.to_port_end()),
            base: f.host_ports.0,
        };
        cx.add(Hook::PortForward, m, dnat);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::definition::parse;

    #[test]
    fn nat_network_rules() {
        let d = parse(
            "address = \"10.200.0.1/24\"\nipv6 = \"fd00::1/64\"\n",
            "t.toml",
            "vnet0",
        )
        .unwrap();
        let w = wanted(&d);
        assert_eq!(w.name, "vnet0");
        let v4 = w.v4.unwrap();
        assert_eq!(v4.family, Family::V4);
        // DNS (udp, tcp) and DHCP, each way.
        assert_eq!(v4.hook(Hook::ToHost).count(), 3);
        assert_eq!(v4.hook(Hook::FromHost).count(), 3);
        assert_eq!(v4.hook(Hook::PortForward).count(), 0);
        let masq: Vec<&Rule> = v4.hook(Hook::Postrouting).collect();
        assert_eq!(masq.len(), 5);
        assert_eq!(masq[4].action, Action::Masquerade(None));
        assert_eq!(
            masq[0].matches,
            [
                Match::Source(Addr::net(Ipv4Addr::new(10, 200, 0, 0), 24)),
                Match::Destination(Addr::net(Ipv4Addr::new(224, 0, 0, 0), 24))
            ]
        );
        assert_eq!(w.v6.unwrap().family, Family::V6);
        assert_eq!(
            Addr::net(Ipv4Addr::BROADCAST, 32).to_string(),
            "255.255.255.255/32"
        );
        assert_eq!(
            Addr::host("10.0.0.5".parse().unwrap()).to_string(),
            "10.0.0.5"
        );
    }

    #[test]
    fn bridged_network_wants_nothing() {
        let d = parse("mode = \"bridged\"\nuplink = \"eth1\"\n", "t.toml", "br1").unwrap();
        let w = wanted(&d);
        assert_eq!((w.v4, w.v6), (None, None));
    }
}
