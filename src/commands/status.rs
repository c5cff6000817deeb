//! `vnet-helper status [--json] [NAME]`: what is up, on which bridge, with
//! which taps, leases and processes. Read-only; any user may run it (a user
//! gives up every privilege first and sees what the files show: firewall
//! rules and tap owners need root and say so).

use std::fmt::Write as _;

use crate::error::Result;
use crate::network::definition::Definition;
use crate::network::supervisor::process as supervisor;
use crate::network::{bridge, definitions, dnsmasq, firewall, steps};
use crate::paths;
use crate::privileges::{self, Caller};

#[derive(Debug, Default)]
pub(crate) struct Lease {
    pub expiry: String,
    pub mac: String,
    pub ip: String,
    pub host: String,
}

#[derive(Debug, Default)]
struct Tap {
    name: String,
    /// A process holds it (see bridge::Port::attached).
    attached: bool,
    /// (pid, uid) of processes holding it (root only).
    owners: Vec<(u32, u32)>,
}

#[derive(Debug)]
struct Net {
    name: String,
    definition: std::result::Result<Definition, String>,
    /// A user network's owner: (uid, name shown); None for admin networks.
    owner: Option<(u32, String)>,
    up: bool,
    bridge: bool,
    taps: Vec<Tap>,
    leases: Vec<Lease>,
    dnsmasq_pid: Option<u32>,
    supervisor_pid: Option<u32>,
    /// The supervisor's resource limits that are not the defaults (the host
    /// withholds CAP_SYS_RESOURCE, so a caller's lowered hard limit stuck).
    limits_off: Vec<String>,
    /// None = unknown (not root).
    rules: Option<bool>,
    /// Up network whose rules are in place but isolate it from another set
    /// of networks than are defined now (rules counts as present then).
    stale_peers: Option<firewall::StalePeers>,
    /// Down network: rules of ours left in the firewall? None = unknown.
    stale: Option<bool>,
    /// The host's own nftables chains that would drop its traffic (root).
    foreign: Vec<String>,
    /// The bridge's firewalld zone when firewalld runs ("" = none), root.
    firewalld_zone: Option<String>,
    /// The host's iptables-nft chains where we added accepts (root).
    coexist: Vec<String>,
}

/// `status [--json] [NAME]`: whether --json was given, and the one network
/// asked for. Options are echoed escaped.
pub(crate) fn parse_options(args: &[String]) -> Result<(bool, Option<String>)> {
    let mut json = false;
    let mut only = None;
    for a in args {
        match a.as_str() {
            "--json" => json = true,
            s if s.starts_with('-') => {
                return Err(fail!(
                    "status: unknown option `{}'",
                    crate::output::printable(s.as_bytes())
                ))
            }
            s => {
                crate::ifname::check_bridge_name(s)?;
                only = Some(s.to_string());
            }
        }
    }
    Ok((json, only))
}

pub fn run(args: &[String], caller: &Caller) -> Result<i32> {
    let (json, only) = parse_options(args)?;
    let root = caller.is_root();
    if !root {
        privileges::drop_all(caller)?;
    }
    let defs = match &only {
        Some(n) => vec![(n.clone(), definitions::load(n))],
        None => definitions::load_all(),
    };
    let mut nets: Vec<Net> = defs.into_iter().map(|(n, d)| gather(&n, d, root)).collect();
    let (forward_policy, backend) = match root {
        true => fill_rules(&mut nets),
        false => (None, None),
    };
    if json {
        show!("{}\n", to_json(&nets));
    } else {
        show!("{}", to_text(&nets, root));
        show!("firewall backend: {}\n", backend_text(backend));
        if forward_policy.as_deref() == Some("DROP") {
            show!(
                "host FORWARD policy: DROP (Docker sets it; our jumps come first, so guests still \
                 forward unless something inserts DROP rules above them)\n"
            );
        }
    }
    if let Some(n) = only {
        if definitions::path(&n).is_none() && !nets[0].bridge {
            say!("vnet-helper: no network or bridge named `{n}'");
            return Ok(1);
        }
    }
    Ok(0)
}

