//! `vnet-helper net create|list|delete`: user networks (issue 12), run by
//! users without root, everything checked against the admin's policy
//! (`crate::usernet`). create and delete decide as root after detaching from
//! the caller, before any work; list gives up every privilege first. Every
//! create, delete and refusal is audited.

use std::fmt::Write as _;

use super::json::Value;
use crate::error::{Error, Result};
use crate::network::{bridge, definitions, lock, steps};
use crate::output::printable;
use crate::paths;
use crate::privileges::{self, Caller};
use crate::usernet::create::{self, Request};
use crate::usernet::membership::Accounts;
use crate::usernet::policy;
use crate::usernet::record::{self, Record};

pub const HELP_NET: &str = "\
Usage: vnet-helper net create NAME [--mode MODE] [--ipv6] [--forward PROTO:HOSTPORT:GUESTIP:GUESTPORT]...
       vnet-helper net list [--json]
       vnet-helper net delete [--force] NAME
Networks of your own, in a pool the admin delegates in
/etc/vnet-helper/user-networks.toml (NAME starts with the pool's prefix).
create allocates a free subnet and records the network (it comes up at the
first attach: -nic bridge,br=NAME,helper=...); GUESTIP is an address of the
subnet or .N (host N). list shows your networks (root: all). delete removes
one of yours (root: any; --force, root only, also when guests are attached).";

pub fn run(args: &[String], caller: &Caller) -> Result<i32> {
    match args.split_first() {
        Some((sub, rest)) if sub == "create" => create(rest, caller),
        Some((sub, rest)) if sub == "list" => list(rest, caller),
        Some((sub, rest)) if sub == "delete" => delete(rest, caller),
        _ => Err(fail!(
            "usage: vnet-helper net create|list|delete ... (see vnet-helper net --help)"
        )),
    }
}

/// Fetch the value of option `opt` (`--opt V` or `--opt=V`).
fn option_value<'a>(
    opt: &str,
    a: &'a str,
    it: &mut std::slice::Iter<'a, String>,
) -> Result<Option<&'a str>> {
    if a == opt {
        return it
            .next()
            .map(|v| Some(v.as_str()))
            .ok_or_else(|| fail!("net create: {opt} needs a value"));
    }
    Ok(a.strip_prefix(opt).and_then(|r| r.strip_prefix('=')))
}

fn parse_create(args: &[String]) -> Result<Request> {
    let mut req = Request::default();
    let mut name = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--ipv6" {
            req.ipv6 = true;
        } else if let Some(v) = option_value("--mode", a, &mut it)? {
            req.mode = Some(v.to_string());
        } else if let Some(v) = option_value("--forward", a, &mut it)? {
            req.forwards.push(v.to_string());
        } else if a.starts_with('-') {
            return Err(fail!(
                "net create: unknown option `{}'",
                printable(a.as_bytes())
            ));
        } else if name.replace(a.clone()).is_some() {
            return Err(fail!("net create: one NAME only"));
        }
    }
    req.name = name.ok_or_else(|| {
        fail!("usage: vnet-helper net create NAME [--mode MODE] [--ipv6] [--forward ...]")
    })?;
    Ok(req)
}

/// Root, detached from the caller: the decisions read root's files and the
/// caller must not be able to stop us while we hold a lock.
fn as_detached_root() -> Result<()> {
    privileges::become_root()?;
    privileges::detach_from_caller();
    Ok(())
}

fn create(args: &[String], caller: &Caller) -> Result<i32> {
    let req = parse_create(args)?;
    as_detached_root()?;
    let uid = caller.uid.as_raw();
    let result = (|| {
        let policy = policy::load()?.ok_or_else(|| {
            Error::denied(format!(
                "user networks are not enabled on this host ({} does not exist)",
                paths::USER_NETWORKS_POLICY
            ))
        })?;
        let accounts = Accounts::read();
        let (pool, mode) = create::precheck(&policy, &accounts, caller, &req)?;
        create::create(pool, mode, &req, caller, &accounts.user_name(uid))
    })();
    match result {
        Ok(rec) => {
            crate::audit::user_network(
                uid,
                &rec.name,
                &format!("created {} {}", rec.mode, rec.address.subnet()),
            );
            show!("{}", created_text(&rec));
            Ok(0)
        }
        Err(e) => {
            crate::audit::user_network_refused(uid, &req.name, e.message());
            Err(e)
        }
    }
}

/// What `net create` prints (the first line is the contract's).
fn created_text(rec: &Record) -> String {
    let def_range = crate::network::definition::values::default_range(&rec.address);
    let mut s = format!(
        "created {} ({}) for {}: gateway {}, DHCP {}-{}\n",
        rec.name, rec.mode, rec.owner_name, rec.address, def_range.0, def_range.1
    );
    if let Some(v6) = rec.ipv6 {
        let _ = writeln!(s, "IPv6: {v6} (router advertisements, DHCPv6)");
    }
    for f in &rec.forwards {
        let _ = writeln!(s, "forward: {}", record::forward_text(f));
    }
    let exe = std::fs::read_link("/proc/self/exe")
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "/usr/libexec/vnet-helper".into());
    let _ = writeln!(
        s,
        "use: qemu-system-x86_64 ... -nic bridge,br={},helper={exe}",
        rec.name
    );
    s
}

