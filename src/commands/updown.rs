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
    // Run by the unit's ExecStop (`systemctl stop`): log to its journal.
    crate::audit::to_journal_stream(&name);
    let net = paths::Network::new(&name);
    let scope = check_defined(&name, &net, force)?;
    lock::prepare_dirs()?;
    let _lock = lock::network(&net)?;
    if scope == Scope::Leftovers {
        steps::remove_leftovers(&name)?;
        crate::audit::network(
            caller.uid.as_raw(),
            &name,
            "leftovers removed by `vnet-helper down --force'",
        );
        show!("{name}: leftovers removed\n");
        return Ok(0);
    }
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

/// What `down` takes down.
#[derive(Debug, PartialEq, Eq)]
enum Scope {
    /// The network, from its definition or its runtime state.
    Network,
    /// What is left of a network with neither (steps::leftovers).
    Leftovers,
}

/// `down` of a network without a definition file: refused, unless it has
/// runtime state (it was up when its file was deleted) or leftovers (rules,
/// our bridge) and --force is given; teardown then works from that state
/// and the name alone.
fn check_defined(name: &str, net: &paths::Network, force: bool) -> Result<Scope> {
    let file = paths::definition(name);
    if definitions::path(name).is_some() {
        return Ok(Scope::Network);
    }
    if net.run.exists() {
        return match force {
            true => Ok(Scope::Network),
            false => Err(fail!(
                "network `{name}' is up but its definition {} is gone; \
                 `vnet-helper down --force {name}' takes it down from what is running",
                file.display()
            )),
        };
    }
    let left = steps::leftovers(name);
    match (left.is_empty(), force) {
        (true, _) => Err(fail!(
            "no network named `{name}' is defined ({})",
            file.display()
        )),
        (false, false) => Err(fail!(
            "no network named `{name}' is defined ({}), but its {} are left; \
             `vnet-helper down --force {name}' removes them",
            file.display(),
            left.join(" and ")
        )),
        (false, true) => Ok(Scope::Leftovers),
    }
}
