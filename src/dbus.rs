//! A minimal D-Bus client for the system bus, as a setuid program can use it:
//! the bus is the fixed socket /run/dbus/system_bus_socket (never an address
//! from the environment: dbus CVE-2012-3524), authentication is EXTERNAL with
//! our effective uid (root when we call), and every descriptor is
//! close-on-exec (std's UnixStream). Only what vnet-helper needs: method
//! calls with string arguments, their replies and errors, `AddMatch`, and
//! signals. Messages are never auto-start (a call must not start a service
//! through bus activation). Plain std, no unsafe.
//!
//! The wire format (D-Bus specification, "Message Protocol"): a 12-byte fixed
//! header (endianness, type, flags, version, body length, serial), an array
//! of header fields `a(yv)`, padding to 8, then the body. We write
//! little-endian; we read both byte orders.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// The system bus: its fixed path, the only one we ever use.
pub const SYSTEM_BUS: &str = "/run/dbus/system_bus_socket";

/// The largest message we accept (the specification allows 128 MiB; the
/// replies and signals we ask for are tiny).
const MAX_MESSAGE: usize = 1 << 20;

/// Message types (2 is a method return).
pub const METHOD_CALL: u8 = 1;
pub const ERROR: u8 = 3;
pub const SIGNAL: u8 = 4;

/// Flag: do not start the destination through bus activation.
const NO_AUTO_START: u8 = 0x2;

/// Header field codes.
const F_PATH: u8 = 1;
const F_INTERFACE: u8 = 2;
const F_MEMBER: u8 = 3;
const F_ERROR_NAME: u8 = 4;
const F_REPLY_SERIAL: u8 = 5;
const F_DESTINATION: u8 = 6;
const F_SENDER: u8 = 7;
const F_SIGNATURE: u8 = 8;

/// A method call: where to, and its string arguments.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub destination: &'a str,
    pub path: &'a str,
    pub interface: &'a str,
    pub member: &'a str,
    pub args: &'a [&'a str],
}

/// A value of a message body (the basic types, and arrays of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    U32(u32),
    I32(i32),
    Bool(bool),
    Byte(u8),
    Array(Vec<Value>),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// A message as read from the bus.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub kind: u8,
    pub serial: u32,
    pub reply_serial: Option<u32>,
    pub path: String,
    pub interface: String,
    pub member: String,
    pub error_name: String,
    pub sender: String,
    pub signature: String,
    /// The body's values, as far as we can decode them (a type we do not
    /// know ends the list).
    pub body: Vec<Value>,
}

impl Message {
    /// The first string of the body (an error's message, most replies).
    pub fn first_str(&self) -> &str {
        self.body.first().and_then(Value::as_str).unwrap_or("")
    }
}

/// How a call failed.
#[derive(Debug)]
pub enum CallError {
    /// The bus or the connection failed (or timed out).
    Io(io::Error),
    /// The callee (or the bus) answered with an error.
    Remote { name: String, message: String },
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Io(e) => write!(f, "D-Bus: {e}"),
            CallError::Remote { name, message } => write!(f, "{name}: {message}"),
        }
    }
}

impl From<io::Error> for CallError {
    fn from(e: io::Error) -> Self {
        CallError::Io(e)
    }
}

/// One connection to the bus.
pub struct Connection {
    stream: UnixStream,
    serial: u32,
    /// Bytes read but not yet parsed.
    buf: Vec<u8>,
    /// Messages read while waiting for a reply (signals), in order.
    queued: Vec<Message>,
}

impl AsFd for Connection {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }
}

impl Connection {
    /// Connect to the system bus as our effective uid; every blocking read
    /// and write gives up after `timeout`.
    pub fn system(timeout: Duration) -> io::Result<Connection> {
        Connection::open(Path::new(SYSTEM_BUS), timeout)
    }

    /// Connect to the bus at `path` (tests use their own).
    pub fn open(path: &Path, timeout: Duration) -> io::Result<Connection> {
        let stream = UnixStream::connect(path)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let mut c = Connection {
            stream,
            serial: 0,
            buf: Vec::new(),
            queued: Vec::new(),
        };
        c.authenticate()?;
        c.call(&Call {
            destination: "org.freedesktop.DBus",
            path: "/org/freedesktop/DBus",
            interface: "org.freedesktop.DBus",
            member: "Hello",
            args: &[],
        })
        .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(c)
    }

