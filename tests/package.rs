//! The Debian package that `cargo deb` builds (metadata in Cargo.toml's
//! [package.metadata.deb]): its files with their modes and owners
//! (`dpkg-deb -c`), its control fields and maintainer scripts, and the man
//! pages it ships, rendered by man(1) without a warning. No root needed.
//! Installing, upgrading, removing and purging it under a real systemd is
//! tests/systemd.rs.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let out = Command::new("dpkg-deb")
        .args(args)
        .arg(deb)
        .output()
        .expect("running dpkg-deb (package dpkg)");
    assert!(
        out.status.success(),
        "dpkg-deb {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// path -> "mode owner" for every file of the package (`dpkg-deb -c`).
fn contents(deb: &Path) -> BTreeMap<String, String> {
    dpkg_deb(&["-c"], deb)
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let path = w.get(5)?.trim_start_matches('.').to_string();
            Some((path, format!("{} {}", w[0], w[1])))
        })
        .collect()
}

#[test]
fn files_modes_and_owners() {
    let deb = common::debian_package("files_modes_and_owners");
    let files = contents(&deb);
    let want = [
        ("/usr/libexec/vnet-helper", "-rwsr-xr-x 0/0"),
        ("/lib/systemd/system/vnet-helper@.service", "-rw-r--r-- 0/0"),
        ("/usr/share/vnet-helper/defaults.sh", "-rw-r--r-- 0/0"),
        ("/usr/share/man/man8/vnet-helper.8.gz", "-rw-r--r-- 0/0"),
        (
            "/usr/share/man/man5/vnet-helper.toml.5.gz",
            "-rw-r--r-- 0/0",
        ),
        (
            "/usr/share/doc/vnet-helper/examples/bridge.conf",
            "-rw-r--r-- 0/0",
        ),
        (
            "/usr/share/doc/vnet-helper/examples/alice.conf",
            "-rw-r--r-- 0/0",
        ),
        (
            "/usr/share/doc/vnet-helper/examples/README.acl",
            "-rw-r--r-- 0/0",
        ),
        ("/usr/share/doc/vnet-helper/README.md", "-rw-r--r-- 0/0"),
        ("/usr/share/doc/vnet-helper/copyright", "-rw-r--r-- 0/0"),
        // firewalld's zones and policies, where firewalld reads a vendor's
        ("/usr/lib/firewalld/zones/vnet-helper.xml", "-rw-r--r-- 0/0"),
        ("/usr/lib/firewalld/zones/vnet-routed.xml", "-rw-r--r-- 0/0"),
        (
            "/usr/lib/firewalld/zones/vnet-isolated.xml",
            "-rw-r--r-- 0/0",
        ),
        (
            "/usr/lib/firewalld/policies/vnet-helper-out.xml",
            "-rw-r--r-- 0/0",
        ),
        (
            "/usr/lib/firewalld/policies/vnet-routed-in.xml",
            "-rw-r--r-- 0/0",
        ),
    ];
    let mut wrong = Vec::new();
    for (path, mode) in want {
        match files.get(path) {
            Some(m) if m == mode => {}
            got => wrong.push(format!("{path}: want {mode}, got {got:?}")),
        }
    }
    // Nothing under /etc: the ACL and the default network are written by
    // postinst only where there are none, never shipped as conffiles that
    // could replace an admin's. Every file is root's; only the helper is setuid.
    for (path, mode) in &files {
        if path.starts_with("/etc") {
            wrong.push(format!("{path}: shipped under /etc"));
        }
        if !mode.ends_with(" 0/0") {
            wrong.push(format!("{path}: not root's ({mode})"));
        }
        if mode.contains('s') && path != "/usr/libexec/vnet-helper" {
            wrong.push(format!("{path}: setuid or setgid ({mode})"));
        }
        if !mode.starts_with('d') && !want.iter().any(|(p, _)| p == path) {
            wrong.push(format!("{path}: not expected in the package"));
        }
    }
    assert!(wrong.is_empty(), "{}:\n{}", deb.display(), wrong.join("\n"));
}

