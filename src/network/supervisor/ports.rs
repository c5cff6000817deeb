//! The supervisor's picture of its bridge's ports, kept up to date from
//! rtnetlink link notifications, one notification at a time.
//!
//! A full link dump costs time in proportion to the number of links on the
//! host; doing one per tap that comes or goes made the supervisor's work grow
//! with the square of the number of guests (5 s of CPU for 1000 taps). So the
//! bridge is dumped once when the supervisor starts watching, and again only
//! when the picture cannot be trusted any more: notifications were lost (an
//! overrun), or the bridge itself appeared, vanished or was renamed. Every
//! other notification is applied in constant time. A generic (AF_UNSPEC)
//! link notification carries the whole state of its link: its master
//! (IFLA_MASTER, absent when it has none) and its carrier (IFLA_CARRIER), so
//! applying them in order, after a dump taken once the subscription was
//! made, ends at the kernel's state. The bridge module's own (AF_BRIDGE)
//! notifications repeat what the generic ones say and are ignored.
//!
//! The teardown never trusts this picture alone: it re-dumps under the
//! network's lock (see `watch`).

use std::collections::HashMap;

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::network::bridge;

/// The bridge's ports (a bridged network's uplink is not one of them) and
/// whether each is a guest: a tap some process holds has carrier; one left
/// persistent by its process has none and must not keep the network up.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Ports {
    bridge: Option<u32>,
    attached: HashMap<u32, bool>,
}

/// What a notification did to the picture.
#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    /// Nothing that concerns this network.
    Ignored,
    /// A port came, went or changed carrier: the guest count may differ.
    Changed,
    /// The picture cannot be trusted: dump the bridge again.
    Resync,
}

impl Ports {
    /// The picture from a dump: the bridge's index (None: no such bridge)
    /// and its ports, the uplink already left out.
    pub fn from_dump(bridge: Option<u32>, ports: &[bridge::Port]) -> Ports {
        Ports {
            bridge,
            attached: ports.iter().map(|p| (p.index, p.attached)).collect(),
        }
    }

    /// Ports that are guests.
    pub fn guests(&self) -> usize {
        self.attached.values().filter(|a| **a).count()
    }

