//! Audit trail: every grant and refusal (and every network bring-up and
//! teardown) goes to syslog, ident "vnet-helper", facility authpriv, with the
//! caller's uid and the bridge. Logging is best effort: without /dev/log (a
//! container, a namespace test) the call goes on unaffected.
//!
//! One exception: a supervisor that systemd runs as its unit (and the
//! unit's ExecStop) writes its lines to its stderr, the unit's journal
//! stream (`to_journal_stream`). journald files a syslog datagram under the sender's unit by reading
//! /proc/PID/cgroup when it gets to it; a supervisor that logs "torn down
//! after idle timeout" and exits is often gone by then, and the line is
//! missing from `systemctl status vnet-helper@NAME`. A stream is filed
//! under its unit when systemd connects it. The unit sets the same
//! identifier and facility (dist/vnet-helper@.service); the level is the
//! line's `<N>` prefix.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use syslog::{Facility, Formatter3164, LoggerBackend};

/// Set once by a supervisor that runs as its systemd unit.
static JOURNAL_STREAM: AtomicBool = AtomicBool::new(false);

/// Send this process's lines to its stderr instead of syslog, if systemd
/// runs it for network `name`'s unit vnet-helper@NAME.service (the
/// supervisor, or `down` as its ExecStop): its cgroup is that unit's and
/// its stderr a socket (the journal's; an admin's `StandardError=`
/// elsewhere keeps syslog). The socket is made non-blocking: a stuck journald drops a
/// line, as it would drop a datagram, instead of stalling the supervisor.
pub fn to_journal_stream(name: &str) {
    let unit = format!("/vnet-helper@{name}.service");
    let in_unit = std::fs::read_to_string("/proc/self/cgroup")
        .is_ok_and(|cg| cg.lines().any(|l| l.ends_with(&unit)));
    let stderr = std::io::stderr();
    let socket = nix::sys::stat::fstat(stderr.as_raw_fd())
        .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFSOCK);
    if in_unit && socket {
        let nonblocking = fcntl(stderr.as_raw_fd(), FcntlArg::F_GETFL).and_then(|flags| {
            let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
            fcntl(stderr.as_raw_fd(), FcntlArg::F_SETFL(flags))
        });
        JOURNAL_STREAM.store(nonblocking.is_ok(), Ordering::Relaxed);
    }
}

fn send(err: bool, msg: &str) {
    if JOURNAL_STREAM.load(Ordering::Relaxed) {
        // One write per line (stderr is unbuffered), LOG_ERR or LOG_INFO;
        // a newline in a reason would start a journal entry of its own.
        let line = format!("<{}>{}\n", if err { 3 } else { 6 }, msg.replace('\n', " "));
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
        return;
    }
    let formatter = Formatter3164 {
        facility: Facility::LOG_AUTHPRIV,
        hostname: None,
        process: "vnet-helper".into(),
        pid: std::process::id(),
    };
    // Linux has one syslog socket; the crate would also try BSD and macOS
    // paths when it is missing (two more socket+connect per call).
    if let Ok(mut logger) = syslog::unix_custom(formatter, "/dev/log") {
        // Never block on a syslog daemon that is stuck or slow: QEMU waits for
        // our exit. A datagram that does not fit is dropped; a stream socket
        // gets a short timeout.
        match &logger.backend {
            LoggerBackend::Unix(sock) => {
                let _ = sock.set_nonblocking(true);
            }
            LoggerBackend::UnixStream(w) => {
                let _ = w
                    .get_ref()
                    .set_write_timeout(Some(Duration::from_millis(100)));
            }
            _ => {}
        }
        let _ = if err {
            logger.err(msg)
        } else {
            logger.info(msg)
        };
    }
}

pub fn granted(uid: u32, bridge: &str, tap: &str) {
    send(
        false,
        &format!("granted: uid={uid} bridge={bridge} tap={tap}"),
    );
}

pub fn refused(uid: u32, bridge: &str, reason: &str) {
    send(
        true,
        &format!("refused: uid={uid} bridge={bridge} reason={reason}"),
    );
}

/// An attach that was allowed (or not yet decided) but could not be done.
pub fn failed(uid: u32, bridge: &str, reason: &str) {
    send(
        true,
        &format!("failed: uid={uid} bridge={bridge} reason={reason}"),
    );
}

pub fn network(uid: u32, bridge: &str, event: &str) {
    send(
        false,
        &format!("network: uid={uid} bridge={bridge} {event}"),
    );
}

pub fn network_failed(uid: u32, bridge: &str, reason: &str) {
    send(
        true,
        &format!("network failed: uid={uid} bridge={bridge} reason={reason}"),
    );
}

/// A user network created or deleted (`event` says which, with details).
pub fn user_network(uid: u32, name: &str, event: &str) {
    send(
        false,
        &format!("user network: uid={uid} name={name} {event}"),
    );
}

/// A refused (or failed) create or delete of a user network. `name` is
/// shown escaped: it may not have passed the name rule.
pub fn user_network_refused(uid: u32, name: &str, reason: &str) {
    send(
        true,
        &format!(
            "user network refused: uid={uid} name={} reason={reason}",
            field(name)
        ),
    );
}

/// A caller's string as one field of an audit line: escaped (no control
/// character) and without spaces, so that `net create 'x uid=0 name=vu-a'`
/// cannot forge fields that a reader of the log would take for ours.
fn field(s: &str) -> String {
    crate::output::printable(s.as_bytes()).replace(' ', "\\x20")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_callers_name_is_one_field() {
        assert_eq!(super::field("vu-a"), "vu-a");
        assert_eq!(
            super::field("x uid=0 name=vu-b\n"),
            "x\\x20uid=0\\x20name=vu-b\\x0a"
        );
    }
}
