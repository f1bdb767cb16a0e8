//! OpenSSH `sshd_config(5)`: keywords are case-insensitive, `Keyword value` or
//! `Keyword=value`, first obtained value wins, `Include` takes globs (relative
//! to `/etc/ssh`) processed in place, `Match` opens a conditional block until the
//! next `Match` or the end of the top-level file.
//!
//! The parser is pure: includes are resolved through a callback that lists and
//! reads files (the caller passes the root-confined view).

use super::LineError;

/// A keyword assignment with where it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// Lower-case keyword.
    pub key: String,
    pub value: String,
    pub path: String,
    pub line: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchBlock {
    pub condition: String,
    pub path: String,
    pub line: u64,
    pub settings: Vec<Setting>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshdConfig {
    /// Global settings in file order (including repeated keywords).
    pub global: Vec<Setting>,
    pub matches: Vec<MatchBlock>,
    /// Files read, in order.
    pub files: Vec<String>,
}

/// Keywords whose every occurrence counts (the rest: first wins).
const MULTI: [&str; 6] = [
    "hostkey",
    "listenaddress",
    "port",
    "acceptenv",
    "subsystem",
    "hostcertificate",
];

impl SshdConfig {
    /// The effective global value of `key` (first occurrence wins).
    pub fn get(&self, key: &str) -> Option<&Setting> {
        let k = key.to_ascii_lowercase();
        self.global.iter().find(|s| s.key == k)
    }
    /// All global values of a multi-valued keyword.
    pub fn all(&self, key: &str) -> Vec<&Setting> {
        let k = key.to_ascii_lowercase();
        self.global.iter().filter(|s| s.key == k).collect()
    }
    pub fn is_multi(key: &str) -> bool {
        MULTI.contains(&key)
    }
}

/// Access to files for `Include`: list a directory (file names), read a file.
pub trait Files {
    fn list(&self, dir: &str) -> Vec<String>;
    fn read(&self, path: &str) -> Option<Result<String, String>>;
}

/// Matches `name` against a glob with `*` and `?`.
pub fn glob_match(pat: &str, name: &str) -> bool {
    fn m(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => m(&p[1..], n) || (!n.is_empty() && m(p, &n[1..])),
            (Some(b'?'), Some(_)) => m(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => m(&p[1..], &n[1..]),
            _ => false,
        }
    }
    m(pat.as_bytes(), name.as_bytes())
}

/// Splits arguments, honouring double quotes.
fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

struct State<'f> {
    files: &'f dyn Files,
    cfg: SshdConfig,
    errors: Vec<(String, LineError)>,
    current_match: Option<usize>,
    depth: u8,
}

fn parse_file(st: &mut State, path: &str, text: &str) {
    st.cfg.files.push(path.to_string());
    for (i, raw) in text.split('\n').enumerate() {
        let line = i as u64 + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (kw, rest) = match l.find(|c: char| c.is_whitespace() || c == '=') {
            Some(i) => {
                let rest = l[i..].trim_start();
                let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
                (&l[..i], rest)
            }
            None => (l, ""),
        };
        let key = kw.to_ascii_lowercase();
        if rest.is_empty() {
            st.errors.push((
                path.to_string(),
                LineError::new(line, format!("'{kw}' without a value")),
            ));
            continue;
        }
        match key.as_str() {
            "include" => {
                if st.depth >= 16 {
                    st.errors.push((
                        path.to_string(),
                        LineError::new(line, "Include nested too deeply"),
                    ));
                    continue;
                }
                for pat in split_args(rest) {
                    let pat = if pat.starts_with('/') {
                        pat
                    } else {
                        format!("/etc/ssh/{pat}")
                    };
                    let (dir, file_pat) = pat.rsplit_once('/').unwrap_or(("/", pat.as_str()));
                    let mut names: Vec<String> = if file_pat.contains(['*', '?']) {
                        st.files
                            .list(dir)
                            .into_iter()
                            .filter(|n| glob_match(file_pat, n))
                            .collect()
                    } else {
                        vec![file_pat.to_string()]
                    };
                    names.sort();
                    for n in names {
                        let p = format!("{dir}/{n}");
                        match st.files.read(&p) {
                            Some(Ok(t)) => {
                                st.depth += 1;
                                parse_file(st, &p, &t);
                                st.depth -= 1;
                            }
                            Some(Err(e)) => st.errors.push((
                                path.to_string(),
                                LineError::new(line, format!("Include {p}: {e}")),
                            )),
                            None => {}
                        }
                    }
                }
            }
            "match" => {
                if st.depth > 0 && st.current_match.is_none() {
                    // A Match in an included file stays in effect only to its end;
                    // we record it like any other block.
                }
                st.cfg.matches.push(MatchBlock {
                    condition: rest.to_string(),
                    path: path.to_string(),
                    line,
                    settings: Vec::new(),
                });
                st.current_match = Some(st.cfg.matches.len() - 1);
            }
            _ => {
                let s = Setting {
                    key,
                    value: rest.to_string(),
                    path: path.to_string(),
                    line,
                };
                match st.current_match {
                    Some(i) => st.cfg.matches[i].settings.push(s),
                    None => st.cfg.global.push(s),
                }
            }
        }
    }
    // A Match block opened in an included file ends with that file.
    if st.depth > 0 {
        st.current_match = None;
    }
}

