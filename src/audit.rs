//! Audit trail: every grant and refusal (and every network bring-up and
//! teardown) goes to syslog, ident "vnet-helper", facility authpriv, with the
//! caller's uid and the bridge. Logging is best effort: without /dev/log (a
//! container, a namespace test) the call goes on unaffected.

use syslog::{Facility, Formatter3164};

fn send(err: bool, msg: &str) {
    let formatter = Formatter3164 {
        facility: Facility::LOG_AUTHPRIV,
        hostname: None,
        process: "vnet-helper".into(),
        pid: std::process::id(),
    };
    if let Ok(mut logger) = syslog::unix(formatter) {
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
