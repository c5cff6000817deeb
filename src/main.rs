//! vnet-helper: entry point (placeholder while the skeleton is assembled).
#[macro_use]
mod error;
#[macro_use]
mod output;
fn main() {}
