//! The nftables driver's cache of its last read: the `nft -a list ruleset`
//! output with the ruleset's generation it was taken at (nfnl::generation).
//! nf_tables counts the generation up with every committed change, whoever
//! makes it (nft, iptables-nft, firewalld, Docker), so while the generation
//! is the same the listing is still the ruleset, and a read costs one
//! netlink request instead of an exec of nft (about 2.5 ms of CPU; on a cold
//! bring-up it was the longer half of the firewall step). What changes
//! without a commit (counters, elements a rule adds to a set from the
//! packet path) may be out of date in it: neither the plans nor the
//! diagnosis of foreign tables read those.
//!
//! Kept in paths::NFT_LISTING_CACHE (root's, mode 0600, in the root-owned
//! run directory) with a one-line header: the generation and the network
//! namespace (the inode of /proc/self/ns/net), since generations of two
//! namespaces are unrelated numbers. A listing is stored only if the
//! generation was the same before and after nft ran, and only under the
//! firewall lock (one fixed temporary name, then a rename). Anything else
//! (no file, another generation or namespace, a header that does not parse,
//! no CAP_NET_ADMIN to ask) is a miss: nft is run as before.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

use crate::paths;

/// The header line for a listing taken at `generation` in this namespace.
fn header(generation: u32) -> Option<String> {
    let netns = fs::metadata("/proc/self/ns/net").ok()?.ino();
    Some(format!(
        "vnet-helper nft listing: generation {generation} netns {netns}\n"
    ))
}

/// The cached listing, if it was taken at `generation` in this namespace.
pub fn listing(generation: u32) -> Option<String> {
    let text = fs::read_to_string(paths::NFT_LISTING_CACHE).ok()?;
    let (first, rest) = text.split_once('\n')?;
    let want = header(generation)?;
    (want.trim_end() == first).then(|| rest.to_string())
}

/// Store `listing`, taken at `generation`. The caller holds the firewall
/// lock. A failure only costs the next read an exec.
pub fn store(generation: u32, listing: &str) {
    let Some(head) = header(generation) else {
        return;
    };
    let tmp = format!("{}.tmp", paths::NFT_LISTING_CACHE);
    let written = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(head.as_bytes())?;
            f.write_all(listing.as_bytes())
        });
    if written.is_err() || fs::rename(&tmp, paths::NFT_LISTING_CACHE).is_err() {
        let _ = fs::remove_file(&tmp);
        let _ = fs::remove_file(paths::NFT_LISTING_CACHE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_generation_and_namespace() {
        let h = header(42).unwrap();
        assert!(h.starts_with("vnet-helper nft listing: generation 42 netns "));
        assert!(h.ends_with('\n'));
        assert_ne!(header(42), header(43));
    }
}
