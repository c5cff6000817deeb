//! `vnet-helper up NAME` and `vnet-helper down [--force] NAME` (root only):
//! an admin's hands on a network's lifecycle, under the same per-network lock
//! as attaches, so they never race with a QEMU starting. Teardown needs only
//! the name, so `down --force` also takes down a network whose definition
//! was deleted while it was up (the package's prerm relies on that).

use crate::error::Result;
use crate::network::{bridge, definitions, lock, steps};
use crate::paths;
use crate::privileges::{self, Caller};

pub fn up(args: &[String], caller: &Caller) -> Result<i32> {
    privileges::require_real_root(caller, "up")?;
    let name = super::one_name(args, super::HELP_UP)?;
    let def = definitions::load(&name)?;
    lock::prepare_dirs()?;
    let net = paths::Network::new(&name);
    let _lock = lock::network(&net)?;
    if steps::is_up(&net) {
        steps::refresh(&def, &net)?;
        show!("{name}: already up; firewall rules re-asserted, dnsmasq hosts reloaded\n");
    } else {
        steps::bring_up(&def, &net)?;
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
    let net = paths::Network::new(&name);
    check_defined(&name, &net, force)?;
    lock::prepare_dirs()?;
    let _lock = lock::network(&net)?;
    // A bridged network's uplink is a port too, but not a guest; neither is
    // a tap that no process holds.
    let uplink = definitions::load(&name).ok().and_then(|d| d.uplink);
    let taps = bridge::guests(&name, uplink.as_deref())?;
    if !taps.is_empty() && !force {
        return Err(fail!(
            "network `{name}' still has {} attached port(s) ({}); use --force to take it down anyway",
            taps.len(),
            taps.join(", ")
        ));
    }
    steps::tear_down(&net)?;
    crate::audit::network(
        caller.uid.as_raw(),
        &name,
        "taken down by `vnet-helper down'",
    );
    show!("{name}: down\n");
    Ok(0)
}

/// `down` of a network without a definition file: refused, unless it has
/// runtime state (it was up when its file was deleted) and --force is given;
/// teardown then works from that state and the name alone.
fn check_defined(name: &str, net: &paths::Network, force: bool) -> Result<()> {
    let file = paths::definition(name);
    match (definitions::path(name).is_some(), net.run.exists(), force) {
        (true, _, _) | (false, true, true) => Ok(()),
        (false, false, _) => Err(fail!(
            "no network named `{name}' is defined ({})",
            file.display()
        )),
        (false, true, false) => Err(fail!(
            "network `{name}' is up but its definition {} is gone; \
             `vnet-helper down --force {name}' takes it down from what is running",
            file.display()
        )),
    }
}