    /// SASL EXTERNAL with our effective uid, then BEGIN.
    fn authenticate(&mut self) -> io::Result<()> {
        let uid = nix::unistd::geteuid().as_raw();
        self.stream.write_all(&auth_line(uid))?;
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            if self.stream.read(&mut byte)? == 0 || line.len() > 512 {
                return Err(io::Error::other("the bus closed during authentication"));
            }
            line.push(byte[0]);
        }
        if !line.starts_with(b"OK ") {
            let said = String::from_utf8_lossy(&line).trim().to_string();
            return Err(io::Error::other(format!("the bus refused us: {said}")));
        }
        self.stream.write_all(b"BEGIN\r\n")
    }

    fn next_serial(&mut self) -> u32 {
        self.serial = self.serial.wrapping_add(1).max(1);
        self.serial
    }

    /// Call a method and wait for its reply (signals that arrive meanwhile
    /// are kept for `take_queued`). The reply's body, or its error.
    pub fn call(&mut self, call: &Call) -> Result<Vec<Value>, CallError> {
        let serial = self.next_serial();
        self.stream.write_all(&encode_call(serial, call))?;
        loop {
            let m = self.read_blocking()?;
            if m.reply_serial == Some(serial) {
                return match m.kind {
                    ERROR => Err(CallError::Remote {
                        message: m.first_str().to_string(),
                        name: m.error_name,
                    }),
                    _ => Ok(m.body),
                };
            }
            if m.kind == SIGNAL {
                self.queued.push(m);
            }
        }
    }

    /// Ask the bus for the signals that `rule` matches (match rule syntax,
    /// e.g. "type='signal',interface='X',member='Y'").
    pub fn add_match(&mut self, rule: &str) -> Result<(), CallError> {
        self.call(&Call {
            destination: "org.freedesktop.DBus",
            path: "/org/freedesktop/DBus",
            interface: "org.freedesktop.DBus",
            member: "AddMatch",
            args: &[rule],
        })
        .map(|_| ())
    }

    /// Signals read while waiting for replies, oldest first.
    pub fn take_queued(&mut self) -> Vec<Message> {
        std::mem::take(&mut self.queued)
    }

    fn read_blocking(&mut self) -> io::Result<Message> {
        loop {
            if let Some(m) = self.parse_buffered()? {
                return Ok(m);
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk)? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Read whatever the socket holds now without blocking, and return every
    /// complete message (queued ones first). Err on EOF: the bus went away.
    pub fn read_available(&mut self) -> io::Result<Vec<Message>> {
        let mut out = self.take_queued();
        self.stream.set_nonblocking(true)?;
        let read = self.fill_nonblocking();
        self.stream.set_nonblocking(false)?;
        read?;
        while let Some(m) = self.parse_buffered()? {
            out.push(m);
        }
        Ok(out)
    }

    fn fill_nonblocking(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn parse_buffered(&mut self) -> io::Result<Option<Message>> {
        let Some(len) = message_length(&self.buf)? else {
            return Ok(None);
        };
        if self.buf.len() < len {
            return Ok(None);
        }
        let m = decode(&self.buf[..len])?;
        self.buf.drain(..len);
        Ok(Some(m))
    }
}

/// "\0AUTH EXTERNAL <uid as hex of its decimal digits>\r\n".
fn auth_line(uid: u32) -> Vec<u8> {
    let hex: String = uid
        .to_string()
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("\0AUTH EXTERNAL {hex}\r\n").into_bytes()
}

// ---------------------------------------------------------------------------
// Writing (little-endian).

fn pad(out: &mut Vec<u8>, align: usize) {
    while !out.len().is_multiple_of(align) {
        out.push(0);
    }
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    pad(out, 4);
    out.extend_from_slice(&v.to_le_bytes());
}

/// A string or object path: length, bytes, NUL.
fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len() as u32);
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

/// A signature: one-byte length, bytes, NUL.
fn put_sig(out: &mut Vec<u8>, s: &str) {
    out.push(s.len() as u8);
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

/// One header field (a struct, 8-aligned) whose variant holds a string-like
/// value of type `ty` ("s", "o" or "g").
fn put_field(out: &mut Vec<u8>, code: u8, ty: &str, value: &str) {
    pad(out, 8);
    out.push(code);
    put_sig(out, ty);
    match ty {
        "g" => put_sig(out, value),
        _ => put_str(out, value),
    }
}

/// The bytes of a method call with string arguments.
pub fn encode_call(serial: u32, c: &Call) -> Vec<u8> {
    let mut body = Vec::new();
    for a in c.args {
        put_str(&mut body, a);
    }
    let mut fields = Vec::new();
    // Field offsets count from the message start, which is 16 bytes (8-aligned)
    // before the fields array's first element.
    put_field(&mut fields, F_PATH, "o", c.path);
    put_field(&mut fields, F_INTERFACE, "s", c.interface);
    put_field(&mut fields, F_MEMBER, "s", c.member);
    put_field(&mut fields, F_DESTINATION, "s", c.destination);
    if !c.args.is_empty() {
        put_field(&mut fields, F_SIGNATURE, "g", &"s".repeat(c.args.len()));
    }
    let mut out = vec![b'l', METHOD_CALL, NO_AUTO_START, 1];
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&serial.to_le_bytes());
    out.extend_from_slice(&(fields.len() as u32).to_le_bytes());
    out.extend_from_slice(&fields);
    pad(&mut out, 8);
    out.extend_from_slice(&body);
    out
}

// ---------------------------------------------------------------------------
// Reading (either byte order).

fn bad(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("bad D-Bus message: {what}"),
    )
}

