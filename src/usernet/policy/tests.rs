//! Unit tests of the policy parser: the example, defaults, and the exact
//! text of every error.

use super::*;

const F: &str = "/etc/vnet-helper/user-networks.toml";

fn p(text: &str) -> Result<Policy> {
    parse(text, F)
}

fn err(text: &str) -> String {
    p(text).unwrap_err().message().to_string()
}

const BASE: &str =
    "[[pool]]\nusers = [\"alice\", \"@vm\"]\nprefix = \"vu-\"\nsubnets = \"10.240.0.0/16\"\n";

#[test]
fn example_and_defaults() {
    let pol = p(BASE).unwrap();
    let pool = &pol.pools[0];
    assert_eq!(pool.users, vec!["alice".to_string(), "@vm".to_string()]);
    assert_eq!(pool.subnets[0].to_string(), "10.240.0.0/16");
    assert_eq!(pool.size, 24);
    assert!(pool.ipv6_subnets.is_empty());
    assert_eq!(pool.modes, vec![Mode::Nat, Mode::Isolated]);
    assert_eq!(pool.default_mode, Mode::Nat);
    assert_eq!(pool.max_per_user, 4);
    assert!(!pool.auto_create);
    assert_eq!(pool.forward_ports, None);
    assert_eq!(pool.idle_timeout, Some(Duration::from_secs(30)));
    assert_eq!(pool.line, 1);
    assert!(pol.pool_for("vu-lab").is_some());
    assert!(pol.pool_for("vu-").is_none());
    assert!(pol.pool_for("eth0").is_none());

    let full = format!(
        "{BASE}size = 28\nipv6-subnets = [\"fd42:ab::/48\"]\nmodes = [\"isolated\", \"routed\"]\n\
         default-mode = \"routed\"\nmax-per-user = 0\nauto-create = true\nforwards = true\n\
         forward-ports = \"20000-29999\"\nidle-timeout = \"never\"\n\n[[pool]]\nusers = [\"bob\"]\n\
         prefix = \"ux\"\nsubnets = [\"172.30.0.0/24\", \"172.30.8.0/24\"]\n"
    );
    let pol = p(&full).unwrap();
    let pool = &pol.pools[0];
    assert_eq!(
        (pool.size, pool.max_per_user, pool.auto_create),
        (28, 0, true)
    );
    assert_eq!(pool.ipv6_subnets[0].to_string(), "fd42:ab::/48");
    assert_eq!(pool.modes, vec![Mode::Isolated, Mode::Routed]);
    assert_eq!(pool.default_mode, Mode::Routed);
    assert_eq!(pool.forward_ports, Some((20000, 29999)));
    assert_eq!(pool.idle_timeout, None);
    assert_eq!(pol.pools[1].line, 15);
    assert_eq!(pol.pools[1].subnets.len(), 2);
    assert_eq!(pol.pool_for("uxy").unwrap().prefix, "ux");
}

