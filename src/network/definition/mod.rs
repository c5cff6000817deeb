//! One managed network's definition: /etc/vnet-helper/networks/NAME.toml, where
//! NAME is the bridge's name.
//!
//! `load` opens the file safely (no symlink, root-owned, not group/other
//! writable, bounded size) and `parse` turns the TOML into a [`Definition`]
//! with every default resolved and every value validated, so that the
//! firewall and dnsmasq planners downstream can paste values into rules and
//! config lines without further checks. Every error names the file and the
//! line: "FILE:LINE: `key': what is wrong".
//!
//! This file holds the data model ([`Definition`], [`Mode`], [`Host`],
//! [`Proto`], [`Forward`]) and `load`; `raw` is the file's serde shape,
//! `parse` turns it into a `Definition` (and positions errors), `values`
//! parses and validates single values. Prefixes are [`crate::netaddr::Prefix`],
//! interface names are checked by [`crate::ifname::check_managed_name`].
//!
//! The file format (kebab-case keys):
//!
//! ```toml
//! mode = "nat"                               # nat (default) | isolated | routed | bridged
//! address = "10.200.0.1/24"                  # the bridge's IPv4 address/prefix (not in bridged mode)
//! dhcp = true                                # default true
//! dhcp-range = "10.200.0.100-10.200.0.199"   # default: the whole subnet but network, broadcast, gateway
//! lease-time = "1h"                          # "30s", "5m", "1h", "2d", seconds, or "infinite"; min 2m
//! dns = true                                 # default true
//! domain = "vm"                              # guests' DHCP names resolve as NAME.vm
//! uplink = "eth0"                            # nat: masquerade only out of it; bridged: the enslaved interface
//! mtu = 1500                                 # the bridge's MTU, 68..=65535
//! idle-timeout = "30s"                       # default 30s; "never" keeps the network up
//! allow-default-route-uplink = false         # bridged only
//! ipv6 = "fd42:1:2:3::1/64"                  # the bridge's IPv6 address; RA + DHCPv6
//! ipv6-nat = true                            # nat mode: masquerade IPv6 too (default); false = routed v6
//!
//! [[host]]                                   # static lease
//! mac = "52:54:00:00:00:10"
//! ip = "10.200.0.10"
//! name = "web"
//!
//! [[forward]]                                # port forward, nat and routed modes
//! proto = "tcp"
//! port = 8080                                # or "8000-8010"
//! to = "10.200.0.10:80"                      # or "[fd42:1:2:3::10]:80"
//! host-address = "198.51.100.2"              # optional
//! ```
//!
//! Choices made where the contract left room (each one is checked in `parse`):
//! - Keys that only make sense with IP service on the bridge (address, dhcp,
//!   dhcp-range, lease-time, dns, domain, ipv6, ipv6-nat, [[host]],
//!   [[forward]]) are errors in bridged mode, even when set to a harmless value:
//!   a file that says something the helper will not do is a mistake.
//! - `uplink` is an error in isolated mode (nothing goes out) and in routed
//!   mode (nothing is masqueraded and forwarding follows the routing table);
//!   `allow-default-route-uplink` is an error outside bridged mode.
//! - `dhcp-range` and `lease-time` with `dhcp = false` are errors
//!   (contradiction); `ipv6-nat` without `ipv6`, or set to true outside nat
//!   mode, is an error.
//! - Interface names (the network's own name and `uplink`) are stricter than
//!   the kernel's: 1..=15 bytes of ASCII letters, digits, '-', '_' and '.',
//!   not starting with '-', not "." or "..". They end up in iptables chain
//!   names and arguments ('+' would be a wildcard there), dnsmasq config lines
//!   and file paths, so nothing else is allowed.
//! - IPv4 prefix lengths are 8..=30; the IPv6 prefix must be /64 (SLAAC and
//!   dnsmasq's DHCPv6 ranges as libvirt uses them need it) and the address a
//!   global or unique-local unicast one that is not the prefix's all-zero
//!   (subnet-router anycast) address.
//! - The default DHCP range is every address of the subnet except the
//!   network, broadcast and gateway addresses. One range cannot have a hole,
//!   so when the gateway is neither first nor last usable address the larger
//!   side of it is used (the upper side on a tie).
//! - Durations are capped at 10 years so that later `Instant + Duration`
//!   arithmetic can never overflow (and lease times fit dnsmasq's 32 bits).
//! - A forward's `to` must be a guest address (inside the subnet or the IPv6
//!   prefix, not the network, broadcast or gateway address); `host-address`
//!   must be of the same family, and not unspecified, multicast or loopback
//!   (DNAT to a guest from 127.0.0.1 needs route_localnet, which we refuse
//!   to turn on). Host port ranges map onto a range of the same length from
//!   the `to` port, which must fit below 65536.
//! - Static hosts: unique MACs, IPs and (case-insensitively) names.

