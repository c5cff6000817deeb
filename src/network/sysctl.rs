//! The kernel settings a managed network changes, in one place: IPv4 and IPv6
//! forwarding (host-wide, turned on for nat and routed networks and never
//! turned off by a teardown, as libvirt does; a failed bring-up restores what
//! it found) and a bridge's own IPv6 settings.

use std::fs;

use crate::error::{OrFail, Result};

pub const IPV4_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";
pub const IPV6_FORWARD: &str = "/proc/sys/net/ipv6/conf/all/forwarding";

/// Read a sysctl's current value (None if it cannot be read).
pub fn read(path: &str) -> Option<String> {
    fs::read_to_string(path).ok()
}

pub fn write(path: &str, value: &str) -> Result<()> {
    fs::write(path, value).or_fail(|| format!("writing {path}"))
}

/// Set net.ipv6.conf.DEV.KEY, best effort (a host without IPv6 has none).
pub fn set_ipv6(dev: &str, key: &str, value: &str) {
    let _ = fs::write(format!("/proc/sys/net/ipv6/conf/{dev}/{key}"), value);
}
