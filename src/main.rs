//! vnet-helper: the setuid-root helper an unprivileged QEMU runs to get a tap
//! on a host bridge (`-nic bridge,br=NAME,helper=/usr/libexec/vnet-helper`).
//!
//! The data path of one attach call, in order:
//!   arguments (args) -> which kind of bridge NAME is: an admin network (the
//!   ACL decides, read with the caller's permissions), a user network (its
//!   owner decides: usernet::access, which may also auto-create it) or a
//!   plain bridge (the ACL decides, as qemu-bridge-helper)
//!   -> network ensured if NAME is a network (network: definition,
//!   lock, bridge, firewall, dnsmasq) -> tap made and attached (tap)
//!   -> fd sent (fdpass) -> audit line (audit).
//! Each privilege change is a call into `privileges`; all `unsafe` is in `sys`.

// The process starts at sys::main (the C entry point), not through std's
// runtime set-up, which costs a call several syscalls for things done here
// anyway (see sys::main). Unit tests keep std's harness.
#![cfg_attr(not(test), no_main)]
// Output goes through output.rs (say!/show!), which never panics on a closed
// stdout or stderr.
#![deny(clippy::print_stdout, clippy::print_stderr)]

#[macro_use]
mod error;
#[macro_use]
mod output;
mod acl;
mod args;
mod audit;
mod commands;
mod dbus;
mod fdpass;
#[cfg(test)]
mod fuzz;
mod ifname;
mod mac;
mod netaddr;
mod network;
mod paths;
mod privileges;
mod safe_file;
// The only module allowed to hold unsafe code; see Cargo.toml [lints].
#[allow(unsafe_code)]
mod sys;
mod tap;
mod usernet;

use args::{AttachRequest, Invocation};
use error::{Kind, Result};
use privileges::Caller;
use std::os::unix::net::UnixStream;

/// Called by sys::main.
pub fn start() -> i32 {
    // Before anything else: forget the caller's environment (never read it),
    // make sure a panic prints one plain line (std's hook reads RUST_BACKTRACE),
    // occupy fds 0-2, and mark every inherited descriptor close-on-exec.
    sys::clear_environment();
    std::panic::set_hook(Box::new(|info| {
        output::err_line(&format!("vnet-helper: internal error: {info}"));
    }));
    ensure_standard_fds();
    if let Err(e) = sys::cloexec_from(3) {
        say!("vnet-helper: cannot mark inherited descriptors close-on-exec: {e}");
        return 1;
    }
    privileges::harden_process();

    let code = match run() {
        Ok(code) => code,
        Err(e) => {
            say!("vnet-helper: {e}");
            1
        }
    };
    code
}

/// The caller may have closed 0, 1 or 2: put /dev/null there so that no file
/// we open (the tap, a socket) can land on them. (glibc has already done so
/// when the exec gained privileges, AT_SECURE.)
fn ensure_standard_fds() {
    if sys::at_secure() {
        return;
    }
    for fd in 0..=2 {
        if !sys::fd_is_open(fd) {
            // Lowest free descriptor: this fills the hole. Deliberately leaked.
            if let Ok(f) = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
            {
                std::mem::forget(f);
            }
        }
    }
}

fn run() -> Result<i32> {
    let mut argv = Vec::new();
    for a in std::env::args_os() {
        argv.push(
            a.into_string()
                .map_err(|_| fail!("an argument is not valid UTF-8"))?,
        );
    }
    let caller = privileges::caller()?;
    match args::parse(&argv, commands::exists) {
        Ok(Invocation::Attach(req)) => Ok(attach(&req, &caller)),
        Ok(Invocation::Help) => {
            show!("{}\n", args::USAGE);
            Ok(0)
        }
        Ok(Invocation::Version) => {
            show!("vnet-helper {}\n", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        Ok(Invocation::Command(name, rest)) => commands::run(&name, &rest, &caller),
        // One line, as the protocol promises (libvirt shows it verbatim);
        // the usage is for --help.
        Err(e) => Err(fail!("{e} (see vnet-helper --help)")),
    }
}

/// One attach call, the whole data path; its exit status. Every outcome is
/// audited. A refusal's line is on stderr before the --fd socket closes:
/// libvirt reads stderr the moment it sees the socket close.
fn attach(req: &AttachRequest, caller: &Caller) -> i32 {
    let uid = caller.uid.as_raw();
    let sock = fdpass::socket(req.fd);
    let result = match &sock {
        Ok(sock) => attach_steps(req, caller, sock),
        Err(e) => Err(e.clone()),
    };
    if let Err(e) = &result {
        say!("vnet-helper: {e}");
        output::hand_over_stderr(std::time::Duration::from_millis(50));
    }
    drop(sock);
    match &result {
        Ok(tap) => audit::granted(uid, &req.bridge, tap),
        Err(e) if e.kind() == Kind::Denied => audit::refused(uid, &req.bridge, e.message()),
        Err(e) => audit::failed(uid, &req.bridge, e.message()),
    }
    i32::from(result.is_err())
}

fn attach_steps(req: &AttachRequest, caller: &Caller, sock: &UnixStream) -> Result<String> {
    privileges::check_no_new_privs(caller)?;

    // A network may need a bring-up as root after the ACL (admin network) or
    // the owner check (user network) says yes; a plain bridge never needs
    // more than CAP_NET_ADMIN, so drop to that now.
    let tap = if is_network(&req.bridge, caller)? {
        let network_lock = network::ensure(&req.bridge, caller)?;
        privileges::narrow_for_tap()?;
        let tap = tap::create_on_bridge(&req.bridge, req.vnet_hdr, tap::HostIpv6::Off)?;
        // The tap is a port of the bridge now: a teardown waiting for the
        // lock will see it.
        drop(network_lock);
        privileges::drop_for_attach(caller)?;
        tap
    } else {
        privileges::drop_for_attach(caller)?;
        acl::check(&req.bridge)?;
        tap::create_on_bridge(&req.bridge, req.vnet_hdr, tap::HostIpv6::Kept)?
    };
    fdpass::send(sock, &tap.file)?;
    Ok(tap.name)
}

/// Is bridge `name` a network (admin-defined, or a user network the caller
/// may use), the caller granted it? Then we are root and detached from the
/// caller. If not, nothing was decided yet: bridge.conf decides.
fn is_network(name: &str, caller: &Caller) -> Result<bool> {
    if network::definitions::admin_path(name).is_some() {
        privileges::act_as_caller(caller)?;
        acl::check(name)?;
        privileges::become_root()?;
        privileges::detach_from_caller();
        return Ok(true);
    }
    if !usernet::access::may_apply(name) {
        return Ok(false);
    }
    // Decided as root (the policy and records are root's files), detached
    // first so that the caller cannot stop us while we hold a lock.
    privileges::become_root()?;
    privileges::detach_from_caller();
    Ok(usernet::access::decide(name, caller)? == usernet::access::Attach::UserNetwork)
}
