//! Carrying out the firewall plans: read the current ruleset, plan with the
//! chosen backend, run the invocations in order. Programs run by absolute
//! path with an empty environment (exec::run_program), as root; `apply` and
//! `remove` hold the global firewall lock from the read to the last write.

use super::{rules, Backend, Current, Invocation};
use crate::error::Result;
use crate::network::definition::Definition;
use crate::network::{exec, lock};

/// Bring network `def`'s rules to what it wants (setup, or repair).
pub fn apply(def: &Definition) -> Result<()> {
    let _fw_lock = lock::firewall()?;
    let current = read(Backend::chosen())?;
    for inv in current.setup(&rules::wanted(def)).steps {
        run(&inv).map_err(|e| e.context(format!("network `{}': firewall", def.name)))?;
    }
    Ok(())
}

/// Remove every rule of network `name`.
pub fn remove(name: &str) -> Result<()> {
    let _fw_lock = lock::firewall()?;
    let current = read(Backend::chosen())?;
    for inv in current.teardown(name).steps {
        run(&inv)?;
    }
    Ok(())
}

/// The firewall as it is now, read once (for `status`, which asks about
/// every network against the same reading).
pub fn current() -> Result<Current> {
    read(Backend::chosen())
}

fn read(backend: Backend) -> Result<Current> {
    let mut outputs = Vec::new();
    for inv in backend.read_commands() {
        match run(&inv) {
            Ok(out) => outputs.push(out),
            Err(_) if inv.optional => outputs.push(String::new()),
            Err(e) => return Err(e),
        }
    }
    backend.parse(&outputs)
}

fn run(inv: &Invocation) -> Result<String> {
    let input = (!inv.stdin.is_empty()).then_some(inv.stdin.as_str());
    exec::run_program(inv.program, inv.args, input)
}
