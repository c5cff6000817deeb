//! Every file and directory vnet-helper reads or writes, in one place.
//!
//! The layout keeps what belongs to one network apart from what is shared, so
//! that no valid network name can ever name a shared file (a network called
//! `lock` or `firewall` is just another directory entry under `networks/`):
//!
//! ```text
//! /etc/qemu/bridge.conf                     the ACL (qemu-bridge-helper's)
//! /etc/vnet-helper/networks/NAME.toml       network definitions
//! /etc/vnet-helper/config.toml              settings (firewall backend), optional
//! /etc/vnet-helper/user-networks.toml       the pools users create networks in, optional
//! /run/vnet-helper/                         root 0755
//!   networks/NAME/                          root 0755, one network's runtime files:
//!                                           dnsmasq.conf, dhcp-hosts, addn-hosts,
//!                                           dnsmasq.pid, supervisor
//!                                           (its status), the markers `pending`
//!                                           (a bring-up started) and `up` (it finished)
//!   iptables-created                        tables and base chains iptables-nft made
//!                                           for us, deleted again when empty
//!   nft-listing                             root 0600, the last `nft -a list ruleset`
//!                                           and the ruleset generation it was taken at
//!   lock/                                   root 0700
//!     firewall.lock                         any change to the shared firewall state
//!     networks/NAME.lock                    bring-up, attach and teardown of NAME
//!     supervisors/NAME.lock                 held by NAME's supervisor while it lives
//!     user-networks.lock                    creating and deleting user networks
//! /var/lib/vnet-helper/                     root 0755
//!   networks/NAME/dnsmasq.leases            kept across teardowns and reboots
//!   user-networks/                          root 0755
//!     NAME.toml                             a user network's record (owner, subnet...)
//! ```
//!
//! Lease files of the earlier layout (/var/lib/vnet-helper/NAME/) are moved
//! into place by [`Network::adopt_old_leases`].

use std::path::{Path, PathBuf};

/// The ACL file qemu-bridge-helper reads.
pub const ACL_FILE: &str = "/etc/qemu/bridge.conf";
/// Where an admin defines networks, one NAME.toml each.
pub const DEFINITIONS_DIR: &str = "/etc/vnet-helper/networks";
/// The helper's own settings (the firewall backend); optional.
pub const CONFIG_FILE: &str = "/etc/vnet-helper/config.toml";

/// The admin's policy for networks that users create (usernet::policy).
pub const USER_NETWORKS_POLICY: &str = "/etc/vnet-helper/user-networks.toml";
/// One record per user network, NAME.toml (usernet::record).
pub const USER_NETWORKS_DIR: &str = "/var/lib/vnet-helper/user-networks";
/// Held while user networks are created or deleted (allocation, quota).
pub const USER_NETWORKS_LOCK: &str = "/run/vnet-helper/lock/user-networks.lock";

pub const RUN_DIR: &str = "/run/vnet-helper";
pub const RUN_NETWORKS_DIR: &str = "/run/vnet-helper/networks";
pub const LOCK_DIR: &str = "/run/vnet-helper/lock";
pub const NETWORK_LOCKS_DIR: &str = "/run/vnet-helper/lock/networks";
pub const SUPERVISOR_LOCKS_DIR: &str = "/run/vnet-helper/lock/supervisors";
pub const FIREWALL_LOCK: &str = "/run/vnet-helper/lock/firewall.lock";
/// The tables and base chains iptables-nft created for our rules (one
/// `FAMILY TABLE [CHAIN]` a line), written under the firewall lock.
pub const IPTABLES_CREATED: &str = "/run/vnet-helper/iptables-created";
/// The nftables driver's last `nft -a list ruleset`, with the ruleset's
/// generation it was taken at (firewall/nftables/cache.rs); root's, 0600.
pub const NFT_LISTING_CACHE: &str = "/run/vnet-helper/nft-listing";
pub const LIB_DIR: &str = "/var/lib/vnet-helper";
pub const LIB_NETWORKS_DIR: &str = "/var/lib/vnet-helper/networks";

/// Where the supervisor's systemd template unit may be installed: by
/// install.sh (/etc), by the Debian package (/lib, or /usr/lib on a merged
/// /usr); and the directory whose existence means systemd is PID 1.
pub const SUPERVISOR_UNITS: &[&str] = &[
    "/etc/systemd/system/vnet-helper@.service",
    "/lib/systemd/system/vnet-helper@.service",
    "/usr/lib/systemd/system/vnet-helper@.service",
];
pub const SYSTEMD_RUNTIME_DIR: &str = "/run/systemd/system";

