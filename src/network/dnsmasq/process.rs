//! A managed network's dnsmasq as a process: start it (as root, by absolute
//! path, empty environment; it binds, then drops to its own user and
//! daemonizes), find it (its pid file, checked against /proc/PID/cmdline so a
//! recycled pid is never taken for it), have it re-read its static hosts
//! (SIGHUP), stop it. The supervisor watches and restarts it.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::process::Stdio;
use std::time::Duration;

use super::config;
use crate::error::{OrFail, Result};
use crate::network::definition::Definition;
use crate::network::{exec, lock};
use crate::paths;

/// The unprivileged user dnsmasq drops to: Debian's `dnsmasq` if present,
/// else `nobody`.
fn user() -> &'static str {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    if passwd.lines().any(|l| l.starts_with("dnsmasq:")) {
        "dnsmasq"
    } else {
        "nobody"
    }
}

/// The static hosts files (`dhcp-hostsfile`, `addn-hosts`), which dnsmasq
/// re-reads on SIGHUP.
fn write_hosts(def: &Definition, net: &paths::Network) -> Result<()> {
    fs::write(net.dhcp_hosts(), config::hosts_file(def)).or_fail(|| "writing dhcp-hosts")?;
    fs::write(net.addn_hosts(), config::addn_hosts(def)).or_fail(|| "writing addn-hosts")
}

/// Write dnsmasq's files and start it. dnsmasq daemonizes only once it has
/// bound its sockets, so its first process's exit status says whether it
/// started (port 53 taken, bad option...), and its message is in
/// dnsmasq.err. The daemon is in its own session, reparented to init, and
/// runs as the dnsmasq user: the caller can neither signal nor trace it.
pub fn start(def: &Definition, net: &paths::Network) -> Result<u32> {
    fs::DirBuilder::new()
        .mode(0o755)
        .recursive(true)
        .create(&net.lib)
        .or_fail(|| net.lib.display().to_string())?;
    lock::secure_dir(&net.lib.to_string_lossy(), 0o755)?;
    net.adopt_old_leases();
    let files = config::Files {
        pid_file: net.dnsmasq_pid(),
        lease_file: net.leases(),
        hosts_file: net.dhcp_hosts(),
        addn_hosts_file: net.addn_hosts(),
        user: user().to_string(),
        group: None,
    };
    write_hosts(def, net)?;
    fs::write(net.dnsmasq_conf(), config::config(def, &files))
        .or_fail(|| "writing dnsmasq.conf")?;
    let _ = fs::remove_file(net.dnsmasq_pid());

    let program = exec::tool("dnsmasq")?;
    let err = fs::File::create(net.dnsmasq_err()).or_fail(|| "creating dnsmasq.err")?;
    let status = exec::command(&program)
        .arg(conf_arg(net))
        .stdout(Stdio::null())
        .stderr(err)
        .status()
        .or_fail(|| format!("starting {program}"))?;
    if !status.success() {
        let msg = fs::read_to_string(net.dnsmasq_err()).unwrap_or_default();
        let first = msg
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message");
        return Err(fail!(
            "network `{}': dnsmasq failed to start: {first}",
            def.name
        ));
    }
    running(net).ok_or_else(|| {
        fail!(
            "network `{}': dnsmasq started but wrote no pid file",
            def.name
        )
    })
}

/// The argument that tells this network's dnsmasq from any other process.
fn conf_arg(net: &paths::Network) -> String {
    format!("--conf-file={}", net.dnsmasq_conf().display())
}

/// Is `pid` a live dnsmasq started with this network's config file?
fn is_ours(net: &paths::Network, pid: u32) -> bool {
    let conf = conf_arg(net);
    exec::cmdline_matches(pid, |args| args.contains(&conf.as_bytes()))
}

/// The pid in dnsmasq's own pid file, if that process is still our dnsmasq.
pub fn running(net: &paths::Network) -> Option<u32> {
    let pid: u32 = fs::read_to_string(net.dnsmasq_pid())
        .ok()?
        .trim()
        .parse()
        .ok()?;
    is_ours(net, pid).then_some(pid)
}

/// Rewrite the static hosts and have a running dnsmasq re-read them (SIGHUP:
/// guests keep their leases).
pub fn reload_hosts(def: &Definition, net: &paths::Network) -> Result<()> {
    write_hosts(def, net)?;
    if let Some(pid) = running(net) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGHUP,
        );
    }
    Ok(())
}

/// Stop this network's dnsmasq, every one that runs, found by its command
/// line (so also one that a bring-up killed half-way started without writing
/// its pid file yet; the pid file adds nothing to the scan). Looked for again
/// until none is left, as one may be daemonizing meanwhile.
pub fn stop(net: &paths::Network) {
    let conf = conf_arg(net);
    for _ in 0..3 {
        let pids = exec::processes_matching(|args| args.contains(&conf.as_bytes()));
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            exec::stop_verified(pid, |p| is_ours(net, p), Duration::from_secs(1));
        }
    }
}
