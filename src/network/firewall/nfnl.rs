//! Talking to nf_tables over netlink, for what the tools cannot do cheaply:
//! list which tables and base chains exist (iptables-save prints every
//! built-in chain of a table whether it exists or not), delete a table or
//! base chain that iptables-nft created for us, only if it is empty (both
//! for the iptables driver), and ask for the ruleset's generation (every
//! committed change counts it up: the nftables driver's cache of its last
//! listing, nftables/cache.rs).
//!
//! Deletions carry NLM_F_NONREC, so the kernel itself refuses (EBUSY) a
//! chain that holds a rule or a table that holds a chain, set, map or
//! object, even one added after we looked: nothing of anyone else's can be
//! deleted with it. One object per transaction, so one refusal does not
//! hold back the others. The socket is close-on-exec (netlink-sys opens it
//! with SOCK_CLOEXEC) and lives for one call.
//!
//! The data (`Made`, `NftChain`, `Existing`) is what created.rs plans with.
//! Encoding and decoding are pure and tested byte for byte; `dump`,
//! `delete_if_empty` and `generation` are the only functions that touch the
//! kernel.

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_GETTABLE: u16 = 1;
const NFT_MSG_DELTABLE: u16 = 2;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_GETCHAIN: u16 = 4;
const NFT_MSG_DELCHAIN: u16 = 5;
const NFT_MSG_NEWGEN: u16 = 15;
const NFT_MSG_GETGEN: u16 = 16;
const NFTA_GEN_ID: u16 = 1;
const NFNL_MSG_BATCH_BEGIN: u16 = 16;
const NFNL_MSG_BATCH_END: u16 = 17;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_NONREC: u16 = 0x100;
/// NFTA_TABLE_NAME, NFTA_CHAIN_TABLE
const ATTR_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_USE: u16 = 6;
const NF_ACCEPT: u32 = 1;
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;

/// A table (`chain` None) or a base chain that iptables-nft makes on demand.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Made {
    /// "ip" or "ip6".
    pub family: String,
    pub table: String,
    pub chain: Option<String>,
}

impl Made {
    pub fn new(family: &str, table: &str, chain: Option<&str>) -> Made {
        Made {
            family: family.to_string(),
            table: table.to_string(),
            chain: chain.map(str::to_string),
        }
    }

    pub fn line(&self) -> String {
        match &self.chain {
            Some(c) => format!("{} {} {c}", self.family, self.table),
            None => format!("{} {}", self.family, self.table),
        }
    }
}

/// One chain as nf_tables has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftChain {
    pub family: String,
    pub table: String,
    pub name: String,
    /// Attached to a hook (a base chain).
    pub base: bool,
    /// Policy accept (or no policy).
    pub accept: bool,
    /// Rules in it and jumps to it.
    pub used: u32,
}

/// The tables and chains of families ip and ip6 that exist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Existing {
    /// (family, table)
    pub tables: Vec<(String, String)>,
    pub chains: Vec<NftChain>,
}

impl Existing {
    pub fn has(&self, m: &Made) -> bool {
        match &m.chain {
            None => self
                .tables
                .iter()
                .any(|(f, t)| *f == m.family && *t == m.table),
            Some(c) => self.chain(m, c).is_some(),
        }
    }

    pub fn chain(&self, m: &Made, name: &str) -> Option<&NftChain> {
        self.chains
            .iter()
            .find(|c| c.family == m.family && c.table == m.table && c.name == name)
    }
}

/// "ip" / "ip6" as nf_tables numbers them (other families: None).
fn family_number(family: &str) -> Option<u8> {
    match family {
        "ip" => Some(NFPROTO_IPV4),
        "ip6" => Some(NFPROTO_IPV6),
        _ => None,
    }
}

fn family_name(n: u8) -> Option<&'static str> {
    match n {
        NFPROTO_IPV4 => Some("ip"),
        NFPROTO_IPV6 => Some("ip6"),
        _ => None,
    }
}

/// One netlink message: header, nfgenmsg, attributes.
fn message(kind: u16, flags: u16, seq: u32, family: u8, res_id: u16, attrs: &[u8]) -> Vec<u8> {
    let len = 16 + 4 + attrs.len();
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(&[family, 0]);
    m.extend_from_slice(&res_id.to_be_bytes());
    m.extend_from_slice(attrs);
    m
}