fn gather(name: &str, definition: Result<Definition>, root: bool) -> Net {
    let paths = paths::Network::new(name);
    let mut net = Net {
        name: name.to_string(),
        definition: definition.map_err(|e| e.to_string()),
        owner: definitions::user_owner(name),
        up: steps::is_up(&paths),
        dnsmasq_pid: dnsmasq::running(&paths),
        supervisor_pid: supervisor::alive(&paths)
            .then(|| supervisor::pid(&paths))
            .flatten(),
        limits_off: Vec::new(),
        leases: read_leases(&paths),
        bridge: false,
        taps: Vec::new(),
        rules: None,
        stale_peers: None,
        stale: None,
        foreign: Vec::new(),
        firewalld_zone: None,
        coexist: Vec::new(),
    };
    if let Some(pid) = net.supervisor_pid {
        net.limits_off = limits_off(pid);
    }
    let _ = bridge::with_rtnetlink(async |h| {
        if let Some(m) = bridge::link(h, name).await? {
            net.bridge = bridge::is_bridge(&m);
            for p in bridge::ports(h, m.header.index).await? {
                net.taps.push(Tap {
                    name: p.name,
                    attached: p.attached,
                    owners: Vec::new(),
                });
            }
        }
        Ok(())
    });
    if root {
        for t in &mut net.taps {
            t.owners = tap_owners(&t.name);
        }
    }
    net
}

/// The rows of /proc/PID/limits that are below what the helper sets
/// (privileges::DEFAULT_LIMITS), where the host's own limits (PID 1's) would
/// have allowed more: a hard limit the caller lowered that nobody could
/// raise again, because the host withholds CAP_SYS_RESOURCE even from root.
/// As "Max open files 64/64".
fn limits_off(pid: u32) -> Vec<String> {
    let ours = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
    let host = std::fs::read_to_string("/proc/1/limits").unwrap_or_default();
    let mut off = Vec::new();
    for &(res, soft, hard) in crate::privileges::DEFAULT_LIMITS {
        let Some(label) = limit_label(res) else {
            continue;
        };
        let Some((s, h)) = limit_row(&ours, label) else {
            continue;
        };
        let host_hard = limit_row(&host, label).map_or(hard, |(_, h)| h);
        let want_hard = hard.min(host_hard);
        if h < want_hard || s < soft.min(want_hard) {
            off.push(format!("{label} {}/{}", limit_text(s), limit_text(h)));
        }
    }
    off
}

/// The row name of a resource in /proc/PID/limits.
fn limit_label(res: libc::__rlimit_resource_t) -> Option<&'static str> {
    const NAMES: &[(libc::__rlimit_resource_t, &str)] = &[
        (libc::RLIMIT_CPU, "Max cpu time"),
        (libc::RLIMIT_FSIZE, "Max file size"),
        (libc::RLIMIT_DATA, "Max data size"),
        (libc::RLIMIT_STACK, "Max stack size"),
        (libc::RLIMIT_CORE, "Max core file size"),
        (libc::RLIMIT_NOFILE, "Max open files"),
        (libc::RLIMIT_AS, "Max address space"),
        (libc::RLIMIT_NPROC, "Max processes"),
        (libc::RLIMIT_MEMLOCK, "Max locked memory"),
        (libc::RLIMIT_LOCKS, "Max file locks"),
        (libc::RLIMIT_SIGPENDING, "Max pending signals"),
        (libc::RLIMIT_MSGQUEUE, "Max msgqueue size"),
        (libc::RLIMIT_NICE, "Max nice priority"),
        (libc::RLIMIT_RTPRIO, "Max realtime priority"),
        (libc::RLIMIT_RTTIME, "Max realtime timeout"),
    ];
    NAMES.iter().find(|(r, _)| *r == res).map(|(_, l)| *l)
}

/// (soft, hard) of one row of a /proc/PID/limits text.
fn limit_row(text: &str, label: &str) -> Option<(libc::rlim_t, libc::rlim_t)> {
    let row = text.lines().find_map(|l| l.strip_prefix(label))?;
    let mut cols = row.split_whitespace().map(|v| match v {
        "unlimited" => Some(libc::RLIM_INFINITY),
        n => n.parse().ok(),
    });
    Some((cols.next()??, cols.next()??))
}

fn limit_text(v: libc::rlim_t) -> String {
    match v {
        libc::RLIM_INFINITY => "unlimited".into(),
        n => n.to_string(),
    }
}

