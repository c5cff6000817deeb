//! The one error type of vnet-helper: a single human-readable line, and what
//! kind of outcome it is.
//!
//! Every failure the helper can report ends up as one line on stderr (QEMU and
//! libvirt show it to the user verbatim) and one line in syslog, so an error is
//! that line. Build one with `fail!("...")` (something failed) or
//! `Error::denied` (a policy refused the call: the audit trail tells the two
//! apart); add context with `.context()`; join independent failures with
//! [`all`].

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    msg: String,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A policy said no (the ACL, a root-only command): refused, not broken.
    Denied,
    /// Anything else: bad input, or a system call or tool that failed.
    Failed,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(msg: impl Into<String>) -> Error {
        // Never let a message span lines: the protocol promises one line.
        let msg: String = msg.into();
        let msg = msg.replace(['\n', '\r'], " ");
        Error {
            msg,
            kind: Kind::Failed,
        }
    }

    /// A refusal by policy.
    pub fn denied(msg: impl Into<String>) -> Error {
        Error {
            kind: Kind::Denied,
            ..Error::new(msg)
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Prefix the message with where it happened, "what: message".
    pub fn context(self, what: impl fmt::Display) -> Error {
        Error {
            kind: self.kind,
            ..Error::new(format!("{what}: {}", self.msg))
        }
    }

    /// This error followed by a second one that came of it: "first; second".
    pub fn and(self, then: impl fmt::Display) -> Error {
        Error {
            kind: self.kind,
            ..Error::new(format!("{}; {then}", self.msg))
        }
    }

    pub fn message(&self) -> &str {
        &self.msg
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

/// `fail!("format", args)` builds an `Error`.
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => { $crate::error::Error::new(format!($($arg)*)) };
}

/// Extension to attach a description to io/nix errors: `res.or_fail(|| "opening X")`.
pub trait OrFail<T> {
    fn or_fail<D: fmt::Display>(self, what: impl FnOnce() -> D) -> Result<T>;
}

impl<T, E: fmt::Display> OrFail<T> for std::result::Result<T, E> {
    fn or_fail<D: fmt::Display>(self, what: impl FnOnce() -> D) -> Result<T> {
        self.map_err(|e| Error::new(format!("{}: {e}", what())))
    }
}

/// The outcome of several independent steps (a teardown, an undo) as one:
/// Ok if every step succeeded, else every failure, in order, in one line.
pub fn all(results: impl IntoIterator<Item = Result<()>>) -> Result<()> {
    let failures: Vec<String> = results
        .into_iter()
        .filter_map(|r| r.err().map(|e| e.msg))
        .collect();
    match failures.is_empty() {
        true => Ok(()),
        false => Err(Error::new(failures.join("; "))),
    }
}
