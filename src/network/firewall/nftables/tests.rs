//! The nftables driver's tests: parsing real `nft -a list ruleset` output,
//! the exact transaction for each kind of network, and setup/teardown
//! against the listing nft printed after running them.

use super::parse::Ruleset;
use super::*;
use crate::network::definition::{parse, Definition};
use crate::network::firewall::rules::wanted;

fn def(name: &str, text: &str) -> Definition {
    parse(text, "test.toml", name).unwrap()
}

fn setup(d: &Definition, listing: &str) -> Option<String> {
    plan::script(&d.name, Some(&wanted(d)), &Ruleset::parse(listing), true)
}

fn teardown(name: &str, listing: &str) -> Option<String> {
    plan::script(name, None, &Ruleset::parse(listing), true)
}

#[test]
fn print_for_manual_runs() {
    let d = def(
        "vnet0",
        "address = \"10.200.0.1/24\"\nipv6 = \"fd00::1/64\"\n[[forward]]\nproto = \"tcp\"\nport = 2222\nto = \"10.200.0.10:22\"\n[[forward]]\nproto = \"udp\"\nport = \"8000-8002\"\nto = \"10.200.0.10:9000\"\n[[forward]]\nproto = \"tcp\"\nport = 2222\nto = \"[fd00::10]:22\"\n",
    );
    if let Some(s) = setup(&d, "") {
        std::fs::write("/tmp/vnet-nft-setup.nft", s).unwrap();
    }
}