/// dnsmasq's lease file: "EXPIRY MAC IP HOSTNAME CLIENTID" per line.
pub(crate) fn read_leases(paths: &paths::Network) -> Vec<Lease> {
    let text = std::fs::read_to_string(paths.leases()).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 4 && !f[0].starts_with("duid")).then(|| Lease {
                expiry: f[0].to_string(),
                mac: f[1].to_string(),
                ip: f[2].to_string(),
                host: f[3].to_string(),
            })
        })
        .collect()
}

/// Processes holding a tun descriptor attached to `tap` (fdinfo "iff:").
fn tap_owners(tap: &str) -> Vec<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return out;
    };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(info) = std::fs::read_to_string(fd.path()) else {
                continue;
            };
            if info
                .lines()
                .any(|l| l.strip_prefix("iff:").map(str::trim) == Some(tap))
            {
                let uid = std::fs::metadata(format!("/proc/{pid}"))
                    .map(|m| m.uid())
                    .unwrap_or(u32::MAX);
                out.push((pid, uid));
                break;
            }
        }
    }
    out
}

/// The backend in use (as read by root), else as config.toml says.
fn backend_text(read: Option<firewall::Backend>) -> String {
    let setting = match firewall::config::load() {
        Ok(c) => c.firewall.as_str().to_string(),
        Err(e) => return format!("unknown ({e})"),
    };
    let chosen = read.or_else(|| {
        firewall::Backend::chosen()
            .ok()
            .and_then(|b| b.first().copied())
    });
    match chosen {
        Some(b) => format!("{} (config.toml: {setting})", b.as_str()),
        None => format!("unknown (config.toml: {setting})"),
    }
}

/// Firewall facts, root only: one read of the ruleset for every network
/// (an up network's rules present, a down network's leftovers); returns the
/// host's FORWARD policy and the backend that read.
fn fill_rules(nets: &mut [Net]) -> (Option<String>, Option<firewall::Backend>) {
    let Ok(fw) = firewall::current() else {
        return (None, None);
    };
    let host = match fw.host_ruleset() {
        Some(text) => text.to_string(),
        None => firewall::host_ruleset(),
    };
    for n in nets.iter_mut() {
        if let Ok(def) = &n.definition {
            n.foreign = firewall::foreign::diagnose(def, &host)
                .iter()
                .map(|f| f.line(&n.name))
                .collect();
        }
        if n.bridge {
            n.firewalld_zone = firewall::firewalld::zone_of(&n.name);
        }
    }
    for n in nets.iter_mut() {
        n.coexist = fw.coexistence(&n.name);
        if n.up {
            if let Ok(def) = &n.definition {
                let present = fw.present(def);
                n.stale_peers = fw.stale_peers(def);
                n.rules = Some(present || n.stale_peers.is_some());
            }
        } else {
            n.stale = Some(fw.leftovers(&n.name));
        }
    }
    (fw.forward_policy(), Some(fw.backend()))
}

fn to_text(nets: &[Net], root: bool) -> String {
    let mut s = String::new();
    if nets.is_empty() {
        s.push_str("no networks defined in /etc/vnet-helper/networks\n");
    }
    for n in nets {
        let state = if n.up { "up" } else { "down" };
        let _ = writeln!(s, "{}: {state}", n.name);
        if let Some((uid, owner)) = &n.owner {
            let _ = writeln!(s, "  owner: {owner} (uid {uid})");
        }
        match &n.definition {
            Ok(d) => {
                let addr = d.ipv4.map(|a| a.to_string()).unwrap_or_else(|| "-".into());
                let _ = writeln!(s, "  mode {}, address {addr}", d.mode);
            }
            Err(e) => {
                let _ = writeln!(s, "  definition: {e}");
            }
        }
        let _ = writeln!(
            s,
            "  bridge: {}",
            if n.bridge { "present" } else { "absent" }
        );
        let _ = writeln!(
            s,
            "  dnsmasq: {}",
            n.dnsmasq_pid
                .map(|p| format!("pid {p}"))
                .unwrap_or_else(|| "not running".into())
        );
        let _ = writeln!(
            s,
            "  supervisor: {}",
            n.supervisor_pid
                .map(|p| format!("pid {p}"))
                .unwrap_or_else(|| "not running".into())
        );
        if !n.limits_off.is_empty() {
            let _ = writeln!(
                s,
                "  resource limits NOT the defaults (the host withholds CAP_SYS_RESOURCE): {}",
                n.limits_off.join("; ")
            );
        }
        let _ = writeln!(s, "  firewall rules: {}", rules_text(n, root));
        host_firewall_text(&mut s, n);
        taps_text(&mut s, &n.taps);
        let _ = writeln!(s, "  leases: {}", n.leases.len());
        for l in &n.leases {
            let _ = writeln!(s, "    {} {} {} expires {}", l.mac, l.ip, l.host, l.expiry);
        }
    }
    s
}