pub(crate) mod parse;
pub(crate) mod raw;
pub(crate) mod values;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use crate::error::Result;
use crate::netaddr::Prefix;
use crate::safe_file::{self, Refused, Symlinks};

pub use parse::parse;
pub use values::format_mac;

/// Largest definition file we read.
pub const MAX_FILE_SIZE: u64 = 64 * 1024;

/// How the network reaches (or does not reach) the outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Guests' traffic is masqueraded behind the host's address.
    Nat,
    /// Guests talk to each other and to the host's DHCP/DNS only.
    Isolated,
    /// Guests' traffic is forwarded unmodified (the LAN routes the subnet back).
    Routed,
    /// The bridge enslaves `uplink`: guests sit on the LAN, no IP service here.
    Bridged,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Nat => "nat",
            Mode::Isolated => "isolated",
            Mode::Routed => "routed",
            Mode::Bridged => "bridged",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A static DHCP lease (`[[host]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub mac: [u8; 6],
    pub ip: Ipv4Addr,
    /// A DNS label: ASCII letters, digits and '-', 1..=63 bytes.
    pub name: Option<String>,
    /// Line of the entry in the file (for messages).
    pub line: usize,
}

impl Host {
    /// "52:54:00:00:00:10"
    pub fn mac_string(&self) -> String {
        format_mac(&self.mac)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A port forward from the host to a guest (`[[forward]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub proto: Proto,
    /// First and last host port (equal for a single port).
    pub host_ports: (u16, u16),
    /// The guest address; IPv4 in the subnet or IPv6 in the ipv6 prefix.
    pub to_ip: IpAddr,
    /// First guest port; host port `host_ports.0 + k` goes to `to_port + k`.
    pub to_port: u16,
    /// Only connections to this host address (same family as `to_ip`).
    pub host_address: Option<IpAddr>,
    /// Line of the entry in the file (for messages).
    pub line: usize,
}

impl Forward {
    /// Last guest port of the range.
    pub fn to_port_end(&self) -> u16 {
        // Validated in parse: fits in u16.
        self.to_port + (self.host_ports.1 - self.host_ports.0)
    }

    pub fn is_ipv6(&self) -> bool {
        self.to_ip.is_ipv6()
    }
}

/// A network definition with every default resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    /// The bridge's name (= the file's stem).
    pub name: String,
    pub mode: Mode,
    /// The bridge's IPv4 address and prefix (None only in bridged mode).
    pub ipv4: Option<Prefix<Ipv4Addr>>,
    /// The DHCP range (None with `dhcp = false` or in bridged mode).
    pub dhcp: Option<(Ipv4Addr, Ipv4Addr)>,
    /// Lease time in seconds; None = infinite.
    pub lease_time: Option<u64>,
    /// Whether dnsmasq serves DNS (false in bridged mode).
    pub dns: bool,
    pub domain: Option<String>,
    pub uplink: Option<String>,
    pub mtu: Option<u32>,
    /// None = never tear the network down.
    pub idle_timeout: Option<Duration>,
    pub allow_default_route_uplink: bool,
    pub ipv6: Option<Prefix<Ipv6Addr>>,
    /// Masquerade IPv6 (nat mode with ipv6 only).
    pub ipv6_nat: bool,
    pub hosts: Vec<Host>,
    pub forwards: Vec<Forward>,
    /// The other defined networks (bridge names), filled in by the caller of
    /// `load` from the definitions directory: traffic from their bridges is
    /// rejected at this network's bridge (networks are isolated from each
    /// other in every mode). Empty from `parse`.
    pub peers: Vec<String>,
}

