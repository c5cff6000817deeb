//! Tests of the exact-teardown planning: what a setup notes, what a
//! teardown deletes, and the record file's text.

use super::*;
use crate::network::definition::parse as parse_def;
use crate::network::firewall::nfnl::NftChain;
use crate::network::firewall::rules::wanted;

fn m(line: &str) -> Made {
    let w: Vec<&str> = line.split(' ').collect();
    Made::new(w[0], w[1], w.get(2).copied())
}

fn lines(made: &[Made]) -> String {
    render(made)
}

fn chain(fam: &str, table: &str, name: &str, used: u32, accept: bool) -> NftChain {
    NftChain {
        family: fam.into(),
        table: table.into(),
        name: name.into(),
        base: true,
        accept,
        used,
    }
}

#[test]
fn a_nat_network_touches_filter_and_nat_base_chains() {
    let d = parse_def("address = \"10.200.0.1/24\"\n", "t.toml", "vnet0").unwrap();
    assert_eq!(
        lines(&touched(&wanted(&d))),
        "ip filter\nip filter FORWARD\nip filter INPUT\nip filter OUTPUT\nip nat\nip nat POSTROUTING\n"
    );
    let d = parse_def(
        "address = \"10.200.0.1/24\"\nipv6 = \"fd00::1/64\"\n[[forward]]\nproto = \"tcp\"\nport = 80\nto = \"10.200.0.5:80\"\n",
        "t.toml",
        "vnet0",
    )
    .unwrap();
    assert_eq!(
        lines(&touched(&wanted(&d))),
        "ip filter\nip filter FORWARD\nip filter INPUT\nip filter OUTPUT\n\
         ip nat\nip nat OUTPUT\nip nat POSTROUTING\nip nat PREROUTING\n\
         ip6 filter\nip6 filter FORWARD\nip6 filter INPUT\nip6 filter OUTPUT\n\
         ip6 nat\nip6 nat POSTROUTING\n"
    );
    let bridged = parse_def("mode = \"bridged\"\nuplink = \"eth1\"\n", "t.toml", "br1").unwrap();
    assert!(touched(&wanted(&bridged)).is_empty());
}

#[test]
fn setup_notes_only_what_did_not_exist() {
    let d = parse_def("address = \"10.200.0.1/24\"\n", "t.toml", "vnet0").unwrap();
    let t = touched(&wanted(&d));
    // A Docker host: ip filter with FORWARD, ip nat with POSTROUTING and
    // PREROUTING (Docker's nft rules live in those chains).
    let docker = Existing {
        tables: vec![("ip".into(), "filter".into()), ("ip".into(), "nat".into())],
        chains: vec![
            chain("ip", "filter", "FORWARD", 6, false),
            chain("ip", "nat", "POSTROUTING", 1, true),
            chain("ip", "nat", "PREROUTING", 1, true),
        ],
    };
    let noted = after_setup(&[], &t, &docker);
    assert_eq!(lines(&noted), "ip filter INPUT\nip filter OUTPUT\n");
    // Nothing there: everything is ours.
    let all = after_setup(&[], &t, &Existing::default());
    assert_eq!(all, t);
    // Once everything exists, the record stays what it was.
    let now = Existing {
        tables: docker.tables.clone(),
        chains: [
            docker.chains.clone(),
            vec![
                chain("ip", "filter", "INPUT", 1, true),
                chain("ip", "filter", "OUTPUT", 1, true),
            ],
        ]
        .concat(),
    };
    assert_eq!(after_setup(&noted, &t, &now), noted);
}

#[test]
fn teardown_deletes_only_what_we_made_and_is_empty() {
    let noted: Vec<Made> = [
        "ip filter",
        "ip filter FORWARD",
        "ip filter INPUT",
        "ip filter OUTPUT",
        "ip nat",
        "ip nat POSTROUTING",
    ]
    .map(m)
    .to_vec();
    let tables = vec![("ip".into(), "filter".into()), ("ip".into(), "nat".into())];
    // All empty again.
    let empty = Existing {
        tables: tables.clone(),
        chains: vec![
            chain("ip", "filter", "FORWARD", 0, true),
            chain("ip", "filter", "INPUT", 0, true),
            chain("ip", "nat", "POSTROUTING", 0, true),
        ],
    };
    let del = to_delete(&noted, &empty);
    assert_eq!(
        lines(&del),
        "ip filter FORWARD\nip filter INPUT\nip nat POSTROUTING\nip filter\nip nat\n"
    );
    assert!(after_teardown(&noted, &empty, &del).is_empty());

    // Meanwhile the host added a rule to FORWARD, set INPUT's policy to
    // drop and made a chain of its own in nat: those stay, and so do their
    // tables; nat POSTROUTING (empty) goes.
    let host = Existing {
        tables,
        chains: vec![
            chain("ip", "filter", "FORWARD", 1, true),
            chain("ip", "filter", "INPUT", 0, false),
            chain("ip", "nat", "POSTROUTING", 0, true),
            NftChain {
                base: false,
                ..chain("ip", "nat", "HOST", 0, true)
            },
        ],
    };
    let del = to_delete(&noted, &host);
    assert_eq!(lines(&del), "ip nat POSTROUTING\n");
    // What still exists stays noted (OUTPUT never existed: forgotten).
    assert_eq!(
        lines(&after_teardown(&noted, &host, &del)),
        "ip filter\nip filter FORWARD\nip filter INPUT\nip nat\n"
    );
    // If the kernel refused (deleted is empty), everything existing stays.
    assert_eq!(
        lines(&after_teardown(&noted, &host, &[])),
        "ip filter\nip filter FORWARD\nip filter INPUT\nip nat\nip nat POSTROUTING\n"
    );
    // Nothing noted: nothing deleted, whatever is empty.
    assert!(to_delete(&[], &empty).is_empty());
}

#[test]
fn record_text() {
    let made = parse("ip6 nat POSTROUTING\nip filter\nip filter\nip filter INPUT\n").unwrap();
    assert_eq!(
        render(&made),
        "ip filter\nip filter INPUT\nip6 nat POSTROUTING\n"
    );
    assert_eq!(render(&[]), "");
    assert!(parse("").unwrap().is_empty());
    for bad in [
        "inet filter\n",
        "ip mangle\n",
        "ip\n",
        "ip filter INPUT x\n",
    ] {
        let e = parse(bad).unwrap_err();
        assert_eq!(
            e.message(),
            "/run/vnet-helper/iptables-created, line 1: not `FAMILY TABLE [CHAIN]'"
        );
    }
}
