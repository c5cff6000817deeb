//! `vnet-helper up NAME` and `vnet-helper down [--force] NAME` (root only):
//! an admin's hands on a network's lifecycle, under the same per-network lock
//! as attaches, so they never race with a QEMU starting.

use crate::error::Result;
use crate::network::state::Paths;
use crate::network::{bridge, lifecycle, lock};
use crate::privileges::{self, Caller};

pub fn up(args: &[String], caller: &Caller) -> Result<i32> {
    privileges::require_real_root(caller, "up")?;
    let name = super::one_name(args, super::HELP_UP)?;
    let def = lifecycle::load_definition(&name)?;
    lock::prepare_dirs()?;
    let _lock = lock::network(&name)?;
    let paths = Paths::new(&name);
    if lifecycle::is_up(&paths) {
        lifecycle::refresh(&def, &paths)?;
        show!("{name}: already up; firewall rules re-asserted, dnsmasq hosts reloaded\n");
    } else {
        lifecycle::bring_up(&def, &paths)?;
        crate::audit::network(caller.uid.as_raw(), &name, "brought up by `vnet-helper up'");
        show!("{name}: up\n");
    }
    Ok(0)
}

pub fn down(args: &[String], caller: &Caller) -> Result<i32> {
    privileges::require_real_root(caller, "down")?;
    let force = args.iter().any(|a| a == "--force");
    let rest: Vec<String> = args.iter().filter(|a| *a != "--force").cloned().collect();
    let name = super::one_name(&rest, super::HELP_DOWN)?;
    if lifecycle::definition_path(&name).is_none() {
        return Err(fail!(
            "no network named `{name}' is defined (/etc/vnet-helper/networks/{name}.toml)"
        ));
    }
    lock::prepare_dirs()?;
    let _lock = lock::network(&name)?;
    // A bridged network's uplink is a port too, but not a guest.
    let uplink = lifecycle::load_definition(&name)
        .ok()
        .and_then(|d| d.uplink);
    let taps: Vec<String> =
        bridge::with_rtnetlink(async |h| match bridge::link(h, &name).await? {
            Some(m) => bridge::ports(h, m.header.index).await,
            None => Ok(Vec::new()),
        })?
        .into_iter()
        .filter(|p| Some(p) != uplink.as_ref())
        .collect();
    if !taps.is_empty() && !force {
        return Err(fail!(
            "network `{name}' still has {} attached port(s) ({}); use --force to take it down anyway",
            taps.len(),
            taps.join(", ")
        ));
    }
    lifecycle::tear_down(&name)?;
    crate::audit::network(
        caller.uid.as_raw(),
        &name,
        "taken down by `vnet-helper down'",
    );
    show!("{name}: down\n");
    Ok(0)
}
