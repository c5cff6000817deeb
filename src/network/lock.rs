//! Runtime directories and locks of managed networks (where they are:
//! `crate::paths`).
//!
//! /run/vnet-helper is root-owned 0755 (state that `status` shows to users);
//! its `lock/` subdirectory is root-owned 0700 and holds one flock(2) file per
//! network (bring-up, attach and teardown of a network are serialized on it),
//! one per supervisor (its proof of life) and `firewall.lock` (any change to
//! the shared firewall state). Every directory is checked after creation (a
//! directory, owned by root, not writable by others) and lock files are
//! opened O_NOFOLLOW. A lock is released when its descriptor closes,
//! including when the holder is killed: no stale locks. Nobody waits for a
//! lock longer than [`LOCK_WAIT`].

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::error::{OrFail, Result};
use crate::paths;

/// Create (if needed) and verify a root-owned directory.
pub fn secure_dir(path: &str, mode: u32) -> Result<()> {
    let md = match std::fs::symlink_metadata(path) {
        Ok(md) => md,
        Err(_) => {
            match std::fs::DirBuilder::new().mode(mode).create(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(fail!("creating {path}: {e}")),
            }
            std::fs::symlink_metadata(path).or_fail(|| path)?
        }
    };
    let forbidden = if mode & 0o077 == 0 { 0o077 } else { 0o022 };
    if !md.is_dir() || md.uid() != 0 || md.mode() & forbidden != 0 {
        return Err(fail!(
            "{path} must be a directory owned by root and not writable by others (found uid {}, mode {:o}); \
             remove it and retry",
            md.uid(),
            md.mode() & 0o7777
        ));
    }
    Ok(())
}

/// The runtime directories every managed-network operation needs.
pub fn prepare_dirs() -> Result<()> {
    for (dir, mode) in paths::SHARED_DIRS {
        secure_dir(dir, *mode)?;
    }
    Ok(())
}

/// An exclusive flock, held until dropped.
#[derive(Debug)]
pub struct Lock {
    _held: Flock<File>,
}

impl Lock {
    /// The descriptor, for a child that must hold the lock too.
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self._held.as_raw_fd()
    }
}

fn open_lock(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .or_fail(|| format!("opening lock {}", path.display()))
}

/// How long a call waits for a lock before it gives up with an error (QEMU
/// would otherwise wait forever): far longer than a bring-up or teardown
/// holds one (at most about 10 s: a supervisor that does not start, a daemon
/// that needs SIGKILL).
pub const LOCK_WAIT: Duration = Duration::from_secs(20);

/// Take an exclusive lock, waiting at most LOCK_WAIT; `what` names what it
/// guards in the error.
fn acquire(path: &Path, what: &str) -> Result<Lock> {
    let mut file = open_lock(path)?;
    let deadline = Instant::now() + LOCK_WAIT;
    let mut pause = Duration::from_millis(1);
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(held) => return Ok(Lock { _held: held }),
            Err((f, Errno::EWOULDBLOCK)) => file = f,
            Err((_, e)) => return Err(fail!("locking {}: {e}", path.display())),
        }
        if Instant::now() >= deadline {
            return Err(fail!(
                "{what} is busy: its lock has been held for {} s by another bring-up or \
                 teardown; giving up",
                LOCK_WAIT.as_secs()
            ));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

/// Try to take an exclusive lock without waiting; None if someone holds it.
pub fn try_acquire(path: &Path) -> Result<Option<Lock>> {
    let file = open_lock(path)?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(held) => Ok(Some(Lock { _held: held })),
        Err((_, Errno::EWOULDBLOCK)) => Ok(None),
        Err((_, e)) => Err(fail!("locking {}: {e}", path.display())),
    }
}

/// The per-network lock: bring-up, tap attach and teardown take it.
pub fn network(net: &paths::Network) -> Result<Lock> {
    acquire(&net.lock(), &format!("network `{}'", net.name))
}

/// The lock for read-modify-write of the firewall (shared chains).
pub fn firewall() -> Result<Lock> {
    acquire(Path::new(paths::FIREWALL_LOCK), "the firewall")
}

/// The lock under which user networks are created and deleted: the quota
/// count, the subnet allocation and the record's write are one step.
pub fn user_networks() -> Result<Lock> {
    acquire(Path::new(paths::USER_NETWORKS_LOCK), "user networks")
}
