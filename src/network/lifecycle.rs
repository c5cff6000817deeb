//! A managed network's life: `ensure` (called by an attach: bring the network
//! up unless it is up), `bring_up` (bridge, forwarding, firewall, dnsmasq,
//! each step undone if a later one fails) and `tear_down`.
//!
//! Everything here runs as full root (privileges::become_root) with the
//! network's lock held, so bring-up, attach and teardown of one network never
//! interleave. A bring-up killed at any point leaves a `pending` marker and
//! no `up` marker; the next call redoes the bring-up over what is left
//! (adopting the bridge, replacing half-applied rules, restarting dnsmasq),
//! which every step is written to allow.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::error::{OrFail, Result};
use crate::network::definition::{self, Definition, Mode};
use crate::network::firewall::{self, Firewall};
use crate::network::lock::{self, Lock};
use crate::network::state::{self, Paths};
use crate::network::{bridge, dnsmasq, exec, supervisor};
use crate::privileges::Caller;

pub const DEFINITIONS_DIR: &str = "/etc/vnet-helper/networks";

/// The definition file for network (bridge) `name`, if there is one. The name
/// has been validated (args::check_bridge_name): no '/', not "." or "..".
pub fn definition_path(name: &str) -> Option<PathBuf> {
    let p = Path::new(DEFINITIONS_DIR).join(format!("{name}.toml"));
    fs::symlink_metadata(&p).is_ok().then_some(p)
}

/// Make sure network `name` is up; return its lock, held until the tap is on
/// the bridge so that a teardown cannot slip in between.
pub fn ensure(name: &str, caller: &Caller) -> Result<Lock> {
    lock::prepare_dirs()?;
    let lock = lock::network(name)?;
    let paths = Paths::new(name);
    if paths.up_marker().exists() {
        if supervisor::alive(name) {
            return Ok(lock); // the warm path: two syscalls beyond the lock
        }
        // Up, but its supervisor died (SIGKILL, OOM): a new one adopts the
        // network (and its dnsmasq, if that still runs).
        crate::privileges::reset_own_limits();
        if supervisor::start(name, &paths).is_ok() {
            crate::audit::network(caller.uid.as_raw(), name, "supervisor restarted");
            return Ok(lock);
        }
    }
    crate::privileges::reset_own_limits();
    let def = load_definition(name)?;
    let uid = caller.uid.as_raw();
    match bring_up(&def, &paths) {
        Ok(()) => {
            crate::audit::network(uid, name, "brought up");
            Ok(lock)
        }
        Err(e) => {
            crate::audit::network_failed(uid, name, e.message());
            Err(e)
        }
    }
}

/// Read and check network `name`'s definition.
pub fn load_definition(name: &str) -> Result<Definition> {
    let path = Path::new(DEFINITIONS_DIR).join(format!("{name}.toml"));
    let mut def = definition::load(&path, name)?;
    def.peers = defined_networks()
        .into_iter()
        .filter(|n| n != name)
        .collect();
    Ok(def)
}

/// The names of all defined networks (sorted), from the definitions directory.
pub fn defined_networks() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(DEFINITIONS_DIR)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".toml"))
                        .filter(|n| crate::ifname::check_bridge_name(n).is_ok())
                        .map(String::from)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// For `vnet-helper up` on a network that is up: put the bridge's settings and
/// the firewall rules back (someone deleted the address, a firewall reload
/// flushed the rules) and have dnsmasq re-read the static hosts (SIGHUP)
/// without dropping guests.
pub fn refresh(def: &Definition, paths: &Paths) -> Result<()> {
    bridge::with_rtnetlink(async |h| bridge::ensure(h, def).await.map(|_| ()))?;
    apply_firewall(def)?;
    fs::write(paths.dhcp_hosts(), dnsmasq::hosts_file(def)).or_fail(|| "writing dhcp-hosts")?;
    fs::write(paths.addn_hosts(), dnsmasq::addn_hosts(def)).or_fail(|| "writing addn-hosts")?;
    if let Some(pid) = state::running_dnsmasq(paths) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGHUP,
        );
    }
    Ok(())
}

/// Up = the bring-up finished (`up` marker) and the supervisor is alive.
/// (The bridge itself is checked by the attach right after.)
pub fn is_up(paths: &Paths) -> bool {
    paths.up_marker().exists() && supervisor::alive(&paths.name)
}

/// What a bring-up has done so far, so a failure can undo exactly that.
#[derive(Default)]
struct Done {
    bridge: bool,
    firewall: bool,
    supervisor: bool,
    ip_forward_was: Option<String>,
}

