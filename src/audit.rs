//! Audit trail: every grant and refusal (and every network bring-up and
//! teardown) goes to syslog, ident "vnet-helper", facility authpriv, with the
//! caller's uid and the bridge. Logging is best effort: without /dev/log (a
//! container, a namespace test) the call goes on unaffected.

use std::time::Duration;

use syslog::{Facility, Formatter3164, LoggerBackend};

fn send(err: bool, msg: &str) {
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
