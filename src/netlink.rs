//! A small synchronous rtnetlink client for the attach path: look up a link
//! (is it a bridge? its index and MTU) and configure a new tap in one
//! RTM_SETLINK (MTU, MAC, master, up). It uses the message types of the
//! rtnetlink crate's own packet layer (netlink-packet-route) over a blocking
//! socket: no async runtime, one socket, two round trips, so the drop-in call
//! stays cheap. The bring-up of managed networks uses rtnetlink proper.

use std::io;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_REQUEST,
};
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// What the attach path needs to know about an interface.
#[derive(Debug, Clone)]
pub struct Link {
    pub index: u32,
    pub mtu: u32,
    pub is_bridge: bool,
    pub kind: Option<String>,
    pub up: bool,
}

pub struct Netlink {
    socket: Socket,
    seq: u32,
}

impl Netlink {
    pub fn open() -> io::Result<Netlink> {
        let mut socket = Socket::new(NETLINK_ROUTE)?; // SOCK_CLOEXEC
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(Netlink { socket, seq: 0 })
    }

    /// Send one request and collect the replies up to the ACK / DONE / error.
    fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.seq += 1;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        packet.finalize();
        let mut buf = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.socket.send(&buf, 0)?;

        let mut replies = Vec::new();
        let mut rbuf = vec![0u8; 32768];
        loop {
            let n = self.socket.recv(&mut &mut rbuf[..], 0)?;
            let mut off = 0;
            while off < n {
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rbuf[off..n])
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                let len = msg.header.length as usize;
                if msg.header.sequence_number == self.seq {
                    match msg.payload {
                        NetlinkPayload::Error(e) => {
                            return match e.code {
                                None => Ok(replies), // ACK
                                Some(code) => Err(io::Error::from_raw_os_error(-code.get())),
                            };
                        }
                        NetlinkPayload::Done(_) => return Ok(replies),
                        NetlinkPayload::InnerMessage(inner) => {
                            replies.push(inner);
                            if flags & NLM_F_ACK == 0 {
                                return Ok(replies);
                            }
                        }
                        _ => {}
                    }
                }
                if len == 0 {
                    break;
                }
                off += (len + 3) & !3;
            }
        }
    }

    /// Look a link up by name; Ok(None) if there is no such interface.
    pub fn link(&mut self, name: &str) -> io::Result<Option<Link>> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        let replies = match self.request(RouteNetlinkMessage::GetLink(msg), 0) {
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => return Ok(None),
            other => other?,
        };
        for r in replies {
            if let RouteNetlinkMessage::NewLink(l) = r {
                return Ok(Some(describe(&l)));
            }
        }
        Ok(None)
    }

    /// Configure a fresh tap in one message: MTU, MAC, master bridge, up.
    pub fn setup_port(
        &mut self,
        name: &str,
        mtu: u32,
        mac: [u8; 6],
        master: u32,
    ) -> io::Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes.push(LinkAttribute::Mtu(mtu));
        msg.attributes.push(LinkAttribute::Address(mac.to_vec()));
        msg.attributes.push(LinkAttribute::Controller(master));
        self.request(RouteNetlinkMessage::SetLink(msg), NLM_F_ACK)?;
        Ok(())
    }
}

fn describe(l: &LinkMessage) -> Link {
    let mut link = Link {
        index: l.header.index,
        mtu: 0,
        is_bridge: false,
        kind: None,
        up: l.header.flags.contains(LinkFlags::Up),
    };
    for a in &l.attributes {
        match a {
            LinkAttribute::Mtu(m) => link.mtu = *m,
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let LinkInfo::Kind(k) = i {
                        link.is_bridge = *k == InfoKind::Bridge;
                        link.kind = Some(k.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    link
}
