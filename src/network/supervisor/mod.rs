//! The per-network supervisor: one detached root process per network that is
//! up, started by the bring-up (or by the first call that finds the network up
//! with no supervisor, which then adopts it).
//!
//! `process` is how others see it (start, find, stop: below the bring-up
//! steps); `watch` is the supervisor itself (`vnet-helper supervise NAME`):
//! it keeps dnsmasq running, watches the bridge's ports, and tears the
//! network down through `steps` when it has been idle (above them); `ports`
//! is its picture of the bridge's ports, kept from link notifications;
//! `heal` puts the firewall rules and the firewalld binding back when they
//! vanish.

pub mod heal;
pub mod ports;
pub mod process;
pub mod watch;
