//! Networks that users create themselves, within an admin's pool (issue 12).
//!
//! An admin delegates address space in /etc/vnet-helper/user-networks.toml
//! (`policy`: pools of subnets, who may use them, name prefix, modes, quota,
//! port forwards); a pool member runs `vnet-helper net create NAME` (no
//! root) and gets a network that is then used, brought up and torn down
//! exactly like an admin-defined one: its `record` turns into an ordinary
//! `Definition`, and `network::definitions` lists records next to the admin's
//! definitions (isolation both ways, `status`, supervisor, teardown).
//!
//! - `policy`: the admin's file, parsed strictly (FILE:LINE errors).
//! - `membership`: /etc/passwd and /etc/group, parsed here (no NSS: the
//!   binary is static); membership is the kernel's view of the caller.
//! - `record`: one file per user network, atomic write, strict read.
//! - `allocate`: the first free subnet (pure) and what the host uses.
//! - `create`: the checks before any work (pure, in the contract's order),
//!   then, under the user-networks lock, collisions, quota, allocation, write.
//! - `access`: the attach decision for a name that is not an admin network:
//!   owner check, auto-create, or the plain drop-in path.
//!
//! Security: every decision is made before any work (no lock taken, no file
//! written for a refused caller), as root after `privileges::detach_from_caller`
//! (the caller cannot stop or signal a process holding the lock), from
//! root-owned files only; every name passes the strict network-name rule and
//! the pool's prefix before it reaches a path, rule or dnsmasq line; any
//! unreadable or invalid policy or record fails closed.

pub mod access;
pub mod allocate;
pub mod create;
pub mod membership;
pub mod policy;
pub mod record;
