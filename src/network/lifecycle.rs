//! `ensure`: what an attach call does for a defined network before it makes
//! its tap. The warm path (the network is up and its supervisor alive) is a
//! lock and two cheap checks; otherwise a new supervisor adopts a network
//! that is up, or `steps::bring_up` makes it.

use crate::error::{Error, Result};
use crate::network::lock::{self, Lock};
use crate::network::supervisor::process as supervisor;
use crate::network::{definitions, firewall, steps};
use crate::paths;
use crate::privileges::{self, Caller};

/// Make sure network `name` is up; return its lock, held until the tap is on
/// the bridge so that a teardown cannot slip in between.
pub fn ensure(name: &str, caller: &Caller) -> Result<Lock> {
    lock::prepare_dirs()?;
    let net = paths::Network::new(name);
    let lock = lock::network(&net)?;
    let uid = caller.uid.as_raw();
    if net.up_marker().exists() {
        if supervisor::alive(&net) {
            return Ok(lock); // the warm path: two syscalls beyond the lock
        }
        // Up, but its supervisor died (SIGKILL, OOM): a new one adopts the
        // network (and its dnsmasq, if that still runs).
        privileges::reset_own_limits();
        if supervisor::start(&net).is_ok() {
            crate::audit::network(uid, name, "supervisor restarted");
            return Ok(lock);
        }
    }
    privileges::reset_own_limits();
    let def = definitions::load(name).map_err(|e| hide_from(caller, name, e))?;
    match steps::bring_up(&def, &net) {
        Ok(host_ruleset) => {
            crate::audit::network(uid, name, "brought up");
            warn_foreign_drops(&def, uid, host_ruleset);
            Ok(lock)
        }
        Err(e) => {
            crate::audit::network_failed(uid, name, e.message());
            Err(e)
        }
    }
}

/// A definition the caller may not read is not echoed to it (its values
/// could be secrets): it learns that the definition is invalid and where to
/// look; the details go to syslog.
fn hide_from(caller: &Caller, name: &str, e: Error) -> Error {
    if caller.may_read(&paths::definition(name)) {
        return e;
    }
    crate::audit::network_failed(caller.uid.as_raw(), name, e.message());
    fail!(
        "network `{name}': its definition is invalid (details in syslog; run `vnet-helper check' \
         as root)"
    )
}

/// The host's own nftables tables that would drop the network's traffic:
/// one warning line each on stderr (QEMU and libvirt show it) and in syslog,
/// naming the chain and the rules to add (`vnet-helper status` says it too).
/// `host_ruleset`: as the bring-up read it, if still current; else it is
/// read now.
fn warn_foreign_drops(
    def: &crate::network::definition::Definition,
    uid: u32,
    host_ruleset: Option<String>,
) {
    let ruleset = host_ruleset.unwrap_or_else(firewall::host_ruleset);
    for f in firewall::foreign::diagnose(def, &ruleset) {
        let line = f.line(&def.name);
        say!("vnet-helper: warning: {line}");
        crate::audit::network_failed(uid, &def.name, &line);
    }
}