impl Definition {
    /// The IPv4 subnet ("10.200.0.0/24").
    pub fn subnet(&self) -> Option<Prefix<Ipv4Addr>> {
        self.ipv4.map(|n| n.subnet())
    }

    /// The bridge's own IPv4 address: the guests' gateway and DNS server.
    pub fn gateway(&self) -> Option<Ipv4Addr> {
        self.ipv4.map(|n| n.address)
    }

    /// Number of addresses in the DHCP range (0 without DHCP).
    pub fn lease_max(&self) -> u32 {
        match self.dhcp {
            Some((a, b)) => u32::from(b) - u32::from(a) + 1,
            None => 0,
        }
    }

    /// The DHCPv6 range handed to dnsmasq: PREFIX::100..PREFIX::1ff, or
    /// PREFIX::200..PREFIX::2ff when the bridge's own address is in the first.
    /// None without ipv6 or with `dhcp = false`.
    pub fn dhcp6_range(&self) -> Option<(Ipv6Addr, Ipv6Addr)> {
        let net = self.ipv6?;
        self.dhcp?;
        let base = u128::from(net.network());
        let own = u128::from(net.address) - base;
        let start = if (0x100..=0x1ff).contains(&own) {
            0x200
        } else {
            0x100
        };
        Some((
            Ipv6Addr::from(base + start),
            Ipv6Addr::from(base + start + 0xff),
        ))
    }

    /// Whether the network needs a dnsmasq (DHCP, DNS or router advertisements).
    pub fn needs_dnsmasq(&self) -> bool {
        self.mode != Mode::Bridged && (self.dhcp.is_some() || self.dns || self.ipv6.is_some())
    }
}

/// Open, check and parse a definition file. `name` is the network (bridge)
/// name the caller derived from the file name.
///
/// The file must be a regular file (symlinks are refused: O_NOFOLLOW), owned
/// by root, not writable by group or others, and at most 64 KiB. The checks
/// are made on the opened descriptor, so the file cannot be swapped between
/// check and read.
pub fn load(path: &Path, name: &str) -> Result<Definition> {
    let shown = path.display().to_string();
    let text = read_checked(path, &shown)?;
    parse(&text, &shown, name)
}

