//! A user network's record: /var/lib/vnet-helper/user-networks/NAME.toml,
//! root:root 0644, written by `net create` (atomically: a temporary file,
//! fsync, rename, fsync of the directory) under the user-networks lock.
//!
//! ```toml
//! owner = 1000
//! owner-name = "alice"
//! pool = "vu-"
//! mode = "nat"
//! address = "10.240.0.1/24"             # the gateway (first host) and the subnet
//! ipv6 = "fd42:ab:0:1::1/64"            # optional
//! forwards = ["tcp:20000:10.240.0.10:80"]
//! created = 1712345678                  # seconds since the epoch
//! ```
//!
//! Read back as strictly as a definition (root-owned, no symbolic link,
//! unknown keys are errors, "FILE:LINE: `key': ..."), and turned into an
//! ordinary [`Definition`] ([`Record::to_definition`]) with the pool's
//! idle-timeout at the time of use, so bring-up, supervisor, status,
//! isolation and teardown are the same code as for admin networks.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::policy::Pool;
use crate::error::{OrFail, Result};
use crate::netaddr::Prefix;
use crate::network::definition::parse::{toml_error, Ctx};
use crate::network::definition::raw::Scalar;
use crate::network::definition::values::{
    check_guest_v4, default_range, parse_ipv4_net, parse_ipv6_net, parse_port_range,
};
use crate::network::definition::{read_checked, Definition, Forward, Mode, Proto};
use crate::paths;

#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub name: String,
    pub owner: u32,
    /// For display (the passwd name at creation, or "uid N").
    pub owner_name: String,
    /// The pool's prefix.
    pub pool: String,
    pub mode: Mode,
    /// The bridge's address (the subnet's first host) and prefix.
    pub address: Prefix<Ipv4Addr>,
    pub ipv6: Option<Prefix<Ipv6Addr>>,
    pub forwards: Vec<Forward>,
    pub created: u64,
}

impl Record {
    /// The ordinary definition of this network, with `pool`'s settings.
    pub fn to_definition(&self, pool: &Pool) -> Definition {
        Definition {
            name: self.name.clone(),
            mode: self.mode,
            ipv4: Some(self.address),
            dhcp: Some(default_range(&self.address)),
            lease_time: Some(3600),
            dns: true,
            domain: None,
            uplink: None,
            mtu: None,
            idle_timeout: pool.idle_timeout,
            allow_default_route_uplink: false,
            ipv6: self.ipv6,
            ipv6_nat: self.mode == Mode::Nat && self.ipv6.is_some(),
            hosts: Vec::new(),
            forwards: self.forwards.clone(),
            peers: Vec::new(),
        }
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let forwards: Vec<String> = self
            .forwards
            .iter()
            .map(|f| format!("\"{}\"", forward_text(f)))
            .collect();
        let mut s = format!(
            "# vnet-helper user network `{}': written by `vnet-helper net create'; do not edit\n\
             owner = {}\nowner-name = \"{}\"\npool = \"{}\"\nmode = \"{}\"\naddress = \"{}\"\n",
            self.name, self.owner, self.owner_name, self.pool, self.mode, self.address
        );
        if let Some(v6) = self.ipv6 {
            s.push_str(&format!("ipv6 = \"{v6}\"\n"));
        }
        s.push_str(&format!(
            "forwards = [{}]\ncreated = {}\n",
            forwards.join(", "),
            self.created
        ));
        s
    }
}

/// "tcp:20000-20001:10.240.0.10:80", the form `--forward` takes.
pub fn forward_text(f: &Forward) -> String {
    let ports = match f.host_ports {
        (a, b) if a == b => a.to_string(),
        (a, b) => format!("{a}-{b}"),
    };
    format!("{}:{ports}:{}:{}", f.proto, f.to_ip, f.to_port)
}

