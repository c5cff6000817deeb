//! Writing to the terminal without ever panicking.
//!
//! std's `println!`/`eprintln!` panic when the write fails (a caller that closed
//! stdout or stderr). A setuid helper must not die on that, so every line we
//! print goes through these functions, which ignore write errors. The print
//! macros are not used anywhere else in the crate.

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