/// The total length of the message at the start of `buf`, once its fixed
/// header is there.
fn message_length(buf: &[u8]) -> io::Result<Option<usize>> {
    if buf.len() < 16 {
        return Ok(None);
    }
    let r = Reader::new(buf)?;
    let body = r.u32_at(4) as usize;
    let fields = r.u32_at(12) as usize;
    let len = (16 + fields).div_ceil(8) * 8 + body;
    if body > MAX_MESSAGE || fields > MAX_MESSAGE || len > MAX_MESSAGE {
        return Err(bad("too long"));
    }
    Ok(Some(len))
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    big: bool,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> io::Result<Reader<'a>> {
        let big = match buf.first() {
            Some(b'l') => false,
            Some(b'B') => true,
            _ => return Err(bad("unknown byte order")),
        };
        Ok(Reader { buf, pos: 0, big })
    }

    fn u32_at(&self, at: usize) -> u32 {
        let b: [u8; 4] = self.buf[at..at + 4].try_into().unwrap_or([0; 4]);
        match self.big {
            true => u32::from_be_bytes(b),
            false => u32::from_le_bytes(b),
        }
    }

    fn align(&mut self, n: usize) -> io::Result<()> {
        self.pos = self.pos.div_ceil(n) * n;
        match self.pos <= self.buf.len() {
            true => Ok(()),
            false => Err(bad("truncated")),
        }
    }

    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(|| bad("length"))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| bad("truncated"))?;
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> io::Result<u32> {
        self.align(4)?;
        let at = self.pos;
        self.take(4)?;
        Ok(self.u32_at(at))
    }

    fn text(&mut self, len: usize) -> io::Result<String> {
        let s = self.take(len)?;
        if self.u8()? != 0 {
            return Err(bad("string without NUL"));
        }
        String::from_utf8(s.to_vec()).map_err(|_| bad("string not UTF-8"))
    }

    fn str(&mut self) -> io::Result<String> {
        let len = self.u32()? as usize;
        self.text(len)
    }

    fn sig(&mut self) -> io::Result<String> {
        let len = self.u8()? as usize;
        self.text(len)
    }

    /// One value of the single complete type `ty` (a basic type, or an
    /// array of one); None for a type we do not decode.
    fn value(&mut self, ty: &str) -> io::Result<Option<Value>> {
        Ok(Some(match ty {
            "s" | "o" => Value::Str(self.str()?),
            "g" => Value::Str(self.sig()?),
            "u" => Value::U32(self.u32()?),
            "i" => Value::I32(self.u32()? as i32),
            "b" => Value::Bool(self.u32()? != 0),
            "y" => Value::Byte(self.u8()?),
            _ if ty.len() == 2 && ty.starts_with('a') && !ty.ends_with(['a', '(', '{', 'v']) => {
                let len = self.u32()? as usize;
                let elem = &ty[1..];
                self.align(if matches!(elem, "y" | "g") { 1 } else { 4 })?;
                let end = self.pos.checked_add(len).ok_or_else(|| bad("length"))?;
                let mut items = Vec::new();
                while self.pos < end {
                    match self.value(elem)? {
                        Some(v) => items.push(v),
                        None => return Ok(None),
                    }
                }
                Value::Array(items)
            }
            _ => return Ok(None),
        }))
    }
}