/// PROTO:HOSTPORT:GUESTIP:GUESTPORT, GUESTIP a full address in `net` or
/// `.N` (host N of the subnet); not the gateway, network or broadcast
/// address; the guest port range must fit below 65536.
pub fn parse_forward(s: &str, net: &Prefix<Ipv4Addr>) -> std::result::Result<Forward, String> {
    let bad = || {
        format!("invalid forward `{s}' (expected PROTO:HOSTPORT:GUESTIP:GUESTPORT, e.g. tcp:20080:.10:80)")
    };
    let parts: Vec<&str> = s.split(':').collect();
    let [proto, hp, ip, gp] = parts[..] else {
        return Err(bad());
    };
    let proto = match proto {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        _ => return Err(format!("unknown protocol `{proto}' in `{s}' (tcp or udp)")),
    };
    let host_ports = parse_port_range(&Scalar::Str(hp.to_string()))?;
    let to_ip = match ip.strip_prefix('.') {
        Some(n) if !n.is_empty() && n.len() <= 10 && n.bytes().all(|b| b.is_ascii_digit()) => {
            let n: u32 = n.parse().map_err(|_| bad())?;
            let size = 1u64 << (32 - u32::from(net.prefix));
            if u64::from(n) >= size {
                return Err(format!("`.{n}' is outside the subnet {}", net.subnet()));
            }
            Ipv4Addr::from(u32::from(net.network()) + n)
        }
        Some(_) => return Err(bad()),
        None => ip.parse().map_err(|_| bad())?,
    };
    check_guest_v4(to_ip, net)?;
    let to_port = match parse_port_range(&Scalar::Str(gp.to_string()))? {
        (a, b) if a == b => a,
        _ => return Err(bad()),
    };
    if u32::from(to_port) + u32::from(host_ports.1 - host_ports.0) > 65535 {
        return Err(format!("the guest ports of `{s}' run past 65535"));
    }
    Ok(Forward {
        proto,
        host_ports,
        to_ip: IpAddr::V4(to_ip),
        to_port,
        host_address: None,
        line: 0,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRecord {
    owner: Option<Spanned<i64>>,
    owner_name: Option<Spanned<String>>,
    pool: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
    address: Option<Spanned<String>>,
    ipv6: Option<Spanned<String>>,
    forwards: Option<Spanned<Vec<String>>>,
    created: Option<Spanned<i64>>,
}

/// Parse a record; `file` is used in messages, `name` is the network name
/// (the file's stem, already through the strict name rule).
pub fn parse(text: &str, file: &str, name: &str) -> Result<Record> {
    let ctx = Ctx { file, text };
    let raw: RawRecord = toml::de::from_str(text).map_err(|e| toml_error(&ctx, &e))?;
    let missing = |key: &str| fail!("{file}: missing key `{key}'");
    let owner = raw.owner.as_ref().ok_or_else(|| missing("owner"))?;
    let owner_v =
        u32::try_from(*owner.get_ref()).map_err(|_| ctx.bad("owner", owner, "not a uid"))?;
    let owner_name = raw
        .owner_name
        .as_ref()
        .ok_or_else(|| missing("owner-name"))?;
    let shown = owner_name.get_ref();
    let shown_ok = shown.len() <= 40
        && shown
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b' '));
    if !shown_ok || shown.is_empty() {
        return Err(ctx.bad("owner-name", owner_name, "not a user name"));
    }
    let pool = raw.pool.as_ref().ok_or_else(|| missing("pool"))?;
    if !name.starts_with(pool.get_ref().as_str()) || pool.get_ref().is_empty() {
        return Err(ctx.bad(
            "pool",
            pool,
            format!("`{name}' does not start with `{}'", pool.get_ref()),
        ));
    }
    let mode = raw.mode.as_ref().ok_or_else(|| missing("mode"))?;
    let mode_v = match mode.get_ref().as_str() {
        "nat" => Mode::Nat,
        "isolated" => Mode::Isolated,
        "routed" => Mode::Routed,
        other => return Err(ctx.bad("mode", mode, format!("unknown mode `{other}'"))),
    };
    let address = raw.address.as_ref().ok_or_else(|| missing("address"))?;
    let address_v =
        parse_ipv4_net(address.get_ref()).map_err(|m| ctx.bad("address", address, m))?;
    let ipv6 = match &raw.ipv6 {
        None => None,
        Some(v) => Some(parse_ipv6_net(v.get_ref()).map_err(|m| ctx.bad("ipv6", v, m))?),
    };
    let mut forwards = Vec::new();
    if let Some(list) = &raw.forwards {
        for f in list.get_ref() {
            let mut fwd = parse_forward(f, &address_v).map_err(|m| ctx.bad("forwards", list, m))?;
            fwd.line = ctx.line(list);
            forwards.push(fwd);
        }
    }
    let created = raw.created.as_ref().ok_or_else(|| missing("created"))?;
    Ok(Record {
        name: name.to_string(),
        owner: owner_v,
        owner_name: shown.clone(),
        pool: pool.get_ref().clone(),
        mode: mode_v,
        address: address_v,
        ipv6,
        forwards,
        created: u64::try_from(*created.get_ref())
            .map_err(|_| ctx.bad("created", created, "negative"))?,
    })
}

/// Does network `name` have a record (one lstat)?
pub fn exists(name: &str) -> bool {
    nix::sys::stat::lstat(&paths::user_record(name)).is_ok()
}

/// Read and check the record of user network `name`.
pub fn load(name: &str) -> Result<Record> {
    crate::ifname::check_managed_name(name).map_err(|m| {
        fail!(
            "user network `{}': {m}",
            crate::output::printable(name.as_bytes())
        )
    })?;
    let path = paths::user_record(name);
    let shown = path.display().to_string();
    let text = read_checked(&path, &shown)?;
    parse(&text, &shown, name)
}

/// Every record file by network name (valid names only; `.tmp` files and
/// anything else are not records), sorted.
pub fn names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(paths::USER_NETWORKS_DIR)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    let stem = name.strip_suffix(".toml")?.to_string();
                    crate::ifname::check_managed_name(&stem)
                        .is_ok()
                        .then_some(stem)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The one temporary file of [`write`]: one name whatever the record, so a
/// write killed half-way (a caller's file-size limit raises SIGXFSZ) leaves
/// at most this file, which the next write replaces.
const TMP_NAME: &str = ".record.tmp";

/// Write the record atomically (as root, under the user-networks lock).
pub fn write(r: &Record) -> Result<()> {
    crate::network::lock::secure_dir(paths::LIB_DIR, 0o755)?;
    crate::network::lock::secure_dir(paths::USER_NETWORKS_DIR, 0o755)?;
    let path = paths::user_record(&r.name);
    let tmp = PathBuf::from(paths::USER_NETWORKS_DIR).join(TMP_NAME);
    let _ = std::fs::remove_file(&tmp);
    let written = (|| -> std::io::Result<()> {
        // The directory first: once renamed, the record exists, so nothing
        // that can fail (out of descriptors) may come after the rename.
        let dir = std::fs::File::open(paths::USER_NETWORKS_DIR)?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)?;
        f.write_all(r.render().as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        let _ = dir.sync_all();
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.or_fail(|| format!("writing {}", path.display()))
}

/// Remove the record (as root, under the user-networks lock).
pub fn remove(name: &str) -> Result<()> {
    let path = paths::user_record(name);
    std::fs::remove_file(&path).or_fail(|| format!("removing {}", path.display()))?;
    if let Ok(d) = std::fs::File::open(Path::new(paths::USER_NETWORKS_DIR)) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests;
