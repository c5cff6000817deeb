//! Runtime directories and locks of managed networks.
//!
//! /run/vnet-helper is root-owned 0755 (state that `status` shows to users);
//! its `lock/` subdirectory is root-owned 0700 and holds one flock(2) file per
//! network (bring-up, attach and teardown of a network are serialized on it)
//! plus `firewall.lock` (any change to the shared firewall chains). Every
//! directory is checked after creation (a directory, owned by root, not
//! writable by others) and lock files are opened O_NOFOLLOW. A lock is
//! released when its descriptor closes, including when the holder is killed:
//! no stale locks.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use nix::fcntl::{flock, FlockArg};
use std::os::fd::AsRawFd;

use crate::error::{OrFail, Result};

pub const RUN_DIR: &str = "/run/vnet-helper";
pub const LOCK_DIR: &str = "/run/vnet-helper/lock";
pub const LIB_DIR: &str = "/var/lib/vnet-helper";

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
    secure_dir(RUN_DIR, 0o755)?;
    secure_dir(LOCK_DIR, 0o700)?;
    secure_dir(LIB_DIR, 0o755)
}

/// An exclusive flock, held until dropped.
#[derive(Debug)]
pub struct Lock {
    _file: File,
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
    flock(file.as_raw_fd(), FlockArg::LockExclusive)
        .or_fail(|| format!("locking {}", path.display()))?;
    Ok(Lock { _file: file })
}

/// Try to take an exclusive lock without waiting; None if someone holds it.
pub fn try_acquire(path: &Path) -> Result<Option<Lock>> {
    let file = open_lock(path)?;
    match flock(file.as_raw_fd(), FlockArg::LockExclusiveNonblock) {
        Ok(()) => Ok(Some(Lock { _file: file })),
        Err(nix::errno::Errno::EWOULDBLOCK) => Ok(None),
        Err(e) => Err(fail!("locking {}: {e}", path.display())),
    }
}

/// The per-network lock: bring-up, tap attach and teardown take it.
pub fn network(name: &str) -> Result<Lock> {
    acquire(&Path::new(LOCK_DIR).join(format!("{name}.lock")))
}

/// The lock for read-modify-write of the firewall (shared chains).
pub fn firewall() -> Result<Lock> {
    acquire(&Path::new(LOCK_DIR).join("firewall.lock"))
}