const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

pub fn bring_up(def: &Definition, paths: &Paths) -> Result<()> {
    lock::secure_dir(&paths.run.to_string_lossy(), 0o755)?;
    // Leftovers of a bring-up that was killed: its dnsmasq must not keep the
    // ports; the bridge and the rules are adopted or replaced below.
    let resumed = paths.pending_marker().exists() || paths.up_marker().exists();
    let _ = fs::remove_file(paths.up_marker());
    supervisor::stop(&def.name, paths);
    stop_dnsmasq(paths);
    fs::write(paths.pending_marker(), b"")
        .or_fail(|| paths.pending_marker().display().to_string())?;

    let mut done = Done::default();
    let result = bring_up_steps(def, paths, &mut done);
    if let Err(e) = result {
        // Undo in reverse order; a leftover bridge from a killed bring-up is
        // ours too.
        if done.supervisor {
            supervisor::stop(&def.name, paths);
        }
        stop_dnsmasq(paths);
        if done.firewall || resumed {
            let _ = remove_firewall(&def.name);
        }
        if done.bridge || resumed {
            let _ = bridge::with_rtnetlink(async |h| bridge::delete(h, &def.name).await);
        }
        if let Some(was) = done.ip_forward_was.filter(|v| v.trim() != "1") {
            let _ = fs::write(IP_FORWARD, was);
        }
        remove_runtime_files(paths);
        return Err(e);
    }
    let _ = fs::remove_file(paths.pending_marker());
    Ok(())
}

fn bring_up_steps(def: &Definition, paths: &Paths, done: &mut Done) -> Result<()> {
    // 1. Bridge (after refusing a colliding subnet: nothing made yet).
    bridge::with_rtnetlink(async |h| {
        bridge::check_collisions(h, def).await?;
        let made = bridge::ensure(h, def).await;
        done.bridge = match &made {
            Ok(m) => m.created,
            Err(_) => bridge::link(h, &def.name).await.ok().flatten().is_some(),
        };
        made.map(|_| ())
    })?;
    // 2. Forwarding (the previous value is restored if this bring-up fails).
    if matches!(def.mode, Mode::Nat | Mode::Routed) {
        done.ip_forward_was = fs::read_to_string(IP_FORWARD).ok();
        write_sysctl(IP_FORWARD, "1")?;
        if def.ipv6.is_some() {
            write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1")?;
        }
    }
    // 3. Firewall.
    done.firewall = true;
    apply_firewall(def)?;
    // 4. The supervisor, which starts dnsmasq and reports whether it runs.
    done.supervisor = true;
    supervisor::start(&def.name, paths)?;
    // 5. Up.
    fs::write(paths.up_marker(), b"").or_fail(|| paths.up_marker().display().to_string())
}

/// Take the network down: dnsmasq, rules, bridge, runtime files. The lease
/// file stays. The caller holds the network's lock.
pub fn tear_down(name: &str) -> Result<()> {
    let paths = Paths::new(name);
    let _ = fs::remove_file(paths.up_marker());
    if supervisor::pid(&paths) != Some(std::process::id()) {
        supervisor::stop(name, &paths);
    }
    stop_dnsmasq(&paths);
    let fw = remove_firewall(name);
    let br = bridge::with_rtnetlink(async |h| bridge::delete(h, name).await);
    remove_runtime_files(&paths);
    fw.and(br)
}

fn write_sysctl(path: &str, value: &str) -> Result<()> {
    fs::write(path, value).or_fail(|| format!("writing {path}"))
}

fn remove_runtime_files(paths: &Paths) {
    let _ = fs::remove_dir_all(&paths.run);
}

// ---- firewall: read, plan, apply, under the global firewall lock ----

fn read_firewall(
    fw: &firewall::iptables::Iptables,
) -> Result<<firewall::iptables::Iptables as Firewall>::State> {
    let mut outputs = Vec::new();
    for (i, inv) in fw.read_commands().iter().enumerate() {
        match run_invocation(inv) {
            Ok(out) => outputs.push(out),
            // A host without IPv6 (ipv6.disable=1) cannot save ip6tables: it
            // has no IPv6 rules of ours either. A network that wants IPv6
            // fails later, at ip6tables-restore, with that tool's message.
            Err(_) if i > 0 => outputs.push(String::new()),
            Err(e) => return Err(e),
        }
    }
    fw.parse_state(&outputs)
}

