//! Writing to the terminal without ever panicking.
//!
//! std's `println!`/`eprintln!` panic when the write fails (a caller that closed
//! stdout or stderr). A setuid helper must not die on that, so every line we
//! print goes through these functions, which ignore write errors. The print
//! macros are not used anywhere else in the crate.
//!
//! [`printable`] makes bytes from a file or the command line safe to echo in
//! those lines: no control characters (no line breaks, no terminal escapes).

use std::io::Write;

/// Write one line to stderr, ignoring errors.
pub fn err_line(line: &str) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(line.as_bytes());
    let _ = e.write_all(b"\n");
    let _ = e.flush();
}

/// Write text to stdout as-is, ignoring errors.
pub fn out(text: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(text.as_bytes());
    let _ = o.flush();
}

/// Bytes from a file or the command line made safe to print: control
/// characters and bytes that are not UTF-8 are written as \xNN.
pub fn printable(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
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
    }
}
