//! The tap: made on /dev/net/tun and configured exactly as qemu-bridge-helper
//! does it (with the same ioctls, the cheapest way), attached to the bridge.
//! Never made persistent: it lives as long as a descriptor to it is open, so a
//! failure anywhere (or QEMU's exit) removes it.
//!
//! On a managed network the host's own IPv6 is turned off on the tap before it
//! goes up. A bridge port needs no addresses of its own (the bridge has the
//! host's), and with IPv6 on each tap gets a link-local address, two routes,
//! multicast memberships and duplicate address detection. The kernel pays
//! for that in the call, in proportion to the number of taps already there
//! (the routes of every tap share one prefix), and every address and route
//! notification made the network's dnsmasq (`bind-dynamic`) enumerate all
//! interfaces again. A drop-in call leaves it on, as qemu-bridge-helper does.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;

use crate::error::{OrFail, Result};
use crate::sys::{self, IfSock};

/// The host's own IPv6 on the tap: left as the kernel sets it up (drop-in),
/// or turned off (a port of a managed network).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostIpv6 {
    Kept,
    Off,
}

pub struct Tap {
    pub file: File,
    pub name: String,
}

/// Make a tap (`tap%d`), with a virtio-net header when asked and supported,
/// give it the bridge's MTU and a MAC whose first byte is 0xFE (so the bridge
/// never takes the tap's address as its own), enslave it and bring it up.
pub fn create_on_bridge(bridge: &str, vnet_hdr: bool, ipv6: HostIpv6) -> Result<Tap> {
    let sock = IfSock::open().or_fail(|| "opening an interface socket")?;
    let mtu = match sock.mtu(bridge) {
        Ok(m) => m,
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => {
            return Err(fail!("bridge `{bridge}' does not exist"))
        }
        Err(e) => return Err(fail!("bridge `{bridge}': {e}")),
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOCTTY)
        .open("/dev/net/tun")
        .or_fail(|| "opening /dev/net/tun")?;
    let mut flags = sys::IFF_TAP | sys::IFF_NO_PI;
    if vnet_hdr {
        let features = sys::tun_features(&file).or_fail(|| "TUNGETFEATURES")?;
        if features & u32::from(sys::IFF_VNET_HDR) != 0 {
            flags |= sys::IFF_VNET_HDR;
        }
    }
    let name = sys::tun_set_iff(&file, "tap%d", flags).or_fail(|| "creating a tap (TUNSETIFF)")?;
    let mut mac = sys::tun_hwaddr(&file).or_fail(|| format!("reading {name}'s MAC address"))?;
    mac[0] = 0xfe;
    sock.set_mtu(&name, mtu)
        .or_fail(|| format!("setting {name}'s MTU to {mtu}"))?;
    sock.set_ether_addr(&name, mac)
        .or_fail(|| format!("setting {name}'s MAC address"))?;
    let index = sock.index(&name).or_fail(|| format!("looking up {name}"))?;
    match sock.bridge_add(bridge, index) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {
            return Err(fail!("`{bridge}' is not a bridge"))
        }
        Err(e) => return Err(fail!("attaching {name} to bridge `{bridge}': {e}")),
    }
    if ipv6 == HostIpv6::Off {
        // Best effort: a host without IPv6 has no such file.
        let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6"), "1");
    }
    sock.set_up(&name)
        .or_fail(|| format!("bringing {name} up"))?;
    Ok(Tap { file, name })
}
