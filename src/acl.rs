//! The bridge ACL, /etc/qemu/bridge.conf: parsing it and deciding whether the
//! caller may attach to a bridge.
//!
//! The grammar and the decision are those of QEMU's qemu-bridge-helper
//! (`parse_acl_file` and `main` in qemu-bridge-helper.c), so existing files keep
//! meaning exactly what they meant:
//!
//! * each line: leading whitespace skipped; empty or `#` lines skipped;
//!   whitespace is GLib's `g_ascii_isspace` (space, \t, \n, \f, \r; not \v);
//! * the command ends at the first space, or if there is none at the first tab;
//!   no separator at all is an invalid line;
//! * the argument has leading and trailing whitespace removed (CRLF works);
//! * `allow NAME`, `deny NAME`, `allow all`, `deny all`, `include PATH`; an
//!   `allow`/`deny` (or unknown command) whose argument is 16 bytes or more is
//!   invalid (`name `X' too long: N`), any other command is invalid;
//! * an invalid main file refuses everything; a problem in an included file is
//!   reported and ignored: the include does not invalidate the including file,
//!   and the rules read from the included file before the problem are kept;
//! * a matching `deny` wins over any `allow`; without a matching `allow` the
//!   answer is no;
//! * as with C strings, a NUL byte ends the line.
//!
//! * lines are read as qemu reads them, with `fgets` into 4096 bytes: a line
//!   longer than 4095 bytes is cut there, and the rest is parsed as a line of
//!   its own (`#` + 4094 x's + `deny br0` is a comment and a deny, in both).
//!
//! Hardening on top of that: every message names the file (and line); every
//! file read must be a regular file owned by root and not writable by group or
//! others (checked on the opened descriptor); include paths must be absolute.
//! Lines are bytes: a name that is not UTF-8 is kept as bytes and compared as
//! bytes.
//!
//! Fail closed: a limit or check of ours never turns a refusal into a grant.
//! Ignoring a file could drop a `deny`, so where qemu would read a file that
//! we will not (an insecure file, one over [`MAX_FILE_SIZE`], an include cycle,
//! nesting deeper than [`MAX_INCLUDE_DEPTH`], more than [`MAX_FILES`] files),
//! the whole ACL is refused and the call fails, naming the file and the line.
//! Only what qemu itself ignores is ignored: an include that cannot be opened
//! (missing, not permitted, a directory) and the rest of an included file
//! after an invalid line.
//!
//! File access goes through [`AclFiles`] so the whole logic is testable without
//! /etc; [`SystemFiles`] is the real one. The files are opened with whatever
//! identity the process has when this runs (the caller's, in the helper), which
//! is what makes per-user include files readable by one group only work.
//!
//! One parser serves both [`load`] (what the helper does: stop a file at its
//! first error, as qemu does) and [`validate`] (for a `check` command: keep
//! going and report every problem in every file).

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::ifname::{self, IFNAMSIZ};
use crate::output::printable;
use crate::safe_file::{self, Refused, Symlinks};

/// The ACL file the helper reads (fixed at compile time, as in qemu).
pub const DEFAULT_ACL_FILE: &str = crate::paths::ACL_FILE;

/// How many levels of `include` below the main file are followed.
pub const MAX_INCLUDE_DEPTH: usize = 8;

/// Largest ACL file read, in bytes.
pub const MAX_FILE_SIZE: u64 = 1 << 20;

/// Most files (main file and includes together) read for one decision.
pub const MAX_FILES: usize = 1024;

/// qemu's line buffer: `fgets(line, 4096, f)` reads at most 4095 bytes.
pub const MAX_LINE: usize = 4095;

/// Why an ACL file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The caller may not open it (EACCES). For an included file this is the
    /// normal way of restricting it to one group, so the helper keeps quiet.
    Denied,
    /// It cannot be opened or read, as qemu's fopen/fgets would fail too:
    /// "No such file or directory", "Is a directory". An include is ignored.
    Failed(String),
    /// Our own check refused a file qemu would read ("refusing: owned by uid
    /// 1000, not root"): the whole ACL is refused (fail closed).
    Refused(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Denied => f.write_str("Permission denied"),
            ReadError::Failed(reason) | ReadError::Refused(reason) => f.write_str(reason),
        }
    }
}

/// Access to the ACL files (the real file system, or a fake in tests).
pub trait AclFiles {
    /// The whole content of the file at `path`.
    fn read(&self, path: &Path) -> std::result::Result<Vec<u8>, ReadError>;
}

/// The real file system, with the ownership and mode checks
/// (`safe_file`; symbolic links are followed, as qemu follows them).
pub struct SystemFiles;

impl AclFiles for SystemFiles {
    fn read(&self, path: &Path) -> std::result::Result<Vec<u8>, ReadError> {
        safe_file::read_root_owned(path, Symlinks::Follow, MAX_FILE_SIZE).map_err(|r| match r {
            Refused::Open(e) | Refused::Io(e) => io_reason(e),
            // qemu reads a directory as an empty file; a FIFO or a device
            // it would block on or read without end.
            Refused::NotRegular if path.is_dir() => {
                ReadError::Failed("refusing: not a regular file".to_string())
            }
            Refused::NotRegular => ReadError::Refused("refusing: not a regular file".to_string()),
            Refused::NotRoot { uid } => {
                ReadError::Refused(format!("refusing: owned by uid {uid}, not root"))
            }
            Refused::Writable { mode } => ReadError::Refused(format!(
                "refusing: writable by group or others (mode {mode:04o})"
            )),
            Refused::TooLarge { .. } => {
                ReadError::Refused(format!("refusing: larger than {MAX_FILE_SIZE} bytes"))
            }
        })
    }
}

/// An io error as a reason: the bare strerror text, without "(os error N)".
fn io_reason(e: std::io::Error) -> ReadError {
    match e.raw_os_error() {
        Some(libc::EACCES) => ReadError::Denied,
        Some(code) => ReadError::Failed(nix::errno::Errno::from_raw(code).desc().to_string()),
        None => ReadError::Failed(e.to_string()),
    }
}

/// One `allow`/`deny` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    AllowAll,
    Allow(Vec<u8>),
    DenyAll,
    Deny(Vec<u8>),
}

/// All rules of the main file and its includes, in the order they were read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    pub rules: Vec<Rule>,
}

/// The answer for one bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// An allow rule matches and no deny rule does.
    Granted,
    /// A deny rule matches (whatever the allow rules say).
    Denied,
    /// No rule matches: the default is to refuse.
    NotAllowed,
}

impl Acl {
    /// qemu's decision: any matching deny refuses, else any matching allow
    /// grants, else refuse. Names compare byte for byte.
    pub fn decide(&self, bridge: impl AsRef<[u8]>) -> Decision {
        let bridge = bridge.as_ref();
        let mut allowed = false;
        for rule in &self.rules {
            match rule {
                Rule::DenyAll => return Decision::Denied,
                Rule::Deny(name) if name.as_slice() == bridge => return Decision::Denied,
                Rule::AllowAll => allowed = true,
                Rule::Allow(name) if name.as_slice() == bridge => allowed = true,
                Rule::Deny(_) | Rule::Allow(_) => {}
            }
        }
        if allowed {
            Decision::Granted
        } else {
            Decision::NotAllowed
        }
    }
}

