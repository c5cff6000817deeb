//! dnsmasq's configuration for a managed network: text only (`process`
//! writes the files and starts dnsmasq with `--conf-file=OURFILE`, which
//! replaces /etc/dnsmasq.conf).
//!
//! The options follow libvirt's: dnsmasq binds only to the bridge
//! (`bind-dynamic` + `interface`, so it coexists with a resolver on the
//! host's port 53 and never answers other interfaces, CVE-2012-3411), is
//! authoritative for the subnet, takes static hosts from a file it rereads on
//! SIGHUP, and forwards DNS upstream through /etc/resolv.conf (no `no-resolv`)
//! but does not hand out the host's /etc/hosts (`no-hosts`).
//!
//! Every value comes from a validated [`Definition`] (names, addresses,
//! numbers) or from the caller's fixed paths, so no newline or '#' can reach
//! the text; `debug_assert`s and a test check that.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::network::definition::{Definition, Mode};

/// Where dnsmasq keeps its files, and whom it runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Files {
    pub pid_file: PathBuf,
    pub lease_file: PathBuf,
    /// Static hosts for DHCP (`dhcp-hostsfile`, reread on SIGHUP).
    pub hosts_file: PathBuf,
    /// Static hosts' names for DNS (`addn-hosts`, reread on SIGHUP).
    pub addn_hosts_file: PathBuf,
    /// The user dnsmasq drops to after binding its sockets.
    pub user: String,
    /// Its group (dnsmasq's compiled-in default when None).
    pub group: Option<String>,
}

/// Append one `key[=value]` line; values never contain line breaks or '#'.
fn opt(out: &mut String, key: &str, value: Option<&str>) {
    debug_assert!(safe(key), "unsafe dnsmasq option {key:?}");
    out.push_str(key);
    if let Some(v) = value {
        debug_assert!(safe(v), "unsafe dnsmasq value {v:?}");
        out.push('=');
        out.push_str(v);
    }
    out.push('\n');
}

fn safe(s: &str) -> bool {
    !s.contains(['\n', '\r', '#', '\0'])
}

fn lease(def: &Definition) -> String {
    match def.lease_time {
        Some(secs) => secs.to_string(),
        None => "infinite".to_string(),
    }
}

/// The configuration file for `def` (which must not be bridged).
pub fn config(def: &Definition, files: &Files) -> String {
    debug_assert!(def.mode != Mode::Bridged, "no dnsmasq for bridged networks");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# dnsmasq configuration for vnet-helper network {}: generated, do not edit",
        def.name
    );
    opt(&mut out, "strict-order", None);
    opt(&mut out, "except-interface", Some("lo"));
    opt(&mut out, "bind-dynamic", None);
    opt(&mut out, "interface", Some(&def.name));
    opt(&mut out, "no-hosts", None);
    opt(&mut out, "pid-file", Some(&show(&files.pid_file)));
    opt(&mut out, "user", Some(&files.user));
    if let Some(g) = &files.group {
        opt(&mut out, "group", Some(g));
    }
    dns_options(&mut out, def, files);
    dhcp4_options(&mut out, def, files);
    ipv6_options(&mut out, def);
    out
}

fn show(p: &Path) -> String {
    p.display().to_string()
}

/// DNS: the domain and the static hosts' names, or port=0 when DNS is off.
fn dns_options(out: &mut String, def: &Definition, files: &Files) {
    if def.dns {
        if let Some(d) = &def.domain {
            opt(out, "domain", Some(d));
            opt(out, "local", Some(&format!("/{d}/")));
            opt(out, "expand-hosts", None);
        }
        opt(out, "addn-hosts", Some(&show(&files.addn_hosts_file)));
    } else {
        opt(out, "port", Some("0"));
        if let Some(d) = &def.domain {
            // Still handed to guests (DHCP option 15) for their search list.
            opt(out, "domain", Some(d));
        }
    }
}

