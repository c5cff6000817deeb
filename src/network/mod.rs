//! Managed networks: an admin defines a network once in
//! /etc/vnet-helper/networks/NAME.toml and the first QEMU that asks for bridge
//! NAME gets it made on the spot (bridge, firewall rules, dnsmasq).
//!
//! `definition` reads and validates the file, `firewall` plans the rules and
//! `dnsmasq` writes its configuration; these three are pure planning (no system
//! calls apart from reading the definition file).

pub mod definition;
pub mod dnsmasq;
pub mod firewall;

// Carrying the plan out (system calls, as root, under the network's lock):
// `lock` (runtime directories and flock files), `state` (runtime files and the
// up check), `bridge` (rtnetlink), `exec` (running host tools cleanly),
// `lifecycle` (ensure / bring-up with undo / teardown).
pub mod bridge;
pub mod exec;
pub mod lifecycle;
pub mod lock;
pub mod state;
pub mod supervisor;

pub use lifecycle::{definition_path, ensure, DEFINITIONS_DIR};
