//! The command line: QEMU's and libvirt's helper protocol, and the subcommands.
//!
//! Protocol (qemu-bridge-helper's): `--use-vnet`, `--br=NAME`, `--fd=N` in any
//! order; QEMU passes `--use-vnet --fd=N --br=NAME`, libvirt
//! `[--use-vnet] --br=NAME --fd=N`, and QEMU's `/bin/sh -c "<helper string>
//! ..."` form can repeat a flag: the last one wins. Anything else is a usage
//! error. Numbers are parsed strictly (no sign, no spaces, no trailing junk)
//! and bridge names are checked here (`ifname::check_bridge_name`), once, for
//! everything downstream.

use crate::error::Result;
use crate::ifname::check_bridge_name;
use crate::output::printable;

pub const USAGE: &str = "\
Usage: vnet-helper [--use-vnet] --br=BRIDGE --fd=UNIXFD
       vnet-helper status [--json] [NAME] | up NAME | down [--force] NAME | check | mac [SEED]
       vnet-helper net create NAME [--mode MODE] [--ipv6] [--forward P:HP:IP:GP]... | net list [--json]
                 | net delete [--force] NAME     (user networks, see `vnet-helper net --help')
       vnet-helper --help | --version

Creates a tap device on BRIDGE for an unprivileged QEMU and passes it over the
AF_UNIX socket UNIXFD, if /etc/qemu/bridge.conf allows BRIDGE to the caller.
If /etc/vnet-helper/networks/BRIDGE.toml defines a network, the bridge, its
firewall rules and dnsmasq are brought up first when they are not up yet.
A user network (`vnet-helper net create') is attached the same way, by its
owner only (bridge.conf is not consulted for it).";

/// What one attach call asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachRequest {
    pub bridge: String,
    pub fd: i32,
    pub vnet_hdr: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    Attach(AttachRequest),
    Help,
    Version,
    /// A subcommand and its arguments (argv[1..]).
    Command(String, Vec<String>),
}

/// Classify argv (including argv[0], which may be absent: argc == 0).
/// `is_command` says which words of argv[1] name a subcommand (the list is
/// `commands`'s), which makes the call not the QEMU protocol.
pub fn parse(argv: &[String], is_command: impl Fn(&str) -> bool) -> Result<Invocation> {
    let args = argv.get(1..).unwrap_or(&[]);
    match args.first().map(String::as_str) {
        None => return Err(fail!("no arguments given")),
        Some("-h") | Some("--help") => return Ok(Invocation::Help),
        Some("-V") | Some("--version") => return Ok(Invocation::Version),
        Some(c) if is_command(c) => {
            return Ok(Invocation::Command(c.to_string(), args[1..].to_vec()))
        }
        _ => {}
    }
    parse_protocol(args).map(Invocation::Attach)
}

fn parse_protocol(args: &[String]) -> Result<AttachRequest> {
    let mut bridge = None;
    let mut fd = None;
    let mut vnet_hdr = false;
    for arg in args {
        if arg == "--use-vnet" {
            vnet_hdr = true;
        } else if let Some(b) = arg.strip_prefix("--br=") {
            bridge = Some(b.to_string());
        } else if let Some(n) = arg.strip_prefix("--fd=") {
            fd = Some(n.to_string());
        } else {
            return Err(fail!("unknown argument `{}'", printable(arg.as_bytes())));
        }
    }
    let bridge = bridge.ok_or_else(|| fail!("missing --br=BRIDGE"))?;
    let fd = fd.ok_or_else(|| fail!("missing --fd=UNIXFD"))?;
    check_bridge_name(&bridge)?;
    Ok(AttachRequest {
        bridge,
        fd: parse_fd(&fd)?,
        vnet_hdr,
    })
}

/// `--fd=` value: plain decimal digits only, within the fd range.
pub fn parse_fd(s: &str) -> Result<i32> {
    let bad = || {
        fail!(
            "invalid --fd=`{}': expected a descriptor number",
            printable(s.as_bytes())
        )
    };
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    s.parse::<i32>().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With the real list of subcommands.
    fn parse(argv: &[String]) -> Result<Invocation> {
        super::parse(argv, crate::commands::exists)
    }

    fn argv(a: &[&str]) -> Vec<String> {
        std::iter::once("vnet-helper")
            .chain(a.iter().copied())
            .map(String::from)
            .collect()
    }
    fn attach(a: &[&str]) -> Result<AttachRequest> {
        match parse(&argv(a))? {
            Invocation::Attach(r) => Ok(r),
            other => panic!("not an attach: {other:?}"),
        }
    }

    #[test]
    fn qemu_and_libvirt_orders() {
        let want = AttachRequest {
            bridge: "br0".into(),
            fd: 5,
            vnet_hdr: true,
        };
        assert_eq!(attach(&["--use-vnet", "--fd=5", "--br=br0"]).unwrap(), want);
        assert_eq!(attach(&["--use-vnet", "--br=br0", "--fd=5"]).unwrap(), want);
        assert_eq!(attach(&["--br=br0", "--fd=5", "--use-vnet"]).unwrap(), want);
        let r = attach(&["--br=br0", "--fd=5"]).unwrap();
        assert!(!r.vnet_hdr);
    }

    #[test]
    fn repeated_flags_last_wins() {
        // QEMU: /bin/sh -c "helper --br=a --use-vnet --fd=3" (no second --br=).
        let r = attach(&[
            "--br=a",
            "--use-vnet",
            "--fd=3",
            "--br=b",
            "--fd=4",
            "--use-vnet",
        ])
        .unwrap();
        assert_eq!((r.bridge.as_str(), r.fd), ("b", 4));
    }

    #[test]
    fn missing_and_unknown() {
        assert!(parse(&argv(&[])).is_err());
        assert!(parse(&["x".to_string()][..0]).is_err()); // argc == 0
        assert!(attach(&["--br=br0"])
            .unwrap_err()
            .message()
            .contains("--fd"));
        assert!(attach(&["--fd=3"]).unwrap_err().message().contains("--br"));
        assert!(attach(&["--fd=3", "--br=br0", "--bogus"])
            .unwrap_err()
            .message()
            .contains("--bogus"));
        assert!(attach(&["--fd=3", "--br", "br0"]).is_err());
        assert!(attach(&["--fd=3", "--br=br0", "--use-vnet=1"]).is_err());
    }

    #[test]
    fn help_version_commands() {
        assert_eq!(parse(&argv(&["--help"])).unwrap(), Invocation::Help);
        assert_eq!(parse(&argv(&["-h"])).unwrap(), Invocation::Help);
        assert_eq!(parse(&argv(&["-V"])).unwrap(), Invocation::Version);
        assert_eq!(
            parse(&argv(&["status", "--json"])).unwrap(),
            Invocation::Command("status".into(), vec!["--json".into()])
        );
    }

    #[test]
    fn strict_fd_numbers() {
        for bad in [
            "",
            "-1",
            "+3",
            " 3",
            "3 ",
            "3x",
            "0x3",
            "4294967299",
            "99999999999",
            "٣",
        ] {
            assert!(parse_fd(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(parse_fd("0").unwrap(), 0);
        assert_eq!(parse_fd("017").unwrap(), 17);
        assert_eq!(parse_fd("123456789").unwrap(), 123456789);
    }
}
