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
//! including when the holder is killed: no stale locks.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

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

fn acquire(path: &Path) -> Result<Lock> {
    let file = open_lock(path)?;
    let held = Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, e)| fail!("locking {}: {e}", path.display()))?;
    Ok(Lock { _held: held })
}

/// Try to take an exclusive lock without waiting; None if someone holds it.
pub fn try_acquire(path: &Path) -> Result<Option<Lock>> {
    let file = open_lock(path)?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(held) => Ok(Some(Lock { _held: held })),
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(None),
        Err((_, e)) => Err(fail!("locking {}: {e}", path.display())),
    }
}

/// The per-network lock: bring-up, tap attach and teardown take it.
pub fn network(net: &paths::Network) -> Result<Lock> {
    acquire(&net.lock())
}

/// The lock for read-modify-write of the firewall (shared chains).
pub fn firewall() -> Result<Lock> {
    acquire(Path::new(paths::FIREWALL_LOCK))
}
