//! `/etc/passwd`, `/etc/shadow`, `/etc/group`, `/etc/login.defs`.
//!
//! The shadow hash is kept only in memory for the rules; [`PwState`] is what
//! may be reported. Nothing here formats a hash.

use super::{content_lines, LineError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub line: u64,
    pub name: String,
    /// Field 2 (`x` when the hash lives in shadow). Secret when it is a hash.
    pub password: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
    /// Legacy NIS `+`/`-` entry.
    pub nis: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowEntry {
    pub line: u64,
    pub name: String,
    /// The crypt(3) string. Secret: never print it.
    pub hash: String,
    /// Days since 1970-01-01 of the last change; `Some(0)` forces a change.
    pub last_change: Option<i64>,
    pub max_days: Option<i64>,
    pub nis: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    pub line: u64,
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
    pub nis: bool,
}

/// What a password field means, without the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PwState {
    /// Empty field: no password at all.
    Empty,
    /// `!`, `*`, `!!` or a `!`-prefixed hash: password login impossible.
    Locked,
    /// A hash that can authenticate.
    Usable,
}

pub fn pw_state(field: &str) -> PwState {
    if field.is_empty() {
        PwState::Empty
    } else if field.starts_with('!') || field.starts_with('*') || field == "x" {
        PwState::Locked
    } else {
        PwState::Usable
    }
}

/// Shells that do not give an interactive login.
pub fn is_nologin_shell(shell: &str) -> bool {
    matches!(
        shell,
        "/usr/sbin/nologin"
            | "/sbin/nologin"
            | "/bin/false"
            | "/usr/bin/false"
            | "/bin/sync"
            | "/sbin/shutdown"
            | "/sbin/halt"
            | "/usr/bin/nologin"
    ) || shell.ends_with("/nologin")
        || shell.ends_with("/false")
}

fn num<T: std::str::FromStr>(s: &str, what: &str, line: u64) -> Result<T, LineError> {
    s.parse()
        .map_err(|_| LineError::new(line, format!("{what} {s:?} is not a number")))
}

fn opt_days(s: &str) -> Option<i64> {
    if s.is_empty() {
        None
    } else {
        s.parse().ok()
    }
}

pub fn parse_passwd(text: &str) -> (Vec<PasswdEntry>, Vec<LineError>) {
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for (line, l) in content_lines(text) {
        let f: Vec<&str> = l.split(':').collect();
        let nis = l.starts_with('+') || l.starts_with('-');
        if nis {
            out.push(PasswdEntry {
                line,
                name: f[0].to_string(),
                password: f.get(1).unwrap_or(&"").to_string(),
                uid: u32::MAX,
                gid: u32::MAX,
                home: String::new(),
                shell: String::new(),
                nis,
            });
            continue;
        }
        if f.len() != 7 {
            errs.push(LineError::new(
                line,
                format!("expected 7 ':'-separated fields, found {}", f.len()),
            ));
            continue;
        }
        let (uid, gid) = match (num(f[2], "UID", line), num(f[3], "GID", line)) {
            (Ok(u), Ok(g)) => (u, g),
            (Err(e), _) | (_, Err(e)) => {
                errs.push(e);
                continue;
            }
        };
        out.push(PasswdEntry {
            line,
            name: f[0].to_string(),
            password: f[1].to_string(),
            uid,
            gid,
            home: f[5].to_string(),
            shell: f[6].to_string(),
            nis,
        });
    }
    (out, errs)
}

pub fn parse_shadow(text: &str) -> (Vec<ShadowEntry>, Vec<LineError>) {
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for (line, l) in content_lines(text) {
        let f: Vec<&str> = l.split(':').collect();
        let nis = l.starts_with('+') || l.starts_with('-');
        if f.len() < 2 || (!nis && f.len() != 9) {
            errs.push(LineError::new(
                line,
                format!("expected 9 ':'-separated fields, found {}", f.len()),
            ));
            continue;
        }
        out.push(ShadowEntry {
            line,
            name: f[0].to_string(),
            hash: f[1].to_string(),
            last_change: f.get(2).and_then(|s| opt_days(s)),
            max_days: f.get(4).and_then(|s| opt_days(s)),
            nis,
        });
    }
    (out, errs)
}

