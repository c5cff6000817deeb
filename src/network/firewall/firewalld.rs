//! firewalld: when it runs, a network's bridge goes into a zone of ours, as
//! libvirt puts its bridges in its `libvirt` zone. Without it the bridge
//! falls into firewalld's default zone, whose final reject (every base chain
//! on a hook must accept) stops the guests' DHCP, DNS and forwarding.
//!
//! The zones and the policy ship as XML under packaging/firewalld/ and are
//! installed into /etc/firewalld/ by install.sh:
//! - `vnet-helper` (NAT networks) and `vnet-routed`: services dhcp
//!   and dns, nothing else of the host; the policy `vnet-helper-out`
//!   (both zones to ANY, ACCEPT) lets guests forward out, and
//!   `vnet-routed-in` (ANY to `vnet-routed`) lets the LAN
//!   reach a routed network's guests;
//! - `vnet-isolated`: dhcp and dns only, no forwarding.
//!
//! A bridged network has no address of the host and needs nothing.
//!
//! Binding is runtime-only and lost on every firewalld reload or restart:
//! the supervisor re-binds on firewalld's `Reloaded` signal and when its bus
//! name gets a new owner (see [`Watch`]). Everything goes over the system
//! bus with our own client (crate::dbus): ~5 ms per call with firewalld's
//! own work, against ~350 ms for a `firewall-cmd` run.

use std::time::Duration;

use crate::dbus::{self, Call, CallError, Connection, Value};
use crate::network::definition::{Definition, Mode};

/// firewalld's bus name, object and interfaces.
const NAME: &str = "org.fedoraproject.FirewallD1";
const PATH: &str = "/org/fedoraproject/FirewallD1";
const ZONE_IFACE: &str = "org.fedoraproject.FirewallD1.zone";

/// How long one call may take (firewalld answers after a reload it is busy
/// with; a restart takes about a second).
const TIMEOUT: Duration = Duration::from_secs(5);

/// Every zone we ship; a binding to one of these is ours.
pub const ZONES: &[&str] = &["vnet-helper", "vnet-routed", "vnet-isolated"];

/// The zone a network's bridge belongs in (None: it needs none).
pub fn zone_for(def: &Definition) -> Option<&'static str> {
    match def.mode {
        Mode::Nat => Some("vnet-helper"),
        Mode::Routed => Some("vnet-routed"),
        Mode::Isolated => Some("vnet-isolated"),
        Mode::Bridged => None,
    }
}

/// Where install.sh puts a zone's file.
pub fn zone_file(zone: &str) -> String {
    format!("/etc/firewalld/zones/{zone}.xml")
}

/// Whether a zone's file is where firewalld reads zones from.
pub fn zone_file_present(zone: &str) -> bool {
    [
        zone_file(zone),
        format!("/usr/lib/firewalld/zones/{zone}.xml"),
    ]
    .iter()
    .any(|p| std::path::Path::new(p).is_file())
}

/// What binding a bridge came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// firewalld does not run (or there is no system bus): nothing to do.
    NoFirewalld,
    /// The network needs no zone (bridged).
    NotNeeded,
    /// The bridge is in this zone (ours, or one an admin chose).
    Bound(String),
    /// firewalld runs but does not know our zone.
    ZoneMissing(&'static str),
    /// firewalld runs but the call failed.
    Failed(String),
}

impl Binding {
    /// The one line to say when the binding is not what guests need.
    pub fn warning(&self, network: &str) -> Option<String> {
        match self {
            Binding::ZoneMissing(zone) => Some(format!(
                "network `{network}': firewalld runs but has no zone `{zone}': install {} (from \
                 packaging/firewalld/; install.sh does) and run `firewall-cmd --reload'; until \
                 then its guests get no DHCP, DNS or NAT",
                zone_file(zone)
            )),
            Binding::Failed(e) => Some(format!(
                "network `{network}': putting bridge {network} in a firewalld zone: {e}"
            )),
            _ => None,
        }
    }
}

fn zone_call<'a>(member: &'a str, args: &'a [&'a str]) -> Call<'a> {
    Call {
        destination: NAME,
        path: PATH,
        interface: ZONE_IFACE,
        member,
        args,
    }
}

/// firewalld is not on the bus (the bus says so when we call it).
fn not_running(e: &CallError) -> bool {
    matches!(e, CallError::Remote { name, .. }
        if name == "org.freedesktop.DBus.Error.ServiceUnknown"
            || name == "org.freedesktop.DBus.Error.NameHasNoOwner")
}

/// A connection to the system bus, or None when there is none (no bus: no
/// firewalld).
fn connect() -> Option<Connection> {
    Connection::system(TIMEOUT).ok()
}

/// The zone interface `iface` is bound to at runtime: Ok(None) when it is in
/// none (it falls into the default zone); Err when firewalld does not run.
fn zone_of_on(c: &mut Connection, iface: &str) -> Result<Option<String>, CallError> {
    let body = c.call(&zone_call("getZoneOfInterface", &[iface]))?;
    let zone = body.first().and_then(Value::as_str).unwrap_or("");
    Ok((!zone.is_empty()).then(|| zone.to_string()))
}

/// Put network `def`'s bridge in its zone, unless an admin bound it to a
/// zone of their own (which we keep). Runs as root.
pub fn bind(def: &Definition) -> Binding {
    let Some(zone) = zone_for(def) else {
        return Binding::NotNeeded;
    };
    let Some(mut c) = connect() else {
        return Binding::NoFirewalld;
    };
    bind_on(&mut c, &def.name, zone)
}