/// The file's text, read by `safe_file` (symbolic links refused), with this
/// module's messages for each refusal.
pub(crate) fn read_checked(path: &Path, shown: &str) -> Result<String> {
    let bytes =
        safe_file::read_root_owned(path, Symlinks::Refuse, MAX_FILE_SIZE).map_err(|r| match r {
            Refused::Open(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                fail!("{shown}: is a symbolic link (refused)")
            }
            Refused::Open(e) | Refused::Io(e) => fail!("{shown}: {e}"),
            Refused::NotRegular => fail!("{shown}: not a regular file (refused)"),
            Refused::NotRoot { uid } => fail!("{shown}: owned by uid {uid}, not root (refused)"),
            Refused::Writable { mode } => {
                fail!("{shown}: writable by group or others (mode {mode:o}, refused)")
            }
            Refused::TooLarge { size: Some(size) } => {
                fail!("{shown}: too large ({size} bytes, at most {MAX_FILE_SIZE})")
            }
            Refused::TooLarge { size: None } => {
                fail!("{shown}: too large (at most {MAX_FILE_SIZE} bytes)")
            }
        })?;
    String::from_utf8(bytes).map_err(|_| fail!("{shown}: not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    const EXAMPLE: &str = r#"mode = "nat"
address = "10.200.0.1/24"
dhcp = true
dhcp-range = "10.200.0.100-10.200.0.199"
lease-time = "1h"
dns = true
domain = "vm"
uplink = "eth0"
mtu = 1500
idle-timeout = "30s"
ipv6 = "fd42:1:2:3::1/64"
ipv6-nat = true

[[host]]
mac = "52:54:00:00:00:10"
ip = "10.200.0.10"
name = "web"

[[forward]]
proto = "tcp"
port = 8080
to = "10.200.0.10:80"
host-address = "198.51.100.2"

[[forward]]
proto = "udp"
port = "8000-8010"
to = "[fd42:1:2:3::10]:9000"
"#;

    fn p(text: &str) -> Result<Definition> {
        parse(text, "/etc/vnet-helper/networks/vnet0.toml", "vnet0")
    }

    #[test]
    fn example_parses() {
        let d = p(EXAMPLE).unwrap();
        assert_eq!(d.name, "vnet0");
        assert_eq!(d.mode, Mode::Nat);
        assert_eq!(
            d.ipv4,
            Some(Prefix {
                address: Ipv4Addr::new(10, 200, 0, 1),
                prefix: 24
            })
        );
        assert_eq!(d.subnet().unwrap().to_string(), "10.200.0.0/24");
        assert_eq!(d.ipv4.unwrap().mask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(
            d.dhcp,
            Some((
                Ipv4Addr::new(10, 200, 0, 100),
                Ipv4Addr::new(10, 200, 0, 199)
            ))
        );
        assert_eq!(d.lease_max(), 100);
        assert_eq!(d.lease_time, Some(3600));
        assert!(d.dns);
        assert_eq!(d.domain.as_deref(), Some("vm"));
        assert_eq!(d.uplink.as_deref(), Some("eth0"));
        assert_eq!(d.mtu, Some(1500));
        assert_eq!(d.idle_timeout, Some(Duration::from_secs(30)));
        assert!(!d.allow_default_route_uplink);
        assert_eq!(d.ipv6.unwrap().to_string(), "fd42:1:2:3::1/64");
        assert_eq!(d.ipv6.unwrap().subnet().to_string(), "fd42:1:2:3::/64");
        assert!(d.ipv6_nat);
        assert_eq!(
            d.hosts,
            vec![Host {
                mac: [0x52, 0x54, 0, 0, 0, 0x10],
                ip: Ipv4Addr::new(10, 200, 0, 10),
                name: Some("web".into()),
                line: 14,
            }]
        );
        assert_eq!(d.hosts[0].mac_string(), "52:54:00:00:00:10");
        assert_eq!(d.forwards.len(), 2);
        assert_eq!(
            d.forwards[0],
            Forward {
                proto: Proto::Tcp,
                host_ports: (8080, 8080),
                to_ip: "10.200.0.10".parse().unwrap(),
                to_port: 80,
                host_address: Some("198.51.100.2".parse().unwrap()),
                line: 19,
            }
        );
        assert_eq!(d.forwards[1].host_ports, (8000, 8010));
        assert_eq!(d.forwards[1].to_port_end(), 9010);
        assert!(d.forwards[1].is_ipv6());
        assert_eq!(d.forwards[1].line, 25);
        assert_eq!(
            d.dhcp6_range(),
            Some((
                "fd42:1:2:3::100".parse().unwrap(),
                "fd42:1:2:3::1ff".parse().unwrap()
            ))
        );
        assert!(d.needs_dnsmasq());
    }

    #[test]
    fn defaults() {
        let d = p("address = \"192.168.50.1/24\"\n").unwrap();
        assert_eq!(d.mode, Mode::Nat);
        assert_eq!(
            d.dhcp,
            Some((
                Ipv4Addr::new(192, 168, 50, 2),
                Ipv4Addr::new(192, 168, 50, 254)
            ))
        );
        assert_eq!(d.lease_max(), 253);
        assert_eq!(d.lease_time, Some(3600));
        assert!(d.dns);
        assert_eq!(d.domain, None);
        assert_eq!(d.uplink, None);
        assert_eq!(d.mtu, None);
        assert_eq!(d.idle_timeout, Some(Duration::from_secs(30)));
        assert_eq!(d.ipv6, None);
        assert!(!d.ipv6_nat);
        assert!(d.hosts.is_empty() && d.forwards.is_empty());
        assert_eq!(d.dhcp6_range(), None);
    }

    // ---- load(): file checks.

    struct TempDir(std::path::PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn tempdir(tag: &str) -> TempDir {
        let p = std::path::PathBuf::from(format!(
            "/tmp/vnet-helper-test-{}-{tag}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir(&p).unwrap();
        TempDir(p)
    }

    fn write(path: &Path, text: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn load_checks_the_file() {
        let dir = tempdir("load");
        let f = dir.0.join("vnet0.toml");
        write(&f, "address = \"10.0.0.1/24\"\n", 0o644);
        let root = std::fs::metadata(&f).unwrap().uid() == 0;
        if root {
            assert_eq!(load(&f, "vnet0").unwrap().name, "vnet0");
        } else {
            assert!(load(&f, "vnet0")
                .unwrap_err()
                .message()
                .contains("not root"));
        }
        let shown = f.display().to_string();

        // Errors in the file name it.
        write(&f, "address = \"10.0.0.1/24\"\nbogus = 1\n", 0o644);
        if root {
            assert_eq!(
                load(&f, "vnet0").unwrap_err().message(),
                format!("{shown}:2: unknown key `bogus'")
            );
        }

        // Writable by group or others.
        write(&f, "address = \"10.0.0.1/24\"\n", 0o664);
        if root {
            assert_eq!(
                load(&f, "vnet0").unwrap_err().message(),
                format!("{shown}: writable by group or others (mode 664, refused)")
            );
        }
        write(&f, "address = \"10.0.0.1/24\"\n", 0o646);
        if root {
            assert!(load(&f, "vnet0")
                .unwrap_err()
                .message()
                .contains("writable"));
        }

        // Symlink.
        write(&f, "address = \"10.0.0.1/24\"\n", 0o644);
        let link = dir.0.join("link.toml");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        assert_eq!(
            load(&link, "link").unwrap_err().message(),
            format!("{}: is a symbolic link (refused)", link.display())
        );

        // Directory.
        let sub = dir.0.join("dir.toml");
        std::fs::create_dir(&sub).unwrap();
        assert!(load(&sub, "dir")
            .unwrap_err()
            .message()
            .contains("not a regular file"));

        // Missing.
        let missing = dir.0.join("missing.toml");
        assert!(load(&missing, "missing")
            .unwrap_err()
            .message()
            .starts_with(&format!("{}: ", missing.display())));

        // Too large.
        let big = dir.0.join("big.toml");
        write(&big, &"#".repeat(MAX_FILE_SIZE as usize + 1), 0o644);
        if root {
            assert!(load(&big, "big")
                .unwrap_err()
                .message()
                .contains("too large"));
        }

        // Not owned by root.
        if root {
            std::os::unix::fs::chown(&f, Some(1), None).unwrap();
            assert_eq!(
                load(&f, "vnet0").unwrap_err().message(),
                format!("{shown}: owned by uid 1, not root (refused)")
            );
        }

        // Not UTF-8.
        let bin = dir.0.join("bin.toml");
        std::fs::write(&bin, [0xff, 0xfe]).unwrap();
        if root {
            assert!(load(&bin, "bin").unwrap_err().message().contains("UTF-8"));
        }
    }
}
