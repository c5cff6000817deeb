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
        [seed] => crate::mac::guest_tail(seed),
        _ => return Err(fail!("usage: vnet-helper mac [SEED]")),
    };
    show!("52:54:00:{:02x}:{:02x}:{:02x}\n", tail[0], tail[1], tail[2]);
    Ok(0)
}