/// What the host's own firewall does to the network (root): foreign tables
/// that drop its traffic, its firewalld zone, the accepts we added to the
/// host's iptables chains.
fn host_firewall_text(s: &mut String, n: &Net) {
    for f in &n.foreign {
        let _ = writeln!(s, "  host firewall: {f}");
    }
    match n.firewalld_zone.as_deref() {
        Some("") => {
            let _ = writeln!(
                s,
                "  firewalld zone: NONE (the default zone drops its traffic)"
            );
        }
        Some(z) => {
            let _ = writeln!(s, "  firewalld zone: {z}");
        }
        None => {}
    }
    for c in &n.coexist {
        let _ = writeln!(
            s,
            "  host iptables firewall would drop its traffic: accepts added in {c}"
        );
    }
}

/// The `firewall rules:` line: present, stale, missing or leftovers, with the
/// command that fixes it.
fn rules_text(n: &Net, root: bool) -> String {
    let stale_peers = n.stale_peers.as_ref().map(|p| peers_text(&n.name, p));
    match (n.up, n.rules, n.stale) {
        (true, Some(true), _) if stale_peers.is_some() => stale_peers.unwrap_or_default(),
        (true, Some(true), _) => "present".into(),
        (true, Some(false), _) => {
            format!("MISSING (run `vnet-helper up {}` to restore)", n.name)
        }
        (false, _, Some(false)) => "none (network down)".into(),
        (false, _, Some(true)) => format!(
            "LEFTOVERS of an earlier bring-up (`vnet-helper down --force {}` removes them)",
            n.name
        ),
        _ if root => "unknown".into(),
        _ => "unknown (root only)".into(),
    }
}

/// Rules in place whose isolation list is out of date, and the fix.
fn peers_text(name: &str, p: &firewall::StalePeers) -> String {
    let mut why = Vec::new();
    if !p.missing.is_empty() {
        why.push(format!("not yet isolated from {}", p.missing.join(", ")));
    }
    if !p.gone.is_empty() {
        why.push(format!(
            "still isolated from {} (no longer defined)",
            p.gone.join(", ")
        ));
    }
    format!(
        "present; isolation list stale: {} (`vnet-helper up {name}` refreshes it)",
        why.join("; ")
    )
}

/// The taps of one network, with their owners and whether they count.
fn taps_text(s: &mut String, taps: &[Tap]) {
    let _ = writeln!(s, "  taps: {}", taps.len());
    for t in taps {
        let owners: Vec<String> = t
            .owners
            .iter()
            .map(|(p, u)| format!("pid {p} uid {u}"))
            .collect();
        let owners = match owners.is_empty() {
            true => String::new(),
            false => format!(" ({})", owners.join(", ")),
        };
        let orphan = match t.attached {
            true => "",
            false => " [no process holds it: not counted as a guest]",
        };
        let _ = writeln!(s, "    {}{owners}{orphan}", t.name);
    }
}

