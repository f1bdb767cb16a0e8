use super::*;
use std::collections::BTreeMap;

struct Mem(BTreeMap<String, String>);
impl Files for Mem {
    fn list(&self, dir: &str) -> Vec<String> {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        self.0
            .keys()
            .filter_map(|k| {
                k.strip_prefix(&prefix)
                    .filter(|r| !r.contains('/'))
                    .map(str::to_string)
            })
            .collect()
    }
    fn read(&self, path: &str) -> Option<Result<String, String>> {
        self.0.get(path).cloned().map(Ok)
    }
}

fn mem(files: &[(&str, &str)]) -> Mem {
    Mem(files
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect())
}

/// Parses `main` (with `files` for Include) and returns the effective
/// value of `key` as sshd -T prints it, for `conn`.
fn eff(files: &[(&str, &str)], main: &str, conn: Option<&Conn>, key: &str) -> String {
    let m = mem(files);
    let (c, e) = parse(&m, "/etc/ssh/sshd_config", main);
    assert!(e.is_empty(), "{e:?}");
    c.effective(conn, &Defaults::openssh(Some((9, 2))))
        .value(key)
        .unwrap()
        .to_string()
}

fn user(u: &str, groups: &[&str]) -> Conn {
    Conn {
        user: Some(u.into()),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        host: Some("client.example".into()),
        addr: Some("192.0.2.7".into()),
        ..Conn::default()
    }
}

/// A configuration that includes itself (directly or through another
/// file) is refused by sshd; the cycle is reported once per Include line
/// and not followed, so the work stays proportional to the files.
#[test]
fn include_cycle_is_an_error_and_not_followed() {
    let m = mem(&[
        (
            "/etc/ssh/sshd_config.d/a.conf",
            "Include /etc/ssh/sshd_config\nInclude /etc/ssh/sshd_config.d/*.conf\nPort 2\n",
        ),
        ("/etc/ssh/sshd_config.d/b.conf", "Port 3\n"),
    ]);
    let main = "Include /etc/ssh/sshd_config.d/*.conf\nInclude /etc/ssh/sshd_config\n";
    let (c, e) = parse(&m, "/etc/ssh/sshd_config", main);
    let cycles = e
        .iter()
        .filter(|(_, l)| l.message.contains("Include cycle"))
        .count();
    // main → a (a → main: cycle, a → a: cycle, a → b), main → b, main → main: cycle.
    assert_eq!(cycles, 3, "{e:?}");
    assert_eq!(c.files.len(), 4, "{:?}", c.files);
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
    let (c2, _) = parse(&files, "/etc/ssh/sshd_config", "Match User a\t# why\n");
    assert_eq!(c2.matches[0].condition, "User a");
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
    // Lines sshd refuses are errors naming the line.
    for bad in [
        "PermitRootLogin maybe\n",
        "MaxAuthTries 3 4\n",
        "PermitRootLogin \"yes\n",
        "Match User a\nCiphers aes128-ctr\n",
        "Match Address 10.0.0.1/8\n",
        "Match all User x\n",
        "MaxStartups 10:30\n",
        "LoginGraceTime 1x\n",
    ] {
        let (_, e) = parse(&files, "/etc/ssh/sshd_config", bad);
        assert!(!e.is_empty(), "{bad:?} accepted");
    }
}

#[test]
fn algorithm_modifiers() {
    assert_eq!(algorithm_list("+3des-cbc", "a,b"), ["a", "b", "3des-cbc"]);
    assert_eq!(algorithm_list("-b*", "a,b1,b2"), ["a"]);
    assert_eq!(algorithm_list("^x", "a"), ["x", "a"]);
    assert_eq!(algorithm_list("x,y", "a"), ["x", "y"]);
    assert!(glob_match("*.conf", "10-a.conf") && !glob_match("*.conf", "a.txt"));
    // Repeating a default does not duplicate it (kex_names_cat).
    assert_eq!(algorithm_list("+a,c", "a,b"), ["a", "b", "c"]);
    assert_eq!(algorithm_list("^b,x", "a,b"), ["b", "x", "a"]);
    assert_eq!(algorithm_list("x,x,y", "a"), ["x", "y"]);
}