#[test]
fn errors_name_file_line_and_key() {
    assert_eq!(err(""), format!("{F}: no [[pool]] defined"));
    assert_eq!(
        err(&format!("{BASE}bogus = 1\n")),
        format!("{F}:5: unknown key `bogus'")
    );
    assert_eq!(
        err("[[pool]]\nprefix = \"vu-\"\nsubnets = \"10.240.0.0/16\"\n"),
        format!("{F}:1: [[pool]] without `users'")
    );
    assert_eq!(
        err("[[pool]]\nusers = []\nprefix = \"vu-\"\nsubnets = \"10.240.0.0/16\"\n"),
        format!("{F}:2: `users': lists nobody (give user names or @group names)")
    );
    assert_eq!(
        err("[[pool]]\nusers = [\"a b\"]\nprefix = \"vu-\"\nsubnets = \"10.240.0.0/16\"\n"),
        format!("{F}:2: `users': `a b' is not a user name or @group name")
    );
    assert_eq!(
        err("[[pool]]\nusers = [\"a\"]\nsubnets = \"10.240.0.0/16\"\n"),
        format!("{F}:1: [[pool]] without `prefix'")
    );
    assert_eq!(
        err("[[pool]]\nusers = [\"a\"]\nprefix = \"v+\"\nsubnets = \"10.240.0.0/16\"\n"),
        format!("{F}:3: `prefix': `v+' is not a name prefix (1 to 10 letters, digits, '-', '_' or '.', not starting with '-')")
    );
    assert_eq!(
        err("[[pool]]\nusers = [\"a\"]\nprefix = \"vu-\"\n"),
        format!("{F}:1: [[pool]] without `subnets'")
    );
    assert_eq!(
        err("[[pool]]\nusers = [\"a\"]\nprefix = \"vu-\"\nsubnets = \"10.240.0.1/16\"\n"),
        format!(
            "{F}:4: `subnets': `10.240.0.1/16' has host bits set (the subnet is 10.240.0.0/16)"
        )
    );
    assert_eq!(
        err("[[pool]]\nusers = [\"a\"]\nprefix = \"vu-\"\nsubnets = [\"10.240.0.0/16\", \"10.240.3.0/24\"]\n"),
        format!("{F}:4: `subnets': 10.240.3.0/24 overlaps 10.240.0.0/16")
    );
    assert_eq!(
        err(&format!("{BASE}size = 31\n")),
        format!("{F}:5: `size': 31 is out of range (16..=30)")
    );
    assert_eq!(
        err("[[pool]]\nusers = [\"a\"]\nprefix = \"vu-\"\nsubnets = \"10.240.0.0/26\"\n"),
        format!("{F}:4: `size': the default /24 is larger than subnet 10.240.0.0/26; set `size'")
    );
    assert_eq!(
        err(&format!("{BASE}modes = [\"bridged\"]\n")),
        format!("{F}:5: `modes': unknown mode `bridged' (expected nat, isolated or routed)")
    );
    assert_eq!(
        err(&format!("{BASE}default-mode = \"routed\"\n")),
        format!("{F}:5: `default-mode': `routed' is not one of the pool's modes")
    );
    assert_eq!(
        err(&format!("{BASE}max-per-user = 1025\n")),
        format!("{F}:5: `max-per-user': 1025 is out of range (0..=1024)")
    );
    assert_eq!(
        err(&format!("{BASE}forwards = true\n")),
        format!("{F}:5: `forwards': true needs `forward-ports'")
    );
    assert_eq!(
        err(&format!("{BASE}forward-ports = \"20000-20010\"\n")),
        format!("{F}:5: `forward-ports': only used with forwards = true")
    );
    assert_eq!(
        err(&format!(
            "{BASE}forwards = true\nforward-ports = \"80-2000\"\n"
        )),
        format!(
            "{F}:6: `forward-ports': port 80 is below 1024 (the range must be within 1024..=65535)"
        )
    );
    assert_eq!(
        err(&format!("{BASE}ipv6-subnets = \"fd42::/96\"\n")),
        format!("{F}:5: `ipv6-subnets': prefix length /96 of `fd42::/96' not supported (8..=64)")
    );
}

#[test]
fn pools_do_not_overlap() {
    assert_eq!(
        err(&format!("{BASE}[[pool]]\nusers = [\"b\"]\nprefix = \"vu-x\"\nsubnets = \"10.9.0.0/16\"\n")),
        format!("{F}:7: `prefix': `vu-x' and pool `vu-' (line 1) overlap: no pool's prefix may start with another's")
    );
    assert_eq!(
        err(&format!("{BASE}[[pool]]\nusers = [\"b\"]\nprefix = \"v\"\nsubnets = \"10.9.0.0/16\"\n")),
        format!("{F}:7: `prefix': `v' and pool `vu-' (line 1) overlap: no pool's prefix may start with another's")
    );
    assert_eq!(
        err(&format!(
            "{BASE}[[pool]]\nusers = [\"b\"]\nprefix = \"ux-\"\nsubnets = \"10.240.128.0/17\"\n"
        )),
        format!("{F}:8: `subnets': 10.240.128.0/17 overlaps 10.240.0.0/16 of pool `vu-' (line 1)")
    );
}
