//! MAC addresses vnet-helper makes up: a guest's in QEMU's 52:54:00 prefix
//! (`vnet-helper mac SEED`), and a managed bridge's, fixed and derived from
//! its network's name, so that guests' ARP caches stay right whichever ports
//! come and go (a Linux bridge without a set address takes its lowest
//! port's) and across teardowns and bring-ups.

/// FNV-1a (64 bit): stable across versions and machines, which is all that
/// is asked of it (not a secret).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The last three bytes of a guest MAC for SEED (e.g. a VM name).
pub fn guest_tail(seed: &str) -> [u8; 3] {
    let h = fnv1a(seed.as_bytes());
    let f = (h ^ (h >> 24) ^ (h >> 48)) as u32;
    [(f >> 16) as u8, (f >> 8) as u8, f as u8]
}

/// Network `name`'s bridge address: locally administered, unicast (02:...),
/// outside QEMU's 52:54:00 guest prefix.
pub fn bridge(name: &str) -> [u8; 6] {
    let h = fnv1a(format!("vnet-helper bridge {name}").as_bytes()).to_be_bytes();
    [0x02, h[0], h[1], h[2], h[3], h[4]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_stable_and_distinct() {
        assert_eq!(guest_tail("web"), guest_tail("web"));
        assert_ne!(guest_tail("web"), guest_tail("db"));
        assert_eq!(guest_tail(""), guest_tail(""));
    }

    #[test]
    fn bridge_addresses_are_local_unicast_and_per_name() {
        let a = bridge("vnet0");
        assert_eq!(a, bridge("vnet0"));
        assert_ne!(a, bridge("vnet1"));
        assert_eq!(a[0] & 0x03, 0x02, "locally administered, unicast");
    }
}