/// Parses the configuration at `path` and everything it includes. Errors carry
/// the file they belong to.
pub fn parse(files: &dyn Files, path: &str, text: &str) -> (SshdConfig, Vec<(String, LineError)>) {
    let mut st = State {
        files,
        cfg: SshdConfig::default(),
        errors: Vec::new(),
        current_match: None,
        depth: 0,
    };
    parse_file(&mut st, path, text);
    (st.cfg, st.errors)
}

/// Parses an OpenSSH version (`9.2p1`) into (major, minor).
pub fn openssh_version(v: &str) -> Option<(u32, u32)> {
    // Debian: `1:9.2p1-2+deb12u3`; binary: `9.2p1`.
    let v = v.split_once(':').map(|(_, r)| r).unwrap_or(v);
    let mut it = v.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// Compiled-in server defaults of the OpenSSH version (sshd_config(5) of each
/// release; only the keywords our rules read).
pub fn default_for(key: &str, version: Option<(u32, u32)>) -> Option<&'static str> {
    let v = version.unwrap_or((9, 0));
    Some(match key {
        "permitrootlogin" => {
            if v >= (7, 0) {
                "prohibit-password"
            } else {
                "yes"
            }
        }
        "permitemptypasswords" => "no",
        "passwordauthentication" => "yes",
        "kbdinteractiveauthentication" | "challengeresponseauthentication" => "yes",
        "hostbasedauthentication" => "no",
        "ignorerhosts" => "yes",
        "loglevel" => "INFO",
        "maxauthtries" => "6",
        "logingracetime" => "120",
        "maxstartups" => "10:30:100",
        "x11forwarding" => "no",
        "allowtcpforwarding" => "yes",
        "allowagentforwarding" => "yes",
        "allowstreamlocalforwarding" => "yes",
        "permittunnel" => "no",
        "permituserenvironment" => "no",
        "gatewayports" => "no",
        "clientaliveinterval" => "0",
        "maxsessions" => "10",
        "strictmodes" => "yes",
        "ciphers" => {
            if v >= (6, 7) {
                "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com"
            } else {
                "aes128-ctr,aes192-ctr,aes256-ctr,arcfour256,arcfour128,aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-cbc,3des-cbc,blowfish-cbc,cast128-cbc,aes192-cbc,aes256-cbc,arcfour"
            }
        }
        "macs" => "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
        "kexalgorithms" => {
            if v >= (9, 9) {
                "mlkem768x25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"
            } else if v >= (8, 5) {
                "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"
            } else if v >= (7, 4) {
                "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,diffie-hellman-group14-sha1"
            } else {
                "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group14-sha1"
            }
        }
        _ => return None,
    })
}

