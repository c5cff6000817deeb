//! The tap: made on /dev/net/tun, configured like qemu-bridge-helper does it,
//! attached to the bridge. Never made persistent: it lives exactly as long as
//! a descriptor to it is open, so a failure anywhere (or QEMU's exit) removes
//! it.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;

use crate::error::{OrFail, Result};
use crate::netlink::Netlink;
use crate::sys;

pub struct Tap {
    pub file: File,
    pub name: String,
}

/// Check that `bridge` exists and is a bridge; returns its index and MTU.
pub fn find_bridge(nl: &mut Netlink, bridge: &str) -> Result<(u32, u32)> {
    let link = nl
        .link(bridge)
        .or_fail(|| format!("looking up bridge `{bridge}'"))?
        .ok_or_else(|| fail!("bridge `{bridge}' does not exist"))?;
    if !link.is_bridge {
        return Err(fail!(
            "`{bridge}' is not a bridge (it is a {} interface)",
            link.kind.as_deref().unwrap_or("plain")
        ));
    }
    Ok((link.index, link.mtu))
}

/// Make a tap (`tap%d`), with a virtio-net header when asked and supported,
/// give it the bridge's MTU and a MAC whose first byte is 0xFE (so the bridge
/// never takes the tap's address as its own), enslave it and bring it up.
pub fn create_on_bridge(nl: &mut Netlink, bridge: &str, vnet_hdr: bool) -> Result<Tap> {
    let (bridge_index, mtu) = find_bridge(nl, bridge)?;
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
    nl.setup_port(&name, mtu, mac, bridge_index)
        .or_fail(|| format!("attaching {name} to bridge `{bridge}'"))?;
    Ok(Tap { file, name })
}
