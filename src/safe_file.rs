//! Reading a configuration file that only root may have written: the ACL
//! files (/etc/qemu/bridge.conf and its includes) and the network
//! definitions (/etc/vnet-helper/networks/NAME.toml).
//!
//! One mechanism: open close-on-exec (and O_NONBLOCK, so that a FIFO cannot
//! block the open before it is refused; O_NOCTTY), then check the opened
//! descriptor, never a second lookup of the path, so the file cannot be
//! swapped between check and read: a regular file, owned by root, not
//! writable by group or others, at most `max_size` bytes (checked before and
//! after reading, in case it grows).
//!
//! The policy around it stays with each caller: whether a symbolic link is
//! followed (the ACL follows them, as qemu-bridge-helper does; definitions
//! refuse them), the size limit, with whose permissions the file is opened
//! (the ACL is read as the caller), and the wording of every refusal
//! ([`Refused`] carries the facts, the caller writes the message).

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// Whether the last component of the path may be a symbolic link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symlinks {
    Follow,
    /// O_NOFOLLOW: a symbolic link fails the open with ELOOP.
    Refuse,
}

/// Why the file was not read.
#[derive(Debug)]
pub enum Refused {
    /// open(2) failed (ELOOP for a symbolic link with [`Symlinks::Refuse`]).
    Open(std::io::Error),
    /// fstat(2) or read(2) on the opened file failed.
    Io(std::io::Error),
    /// A directory, FIFO, device...
    NotRegular,
    /// Owned by this uid, not root.
    NotRoot { uid: u32 },
    /// Writable by group or others; `mode` is the permission bits (& 0o7777).
    Writable { mode: u32 },
    /// Larger than the limit: `size` as fstat gave it, or None when the file
    /// grew past the limit while it was read.
    TooLarge { size: Option<u64> },
}

/// The whole content of the root-owned file at `path`, at most `max_size`
/// bytes, opened with the process's current identity.
pub fn read_root_owned(path: &Path, symlinks: Symlinks, max_size: u64) -> Result<Vec<u8>, Refused> {
    let mut flags = libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK;
    if symlinks == Symlinks::Refuse {
        flags |= libc::O_NOFOLLOW;
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(Refused::Open)?;
    let meta = file.metadata().map_err(Refused::Io)?;
    if !meta.file_type().is_file() {
        return Err(Refused::NotRegular);
    }
    if meta.uid() != 0 {
        return Err(Refused::NotRoot { uid: meta.uid() });
    }
    if meta.mode() & 0o022 != 0 {
        return Err(Refused::Writable {
            mode: meta.mode() & 0o7777,
        });
    }
    if meta.len() > max_size {
        return Err(Refused::TooLarge {
            size: Some(meta.len()),
        });
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    file.take(max_size + 1)
        .read_to_end(&mut data)
        .map_err(Refused::Io)?;
    if data.len() as u64 > max_size {
        return Err(Refused::TooLarge { size: None });
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_without_root() {
        let dir = std::path::PathBuf::from(format!(
            "/tmp/vnet-helper-test-{}-safe-file",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let file = dir.join("f");
        std::fs::write(&file, "x").unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(matches!(
            read_root_owned(&link, Symlinks::Refuse, 10),
            Err(Refused::Open(e)) if e.raw_os_error() == Some(libc::ELOOP)
        ));
        assert!(matches!(
            read_root_owned(&dir, Symlinks::Follow, 10),
            Err(Refused::NotRegular)
        ));
        assert!(matches!(
            read_root_owned(&dir.join("missing"), Symlinks::Follow, 10),
            Err(Refused::Open(_))
        ));
        let root = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&file).unwrap()) == 0;
        if root {
            assert_eq!(read_root_owned(&link, Symlinks::Follow, 10).unwrap(), b"x");
            assert!(matches!(
                read_root_owned(&file, Symlinks::Refuse, 0),
                Err(Refused::TooLarge { size: Some(1) })
            ));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
