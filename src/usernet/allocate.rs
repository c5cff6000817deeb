//! Choosing a user network's subnet: [`first_free`] is the plan (pure: the
//! pool's subnets, the size, and every prefix already taken, in, first free
//! one out), [`host_taken`] gathers what the host itself uses (every
//! address and every route of every table, IPv4 and IPv6, by rtnetlink).
//! The caller adds the admin networks' and the records' subnets and runs
//! both under the user-networks lock, so two creates never get one subnet.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures_util::TryStreamExt;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::route::{RouteAddress, RouteAttribute};
use rtnetlink::RouteMessageBuilder;

use crate::error::{OrFail, Result};
use crate::netaddr::{Family, Prefix};
use crate::network::bridge;

/// The first subnet of length `size`, in `pools` order, that overlaps no
/// prefix of `taken`. Its address is the subnet's first host (the gateway).
pub fn first_free<A: Family>(
    pools: &[Prefix<A>],
    size: u8,
    taken: &[Prefix<A>],
) -> Option<Prefix<A>> {
    for pool in pools {
        if size < pool.prefix || size > A::BITS {
            continue;
        }
        let step: u128 = 1u128 << (A::BITS - size);
        let first = pool.network().to_bits();
        let last = pool.broadcast().to_bits();
        let mut at = first;
        while at <= last {
            let cand = Prefix {
                address: A::from_bits(at),
                prefix: size,
            };
            match taken
                .iter()
                .filter(|t| t.overlaps(&cand))
                .map(|t| t.broadcast().to_bits())
                .max()
            {
                None => {
                    return Some(Prefix {
                        address: A::from_bits(at + 1),
                        prefix: size,
                    });
                }
                // Skip past the taken prefix (it may be larger than `size`).
                Some(end) => {
                    let next = (end.max(at) / step + 1).checked_mul(step);
                    match next {
                        Some(n) if n > at => at = n,
                        _ => break,
                    }
                }
            }
        }
    }
    None
}

/// What the host uses: every address's subnet and every route's
/// destination (any table; not default routes), both families.
#[derive(Debug, Default)]
pub struct Taken {
    pub v4: Vec<Prefix<Ipv4Addr>>,
    pub v6: Vec<Prefix<Ipv6Addr>>,
    /// Every interface name.
    pub interfaces: Vec<String>,
}

impl Taken {
    fn add(&mut self, ip: IpAddr, prefix: u8) {
        match ip {
            IpAddr::V4(a) => self.v4.push(Prefix { address: a, prefix }.subnet()),
            IpAddr::V6(a) => self.v6.push(Prefix { address: a, prefix }.subnet()),
        }
    }
}

/// Gather [`Taken`] from the kernel (as root or not: dumps need no privilege).
pub fn host_taken() -> Result<Taken> {
    bridge::with_rtnetlink(async |h| {
        let mut t = Taken::default();
        let mut links = h.link().get().execute();
        while let Some(m) = links.try_next().await.or_fail(|| "listing links")? {
            t.interfaces.push(bridge::link_name(&m));
        }
        let mut addrs = h.address().get().execute();
        while let Some(a) = addrs.try_next().await.or_fail(|| "listing addresses")? {
            for attr in &a.attributes {
                if let AddressAttribute::Address(ip) = *attr {
                    t.add(ip, a.header.prefix_len);
                }
            }
        }
        let dumps = [
            RouteMessageBuilder::<Ipv4Addr>::new().build(),
            RouteMessageBuilder::<Ipv6Addr>::new().build(),
        ];
        for msg in dumps {
            let mut routes = h.route().get(msg).execute();
            while let Some(r) = routes.try_next().await.or_fail(|| "listing routes")? {
                let len = r.header.destination_prefix_length;
                if len == 0 {
                    continue;
                }
                for attr in &r.attributes {
                    if let RouteAttribute::Destination(d) = attr {
                        match d {
                            RouteAddress::Inet(a) => t.add(IpAddr::V4(*a), len),
                            RouteAddress::Inet6(a) => t.add(IpAddr::V6(*a), len),
                            _ => {}
                        }
                    }
                }
            }
        }
        Ok(t)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Prefix<Ipv4Addr> {
        let (a, p) = s.split_once('/').unwrap();
        Prefix {
            address: a.parse().unwrap(),
            prefix: p.parse().unwrap(),
        }
    }

    fn free(pools: &[&str], size: u8, taken: &[&str]) -> Option<String> {
        let pools: Vec<_> = pools.iter().map(|s| v4(s)).collect();
        let taken: Vec<_> = taken.iter().map(|s| v4(s)).collect();
        first_free(&pools, size, &taken).map(|p| p.to_string())
    }

    #[test]
    fn first_free_skips_what_is_taken() {
        assert_eq!(
            free(&["10.240.0.0/16"], 24, &[]).as_deref(),
            Some("10.240.0.1/24")
        );
        // A host address inside the first /24, a route covering the next two.
        assert_eq!(
            free(
                &["10.240.0.0/16"],
                24,
                &["10.240.0.77/32", "10.240.1.0/24", "10.240.2.0/23"]
            )
            .as_deref(),
            Some("10.240.4.1/24")
        );
        // A larger taken prefix that starts before the pool.
        assert_eq!(free(&["10.240.0.0/16"], 24, &["10.0.0.0/8"]), None);
        assert_eq!(
            free(&["10.240.0.0/16", "172.30.0.0/24"], 24, &["10.0.0.0/8"]).as_deref(),
            Some("172.30.0.1/24")
        );
        // Smaller networks.
        assert_eq!(
            free(
                &["192.168.5.0/24"],
                30,
                &["192.168.5.0/30", "192.168.5.8/29"]
            )
            .as_deref(),
            Some("192.168.5.5/30")
        );
        // Full.
        assert_eq!(free(&["192.168.5.0/24"], 24, &["192.168.5.0/24"]), None);
        // The last subnet of the pool.
        assert_eq!(
            free(&["10.1.0.0/23"], 24, &["10.1.0.0/24"]).as_deref(),
            Some("10.1.1.1/24")
        );
        // At the top of the address space.
        assert_eq!(free(&["255.255.255.0/24"], 24, &["255.255.255.0/24"]), None);
    }

    #[test]
    fn first_free_ipv6() {
        let pool: Prefix<Ipv6Addr> = Prefix {
            address: "fd42:ab::".parse().unwrap(),
            prefix: 48,
        };
        let taken = [Prefix {
            address: "fd42:ab::".parse::<Ipv6Addr>().unwrap(),
            prefix: 64,
        }];
        assert_eq!(
            first_free(&[pool], 64, &taken).unwrap().to_string(),
            "fd42:ab:0:1::1/64"
        );
        let all = [Prefix {
            address: "fd42::".parse::<Ipv6Addr>().unwrap(),
            prefix: 16,
        }];
        assert_eq!(first_free(&[pool], 64, &all), None);
    }
}
