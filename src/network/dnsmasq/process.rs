//! A managed network's dnsmasq as a process: start it (as root, by absolute
//! path, empty environment, in the foreground of a session of its own; it
//! binds, writes its pid file, then drops to its own user), find it (its pid file, checked against /proc/PID/cmdline so a
//! recycled pid is never taken for it), have it re-read its static hosts
//! (SIGHUP), stop it. The supervisor watches and restarts it.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

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

/// Write dnsmasq's files and start it (`prepare`, then `launch`).
pub fn start(def: &Definition, net: &paths::Network) -> Result<u32> {
    prepare(def, net)?;
    launch(def, net)
}

/// Write dnsmasq's files (its lease directory, hosts files, config).
fn prepare(def: &Definition, net: &paths::Network) -> Result<()> {
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
    Ok(())
}

/// Start dnsmasq on the files `prepare` wrote (the bridge must have its
/// address) and wait until it runs. It stays in the foreground
/// (`--keep-in-foreground`: daemonizing costs two forks and a wait for the
/// grandchild's word, about 1 ms of a cold bring-up), the supervisor's child
/// in a session of its own, running as the dnsmasq user: the caller can
/// neither signal nor trace it. Its stderr is a pipe, which it closes (onto
/// /dev/null) once it has read its configuration and lease file, bound its
/// sockets and written its pid file: the end of that pipe is the moment it
/// runs, or, without a pid file, the moment it failed (port 53 taken, a
/// bad option), with its message in what it wrote there.
fn launch(def: &Definition, net: &paths::Network) -> Result<u32> {
    let program = exec::tool("dnsmasq")?;
    let mut child = exec::command(&program)
        .arg("--keep-in-foreground")
        .arg(conf_arg(net))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .or_fail(|| format!("starting {program}"))?;
    let pid = child.id();
    let deadline = Instant::now() + START_TIMEOUT;
    let said = child
        .stderr
        .take()
        .and_then(|mut e| exec::read_until_closed(&mut e, 4096, deadline));
    if said.is_some() && running(net) == Some(pid) {
        return Ok(pid);
    }
    // It failed (and is exiting), or hangs: either way it goes.
    let _ = child.kill();
    let _ = child.wait();
    let why = match said {
        Some(text) => String::from_utf8_lossy(&text)
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message")
            .to_string(),
        None => format!("it did not start within {} s", START_TIMEOUT.as_secs()),
    };
    Err(fail!(
        "network `{}': dnsmasq failed to start: {}",
        def.name,
        crate::output::printable(why.as_bytes())
    ))
}

/// How long dnsmasq may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// After dnsmasq exited: collect it if it was our child (the one `launch`
/// started; one an earlier supervisor started is init's to collect).
pub fn reap(pid: u32) {
    use nix::sys::wait::{waitpid, WaitPidFlag};
    let _ = waitpid(
        nix::unistd::Pid::from_raw(pid as i32),
        Some(WaitPidFlag::WNOHANG),
    );
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
