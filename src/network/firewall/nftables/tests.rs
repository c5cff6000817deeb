//! The nftables driver's tests: parsing real `nft -a list ruleset` output,
//! the exact transaction for each kind of network, planning against what is
//! there (other networks, repairs, the iptables backend's leftovers, Docker
//! and ufw-shaped iptables-nft tables), and the checks for `status`.

use super::parse::Ruleset;
use super::*;
use crate::network::definition::{parse, Definition};
use crate::network::firewall::rules::wanted;

fn def(name: &str, text: &str) -> Definition {
    parse(text, "test.toml", name).unwrap()
}

fn setup(d: &Definition, listing: &str) -> String {
    plan::script(&d.name, Some(&wanted(d)), &Ruleset::parse(listing), true).unwrap_or_default()
}

fn teardown(name: &str, listing: &str) -> String {
    plan::script(name, None, &Ruleset::parse(listing), true).unwrap_or_default()
}

fn lines(script: &str) -> Vec<&str> {
    script.lines().collect()
}

/// `nft -a list ruleset` (1.0.6) on a host with Docker's FORWARD policy
/// drop, and the iptables backend's chains of a network `old`.
const DOCKER_AND_OLD: &str = "table ip filter { # handle 1
\tchain FORWARD { # handle 1
\t\ttype filter hook forward priority filter; policy drop;
\t\tcounter packets 0 bytes 0 jump VNET-FWX # handle 12
\t\tcounter packets 0 bytes 0 jump VNET-FWI # handle 11
\t\tcounter packets 0 bytes 0 jump VNET-FWO # handle 10
\t\tcounter packets 0 bytes 0 jump DOCKER-USER # handle 3
\t\toifname \"docker0\" counter packets 0 bytes 0 accept # handle 4
\t}

\tchain DOCKER-USER { # handle 2
\t\tcounter packets 0 bytes 0 return # handle 5
\t}

\tchain VNET-FWX { # handle 6
\t}

\tchain VNET-FWI { # handle 7
\t\toifname \"old\" counter packets 0 bytes 0 jump VNET-old-FWI # handle 13
\t}

\tchain VNET-FWO { # handle 8
\t}

\tchain VNET-old-FWI { # handle 9
\t\toifname \"old\" counter packets 0 bytes 0 reject # handle 14
\t}
}
table ip nat { # handle 2
\tchain VNET-old-PRT { # handle 1
\t}

\tchain POSTROUTING { # handle 2
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tcounter packets 0 bytes 0 jump VNET-old-PRT # handle 3
\t}
}
";