    /// Apply one notification. `name` is the bridge's name, `uplink` the
    /// port that is not a guest (bridged mode).
    pub fn apply(
        &mut self,
        msg: &NetlinkMessage<RouteNetlinkMessage>,
        name: &str,
        uplink: Option<&str>,
    ) -> Applied {
        match &msg.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => {
                self.link_changed(l, name, uplink)
            }
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(l)) => self.link_gone(l),
            // Address, route, ... notifications: not subscribed, not ours.
            NetlinkPayload::InnerMessage(_) => Applied::Ignored,
            // An overrun (notifications were lost), an error: dump again.
            _ => Applied::Resync,
        }
    }

    fn link_gone(&mut self, l: &LinkMessage) -> Applied {
        if l.header.interface_family == AddressFamily::Bridge {
            return Applied::Ignored;
        }
        let index = l.header.index;
        if Some(index) == self.bridge {
            return Applied::Resync;
        }
        match self.attached.remove(&index) {
            Some(_) => Applied::Changed,
            None => Applied::Ignored,
        }
    }

    fn link_changed(&mut self, l: &LinkMessage, name: &str, uplink: Option<&str>) -> Applied {
        if l.header.interface_family == AddressFamily::Bridge {
            return Applied::Ignored;
        }
        let index = l.header.index;
        let (mut link_name, mut master, mut carrier) = (None, None, None);
        for a in &l.attributes {
            match a {
                LinkAttribute::IfName(n) => link_name = Some(n.as_str()),
                LinkAttribute::Controller(c) => master = Some(*c),
                LinkAttribute::Carrier(c) => carrier = Some(*c != 0),
                _ => {}
            }
        }
        // The bridge appeared, or was renamed (to or from our name).
        if (Some(index) == self.bridge) != (link_name == Some(name)) {
            return Applied::Resync;
        }
        if self.bridge.is_some() && master == self.bridge && link_name != uplink {
            let before = self.attached.get(&index).copied();
            let now = carrier.or(before).unwrap_or(false);
            self.attached.insert(index, now);
            return match before == Some(now) {
                true => Applied::Ignored,
                false => Applied::Changed,
            };
        }
        // Not (or no longer) a port of ours.
        match self.attached.remove(&index) {
            Some(_) => Applied::Changed,
            None => Applied::Ignored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::link::LinkHeader;

    fn link(index: u32, name: &str, master: Option<u32>, carrier: Option<bool>) -> LinkMessage {
        let mut l = LinkMessage::default();
        l.header = LinkHeader {
            index,
            ..LinkHeader::default()
        };
        l.attributes.push(LinkAttribute::IfName(name.to_string()));
        if let Some(m) = master {
            l.attributes.push(LinkAttribute::Controller(m));
        }
        if let Some(c) = carrier {
            l.attributes.push(LinkAttribute::Carrier(u8::from(c)));
        }
        l
    }

    fn new(l: LinkMessage) -> NetlinkMessage<RouteNetlinkMessage> {
        NetlinkMessage::from(RouteNetlinkMessage::NewLink(l))
    }

    fn del(l: LinkMessage) -> NetlinkMessage<RouteNetlinkMessage> {
        NetlinkMessage::from(RouteNetlinkMessage::DelLink(l))
    }

    fn port(index: u32, attached: bool) -> bridge::Port {
        bridge::Port {
            index,
            name: format!("tap{index}"),
            attached,
        }
    }

    #[test]
    fn taps_come_and_go() {
        let mut p = Ports::from_dump(Some(5), &[port(7, true)]);
        assert_eq!(p.guests(), 1);
        // created, then enslaved, then up with carrier
        assert_eq!(
            p.apply(&new(link(8, "tap1", None, Some(true))), "vnet0", None),
            Applied::Ignored
        );
        assert_eq!(
            p.apply(&new(link(8, "tap1", Some(5), Some(false))), "vnet0", None),
            Applied::Changed
        );
        assert_eq!(p.guests(), 1);
        assert_eq!(
            p.apply(&new(link(8, "tap1", Some(5), Some(true))), "vnet0", None),
            Applied::Changed
        );
        assert_eq!(
            p.apply(&new(link(8, "tap1", Some(5), Some(true))), "vnet0", None),
            Applied::Ignored
        );
        assert_eq!(p.guests(), 2);
        // a persistent tap its process left: no carrier, no guest
        assert_eq!(
            p.apply(&new(link(7, "tap0", Some(5), Some(false))), "vnet0", None),
            Applied::Changed
        );
        assert_eq!(p.guests(), 1);
        // released from the bridge (nomaster), then deleted
        assert_eq!(
            p.apply(&new(link(8, "tap1", None, Some(true))), "vnet0", None),
            Applied::Changed
        );
        assert_eq!(
            p.apply(&del(link(8, "tap1", None, None)), "vnet0", None),
            Applied::Ignored
        );
        assert_eq!(
            p.apply(&del(link(7, "tap0", Some(5), None)), "vnet0", None),
            Applied::Changed
        );
        assert_eq!(p, Ports::from_dump(Some(5), &[]));
    }

    #[test]
    fn other_bridges_and_the_uplink_are_not_guests() {
        let mut p = Ports::from_dump(Some(5), &[]);
        assert_eq!(
            p.apply(&new(link(9, "tap2", Some(6), Some(true))), "vnet0", None),
            Applied::Ignored
        );
        assert_eq!(
            p.apply(
                &new(link(3, "eth1", Some(5), Some(true))),
                "vnet0",
                Some("eth1")
            ),
            Applied::Ignored
        );
        assert_eq!(p.guests(), 0);
        let mut bridge_msg = link(9, "tap2", Some(5), None);
        bridge_msg.header.interface_family = AddressFamily::Bridge;
        assert_eq!(p.apply(&new(bridge_msg), "vnet0", None), Applied::Ignored);
        assert_eq!(p.guests(), 0);
    }

    #[test]
    fn the_bridge_itself_changing_means_a_new_dump() {
        let mut none = Ports::from_dump(None, &[]);
        assert_eq!(
            none.apply(&new(link(5, "vnet0", None, Some(false))), "vnet0", None),
            Applied::Resync
        );
        let mut p = Ports::from_dump(Some(5), &[port(7, true)]);
        assert_eq!(
            p.apply(&new(link(5, "vnet0", None, Some(true))), "vnet0", None),
            Applied::Ignored
        );
        assert_eq!(
            p.apply(&new(link(5, "other", None, Some(true))), "vnet0", None),
            Applied::Resync
        );
        assert_eq!(
            p.apply(&del(link(5, "vnet0", None, None)), "vnet0", None),
            Applied::Resync
        );
        let overrun = NetlinkMessage::new(Default::default(), NetlinkPayload::Overrun(Vec::new()));
        assert_eq!(p.apply(&overrun, "vnet0", None), Applied::Resync);
    }
}