/// DHCPv4: the range, lease slots, static hosts, router, DNS server, MTU.
fn dhcp4_options(out: &mut String, def: &Definition, files: &Files) {
    let (Some((a, b)), Some(net), Some(gw)) = (def.dhcp, def.ipv4, def.gateway()) else {
        return;
    };
    let range = format!("{a},{b},{},{}", net.mask(), lease(def));
    opt(out, "dhcp-range", Some(&range));
    opt(out, "dhcp-no-override", None);
    opt(out, "dhcp-authoritative", None);
    // Static hosts outside the range need lease slots too.
    let outside = def
        .hosts
        .iter()
        .filter(|h| !(u32::from(a)..=u32::from(b)).contains(&u32::from(h.ip)))
        .count() as u32;
    let lease_max = (def.lease_max() + outside).to_string();
    opt(out, "dhcp-lease-max", Some(&lease_max));
    opt(out, "dhcp-hostsfile", Some(&show(&files.hosts_file)));
    opt(out, "dhcp-leasefile", Some(&show(&files.lease_file)));
    if def.mode == Mode::Isolated {
        // No default route: nothing goes out of an isolated network.
        opt(out, "dhcp-option", Some("option:router"));
    } else {
        opt(out, "dhcp-option", Some(&format!("option:router,{gw}")));
    }
    if def.dns {
        opt(out, "dhcp-option", Some(&format!("option:dns-server,{gw}")));
    }
    if let Some(mtu) = def.mtu {
        opt(out, "dhcp-option", Some(&format!("option:mtu,{mtu}")));
    }
}

/// IPv6: router advertisements, DHCPv6 when dhcp is on.
fn ipv6_options(out: &mut String, def: &Definition) {
    let Some(net6) = def.ipv6 else { return };
    opt(out, "enable-ra", None);
    let range = match def.dhcp6_range() {
        Some((a, b)) => format!("{a},{b},{},{}", net6.prefix, lease(def)),
        None => format!("{},ra-only,{}", net6.network(), net6.prefix),
    };
    opt(out, "dhcp-range", Some(&range));
    if def.mode == Mode::Isolated {
        // Advertise the prefix but not ourselves as a default router.
        opt(out, "ra-param", Some(&format!("{},0,0", def.name)));
    }
}

