//! Interface names (bridges, uplinks): the rules a name must pass, one per
//! place a name comes from.
//!
//! * [`check_bridge_name`]: the protocol rule, for `--br=NAME` and for the
//!   NAME arguments of the subcommands. The kernel's and qemu-bridge-helper's
//!   limits, minus the names that only cause trouble.
//! * [`check_managed_name`]: the strict rule for a managed network's name and
//!   its `uplink`. These names end up in iptables chain names and arguments
//!   ('+' would be a wildcard there), dnsmasq config lines and file paths, so
//!   only ASCII letters, digits, '-', '_' and '.' are allowed.
//! * [`kernel_refuses`]: Linux's `dev_valid_name`, on bytes: a name it
//!   refuses can never be an interface (the ACL's check for rules that never
//!   match).

use crate::error::Result;
use crate::output::{non_printing, printable};

/// Interface names (with their NUL) fit in IFNAMSIZ bytes.
pub const IFNAMSIZ: usize = 16;

/// The protocol rule: shorter than IFNAMSIZ (16) bytes, not empty, not "." or
/// "..", no '/', ':', '%', whitespace, control or invisible format characters
/// (bidi overrides, zero widths: a name that reads as another in a log), no
/// leading '-'.
pub fn check_bridge_name(name: &str) -> Result<()> {
    if name.len() >= IFNAMSIZ {
        // Shaped like qemu-bridge-helper's message (CVE-2019-13164 fix).
        return Err(fail!(
            "name `{}' too long: {}",
            printable(name.as_bytes()),
            name.len()
        ));
    }
    let why = if name.is_empty() {
        "empty"
    } else if name == "." || name == ".." {
        "`.' and `..' are not interface names"
    } else if name.starts_with('-') {
        "starts with `-'"
    } else if name.contains(['/', ':', '%']) {
        "contains `/', `:' or `%'"
    } else if name.chars().any(|c| c.is_whitespace() || non_printing(c)) {
        "contains whitespace, a control character or an invisible character"
    } else {
        return Ok(());
    };
    Err(fail!(
        "invalid bridge name `{}': {why}",
        printable(name.as_bytes())
    ))
}

/// The strict rule for managed networks and uplinks: 1..=15 bytes of ASCII
/// letters, digits, '-', '_' and '.', not starting with '-', not "." or "..".
/// The message has no location; the caller adds it.
pub fn check_managed_name(s: &str) -> std::result::Result<(), String> {
    if s.is_empty() {
        return Err("empty interface name".into());
    }
    if s.len() >= IFNAMSIZ {
        return Err(format!(
            "interface name too long ({} bytes, at most {})",
            s.len(),
            IFNAMSIZ - 1
        ));
    }
    if s == "." || s == ".." {
        return Err("not a valid interface name".into());
    }
    if s.starts_with('-') {
        return Err("interface name must not start with '-'".into());
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "character {c:?} not allowed in an interface name (letters, digits, '-', '_', '.')"
        ));
    }
    Ok(())
}

/// Why Linux's `dev_valid_name` refuses `name`, if it does: empty, too long,
/// "." or "..", whitespace (the kernel's `isspace`: space, \t, \n, \v, \f,
/// \r), '/' or ':'.
pub fn kernel_refuses(name: &[u8]) -> Option<&'static str> {
    if name.is_empty() {
        Some("the name is empty")
    } else if name.len() >= IFNAMSIZ {
        Some("interface names are at most 15 bytes long")
    } else if name == b"." || name == b".." {
        Some("`.' and `..' are not interface names")
    } else if name.iter().any(|&b| b.is_ascii_whitespace() || b == 0x0b) {
        Some("interface names contain no whitespace")
    } else if name.iter().any(|&b| b == b'/' || b == b':') {
        Some("interface names contain no `/' or `:'")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_names() {
        check_bridge_name("br0").unwrap();
        check_bridge_name("a23456789012345").unwrap(); // 15 bytes
        let e = check_bridge_name("a234567890123456").unwrap_err(); // 16 bytes
        assert_eq!(e.message(), "name `a234567890123456' too long: 16");
        for bad in [
            "",
            ".",
            "..",
            "-x",
            "a/b",
            "../x",
            "a b",
            "a\tb",
            "a%d",
            "a:1",
            "a\nb",
            "x\u{1b}",
            "br\u{202e}0",
            "br\u{200b}0",
            "\u{feff}br0",
            "br\u{2066}",
        ] {
            assert!(check_bridge_name(bad).is_err(), "{bad:?} accepted");
        }
        // A multi-byte name is judged by bytes, as the kernel does.
        assert!(check_bridge_name("ééééééééé").is_err());
        assert_eq!(
            check_bridge_name("a\tb").unwrap_err().message(),
            "invalid bridge name `a\\x09b': contains whitespace, a control character or an invisible character"
        );
    }

    #[test]
    fn managed_names() {
        for bad in [
            "",
            "a/b",
            "a b",
            "a%d",
            "a:1",
            "-x",
            ".",
            "..",
            "abcdefghijklmnop",
            "eth+",
            "é",
        ] {
            assert!(check_managed_name(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["br0", "vnet-lab_1", "eth0.100", "abcdefghijklmno"] {
            check_managed_name(good).unwrap();
        }
        assert_eq!(
            check_managed_name("abcdefghijklmnop").unwrap_err(),
            "interface name too long (16 bytes, at most 15)"
        );
        assert_eq!(
            check_managed_name("eth+").unwrap_err(),
            "character '+' not allowed in an interface name (letters, digits, '-', '_', '.')"
        );
    }

    #[test]
    fn kernel_rule() {
        assert_eq!(kernel_refuses(b"br0"), None);
        assert_eq!(kernel_refuses(b"br\xff"), None);
        assert_eq!(kernel_refuses(b""), Some("the name is empty"));
        assert!(kernel_refuses(b"..").is_some());
        assert!(kernel_refuses(b"a\x0bb").is_some());
        assert!(kernel_refuses(b"a b").is_some());
        assert!(kernel_refuses(b"a:b").is_some());
        assert!(kernel_refuses(b"0123456789abcdef").is_some());
    }
}
