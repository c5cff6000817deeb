//! `vnet-helper mac [SEED]`: a MAC address for a guest in QEMU's 52:54:00
//! prefix (locally administered by convention, unicast): random from the
//! kernel, or a stable hash of SEED so a VM name always maps to one address.

use crate::error::{OrFail, Result};
use crate::privileges::{self, Caller};

pub fn run(args: &[String], caller: &Caller) -> Result<i32> {
    privileges::drop_all(caller)?;
    let tail: [u8; 3] = match args {
        [] => {
            let mut b = [0u8; 3];
            use std::io::Read;
            std::fs::File::open("/dev/urandom")
                .and_then(|mut f| f.read_exact(&mut b))
                .or_fail(|| "reading /dev/urandom")?;
            b
        }
        [seed] => from_seed(seed),
        _ => return Err(fail!("usage: vnet-helper mac [SEED]")),
    };
    show!("52:54:00:{:02x}:{:02x}:{:02x}\n", tail[0], tail[1], tail[2]);
    Ok(0)
}

/// FNV-1a (64 bit) of the seed, folded to 3 bytes: stable across versions
/// and machines, which is all that is asked of it (not a secret).
fn from_seed(seed: &str) -> [u8; 3] {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let f = (h ^ (h >> 24) ^ (h >> 48)) as u32;
    [(f >> 16) as u8, (f >> 8) as u8, f as u8]
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn seeds_are_stable_and_distinct() {
        assert_eq!(from_seed("web"), from_seed("web"));
        assert_ne!(from_seed("web"), from_seed("db"));
        assert_eq!(from_seed(""), from_seed(""));
    }
}
