//! Subcommands of the same binary (argv[1] is not the QEMU protocol):
//! `status`, `up`, `down`, `check`, `mac`. Each lives in its own file.

use crate::error::Result;
use crate::privileges::Caller;

pub fn run(name: &str, _args: &[String], _caller: &Caller) -> Result<i32> {
    Err(fail!("`{name}' is not available yet"))
}