/// A NUL-terminated string attribute, padded to 4 bytes.
fn string_attr(kind: u16, s: &str) -> Vec<u8> {
    let len = 4 + s.len() + 1;
    let mut a = Vec::with_capacity(len + 3);
    a.extend_from_slice(&(len as u16).to_ne_bytes());
    a.extend_from_slice(&kind.to_ne_bytes());
    a.extend_from_slice(s.as_bytes());
    a.push(0);
    a.resize(len.div_ceil(4) * 4, 0);
    a
}

fn nft_type(msg: u16) -> u16 {
    (NFNL_SUBSYS_NFTABLES << 8) | msg
}

/// The dump requests: every table, every chain (all families).
pub fn dump_requests() -> [Vec<u8>; 2] {
    let flags = NLM_F_REQUEST | NLM_F_DUMP;
    [
        message(nft_type(NFT_MSG_GETTABLE), flags, 1, 0, 0, &[]),
        message(nft_type(NFT_MSG_GETCHAIN), flags, 2, 0, 0, &[]),
    ]
}

/// The request for the ruleset's generation.
pub fn generation_request() -> Vec<u8> {
    message(nft_type(NFT_MSG_GETGEN), NLM_F_REQUEST, 3, 0, 0, &[])
}

/// The transaction deleting `what` (one table or base chain) only if it is
/// empty, its delete message numbered `seq`; None for a family we do not
/// handle.
pub fn delete_batch(what: &Made, seq: u32) -> Option<Vec<u8>> {
    let family = family_number(&what.family)?;
    let mut attrs = string_attr(ATTR_TABLE, &what.table);
    let kind = match &what.chain {
        Some(chain) => {
            attrs.extend(string_attr(NFTA_CHAIN_NAME, chain));
            NFT_MSG_DELCHAIN
        }
        None => NFT_MSG_DELTABLE,
    };
    let subsys = NFNL_SUBSYS_NFTABLES;
    let mut b = message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, seq - 1, 0, subsys, &[]);
    let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_NONREC;
    b.extend(message(nft_type(kind), flags, seq, family, 0, &attrs));
    b.extend(message(
        NFNL_MSG_BATCH_END,
        NLM_F_REQUEST,
        seq + 1,
        0,
        subsys,
        &[],
    ));
    Some(b)
}

/// What one datagram of replies said.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Replies {
    pub existing: Existing,
    /// (seq, errno: 0 for success) of each acknowledgement or error.
    pub acks: Vec<(u32, i32)>,
    /// NLMSG_DONE seen: a dump is complete.
    pub done: bool,
    /// The ruleset's generation (a reply to `generation_request`).
    pub generation: Option<u32>,
}

/// The attributes of a message body: (type without flags, payload).
fn attributes(mut b: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while b.len() >= 4 {
        let len = u16::from_ne_bytes([b[0], b[1]]) as usize;
        let kind = u16::from_ne_bytes([b[2], b[3]]) & 0x3fff;
        if len < 4 || len > b.len() {
            break;
        }
        out.push((kind, &b[4..len]));
        b = b.get(len.div_ceil(4) * 4..).unwrap_or(&[]);
    }
    out
}

fn text(payload: &[u8]) -> String {
    let end = payload
        .iter()
        .position(|&c| c == 0)
        .unwrap_or(payload.len());
    String::from_utf8_lossy(&payload[..end]).into_owned()
}

fn be32(payload: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(payload.get(..4)?.try_into().ok()?))
}

/// Parse one datagram of netlink replies into `into`.
pub fn parse_replies(mut buf: &[u8], into: &mut Replies) {
    while buf.len() >= 16 {
        let len = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if len < 16 || len > buf.len() {
            break;
        }
        let kind = u16::from_ne_bytes([buf[4], buf[5]]);
        let seq = u32::from_ne_bytes([buf[8], buf[9], buf[10], buf[11]]);
        let body = &buf[16..len];
        match kind {
            NLMSG_DONE => into.done = true,
            NLMSG_ERROR if body.len() >= 4 => {
                let errno = i32::from_ne_bytes([body[0], body[1], body[2], body[3]]);
                into.acks.push((seq, -errno));
            }
            k if k == nft_type(NFT_MSG_NEWGEN) => {
                let attrs = attributes(body.get(4..).unwrap_or(&[]));
                into.generation = attrs
                    .iter()
                    .find(|(t, _)| *t == NFTA_GEN_ID)
                    .and_then(|(_, p)| be32(p));
            }
            k if k == nft_type(NFT_MSG_NEWTABLE) || k == nft_type(NFT_MSG_NEWCHAIN) => {
                parse_object(k == nft_type(NFT_MSG_NEWCHAIN), body, &mut into.existing);
            }
            _ => {}
        }
        buf = buf.get(len.div_ceil(4) * 4..).unwrap_or(&[]);
    }
}