/// The shared directories, in creation order, with their modes.
pub const SHARED_DIRS: &[(&str, u32)] = &[
    (RUN_DIR, 0o755),
    (RUN_NETWORKS_DIR, 0o755),
    (LOCK_DIR, 0o700),
    (NETWORK_LOCKS_DIR, 0o700),
    (SUPERVISOR_LOCKS_DIR, 0o700),
    (LIB_DIR, 0o755),
    (LIB_NETWORKS_DIR, 0o755),
];

/// The definition file of network `name` (which may not exist).
pub fn definition(name: &str) -> PathBuf {
    Path::new(DEFINITIONS_DIR).join(format!("{name}.toml"))
}

/// The record of user network `name` (which may not exist).
pub fn user_record(name: &str) -> PathBuf {
    Path::new(USER_NETWORKS_DIR).join(format!("{name}.toml"))
}

/// One network's paths. `name` has passed the strict network-name rule: no
/// '/', not "." or "..".
#[derive(Debug, Clone)]
pub struct Network {
    pub name: String,
    /// /run/vnet-helper/networks/NAME
    pub run: PathBuf,
    /// /var/lib/vnet-helper/networks/NAME
    pub lib: PathBuf,
}

impl Network {
    pub fn new(name: &str) -> Network {
        Network {
            name: name.to_string(),
            run: Path::new(RUN_NETWORKS_DIR).join(name),
            lib: Path::new(LIB_NETWORKS_DIR).join(name),
        }
    }
    pub fn lock(&self) -> PathBuf {
        Path::new(NETWORK_LOCKS_DIR).join(format!("{}.lock", self.name))
    }
    pub fn supervisor_lock(&self) -> PathBuf {
        Path::new(SUPERVISOR_LOCKS_DIR).join(format!("{}.lock", self.name))
    }
    /// "ready pid=N" or "failed: why", written by the supervisor.
    pub fn supervisor_status(&self) -> PathBuf {
        self.run.join("supervisor")
    }
    pub fn up_marker(&self) -> PathBuf {
        self.run.join("up")
    }
    pub fn pending_marker(&self) -> PathBuf {
        self.run.join("pending")
    }
    pub fn dnsmasq_conf(&self) -> PathBuf {
        self.run.join("dnsmasq.conf")
    }
    pub fn dnsmasq_pid(&self) -> PathBuf {
        self.run.join("dnsmasq.pid")
    }
    pub fn dhcp_hosts(&self) -> PathBuf {
        self.run.join("dhcp-hosts")
    }
    pub fn addn_hosts(&self) -> PathBuf {
        self.run.join("addn-hosts")
    }
    pub fn leases(&self) -> PathBuf {
        self.lib.join("dnsmasq.leases")
    }

    /// Move a lease file of the earlier layout (/var/lib/vnet-helper/NAME/)
    /// into place, so guests keep their addresses across an upgrade. Called
    /// as root once `lib` exists; best effort.
    pub fn adopt_old_leases(&self) {
        let old = Path::new(LIB_DIR).join(&self.name).join("dnsmasq.leases");
        let old_dir_ok = std::fs::symlink_metadata(Path::new(LIB_DIR).join(&self.name))
            .is_ok_and(|m| m.is_dir());
        if old_dir_ok && !self.leases().exists() {
            let _ = std::fs::rename(&old, self.leases());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_network_name_reaches_a_shared_path() {
        let shared: Vec<PathBuf> = SHARED_DIRS
            .iter()
            .map(|(d, _)| PathBuf::from(d))
            .chain([
                PathBuf::from(FIREWALL_LOCK),
                PathBuf::from(USER_NETWORKS_LOCK),
                PathBuf::from(USER_NETWORKS_DIR),
            ])
            .collect();
        for name in [
            "lock",
            "firewall",
            "networks",
            "supervisors",
            "vnet0",
            "a.lock",
        ] {
            let n = Network::new(name);
            for p in [n.run.clone(), n.lib.clone(), n.lock(), n.supervisor_lock()] {
                assert!(!shared.contains(&p), "{name}: {}", p.display());
            }
            assert_ne!(n.lock(), n.supervisor_lock());
        }
        assert_ne!(
            Network::new("a").supervisor_lock(),
            Network::new("a.supervisor").lock()
        );
    }
}