#[test]
fn hostile_glob_is_linear() {
    let pat = format!("-{}z", "*".repeat(60));
    let d = default_for("ciphers", Some((9, 2))).unwrap();
    assert_eq!(algorithm_list(&pat, d).len(), 6);
    let long = "a".repeat(5000);
    assert!(!glob_match(&format!("{}b", "*a".repeat(2000)), &long));
    assert!(glob_match("a*b?d*", "aXXbcdYY"));
    assert!(!glob_match("a*b?d", "aXXbcdYY"));
}

#[test]
fn quoted_values_and_comments() {
    assert_eq!(
        eff(
            &[],
            "PermitEmptyPasswords \"yes\"\n",
            None,
            "permitemptypasswords"
        ),
        "yes"
    );
    assert_eq!(eff(&[], "MaxAuthTries \"3\"\n", None, "maxauthtries"), "3");
    assert_eq!(
        eff(&[], "MaxAuthTries '3' # three\n", None, "maxauthtries"),
        "3"
    );
    assert_eq!(
        eff(
            &[],
            "PermitRootLogin no # not yes\n",
            None,
            "permitrootlogin"
        ),
        "no"
    );
    assert_eq!(
        eff(&[], "PermitRootLogin=yes\n", None, "permitrootlogin"),
        "yes"
    );
    assert_eq!(
        eff(
            &[],
            "permitrootlogin = Prohibit-Password\n",
            None,
            "permitrootlogin"
        ),
        "without-password"
    );
    assert_eq!(eff(&[], "\tLogLevel\tdebug\n", None, "loglevel"), "DEBUG1");
    assert_eq!(
        eff(&[], "LoginGraceTime 1m30s\n", None, "logingracetime"),
        "90"
    );
    assert_eq!(eff(&[], "MaxStartups 5\n", None, "maxstartups"), "5:30:5");
    assert_eq!(
        eff(
            &[],
            "MaxStartups 5:50:9\nMaxStartups 3\n",
            None,
            "maxstartups"
        ),
        "3:50:3"
    );
    assert_eq!(
        argv_split("a\\ b \"c d\" 'e\"f' #g").unwrap(),
        ["a b", "c d", "e\"f"]
    );
}

#[test]
fn include_inside_match_keeps_match_scope() {
    let files = [("/etc/ssh/extra.conf", "X11Forwarding no\n")];
    // The line after the Include is still inside Match User bob.
    let main = "Match User bob\nInclude /etc/ssh/extra.conf\nPermitRootLogin yes\n";
    assert_eq!(
        eff(&files, main, None, "permitrootlogin"),
        "without-password"
    );
    assert_eq!(
        eff(&files, main, Some(&user("bob", &[])), "permitrootlogin"),
        "yes"
    );
    assert_eq!(
        eff(&files, main, Some(&user("bob", &[])), "x11forwarding"),
        "no"
    );
    // A Match in an included file ends with that file.
    let files = [("/etc/ssh/m.conf", "Match User bob\nX11Forwarding yes\n")];
    let main = "Include /etc/ssh/m.conf\nPermitRootLogin no\n";
    assert_eq!(eff(&files, main, None, "permitrootlogin"), "no");
    // An Include inside a non-matching block never matches its Match all.
    let files = [("/etc/ssh/a.conf", "Match all\nPasswordAuthentication no\n")];
    let main = "Match User carol\nInclude /etc/ssh/a.conf\n";
    assert_eq!(
        eff(
            &files,
            main,
            Some(&user("bob", &[])),
            "passwordauthentication"
        ),
        "yes"
    );
    assert_eq!(
        eff(
            &files,
            main,
            Some(&user("carol", &[])),
            "passwordauthentication"
        ),
        "no"
    );
}