pub(crate) fn q(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn to_json(nets: &[Net]) -> String {
    let items: Vec<String> = nets
        .iter()
        .map(|n| {
            let (mode, address, err) = match &n.definition {
                Ok(d) => (q(&d.mode.to_string()), d.ipv4.map(|a| q(&a.to_string())).unwrap_or("null".into()), "null".into()),
                Err(e) => ("null".into(), "null".into(), q(e)),
            };
            let taps: Vec<String> = n
                .taps
                .iter()
                .map(|t| {
                    let owners: Vec<String> =
                        t.owners.iter().map(|(p, u)| format!("{{\"pid\":{p},\"uid\":{u}}}")).collect();
                    format!(
                        "{{\"name\":{},\"attached\":{},\"owners\":[{}]}}",
                        q(&t.name),
                        t.attached,
                        owners.join(",")
                    )
                })
                .collect();
            let leases: Vec<String> = n
                .leases
                .iter()
                .map(|l| {
                    format!(
                        "{{\"mac\":{},\"ip\":{},\"hostname\":{},\"expiry\":{}}}",
                        q(&l.mac),
                        q(&l.ip),
                        q(&l.host),
                        q(&l.expiry)
                    )
                })
                .collect();
            format!(
                "{{\"name\":{},\"owner\":{},\"uid\":{},\"up\":{},\"mode\":{mode},\"address\":{address},\"definition_error\":{err},\"bridge\":{},\"dnsmasq_pid\":{},\"supervisor_pid\":{},\"rules_present\":{},\"stale_rules\":{},\"isolation_stale\":{},\"firewalld_zone\":{},\"taps\":[{}],\"leases\":[{}]}}",
                q(&n.name),
                n.owner.as_ref().map_or("null".into(), |(_, o)| q(o)),
                n.owner.as_ref().map_or("null".into(), |(u, _)| u.to_string()),
                n.up,
                n.bridge,
                n.dnsmasq_pid.map(|p| p.to_string()).unwrap_or("null".into()),
                n.supervisor_pid.map(|p| p.to_string()).unwrap_or("null".into()),
                n.rules.map(|r| r.to_string()).unwrap_or("null".into()),
                n.stale.map(|r| r.to_string()).unwrap_or("null".into()),
                n.rules.map(|_| n.stale_peers.is_some().to_string()).unwrap_or("null".into()),
                n.firewalld_zone.as_deref().map(q).unwrap_or("null".into()),
                taps.join(","),
                leases.join(",")
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_isolation_list_is_said_with_its_fix() {
        let p = firewall::StalePeers {
            missing: vec!["vn2".into(), "vn3".into()],
            gone: vec!["old".into()],
        };
        assert_eq!(
            peers_text("vn1", &p),
            "present; isolation list stale: not yet isolated from vn2, vn3; still isolated \
             from old (no longer defined) (`vnet-helper up vn1` refreshes it)"
        );
        let p = firewall::StalePeers {
            missing: vec!["vn2".into()],
            gone: vec![],
        };
        assert_eq!(
            peers_text("vn1", &p),
            "present; isolation list stale: not yet isolated from vn2 (`vnet-helper up vn1` \
             refreshes it)"
        );
    }

    #[test]
    fn limits_rows() {
        let text = "Limit                     Soft Limit           Hard Limit           Units\n\
                    Max open files            64                   64                   files\n\
                    Max processes             unlimited            unlimited            processes\n";
        assert_eq!(limit_row(text, "Max open files"), Some((64, 64)));
        assert_eq!(
            limit_row(text, "Max processes"),
            Some((libc::RLIM_INFINITY, libc::RLIM_INFINITY))
        );
        assert_eq!(limit_row(text, "Max cpu time"), None);
        assert_eq!(limit_label(libc::RLIMIT_NOFILE), Some("Max open files"));
        assert_eq!(limit_text(libc::RLIM_INFINITY), "unlimited");
    }

    fn opts(a: &[&str]) -> Result<(bool, Option<String>)> {
        let args: Vec<String> = a.iter().map(|s| s.to_string()).collect();
        parse_options(&args)
    }

    #[test]
    fn options_and_name() {
        assert_eq!(opts(&[]).unwrap(), (false, None));
        assert_eq!(
            opts(&["--json", "vnet0"]).unwrap(),
            (true, Some("vnet0".into()))
        );
    }

    #[test]
    fn unknown_options_are_echoed_escaped() {
        for (arg, shown) in [
            ("--x\x1b[2J", "--x\\x1b[2J"),
            ("-\0", "-\\x00"),
            ("--a\u{2028}b", "--a\\xe2\\x80\\xa8b"),
            ("-\u{202e}", "-\\xe2\\x80\\xae"),
        ] {
            let e = opts(&[arg]).unwrap_err();
            assert_eq!(e.message(), format!("status: unknown option `{shown}'"));
        }
        // A bad NAME is refused escaped too (the protocol's rule).
        let e = opts(&["a\x1bb"]).unwrap_err();
        assert!(e.message().contains("a\\x1bb"), "{e}");
        assert!(!e.message().chars().any(crate::output::non_printing));
    }
}
