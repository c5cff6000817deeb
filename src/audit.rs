//! Audit trail: every grant and refusal (and every network bring-up and
//! teardown) goes to syslog, ident "vnet-helper", facility authpriv, with the
//! caller's uid and the bridge. Logging is best effort: without /dev/log (a
//! container, a namespace test) the call goes on unaffected.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, SystemTime};

use nix::errno::Errno;
use nix::sys::socket::{sendto, socket, AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr};

const SYSLOG_SOCKET: &str = "/dev/log";
const LOG_AUTHPRIV: u8 = 10 << 3;
const LOG_ERR: u8 = 3;
const LOG_INFO: u8 = 6;

/// One datagram to /dev/log, in the classic BSD form glibc's syslog(3)
/// writes (`<PRI>Mmm dd hh:mm:ss vnet-helper[PID]: MESSAGE`, UTC): a socket
/// and one sendto, no connect. Never blocks on a syslog daemon that is stuck
/// or slow (QEMU waits for our exit): non-blocking, a datagram that does not
/// fit is dropped. A /dev/log that is a stream socket gets a connection with
/// a short write timeout and a NUL-terminated message.
fn send(err: bool, msg: &str) {
    let pri = LOG_AUTHPRIV | if err { LOG_ERR } else { LOG_INFO };
    let line = format!(
        "<{pri}>{} vnet-helper[{}]: {msg}",
        timestamp(SystemTime::now()),
        std::process::id()
    );
    let Ok(sock) = socket(
        AddressFamily::Unix,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    ) else {
        return;
    };
    let Ok(addr) = UnixAddr::new(SYSLOG_SOCKET) else {
        return;
    };
    if sendto(
        sock.as_raw_fd(),
        line.as_bytes(),
        &addr,
        MsgFlags::MSG_NOSIGNAL,
    ) == Err(Errno::EPROTOTYPE)
    {
        drop(sock);
        if let Ok(mut stream) = UnixStream::connect(SYSLOG_SOCKET) {
            let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
            let _ = stream.write_all(line.as_bytes());
            let _ = stream.write_all(&[0]);
        }
    }
}

/// `Mmm dd hh:mm:ss` in UTC (what the syslog crate wrote before).
fn timestamp(t: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // The civil calendar from days since 1970-01-01 (H. Hinnant's algorithm),
    // month and day only.
    let z = days + 719_468;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    format!(
        "{} {day:02} {:02}:{:02}:{:02}",
        MONTHS[(month - 1) as usize],
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
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

#[cfg(test)]
mod tests {
    use super::timestamp;
    use std::time::{Duration, SystemTime};

    fn at(secs: u64) -> String {
        timestamp(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn timestamps_are_bsd_syslog_utc() {
        assert_eq!(at(0), "Jan 01 00:00:00");
        // 2000-02-29 23:59:59 (a leap day of a century leap year)
        assert_eq!(at(951_868_799), "Feb 29 23:59:59");
        // 2100-03-01 00:00:00 (2100 is not a leap year)
        assert_eq!(at(4_107_542_400), "Mar 01 00:00:00");
        // 2024-12-31 12:34:56
        assert_eq!(at(1_735_648_496), "Dec 31 12:34:56");
    }
}