/// Applies an algorithm-list value (`+add`, `-remove`, `^prepend`, or a
/// replacement) to the default list.
pub fn algorithm_list(value: &str, default: &str) -> Vec<String> {
    let d: Vec<String> = default.split(',').map(str::to_string).collect();
    let items = |s: &str| {
        s.split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    if let Some(add) = value.strip_prefix('+') {
        let mut v = d;
        v.extend(items(add));
        v
    } else if let Some(rm) = value.strip_prefix('-') {
        let pats = items(rm);
        d.into_iter()
            .filter(|a| !pats.iter().any(|p| glob_match(p, a)))
            .collect()
    } else if let Some(pre) = value.strip_prefix('^') {
        let mut v = items(pre);
        v.extend(d);
        v
    } else {
        items(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct Mem(BTreeMap<String, String>);
    impl Files for Mem {
        fn list(&self, dir: &str) -> Vec<String> {
            self.0
                .keys()
                .filter_map(|k| {
                    k.strip_prefix(&format!("{dir}/"))
                        .filter(|r| !r.contains('/'))
                        .map(str::to_string)
                })
                .collect()
        }
        fn read(&self, path: &str) -> Option<Result<String, String>> {
            self.0.get(path).cloned().map(Ok)
        }
    }

    #[test]
    fn include_first_wins_and_match() {
        let mut m = BTreeMap::new();
        m.insert(
            "/etc/ssh/sshd_config.d/10-root.conf".to_string(),
            "PermitRootLogin no\n".to_string(),
        );
        m.insert(
            "/etc/ssh/sshd_config.d/20-x.conf".to_string(),
            "PermitRootLogin yes\nX11Forwarding=yes\n".to_string(),
        );
        m.insert(
            "/etc/ssh/sshd_config.d/readme.txt".to_string(),
            "PermitRootLogin yes\n".to_string(),
        );
        let files = Mem(m);
        let main = "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\nHostKey /etc/ssh/a\nHostKey /etc/ssh/b\nMatch User backup\n  PasswordAuthentication yes\n";
        let (c, e) = parse(&files, "/etc/ssh/sshd_config", main);
        assert!(e.is_empty(), "{e:?}");
        let root = c.get("PermitRootLogin").unwrap();
        assert_eq!(root.value, "no");
        assert_eq!(root.path, "/etc/ssh/sshd_config.d/10-root.conf");
        assert_eq!(c.get("x11forwarding").unwrap().value, "yes");
        assert_eq!(c.all("hostkey").len(), 2);
        assert_eq!(c.matches.len(), 1);
        assert_eq!(c.matches[0].condition, "User backup");
        assert_eq!(c.matches[0].settings[0].key, "passwordauthentication");
        assert!(c.get("passwordauthentication").is_none());
        assert_eq!(c.files.len(), 3);
    }

    #[test]
    fn errors_and_versions() {
        let files = Mem(BTreeMap::new());
        let (_, e) = parse(&files, "/etc/ssh/sshd_config", "PermitRootLogin\n");
        assert_eq!(e[0].1.line, 1);
        assert_eq!(openssh_version("1:9.2p1-2+deb12u3"), Some((9, 2)));
        assert_eq!(openssh_version("6.6.1p1"), Some((6, 6)));
        assert_eq!(default_for("permitrootlogin", Some((6, 6))), Some("yes"));
        assert_eq!(
            default_for("permitrootlogin", Some((9, 2))),
            Some("prohibit-password")
        );
    }

    #[test]
    fn algorithm_modifiers() {
        assert_eq!(algorithm_list("+3des-cbc", "a,b"), ["a", "b", "3des-cbc"]);
        assert_eq!(algorithm_list("-b*", "a,b1,b2"), ["a"]);
        assert_eq!(algorithm_list("^x", "a"), ["x", "a"]);
        assert_eq!(algorithm_list("x,y", "a"), ["x", "y"]);
        assert!(glob_match("*.conf", "10-a.conf") && !glob_match("*.conf", "a.txt"));
    }
}
