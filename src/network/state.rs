//! Where a managed network keeps its runtime state, and how a call tells
//! whether the network is up (cheaply: this is on every warm attach).
//!
//! /run/vnet-helper/NAME/        root 0755: dnsmasq.conf, dhcp-hosts,
//!                               addn-hosts, dnsmasq.pid, dnsmasq.err, and the
//!                               markers `pending` (a bring-up started) and
//!                               `up` (it finished: "dnsmasq-pid=N" lines)
//! /var/lib/vnet-helper/NAME/    root 0755: dnsmasq.leases (kept across
//!                               teardowns and restarts: guests keep their IPs)

use std::path::PathBuf;

use crate::network::lock::{LIB_DIR, RUN_DIR};

#[derive(Debug, Clone)]
pub struct Paths {
    pub name: String,
    pub run: PathBuf,
    pub lib: PathBuf,
}

impl Paths {
    pub fn new(name: &str) -> Paths {
        Paths {
            name: name.to_string(),
            run: PathBuf::from(RUN_DIR).join(name),
            lib: PathBuf::from(LIB_DIR).join(name),
        }
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
    pub fn dnsmasq_err(&self) -> PathBuf {
        self.run.join("dnsmasq.err")
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
}

/// Is `pid` a live dnsmasq started with this network's config file?
pub fn is_our_dnsmasq(p: &Paths, pid: u32) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let conf = format!("--conf-file={}", p.dnsmasq_conf().display());
    cmdline.split(|&b| b == 0).any(|arg| arg == conf.as_bytes())
}

/// The pid in dnsmasq's own pid file, if that process is still our dnsmasq.
pub fn running_dnsmasq(p: &Paths) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(p.dnsmasq_pid())
        .ok()?
        .trim()
        .parse()
        .ok()?;
    is_our_dnsmasq(p, pid).then_some(pid)
}
