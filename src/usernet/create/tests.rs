//! Unit tests of the checks made before any work, in the contract's order,
//! with their exact refusals.

use super::*;
use crate::usernet::membership::parse;
use crate::usernet::policy;
use nix::unistd::{Gid, Uid};

fn caller(uid: u32, groups: &[u32]) -> Caller {
    Caller {
        uid: Uid::from_raw(uid),
        gid: Gid::from_raw(100),
        groups: groups.iter().map(|g| Gid::from_raw(*g)).collect(),
        elevated: true,
    }
}

fn check(req: Request, who: &Caller) -> std::result::Result<(String, Mode), String> {
    let pol = policy::parse(
        "[[pool]]\nusers = [\"alice\", \"@vm\"]\nprefix = \"vu-\"\nsubnets = \"10.240.0.0/16\"\n\
         ipv6-subnets = \"fd42:ab::/48\"\nforwards = true\nforward-ports = \"20000-29999\"\n\
         [[pool]]\nusers = [\"alice\"]\nprefix = \"ux-\"\nsubnets = \"10.241.0.0/16\"\n",
        "P",
    )
    .unwrap();
    let acc = Accounts {
        users: parse("alice:x:1000:100::/:/bin/sh\nbob:x:1001:100::/:/bin/sh\n"),
        groups: parse("vm:x:2000:\n"),
    };
    precheck(&pol, &acc, who, &req)
        .map(|(p, m)| (p.prefix.clone(), m))
        .map_err(|e| {
            assert_eq!(e.kind(), crate::error::Kind::Denied);
            e.message().to_string()
        })
}

fn req(name: &str) -> Request {
    Request {
        name: name.into(),
        ..Request::default()
    }
}

#[test]
fn members_and_pools() {
    let alice = caller(1000, &[]);
    assert_eq!(check(req("vu-lab"), &alice), Ok(("vu-".into(), Mode::Nat)));
    assert_eq!(
        check(req("vu-lab"), &caller(1002, &[2000])),
        Ok(("vu-".into(), Mode::Nat))
    );
    assert_eq!(
        check(req("vu-lab"), &caller(0, &[])),
        Ok(("vu-".into(), Mode::Nat))
    );
    assert_eq!(
        check(req("vu-lab"), &caller(1001, &[])).unwrap_err(),
        "you (uid 1001) are not a member of pool `vu-' (see /etc/vnet-helper/user-networks.toml)"
    );
    assert_eq!(
        check(req("ux-a"), &caller(1002, &[2000])).unwrap_err(),
        "you (uid 1002) are not a member of pool `ux-' (see /etc/vnet-helper/user-networks.toml)"
    );
    assert_eq!(
        check(req("eth0"), &alice).unwrap_err(),
        "no pool of user networks has a prefix that `eth0' starts with"
    );
    assert_eq!(
        check(req("vu-"), &alice).unwrap_err(),
        "no pool of user networks has a prefix that `vu-' starts with"
    );
}

#[test]
fn names_are_checked_first() {
    let bob = caller(1001, &[]);
    for (name, why) in [
        (
            "vu-a+b",
            "character '+' not allowed in an interface name (letters, digits, '-', '_', '.')",
        ),
        (
            "vu-a/b",
            "character '/' not allowed in an interface name (letters, digits, '-', '_', '.')",
        ),
        (
            "vu-0123456789abc",
            "interface name too long (16 bytes, at most 15)",
        ),
        ("..", "not a valid interface name"),
        ("", "empty interface name"),
    ] {
        assert_eq!(
            check(req(name), &bob).unwrap_err(),
            format!("invalid network name `{name}': {why}")
        );
    }
    assert_eq!(
        check(req("vu-\u{1b}[1m"), &bob).unwrap_err(),
        "invalid network name `vu-\\x1b[1m': character '\\u{1b}' not allowed in an interface name (letters, digits, '-', '_', '.')"
    );
}

#[test]
fn modes_ipv6_forwards() {
    let alice = caller(1000, &[]);
    let r = |mode: Option<&str>, ipv6: bool, fw: &[&str], name: &str| Request {
        name: name.into(),
        mode: mode.map(String::from),
        ipv6,
        forwards: fw.iter().map(|s| s.to_string()).collect(),
    };
    assert_eq!(
        check(r(Some("isolated"), false, &[], "vu-a"), &alice),
        Ok(("vu-".into(), Mode::Isolated))
    );
    assert_eq!(
        check(r(Some("routed"), false, &[], "vu-a"), &alice).unwrap_err(),
        "mode `routed' is not allowed in pool `vu-' (allowed: nat, isolated)"
    );
    assert!(check(r(None, true, &[], "vu-a"), &alice).is_ok());
    assert_eq!(
        check(r(None, true, &[], "ux-a"), &alice).unwrap_err(),
        "pool `ux-' has no ipv6-subnets: --ipv6 is not available"
    );
    assert!(check(r(None, false, &["tcp:20000-20010:.5:80"], "vu-a"), &alice).is_ok());
    assert_eq!(
        check(r(None, false, &["tcp:22:.5:22"], "vu-a"), &alice).unwrap_err(),
        "forward `tcp:22:.5:22': host port 22 is outside pool `vu-''s forward-ports 20000-29999"
    );
    assert_eq!(
        check(r(None, false, &["tcp:29999-30001:.5:80"], "vu-a"), &alice).unwrap_err(),
        "forward `tcp:29999-30001:.5:80': host port 30001 is outside pool `vu-''s forward-ports 20000-29999"
    );
    assert_eq!(
        check(r(None, false, &["tcp:20000:.5:80"], "ux-a"), &alice).unwrap_err(),
        "pool `ux-' does not allow port forwards"
    );
    assert_eq!(
        check(
            r(Some("isolated"), false, &["tcp:20000:.5:80"], "vu-a"),
            &alice
        )
        .unwrap_err(),
        "an isolated network cannot have port forwards"
    );
}
