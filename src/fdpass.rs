//! The --fd socket: checked before anything is created, then used once to
//! hand QEMU the tap: exactly one byte plus one SCM_RIGHTS descriptor in a
//! single sendmsg, which is what QEMU's recv (1-byte buffer) expects.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;

use nix::errno::Errno;
use nix::sys::socket::{
    getsockname, getsockopt, sockopt, AddressFamily, SockType, SockaddrLike, SockaddrStorage,
};
use sendfd::SendWithFd;

use crate::error::{OrFail, Result};
use crate::sys;

/// Validate --fd=N: an open AF_UNIX stream socket, and take it.
pub fn socket(fd: i32) -> Result<UnixStream> {
    let bad = |why: &str| fail!("--fd={fd}: {why}");
    let borrowed: BorrowedFd<'static> =
        sys::borrow_open_fd(fd).ok_or_else(|| bad("not an open descriptor"))?;
    // getsockname tells both: ENOTSOCK for anything but a socket (no fstat).
    let family = match getsockname::<SockaddrStorage>(borrowed.as_raw_fd()) {
        Err(Errno::ENOTSOCK) => return Err(bad("not a socket")),
        r => r.ok().and_then(|a| a.family()),
    };
    if family != Some(AddressFamily::Unix) {
        return Err(bad("not an AF_UNIX socket"));
    }
    if getsockopt(&borrowed, sockopt::SockType).ok() != Some(SockType::Stream) {
        return Err(bad("not a stream socket"));
    }
    Ok(sys::unix_stream_from_fd(borrowed))
}

/// Send the tap: one byte, one descriptor, one sendmsg.
pub fn send(sock: &UnixStream, tap: &std::fs::File) -> Result<()> {
    let n = sock
        .send_with_fd(&[0u8], &[tap.as_raw_fd()])
        .or_fail(|| "sending the tap to QEMU")?;
    if n != 1 {
        return Err(fail!("sending the tap to QEMU: short write"));
    }
    Ok(())
}