#[test]
fn control_fields_and_scripts() {
    let deb = common::debian_package("control_fields_and_scripts");
    let field = |f: &str| {
        dpkg_deb(&["-f"], &deb)
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{f}: ")).map(str::to_string))
    };
    assert_eq!(field("Package").as_deref(), Some("vnet-helper"));
    assert_eq!(field("Architecture").as_deref(), Some("amd64"));
    assert_eq!(field("Section").as_deref(), Some("net"));
    let depends = field("Depends").unwrap_or_default();
    for dep in ["dnsmasq-base", "nftables", "iptables", "iproute2"] {
        assert!(
            depends
                .split(", ")
                .any(|d| d.split(" | ").any(|a| a == dep)),
            "Depends: {depends}"
        );
    }
    // The maintainer scripts are the repository's (dist/debian/), unchanged.
    let control = dpkg_deb(&["-I"], &deb);
    for script in ["postinst", "prerm", "postrm"] {
        assert!(
            control.contains(&format!(" {script} ")),
            "no {script} in\n{control}"
        );
        let shipped = Command::new("dpkg-deb")
            .args(["--info"])
            .arg(&deb)
            .arg(script)
            .output()
            .expect("dpkg-deb --info");
        let ours = std::fs::read(common::repo().join("dist/debian").join(script)).unwrap();
        assert_eq!(
            shipped.stdout, ours,
            "{script} differs from dist/debian/{script}"
        );
    }
}

/// The unit the package ships is dist/vnet-helper@.service, and so is the one
/// install.sh installs (with its PREFIX): one file for both.
#[test]
fn unit_file_is_shared_with_install_sh() {
    let unit = std::fs::read_to_string(common::repo().join("dist/vnet-helper@.service")).unwrap();
    assert!(
        unit.contains("ExecStart=/usr/libexec/vnet-helper supervise %i"),
        "{unit}"
    );
    assert!(unit.contains("ExecStop="), "{unit}");
    let install = std::fs::read_to_string(common::repo().join("install.sh")).unwrap();
    assert!(
        install.contains("\"$here/dist/vnet-helper@.service\""),
        "install.sh does not install dist/vnet-helper@.service"
    );
    assert!(
        install.contains("source \"$here/dist/defaults.sh\""),
        "install.sh does not use dist/defaults.sh"
    );
}

/// Both man pages render with man(1) without a warning, and name what they
/// must: every key of a definition, the commands, the files.
#[test]
fn man_pages_render() {
    let render = |page: &str| {
        let out = Command::new("man")
            .args(["--warnings", "-E", "UTF-8", "-l"])
            .arg(common::repo().join("doc").join(page))
            .env("MANWIDTH", "80")
            .output()
            .expect("running man (package man-db)");
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(
            out.status.success() && err.trim().is_empty(),
            "man {page}: {err}"
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let toml = render("vnet-helper.toml.5");
    for key in [
        "mode",
        "address",
        "dhcp",
        "dhcp-range",
        "lease-time",
        "dns",
        "domain",
        "uplink",
        "mtu",
        "idle-timeout",
        "allow-default-route-uplink",
        "ipv6",
        "ipv6-nat",
        "[[host]]",
        "mac",
        "ip",
        "name",
        "[[forward]]",
        "proto",
        "port",
        "to",
        "host-address",
    ] {
        assert!(
            toml.lines().any(|l| l.trim_start().starts_with(key)),
            "vnet-helper.toml(5) has no entry for {key}"
        );
    }
    let helper = render("vnet-helper.8");
    for word in [
        "PROTOCOL",
        "COMMANDS",
        "SECURITY MODEL",
        "FILES",
        "--use-vnet",
        "status",
        "down",
        "check",
        "dpkg-statoverride",
        "vnet-helper@NAME.service",
        "/etc/qemu/bridge.conf",
    ] {
        assert!(
            helper.contains(word),
            "vnet-helper(8) does not mention {word}"
        );
    }
}
