//! Subcommands of the same binary (argv[1] is not the QEMU protocol). Each
//! lives in its own file; this one dispatches and holds their help texts.
//! Commands that change the host require a real uid of 0, whatever the
//! setuid bit gives; read-only ones give up every privilege first.

mod check;
mod mac;
mod status;
mod updown;

use crate::error::Result;
use crate::privileges::{self, Caller};

pub const HELP_STATUS: &str = "\
Usage: vnet-helper status [--json] [NAME]
Show every defined network (or NAME): up or down, bridge, addresses, attached
taps (with the owning process when run by root), DHCP leases, dnsmasq pid and,
when run by root, whether our firewall rules are in place. Changes nothing.";
pub const HELP_UP: &str = "\
Usage: vnet-helper up NAME          (root only)
Bring network NAME up now, or, if it is up, re-assert its firewall rules
(after a firewall reload) and make dnsmasq re-read its [[host]] entries.";
pub const HELP_DOWN: &str = "\
Usage: vnet-helper down [--force] NAME     (root only)
Tear network NAME down: dnsmasq, firewall rules, bridge, runtime files. The
lease file is kept. Refused while taps are attached unless --force.";
pub const HELP_CHECK: &str = "\
Usage: vnet-helper check
Validate /etc/qemu/bridge.conf (with its includes) and every network
definition in /etc/vnet-helper/networks; print every problem with file and
line. Exit 0 only if all is well. Run as a user, it checks what that user can
read.";
pub const HELP_MAC: &str = "\
Usage: vnet-helper mac [SEED]
Print a locally administered unicast MAC address in QEMU's 52:54:00 prefix:
random, or derived from SEED (e.g. a VM name) so the same SEED always gives
the same address. For -device virtio-net-pci,mac=...";

pub fn run(name: &str, args: &[String], caller: &Caller) -> Result<i32> {
    if args.iter().any(|a| a == "-h" || a == "--help") || name == "help" {
        let text = match name {
            "status" => HELP_STATUS,
            "up" => HELP_UP,
            "down" => HELP_DOWN,
            "check" => HELP_CHECK,
            "mac" => HELP_MAC,
            _ => crate::args::USAGE,
        };
        show!("{text}\n");
        return Ok(0);
    }
    match name {
        "status" => status::run(args, caller),
        "up" => updown::up(args, caller),
        "down" => updown::down(args, caller),
        "check" => check::run(args, caller),
        "mac" => mac::run(args, caller),
        // Internal: started by a bring-up (or systemd's vnet-helper@.service).
        "supervise" => {
            privileges::require_real_root(caller, "supervise")?;
            let name = one_name(args, "Usage: vnet-helper supervise NAME   (internal)")?;
            crate::network::supervisor::run(&name)
        }
        _ => Err(fail!("unknown command `{name}'")),
    }
}

/// One NAME argument that must be a valid bridge name.
fn one_name(args: &[String], usage: &str) -> Result<String> {
    match args {
        [n] if !n.starts_with('-') => {
            crate::ifname::check_bridge_name(n)?;
            Ok(n.clone())
        }
        _ => Err(fail!("{}", usage.lines().next().unwrap_or(usage))),
    }
}