#[test]
fn include_globs_skip_dot_files() {
    let files = [
        ("/etc/ssh/d/.hidden.conf", "PermitRootLogin yes\n"),
        ("/etc/ssh/d/b.conf", "PermitRootLogin no\n"),
        ("/etc/ssh/d/a.txt", "PermitRootLogin yes\n"),
    ];
    assert_eq!(
        eff(&files, "Include d/*.conf\n", None, "permitrootlogin"),
        "no"
    );
    assert_eq!(
        eff(&files, "Include d/.*.conf\n", None, "permitrootlogin"),
        "yes"
    );
    assert_eq!(
        eff(
            &files,
            "Include /etc/ssh/d/[ab].*\n",
            None,
            "permitrootlogin"
        ),
        "yes"
    );
    assert!(glob_segment("[!a]*", "b") && !glob_segment("[!a]*", "a") && !glob_segment("?x", ".x"));
}

#[test]
fn match_all_and_first_value_wins() {
    // Match all overrides an earlier top-level value in sshd -T.
    let main = "PermitRootLogin no\nMatch all\nPermitRootLogin yes\n";
    assert_eq!(eff(&[], main, None, "permitrootlogin"), "yes");
    // …but a global-only keyword after Match all is simply the next in line.
    assert_eq!(
        eff(
            &[],
            "StrictModes yes\nMatch all\nStrictModes no\n",
            None,
            "strictmodes"
        ),
        "yes"
    );
    // First value wins inside a block and across blocks with the same condition.
    let main = "Match User bob\nMaxAuthTries 3\nMaxAuthTries 9\nMatch User bob\nMaxAuthTries 7\n";
    assert_eq!(eff(&[], main, Some(&user("bob", &[])), "maxauthtries"), "3");
    assert_eq!(
        eff(&[], main, Some(&user("alice", &[])), "maxauthtries"),
        "6"
    );
    // Lists, negation, groups, addresses, hosts.
    let main = "Match User !root,*\nX11Forwarding yes\nMatch Group adm Address 192.0.2.0/24\nGatewayPorts yes\nMatch Host *.EXAMPLE\nPermitTunnel yes\n";
    assert_eq!(
        eff(&[], main, Some(&user("root", &["root"])), "x11forwarding"),
        "no"
    );
    assert_eq!(
        eff(&[], main, Some(&user("bob", &[])), "x11forwarding"),
        "yes"
    );
    assert_eq!(
        eff(&[], main, Some(&user("bob", &["adm"])), "gatewayports"),
        "yes"
    );
    assert_eq!(
        eff(&[], main, Some(&user("bob", &["staff"])), "gatewayports"),
        "no"
    );
    assert_eq!(
        eff(&[], main, Some(&user("bob", &[])), "permittunnel"),
        "yes"
    );
    assert_eq!(eff(&[], main, None, "permittunnel"), "no");
}

#[test]
fn kbd_interactive_default_and_alias() {
    assert_eq!(
        eff(&[], "UsePAM yes\n", None, "kbdinteractiveauthentication"),
        "yes"
    );
    let main = "ChallengeResponseAuthentication no\nKbdInteractiveAuthentication yes\n";
    assert_eq!(eff(&[], main, None, "kbdinteractiveauthentication"), "no");
    let main = "KbdInteractiveAuthentication yes\nChallengeResponseAuthentication no\n";
    assert_eq!(eff(&[], main, None, "kbdinteractiveauthentication"), "yes");
}

#[test]
fn algorithms_dedup_and_patterns() {
    let c = eff(&[], "Ciphers ^aes128-ctr,aes128-cbc\n", None, "ciphers");
    assert_eq!(c, "aes128-ctr,aes128-cbc,chacha20-poly1305@openssh.com,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com");
    let c = eff(
        &[],
        "Ciphers +aes128-ctr,aes128-cbc,aes128-cbc\n",
        None,
        "ciphers",
    );
    assert_eq!(c.matches("aes128-cbc").count(), 1);
    assert_eq!(
        eff(&[], "MACs -*sha1*,umac*\n", None, "macs"),
        "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512"
    );
    assert!(eff(
        &[],
        &format!("Ciphers -{}z\n", "*".repeat(30)),
        None,
        "ciphers"
    )
    .starts_with("chacha20"));
}
