//! The only module with `unsafe`: thin, safe wrappers around the few libc
//! calls and ioctls that neither std nor nix cover (in the manner of sudo-rs's
//! `system` layer). Each unsafe block says why it is sound.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, RawFd};
use std::os::unix::net::UnixStream;

/// Forget the whole environment of this process (libc's `environ`), without
/// reading it. Done first thing: nothing we or a library run afterwards can
/// see the caller's LD_*, PATH, TZ, locale or RUST_* variables, and children
/// start with exactly the environment we give them.
pub fn clear_environment() {
    // SAFETY: clearenv() only resets libc's `environ`; it is called at start-up
    // while the process is single-threaded, so no other thread reads it.
    unsafe {
        libc::clearenv();
    }
}

/// getauxval(AT_SECURE): the kernel's verdict that this exec gained privilege
/// (setuid, setgid or file capabilities), which euid != uid alone misses.
pub fn at_secure() -> bool {
    // SAFETY: getauxval has no preconditions and only reads the aux vector.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

/// Is `fd` an open descriptor of this process?
pub fn fd_is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD on any integer is harmless: it fails with EBADF if the
    // descriptor is not open and touches no memory.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

/// Set FD_CLOEXEC on every descriptor >= `from` (what the caller left open
/// must never reach a child we start, nor keep a tap alive). Without
/// close_range(2) (kernels before 5.11, or a seccomp filter the caller set up
/// that refuses it), every descriptor listed in /proc/self/fd is marked; if
/// neither works, the call fails rather than run with unknown descriptors.
pub fn cloexec_from(from: RawFd) -> io::Result<()> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only changes descriptor
    // flags; on kernels without it, it fails and we fall back below.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            from as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC as libc::c_uint,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd >= from)
        .collect();
    for fd in fds {
        // SAFETY: setting FD_CLOEXEC on a descriptor that may or may not be
        // open (the directory's own one is closed by now): fails harmlessly
        // with EBADF if it is not.
        unsafe {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
    Ok(())
}

/// Ignore the signals a terminal's driver sends to its foreground process
/// group whatever their uids (^Z, ^C, ^\, hangup, background reads and
/// writes): the caller controls that terminal, and a root process holding a
/// lock that other users wait for must not be stopped or killed through it.
/// Ignored, not blocked: a child inherits the dispositions until it has left
/// the session (clean_child), whereas std empties a child's signal mask
/// before our pre-exec code runs, and a stopped child would hold our locks'
/// descriptors.
pub fn ignore_tty_signals() {
    for sig in [
        libc::SIGTSTP,
        libc::SIGTTIN,
        libc::SIGTTOU,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGHUP,
    ] {
        // SAFETY: setting a disposition to SIG_IGN touches no memory and
        // installs no handler.
        unsafe {
            libc::signal(sig, libc::SIG_IGN);
        }
    }
}

/// Put this process's scheduling back to a fresh login's: SCHED_OTHER, nice
/// 0, the default I/O priority, every CPU allowed (a cpuset cgroup still
/// narrows it). Needs root for a caller's lower settings to be undone.
/// Allocation-free and async-signal-safe (also used between fork and exec).
pub fn reset_scheduling() {
    // SAFETY: each call passes only plain values or pointers to structs on
    // our stack, of the size given; none retains them.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        libc::sched_setscheduler(0, libc::SCHED_OTHER, &param);
        libc::setpriority(libc::PRIO_PROCESS, 0, 0);
        // ioprio_set(IOPRIO_WHO_PROCESS, self, IOPRIO_CLASS_NONE << 13): the
        // default, derived from the nice value.
        libc::syscall(
            libc::SYS_ioprio_set,
            1 as libc::c_int,
            0 as libc::c_int,
            0 as libc::c_int,
        );
        let mut all: libc::cpu_set_t = std::mem::zeroed();
        std::ptr::write_bytes(&mut all, 0xff, 1);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &all);
    }
}

