//! Every privilege change of vnet-helper, in the order a call makes them.
//!
//! Installed setuid root, a call starts with ruid = caller, euid = saved uid
//! = 0 and every capability. From there it only ever goes down:
//!
//! * [`drop_for_attach`]: the drop-in path (qemu-bridge-helper's model). The
//!   caller's uid and gids for real, effective and saved ids, the caller's
//!   supplementary groups, and CAP_NET_ADMIN alone (permitted and effective;
//!   inheritable and ambient empty); no way back. Done before the ACL is read when the bridge has no
//!   network definition, so the ACL is read with the caller's permissions.
//! * [`act_as_caller`]: for a bridge with a network definition, which may need
//!   a bring-up as root: effective uid = the caller's (files are opened with the
//!   caller's permissions, effective capabilities are empty), saved uid = 0 so
//!   the bring-up can come back to root. Used only to read the ACL.
//! * [`become_root`]: after the ACL granted the bridge, full root (ruid = euid
//!   = 0, gid 0, no supplementary groups) for the network bring-up: iptables
//!   refuses ruid != euid, and dnsmasq must start as root to bind and then drop
//!   to its own user. The caller cannot signal a process whose uids are all 0.
//!   The umask is reset here, and our own resource limits before a bring-up
//!   ([`reset_own_limits`]): a caller's `ulimit -n 12` must not break a
//!   bring-up that other users' guests will share.
//! * [`detach_from_caller`]: right after [`become_root`], the caller's tty
//!   signals, scheduling and OOM score stop reaching us.
//! * [`narrow_for_tap`]: with the network's lock held, the tap step needs only
//!   CAP_NET_ADMIN, but stays uid 0 (keeping CAP_SETUID/CAP_SETGID for the
//!   final drop) so that the caller cannot SIGSTOP us while we hold a lock
//!   every other user of the network waits for. Then, lock released,
//!   [`drop_for_attach`] before the fd is sent.
//!
//! Capabilities are per thread: all of this runs before any thread exists.

use caps::{CapSet, Capability, CapsHashSet};
use nix::unistd::{getresgid, getresuid, setgroups, setresgid, setresuid, Gid, Uid};

use crate::error::{OrFail, Result};
use crate::sys;

/// Who called us, taken from the real ids at start-up.
#[derive(Debug, Clone)]
pub struct Caller {
    pub uid: Uid,
    pub gid: Gid,
    pub groups: Vec<Gid>,
    /// The kernel says this exec gained privileges (AT_SECURE) or euid != uid.
    pub elevated: bool,
}

impl Caller {
    pub fn is_root(&self) -> bool {
        self.uid.is_root()
    }

    /// Would the caller be allowed to read `path` by its permission bits?
    /// (What we may tell it about the file's contents.)
    pub fn may_read(&self, path: &std::path::Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        let Ok(md) = std::fs::metadata(path) else {
            return false;
        };
        let mode = md.mode();
        if self.is_root() {
            return true;
        }
        if md.uid() == self.uid.as_raw() {
            return mode & 0o400 != 0;
        }
        let in_group =
            md.gid() == self.gid.as_raw() || self.groups.iter().any(|g| g.as_raw() == md.gid());
        if in_group {
            return mode & 0o040 != 0;
        }
        mode & 0o004 != 0
    }
}

pub fn caller() -> Result<Caller> {
    let uids = getresuid().or_fail(|| "getresuid")?;
    let gids = getresgid().or_fail(|| "getresgid")?;
    let groups = sys::getgroups()
        .or_fail(|| "getgroups")?
        .into_iter()
        .map(Gid::from_raw)
        .collect();
    let elevated = sys::at_secure() || uids.real != uids.effective || gids.real != gids.effective;
    Ok(Caller {
        uid: uids.real,
        gid: gids.real,
        groups,
        elevated,
    })
}

/// Process-wide hygiene before anything else: not dumpable (no core file, no
/// ptrace or /proc/PID/fd by the caller's uid once we run as it).
pub fn harden_process() {
    let _ = nix::sys::prctl::set_dumpable(false);
}

/// If no_new_privs is set, the setuid bit was ignored at exec and nothing here
/// can work: say why, plainly, instead of failing later with EPERM.
pub fn check_no_new_privs(c: &Caller) -> Result<()> {
    // An exec that gained privileges (or a root caller) is fine whatever the
    // flag says: then there is nothing to ask the kernel.
    if c.elevated || c.is_root() {
        return Ok(());
    }
    let nnp = nix::sys::prctl::get_no_new_privs().unwrap_or(false);
    if nnp && !has_effective(Capability::CAP_NET_ADMIN) {
        return Err(fail!(
            "no_new_privs is set for this process (QEMU -sandbox elevateprivileges=children, systemd \
             NoNewPrivileges=, or a container), so the setuid bit was ignored and vnet-helper has \
             no privileges; caller uid {}",
            c.uid
        ));
    }
    Ok(())
}

