//! The attach decision for a bridge name that has no admin definition:
//! is it a user network the caller may use, one to create for the caller
//! (auto-create), or none of ours (the plain drop-in path, bridge.conf
//! decides)? Run as root after `privileges::detach_from_caller`.

use super::create::{self, Request};
use super::membership::Accounts;
use super::policy::{self, Policy};
use super::record;
use crate::error::{Error, Result};
use crate::network::bridge;
use crate::paths;
use crate::privileges::Caller;

/// What an attach to a non-admin name does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attach {
    /// A user network the caller may use (or has just created): bring it
    /// up and attach as for an admin network, bridge.conf not consulted.
    UserNetwork,
    /// Not a user network: the drop-in path, unchanged.
    Plain,
}

/// Could `name` be a user network at all (cheap: at most two lstat calls)?
/// When not, the attach takes the drop-in path without becoming root.
pub fn may_apply(name: &str) -> bool {
    crate::ifname::check_managed_name(name).is_ok() && (record::exists(name) || policy::exists())
}

/// Decide (and auto-create) for `name`. A refusal is an `Error::denied`.
pub fn decide(name: &str, caller: &Caller) -> Result<Attach> {
    if record::exists(name) {
        return owner_check(name, caller).map(|()| Attach::UserNetwork);
    }
    // No record: auto-create, or not ours. An invalid policy creates
    // nothing; bridge.conf still decides over the plain bridge.
    let Ok(Some(policy)) = policy::load() else {
        return Ok(Attach::Plain);
    };
    let Some(pool) = policy.pool_for(name).filter(|p| p.auto_create) else {
        return Ok(Attach::Plain);
    };
    let accounts = Accounts::read();
    if !caller.is_root() && !accounts.is_member(caller, &pool.users) {
        return Ok(Attach::Plain);
    }
    if bridge::with_rtnetlink(async |h| bridge::link(h, name).await)?.is_some() {
        return Ok(Attach::Plain);
    }
    auto_create(&policy, &accounts, name, caller)?;
    Ok(Attach::UserNetwork)
}

fn auto_create(policy: &Policy, accounts: &Accounts, name: &str, caller: &Caller) -> Result<()> {
    let req = Request {
        name: name.to_string(),
        ..Request::default()
    };
    let uid = caller.uid.as_raw();
    let result = create::precheck(policy, accounts, caller, &req).and_then(|(pool, mode)| {
        create::create(pool, mode, &req, caller, &accounts.user_name(uid))
    });
    match &result {
        Ok(r) => crate::audit::user_network(
            uid,
            name,
            &format!("created (auto-create) {}", r.address.subnet()),
        ),
        Err(e) => crate::audit::user_network_refused(uid, name, e.message()),
    }
    result.map(|_| ())
}

/// The owner (or root) may attach, and only while still a member of the
/// record's pool. Any problem with the record or the policy refuses.
fn owner_check(name: &str, caller: &Caller) -> Result<()> {
    let rec = record::load(name)?;
    if caller.is_root() {
        return Ok(());
    }
    if rec.owner != caller.uid.as_raw() {
        return Err(Error::denied(format!(
            "network `{name}' is a user network of {}: only its owner may attach",
            rec.owner_name
        )));
    }
    let no_longer = || {
        Error::denied(format!(
            "network `{name}': you are no longer a member of pool `{}'",
            rec.pool
        ))
    };
    let policy = policy::load()?.ok_or_else(|| {
        Error::denied(format!(
            "network `{name}': user networks are off ({} does not exist)",
            paths::USER_NETWORKS_POLICY
        ))
    })?;
    let pool = policy.pool(&rec.pool).ok_or_else(no_longer)?;
    if !Accounts::read().is_member(caller, &pool.users) {
        return Err(no_longer());
    }
    Ok(())
}
