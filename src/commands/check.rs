//! `vnet-helper check`: validate the ACL (with includes), config.toml and
//! every network definition, the user-networks policy and every user
//! network record, print every problem with file and line, exit 0 only if all is
//! well (like `visudo -c` or `nginx -t`). Runs with the caller's permissions:
//! a user sees what the helper would see when called by them.

use std::net::Ipv4Addr;

use crate::acl::{self, Severity};
use crate::error::Result;
use crate::netaddr::Prefix;
use crate::network::{definition, definitions, firewall};
use crate::paths;
use crate::privileges::{self, Caller};

pub fn run(args: &[String], caller: &Caller) -> Result<i32> {
    if !args.is_empty() {
        return Err(fail!("usage: vnet-helper check"));
    }
    privileges::drop_all(caller)?;
    let mut problems = 0;

    acl::validate(&acl::SystemFiles, paths::ACL_FILE, &mut |p| {
        // An include this user may not read is how per-user files work.
        if p.denied && !matches!(p.severity, Severity::Fatal) {
            say!(
                "note: {p} (not readable by uid {}: ignored for this user)",
                caller.uid
            );
        } else {
            problems += 1;
            say!("{p}");
        }
    });

    // The firewall backend setting (/etc/vnet-helper/config.toml).
    if let Err(e) = firewall::config::load() {
        problems += 1;
        say!("{e}");
    }

    let mut subnets: Vec<(String, Prefix<Ipv4Addr>)> = Vec::new();
    let mut zones_needed: Vec<&'static str> = Vec::new();
    let host = match caller.is_root() {
        true => firewall::host_ruleset(),
        false => String::new(),
    };
    for name in definitions::files() {
        let path = paths::definition(&name);
        if let Err(e) = crate::ifname::check_managed_name(&name) {
            problems += 1;
            say!(
                "{}: the file name is not a valid network name: {e}; it defines no network",
                crate::output::printable(path.as_os_str().as_encoded_bytes())
            );
            continue;
        }
        match definition::load(&path, &name) {
            Ok(def) => {
                zones_needed.extend(firewall::firewalld::zone_for(&def));
                // The host's own nftables chains that would drop this
                // network's traffic (root only: reading them needs it).
                for f in firewall::foreign::diagnose(&def, &host) {
                    problems += 1;
                    say!("{}", f.line(&name));
                }
                if let Some(net) = def.subnet() {
                    for (other, theirs) in &subnets {
                        if net.overlaps(theirs) {
                            problems += 1;
                            say!(
                                "{}: subnet {net} overlaps network `{other}' ({theirs})",
                                path.display()
                            );
                        }
                    }
                    subnets.push((name.clone(), net));
                }
            }
            Err(e) => {
                problems += 1;
                say!("{e}");
            }
        }
    }
    problems += check_user_networks(&subnets);
    problems += check_firewalld_zones(&zones_needed);
    if problems == 0 {
        show!("vnet-helper check: no problems found\n");
        Ok(0)
    } else {
        say!("vnet-helper check: {problems} problem(s) found");
        Ok(1)
    }
}

/// The user-networks policy and every record: one line per problem (the
/// number of them); unknown users and groups are warnings (they grant
/// nothing), and a note says that user networks do not need bridge.conf.
fn check_user_networks(admin: &[(String, Prefix<Ipv4Addr>)]) -> usize {
    use crate::usernet::{membership::Accounts, policy, record};
    let mut problems = 0;
    let policy = policy::load().unwrap_or_else(|e| {
        problems += 1;
        say!("{e}");
        None
    });
    let shown = paths::USER_NETWORKS_POLICY;
    if let Some(p) = &policy {
        let acc = Accounts::read();
        for pool in &p.pools {
            for u in &pool.users {
                let known = match u.strip_prefix('@') {
                    Some(g) => acc.groups.id(g).is_some(),
                    None => acc.users.id(u).is_some(),
                };
                if !known {
                    say!(
                        "warning: {shown}:{}: `users': `{u}' does not exist (grants nothing)",
                        pool.line
                    );
                }
            }
            for (name, net) in admin {
                if let Some(s) = pool.subnets.iter().find(|s| s.overlaps(net)) {
                    problems += 1;
                    say!(
                        "{shown}:{}: `subnets': {s} overlaps network `{name}' ({net})",
                        pool.line
                    );
                }
            }
        }
        say!("note: user networks do not need /etc/qemu/bridge.conf: only a network's owner (or root) may attach to it");
    }
    let mut seen: Vec<(String, Prefix<Ipv4Addr>)> = admin.to_vec();
    for name in record::names() {
        let file = paths::user_record(&name);
        let rec = match record::load(&name) {
            Ok(r) => r,
            Err(e) => {
                problems += 1;
                say!("{e}");
                continue;
            }
        };
        let why = if let Some(def) = definitions::admin_path(&name) {
            Some(format!(
                "network `{name}' also has an admin definition ({}), which wins",
                def.display()
            ))
        } else if policy.is_none() {
            Some(format!(
                "user network `{name}', but {shown} does not exist or is invalid"
            ))
        } else if policy.as_ref().and_then(|p| p.pool(&rec.pool)).is_none() {
            Some(format!("its pool `{}' is not in {shown}", rec.pool))
        } else {
            let net = rec.address.subnet();
            seen.iter()
                .find(|(_, s)| s.overlaps(&net))
                .map(|(o, s)| format!("subnet {net} overlaps network `{o}' ({s})"))
        };
        if let Some(why) = why {
            problems += 1;
            say!("{}: {why}", file.display());
        }
        seen.push((name, rec.address.subnet()));
    }
    problems
}

/// When firewalld runs: is every zone the defined networks need installed
/// and loaded? One line per zone that is not; the number of problems.
fn check_firewalld_zones(needed: &[&'static str]) -> usize {
    use firewall::firewalld;
    let Some(loaded) = firewalld::loaded_zones() else {
        return 0; // firewalld does not run (or will not tell this user)
    };
    let mut zones = needed.to_vec();
    zones.sort_unstable();
    zones.dedup();
    let mut problems = 0;
    for z in zones {
        if loaded.iter().any(|l| l == z) {
            continue;
        }
        problems += 1;
        match firewalld::zone_file_present(z) {
            true => say!(
                "firewalld runs but has not loaded zone `{z}' ({} is installed): run \
                 `firewall-cmd --reload'",
                firewalld::zone_file(z)
            ),
            false => say!(
                "firewalld runs but zone `{z}' is not installed: install {} (from \
                 packaging/firewalld/; install.sh does), then run `firewall-cmd --reload'",
                firewalld::zone_file(z)
            ),
        }
    }
    problems
}
