//! Managed networks: an admin defines a network once in
//! /etc/vnet-helper/networks/NAME.toml and the first QEMU that asks for bridge
//! NAME gets it made on the spot (bridge, firewall rules, dnsmasq).
//!
//! Planning (pure, exact-text tested): `definition` reads and validates one
//! file; `firewall` plans the rules; `dnsmasq::config` writes dnsmasq's
//! configuration.
//!
//! Owners of a network's resources (system calls, as root, under the
//! network's lock): `definitions` (which networks exist, loading one with its
//! peers), `bridge` (rtnetlink), `sysctl` (forwarding, bridge IPv6 settings),
//! `firewall` (its runner applies and removes the plan), `dnsmasq::process`,
//! `supervisor` (`process`: start/find/stop; `watch`: the daemon), `lock`
//! (directories and flock files; where everything is: `crate::paths`),
//! `exec` (running host tools cleanly), `guard` (undoes a bring-up that was
//! killed half-way).
//!
//! Sequencing: `steps` (bring-up with undo, teardown, refresh) and
//! `lifecycle::ensure` (what an attach needs). Imports only go downwards:
//! lifecycle -> steps -> resource owners; supervisor::watch -> steps.

pub mod bridge;
pub mod definition;
pub mod definitions;
pub mod dnsmasq;
pub mod exec;
pub mod firewall;
pub mod guard;
pub mod lifecycle;
pub mod lock;
pub mod steps;
pub mod supervisor;
pub mod sysctl;

pub use lifecycle::ensure;