/// Our table with network `a`, as nft 1.0.6 listed it after `setup`
/// (and `b` in the set: printed over two lines).
const WITH_A: &str = "table ip vnet_helper { # handle 1
\tset bridges { # handle 1
\t\ttype ifname
\t\telements = { \"a\",
\t\t\t     \"b\" }
\t}

\tmap to-host { # handle 2
\t\ttype ifname : verdict
\t\telements = { \"a\" : jump vnet-a-in }
\t}

\tmap from-host { # handle 3
\t\ttype ifname : verdict
\t\telements = { \"a\" : jump vnet-a-out }
\t}

\tmap guest-to-guest { # handle 4
\t\ttype ifname : verdict
\t\telements = { \"a\" : jump vnet-a-fwx }
\t}

\tmap into-bridge { # handle 5
\t\ttype ifname : verdict
\t\telements = { \"a\" : jump vnet-a-fwi }
\t}

\tmap out-of-bridge { # handle 6
\t\ttype ifname : verdict
\t\telements = { \"a\" : jump vnet-a-fwo }
\t}

\tchain input { # handle 7
\t\ttype filter hook input priority filter; policy accept;
\t\tiifname vmap @to-host # handle 8
\t}

\tchain output { # handle 9
\t\ttype filter hook output priority filter; policy accept;
\t\toifname vmap @from-host # handle 10
\t}

\tchain forward { # handle 11
\t\ttype filter hook forward priority filter; policy accept;
\t\tiifname vmap @guest-to-guest # handle 12
\t\toifname vmap @into-bridge # handle 13
\t\tiifname vmap @out-of-bridge # handle 14
\t}

\tchain prerouting { # handle 15
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t}

\tchain nat-output { # handle 16
\t\ttype nat hook output priority -100; policy accept;
\t}

\tchain postrouting { # handle 17
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tjump vnet-a-prt # handle 41
\t}

\tchain vnet-a-in { # handle 18
\t\tiifname \"a\" udp dport 53 accept # handle 19
\t\tiifname \"a\" tcp dport 53 accept # handle 20
\t\tiifname \"a\" udp dport 67 accept # handle 21
\t}

\tchain vnet-a-out { # handle 22
\t\toifname \"a\" udp sport 53 accept # handle 23
\t\toifname \"a\" tcp sport 53 accept # handle 24
\t\toifname \"a\" udp dport 68 accept # handle 25
\t}

\tchain vnet-a-fwx { # handle 26
\t\tiifname \"a\" oifname \"a\" accept # handle 27
\t}

\tchain vnet-a-fwi { # handle 28
\t\tiifname @bridges oifname \"a\" reject # handle 29
\t\toifname \"a\" ip daddr 10.1.0.0/24 ct state established,related accept # handle 30
\t\toifname \"a\" reject # handle 31
\t}

\tchain vnet-a-fwo { # handle 32
\t\tiifname \"a\" ip saddr 10.1.0.0/24 accept # handle 33
\t\tiifname \"a\" reject # handle 34
\t}

\tchain vnet-a-prt { # handle 35
\t\tip saddr 10.1.0.0/24 ip daddr 224.0.0.0/24 return # handle 36
\t\tip saddr 10.1.0.0/24 ip daddr 255.255.255.255 return # handle 37
\t\tip saddr 10.1.0.0/24 ip daddr != 10.1.0.0/24 meta l4proto tcp masquerade to :1024-65535 # handle 38
\t\tip saddr 10.1.0.0/24 ip daddr != 10.1.0.0/24 meta l4proto udp masquerade to :1024-65535 # handle 39
\t\tip saddr 10.1.0.0/24 ip daddr != 10.1.0.0/24 masquerade # handle 40
\t}
}
";

fn net_a() -> Definition {
    def("a", "address = \"10.1.0.1/24\"\n")
}

#[test]
fn parses_a_real_listing() {
    let rs = Ruleset::parse(&format!("{DOCKER_AND_OLD}{WITH_A}"));
    assert_eq!(rs.tables.len(), 3);
    let f = rs.table("ip", "filter").unwrap();
    let fwd = f.chain("FORWARD").unwrap();
    assert_eq!(fwd.hook.as_deref(), Some("forward"));
    assert!(fwd.policy_drop);
    assert_eq!(fwd.rules.len(), 5);
    assert_eq!(fwd.rules[0].handle, Some(12));
    assert_eq!(fwd.rules[0].target(), Some("VNET-FWX"));
    assert_eq!(
        fwd.rules[4].text,
        "oifname \"docker0\" counter packets 0 bytes 0 accept"
    );
    assert!(!fwd.rules[4].drops());
    assert!(f.chain("VNET-old-FWI").unwrap().rules[0].drops());
    assert_eq!(f.chain("VNET-FWX").unwrap().hook, None);
    let ours = rs.table("ip", "vnet_helper").unwrap();
    assert_eq!(ours.set("bridges").unwrap().elements, ["a", "b"]);
    assert_eq!(ours.chain("vnet-a-fwi").unwrap().rules.len(), 3);
    assert!(!ours.chain("input").unwrap().policy_drop);
    // without handles (what status reads for the diagnosis)
    let plain = strip_handles(WITH_A);
    assert!(plain.starts_with("table ip vnet_helper {\n\tset bridges {\n"));
    assert_eq!(
        Ruleset::parse(&plain)
            .table("ip", "vnet_helper")
            .unwrap()
            .chains
            .len(),
        12
    );
}

#[test]
fn nat_network_exact_text() {
    let s = setup(&net_a(), "");
    let want = "add table ip vnet_helper
add set ip vnet_helper bridges { type ifname; }
add map ip vnet_helper to-host { type ifname : verdict; }
add map ip vnet_helper from-host { type ifname : verdict; }
add map ip vnet_helper guest-to-guest { type ifname : verdict; }
add map ip vnet_helper into-bridge { type ifname : verdict; }
add map ip vnet_helper out-of-bridge { type ifname : verdict; }
add chain ip vnet_helper input { type filter hook input priority filter; policy accept; }
add rule ip vnet_helper input iifname vmap @to-host
add chain ip vnet_helper output { type filter hook output priority filter; policy accept; }
add rule ip vnet_helper output oifname vmap @from-host
add chain ip vnet_helper forward { type filter hook forward priority filter; policy accept; }
add rule ip vnet_helper forward iifname vmap @guest-to-guest
add rule ip vnet_helper forward oifname vmap @into-bridge
add rule ip vnet_helper forward iifname vmap @out-of-bridge
add chain ip vnet_helper prerouting { type nat hook prerouting priority dstnat; policy accept; }
add chain ip vnet_helper nat-output { type nat hook output priority -100; policy accept; }
add chain ip vnet_helper postrouting { type nat hook postrouting priority srcnat; policy accept; }
add chain ip vnet_helper vnet-a-in
add rule ip vnet_helper vnet-a-in iifname \"a\" udp dport 53 accept
add rule ip vnet_helper vnet-a-in iifname \"a\" tcp dport 53 accept
add rule ip vnet_helper vnet-a-in iifname \"a\" udp dport 67 accept
add chain ip vnet_helper vnet-a-out
add rule ip vnet_helper vnet-a-out oifname \"a\" udp sport 53 accept
add rule ip vnet_helper vnet-a-out oifname \"a\" tcp sport 53 accept
add rule ip vnet_helper vnet-a-out oifname \"a\" udp dport 68 accept
add chain ip vnet_helper vnet-a-fwx
add rule ip vnet_helper vnet-a-fwx iifname \"a\" oifname \"a\" accept
add chain ip vnet_helper vnet-a-fwi
add rule ip vnet_helper vnet-a-fwi iifname @bridges oifname \"a\" reject with icmp type port-unreachable
add rule ip vnet_helper vnet-a-fwi oifname \"a\" ip daddr 10.1.0.0/24 ct state established,related accept
add rule ip vnet_helper vnet-a-fwi oifname \"a\" reject with icmp type port-unreachable
add chain ip vnet_helper vnet-a-fwo
add rule ip vnet_helper vnet-a-fwo iifname \"a\" ip saddr 10.1.0.0/24 accept
add rule ip vnet_helper vnet-a-fwo iifname \"a\" reject with icmp type port-unreachable
add chain ip vnet_helper vnet-a-prt
add rule ip vnet_helper vnet-a-prt ip saddr 10.1.0.0/24 ip daddr 224.0.0.0/24 return
add rule ip vnet_helper vnet-a-prt ip saddr 10.1.0.0/24 ip daddr 255.255.255.255/32 return
add rule ip vnet_helper vnet-a-prt ip saddr 10.1.0.0/24 ip daddr != 10.1.0.0/24 meta l4proto tcp masquerade to :1024-65535
add rule ip vnet_helper vnet-a-prt ip saddr 10.1.0.0/24 ip daddr != 10.1.0.0/24 meta l4proto udp masquerade to :1024-65535
add rule ip vnet_helper vnet-a-prt ip saddr 10.1.0.0/24 ip daddr != 10.1.0.0/24 masquerade
add element ip vnet_helper to-host { \"a\" : jump vnet-a-in }
add element ip vnet_helper from-host { \"a\" : jump vnet-a-out }
add element ip vnet_helper guest-to-guest { \"a\" : jump vnet-a-fwx }
add element ip vnet_helper into-bridge { \"a\" : jump vnet-a-fwi }
add element ip vnet_helper out-of-bridge { \"a\" : jump vnet-a-fwo }
add rule ip vnet_helper postrouting jump vnet-a-prt
add element ip vnet_helper bridges { \"a\" }
";
    assert_eq!(s, want);
    // an IPv4-only network: no IPv6 path at all
    assert!(!s.contains("ip6"));
    // one transaction
    let st = State::from_listing("");
    let plan = st.setup(&wanted(&net_a()));
    assert_eq!(plan.steps.len(), 1);
    assert_eq!(plan.steps[0].program, "/usr/sbin/nft");
    assert_eq!(plan.steps[0].args, ["-f", "-"]);
    assert_eq!(plan.steps[0].stdin, want);
}

#[test]
fn uplink_and_forwards_exact_text() {
    let d = def(
        "b",
        "address = \"10.2.0.1/24\"\nuplink = \"eth0\"\n\
         [[forward]]\nproto = \"tcp\"\nport = 2222\nto = \"10.2.0.5:22\"\n\
         [[forward]]\nproto = \"udp\"\nport = \"8000-8001\"\nto = \"10.2.0.5:9000\"\nhost-address = \"192.0.2.1\"\n\
         [[forward]]\nproto = \"tcp\"\nport = \"7000-7001\"\nto = \"10.2.0.5:7000\"\n",
    );
    let s = setup(&d, "");
    let fwi: Vec<&str> = lines(&s)
        .into_iter()
        .filter(|l| l.starts_with("add rule ip vnet_helper vnet-b-fwi "))
        .collect();
    assert_eq!(
        fwi,
        [
            "add rule ip vnet_helper vnet-b-fwi iifname @bridges oifname \"b\" reject with icmp type port-unreachable",
            // replies come back only through the uplink
            "add rule ip vnet_helper vnet-b-fwi iifname \"eth0\" oifname \"b\" ip daddr 10.2.0.0/24 ct state established,related accept",
            "add rule ip vnet_helper vnet-b-fwi oifname \"b\" ip daddr 10.2.0.5 tcp dport 22 ct status dnat accept",
            "add rule ip vnet_helper vnet-b-fwi oifname \"b\" ip daddr 10.2.0.5 udp dport 9000-9001 ct status dnat accept",
            "add rule ip vnet_helper vnet-b-fwi oifname \"b\" ip daddr 10.2.0.5 tcp dport 7000-7001 ct status dnat accept",
            "add rule ip vnet_helper vnet-b-fwi oifname \"b\" reject with icmp type port-unreachable",
        ]
    );
    // out of the uplink only
    assert!(s.contains(
        "add rule ip vnet_helper vnet-b-fwo iifname \"b\" ip saddr 10.2.0.0/24 oifname \"eth0\" accept\n"
    ));
    assert!(
        s.contains("ip saddr 10.2.0.0/24 ip daddr != 10.2.0.0/24 oifname \"eth0\" masquerade\n")
    );
    // hairpin, then the port forwards: one port, a shifted range (port by
    // port), a range onto itself (the port kept)
    assert!(s.contains("add rule ip vnet_helper vnet-b-prt ip saddr 10.2.0.0/24 ip daddr 10.2.0.5 tcp dport 22 ct status dnat masquerade\n"));
    let dnat: Vec<&str> = lines(&s)
        .into_iter()
        .filter(|l| l.starts_with("add rule ip vnet_helper vnet-b-dnat "))
        .collect();
    assert_eq!(
        dnat,
        [
            "add rule ip vnet_helper vnet-b-dnat tcp dport 2222 fib daddr type local dnat to 10.2.0.5:22",
            "add rule ip vnet_helper vnet-b-dnat udp dport 8000-8001 ip daddr 192.0.2.1 dnat ip to udp dport map { 8000 : 10.2.0.5 . 9000, 8001 : 10.2.0.5 . 9001 }",
            "add rule ip vnet_helper vnet-b-dnat tcp dport 7000-7001 fib daddr type local dnat to 10.2.0.5",
        ]
    );
    assert!(s.contains("add rule ip vnet_helper prerouting jump vnet-b-dnat\n"));
    assert!(s.contains(
        "add rule ip vnet_helper nat-output ip daddr != 127.0.0.0/8 fib daddr type local jump vnet-b-dnat\n"
    ));
}

#[test]
fn ipv6_rules() {
    let d = def(
        "c",
        "address = \"10.3.0.1/24\"\nipv6 = \"fd00:3::1/64\"\n\
         [[forward]]\nproto = \"tcp\"\nport = 2222\nto = \"[fd00:3::5]:22\"\n",
    );
    let s = setup(&d, "");
    for l in [
        "add table ip6 vnet_helper",
        "add rule ip6 vnet_helper vnet-c-in iifname \"c\" udp dport 547 accept",
        "add rule ip6 vnet_helper vnet-c-out oifname \"c\" udp dport 546 accept",
        "add rule ip6 vnet_helper vnet-c-fwi iifname @bridges oifname \"c\" reject with icmpv6 type port-unreachable",
        "add rule ip6 vnet_helper vnet-c-prt ip6 saddr fd00:3::/64 ip6 daddr ff00::/8 return",
        "add rule ip6 vnet_helper vnet-c-dnat tcp dport 2222 fib daddr type local dnat to [fd00:3::5]:22",
        "add rule ip6 vnet_helper nat-output ip6 daddr != ::1 fib daddr type local jump vnet-c-dnat",
        "add element ip6 vnet_helper bridges { \"c\" }",
    ] {
        assert!(lines(&s).contains(&l), "{l}\n{s}");
    }
    // the IPv6 forward is not in the IPv4 table, and the other way round
    assert!(!s.contains("ip vnet_helper vnet-c-dnat tcp dport 2222"));
}

#[test]
fn isolated_and_routed_networks() {
    let iso = setup(
        &def("i", "mode = \"isolated\"\naddress = \"10.4.0.1/24\"\n"),
        "",
    );
    let chain = |s: &str, c: &str| -> Vec<String> {
        lines(s)
            .iter()
            .filter_map(|l| l.strip_prefix(&format!("add rule ip vnet_helper {c} ")))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        chain(&iso, "vnet-i-in"),
        [
            "iifname \"i\" udp dport 53 accept",
            "iifname \"i\" tcp dport 53 accept",
            "iifname \"i\" udp dport 67 accept",
            "iifname \"i\" meta l4proto icmp accept",
            "iifname \"i\" ct state established,related accept",
            "iifname \"i\" reject with icmp type port-unreachable",
        ]
    );
    assert_eq!(
        chain(&iso, "vnet-i-fwo"),
        ["iifname \"i\" reject with icmp type port-unreachable"]
    );
    assert_eq!(
        chain(&iso, "vnet-i-fwi"),
        [
            "iifname @bridges oifname \"i\" reject with icmp type port-unreachable",
            "oifname \"i\" reject with icmp type port-unreachable"
        ]
    );
    assert!(!iso.contains("vnet-i-prt") && !iso.contains("vnet-i-dnat"));
    let routed = setup(
        &def("r", "mode = \"routed\"\naddress = \"10.5.0.1/24\"\n"),
        "",
    );
    assert_eq!(
        chain(&routed, "vnet-r-fwi"),
        [
            "iifname @bridges oifname \"r\" reject with icmp type port-unreachable",
            "oifname \"r\" ip daddr 10.5.0.0/24 accept",
            "oifname \"r\" reject with icmp type port-unreachable"
        ]
    );
    assert!(!routed.contains("masquerade"));
}

#[test]
fn a_second_network_only_adds() {
    // `b` is defined next to `a`: instead of a reject per peer, the set
    let b = Definition {
        peers: vec!["a".into(), "b".into()],
        ..def("b", "address = \"10.2.0.1/24\"\n")
    };
    let s = setup(&b, WITH_A);
    assert!(s.contains("add element ip vnet_helper bridges { \"b\", \"a\" }\n"));
    assert!(!s.contains("iifname \"a\" oifname \"b\" reject"));
    // nothing of a, of the table, maps or base chains is declared again, and
    // nothing is deleted or flushed: a cold bring-up only adds
    assert!(!s.contains("vnet-a-"));
    assert!(!s.contains(" table ") && !s.contains("add map") && !s.contains("{ type "));
    assert!(!s.contains("delete") && !s.contains("flush"));
    for l in [
        "add element ip vnet_helper guest-to-guest { \"b\" : jump vnet-b-fwx }",
        "add element ip vnet_helper into-bridge { \"b\" : jump vnet-b-fwi }",
        "add element ip vnet_helper out-of-bridge { \"b\" : jump vnet-b-fwo }",
        "add rule ip vnet_helper postrouting jump vnet-b-prt",
    ] {
        assert!(lines(&s).contains(&l), "{l}\n{s}");
    }
}

#[test]
fn setup_over_its_own_state_refills_its_chains_only() {
    // A repair (`up`) or a resumed bring-up: the network's chains are
    // flushed and refilled, the rest is in place and left alone.
    let s = setup(&net_a(), WITH_A);
    let fresh = setup(&net_a(), "");
    let chains: Vec<&str> = lines(&fresh)
        .into_iter()
        .filter(|l| l.starts_with("add rule ip vnet_helper vnet-a-"))
        .collect();
    assert!(chains.iter().all(|l| lines(&s).contains(l)));
    assert_eq!(s.matches("flush chain ip vnet_helper vnet-a-").count(), 6);
    assert!(!s.contains("add chain") && !s.contains("delete") && !s.contains(" table "));
    assert!(!s.contains("add rule ip vnet_helper postrouting"));
    // a lost jump, a lost element, rewritten lookups: put back
    let broken = WITH_A
        .replace("\t\tjump vnet-a-prt # handle 41\n", "")
        .replace("\t\toifname vmap @into-bridge # handle 13\n", "")
        .replace("elements = { \"a\" : jump vnet-a-fwo }", "");
    let r = setup(&net_a(), &broken);
    for l in [
        "add rule ip vnet_helper postrouting jump vnet-a-prt",
        "flush chain ip vnet_helper forward",
        "add rule ip vnet_helper forward iifname vmap @guest-to-guest",
        "add rule ip vnet_helper forward oifname vmap @into-bridge",
        "add rule ip vnet_helper forward iifname vmap @out-of-bridge",
        "add element ip vnet_helper out-of-bridge { \"a\" : jump vnet-a-fwo }",
    ] {
        assert!(lines(&r).contains(&l), "{l}\n{r}");
    }
    assert!(!r.contains("flush chain ip vnet_helper input"));
}

#[test]
fn a_deleted_network_leaves_the_set_and_setups_only_add() {
    // `b` was deleted for good (a user network): forget takes it out of the
    // set, and only that.
    let rs = Ruleset::parse(WITH_A);
    assert_eq!(
        plan::forget_script("b", &rs).as_deref(),
        Some("delete element ip vnet_helper bridges { \"b\" }\n")
    );
    assert_eq!(plan::forget_script("c", &rs), None);
    assert_eq!(plan::forget_script("b", &Ruleset::parse("")), None);
    // A setup whose peers no longer name `b` deletes nothing: a bring-up
    // that read its peers before a create never takes a live network out.
    assert!(!setup(&net_a(), WITH_A).contains("delete"));
}

#[test]
fn teardown_of_the_last_network_deletes_the_table() {
    assert_eq!(teardown("a", WITH_A), "delete table ip vnet_helper\n");
    assert_eq!(teardown("zz", WITH_A), "");
    assert_eq!(teardown("a", ""), "");
}

#[test]
fn teardown_with_others_left_removes_only_its_own() {
    let listing = WITH_A.replacen(
        "\tchain vnet-a-in {",
        "\tchain vnet-b-in { # handle 90\n\t}\n\tchain vnet-a-in {",
        1,
    );
    assert_eq!(
        teardown("a", &listing),
        "delete element ip vnet_helper to-host { \"a\" }
delete element ip vnet_helper from-host { \"a\" }
delete element ip vnet_helper guest-to-guest { \"a\" }
delete element ip vnet_helper into-bridge { \"a\" }
delete element ip vnet_helper out-of-bridge { \"a\" }
delete rule ip vnet_helper postrouting handle 41
flush chain ip vnet_helper vnet-a-in
delete chain ip vnet_helper vnet-a-in
flush chain ip vnet_helper vnet-a-out
delete chain ip vnet_helper vnet-a-out
flush chain ip vnet_helper vnet-a-fwx
delete chain ip vnet_helper vnet-a-fwx
flush chain ip vnet_helper vnet-a-fwi
delete chain ip vnet_helper vnet-a-fwi
flush chain ip vnet_helper vnet-a-fwo
delete chain ip vnet_helper vnet-a-fwo
flush chain ip vnet_helper vnet-a-prt
delete chain ip vnet_helper vnet-a-prt
"
    );
}

#[test]
fn dropped_forwards_remove_the_dnat_chain() {
    let listing = WITH_A
        .replacen(
            "\tchain vnet-a-in {",
            "\tchain vnet-a-dnat { # handle 95\n\t\ttcp dport 1 dnat to 10.1.0.5:1 # handle 96\n\t}\n\tchain vnet-a-in {",
            1,
        )
        .replacen(
            "priority dstnat; policy accept;\n",
            "priority dstnat; policy accept;\n\t\tjump vnet-a-dnat # handle 97\n",
            1,
        );
    let s = setup(&net_a(), &listing);
    let l = lines(&s);
    let jump = l
        .iter()
        .position(|x| *x == "delete rule ip vnet_helper prerouting handle 97")
        .unwrap();
    let del = l
        .iter()
        .position(|x| *x == "delete chain ip vnet_helper vnet-a-dnat")
        .unwrap();
    assert!(jump < del, "{s}");
    assert!(!s.contains("jump vnet-a-dnat"));
}

#[test]
fn bridged_network_has_no_rules_and_cleans_leftovers() {
    let br = def("a", "mode = \"bridged\"\nuplink = \"eth1\"\n");
    assert_eq!(setup(&br, WITH_A), "delete table ip vnet_helper\n");
    assert_eq!(setup(&br, ""), "");
}

#[test]
fn iptables_backend_leftovers_are_removed_by_handle() {
    let old = def("old", "address = \"10.9.0.1/24\"\n");
    let s = setup(&old, DOCKER_AND_OLD);
    let tail: Vec<&str> = lines(&s)
        .into_iter()
        .skip_while(|l| !l.contains(" ip filter "))
        .collect();
    assert_eq!(
        tail,
        [
            // Docker's FORWARD policy drop: our accepts, one jump
            "add chain ip filter vh-old-fwd",
            "flush chain ip filter vh-old-fwd",
            "add rule ip filter vh-old-fwd iifname \"old\" accept",
            "add rule ip filter vh-old-fwd oifname \"old\" accept",
            "insert rule ip filter FORWARD jump vh-old-fwd",
            // the iptables backend's chains of `old`, and its shared ones
            // once empty
            "delete rule ip filter VNET-FWI handle 13",
            "flush chain ip filter VNET-old-FWI",
            "delete chain ip filter VNET-old-FWI",
            "delete rule ip filter FORWARD handle 12",
            "delete rule ip filter FORWARD handle 11",
            "delete rule ip filter FORWARD handle 10",
            "delete chain ip filter VNET-FWX",
            "delete chain ip filter VNET-FWI",
            "delete chain ip filter VNET-FWO",
            "delete rule ip nat POSTROUTING handle 3",
            "flush chain ip nat VNET-old-PRT",
            "delete chain ip nat VNET-old-PRT",
        ]
    );
    // a switch back: only what this backend made goes
    let st = State::from_listing(&format!("{DOCKER_AND_OLD}{WITH_A}"));
    assert_eq!(st.teardown_own("old").steps.len(), 0);
    assert!(st.leftovers("old"));
    assert!(st.leftovers("a"));
    assert!(!st.leftovers("b"));
}

/// ufw's shape: INPUT and FORWARD policy drop (and its chains).
const UFW: &str = "table ip filter { # handle 1
\tchain INPUT { # handle 1
\t\ttype filter hook input priority filter; policy drop;
\t\tcounter packets 0 bytes 0 jump ufw-before-input # handle 5
\t\tcounter packets 0 bytes 0 jump vh-a-in # handle 40
\t}

\tchain FORWARD { # handle 2
\t\ttype filter hook forward priority filter; policy drop;
\t}

\tchain OUTPUT { # handle 3
\t\ttype filter hook output priority filter; policy accept;
\t}

\tchain ufw-before-input { # handle 4
\t\tiifname \"lo\" counter packets 0 bytes 0 accept # handle 6
\t}

\tchain vh-a-in { # handle 41
\t\tiifname \"a\" udp dport 53 accept # handle 42
\t}
}
";

#[test]
fn coexistence_with_ufw() {
    let s = setup(&net_a(), UFW);
    let tail: Vec<&str> = lines(&s)
        .into_iter()
        .skip_while(|l| !l.contains(" ip filter "))
        .collect();
    assert_eq!(
        tail,
        [
            // a nat network's input: our accepts one by one (the host's own
            // rules still decide about the rest), the jump already there
            "add chain ip filter vh-a-in",
            "flush chain ip filter vh-a-in",
            "add rule ip filter vh-a-in iifname \"a\" udp dport 53 accept",
            "add rule ip filter vh-a-in iifname \"a\" tcp dport 53 accept",
            "add rule ip filter vh-a-in iifname \"a\" udp dport 67 accept",
            "add chain ip filter vh-a-fwd",
            "flush chain ip filter vh-a-fwd",
            "add rule ip filter vh-a-fwd iifname \"a\" accept",
            "add rule ip filter vh-a-fwd oifname \"a\" accept",
            "insert rule ip filter FORWARD jump vh-a-fwd",
        ]
    );
    // an isolated network's input: our table rejects the rest itself
    let iso = setup(
        &def("a", "mode = \"isolated\"\naddress = \"10.4.0.1/24\"\n"),
        UFW,
    );
    assert!(iso.contains("add rule ip filter vh-a-in iifname \"a\" accept\n"));
    // teardown: the jump by handle, then the chain
    assert_eq!(
        teardown("a", UFW),
        "delete rule ip filter INPUT handle 40\nflush chain ip filter vh-a-in\ndelete chain ip filter vh-a-in\n"
    );
    // status
    let st = State::from_listing(UFW);
    assert_eq!(st.coexistence("a"), ["ip filter INPUT (chain vh-a-in)"]);
    assert!(st.leftovers("a"));
    // an iptables-nft filter table that drops nothing gets nothing
    let open = "table ip filter {\n\tchain FORWARD {\n\t\ttype filter hook forward priority filter; policy accept;\n\t}\n}\n";
    assert!(!setup(&net_a(), open).contains(" ip filter "));
}

#[test]
fn present_checks_chains_jumps_set_and_accepts() {
    let a = wanted(&net_a());
    assert!(State::from_listing(WITH_A).present(&a));
    assert!(!State::from_listing("").present(&a));
    let flushed = WITH_A.replace("\t\toifname \"a\" reject # handle 31\n", "");
    assert_ne!(flushed, WITH_A);
    assert!(!State::from_listing(&flushed).present(&a));
    let no_jump = WITH_A.replace("\t\tjump vnet-a-prt # handle 41\n", "");
    assert!(!State::from_listing(&no_jump).present(&a));
    let no_elem = WITH_A.replace("\"a\",\n\t\t\t     \"b\" }", "\"b\" }");
    assert_ne!(no_elem, WITH_A);
    let no_lookup = WITH_A.replace("\t\tiifname vmap @to-host # handle 8\n", "");
    assert!(!State::from_listing(&no_lookup).present(&a));
    let no_map_elem = WITH_A.replace("elements = { \"a\" : jump vnet-a-fwx }", "");
    assert!(!State::from_listing(&no_map_elem).present(&a));
    assert!(!State::from_listing(&no_elem).present(&a));
    // on a ufw host the accepts there are part of it
    let ufw_only_input = format!("{UFW}{WITH_A}");
    assert!(!State::from_listing(&ufw_only_input).present(&a));
    // bridged networks want nothing
    let br = wanted(&def("x", "mode = \"bridged\"\nuplink = \"eth1\"\n"));
    assert!(State::from_listing("").present(&br));
}

#[test]
fn chain_names_fit() {
    // 15-byte bridge names: nft names are unlimited, iptables-save's 28
    let long = "abcdefghijklmno";
    assert!(plan::coexist_chain(long, "fwd").len() <= 28);
    assert_eq!(
        render::chain_name(long, "dnat"),
        "vnet-abcdefghijklmno-dnat"
    );
}