fn has_effective(cap: Capability) -> bool {
    caps::has_cap(None, CapSet::Effective, cap).unwrap_or(false)
}

/// Can this process change uids at all (setuid root, or run by root)?
fn can_switch_ids() -> bool {
    getresuid()
        .map(|r| r.effective.is_root() || r.saved.is_root())
        .unwrap_or(false)
}

/// Some(euid is root) if this process can change uids at all (setuid root,
/// or run by root), from one getresuid.
fn switchable_euid_root() -> Option<bool> {
    let r = getresuid().ok()?;
    (r.effective.is_root() || r.saved.is_root()).then_some(r.effective.is_root())
}

/// Read files with the caller's permissions, keeping the saved uid 0 so that a
/// bring-up can follow (see the module comment).
pub fn act_as_caller(c: &Caller) -> Result<()> {
    if !can_switch_ids() {
        return Ok(());
    }
    // ruid = euid = caller, saved = 0. euid 0 -> caller clears the effective
    // capability set; permitted is kept for become_root().
    setresuid(c.uid, c.uid, Uid::from_raw(0)).or_fail(|| "switching to the caller's uid")?;
    harden_process(); // an euid change resets the dumpable flag
    Ok(())
}

/// Full root for the network bring-up (after the ACL granted the bridge).
pub fn become_root() -> Result<()> {
    let root = Uid::from_raw(0);
    setresuid(root, root, root).or_fail(|| "becoming root for the network bring-up")?;
    let g = Gid::from_raw(0);
    setresgid(g, g, g).or_fail(|| "setting gid 0 for the network bring-up")?;
    setgroups(&[]).or_fail(|| "clearing supplementary groups")?;
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    harden_process();
    Ok(())
}

/// Resource limits every child gets instead of the caller's (a caller with
/// `ulimit -n 12` must not cripple a shared dnsmasq): the usual Linux
/// defaults of a fresh login.
pub const DEFAULT_LIMITS: &[sys::Limit] = &[
    (libc::RLIMIT_CPU, libc::RLIM_INFINITY, libc::RLIM_INFINITY),
    (libc::RLIMIT_FSIZE, libc::RLIM_INFINITY, libc::RLIM_INFINITY),
    (libc::RLIMIT_DATA, libc::RLIM_INFINITY, libc::RLIM_INFINITY),
    (libc::RLIMIT_STACK, 8 << 20, libc::RLIM_INFINITY),
    (libc::RLIMIT_CORE, 0, libc::RLIM_INFINITY),
    (libc::RLIMIT_NOFILE, 1024, 524288),
    (libc::RLIMIT_AS, libc::RLIM_INFINITY, libc::RLIM_INFINITY),
    (libc::RLIMIT_NPROC, libc::RLIM_INFINITY, libc::RLIM_INFINITY),
    (libc::RLIMIT_MEMLOCK, 8 << 20, 8 << 20),
    (libc::RLIMIT_LOCKS, libc::RLIM_INFINITY, libc::RLIM_INFINITY),
    (libc::RLIMIT_SIGPENDING, 63535, 63535),
    (libc::RLIMIT_MSGQUEUE, 819200, 819200),
    (libc::RLIMIT_NICE, 0, 0),
    (libc::RLIMIT_RTPRIO, 0, 0),
    (
        libc::RLIMIT_RTTIME,
        libc::RLIM_INFINITY,
        libc::RLIM_INFINITY,
    ),
];

/// The root part of a managed-network attach is shared with every other user
/// of the host's networks: from here on nothing the caller did to its own
/// process may reach it. Its terminal's signals (^Z, ^C, hangup) are
/// ignored (kill(2) is already refused: all our uids are 0) and its
/// scheduling (policy, nice, I/O class, CPU affinity) is put back to a fresh
/// login's; [`reset_own_limits`] does the rest before anything is started.
/// sys::clean_child resets the same for children and gives each a session
/// of its own.
pub fn detach_from_caller() {
    sys::ignore_tty_signals();
    sys::reset_scheduling();
}

/// Before a bring-up (which runs tools and starts shared daemons): our own
/// resource limits back to the defaults, so a caller's `ulimit -n 12` cannot
/// break it. Not needed for a warm attach, which starts nothing.
pub fn reset_own_limits() {
    sys::reset_limits(DEFAULT_LIMITS);
    // The OOM score is inherited by the daemons started next; only root may
    // lower one the caller raised.
    let _ = std::fs::write("/proc/self/oom_score_adj", "0");
}