/// Borrow a descriptor number given on the command line, after checking it
/// is open. The borrow is tied to the process lifetime: we never close it.
pub fn borrow_open_fd(fd: RawFd) -> Option<BorrowedFd<'static>> {
    if fd < 0 || !fd_is_open(fd) {
        return None;
    }
    // SAFETY: the descriptor is open (checked above) and nothing in this
    // process closes it before exit, so the 'static borrow stays valid.
    Some(unsafe { BorrowedFd::borrow_raw(fd) })
}

/// Take ownership of the --fd socket to send on. The caller must have
/// checked it is an AF_UNIX stream socket (see fdpass.rs).
pub fn unix_stream_from_fd(fd: BorrowedFd<'static>) -> UnixStream {
    // SAFETY: `fd` is open and is an AF_UNIX stream socket (checked by the
    // caller); nothing else owns it in this process, and the UnixStream is
    // the only owner from here on.
    unsafe { UnixStream::from_raw_fd(fd.as_raw_fd()) }
}

const IFNAMSIZ: usize = libc::IFNAMSIZ;

/// struct ifreq as TUNSETIFF/TUNGETIFF and SIOCGIFHWADDR use it: a name
/// followed by a union; we only use its first bytes (flags or a sockaddr).
#[repr(C)]
struct IfReq {
    name: [u8; IFNAMSIZ],
    data: [u8; 24],
}

impl IfReq {
    fn new() -> IfReq {
        IfReq {
            name: [0; IFNAMSIZ],
            data: [0; 24],
        }
    }
    fn name(&self) -> String {
        let end = self.name.iter().position(|&b| b == 0).unwrap_or(IFNAMSIZ);
        String::from_utf8_lossy(&self.name[..end]).into_owned()
    }
}

const TUNSETIFF: libc::c_ulong = 0x4004_54ca; // _IOW('T', 202, int)
const TUNGETFEATURES: libc::c_ulong = 0x8004_54cf; // _IOR('T', 207, unsigned int)
pub const IFF_TAP: u16 = 0x0002;
pub const IFF_NO_PI: u16 = 0x1000;
pub const IFF_VNET_HDR: u16 = 0x4000;