fn delete(args: &[String], caller: &Caller) -> Result<i32> {
    let force = args.iter().any(|a| a == "--force");
    let rest: Vec<&String> = args.iter().filter(|a| *a != "--force").collect();
    let [name] = rest[..] else {
        return Err(fail!("usage: vnet-helper net delete [--force] NAME"));
    };
    let uid = caller.uid.as_raw();
    let result = crate::ifname::check_managed_name(name)
        .map_err(|m| {
            Error::denied(format!(
                "invalid network name `{}': {m}",
                printable(name.as_bytes())
            ))
        })
        .and_then(|()| as_detached_root())
        .and_then(|()| delete_steps(name, force, caller));
    match result {
        Ok(()) => {
            crate::audit::user_network(uid, name, "deleted");
            show!("deleted {name}\n");
            Ok(0)
        }
        Err(e) => {
            crate::audit::user_network_refused(uid, name, e.message());
            Err(e)
        }
    }
}

fn delete_steps(name: &str, force: bool, caller: &Caller) -> Result<()> {
    if !record::exists(name) {
        return Err(Error::denied(format!("no user network named `{name}'")));
    }
    // Root may delete a record that no longer reads; nobody else may.
    match (record::load(name), caller.is_root()) {
        (Ok(r), false) if r.owner != caller.uid.as_raw() => {
            return Err(Error::denied(format!(
                "network `{name}' belongs to {}: only its owner or root may delete it",
                r.owner_name
            )))
        }
        (Err(e), false) => return Err(e),
        _ => {}
    }
    if force && !caller.is_root() {
        return Err(Error::denied("--force is for root only".to_string()));
    }
    privileges::reset_own_limits();
    lock::prepare_dirs()?;
    let _user_lock = lock::user_networks()?;
    let net = paths::Network::new(name);
    let _net_lock = lock::network(&net)?;
    // An admin definition of the same name wins: its network is not ours
    // to take down, only the record goes.
    if definitions::admin_path(name).is_none() {
        let taps = bridge::guests(name, None)?;
        if !taps.is_empty() && !force {
            return Err(Error::denied(format!(
                "network `{name}' is in use by {} taps ({}); stop its guests first",
                taps.len(),
                taps.join(", ")
            )));
        }
        // tear_down removes the runtime directory; the leases go too.
        steps::tear_down(&net)?;
        let _ = std::fs::remove_dir_all(&net.lib);
    }
    record::remove(name)?;
    drop(_net_lock);
    // Best effort (audited): a name left in another network's rules only
    // keeps out a bridge that no longer exists.
    let _ = create::reisolate(name);
    Ok(())
}

fn list(args: &[String], caller: &Caller) -> Result<i32> {
    let json = match args {
        [] => false,
        [a] if a == "--json" => true,
        _ => return Err(fail!("usage: vnet-helper net list [--json]")),
    };
    privileges::drop_all(caller)?;
    let mut rows = Vec::new();
    for name in record::names() {
        match record::load(&name) {
            Ok(r) if caller.is_root() || r.owner == caller.uid.as_raw() => rows.push(row(r)),
            Ok(_) => {}
            Err(e) if caller.is_root() => say!("vnet-helper: warning: {e}"),
            Err(_) => {}
        }
    }
    match json {
        true => show!("{}\n", to_json(&rows)),
        false => show!("{}", to_text(&rows)),
    }
    Ok(0)
}

struct Row {
    rec: Record,
    up: bool,
    taps: Vec<String>,
    leases: Vec<super::status::Lease>,
}

fn row(rec: Record) -> Row {
    let net = paths::Network::new(&rec.name);
    Row {
        up: steps::is_up(&net),
        taps: bridge::guests(&rec.name, None).unwrap_or_default(),
        leases: super::status::read_leases(&net),
        rec,
    }
}

fn to_text(rows: &[Row]) -> String {
    let mut s = format!(
        "{:<15} {:<12} {:<8} {:<18} {:<5} {:>4} {:>6}\n",
        "NAME", "OWNER", "MODE", "SUBNET", "STATE", "TAPS", "LEASES"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{:<15} {:<12} {:<8} {:<18} {:<5} {:>4} {:>6}",
            r.rec.name,
            r.rec.owner_name,
            r.rec.mode.as_str(),
            r.rec.address.subnet().to_string(),
            if r.up { "up" } else { "down" },
            r.taps.len(),
            r.leases.len()
        );
    }
    s
}

fn to_json(rows: &[Row]) -> String {
    rows.iter().map(row_json).collect::<Value>().render()
}

fn row_json(r: &Row) -> Value {
    let lease = |l: &super::status::Lease| {
        Value::Object(vec![
            ("mac", l.mac.as_str().into()),
            ("ip", l.ip.as_str().into()),
            ("hostname", l.host.as_str().into()),
        ])
    };
    let rec = &r.rec;
    Value::Object(vec![
        ("name", rec.name.as_str().into()),
        ("owner", rec.owner_name.as_str().into()),
        ("uid", rec.owner.into()),
        ("pool", rec.pool.as_str().into()),
        ("mode", rec.mode.as_str().into()),
        ("subnet", rec.address.subnet().to_string().into()),
        ("gateway", rec.address.address.to_string().into()),
        ("ipv6", rec.ipv6.map(|p| p.to_string()).into()),
        ("state", if r.up { "up" } else { "down" }.into()),
        ("taps", r.taps.iter().map(String::as_str).collect()),
        ("leases", r.leases.iter().map(lease).collect()),
        (
            "forwards",
            rec.forwards.iter().map(record::forward_text).collect(),
        ),
    ])
}
