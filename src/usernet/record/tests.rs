//! Unit tests of records: render/parse round trip, forwards, conversion
//! into a definition, exact error texts.

use super::*;
use crate::usernet::policy;

const F: &str = "/var/lib/vnet-helper/user-networks/vu-lab.toml";

fn rec() -> Record {
    let net: Prefix<Ipv4Addr> = Prefix {
        address: "10.240.3.1".parse().unwrap(),
        prefix: 24,
    };
    Record {
        name: "vu-lab".into(),
        owner: 1000,
        owner_name: "alice".into(),
        pool: "vu-".into(),
        mode: Mode::Nat,
        address: net,
        ipv6: Some(Prefix {
            address: "fd42:ab:0:1::1".parse().unwrap(),
            prefix: 64,
        }),
        forwards: vec![parse_forward("tcp:20000-20001:.10:80", &net).unwrap()],
        created: 1712345678,
    }
}

#[test]
fn round_trip() {
    let r = rec();
    let text = r.render();
    assert_eq!(
        text,
        "# vnet-helper user network `vu-lab': written by `vnet-helper net create'; do not edit\n\
         owner = 1000\nowner-name = \"alice\"\npool = \"vu-\"\nmode = \"nat\"\naddress = \"10.240.3.1/24\"\n\
         ipv6 = \"fd42:ab:0:1::1/64\"\nforwards = [\"tcp:20000-20001:10.240.3.10:80\"]\ncreated = 1712345678\n"
    );
    let mut back = parse(&text, F, "vu-lab").unwrap();
    back.forwards[0].line = 0;
    assert_eq!(back, r);
}

#[test]
fn converts_to_a_definition() {
    let pol = policy::parse("[[pool]]\nusers = [\"alice\"]\nprefix = \"vu-\"\nsubnets = \"10.240.0.0/16\"\nidle-timeout = \"5m\"\n", "P").unwrap();
    let d = rec().to_definition(&pol.pools[0]);
    assert_eq!(d.name, "vu-lab");
    assert_eq!(d.gateway().unwrap().to_string(), "10.240.3.1");
    assert_eq!(d.dhcp.unwrap().0.to_string(), "10.240.3.2");
    assert_eq!(d.dhcp.unwrap().1.to_string(), "10.240.3.254");
    assert_eq!(d.idle_timeout, Some(std::time::Duration::from_secs(300)));
    assert!(d.ipv6_nat && d.dns && d.needs_dnsmasq());
    assert_eq!(d.forwards[0].to_ip.to_string(), "10.240.3.10");
}

#[test]
fn forwards() {
    let net: Prefix<Ipv4Addr> = Prefix {
        address: "10.240.3.1".parse().unwrap(),
        prefix: 24,
    };
    let f = |s: &str| parse_forward(s, &net).map(|f| forward_text(&f));
    assert_eq!(
        f("udp:25000:10.240.3.7:53").unwrap(),
        "udp:25000:10.240.3.7:53"
    );
    assert_eq!(
        f("tcp:20000:.254:65535").unwrap(),
        "tcp:20000:10.240.3.254:65535"
    );
    assert_eq!(
        f("tcp:20000:.1:80").unwrap_err(),
        "10.240.3.1 is the bridge's own address"
    );
    assert_eq!(
        f("tcp:20000:.255:80").unwrap_err(),
        "10.240.3.255 is the subnet's broadcast address"
    );
    assert_eq!(
        f("tcp:20000:.256:80").unwrap_err(),
        "`.256' is outside the subnet 10.240.3.0/24"
    );
    assert_eq!(
        f("tcp:20000:10.9.9.9:80").unwrap_err(),
        "10.9.9.9 is outside the subnet 10.240.3.0/24"
    );
    assert_eq!(
        f("sctp:20000:.5:80").unwrap_err(),
        "unknown protocol `sctp' in `sctp:20000:.5:80' (tcp or udp)"
    );
    assert_eq!(
        f("tcp:20000-20002:.5:65534").unwrap_err(),
        "the guest ports of `tcp:20000-20002:.5:65534' run past 65535"
    );
    assert_eq!(
        f("tcp:20000:.5").unwrap_err(),
        "invalid forward `tcp:20000:.5' (expected PROTO:HOSTPORT:GUESTIP:GUESTPORT, e.g. tcp:20080:.10:80)"
    );
    assert_eq!(
        f("tcp:0:.5:80").unwrap_err(),
        "port `0' out of range (1..=65535)"
    );
}

#[test]
fn errors() {
    let e = |t: &str| parse(t, F, "vu-lab").unwrap_err().message().to_string();
    let ok = rec().render();
    assert_eq!(
        e(&format!("{ok}extra = 1\n")),
        format!("{F}:10: unknown key `extra'")
    );
    assert_eq!(
        e(&ok.replace("owner = 1000\n", "")),
        format!("{F}: missing key `owner'")
    );
    assert_eq!(
        e(&ok.replace("\"vu-\"", "\"ux-\"")),
        format!("{F}:4: `pool': `vu-lab' does not start with `ux-'")
    );
    assert_eq!(
        e(&ok.replace("\"nat\"", "\"bridged\"")),
        format!("{F}:5: `mode': unknown mode `bridged'")
    );
    assert_eq!(
        e(&ok.replace("\"alice\"", "\"a\\u001b[31m\"")),
        format!("{F}:3: `owner-name': not a user name")
    );
    assert_eq!(
        e(&ok.replace("10.240.3.10:80", "10.240.4.10:80")),
        format!("{F}:8: `forwards': 10.240.4.10 is outside the subnet 10.240.3.0/24")
    );
}
