//! IP prefixes: an address with a prefix length ("10.200.0.1/24",
//! "fd42:1:2:3::1/64"), one type for both families.
//!
//! `Prefix<Ipv4Addr>` and `Prefix<Ipv6Addr>` share every operation (network,
//! broadcast, mask, contains, subnet, overlaps, Display); the family only
//! decides the width, through [`Family`]. The address keeps its host bits: a
//! network definition's `address = "10.200.0.1/24"` is the bridge's own
//! address and, at the same time, names its subnet.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// An address family: how wide its addresses are, and their bits as a number.
pub trait Family: Copy + Eq + fmt::Display {
    /// Address width in bits (32 or 128).
    const BITS: u8;
    /// The address as a number (right-aligned in a u128).
    fn to_bits(self) -> u128;
    /// The address from a number (only the low `BITS` bits are used).
    fn from_bits(bits: u128) -> Self;
}

impl Family for Ipv4Addr {
    const BITS: u8 = 32;
    fn to_bits(self) -> u128 {
        u128::from(u32::from(self))
    }
    fn from_bits(bits: u128) -> Self {
        Ipv4Addr::from(bits as u32)
    }
}

impl Family for Ipv6Addr {
    const BITS: u8 = 128;
    fn to_bits(self) -> u128 {
        u128::from(self)
    }
    fn from_bits(bits: u128) -> Self {
        Ipv6Addr::from(bits)
    }
}

/// An address with a prefix length. A prefix length above the family's width
/// is treated as the full width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix<A> {
    pub address: A,
    pub prefix: u8,
}

impl<A: Family> Prefix<A> {
    /// The netmask as a number, right-aligned like [`Family::to_bits`].
    fn mask_bits(&self) -> u128 {
        let prefix = u32::from(self.prefix.min(A::BITS));
        if prefix == 0 {
            0
        } else {
            (u128::MAX << (128 - prefix)) >> (128 - u32::from(A::BITS))
        }
    }

    /// Every bit of the family's width set.
    fn all_bits() -> u128 {
        u128::MAX >> (128 - u32::from(A::BITS))
    }

    /// The netmask, e.g. 255.255.255.0.
    pub fn mask(&self) -> A {
        A::from_bits(self.mask_bits())
    }

    /// The first address of the subnet.
    pub fn network(&self) -> A {
        A::from_bits(self.address.to_bits() & self.mask_bits())
    }

    /// The last address of the subnet.
    pub fn broadcast(&self) -> A {
        A::from_bits(self.address.to_bits() | (Self::all_bits() & !self.mask_bits()))
    }

    pub fn contains(&self, ip: A) -> bool {
        ip.to_bits() & self.mask_bits() == self.network().to_bits()
    }

    /// The subnet itself ("10.200.0.0/24").
    pub fn subnet(&self) -> Prefix<A> {
        Prefix {
            address: self.network(),
            prefix: self.prefix,
        }
    }

    /// Whether the two subnets share an address (one contains the other).
    pub fn overlaps(&self, other: &Prefix<A>) -> bool {
        Prefix {
            address: self.address,
            prefix: self.prefix.min(other.prefix),
        }
        .contains(other.address)
    }
}

impl<A: fmt::Display> fmt::Display for Prefix<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_helpers() {
        let n = Prefix {
            address: Ipv4Addr::new(172, 16, 5, 9),
            prefix: 20,
        };
        assert_eq!(n.network(), Ipv4Addr::new(172, 16, 0, 0));
        assert_eq!(n.broadcast(), Ipv4Addr::new(172, 16, 15, 255));
        assert_eq!(n.mask(), Ipv4Addr::new(255, 255, 240, 0));
        assert!(n.contains(Ipv4Addr::new(172, 16, 15, 1)));
        assert!(!n.contains(Ipv4Addr::new(172, 16, 16, 1)));
        let n6 = Prefix {
            address: "fd00:1::5".parse::<Ipv6Addr>().unwrap(),
            prefix: 64,
        };
        assert_eq!(n6.network(), "fd00:1::".parse::<Ipv6Addr>().unwrap());
        assert!(n6.contains("fd00:1::ffff:1".parse().unwrap()));
        assert!(!n6.contains("fd00:2::1".parse().unwrap()));
    }

    #[test]
    fn edges_and_display() {
        let v4 = |a: [u8; 4], prefix| Prefix {
            address: Ipv4Addr::from(a),
            prefix,
        };
        assert_eq!(v4([10, 1, 2, 3], 0).mask(), Ipv4Addr::UNSPECIFIED);
        assert_eq!(v4([10, 1, 2, 3], 0).broadcast(), Ipv4Addr::BROADCAST);
        assert_eq!(v4([10, 1, 2, 3], 32).network(), Ipv4Addr::new(10, 1, 2, 3));
        assert_eq!(v4([10, 1, 2, 3], 40).mask(), Ipv4Addr::BROADCAST);
        assert_eq!(v4([10, 1, 2, 3], 8).subnet().to_string(), "10.0.0.0/8");
        assert!(v4([10, 1, 2, 3], 8).overlaps(&v4([10, 200, 0, 1], 24)));
        assert!(v4([10, 200, 0, 1], 24).overlaps(&v4([10, 1, 2, 3], 8)));
        assert!(!v4([10, 200, 0, 1], 24).overlaps(&v4([10, 200, 1, 1], 24)));
        let v6 = |a: &str, prefix| Prefix {
            address: a.parse::<Ipv6Addr>().unwrap(),
            prefix,
        };
        assert_eq!(v6("fd42:1:2:3::1", 64).to_string(), "fd42:1:2:3::1/64");
        assert_eq!(
            v6("fd42:1:2:3::1", 64).subnet().to_string(),
            "fd42:1:2:3::/64"
        );
        assert_eq!(v6("fd42::1", 0).mask(), Ipv6Addr::UNSPECIFIED);
        assert_eq!(
            v6("fd42::1", 128).network(),
            "fd42::1".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(
            v6("fd42::1", 64).broadcast(),
            "fd42::ffff:ffff:ffff:ffff".parse::<Ipv6Addr>().unwrap()
        );
        assert!(v6("fd42::1", 48).overlaps(&v6("fd42:0:0:5::1", 64)));
        assert!(!v6("fd42::1", 64).overlaps(&v6("fd42:0:0:5::1", 64)));
    }
}
