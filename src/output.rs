//! Writing to the terminal without ever panicking.
//!
//! std's `println!`/`eprintln!` panic when the write fails (a caller that closed
//! stdout or stderr). A setuid helper must not die on that, so every line we
//! print goes through these functions, which ignore write errors. The print
//! macros are not used anywhere else in the crate.
//!
//! [`printable`] makes bytes from a file or the command line safe to echo in
//! those lines: no control characters (no line breaks, no terminal escapes),
//! no Unicode line or paragraph separators, no invisible formatting (bidi
//! overrides, zero-width characters). It is the one escaper: every message
//! that echoes input (arguments, ACL lines, definition keys and values,
//! command options) goes through it.

use std::io::Write;

/// Write one line to stderr, ignoring errors.
pub fn err_line(line: &str) {
    // One write(2) for the whole line: a reader that looks at a pipe at an
    // arbitrary moment (libvirt, when the --fd socket closes) sees all of it
    // or none of it, never the line without its end.
    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(&buf);
    let _ = e.flush();
}

/// When stderr is a pipe: wait, at most `limit`, until its reader has read
/// everything written to it, then end it (fd 2 becomes /dev/null, so the
/// reader sees end of file) and give the reader 10 ms. libvirt reads the
/// helper's stderr in a thread of its own, NUL-terminates what it read only
/// at end of file, and builds its error message the moment the --fd socket
/// closes: a line still in the pipe then is lost to the user, and one read but
/// not yet terminated comes out with heap garbage after it (libvirt 9.0).
pub fn hand_over_stderr(limit: std::time::Duration) {
    use std::os::fd::AsRawFd;
    use std::time::{Duration, Instant};
    let t0 = Instant::now();
    loop {
        match crate::sys::pipe_unread(2) {
            None => return,
            Some(0) => break,
            Some(_) if t0.elapsed() >= limit => break,
            Some(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = nix::unistd::dup2(null.as_raw_fd(), 2);
    }
    std::thread::sleep(Duration::from_millis(10));
}

/// Write text to stdout as-is, ignoring errors.
pub fn out(text: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(text.as_bytes());
    let _ = o.flush();
}

/// Bytes from a file or the command line made safe to print: non-printing
/// characters (see [`non_printing`]) and bytes that are not UTF-8 are written
/// as \xNN, byte by byte.
pub fn printable(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if non_printing(c) {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Characters that must not reach a terminal or a log as they are: C0 and C1
/// controls and DEL; U+2028/U+2029 (line and paragraph separators, which
/// some readers take as line breaks); and the invisible format characters
/// that can reorder or hide text (soft hyphen, zero-width characters, bidi
/// marks, embeddings, overrides and isolates, word joiners, BOM,
/// interlinear annotation).
pub fn non_printing(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{ad}'
                | '\u{61c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

/// `say!(...)`: formatted line on stderr, never panics.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => { $crate::output::err_line(&format!($($arg)*)) };
}

/// `show!(...)`: formatted text on stdout (caller adds newlines), never panics.
#[macro_export]
macro_rules! show {
    ($($arg:tt)*) => { $crate::output::out(&format!($($arg)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes() {
        assert_eq!(printable(b"br0"), "br0");
        assert_eq!(printable(b"a\tb\x7f\xff"), "a\\x09b\\x7f\\xff");
        assert_eq!(printable("\u{e9}\u{85}".as_bytes()), "\u{e9}\\xc2\\x85");
        // ESC sequences, NUL, line separators, bidi overrides, zero widths.
        assert_eq!(printable(b"a\x1b[2Jb\0c"), "a\\x1b[2Jb\\x00c");
        assert_eq!(
            printable("x\u{2028}y\u{2029}z".as_bytes()),
            "x\\xe2\\x80\\xa8y\\xe2\\x80\\xa9z"
        );
        assert_eq!(printable("a\u{202e}b".as_bytes()), "a\\xe2\\x80\\xaeb");
        assert_eq!(
            printable("\u{200b}\u{feff}".as_bytes()),
            "\\xe2\\x80\\x8b\\xef\\xbb\\xbf"
        );
        // Ordinary non-ASCII text is kept.
        assert_eq!(
            printable("caf\u{e9} \u{4e2d}\u{2013}".as_bytes()),
            "caf\u{e9} \u{4e2d}\u{2013}"
        );
    }
}