/// How much a problem matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The main file is invalid (or unreadable), or a check or limit of ours
    /// refused a file qemu would read: the helper refuses every bridge.
    Fatal,
    /// A failed include, or an error in an included file: reported, and the
    /// include (from that line on) is ignored.
    Ignored,
    /// Valid for qemu-bridge-helper but surely a mistake (a rule that can never
    /// match, such as `deny all # comment`, or a line that qemu's buffer cuts
    /// in two). Only [`validate`] reports these.
    Suspicious,
}

/// One thing wrong with the ACL files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file it is in (printable form of the path).
    pub file: String,
    /// The line, 1-based; None for a file that cannot be read at all.
    pub line: Option<usize>,
    pub message: String,
    pub severity: Severity,
    /// The file could not be opened for lack of permission (see [`ReadError::Denied`]).
    pub denied: bool,
}

impl Problem {
    /// The problem without the file name: "line 3: Unknown command `alow'".
    pub fn detail(&self) -> String {
        match self.line {
            Some(n) => format!("line {n}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(n) => write!(f, "{}:{n}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Read the main ACL file `main` and its includes into an [`Acl`], as
/// qemu-bridge-helper does. An unreadable or invalid main file is an error
/// ("failed to parse default acl file `MAIN': line 3: ..."); every ignored
/// problem of an include is passed to `warn` (see [`Problem::denied`] for the
/// ones the helper does not print).
pub fn load(
    files: &dyn AclFiles,
    main: impl AsRef<Path>,
    warn: &mut dyn FnMut(&Problem),
) -> Result<Acl> {
    let main = main.as_ref();
    let mut fatal: Option<Problem> = None;
    let mut report = |p: &Problem| {
        if p.severity == Severity::Fatal {
            if fatal.is_none() {
                fatal = Some(p.clone());
            }
        } else {
            warn(p);
        }
    };
    let mut walker = Walker::new(files, Mode::Load, &mut report);
    walker.file(main, None);
    let rules = walker.rules;
    let shown = show_path(main);
    match fatal {
        // In the main file: "line 3: ..."; elsewhere "FILE:LINE: ...".
        Some(p) if p.file == shown => Err(fail!(
            "failed to parse default acl file `{shown}': {}",
            p.detail()
        )),
        Some(p) => Err(fail!("failed to parse default acl file `{shown}': {p}")),
        None => Ok(Acl { rules }),
    }
}

/// Check the main ACL file `main` and every file it includes, passing every
/// problem to `report` (unlike [`load`], which stops a file at its first
/// error), including [`Severity::Suspicious`] rules. Returns true when there
/// was nothing to report.
pub fn validate(
    files: &dyn AclFiles,
    main: impl AsRef<Path>,
    report: &mut dyn FnMut(&Problem),
) -> bool {
    let main = main.as_ref();
    let mut clean = true;
    let mut each = |p: &Problem| {
        clean = false;
        report(p);
    };
    let mut walker = Walker::new(files, Mode::Validate, &mut each);
    walker.validated.insert(main.to_path_buf());
    walker.file(main, None);
    clean
}

/// What the helper calls: may the caller attach to `bridge` according to
/// [`DEFAULT_ACL_FILE`]? Include problems are printed as warnings, except
/// includes the caller is not permitted to read (that is how per-user include
/// files work, and qemu is silent about them too).
pub fn check(bridge: &str) -> Result<()> {
    let acl = load(&SystemFiles, DEFAULT_ACL_FILE, &mut |p: &Problem| {
        if !p.denied {
            say!("warning: {p}");
        }
    })?;
    let why = match acl.decide(bridge) {
        Decision::Granted => return Ok(()),
        Decision::Denied => "a deny rule matches it",
        Decision::NotAllowed => "no allow rule matches it",
    };
    Err(crate::error::Error::denied(format!(
        "access denied by acl file `{DEFAULT_ACL_FILE}' for bridge `{}': {why}",
        printable(bridge.as_bytes())
    )))
}

/// What one line says.
#[derive(Debug, PartialEq, Eq)]
enum Line<'a> {
    /// Empty or comment.
    Blank,
    Rule(Rule),
    Include(&'a [u8]),
    /// The line makes its file invalid.
    Error(String),
    /// A line qemu accepts and we refuse (a relative include): the whole ACL
    /// is refused, wherever it is, as ignoring the rest of an included file
    /// could drop a `deny`.
    Refused(String),
}

/// Whitespace as qemu-bridge-helper sees it: `g_ascii_isspace`, that is
/// space, \t, \n, \f and \r, but not \v (which C `isspace` would include).
/// Rust's `is_ascii_whitespace` is exactly that set.
fn is_space(b: u8) -> bool {
    b.is_ascii_whitespace()
}

fn trim_start(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_space(b)).unwrap_or(s.len());
    &s[start..]
}

fn trim_end(s: &[u8]) -> &[u8] {
    let end = s.iter().rposition(|&b| !is_space(b)).map_or(0, |i| i + 1);
    &s[..end]
}

/// The grammar: one line (without its '\n') of an ACL file.
fn parse_line(raw: &[u8]) -> Line<'_> {
    // qemu handles lines as C strings: a NUL byte ends the line.
    let raw = match raw.iter().position(|&b| b == 0) {
        Some(nul) => &raw[..nul],
        None => raw,
    };
    let rest = trim_start(raw);
    if rest.is_empty() || rest[0] == b'#' {
        return Line::Blank;
    }
    // First space; only if there is none, first tab (so "allow\tbr0 x" has
    // the command "allow\tbr0").
    let split = rest
        .iter()
        .position(|&b| b == b' ')
        .or_else(|| rest.iter().position(|&b| b == b'\t'));
    let Some(split) = split else {
        return Line::Error(format!(
            "Invalid config line `{}' (no space or tab after the command)",
            printable(trim_end(rest))
        ));
    };
    let cmd = &rest[..split];
    let arg = trim_end(trim_start(&rest[split + 1..]));
    // Checked before looking at the command, as qemu does.
    if cmd != b"include" && arg.len() >= IFNAMSIZ {
        return Line::Error(format!("name `{}' too long: {}", printable(arg), arg.len()));
    }
    match cmd {
        b"allow" if arg == b"all" => Line::Rule(Rule::AllowAll),
        b"allow" => Line::Rule(Rule::Allow(arg.to_vec())),
        b"deny" if arg == b"all" => Line::Rule(Rule::DenyAll),
        b"deny" => Line::Rule(Rule::Deny(arg.to_vec())),
        // An empty path names no file: qemu's fopen("") fails and the
        // include is ignored, so it is ignored here too (with a warning).
        b"include" if arg.is_empty() || arg.first() == Some(&b'/') => Line::Include(arg),
        b"include" => Line::Refused(format!("include path `{}' is not absolute", printable(arg))),
        _ => Line::Error(format!("Unknown command `{}'", printable(cmd))),
    }
}

/// The lines of an ACL file as qemu's `fgets(line, 4096, f)` returns them:
/// each up to and including its '\n', but at most [`MAX_LINE`] bytes, so a
/// longer line comes in pieces. Yields (line number, piece without its '\n',
/// whether the piece was cut).
fn fgets_lines(data: &[u8]) -> impl Iterator<Item = (usize, &[u8], bool)> {
    let mut rest = data;
    let mut line = 1;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let limit = rest.len().min(MAX_LINE);
        let (piece, next_line, cut) = match rest[..limit].iter().position(|&b| b == b'\n') {
            Some(nl) => (&rest[..=nl], line + 1, false),
            None => (
                &rest[..limit],
                line,
                rest.get(MAX_LINE).is_some_and(|&b| b != b'\n'),
            ),
        };
        let number = line;
        line = next_line;
        rest = &rest[piece.len()..];
        Some((number, piece.strip_suffix(b"\n").unwrap_or(piece), cut))
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// As the helper: a file stops at its first error, and everything stops
    /// at the first fatal problem.
    Load,
    /// As a checker: everything is read and reported.
    Validate,
}

/// Reads a main file and its includes, collecting rules and reporting problems.
struct Walker<'a, 'r> {
    files: &'a dyn AclFiles,
    mode: Mode,
    rules: Vec<Rule>,
    /// The files being read, main file first: the include chain.
    chain: Vec<PathBuf>,
    /// How many files were read (or tried).
    opened: usize,
    /// Validate mode: files already checked (each is reported once).
    validated: BTreeSet<PathBuf>,
    /// Load mode: a fatal problem was found, nothing more is read.
    stopped: bool,
    report: &'r mut dyn FnMut(&Problem),
}

impl<'a, 'r> Walker<'a, 'r> {
    fn new(files: &'a dyn AclFiles, mode: Mode, report: &'r mut dyn FnMut(&Problem)) -> Self {
        Walker {
            files,
            mode,
            rules: Vec::new(),
            chain: Vec::new(),
            opened: 0,
            validated: BTreeSet::new(),
            stopped: false,
            report,
        }
    }

    /// Pass a problem on; in load mode a fatal one stops the walk.
    fn problem(&mut self, p: Problem) {
        if p.severity == Severity::Fatal && self.mode == Mode::Load {
            self.stopped = true;
        }
        (self.report)(&p);
    }

    /// Read one file (the main file when `included_from` is None), appending
    /// its rules; returns whether it was valid.
    fn file(&mut self, path: &Path, included_from: Option<(&str, usize)>) -> bool {
        let name = show_path(path);
        let main = self.chain.is_empty();
        self.opened += 1;
        let data = match self.files.read(path) {
            Ok(data) => data,
            Err(e) => {
                let fatal = main || matches!(e, ReadError::Refused(_));
                let message = match included_from {
                    None => e.to_string(),
                    Some((parent, line)) if fatal => format!("{e} (included from {parent}:{line})"),
                    Some((parent, line)) => {
                        format!("{e} (included from {parent}:{line}; include ignored)")
                    }
                };
                self.problem(Problem {
                    file: name,
                    line: None,
                    message,
                    severity: if fatal {
                        Severity::Fatal
                    } else {
                        Severity::Ignored
                    },
                    denied: e == ReadError::Denied,
                });
                return false;
            }
        };
        self.chain.push(path.to_path_buf());
        let valid = self.lines(&name, main, &data);
        self.chain.pop();
        valid
    }

    /// The lines of one file; returns whether they were all valid.
    fn lines(&mut self, name: &str, main: bool, data: &[u8]) -> bool {
        let mut valid = true;
        for (line, raw, cut) in fgets_lines(data) {
            if self.stopped {
                break;
            }
            if cut && self.mode == Mode::Validate {
                self.problem(Problem {
                    file: name.to_string(),
                    line: Some(line),
                    message: format!("line longer than {MAX_LINE} bytes: as in qemu-bridge-helper, the rest is read as a line of its own"),
                    severity: Severity::Suspicious,
                    denied: false,
                });
            }
            match parse_line(raw) {
                Line::Blank => {}
                Line::Rule(rule) => {
                    if self.mode == Mode::Validate {
                        self.lint(name, line, &rule);
                    }
                    self.rules.push(rule);
                }
                Line::Include(target) => self.include(name, line, target),
                Line::Refused(message) => {
                    valid = false;
                    self.problem(Problem {
                        file: name.to_string(),
                        line: Some(line),
                        message,
                        severity: Severity::Fatal,
                        denied: false,
                    });
                }
                Line::Error(message) => {
                    valid = false;
                    let message = if main {
                        message
                    } else {
                        format!("{message} (rest of this included file ignored)")
                    };
                    self.problem(Problem {
                        file: name.to_string(),
                        line: Some(line),
                        message,
                        severity: if main {
                            Severity::Fatal
                        } else {
                            Severity::Ignored
                        },
                        denied: false,
                    });
                    if self.mode == Mode::Load {
                        break;
                    }
                }
            }
        }
        valid
    }

    /// An `include` line of `parent`: read the target unless refused. An
    /// include we refuse but qemu would read refuses the whole ACL.
    fn include(&mut self, parent: &str, line: usize, target: &[u8]) {
        let path = Path::new(OsStr::from_bytes(target));
        let refusal = if target.is_empty() {
            // qemu's fopen("") fails: ignored there too.
            let message = "include `' ignored: empty path".to_string();
            Some((message, Severity::Ignored))
        } else if self.chain.iter().any(|p| p == path) {
            Some((
                format!(
                    "include cycle: `{}' is already being read",
                    printable(target)
                ),
                Severity::Fatal,
            ))
        } else if self.chain.len() > MAX_INCLUDE_DEPTH {
            Some((
                format!(
                    "include `{}': includes nested more than {MAX_INCLUDE_DEPTH} levels deep",
                    printable(target)
                ),
                Severity::Fatal,
            ))
        } else if self.opened >= MAX_FILES {
            Some((
                format!(
                    "include `{}': more than {MAX_FILES} files to read",
                    printable(target)
                ),
                Severity::Fatal,
            ))
        } else {
            None
        };
        if let Some((message, severity)) = refusal {
            self.problem(Problem {
                file: parent.to_string(),
                line: Some(line),
                message,
                severity,
                denied: false,
            });
            return;
        }
        if self.mode == Mode::Validate && !self.validated.insert(path.to_path_buf()) {
            return; // already checked and reported once
        }
        // Errors in an included file never invalidate the including file.
        let _ = self.file(path, Some((parent, line)));
    }

    /// Validate mode: report a rule that can never match anything.
    fn lint(&mut self, file: &str, line: usize, rule: &Rule) {
        let (kind, name) = match rule {
            Rule::Allow(name) => ("allow", name),
            Rule::Deny(name) => ("deny", name),
            Rule::AllowAll | Rule::DenyAll => return,
        };
        if let Some(why) = ifname::kernel_refuses(name) {
            (self.report)(&Problem {
                file: file.to_string(),
                line: Some(line),
                message: format!(
                    "`{kind} {}' can never match a bridge ({why}); this rule has no effect",
                    printable(name)
                ),
                severity: Severity::Suspicious,
                denied: false,
            });
        }
    }
}

fn show_path(path: &Path) -> String {
    printable(path.as_os_str().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const MAIN: &str = "/etc/qemu/bridge.conf";

    /// ACL files in memory; a missing path is "No such file or directory".
    #[derive(Default)]
    struct Fake(HashMap<PathBuf, std::result::Result<Vec<u8>, ReadError>>);

    impl Fake {
        fn new(files: &[(&str, &[u8])]) -> Fake {
            let mut fake = Fake::default();
            for (path, content) in files {
                fake.0.insert(PathBuf::from(path), Ok(content.to_vec()));
            }
            fake
        }
        fn main(content: &[u8]) -> Fake {
            Fake::new(&[(MAIN, content)])
        }
        fn with(mut self, path: &str, content: &[u8]) -> Fake {
            self.0.insert(PathBuf::from(path), Ok(content.to_vec()));
            self
        }
        fn denied(mut self, path: &str) -> Fake {
            self.0.insert(PathBuf::from(path), Err(ReadError::Denied));
            self
        }
    }

    impl AclFiles for Fake {
        fn read(&self, path: &Path) -> std::result::Result<Vec<u8>, ReadError> {
            match self.0.get(path) {
                Some(entry) => entry.clone(),
                None => Err(ReadError::Failed("No such file or directory".to_string())),
            }
        }
    }

    /// Load that must succeed: the ACL and the warnings.
    fn load_ok(fake: &Fake) -> (Acl, Vec<Problem>) {
        let mut warnings = Vec::new();
        let acl = load(fake, MAIN, &mut |p: &Problem| warnings.push(p.clone()))
            .unwrap_or_else(|e| panic!("load failed: {e}"));
        (acl, warnings)
    }

    /// Load that must fail: the message.
    fn load_err(fake: &Fake) -> String {
        match load(fake, MAIN, &mut |_: &Problem| {}) {
            Ok(acl) => panic!("load succeeded: {acl:?}"),
            Err(e) => e.message().to_string(),
        }
    }

    fn rules(content: &[u8]) -> Vec<Rule> {
        let (acl, warnings) = load_ok(&Fake::main(content));
        assert!(warnings.is_empty(), "{warnings:?}");
        acl.rules
    }

    fn allow(name: &str) -> Rule {
        Rule::Allow(name.as_bytes().to_vec())
    }

    fn deny(name: &str) -> Rule {
        Rule::Deny(name.as_bytes().to_vec())
    }

    fn decide(content: &[u8], bridge: &str) -> Decision {
        load_ok(&Fake::main(content)).0.decide(bridge)
    }

    fn problems(fake: &Fake) -> (bool, Vec<Problem>) {
        let mut all = Vec::new();
        let clean = validate(fake, MAIN, &mut |p: &Problem| all.push(p.clone()));
        (clean, all)
    }

    #[test]
    fn allow_and_deny_names_and_all() {
        assert_eq!(
            rules(b"allow br0\ndeny br1\nallow all\ndeny all\n"),
            vec![allow("br0"), deny("br1"), Rule::AllowAll, Rule::DenyAll]
        );
        assert_eq!(decide(b"allow br0\n", "br0"), Decision::Granted);
        assert_eq!(decide(b"allow br0\n", "br1"), Decision::NotAllowed);
        assert_eq!(decide(b"allow br0\n", "br"), Decision::NotAllowed);
        assert_eq!(decide(b"allow br0\n", "br00"), Decision::NotAllowed);
        assert_eq!(decide(b"allow all\n", "anything"), Decision::Granted);
        assert_eq!(decide(b"allow all\ndeny br1\n", "br1"), Decision::Denied);
        assert_eq!(decide(b"allow all\ndeny br1\n", "br2"), Decision::Granted);
        assert_eq!(decide(b"allow br0\ndeny all\n", "br0"), Decision::Denied);
        // Case-sensitive names and keywords.
        assert_eq!(decide(b"allow BR0\n", "br0"), Decision::NotAllowed);
        assert_eq!(decide(b"allow ALL\n", "br0"), Decision::NotAllowed);
        assert_eq!(rules(b"allow ALL\n"), vec![allow("ALL")]);
        assert!(load_err(&Fake::main(b"Allow br0\n")).contains("Unknown command `Allow'"));
    }

    #[test]
    fn deny_beats_allow_in_any_order() {
        for content in [
            &b"allow br0\ndeny br0\n"[..],
            b"deny br0\nallow br0\n",
            b"deny all\nallow br0\n",
            b"allow br0\ndeny all\n",
            b"allow all\ndeny br0\n",
            b"deny br0\nallow all\n",
        ] {
            assert_eq!(decide(content, "br0"), Decision::Denied, "{content:?}");
        }
    }

    #[test]
    fn default_deny() {
        assert_eq!(decide(b"", "br0"), Decision::NotAllowed);
        assert_eq!(decide(b"# nothing\n\n", "br0"), Decision::NotAllowed);
        assert_eq!(decide(b"deny br1\n", "br0"), Decision::NotAllowed);
        assert_eq!(Acl::default().decide("br0"), Decision::NotAllowed);
    }

    #[test]
    fn comments_blank_lines_and_whitespace() {
        let content = b"# comment\n\n   \n\t# indented comment\n \x0c\r\n\r  allow   br0  \n\tdeny\tbr1\t\n#allow br2\nallow br3 # trailing\n";
        assert_eq!(
            rules(content),
            vec![allow("br0"), deny("br1"), allow("br3 # trailing")]
        );
        // No final newline.
        assert_eq!(rules(b"allow br0"), vec![allow("br0")]);
        // Whitespace between the argument's words is kept.
        assert_eq!(rules(b"allow a  b\n"), vec![allow("a  b")]);
        // Form feed is whitespace, vertical tab is not (g_ascii_isspace, as
        // the real qemu-bridge-helper behaves).
        assert_eq!(rules(b"\x0callow br0\x0c\n"), vec![allow("br0")]);
        assert_eq!(rules(b"allow br0\x0b\n"), vec![allow("br0\x0b")]);
        assert_eq!(rules(b"allow \x0bbr0\n"), vec![allow("\x0bbr0")]);
        let err = load_err(&Fake::main(b"\x0b\n"));
        assert!(
            err.ends_with(
                "line 1: Invalid config line `\\x0b' (no space or tab after the command)"
            ),
            "{err}"
        );
        let err = load_err(&Fake::main(b"\x0ballow br0\n"));
        assert!(
            err.ends_with("line 1: Unknown command `\\x0ballow'"),
            "{err}"
        );
        let err = load_err(&Fake::main(b"allow\x0bbr0\n"));
        assert!(err.contains("Invalid config line"), "{err}");
        // Bytes above ASCII are never whitespace.
        assert_eq!(
            rules(b"allow br0\xa0\n"),
            vec![Rule::Allow(b"br0\xa0".to_vec())]
        );
    }

    #[test]
    fn separators() {
        // Tab alone.
        assert_eq!(rules(b"allow\tbr0\n"), vec![allow("br0")]);
        // Space then tab: the argument is trimmed.
        assert_eq!(rules(b"allow \tbr0\n"), vec![allow("br0")]);
        // Tab then space: qemu splits at the space, so the command is "allow\t".
        let err = load_err(&Fake::main(b"allow\t br0\n"));
        assert!(
            err.ends_with("line 1: Unknown command `allow\\x09'"),
            "{err}"
        );
        // A space anywhere on the line wins over an earlier tab: the command
        // is then "allow\tbr0", unknown.
        let err = load_err(&Fake::main(b"allow\tbr0 x\n"));
        assert!(
            err.contains("line 1: Unknown command `allow\\x09br0'"),
            "{err}"
        );
    }

    #[test]
    fn crlf_endings() {
        assert_eq!(
            rules(b"# c\r\nallow br0\r\ndeny all\r\n\r\n"),
            vec![allow("br0"), Rule::DenyAll]
        );
        assert_eq!(decide(b"allow br0\r\n", "br0"), Decision::Granted);
    }

    #[test]
    fn command_without_argument_is_invalid() {
        for content in [
            &b"allow\n"[..],
            b"allow",
            b"allow\r\n",
            b"  deny\n",
            b"include\n",
        ] {
            let err = load_err(&Fake::main(content));
            assert!(
                err.starts_with("failed to parse default acl file `/etc/qemu/bridge.conf': line 1: Invalid config line"),
                "{err}"
            );
        }
        // With a separator, the argument may be empty: a name that matches no bridge.
        assert_eq!(rules(b"allow \t\n"), vec![allow("")]);
        assert_eq!(rules(b"deny \n"), vec![deny("")]);
        assert_eq!(decide(b"allow \n", "br0"), Decision::NotAllowed);
    }

    #[test]
    fn unknown_command_in_main_file_fails_naming_file_and_line() {
        let err = load_err(&Fake::main(b"allow br0\n# c\nalow br1\n"));
        assert_eq!(
            err,
            "failed to parse default acl file `/etc/qemu/bridge.conf': line 3: Unknown command `alow'"
        );
        let (clean, all) = problems(&Fake::main(b"allow br0\n# c\nalow br1\n"));
        assert!(!clean);
        assert_eq!(all.len(), 1);
        assert_eq!(
            all[0].to_string(),
            "/etc/qemu/bridge.conf:3: Unknown command `alow'"
        );
        assert_eq!(all[0].severity, Severity::Fatal);
    }

    #[test]
    fn unknown_command_in_include_is_ignored_with_a_warning() {
        let fake = Fake::main(b"allow br0\ninclude /etc/qemu/a.conf\nallow br9\n").with(
            "/etc/qemu/a.conf",
            b"allow br1\ndeny br2\nbogus br3\nallow br4\n",
        );
        let (acl, warnings) = load_ok(&fake);
        // Rules of the include before its error are kept, the rest is not;
        // the including file carries on.
        assert_eq!(
            acl.rules,
            vec![allow("br0"), allow("br1"), deny("br2"), allow("br9")]
        );
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].file, "/etc/qemu/a.conf");
        assert_eq!(warnings[0].line, Some(3));
        assert_eq!(warnings[0].severity, Severity::Ignored);
        assert!(!warnings[0].denied);
        assert!(
            warnings[0]
                .to_string()
                .starts_with("/etc/qemu/a.conf:3: Unknown command `bogus'"),
            "{}",
            warnings[0]
        );
        assert_eq!(acl.decide("br1"), Decision::Granted);
        assert_eq!(acl.decide("br2"), Decision::Denied);
        assert_eq!(acl.decide("br4"), Decision::NotAllowed);
        assert_eq!(acl.decide("br9"), Decision::Granted);
    }

    #[test]
    fn name_length_limit() {
        let fifteen = "a23456789012345";
        assert_eq!(
            rules(format!("allow {fifteen}\n").as_bytes()),
            vec![allow(fifteen)]
        );
        assert_eq!(
            rules(format!("deny {fifteen}\n").as_bytes()),
            vec![deny(fifteen)]
        );
        let sixteen = "a234567890123456";
        for cmd in ["allow", "deny"] {
            let err = load_err(&Fake::main(format!("{cmd} {sixteen}\n").as_bytes()));
            assert_eq!(
                err,
                format!("failed to parse default acl file `/etc/qemu/bridge.conf': line 1: name `{sixteen}' too long: 16")
            );
        }
        // Trailing whitespace does not count.
        assert_eq!(
            rules(format!("allow {fifteen} \r\n").as_bytes()),
            vec![allow(fifteen)]
        );
        // As in qemu the length is checked before the command.
        let err = load_err(&Fake::main(format!("alow {sixteen}\n").as_bytes()));
        assert!(
            err.ends_with(&format!("name `{sixteen}' too long: 16")),
            "{err}"
        );
        // Not for include paths.
        let long = "/etc/qemu/a-rather-long-include-file-name.conf";
        let (acl, warnings) =
            load_ok(&Fake::main(format!("include {long}\n").as_bytes()).with(long, b"allow br7\n"));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(acl.rules, vec![allow("br7")]);
    }

    #[test]
    fn unreadable_includes_are_ignored() {
        let fake = Fake::main(
            b"include /etc/qemu/alice.conf\ninclude /etc/qemu/missing.conf\nallow br0\n",
        )
        .denied("/etc/qemu/alice.conf");
        let (acl, warnings) = load_ok(&fake);
        assert_eq!(acl.rules, vec![allow("br0")]);
        assert_eq!(warnings.len(), 2);
        assert!(warnings[0].denied);
        assert_eq!(
            warnings[0].to_string(),
            "/etc/qemu/alice.conf: Permission denied (included from /etc/qemu/bridge.conf:1; include ignored)"
        );
        assert!(!warnings[1].denied);
        assert_eq!(
            warnings[1].to_string(),
            "/etc/qemu/missing.conf: No such file or directory (included from /etc/qemu/bridge.conf:2; include ignored)"
        );
        // The same file readable: its rules count.
        let fake = Fake::main(b"include /etc/qemu/alice.conf\n")
            .with("/etc/qemu/alice.conf", b"allow alice0\n");
        assert_eq!(load_ok(&fake).0.decide("alice0"), Decision::Granted);
    }

    #[test]
    fn unreadable_main_file_fails() {
        let fake = Fake::default().denied(MAIN);
        assert_eq!(
            load_err(&fake),
            "failed to parse default acl file `/etc/qemu/bridge.conf': Permission denied"
        );
        assert_eq!(
            load_err(&Fake::default()),
            "failed to parse default acl file `/etc/qemu/bridge.conf': No such file or directory"
        );
    }

    #[test]
    fn include_error_keeps_earlier_rules_of_nested_includes() {
        // main -> a -> b; b fails at line 2, a fails after its include.
        let fake = Fake::main(b"include /a\nallow m\n")
            .with("/a", b"allow a1\ninclude /b\nallow a2\nwrong\nallow a3\n")
            .with("/b", b"deny b1\nnope x\nallow b2\n");
        let (acl, warnings) = load_ok(&fake);
        assert_eq!(
            acl.rules,
            vec![allow("a1"), deny("b1"), allow("a2"), allow("m")]
        );
        let text: Vec<String> = warnings.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "/b:2: Unknown command `nope' (rest of this included file ignored)",
                "/a:4: Invalid config line `wrong' (no space or tab after the command) (rest of this included file ignored)",
            ]
        );
    }

    #[test]
    fn relative_include_refused() {
        // In the main file: the main file is invalid.
        let err = load_err(
            &Fake::main(b"allow br0\ninclude alice.conf\n").with("alice.conf", b"allow br1\n"),
        );
        assert_eq!(
            err,
            "failed to parse default acl file `/etc/qemu/bridge.conf': line 2: include path `alice.conf' is not absolute"
        );
        let err = load_err(&Fake::main(b"include ./x\n"));
        assert!(err.contains("include path `./x' is not absolute"), "{err}");
        // An empty path is ignored with a warning, as qemu ignores it.
        let (acl, warnings) = load_ok(&Fake::main(b"include \nallow br0\n"));
        assert_eq!(acl.rules, vec![allow("br0")]);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].message.contains("empty path"),
            "{}",
            warnings[0]
        );
        // In an included file too: qemu would open it relative to the
        // caller's directory and go on (a later `deny` would count), so
        // ignoring the rest of the file is no answer. Refused.
        let fake = Fake::main(b"allow all\ninclude /a\n")
            .with("/a", b"allow a1\ninclude b.conf\ndeny a2\n")
            .with("b.conf", b"allow b\n");
        assert_eq!(
            load_err(&fake),
            "failed to parse default acl file `/etc/qemu/bridge.conf': /a:2: include path `b.conf' is not absolute"
        );
    }

    #[test]
    fn include_cycle_refuses_everything() {
        // qemu-bridge-helper recurses until it runs out of descriptors or
        // stack (SIGSEGV): no answer it gives can be matched, so we refuse.
        let fake = Fake::main(b"include /a\nallow m\n")
            .with("/a", b"allow a1\ninclude /b\nallow a2\n")
            .with("/b", b"allow b1\ninclude /a\nallow b2\n");
        assert_eq!(
            load_err(&fake),
            "failed to parse default acl file `/etc/qemu/bridge.conf': /b:2: include cycle: `/a' is already being read"
        );
        // A main file including itself.
        assert_eq!(
            load_err(&Fake::main(b"allow br0\ninclude /etc/qemu/bridge.conf\n")),
            "failed to parse default acl file `/etc/qemu/bridge.conf': line 2: include cycle: `/etc/qemu/bridge.conf' is already being read"
        );
        // The same path spelt differently is still the same path.
        let err = load_err(&Fake::main(b"include /etc//qemu/./bridge.conf\n"));
        assert!(err.contains("include cycle"), "{err}");
        // Including the same file twice (not a cycle) reads it twice.
        let fake = Fake::main(b"include /a\ninclude /a\n").with("/a", b"allow a\n");
        let (acl, warnings) = load_ok(&fake);
        assert!(warnings.is_empty());
        assert_eq!(acl.rules, vec![allow("a"), allow("a")]);
    }

    #[test]
    fn include_depth_limited_fails_closed() {
        // main -> /f1 -> /f2 -> ...; the last one holds `deny b1`.
        let chain = |depth: usize| {
            let mut fake = Fake::main(b"allow all\ninclude /f1\n");
            for i in 1..depth {
                let content = format!("allow b{i}\ninclude /f{}\n", i + 1);
                fake = fake.with(&format!("/f{i}"), content.as_bytes());
            }
            fake.with(&format!("/f{depth}"), b"deny b1\n")
        };
        assert_eq!(
            load_err(&chain(MAX_INCLUDE_DEPTH + 1)),
            "failed to parse default acl file `/etc/qemu/bridge.conf': /f8:2: include `/f9': includes nested more than 8 levels deep"
        );
        let (acl, warnings) = load_ok(&chain(MAX_INCLUDE_DEPTH));
        assert!(warnings.is_empty());
        assert_eq!(acl.decide("b1"), Decision::Denied);
    }

    #[test]
    fn number_of_files_limited_fails_closed() {
        // The 1025th file would hold `deny br0`: refusing it must not grant br0.
        let mut content = String::from("allow all\n");
        for _ in 2..MAX_FILES {
            content.push_str("include /a\n");
        }
        content.push_str("include /d\n");
        let files = |content: &str| {
            Fake::main(content.as_bytes())
                .with("/a", b"allow a\n")
                .with("/d", b"deny br0\n")
        };
        let (acl, _) = load_ok(&files(&content));
        assert_eq!(acl.rules.len(), MAX_FILES);
        assert_eq!(acl.decide("br0"), Decision::Denied);
        content.insert_str(10, "include /a\n");
        assert_eq!(
            load_err(&files(&content)),
            "failed to parse default acl file `/etc/qemu/bridge.conf': line 1025: include `/d': more than 1024 files to read"
        );
    }

    #[test]
    fn refused_include_fails_closed() {
        // An include our checks refuse (qemu would read it) refuses everything,
        // naming the file and where it was included.
        let mut fake = Fake::main(b"allow all\ninclude /big\n");
        fake.0.insert(
            PathBuf::from("/big"),
            Err(ReadError::Refused(
                "refusing: larger than 1048576 bytes".into(),
            )),
        );
        assert_eq!(
            load_err(&fake),
            "failed to parse default acl file `/etc/qemu/bridge.conf': /big: refusing: larger than 1048576 bytes (included from /etc/qemu/bridge.conf:2)"
        );
        let (clean, all) = problems(&fake);
        assert!(!clean);
        assert_eq!(all[0].severity, Severity::Fatal);
    }

    #[test]
    fn long_lines_are_cut_as_fgets_cuts_them() {
        // qemu: fgets(line, 4096, f). `#` + 4094 x's fill the buffer; the rest
        // is a line of its own.
        let x = "x".repeat(4094);
        let content = format!("allow all\n#{x}deny br0\n");
        assert_eq!(decide(content.as_bytes(), "br0"), Decision::Denied);
        assert_eq!(decide(content.as_bytes(), "br1"), Decision::Granted);
        // One byte more: the piece is `xdeny br0`, an unknown command, on line 2.
        let content = format!("allow all\n#{x}xdeny br0\n");
        assert_eq!(
            load_err(&Fake::main(content.as_bytes())),
            "failed to parse default acl file `/etc/qemu/bridge.conf': line 2: Unknown command `xdeny'"
        );
        // Exactly 4095 bytes and its newline: one line, nothing cut.
        let content = format!("#{x}\nallow br0\n");
        assert_eq!(rules(content.as_bytes()), vec![allow("br0")]);
        assert_eq!(problems(&Fake::main(content.as_bytes())), (true, vec![]));
        // A cut line: validate points it out.
        let content = format!("#{x}deny br0\n");
        let (clean, all) = problems(&Fake::main(content.as_bytes()));
        assert!(!clean);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].severity, Severity::Suspicious);
        assert!(
            all[0]
                .to_string()
                .starts_with("/etc/qemu/bridge.conf:1: line longer than 4095 bytes"),
            "{}",
            all[0]
        );
        // Line numbers after a cut line still count the file's lines.
        let content = format!("#{x}#{x}\nbogus x\n");
        let err = load_err(&Fake::main(content.as_bytes()));
        assert!(err.ends_with("line 2: Unknown command `bogus'"), "{err}");
    }

    #[test]
    fn deny_all_with_comment_is_a_name() {
        assert_eq!(rules(b"deny all # no one\n"), vec![deny("all # no one")]);
        assert_eq!(
            decide(b"allow br0\ndeny all # no one\n", "br0"),
            Decision::Granted
        );
        assert_eq!(
            decide(b"deny all # no one\n", "all # no one"),
            Decision::Denied
        );
        // validate points it out; load stays silent (qemu accepts it).
        let (clean, all) = problems(&Fake::main(b"allow br0\ndeny all # no one\nallow \n"));
        assert!(!clean);
        let text: Vec<String> = all.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "/etc/qemu/bridge.conf:2: `deny all # no one' can never match a bridge (interface names contain no whitespace); this rule has no effect",
                "/etc/qemu/bridge.conf:3: `allow ' can never match a bridge (the name is empty); this rule has no effect",
            ]
        );
        assert!(all.iter().all(|p| p.severity == Severity::Suspicious));
    }

    #[test]
    fn non_utf8_bytes() {
        let acl = load_ok(&Fake::main(b"allow br\xff\ndeny \xc3\xa9t\xe9\n")).0;
        assert_eq!(
            acl.rules,
            vec![
                Rule::Allow(b"br\xff".to_vec()),
                Rule::Deny(b"\xc3\xa9t\xe9".to_vec())
            ]
        );
        assert_eq!(acl.decide("br"), Decision::NotAllowed);
        assert_eq!(acl.decide("br\u{ff}"), Decision::NotAllowed);
        assert_eq!(acl.decide(&b"br\xff"[..]), Decision::Granted);
        // Printed escaped.
        let err = load_err(&Fake::main(b"all\xffow br0\n"));
        assert!(err.ends_with("Unknown command `all\\xffow'"), "{err}");
        let err = load_err(&Fake::main(b"allow\x1b[31m\n"));
        assert!(
            err.contains("Invalid config line `allow\\x1b[31m'"),
            "{err}"
        );
        // UTF-8 names work (and are printed as is).
        assert_eq!(
            decide("allow \u{e9}t\u{e9}\n".as_bytes(), "\u{e9}t\u{e9}"),
            Decision::Granted
        );
    }

    #[test]
    fn warnings_echo_escaped() {
        // Include paths and lines in warnings: ESC, U+2028, bidi override, DEL.
        let fake = Fake::main("include /x\u{1b}[2J\u{2028}\u{202e}\x7f\nallow br0\n".as_bytes());
        let (_, warnings) = load_ok(&fake);
        assert_eq!(
            warnings[0].to_string(),
            "/x\\x1b[2J\\xe2\\x80\\xa8\\xe2\\x80\\xae\\x7f: No such file or directory (included from /etc/qemu/bridge.conf:1; include ignored)"
        );
        let fake = Fake::main(b"include /a\n").with("/a", "bo\u{2029}gus x\n".as_bytes());
        let (_, warnings) = load_ok(&fake);
        assert!(
            warnings[0]
                .to_string()
                .starts_with("/a:1: Unknown command `bo\\xe2\\x80\\xa9gus'"),
            "{}",
            warnings[0]
        );
    }

    #[test]
    fn nul_byte_ends_the_line_as_in_c() {
        assert_eq!(rules(b"allow br0\0junk\n"), vec![allow("br0")]);
        assert_eq!(rules(b"\0allow br0\nallow br1\n"), vec![allow("br1")]);
        assert!(load_err(&Fake::main(b"allow\0 br0\n")).contains("Invalid config line"));
    }

    #[test]
    fn validate_reports_everything_once() {
        let fake = Fake::main(b"alow a\nallow br0\nallow\ninclude /a\ninclude /a\ninclude rel\ninclude /missing\ninclude /etc/qemu/bridge.conf\n")
            .with("/a", b"x y\nallow a\ndeny b234567890123456\ninclude /b\n")
            .with("/b", b"foo bar\n")
            .denied("/c");
        let (clean, all) = problems(&fake);
        assert!(!clean);
        let text: Vec<String> = all.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "/etc/qemu/bridge.conf:1: Unknown command `alow'",
                "/etc/qemu/bridge.conf:3: Invalid config line `allow' (no space or tab after the command)",
                "/a:1: Unknown command `x' (rest of this included file ignored)",
                "/a:3: name `b234567890123456' too long: 16 (rest of this included file ignored)",
                "/b:1: Unknown command `foo' (rest of this included file ignored)",
                "/etc/qemu/bridge.conf:6: include path `rel' is not absolute",
                "/missing: No such file or directory (included from /etc/qemu/bridge.conf:7; include ignored)",
                "/etc/qemu/bridge.conf:8: include cycle: `/etc/qemu/bridge.conf' is already being read",
            ]
        );
        let severities: Vec<Severity> = all.iter().map(|p| p.severity).collect();
        use Severity::*;
        assert_eq!(
            severities,
            vec![Fatal, Fatal, Ignored, Ignored, Ignored, Fatal, Ignored, Fatal]
        );
        // A good configuration has nothing to report.
        let fake = Fake::main(b"# ok\nallow vnet0\ninclude /etc/qemu/alice.conf\n")
            .with("/etc/qemu/alice.conf", b"allow br-alice\n");
        assert_eq!(problems(&fake), (true, vec![]));
        // Unreadable main file.
        let (clean, all) = problems(&Fake::default());
        assert!(!clean);
        assert_eq!(
            all[0].to_string(),
            "/etc/qemu/bridge.conf: No such file or directory"
        );
        assert_eq!(all[0].severity, Fatal);
    }

    #[test]
    fn load_and_validate_agree_on_fatal() {
        // Whatever validate calls fatal, load refuses, and vice versa.
        for content in [
            &b"allow br0\n"[..],
            b"allow\n",
            b"include /x\n",
            b"include x\n",
            b"deny all # x\n",
            b"frob x\n",
            b"allow 0123456789abcdef\n",
        ] {
            let fake = Fake::main(content);
            let fatal = problems(&fake)
                .1
                .iter()
                .any(|p| p.severity == Severity::Fatal);
            let failed = load(&fake, MAIN, &mut |_: &Problem| {}).is_err();
            assert_eq!(fatal, failed, "{content:?}");
        }
    }

    #[test]
    fn example_files_are_valid() {
        let main = include_bytes!("../acl/bridge.conf");
        let alice = include_bytes!("../acl/alice.conf");
        assert_eq!(problems(&Fake::main(main)), (true, vec![]));
        let acl = load_ok(&Fake::main(main)).0;
        assert_eq!(acl.rules, vec![allow("vnet0")]);
        // With the commented include enabled: alice gets br-alice, others do not.
        let mut with_include = main.to_vec();
        with_include.extend_from_slice(b"include /etc/qemu/alice.conf\n");
        let fake = Fake::main(&with_include).with("/etc/qemu/alice.conf", alice);
        assert_eq!(problems(&fake), (true, vec![]));
        assert_eq!(load_ok(&fake).0.decide("br-alice"), Decision::Granted);
        let fake = Fake::main(&with_include).denied("/etc/qemu/alice.conf");
        let (acl, warnings) = load_ok(&fake);
        assert!(warnings.iter().all(|p| p.denied), "{warnings:?}");
        assert_eq!(acl.decide("br-alice"), Decision::NotAllowed);
        assert_eq!(acl.decide("vnet0"), Decision::Granted);
    }

    /// Real files: the ownership and mode checks (the chown part needs root).
    #[test]
    fn system_files_checks() {
        use std::fs;
        use std::os::unix::fs::PermissionsExt;
        let dir = PathBuf::from(format!("/tmp/vnet-helper-acl-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        let root = nix::unistd::geteuid().is_root();

        let good = dir.join("good.conf");
        fs::write(&good, b"allow br0\n").unwrap();
        fs::set_permissions(&good, fs::Permissions::from_mode(0o644)).unwrap();
        if root {
            assert_eq!(SystemFiles.read(&good), Ok(b"allow br0\n".to_vec()));
            fs::set_permissions(&good, fs::Permissions::from_mode(0o600)).unwrap();
            assert_eq!(SystemFiles.read(&good), Ok(b"allow br0\n".to_vec()));
        }

        let writable = dir.join("writable.conf");
        fs::write(&writable, b"allow all\n").unwrap();
        for (mode, text) in [
            (0o666, "0666"),
            (0o664, "0664"),
            (0o646, "0646"),
            (0o4620, "4620"),
        ] {
            fs::set_permissions(&writable, fs::Permissions::from_mode(mode)).unwrap();
            let expected = if root {
                format!("refusing: writable by group or others (mode {text})")
            } else {
                format!(
                    "refusing: owned by uid {}, not root",
                    nix::unistd::geteuid()
                )
            };
            assert_eq!(
                SystemFiles.read(&writable),
                Err(ReadError::Refused(expected))
            );
        }

        if root {
            let foreign = dir.join("foreign.conf");
            fs::write(&foreign, b"allow all\n").unwrap();
            fs::set_permissions(&foreign, fs::Permissions::from_mode(0o644)).unwrap();
            std::os::unix::fs::chown(&foreign, Some(1000), Some(1000)).unwrap();
            assert_eq!(
                SystemFiles.read(&foreign),
                Err(ReadError::Refused(
                    "refusing: owned by uid 1000, not root".to_string()
                ))
            );
            // Group root-owned but another group: fine (that is how per-user files work).
            std::os::unix::fs::chown(&foreign, Some(0), Some(1000)).unwrap();
            fs::set_permissions(&foreign, fs::Permissions::from_mode(0o640)).unwrap();
            assert_eq!(SystemFiles.read(&foreign), Ok(b"allow all\n".to_vec()));

            // A symlink to a good file is followed; the target is what is checked.
            let link = dir.join("link.conf");
            std::os::unix::fs::symlink(&good, &link).unwrap();
            assert_eq!(SystemFiles.read(&link), Ok(b"allow br0\n".to_vec()));

            // Too big.
            let big = dir.join("big.conf");
            fs::write(&big, vec![b'#'; MAX_FILE_SIZE as usize + 1]).unwrap();
            fs::set_permissions(&big, fs::Permissions::from_mode(0o644)).unwrap();
            assert_eq!(
                SystemFiles.read(&big),
                Err(ReadError::Refused(
                    "refusing: larger than 1048576 bytes".to_string()
                ))
            );
            fs::write(&big, vec![b'#'; MAX_FILE_SIZE as usize]).unwrap();
            assert_eq!(
                SystemFiles.read(&big).map(|d| d.len()),
                Ok(MAX_FILE_SIZE as usize)
            );

            // load/validate through the real files, naming the file.
            let main = dir.join("main.conf");
            let content = format!("allow br0\ninclude {}\n", writable.display());
            fs::write(&main, content).unwrap();
            fs::set_permissions(&main, fs::Permissions::from_mode(0o644)).unwrap();
            // An insecure include refuses everything (fail closed).
            let err = load(&SystemFiles, &main, &mut |_: &Problem| {}).unwrap_err();
            assert_eq!(
                err.message(),
                format!(
                    "failed to parse default acl file `{0}': {1}: refusing: writable by group or others (mode 4620) (included from {0}:2)",
                    main.display(),
                    writable.display(),
                )
            );
            // So does one over the size limit.
            let content = format!("allow br0\ninclude {}\n", big.display());
            fs::write(&main, content).unwrap();
            fs::write(&big, vec![b'#'; MAX_FILE_SIZE as usize + 1]).unwrap();
            let err = load(&SystemFiles, &main, &mut |_: &Problem| {}).unwrap_err();
            assert!(
                err.message().ends_with(&format!(
                    "{}: refusing: larger than 1048576 bytes (included from {}:2)",
                    big.display(),
                    main.display()
                )),
                "{err}"
            );
            fs::set_permissions(&main, fs::Permissions::from_mode(0o664)).unwrap();
            let err = load(&SystemFiles, &main, &mut |_: &Problem| {}).unwrap_err();
            assert_eq!(
                err.message(),
                format!(
                    "failed to parse default acl file `{}': refusing: writable by group or others (mode 0664)",
                    main.display()
                )
            );
        }

        // Not a regular file: a directory, and a FIFO (which must not block).
        assert_eq!(
            SystemFiles.read(&dir),
            Err(ReadError::Failed(
                "refusing: not a regular file".to_string()
            ))
        );
        let fifo = dir.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        assert_eq!(
            SystemFiles.read(&fifo),
            Err(ReadError::Refused(
                "refusing: not a regular file".to_string()
            ))
        );
        assert_eq!(
            SystemFiles.read(&dir.join("missing")),
            Err(ReadError::Failed("No such file or directory".to_string()))
        );
        assert_eq!(
            SystemFiles.read(&good.join("x")),
            Err(ReadError::Failed("Not a directory".to_string()))
        );

        fs::remove_dir_all(&dir).unwrap();
    }
}