/// A table or chain of family ip or ip6 into `existing`.
fn parse_object(chain: bool, body: &[u8], existing: &mut Existing) {
    let Some(family) = body.first().and_then(|&f| family_name(f)) else {
        return;
    };
    let attrs = attributes(body.get(4..).unwrap_or(&[]));
    let get = |k: u16| attrs.iter().find(|(t, _)| *t == k).map(|(_, p)| *p);
    let Some(table) = get(ATTR_TABLE).map(text) else {
        return;
    };
    if !chain {
        existing.tables.push((family.to_string(), table));
        return;
    }
    let Some(name) = get(NFTA_CHAIN_NAME).map(text) else {
        return;
    };
    existing.chains.push(NftChain {
        family: family.to_string(),
        table,
        name,
        base: get(NFTA_CHAIN_HOOK).is_some(),
        accept: get(NFTA_CHAIN_POLICY)
            .and_then(be32)
            .is_none_or(|p| p == NF_ACCEPT),
        used: get(NFTA_CHAIN_USE).and_then(be32).unwrap_or(u32::MAX),
    });
}

fn socket() -> std::io::Result<netlink_sys::Socket> {
    let mut s = netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_NETFILTER)?;
    s.bind_auto()?;
    Ok(s)
}

/// Every table and chain of families ip and ip6, as nf_tables has them now.
/// An error where nf_tables is missing (a kernel without it).
pub fn dump() -> std::io::Result<Existing> {
    let s = socket()?;
    let mut r = Replies::default();
    for req in dump_requests() {
        s.send(&req, 0)?;
        r.done = false;
        while !r.done {
            let (buf, _) = s.recv_from_full()?;
            if buf.is_empty() {
                break;
            }
            parse_replies(&buf, &mut r);
            if let Some((_, e)) = r.acks.iter().find(|(_, e)| *e != 0) {
                return Err(std::io::Error::from_raw_os_error(*e));
            }
        }
    }
    Ok(r.existing)
}

/// The ruleset's generation now: nf_tables counts it up with every
/// committed transaction (of any tool), so a listing taken at generation G
/// is still the ruleset while the generation is G. An error without
/// CAP_NET_ADMIN or nf_tables.
pub fn generation() -> std::io::Result<u32> {
    let s = socket()?;
    s.send(&generation_request(), 0)?;
    let mut r = Replies::default();
    loop {
        let (buf, _) = s.recv_from_full()?;
        if buf.is_empty() {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        parse_replies(&buf, &mut r);
        if let Some(g) = r.generation {
            return Ok(g);
        }
        if let Some(&(_, e)) = r.acks.first() {
            return Err(std::io::Error::from_raw_os_error(e));
        }
    }
}

/// Delete `what` if it is empty: Ok(true) deleted, Ok(false) the kernel
/// refused (it holds something, EBUSY) or it is gone already (ENOENT).
pub fn delete_if_empty(what: &Made) -> std::io::Result<bool> {
    const SEQ: u32 = 11;
    let Some(batch) = delete_batch(what, SEQ) else {
        return Ok(false);
    };
    let s = socket()?;
    s.send(&batch, 0)?;
    let mut r = Replies::default();
    loop {
        let (buf, _) = s.recv_from_full()?;
        if buf.is_empty() {
            return Ok(false);
        }
        parse_replies(&buf, &mut r);
        if let Some(&(_, e)) = r.acks.iter().find(|(seq, _)| *seq == SEQ) {
            return match e {
                0 => Ok(true),
                libc::EBUSY | libc::ENOENT => Ok(false),
                e => Err(std::io::Error::from_raw_os_error(e)),
            };
        }
    }
}

#[cfg(test)]
mod tests;