/// TUNGETFEATURES: the IFF_* flags this kernel's tun driver supports.
pub fn tun_features(tun: &File) -> io::Result<u32> {
    let mut features: libc::c_uint = 0;
    // SAFETY: TUNGETFEATURES writes one unsigned int through the pointer,
    // which points to a live, properly aligned c_uint.
    let r = unsafe { libc::ioctl(tun.as_raw_fd(), TUNGETFEATURES, &mut features) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(features)
}

/// The bytes written to the pipe on `fd` that its reader has not read yet;
/// None if `fd` is not a pipe (FIONREAD means something else on a tty).
pub fn pipe_unread(fd: RawFd) -> Option<usize> {
    let st = nix::sys::stat::fstat(fd).ok()?;
    if st.st_mode & libc::S_IFMT != libc::S_IFIFO {
        return None;
    }
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the pointer, which points to a
    // live, properly aligned c_int.
    let r = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    (r == 0).then(|| usize::try_from(n).unwrap_or(0))
}

/// TUNSETIFF with a kernel-chosen name pattern (e.g. "tap%d"); returns the
/// name the kernel gave the new interface.
pub fn tun_set_iff(tun: &File, pattern: &str, flags: u16) -> io::Result<String> {
    let mut req = IfReq::new();
    let p = pattern.as_bytes();
    if p.len() >= IFNAMSIZ {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    req.name[..p.len()].copy_from_slice(p);
    req.data[..2].copy_from_slice(&flags.to_ne_bytes());
    // SAFETY: TUNSETIFF reads and writes a struct ifreq; IfReq is repr(C),
    // 40 bytes like struct ifreq, and lives for the duration of the call.
    let r = unsafe { libc::ioctl(tun.as_raw_fd(), TUNSETIFF, &mut req) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(req.name())
}

/// SIOCGIFHWADDR on the tun descriptor: the tap's current MAC address.
pub fn tun_hwaddr(tun: &File) -> io::Result<[u8; 6]> {
    let mut req = IfReq::new();
    // SAFETY: the tun driver fills the sockaddr in the ifreq union; IfReq is
    // a live repr(C) struct of the size the kernel expects.
    let r = unsafe { libc::ioctl(tun.as_raw_fd(), libc::SIOCGIFHWADDR, &mut req) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // struct sockaddr: sa_family (2 bytes), then the address bytes.
    let mut mac = [0u8; 6];
    mac.copy_from_slice(&req.data[2..8]);
    Ok(mac)
}

/// One resource limit to impose on a child: (RLIMIT_*, soft, hard).
pub type Limit = (libc::__rlimit_resource_t, libc::rlim_t, libc::rlim_t);

/// Set each resource limit to its default; where raising a hard limit is
/// refused (CAP_SYS_RESOURCE, which some hosts withhold even from root), keep
/// the hard limit and bring the soft one as close to the default as it
/// allows. Allocation-free and async-signal-safe (also used between fork and
/// exec).
pub fn reset_limits(limits: &[Limit]) {
    for &(resource, soft, hard) in limits {
        let lim = libc::rlimit {
            rlim_cur: soft,
            rlim_max: hard,
        };
        // SAFETY: setrlimit/getrlimit only read or write the rlimit structs
        // on our stack.
        unsafe {
            if libc::setrlimit(resource, &lim) != 0 {
                let mut cur = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                if libc::getrlimit(resource, &mut cur) == 0 {
                    let lim = libc::rlimit {
                        rlim_cur: soft.min(cur.rlim_max),
                        rlim_max: cur.rlim_max,
                    };
                    libc::setrlimit(resource, &lim);
                }
            }
        }
    }
}

/// Make `cmd`'s child start clean of everything the caller could have set on
/// us that exec keeps: signal dispositions and the blocked-signal mask (an
/// ignored or blocked SIGTERM would survive exec), resource limits (`limits`
/// replaces them), umask, scheduling (policy, nice value, I/O priority, CPU
/// affinity), and the session, process group and controlling terminal (its
/// own session: the caller's terminal cannot signal it).
///
/// `keep` is a descriptor the child inherits after all (its close-on-exec
/// flag is cleared in the child only): a lock the child then holds too,
/// until it exits.
pub fn clean_child(cmd: &mut std::process::Command, limits: &'static [Limit], keep: Option<RawFd>) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the child between fork and exec and only
    // calls reset_for_exec, which is async-signal-safe and allocates nothing.
    unsafe {
        cmd.pre_exec(move || reset_for_exec(limits, keep));
    }
}

/// The clean slate of `clean_child`, in a child between fork and exec. Only
/// async-signal-safe system calls (setsid, signal, sigprocmask, setrlimit,
/// umask, sched_setscheduler, setpriority, ioprio_set, sched_setaffinity,
/// fcntl) on stack data; no allocation.
fn reset_for_exec(limits: &'static [Limit], keep: Option<RawFd>) -> io::Result<()> {
    // First out of the caller's session and process group: only then may the
    // terminal's signals (ignored until here) stop us again.
    // SAFETY: setsid takes no arguments.
    if unsafe { libc::setsid() } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: dispositions set to SIG_DFL (no handler installed) and a
    // sigset_t on our stack, initialised by sigemptyset before use.
    unsafe {
        for sig in 1..libc::SIGRTMAX() {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
    }
    reset_limits(limits);
    // SAFETY: umask takes a plain value.
    unsafe { libc::umask(0o022) };
    reset_scheduling();
    if let Some(fd) = keep {
        // SAFETY: clearing a descriptor's flags touches no memory; EBADF if
        // it is not open.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Start `argv[0]` (an absolute path) with arguments `argv`, an empty
/// environment, cwd /, `stdio` as its stdin, stdout and stderr, and the clean
/// slate of `clean_child` (with `limits`), without waiting for its exec: std's
/// spawn blocks until the child has exec'd, and on a busy machine a new
/// process may wait milliseconds for a CPU while we could go on. Nobody
/// learns why an exec failed: the child exits with status 127 (126 if its
/// set-up failed), which the caller sees as the child's early end. Its
/// parent must not wait for it by accident (we never do: the children
/// started this way outlive us and are reaped by init).
pub fn spawn_unwaited(
    argv: &[std::ffi::CString],
    stdio: [BorrowedFd<'_>; 3],
    limits: &'static [Limit],
) -> io::Result<u32> {
    let Some(program) = argv.first() else {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    };
    // Everything the child needs is made before the fork: it allocates
    // nothing.
    let args: Vec<*const libc::c_char> = argv
        .iter()
        .map(|a| a.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let env: [*const libc::c_char; 1] = [std::ptr::null()];
    let fds = stdio.map(|f| f.as_raw_fd());
    // SAFETY: fork is safe to call; the child (other threads of ours do not
    // exist in it) only makes async-signal-safe calls on memory made before
    // the fork (dup2, chdir, reset_for_exec, execve, _exit) and never
    // returns, so no Rust state of the parent is used or dropped twice.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        // SAFETY: in the child, as said above; dup2, chdir and execve get
        // descriptors and pointers to NUL-terminated strings and arrays that
        // live until exec.
        0 => unsafe {
            for (target, fd) in (0..).zip(fds) {
                if libc::dup2(fd, target) < 0 {
                    libc::_exit(126);
                }
            }
            if libc::chdir(c"/".as_ptr()) < 0 || reset_for_exec(limits, None).is_err() {
                libc::_exit(126);
            }
            libc::execve(program.as_ptr(), args.as_ptr(), env.as_ptr());
            libc::_exit(127)
        },
        pid => Ok(pid as u32),
    }
}

/// pidfd_open(2): a descriptor that becomes readable when process `pid`
/// exits, whoever its parent is (the supervisor watches a dnsmasq that
/// daemonized, or that an earlier supervisor started). Close-on-exec.
pub fn pidfd_open(pid: u32) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd as _;
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or
    // -1; no memory is passed.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0 as libc::c_uint) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this new descriptor (O_CLOEXEC is
    // implied for pidfds); we are its only owner.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as RawFd) })
}

/// A pidfd for `pid`, registered with the current tokio runtime so the
/// supervisor can await the process's exit. Must be called inside a runtime.
pub fn async_pidfd(pid: u32) -> io::Result<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>> {
    async_fd(pidfd_open(pid)?)
}

/// Any descriptor we own, registered with the current tokio runtime (e.g. a
/// duplicate of a socket another object reads from), so its readiness can
/// be awaited. Must be called inside a runtime.
pub fn async_fd(
    fd: std::os::fd::OwnedFd,
) -> io::Result<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>> {
    // SAFETY: an OwnedFd is an open descriptor that stays open, and its
    // as_raw_fd() returns the same number, for as long as the AsyncFd owns it
    // (tokio's requirement for register).
    unsafe { tokio::io::unix::AsyncFd::register(fd) }.map_err(|e| e.into_parts().1)
}

/// A socket for the classic interface ioctls (SIOCGIFMTU, SIOCBRADDIF...),
/// which is what qemu-bridge-helper uses: cheaper than building and parsing
/// rtnetlink messages on the attach path.
pub struct IfSock(std::os::fd::OwnedFd);

const SIOCBRADDIF: libc::c_ulong = 0x89a2;

impl IfSock {
    pub fn open() -> io::Result<IfSock> {
        use std::os::fd::FromRawFd as _;
        // SAFETY: socket(2) takes no pointers; the result is checked.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a new descriptor that nothing else owns.
        Ok(IfSock(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }))
    }

    fn ioctl(&self, request: libc::c_ulong, name: &str, data: &[u8]) -> io::Result<IfReq> {
        let mut req = IfReq::new();
        let n = name.as_bytes();
        if n.is_empty() || n.len() >= IFNAMSIZ {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        req.name[..n.len()].copy_from_slice(n);
        req.data[..data.len()].copy_from_slice(data);
        // SAFETY: every request used here reads and/or writes a struct ifreq;
        // IfReq is repr(C) with the size of struct ifreq and outlives the call.
        let r = unsafe { libc::ioctl(self.0.as_raw_fd(), request, &mut req) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(req)
    }

    fn int(req: &IfReq) -> i32 {
        i32::from_ne_bytes([req.data[0], req.data[1], req.data[2], req.data[3]])
    }

    pub fn mtu(&self, name: &str) -> io::Result<u32> {
        Ok(Self::int(&self.ioctl(libc::SIOCGIFMTU, name, &[])?) as u32)
    }

    pub fn set_mtu(&self, name: &str, mtu: u32) -> io::Result<()> {
        self.ioctl(libc::SIOCSIFMTU, name, &(mtu as i32).to_ne_bytes())
            .map(|_| ())
    }

    pub fn index(&self, name: &str) -> io::Result<i32> {
        Ok(Self::int(&self.ioctl(libc::SIOCGIFINDEX, name, &[])?))
    }

    pub fn set_ether_addr(&self, name: &str, mac: [u8; 6]) -> io::Result<()> {
        let mut sa = [0u8; 8];
        sa[..2].copy_from_slice(&(libc::ARPHRD_ETHER).to_ne_bytes());
        sa[2..].copy_from_slice(&mac);
        self.ioctl(libc::SIOCSIFHWADDR, name, &sa).map(|_| ())
    }

    /// SIOCBRADDIF: enslave interface `index` to `bridge` (EOPNOTSUPP if
    /// `bridge` is not a bridge).
    pub fn bridge_add(&self, bridge: &str, index: i32) -> io::Result<()> {
        self.ioctl(SIOCBRADDIF, bridge, &index.to_ne_bytes())
            .map(|_| ())
    }

    pub fn set_up(&self, name: &str) -> io::Result<()> {
        let cur = self.ioctl(libc::SIOCGIFFLAGS, name, &[])?;
        let flags = i16::from_ne_bytes([cur.data[0], cur.data[1]]) | libc::IFF_UP as i16;
        self.ioctl(libc::SIOCSIFFLAGS, name, &flags.to_ne_bytes())
            .map(|_| ())
    }
}

/// The C entry point (`#![no_main]` in main.rs): std's runtime set-up is
/// skipped. What it would do is done by `start` itself or not needed: fds 0-2
/// are checked there, SIGPIPE is ignored here (a vanished QEMU gives EPIPE,
/// an error, not a silent death; children get SIG_DFL back in clean_child),
/// and argv still reaches std::env::args (glibc hands it to std's init hook).
/// The end is _exit: nothing is left to flush (output.rs flushes every
/// write; no C stdio is used) and no exit handler of ours exists, so std's
/// and libc's exit-time work (locks, stdio walk, destructor lists) is skipped.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    // SAFETY: setting a signal disposition to SIG_IGN touches no memory.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let code = crate::start();
    // SAFETY: _exit ends the process without returning; no Rust object is
    // used afterwards, and everything written has been flushed (see above).
    unsafe { libc::_exit(code) }
}

/// capset(2) once: capability `cap` alone as the effective and permitted
/// sets, an empty inheritable set (which also empties the ambient set). EPERM
/// if `cap` is not in the permitted set now.
pub fn keep_only_capability(cap: u8) -> io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522; // _LINUX_CAPABILITY_VERSION_3: two Data
    let mut data = [Data::default(); 2];
    let bit = 1u32 << (cap % 32);
    data[usize::from(cap / 32)] = Data {
        effective: bit,
        permitted: bit,
        inheritable: 0,
    };
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    // SAFETY: capset reads a header and two data structs of the layout above
    // (version 3), all on our stack and alive for the call.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// getgroups(2) without glibc's sysconf(NGROUPS_MAX), which opens a /proc
/// file on every call.
pub fn getgroups() -> io::Result<Vec<libc::gid_t>> {
    // SAFETY: with size 0 getgroups only returns the count.
    let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut groups = vec![0 as libc::gid_t; n as usize];
    // SAFETY: the buffer holds exactly `n` gid_t, the size passed.
    let m = unsafe { libc::getgroups(n, groups.as_mut_ptr()) };
    if m < 0 {
        return Err(io::Error::last_os_error());
    }
    groups.truncate(m as usize);
    Ok(groups)
}
