//! dnsmasq, the DHCP and DNS server of a managed network: everything about it
//! lives here. `config` writes its configuration text (pure, exact-text
//! tested); `process` writes the files, starts it, tells whether it runs, has
//! it re-read its hosts and stops it.

pub mod config;
pub mod process;

pub use process::{reap, reload_hosts, running, start, stop};