/// Split a signature into its single complete types, for the types `value`
/// decodes (anything else ends the list).
fn types(sig: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < sig.len() {
        let n = if sig.as_bytes()[i] == b'a' { 2 } else { 1 };
        let Some(t) = sig.get(i..i + n) else { break };
        out.push(t);
        i += n;
    }
    out
}

/// Decode one whole message (its exact bytes).
pub fn decode(buf: &[u8]) -> io::Result<Message> {
    let mut r = Reader::new(buf)?;
    let mut m = Message {
        kind: buf.get(1).copied().ok_or_else(|| bad("truncated"))?,
        ..Message::default()
    };
    r.pos = 4;
    let body_len = r.u32()? as usize;
    m.serial = r.u32()?;
    let fields_len = r.u32()? as usize;
    let fields_end = 16 + fields_len;
    while r.pos < fields_end {
        r.align(8)?;
        let code = r.u8()?;
        let ty = r.sig()?;
        let v = r.value(&ty)?.ok_or_else(|| bad("header field type"))?;
        match (code, v) {
            (F_PATH, Value::Str(s)) => m.path = s,
            (F_INTERFACE, Value::Str(s)) => m.interface = s,
            (F_MEMBER, Value::Str(s)) => m.member = s,
            (F_ERROR_NAME, Value::Str(s)) => m.error_name = s,
            (F_REPLY_SERIAL, Value::U32(u)) => m.reply_serial = Some(u),
            (F_SENDER, Value::Str(s)) => m.sender = s,
            (F_SIGNATURE, Value::Str(s)) => m.signature = s,
            _ => {}
        }
    }
    r.align(8)?;
    let body = r.take(body_len)?;
    let mut b = Reader {
        buf: body,
        pos: 0,
        big: r.big,
    };
    for ty in types(&m.signature.clone()) {
        match b.value(ty)? {
            Some(v) => m.body.push(v),
            None => break,
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_line_is_the_uid_in_hex_digits() {
        assert_eq!(auth_line(0), b"\0AUTH EXTERNAL 30\r\n");
        assert_eq!(auth_line(1000), b"\0AUTH EXTERNAL 31303030\r\n");
    }

    /// The exact bytes of a call, as dbus-send would write it (checked
    /// field by field against the specification).
    #[test]
    fn a_call_is_encoded_exactly() {
        let call = Call {
            destination: "d.x",
            path: "/p",
            interface: "i.y",
            member: "M",
            args: &["ab"],
        };
        let got = encode_call(7, &call);
        let mut want: Vec<u8> = vec![b'l', 1, 2, 1];
        want.extend_from_slice(&[7, 0, 0, 0]); // body length: 4 + 2 + NUL = 7
        want.extend_from_slice(&[7, 0, 0, 0]); // serial
        want.extend_from_slice(&[71, 0, 0, 0]); // header fields length: 4 x 16 + 7
                                                // path: code 1, sig "o", len 2, "/p\0", padded to 8
        want.extend_from_slice(&[1, 1, b'o', 0, 2, 0, 0, 0, b'/', b'p', 0, 0, 0, 0, 0, 0]);
        // interface: code 2, sig "s", "i.y"
        want.extend_from_slice(&[2, 1, b's', 0, 3, 0, 0, 0, b'i', b'.', b'y', 0, 0, 0, 0, 0]);
        // member: code 3, "M"
        want.extend_from_slice(&[3, 1, b's', 0, 1, 0, 0, 0, b'M', 0, 0, 0, 0, 0, 0, 0]);
        // destination: code 6, "d.x"
        want.extend_from_slice(&[6, 1, b's', 0, 3, 0, 0, 0, b'd', b'.', b'x', 0, 0, 0, 0, 0]);
        // signature: code 8, sig "g", "s" (no padding inside the array's end)
        want.extend_from_slice(&[8, 1, b'g', 0, 1, b's', 0]);
        want.push(0); // the body starts 8-aligned
        want.extend_from_slice(&[2, 0, 0, 0, b'a', b'b', 0]);
        assert_eq!(got, want);
    }

    #[test]
    fn a_call_decodes_to_what_was_encoded() {
        let call = Call {
            destination: "org.fedoraproject.FirewallD1",
            path: "/org/fedoraproject/FirewallD1",
            interface: "org.fedoraproject.FirewallD1.zone",
            member: "changeZoneOfInterface",
            args: &["vnet-helper", "vnet0"],
        };
        let bytes = encode_call(3, &call);
        assert_eq!(message_length(&bytes).unwrap(), Some(bytes.len()));
        let m = decode(&bytes).unwrap();
        assert_eq!(m.kind, METHOD_CALL);
        assert_eq!(m.serial, 3);
        assert_eq!(m.path, call.path);
        assert_eq!(m.interface, call.interface);
        assert_eq!(m.member, call.member);
        assert_eq!(m.signature, "ss");
        assert_eq!(
            m.body,
            vec![Value::Str("vnet-helper".into()), Value::Str("vnet0".into())]
        );
    }

    /// An error reply as dbus-daemon sends it (big-endian here, to cover the
    /// other byte order): ERROR, reply serial 5, error name, sender, "s".
    #[test]
    fn an_error_reply_in_big_endian_is_decoded() {
        let mut fields = Vec::new();
        let be_str = |out: &mut Vec<u8>, s: &str| {
            while !out.len().is_multiple_of(4) {
                out.push(0)
            }
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
            out.push(0);
        };
        // fields are 8-aligned relative to the message start (16 bytes before)
        fields.extend_from_slice(&[F_ERROR_NAME, 1, b's', 0]);
        be_str(&mut fields, "org.x.Err");
        while !fields.len().is_multiple_of(8) {
            fields.push(0)
        }
        fields.extend_from_slice(&[F_REPLY_SERIAL, 1, b'u', 0, 0, 0, 0, 5]);
        fields.extend_from_slice(&[F_SIGNATURE, 1, b'g', 0, 1, b's', 0]);
        let mut body = Vec::new();
        be_str(&mut body, "no such zone");
        let mut msg = vec![b'B', ERROR, 1, 1];
        msg.extend_from_slice(&(body.len() as u32).to_be_bytes());
        msg.extend_from_slice(&9u32.to_be_bytes());
        msg.extend_from_slice(&(fields.len() as u32).to_be_bytes());
        msg.extend_from_slice(&fields);
        while !msg.len().is_multiple_of(8) {
            msg.push(0)
        }
        msg.extend_from_slice(&body);
        assert_eq!(message_length(&msg).unwrap(), Some(msg.len()));
        let m = decode(&msg).unwrap();
        assert_eq!(m.kind, ERROR);
        assert_eq!(m.serial, 9);
        assert_eq!(m.reply_serial, Some(5));
        assert_eq!(m.error_name, "org.x.Err");
        assert_eq!(m.first_str(), "no such zone");
    }

    #[test]
    fn string_arrays_and_partial_messages() {
        let mut body = Vec::new();
        put_u32(&mut body, 0); // array length, patched below
        put_str(&mut body, "a");
        put_str(&mut body, "bc");
        let len = (body.len() - 4) as u32;
        body[..4].copy_from_slice(&len.to_le_bytes());
        let mut r = Reader {
            buf: &body,
            pos: 0,
            big: false,
        };
        assert_eq!(
            r.value("as").unwrap(),
            Some(Value::Array(vec![
                Value::Str("a".into()),
                Value::Str("bc".into())
            ]))
        );
        assert_eq!(types("sasub"), vec!["s", "as", "u", "b"]);
        let bytes = encode_call(
            1,
            &Call {
                destination: "a.b",
                path: "/",
                interface: "a.b",
                member: "C",
                args: &[],
            },
        );
        assert_eq!(message_length(&bytes[..15]).unwrap(), None);
        let mut huge = bytes.clone();
        huge[4..8].copy_from_slice(&(MAX_MESSAGE as u32 + 1).to_le_bytes());
        assert!(message_length(&huge).is_err());
        assert!(decode(b"x").is_err());
    }
}