/// The `dhcp-hostsfile`: one `MAC,IP[,NAME]` line per static host.
pub fn hosts_file(def: &Definition) -> String {
    let mut out = String::new();
    for h in &def.hosts {
        let line = match &h.name {
            Some(n) => format!("{},{},{n}", h.mac_string(), h.ip),
            None => format!("{},{}", h.mac_string(), h.ip),
        };
        debug_assert!(safe(&line));
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The `addn-hosts` file: `IP NAME [NAME.DOMAIN]` for each named static host,
/// so the names resolve even before the guests take their leases.
pub fn addn_hosts(def: &Definition) -> String {
    let mut out = String::new();
    for h in &def.hosts {
        let Some(n) = &h.name else { continue };
        let line = match &def.domain {
            Some(d) => format!("{} {n} {n}.{d}", h.ip),
            None => format!("{} {n}", h.ip),
        };
        debug_assert!(safe(&line));
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::definition::parse;

    fn def(text: &str) -> Definition {
        parse(text, "test.toml", "vnet0").unwrap()
    }

    /// The layout of `crate::paths`.
    fn standard(name: &str, user: &str, group: Option<&str>) -> Files {
        let net = crate::paths::Network::new(name);
        Files {
            pid_file: net.dnsmasq_pid(),
            lease_file: net.leases(),
            hosts_file: net.dhcp_hosts(),
            addn_hosts_file: net.addn_hosts(),
            user: user.to_string(),
            group: group.map(str::to_string),
        }
    }

    fn paths() -> Files {
        standard("vnet0", "nobody", Some("nogroup"))
    }

    const EXAMPLE: &str = r#"address = "10.200.0.1/24"
dhcp-range = "10.200.0.100-10.200.0.199"
lease-time = "1h"
domain = "vm"
uplink = "eth0"
mtu = 1400
ipv6 = "fd42:1:2:3::1/64"

[[host]]
mac = "52:54:00:00:00:10"
ip = "10.200.0.10"
name = "web"

[[host]]
mac = "52:54:00:AB:00:11"
ip = "10.200.0.150"
"#;

    #[test]
    fn example_config() {
        let d = def(EXAMPLE);
        assert_eq!(
            config(&d, &paths()),
            "# dnsmasq configuration for vnet-helper network vnet0: generated, do not edit
strict-order
except-interface=lo
bind-dynamic
interface=vnet0
no-hosts
pid-file=/run/vnet-helper/networks/vnet0/dnsmasq.pid
user=nobody
group=nogroup
domain=vm
local=/vm/
expand-hosts
addn-hosts=/run/vnet-helper/networks/vnet0/addn-hosts
dhcp-range=10.200.0.100,10.200.0.199,255.255.255.0,3600
dhcp-no-override
dhcp-authoritative
dhcp-lease-max=101
dhcp-hostsfile=/run/vnet-helper/networks/vnet0/dhcp-hosts
dhcp-leasefile=/var/lib/vnet-helper/networks/vnet0/dnsmasq.leases
dhcp-option=option:router,10.200.0.1
dhcp-option=option:dns-server,10.200.0.1
dhcp-option=option:mtu,1400
enable-ra
dhcp-range=fd42:1:2:3::100,fd42:1:2:3::1ff,64,3600
"
        );
        assert_eq!(
            hosts_file(&d),
            "52:54:00:00:00:10,10.200.0.10,web\n52:54:00:ab:00:11,10.200.0.150\n"
        );
        assert_eq!(addn_hosts(&d), "10.200.0.10 web web.vm\n");
    }

    #[test]
    fn minimal_config() {
        let d = def("address = \"192.168.50.1/24\"\nlease-time = \"infinite\"\n");
        let p = standard("vnet0", "dnsmasq", None);
        assert_eq!(
            config(&d, &p),
            "# dnsmasq configuration for vnet-helper network vnet0: generated, do not edit
strict-order
except-interface=lo
bind-dynamic
interface=vnet0
no-hosts
pid-file=/run/vnet-helper/networks/vnet0/dnsmasq.pid
user=dnsmasq
addn-hosts=/run/vnet-helper/networks/vnet0/addn-hosts
dhcp-range=192.168.50.2,192.168.50.254,255.255.255.0,infinite
dhcp-no-override
dhcp-authoritative
dhcp-lease-max=253
dhcp-hostsfile=/run/vnet-helper/networks/vnet0/dhcp-hosts
dhcp-leasefile=/var/lib/vnet-helper/networks/vnet0/dnsmasq.leases
dhcp-option=option:router,192.168.50.1
dhcp-option=option:dns-server,192.168.50.1
"
        );
        assert_eq!(hosts_file(&d), "");
        assert_eq!(addn_hosts(&d), "");
    }

    #[test]
    fn no_dns_isolated_ra_only() {
        let d = def(
            "mode = \"isolated\"\naddress = \"10.1.0.1/16\"\ndns = false\ndomain = \"lab\"\nipv6 = \"fd00:5::1/64\"\nlease-time = \"10m\"\n",
        );
        let text = config(&d, &paths());
        assert!(text.contains("\nport=0\ndomain=lab\n"), "{text}");
        assert!(!text.contains("local="));
        assert!(!text.contains("addn-hosts"));
        assert!(!text.contains("dns-server"));
        assert!(text.contains("\ndhcp-range=10.1.0.2,10.1.255.254,255.255.0.0,600\n"));
        assert!(text.contains("\ndhcp-lease-max=65533\n"));
        assert!(text.contains("\ndhcp-option=option:router\n"));
        assert!(text.ends_with(
            "enable-ra\ndhcp-range=fd00:5::100,fd00:5::1ff,64,600\nra-param=vnet0,0,0\n"
        ));

        let d = def("address = \"10.1.0.1/24\"\ndhcp = false\nipv6 = \"fd00:5::1/64\"\n");
        let text = config(&d, &paths());
        assert!(!text.contains("dhcp-range=10."));
        assert!(!text.contains("dhcp-leasefile"));
        assert!(!text.contains("dhcp-authoritative"));
        assert!(
            text.ends_with("enable-ra\ndhcp-range=fd00:5::,ra-only,64\n"),
            "{text}"
        );
    }

    #[test]
    fn no_line_breaks_or_comments_in_values() {
        for text in [
            EXAMPLE,
            "address = \"10.1.0.1/24\"\ndns = false\n",
            "mode = \"routed\"\naddress = \"10.1.0.1/24\"\nipv6 = \"fd00::1/64\"\ndhcp = false\n",
        ] {
            let d = def(text);
            let conf = config(&d, &paths());
            let mut lines = conf.lines();
            assert!(lines.next().unwrap().starts_with("# dnsmasq configuration"));
            for line in lines {
                let key = line.split('=').next().unwrap();
                assert!(
                    !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                    "{line:?}"
                );
                assert!(!line.contains(['#', '\r', '\0']), "{line:?}");
            }
            for line in hosts_file(&d).lines().chain(addn_hosts(&d).lines()) {
                assert!(!line.contains(['#', '\r', '\0']), "{line:?}");
                assert!(!line.is_empty());
            }
            assert!(conf.ends_with('\n'));
        }
    }

    #[test]
    #[should_panic(expected = "unsafe dnsmasq value")]
    #[cfg(debug_assertions)]
    fn injection_is_caught() {
        let d = def(EXAMPLE);
        let mut p = paths();
        p.user = "nobody\nconf-file=/tmp/evil".into();
        let _ = config(&d, &p);
    }
}
