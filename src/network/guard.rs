//! A bring-up's guard: a small root process in a session of its own that
//! outlives a bring-up killed half-way (by root, the OOM killer, a crash; the
//! caller cannot kill it) and undoes what it left within moments, instead of
//! leaving a half-made network until the next caller repairs it.
//!
//! Without systemd the bring-up's own supervisor, started before anything
//! is made, is its guard (supervisor::process). Under systemd the
//! supervisor starts as a unit only once the bridge is made, so the
//! bring-up starts this one first (`vnet-helper guard NAME`, internal) with
//! a pipe on its stdin and writes `done` once it has made the network or
//! undone its own failure. If the pipe closes without that word, the
//! bring-up died: the guard takes the network's lock (freed by that death)
//! and calls `steps::finish_abandoned`.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsFd;

use crate::error::{OrFail, Result};
use crate::network::exec;

/// The word that tells the guard the bring-up ended on its own terms.
const DONE: &str = "done";

pub struct Guard {
    pipe: File,
}

/// Start network `name`'s guard. Called as root with the network's lock
/// held. Its exec is not waited for (exec::spawn_unwaited): should it fail,
/// the guard is gone and `done` finds its pipe closed, as when it was killed.
pub fn start(name: &str) -> Result<Guard> {
    let me = std::fs::read_link("/proc/self/exe").or_fail(|| "finding our own binary")?;
    let (read, write) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).or_fail(|| "making the guard's pipe")?;
    let null = File::options()
        .write(true)
        .open("/dev/null")
        .or_fail(|| "opening /dev/null")?;
    exec::spawn_unwaited(
        &me.to_string_lossy(),
        &["guard", name],
        [read.as_fd(), null.as_fd(), null.as_fd()],
    )
    .map_err(|e| e.context("starting the bring-up's guard"))?;
    // Not waited for: it exits as soon as it reads the word, and is
    // reparented to init if we go first.
    Ok(Guard {
        pipe: File::from(write),
    })
}

impl Guard {
    /// The bring-up is over (made, or undone by itself): the guard may go.
    pub fn done(mut self) {
        let _ = self.pipe.write_all(DONE.as_bytes());
    }
}

/// In the guard: wait for the bring-up to end; true if it died without
/// saying it was done.
pub fn bring_up_abandoned() -> bool {
    let mut word = String::new();
    let _ = std::io::stdin().read_to_string(&mut word);
    word.trim() != DONE
}