pub fn parse_group(text: &str) -> (Vec<GroupEntry>, Vec<LineError>) {
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for (line, l) in content_lines(text) {
        let f: Vec<&str> = l.split(':').collect();
        let nis = l.starts_with('+') || l.starts_with('-');
        if nis {
            out.push(GroupEntry {
                line,
                name: f[0].to_string(),
                gid: u32::MAX,
                members: Vec::new(),
                nis,
            });
            continue;
        }
        if f.len() != 4 {
            errs.push(LineError::new(
                line,
                format!("expected 4 ':'-separated fields, found {}", f.len()),
            ));
            continue;
        }
        let gid = match num(f[2], "GID", line) {
            Ok(g) => g,
            Err(e) => {
                errs.push(e);
                continue;
            }
        };
        out.push(GroupEntry {
            line,
            name: f[0].to_string(),
            gid,
            members: f[3]
                .split(',')
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect(),
            nis,
        });
    }
    (out, errs)
}

/// `login.defs(5)`: `KEY VALUE` pairs; the last assignment wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginDefs {
    pub entries: Vec<(u64, String, String)>,
}

impl LoginDefs {
    pub fn get(&self, key: &str) -> Option<(u64, &str)> {
        self.entries
            .iter()
            .rev()
            .find(|(_, k, _)| k == key)
            .map(|(l, _, v)| (*l, v.as_str()))
    }
    pub fn get_num(&self, key: &str) -> Option<(u64, i64)> {
        self.get(key)
            .and_then(|(l, v)| v.parse().ok().map(|n| (l, n)))
    }
}

pub fn parse_login_defs(text: &str) -> LoginDefs {
    let mut d = LoginDefs::default();
    for (line, l) in content_lines(text) {
        let mut w = l.split_whitespace();
        if let Some(k) = w.next() {
            let v = w.collect::<Vec<_>>().join(" ");
            d.entries
                .push((line, k.to_string(), v.trim_matches('"').to_string()));
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_parses_and_reports_bad_lines() {
        let (p, e) = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\n# c\n\nbad:line\n+::::::\nx:x:zz:0::/:/bin/sh\n",
        );
        assert_eq!(p.len(), 2);
        assert!(p[1].nis);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].line, 4);
        assert!(e[1].message.contains("UID"));
    }

    #[test]
    fn shadow_fields() {
        let (s, e) =
            parse_shadow("root:$y$j9T$abc$def:19000:0:99999:7:::\nlocked:!:19000::::::\nshort:x\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].last_change, Some(19000));
        assert_eq!(pw_state(&s[1].hash), PwState::Locked);
        assert_eq!(pw_state(&s[0].hash), PwState::Usable);
        assert_eq!(pw_state(""), PwState::Empty);
        assert_eq!(e[0].line, 3);
    }

    #[test]
    fn group_and_login_defs() {
        let (g, e) = parse_group("root:x:0:\nshadow:x:42:alice,bob\n");
        assert!(e.is_empty());
        assert_eq!(g[1].members, ["alice", "bob"]);
        let d = parse_login_defs("UID_MIN 500\n# x\nUID_MIN\t\t 1000\nENCRYPT_METHOD SHA512\n");
        assert_eq!(d.get_num("UID_MIN"), Some((3, 1000)));
        assert_eq!(d.get("ENCRYPT_METHOD"), Some((4, "SHA512")));
    }

    #[test]
    fn nologin_shells() {
        assert!(is_nologin_shell("/usr/sbin/nologin"));
        assert!(is_nologin_shell("/bin/false"));
        assert!(!is_nologin_shell("/bin/sh"));
        assert!(!is_nologin_shell(""));
    }
}
