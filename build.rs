//! Build script: relinks vnet-helper when link/attach.order or link/cc.sh
//! changes. The linker driver (.cargo/config.toml: link/cc.sh) reads the
//! list at link time, which cargo would not otherwise know about.

fn main() {
    println!("cargo:rerun-if-changed=link/attach.order");
    println!("cargo:rerun-if-changed=link/cc.sh");
}