fn bind_on(c: &mut Connection, iface: &str, zone: &'static str) -> Binding {
    match zone_of_on(c, iface) {
        Err(e) if not_running(&e) => return Binding::NoFirewalld,
        Err(e) => return Binding::Failed(e.to_string()),
        Ok(Some(z)) if z == zone || !ZONES.contains(&z.as_str()) => return Binding::Bound(z),
        Ok(_) => {}
    }
    match c.call(&zone_call("changeZoneOfInterface", &[zone, iface])) {
        Ok(_) => Binding::Bound(zone.to_string()),
        Err(e) if not_running(&e) => Binding::NoFirewalld,
        Err(CallError::Remote { message, .. }) if message.starts_with("INVALID_ZONE") => {
            Binding::ZoneMissing(zone)
        }
        Err(e) => Binding::Failed(e.to_string()),
    }
}

/// Bind, and say so in one line (stderr and syslog) when guests will not get
/// what they need. The binding reached.
pub fn bind_or_warn(def: &Definition) -> Binding {
    let b = bind(def);
    if let Some(line) = b.warning(&def.name) {
        say!("vnet-helper: warning: {line}");
        crate::audit::network_failed(0, &def.name, &line);
    }
    b
}

/// Take bridge `iface` out of our zone (teardown); a zone an admin chose
/// stays. Best effort: firewalld forgets runtime bindings on reload anyway.
pub fn unbind(iface: &str) {
    let Some(mut c) = connect() else { return };
    if let Ok(Some(zone)) = zone_of_on(&mut c, iface) {
        if ZONES.contains(&zone.as_str()) {
            let _ = c.call(&zone_call("removeInterface", &[&zone, iface]));
        }
    }
}

/// For `status`: None when firewalld does not run, else the zone the bridge
/// is bound to at runtime ("" for none: the default zone).
pub fn zone_of(iface: &str) -> Option<String> {
    let mut c = connect()?;
    match zone_of_on(&mut c, iface) {
        Ok(z) => Some(z.unwrap_or_default()),
        Err(_) => None,
    }
}

/// For `check`: None when firewalld does not run (or will not say), else the
/// zones it has loaded.
pub fn loaded_zones() -> Option<Vec<String>> {
    let mut c = connect()?;
    let body = c.call(&zone_call("getZones", &[])).ok()?;
    match body.first() {
        Some(Value::Array(zones)) => Some(
            zones
                .iter()
                .filter_map(|z| z.as_str().map(str::to_string))
                .collect(),
        ),
        _ => None,
    }
}

/// What the supervisor hears from firewalld.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// It reloaded (runtime bindings and iptables rules are gone).
    Reloaded,
    /// Its name got a new owner: it (re)started.
    Started,
    /// It left the bus.
    Stopped,
}

/// A bus connection that receives firewalld's `Reloaded` signal and the
/// bus's NameOwnerChanged for firewalld's name (nothing else: the bus
/// filters), for the supervisor to wait on (it is a plain fd).
pub struct Watch {
    conn: Connection,
}

impl std::os::fd::AsFd for Watch {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.conn.as_fd()
    }
}

impl Watch {
    /// None when there is no system bus.
    pub fn open() -> Option<Watch> {
        let mut conn = connect()?;
        let rules = [
            format!(
                "type='signal',sender='{NAME}',path='{PATH}',interface='{NAME}',member='Reloaded'"
            ),
            format!(
                "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',\
                 member='NameOwnerChanged',arg0='{NAME}'"
            ),
        ];
        for r in &rules {
            conn.add_match(r).ok()?;
        }
        Some(Watch { conn })
    }

    /// The events in what the socket holds now. Err: the bus went away.
    pub fn events(&mut self) -> std::io::Result<Vec<Event>> {
        Ok(self
            .conn
            .read_available()?
            .iter()
            .filter(|m| m.kind == dbus::SIGNAL)
            .filter_map(|m| match m.member.as_str() {
                "Reloaded" if m.path == PATH => Some(Event::Reloaded),
                "NameOwnerChanged" if m.first_str() == NAME => match m.body.get(2) {
                    Some(Value::Str(new)) if !new.is_empty() => Some(Event::Started),
                    _ => Some(Event::Stopped),
                },
                _ => None,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::definition::parse;

    fn def(mode: &str) -> Definition {
        let extra = match mode {
            "bridged" => "uplink = \"eth0\"\n",
            _ => "address = \"10.9.0.1/24\"\n",
        };
        parse(&format!("mode = \"{mode}\"\n{extra}"), "t.toml", "vnet0").unwrap()
    }

    #[test]
    fn each_mode_has_its_zone() {
        assert_eq!(zone_for(&def("nat")), Some("vnet-helper"));
        assert_eq!(zone_for(&def("routed")), Some("vnet-routed"));
        assert_eq!(zone_for(&def("isolated")), Some("vnet-isolated"));
        assert_eq!(zone_for(&def("bridged")), None);
    }

    #[test]
    fn a_missing_zone_is_one_line_naming_the_file() {
        let w = Binding::ZoneMissing("vnet-helper")
            .warning("vnet0")
            .unwrap();
        assert!(!w.contains('\n'));
        assert!(w.contains("/etc/firewalld/zones/vnet-helper.xml"), "{w}");
        assert_eq!(Binding::Bound("x".into()).warning("vnet0"), None);
        assert_eq!(Binding::NoFirewalld.warning("vnet0"), None);
    }

    /// Each zone this code names ships in packaging/firewalld/, with a name
    /// firewalld accepts (at most 17 characters).
    #[test]
    fn every_zone_ships() {
        for z in ZONES {
            assert!(z.len() <= 17, "{z}");
            let p = format!(
                "{}/packaging/firewalld/zones/{z}.xml",
                env!("CARGO_MANIFEST_DIR")
            );
            assert!(std::path::Path::new(&p).is_file(), "{p}");
        }
    }
}
