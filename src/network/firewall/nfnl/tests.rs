//! Tests of the nf_tables netlink messages, byte for byte.

use super::*;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn delete_batch_bytes() {
    let chain = Made {
        family: "ip".into(),
        table: "filter".into(),
        chain: Some("INPUT".into()),
    };
    let b = delete_batch(&chain, 11).unwrap();
    let le = cfg!(target_endian = "little");
    assert!(le, "the expected bytes below are little-endian");
    assert_eq!(
        hex(&b),
        concat!(
            // batch begin: len 20, type 16, REQUEST, seq 10, res_id 10 (be)
            "14000000",
            "1000",
            "0100",
            "0a000000",
            "00000000",
            "0000",
            "000a",
            // DELCHAIN: len 44, type 0x0a05, REQUEST|ACK|NONREC, seq 11, AF ip
            "2c000000",
            "050a",
            "0501",
            "0b000000",
            "00000000",
            "0200",
            "0000",
            // NFTA_CHAIN_TABLE "filter", NFTA_CHAIN_NAME "INPUT"
            "0b000100",
            "66696c74657200",
            "00",
            "0a000300",
            "494e50555400",
            "0000",
            // batch end, seq 12
            "14000000",
            "1100",
            "0100",
            "0c000000",
            "00000000",
            "0000",
            "000a",
        )
    );
    let table = Made {
        family: "ip6".into(),
        table: "nat".into(),
        chain: None,
    };
    let b = delete_batch(&table, 11).unwrap();
    // DELTABLE 0x0a02, family 10, NFTA_TABLE_NAME "nat"
    assert_eq!(
        hex(&b[20..48]),
        concat!(
            "1c000000", "020a", "0501", "0b000000", "00000000", "0a00", "0000", "08000100",
            "6e617400"
        )
    );
    let other = Made {
        family: "inet".into(),
        ..table
    };
    assert_eq!(delete_batch(&other, 11), None);
    assert_eq!(
        hex(&dump_requests()[1]),
        concat!("14000000", "040a", "0103", "02000000", "00000000", "0000", "0000")
    );
}

/// A NEWCHAIN message as the kernel sends it in a dump.
fn chain_msg(family: u8, table: &str, name: &str, hook: bool, policy: u32, used: u32) -> Vec<u8> {
    let mut attrs = string_attr(ATTR_TABLE, table);
    attrs.extend(string_attr(NFTA_CHAIN_NAME, name));
    if hook {
        // nested, flagged NLA_F_NESTED: hooknum, priority
        attrs.extend([20, 0, 4, 0x80]);
        attrs.extend([8, 0, 1, 0, 0, 0, 0, 2]);
        attrs.extend([8, 0, 2, 0, 0, 0, 0, 0]);
        attrs.extend([8, 0, 5, 0]);
        attrs.extend(policy.to_be_bytes());
    }
    attrs.extend([8, 0, 6, 0]);
    attrs.extend(used.to_be_bytes());
    message(nft_type(NFT_MSG_NEWCHAIN), 2, 2, family, 0, &attrs)
}

#[test]
fn dump_replies_parse() {
    let mut buf = message(
        nft_type(NFT_MSG_NEWTABLE),
        2,
        1,
        NFPROTO_IPV4,
        0,
        &string_attr(ATTR_TABLE, "filter"),
    );
    // an inet table: not ours to look at
    buf.extend(message(
        nft_type(NFT_MSG_NEWTABLE),
        2,
        1,
        1,
        0,
        &string_attr(ATTR_TABLE, "filter"),
    ));
    buf.extend(chain_msg(NFPROTO_IPV4, "filter", "FORWARD", true, 0, 3));
    buf.extend(chain_msg(NFPROTO_IPV6, "nat", "POSTROUTING", true, 1, 0));
    buf.extend(chain_msg(NFPROTO_IPV4, "filter", "DOCKER", false, 0, 2));
    buf.extend(message(NLMSG_DONE, 2, 2, 0, 0, &[]));
    let mut r = Replies::default();
    parse_replies(&buf, &mut r);
    assert!(r.done);
    assert_eq!(
        r.existing.tables,
        [("ip".to_string(), "filter".to_string())]
    );
    let c = &r.existing.chains;
    assert_eq!(c.len(), 3);
    assert_eq!(
        (c[0].name.as_str(), c[0].base, c[0].accept, c[0].used),
        ("FORWARD", true, false, 3)
    );
    assert_eq!(
        (c[1].family.as_str(), c[1].base, c[1].accept, c[1].used),
        ("ip6", true, true, 0)
    );
    assert_eq!(
        (c[2].name.as_str(), c[2].base, c[2].accept),
        ("DOCKER", false, true)
    );
    // An error acknowledgement: errno -16 (EBUSY) for seq 11.
    let mut err = Vec::new();
    err.extend(36u32.to_ne_bytes());
    err.extend(NLMSG_ERROR.to_ne_bytes());
    err.extend(0u16.to_ne_bytes());
    err.extend(11u32.to_ne_bytes());
    err.extend(0u32.to_ne_bytes());
    err.extend((-16i32).to_ne_bytes());
    err.extend([0u8; 16]);
    let mut r = Replies::default();
    parse_replies(&err, &mut r);
    assert_eq!(r.acks, [(11, 16)]);
    // Truncated input is ignored, not a panic.
    parse_replies(&err[..20], &mut Replies::default());
    parse_replies(&buf[..30], &mut Replies::default());
}

#[test]
fn generation_request_bytes() {
    // nlmsghdr: length 20, type NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETGEN,
    // NLM_F_REQUEST, seq 3, pid 0; nfgenmsg: AF_UNSPEC, version 0, res_id 0.
    assert_eq!(
        hex(&generation_request()),
        "14000000100a0100030000000000000000000000"
    );
}

#[test]
fn generation_reply_parsed() {
    // NFT_MSG_NEWGEN: nfgenmsg, then NFTA_GEN_ID = 0x01020304 (big-endian),
    // NFTA_GEN_PROC_PID = 77.
    let mut body = vec![0u8, 0, 0x03, 0x04];
    body.extend_from_slice(&8u16.to_ne_bytes());
    body.extend_from_slice(&1u16.to_ne_bytes());
    body.extend_from_slice(&[1, 2, 3, 4]);
    body.extend_from_slice(&8u16.to_ne_bytes());
    body.extend_from_slice(&2u16.to_ne_bytes());
    body.extend_from_slice(&77u32.to_be_bytes());
    let mut msg = ((16 + body.len()) as u32).to_ne_bytes().to_vec();
    msg.extend_from_slice(&((10u16 << 8) | 15).to_ne_bytes());
    msg.extend_from_slice(&0u16.to_ne_bytes());
    msg.extend_from_slice(&3u32.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    msg.extend_from_slice(&body);
    let mut r = Replies::default();
    parse_replies(&msg, &mut r);
    assert_eq!(r.generation, Some(0x0102_0304));
    assert!(r.acks.is_empty());
}
