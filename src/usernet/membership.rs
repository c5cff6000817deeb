//! Who is who, without NSS: user and group names from /etc/passwd and
//! /etc/group, parsed here (the binary is static glibc, which cannot load NSS
//! modules safely). Only the name <-> id mapping is read from the files;
//! membership itself is what the kernel says of the caller (its real uid,
//! real gid and supplementary groups, [`crate::privileges::Caller`]), never
//! /etc/group's member lists.

use std::path::Path;

use crate::privileges::Caller;
use crate::safe_file::{self, Symlinks};

pub const PASSWD: &str = "/etc/passwd";
pub const GROUP: &str = "/etc/group";

/// Largest passwd or group file read.
const MAX_SIZE: u64 = 8 << 20;

/// name -> id pairs of one file (passwd: uid, group: gid).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Names(pub Vec<(String, u32)>);

impl Names {
    /// The id of `name` (the first entry wins, as in getpwnam).
    pub fn id(&self, name: &str) -> Option<u32> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, id)| *id)
    }

    /// The name of `id` (the first entry wins).
    pub fn name(&self, id: u32) -> Option<&str> {
        self.0
            .iter()
            .find(|(_, i)| *i == id)
            .map(|(n, _)| n.as_str())
    }
}

/// `name:x:ID:...` lines: field 0 and field 2. Comments, blank lines, NIS
/// `+`/`-` entries and malformed lines are skipped.
pub fn parse(text: &str) -> Names {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut fields = line.split(':');
        let (Some(name), Some(_), Some(id)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        if name.is_empty() || name.starts_with(['#', '+', '-']) || !is_account_name(name) {
            continue;
        }
        if let Ok(id) = id.parse::<u32>() {
            out.push((name.to_string(), id));
        }
    }
    Names(out)
}

/// A user or group name as the policy may name it: 1..=32 bytes of ASCII
/// letters, digits, '_', '.', '-', not starting with '-'.
pub fn is_account_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Read one of the two files (root-owned, not writable by others). An
/// unreadable file resolves no name: nobody is granted anything by name.
pub fn read(path: &str) -> Names {
    safe_file::read_root_owned(Path::new(path), Symlinks::Follow, MAX_SIZE)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .map(|t| parse(&t))
        .unwrap_or_default()
}

/// The accounts of the host.
#[derive(Debug, Default, Clone)]
pub struct Accounts {
    pub users: Names,
    pub groups: Names,
}

impl Accounts {
    pub fn read() -> Accounts {
        Accounts {
            users: read(PASSWD),
            groups: read(GROUP),
        }
    }

    /// Is the caller one of `members` ("alice", "@vmusers")? A name that
    /// does not resolve grants nothing.
    pub fn is_member(&self, caller: &Caller, members: &[String]) -> bool {
        members.iter().any(|m| match m.strip_prefix('@') {
            Some(g) => self.groups.id(g).is_some_and(|gid| {
                caller.gid.as_raw() == gid || caller.groups.iter().any(|x| x.as_raw() == gid)
            }),
            None => self.users.id(m) == Some(caller.uid.as_raw()),
        })
    }

    /// The name shown for uid `uid`: its passwd name, or "uid N".
    pub fn user_name(&self, uid: u32) -> String {
        match self.users.name(uid) {
            Some(n) => n.to_string(),
            None => format!("uid {uid}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::unistd::{Gid, Uid};

    fn caller(uid: u32, gid: u32, groups: &[u32]) -> Caller {
        Caller {
            uid: Uid::from_raw(uid),
            gid: Gid::from_raw(gid),
            groups: groups.iter().map(|g| Gid::from_raw(*g)).collect(),
            elevated: true,
        }
    }

    #[test]
    fn parses_passwd_and_group() {
        let n = parse(
            "root:x:0:0:root:/root:/bin/bash\n# comment\n\n+nis::::\nalice:x:1000:1000::/home/a:/bin/sh\n\
             bad line\nbob:x:notanumber:1\nalice:x:1001:1\nevil name:x:5:5\n",
        );
        assert_eq!(
            n,
            Names(vec![
                ("root".into(), 0),
                ("alice".into(), 1000),
                ("alice".into(), 1001)
            ])
        );
        assert_eq!(n.id("alice"), Some(1000));
        assert_eq!(n.name(1001), Some("alice"));
        assert_eq!(n.id("bob"), None);
    }

    #[test]
    fn membership_is_the_kernels_view() {
        let acc = Accounts {
            users: parse("alice:x:1000:1000::/:/bin/sh\n"),
            // /etc/group's member list (field 4) grants nothing by itself.
            groups: parse("vm:x:2000:mallory\nother:x:3000:\n"),
        };
        let members = vec!["alice".to_string(), "@vm".to_string(), "@ghost".into()];
        assert!(acc.is_member(&caller(1000, 100, &[]), &members));
        assert!(acc.is_member(&caller(1001, 2000, &[]), &members));
        assert!(acc.is_member(&caller(1002, 100, &[3000, 2000]), &members));
        assert!(!acc.is_member(&caller(1003, 100, &[3000]), &members));
        assert!(!acc.is_member(&caller(0, 0, &[]), &members));
        assert_eq!(acc.user_name(1000), "alice");
        assert_eq!(acc.user_name(7), "uid 7");
    }
}