/// Root's uid, but only the capabilities the tap step (and the final drop
/// after it) needs; see the module comment.
pub fn narrow_for_tap() -> Result<()> {
    let keep = [
        Capability::CAP_NET_ADMIN,
        Capability::CAP_SETUID,
        Capability::CAP_SETGID,
    ];
    drop_bounding_except(Capability::CAP_NET_ADMIN)?;
    let set: CapsHashSet = keep.into_iter().collect();
    caps::clear(None, CapSet::Ambient).or_fail(|| "clearing ambient capabilities")?;
    caps::clear(None, CapSet::Inheritable).or_fail(|| "clearing inheritable capabilities")?;
    caps::set(None, CapSet::Effective, &set).or_fail(|| "setting effective capabilities")?;
    caps::set(None, CapSet::Permitted, &set).or_fail(|| "setting permitted capabilities")?;
    Ok(())
}

/// Remove every capability but `keep` from the bounding set (needs
/// CAP_SETPCAP unless there is nothing left to drop).
fn drop_bounding_except(keep: Capability) -> Result<()> {
    let bounding = caps::read(None, CapSet::Bounding).or_fail(|| "reading the bounding set")?;
    for cap in bounding {
        if cap != keep {
            caps::drop(None, CapSet::Bounding, cap).or_fail(|| "dropping the bounding set")?;
        }
    }
    Ok(())
}

/// The attach step's privileges: the caller's identity and CAP_NET_ADMIN,
/// irreversibly (qemu-bridge-helper's drop_privileges(), with the bounding
/// and ambient sets cleared too).
pub fn drop_for_attach(c: &Caller) -> Result<()> {
    let keep = Capability::CAP_NET_ADMIN;
    if let Some(euid_root) = switchable_euid_root() {
        // Back to euid 0 first if act_as_caller() lowered it: dropping the
        // bounding set needs CAP_SETPCAP.
        if !euid_root {
            setresuid(c.uid, Uid::from_raw(0), Uid::from_raw(0)).or_fail(|| "regaining euid 0")?;
        }
        // The bounding set is not cleared here. It only limits what an execve
        // could gain; after this drop the process is the caller's own uid,
        // which can already exec anything with the caller's own bounding set,
        // and it execs nothing. Clearing it would cost 40 credential commits
        // (4% of a call) and protect nothing. Where we stay uid 0,
        // narrow_for_tap() does clear it.
        nix::sys::prctl::set_keepcaps(true).or_fail(|| "PR_SET_KEEPCAPS")?;
        setgroups(&c.groups).or_fail(|| "restoring the caller's groups")?;
        setresgid(c.gid, c.gid, c.gid).or_fail(|| "switching to the caller's gid")?;
        setresuid(c.uid, c.uid, c.uid).or_fail(|| "switching to the caller's uid")?;
        nix::sys::prctl::set_keepcaps(false).or_fail(|| "PR_SET_KEEPCAPS")?;
    }
    // One capset: CAP_NET_ADMIN alone, effective and permitted, nothing
    // inheritable (the kernel then empties the ambient set too: it is a
    // subset of both). EPERM means we never had it.
    match sys::keep_only_capability(keep.index()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            return Err(fail!(
                "vnet-helper has no CAP_NET_ADMIN: it must be installed setuid root (mode 4755, \
                 see install.sh) or run by root; caller uid {}",
                c.uid
            ));
        }
        Err(e) => return Err(fail!("setting capabilities: {e}")),
    }
    harden_process();
    Ok(())
}

/// For commands that change the host (`up`, `down`): the REAL uid must be
/// root, whatever the setuid bit gives us.
pub fn require_real_root(c: &Caller, what: &str) -> Result<()> {
    if !c.is_root() {
        return Err(crate::error::Error::denied(format!(
            "`vnet-helper {what}' must be run by root (real uid 0); you are uid {}",
            c.uid
        )));
    }
    Ok(())
}

/// For read-only commands run by a user through the setuid bit: give up every
/// privilege for good before doing anything.
pub fn drop_all(c: &Caller) -> Result<()> {
    if can_switch_ids() && !c.is_root() {
        setgroups(&c.groups).or_fail(|| "restoring the caller's groups")?;
        setresgid(c.gid, c.gid, c.gid).or_fail(|| "switching to the caller's gid")?;
        setresuid(c.uid, c.uid, c.uid).or_fail(|| "switching to the caller's uid")?;
        harden_process();
    }
    Ok(())
}