fn run_invocation(inv: &firewall::Invocation) -> Result<String> {
    let input = (!inv.stdin.is_empty()).then_some(inv.stdin.as_str());
    exec::run_program(inv.program, inv.args, input)
}

pub fn apply_firewall(def: &Definition) -> Result<()> {
    let _fw_lock = lock::firewall()?;
    let fw = firewall::iptables::Iptables::default();
    let current = read_firewall(&fw)?;
    for inv in fw.setup(def, &current).steps {
        run_invocation(&inv).map_err(|e| e.context(format!("network `{}': firewall", def.name)))?;
    }
    Ok(())
}

/// The firewall as it is now, read once (for `status`, which asks the
/// driver about every network against the same state).
pub fn firewall_state() -> Result<<firewall::iptables::Iptables as Firewall>::State> {
    read_firewall(&firewall::iptables::Iptables)
}

pub fn remove_firewall(name: &str) -> Result<()> {
    let _fw_lock = lock::firewall()?;
    let fw = firewall::iptables::Iptables::default();
    let current = read_firewall(&fw)?;
    for inv in fw.teardown(name, &current).steps {
        run_invocation(&inv)?;
    }
    Ok(())
}

// ---- dnsmasq ----

/// The unprivileged user dnsmasq drops to: Debian's `dnsmasq` if present,
/// else `nobody`.
fn dnsmasq_user() -> &'static str {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    if passwd.lines().any(|l| l.starts_with("dnsmasq:")) {
        "dnsmasq"
    } else {
        "nobody"
    }
}

/// Write dnsmasq's files and start it. dnsmasq daemonizes only once it has
/// bound its sockets, so its first process's exit status says whether it
/// started (port 53 taken, bad option...), and its message is in
/// dnsmasq.err. The daemon is in its own session, reparented to init, and
/// runs as the dnsmasq user: the caller can neither signal nor trace it.
pub fn start_dnsmasq(def: &Definition, paths: &Paths) -> Result<u32> {
    fs::DirBuilder::new()
        .mode(0o755)
        .recursive(true)
        .create(&paths.lib)
        .or_fail(|| paths.lib.display().to_string())?;
    lock::secure_dir(&paths.lib.to_string_lossy(), 0o755)?;
    let user = dnsmasq_user();
    let dpaths = dnsmasq::Paths {
        pid_file: paths.dnsmasq_pid(),
        lease_file: paths.leases(),
        hosts_file: paths.dhcp_hosts(),
        addn_hosts_file: paths.addn_hosts(),
        user: user.to_string(),
        group: None,
    };
    fs::write(paths.dhcp_hosts(), dnsmasq::hosts_file(def)).or_fail(|| "writing dhcp-hosts")?;
    fs::write(paths.addn_hosts(), dnsmasq::addn_hosts(def)).or_fail(|| "writing addn-hosts")?;
    fs::write(paths.dnsmasq_conf(), dnsmasq::config(def, &dpaths))
        .or_fail(|| "writing dnsmasq.conf")?;
    let _ = fs::remove_file(paths.dnsmasq_pid());

    let program = exec::tool("dnsmasq")?;
    let err = fs::File::create(paths.dnsmasq_err()).or_fail(|| "creating dnsmasq.err")?;
    let conf = format!("--conf-file={}", paths.dnsmasq_conf().display());
    let status = exec::command(&program, true)
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(err)
        .status()
        .or_fail(|| format!("starting {program}"))?;
    if !status.success() {
        let msg = fs::read_to_string(paths.dnsmasq_err()).unwrap_or_default();
        let first = msg
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message");
        return Err(fail!(
            "network `{}': dnsmasq failed to start: {first}",
            def.name
        ));
    }
    let pid = state::running_dnsmasq(paths).ok_or_else(|| {
        fail!(
            "network `{}': dnsmasq started but wrote no pid file",
            def.name
        )
    })?;
    Ok(pid)
}

/// Stop this network's dnsmasq if one runs (pid file checked against
/// /proc/PID/cmdline, so a recycled pid is never signalled).
fn stop_dnsmasq(paths: &Paths) {
    if let Some(pid) = state::running_dnsmasq(paths) {
        kill_and_wait(pid);
    }
}

fn kill_and_wait(pid: u32) {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let pid = Pid::from_raw(pid as i32);
    let _ = kill(pid, Signal::SIGTERM);
    for _ in 0..200 {
        if kill(pid, None).is_err() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let _ = kill(pid, Signal::SIGKILL);
}
