//! Subcommands of the same binary (argv[1] is not the QEMU protocol). Each
//! lives in its own file; this one dispatches and holds their help texts.
//! Commands that change the host require a real uid of 0, whatever the
//! setuid bit gives; read-only ones give up every privilege first.

mod check;
mod json;
mod mac;
mod net;
pub(crate) mod status;
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
lease file is kept. Refused while taps are attached unless --force; --force
also takes down a network whose definition file was deleted while it was up.";
pub const HELP_CHECK: &str = "\
Usage: vnet-helper check
Validate /etc/qemu/bridge.conf (with its includes), every network
definition in /etc/vnet-helper/networks, the user-networks policy
(/etc/vnet-helper/user-networks.toml) and every user network record;
print every problem with file and
line. Exit 0 only if all is well. Run as a user, it checks what that user can
read.";
pub const HELP_MAC: &str = "\
Usage: vnet-helper mac [SEED]
Print a locally administered unicast MAC address in QEMU's 52:54:00 prefix:
random, or derived from SEED (e.g. a VM name) so the same SEED always gives
the same address. For -device virtio-net-pci,mac=...";

/// One subcommand: its name (argv[1]), its help text, and its function.
struct Command {
    name: &'static str,
    help: &'static str,
    run: fn(&[String], &Caller) -> Result<i32>,
}

const HELP_SUPERVISE: &str = "Usage: vnet-helper supervise [--bring-up] NAME   (internal)";
const HELP_GUARD: &str = "Usage: vnet-helper guard NAME   (internal)";

/// Every subcommand, the one list of them.
const COMMANDS: &[Command] = &[
    Command {
        name: "status",
        help: HELP_STATUS,
        run: status::run,
    },
    Command {
        name: "up",
        help: HELP_UP,
        run: updown::up,
    },
    Command {
        name: "down",
        help: HELP_DOWN,
        run: updown::down,
    },
    Command {
        name: "check",
        help: HELP_CHECK,
        run: check::run,
    },
    Command {
        name: "mac",
        help: HELP_MAC,
        run: mac::run,
    },
    Command {
        name: "net",
        help: net::HELP_NET,
        run: net::run,
    },
    Command {
        name: "help",
        help: crate::args::USAGE,
        run: help,
    },
    // Internal: started by a bring-up (or systemd's vnet-helper@.service).
    Command {
        name: "supervise",
        help: HELP_SUPERVISE,
        run: supervise,
    },
    // Internal: started by a bring-up, undoes it if it is killed half-way.
    Command {
        name: "guard",
        help: HELP_GUARD,
        run: guard,
    },
];

/// Is argv[1] a subcommand (rather than the QEMU protocol)?
pub fn exists(name: &str) -> bool {
    COMMANDS.iter().any(|c| c.name == name)
}

pub fn run(name: &str, args: &[String], caller: &Caller) -> Result<i32> {
    let Some(cmd) = COMMANDS.iter().find(|c| c.name == name) else {
        return Err(fail!(
            "unknown command `{}'",
            crate::output::printable(name.as_bytes())
        ));
    };
    if args.iter().any(|a| a == "-h" || a == "--help") {
        show!("{}\n", cmd.help);
        return Ok(0);
    }
    (cmd.run)(args, caller)
}

fn help(_args: &[String], _caller: &Caller) -> Result<i32> {
    show!("{}\n", crate::args::USAGE);
    Ok(0)
}

fn supervise(args: &[String], caller: &Caller) -> Result<i32> {
    privileges::require_real_root(caller, "supervise")?;
    let (bring_up, args) = match args {
        [flag, rest @ ..] if flag == "--bring-up" => (true, rest),
        _ => (false, args),
    };
    let name = one_name(args, HELP_SUPERVISE)?;
    crate::network::supervisor::watch::run(&name, bring_up)
}

fn guard(args: &[String], caller: &Caller) -> Result<i32> {
    privileges::require_real_root(caller, "guard")?;
    let name = one_name(args, HELP_GUARD)?;
    let net = crate::paths::Network::new(&name);
    if !crate::network::guard::bring_up_abandoned() {
        return Ok(0);
    }
    crate::network::steps::finish_abandoned(&net).map(|()| 0)
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
