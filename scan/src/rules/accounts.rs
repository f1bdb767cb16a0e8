//! Accounts and identification (catalog 2.A): FR1/FR2, CCSC 3.

use super::{Ctx, Hit, Meta, Outcome, Rule};
use crate::parse::accounts::{is_nologin_shell, pw_state, PwState};
use fieldattest_protocol::report::Severity;
use std::collections::BTreeMap;

pub const RULES: &[Rule] = &[
    Rule {
        meta: Meta {
            id: "account.uid0-unique",
            title: "Account other than root has UID 0",
            fr: "FR1",
            severity: Severity::Critical,
            reqs: &[("CR 1.1 RE(1)", 2), ("CR 2.1", 1)],
            remediation: "Give every account other than root a unique non-zero UID; use sudo for delegated administration.",
            reference: "CIS 6.2.5",
        },
        check: uid0_unique,
    },
    Rule {
        meta: Meta {
            id: "account.duplicate-ids",
            title: "Duplicate UID, GID, user or group name",
            fr: "FR1",
            severity: Severity::High,
            reqs: &[("CR 1.1 RE(1)", 2), ("CR 1.4", 1)],
            remediation: "Make every UID, GID, user name and group name unique so actions are attributable.",
            reference: "CIS 6.2.16-6.2.19; STIG UBTU-20-010010",
        },
        check: duplicate_ids,
    },
    Rule {
        meta: Meta {
            id: "account.empty-password",
            title: "Account without password or PAM accepting empty passwords",
            fr: "FR1",
            severity: Severity::Critical,
            reqs: &[("CR 1.1", 1), ("CR 1.5", 1)],
            remediation: "Lock (passwd -l) or set a password on accounts with an empty password field; remove 'nullok' from pam_unix.",
            reference: "CIS 6.2.1; STIG UBTU-20-010462, UBTU-20-010463",
        },
        check: empty_password,
    },
    Rule {
        meta: Meta {
            id: "account.hash-outside-shadow",
            title: "Password hash stored in world-readable /etc/passwd",
            fr: "FR1",
            severity: Severity::Critical,
            reqs: &[("CR 1.5", 1), ("CR 4.1", 1)],
            remediation: "Move hashes to /etc/shadow (pwconv) and leave 'x' in /etc/passwd.",
            reference: "CIS 6.1.2/6.1.3",
        },
        check: hash_outside_shadow,
    },
    Rule {
        meta: Meta {
            id: "account.legacy-nis-entries",
            title: "Legacy NIS '+' entry in account database",
            fr: "FR1",
            severity: Severity::Medium,
            reqs: &[("CR 1.1", 1)],
            remediation: "Remove '+'/'-' NIS inclusion lines from /etc/passwd, /etc/shadow and /etc/group.",
            reference: "CIS 6.2.2-6.2.4",
        },
        check: legacy_nis,
    },
    Rule {
        meta: Meta {
            id: "account.system-account-login",
            title: "System account can log in",
            fr: "FR2",
            severity: Severity::Medium,
            reqs: &[("CR 2.1", 1), ("CR 7.7", 1)],
            remediation: "Set the shell of system accounts (UID below UID_MIN) to /usr/sbin/nologin and lock their password.",
            reference: "CIS 5.4.2",
        },
        check: system_account_login,
    },
    Rule {
        meta: Meta {
            id: "account.shared-generic-login",
            title: "Generic, likely shared account can log in with a password",
            fr: "FR1",
            severity: Severity::High,
            reqs: &[("CR 1.1 RE(1)", 2), ("CR 1.3", 1)],
            remediation: "Replace role accounts (admin, operator, maint, ...) with personal accounts, or lock their password.",
            reference: "Metasploit scada_default_userpass.txt, SecLists default credential lists",
        },
        check: shared_generic_login,
    },
    Rule {
        meta: Meta {
            id: "account.hygiene",
            title: "Account database inconsistencies",
            fr: "FR1",
            severity: Severity::Low,
            reqs: &[("CR 1.3", 1), ("CR 1.4", 1)],
            remediation: "Give root GID 0, keep the shadow group empty, give every primary GID a group entry, set INACTIVE<=30 in /etc/default/useradd, fix future password-change dates.",
            reference: "CIS 5.4.3, 6.2.20, 6.2.15, 5.4.1.4, 5.4.1.5; STIG UBTU-20-010409",
        },
        check: hygiene,
    },
];

const PASSWD: &str = "/etc/passwd";
const GROUP: &str = "/etc/group";

fn uid0_unique(ctx: &Ctx) -> Outcome {
    Ok(ctx
        .passwd()?
        .iter()
        .filter(|p| !p.nis && p.uid == 0 && p.name != "root")
        .map(|p| {
            Hit::new("uid 0 shared with root")
                .subject(&p.name)
                .at(PASSWD, Some(p.line))
        })
        .collect())
}

fn dups<'a>(
    items: impl Iterator<Item = (String, &'a str, u64)>,
) -> Vec<(String, Vec<&'a str>, u64)> {
    let mut m: BTreeMap<String, (Vec<&str>, u64)> = BTreeMap::new();
    for (k, name, line) in items {
        let e = m.entry(k).or_insert((Vec::new(), line));
        e.0.push(name);
        e.1 = line;
    }
    m.into_iter()
        .filter(|(_, (v, _))| v.len() > 1)
        .map(|(k, (v, l))| (k, v, l))
        .collect()
}

fn duplicate_ids(ctx: &Ctx) -> Outcome {
    let pw = ctx.passwd()?;
    let gr = ctx.group()?;
    let mut hits = Vec::new();
    let real = pw.iter().filter(|p| !p.nis);
    for (uid, names, line) in dups(
        real.clone()
            .map(|p| (p.uid.to_string(), p.name.as_str(), p.line)),
    ) {
        hits.push(
            Hit::new(format!("UID {uid} used by {}", names.join(", ")))
                .subject(names.join(","))
                .at(PASSWD, Some(line)),
        );
    }
    for (name, _, line) in dups(real.map(|p| (p.name.clone(), p.name.as_str(), p.line))) {
        hits.push(
            Hit::new(format!("user name {name} appears more than once"))
                .subject(name)
                .at(PASSWD, Some(line)),
        );
    }
    let greal = gr.iter().filter(|g| !g.nis);
    for (gid, names, line) in dups(
        greal
            .clone()
            .map(|g| (g.gid.to_string(), g.name.as_str(), g.line)),
    ) {
        hits.push(
            Hit::new(format!("GID {gid} used by groups {}", names.join(", ")))
                .subject(names.join(","))
                .at(GROUP, Some(line)),
        );
    }
    for (name, _, line) in dups(greal.map(|g| (g.name.clone(), g.name.as_str(), g.line))) {
        hits.push(
            Hit::new(format!("group name {name} appears more than once"))
                .subject(name)
                .at(GROUP, Some(line)),
        );
    }
    Ok(hits)
}

fn empty_password(ctx: &Ctx) -> Outcome {
    let mut hits = Vec::new();
    for p in ctx.passwd()?.iter().filter(|p| !p.nis) {
        let (field, path, line) = ctx.password_field(p)?;
        if pw_state(field) == PwState::Empty {
            let shell_note = if is_nologin_shell(&p.shell) {
                " (shell is nologin, but other services may accept it)"
            } else {
                ""
            };
            hits.push(
                Hit::new(format!("empty password field{shell_note}"))
                    .subject(&p.name)
                    .at(path, Some(line)),
            );
        }
    }
    if let Ok(files) = ctx.pam() {
        for f in files {
            for l in &f.lines {
                if l.module_name() == "pam_unix"
                    && (l.has_arg("nullok") || l.has_arg("nullok_secure"))
                {
                    hits.push(
                        Hit::new(format!(
                            "pam_unix accepts empty passwords ({} {})",
                            l.kind,
                            l.args.join(" ")
                        ))
                        .at(&f.path, Some(l.line)),
                    );
                }
            }
        }
    }
    Ok(hits)
}

/// Scheme of a crypt string, for evidence (never the hash itself).
pub fn scheme_name(hash: &str) -> &'static str {
    match hash {
        h if h.starts_with("$y$") => "yescrypt",
        h if h.starts_with("$gy$") => "gost-yescrypt",
        h if h.starts_with("$7$") => "scrypt",
        h if h.starts_with("$6$") => "sha512crypt",
        h if h.starts_with("$5$") => "sha256crypt",
        h if h.starts_with("$2b$") || h.starts_with("$2y$") => "bcrypt",
        h if h.starts_with("$2a$") || h.starts_with("$2x$") => "bcrypt (legacy prefix)",
        h if h.starts_with("$1$") => "md5crypt",
        h if h.starts_with("$md5") => "sunmd5",
        h if h.starts_with("$sha1$") => "sha1crypt",
        h if h.starts_with("$3$") => "NT hash",
        h if h.starts_with('_') => "bsdicrypt",
        h if h.len() == 13 && !h.starts_with('$') => "descrypt",
        h if h.len() > 13 && !h.starts_with('$') => "bigcrypt",
        _ => "unknown",
    }
}

fn hash_outside_shadow(ctx: &Ctx) -> Outcome {
    Ok(ctx
        .passwd()?
        .iter()
        .filter(|p| !p.nis && pw_state(&p.password) == PwState::Usable && p.password != "x")
        .map(|p| {
            Hit::new(format!(
                "{} hash in world-readable file",
                scheme_name(&p.password)
            ))
            .subject(&p.name)
            .at(PASSWD, Some(p.line))
        })
        .collect())
}

fn legacy_nis(ctx: &Ctx) -> Outcome {
    let mut hits = Vec::new();
    for p in ctx.passwd()?.iter().filter(|p| p.nis) {
        hits.push(Hit::new("NIS inclusion line").at(PASSWD, Some(p.line)));
    }
    for s in ctx.shadow_opt()?.iter().filter(|s| s.nis) {
        hits.push(Hit::new("NIS inclusion line").at("/etc/shadow", Some(s.line)));
    }
    if let Ok(g) = ctx.group() {
        for g in g.iter().filter(|g| g.nis) {
            hits.push(Hit::new("NIS inclusion line").at(GROUP, Some(g.line)));
        }
    }
    Ok(hits)
}

const SYSTEM_ALLOW: [&str; 3] = ["sync", "shutdown", "halt"];

fn system_account_login(ctx: &Ctx) -> Outcome {
    let uid_min = ctx.uid_min()?;
    let mut hits = Vec::new();
    for p in ctx.passwd()?.iter().filter(|p| {
        !p.nis && p.uid != 0 && p.uid < uid_min && !SYSTEM_ALLOW.contains(&p.name.as_str())
    }) {
        let (field, _, _) = ctx.password_field(p)?;
        let shell = !is_nologin_shell(&p.shell);
        let pw = pw_state(field) == PwState::Usable;
        if shell || pw {
            let what = match (shell, pw) {
                (true, true) => format!(
                    "login shell {} and a usable password",
                    display_shell(&p.shell)
                ),
                (true, false) => format!("login shell {}", display_shell(&p.shell)),
                _ => "usable password".to_string(),
            };
            hits.push(
                Hit::new(format!("UID {} < UID_MIN {uid_min} has {what}", p.uid))
                    .subject(&p.name)
                    .at(PASSWD, Some(p.line)),
            );
        }
    }
    Ok(hits)
}

fn display_shell(s: &str) -> &str {
    if s.is_empty() {
        "(empty = /bin/sh)"
    } else {
        s
    }
}

/// Role names that suggest a shared account (from the default-credential lists).
const GENERIC: [&str; 22] = [
    "admin",
    "administrator",
    "user",
    "operator",
    "guest",
    "service",
    "maint",
    "maintenance",
    "engineer",
    "test",
    "default",
    "support",
    "tech",
    "technician",
    "manager",
    "supervisor",
    "plc",
    "scada",
    "hmi",
    "factory",
    "installer",
    "demo",
];

fn shared_generic_login(ctx: &Ctx) -> Outcome {
    let mut hits = Vec::new();
    for p in ctx
        .passwd()?
        .iter()
        .filter(|p| !p.nis && GENERIC.contains(&p.name.to_ascii_lowercase().as_str()))
    {
        let (field, _, _) = ctx.password_field(p)?;
        if pw_state(field) != PwState::Locked && !is_nologin_shell(&p.shell) {
            let sev = if ctx.target_sl >= 2 {
                Severity::High
            } else {
                Severity::Medium
            };
            hits.push(
                Hit::new("role name with a usable password and a login shell")
                    .subject(&p.name)
                    .at(PASSWD, Some(p.line))
                    .severity(sev),
            );
        }
    }
    Ok(hits)
}

fn hygiene(ctx: &Ctx) -> Outcome {
    let pw = ctx.passwd()?;
    let gr = ctx.group()?;
    let mut hits = Vec::new();
    if let Some(r) = pw.iter().find(|p| p.name == "root" && p.gid != 0) {
        hits.push(
            Hit::new(format!("root's primary GID is {}", r.gid))
                .subject("root")
                .at(PASSWD, Some(r.line)),
        );
    }
    if let Some(g) = gr
        .iter()
        .find(|g| g.name == "shadow" && !g.members.is_empty())
    {
        hits.push(
            Hit::new(format!(
                "shadow group has members: {}",
                g.members.join(", ")
            ))
            .subject("shadow")
            .at(GROUP, Some(g.line)),
        );
    }
    for p in pw
        .iter()
        .filter(|p| !p.nis && !gr.iter().any(|g| g.gid == p.gid))
    {
        hits.push(
            Hit::new(format!("primary GID {} has no group entry", p.gid))
                .subject(&p.name)
                .at(PASSWD, Some(p.line)),
        );
    }
    for s in ctx.shadow_opt()? {
        if let Some(d) = s.last_change {
            if d > ctx.today + 1 {
                hits.push(
                    Hit::new("last password change lies in the future")
                        .subject(&s.name)
                        .at("/etc/shadow", Some(s.line)),
                );
            }
        }
    }
    if let Some(t) = ctx.text("/etc/default/useradd")? {
        {
            let inactive = crate::parse::content_lines(&t)
                .filter_map(|(l, s)| {
                    s.trim()
                        .strip_prefix("INACTIVE=")
                        .map(|v| (l, v.trim().to_string()))
                })
                .last();
            match inactive {
                Some((l, v)) => match v.parse::<i64>() {
                    Ok(n) if (0..=30).contains(&n) => {}
                    _ => hits.push(
                        Hit::new(format!("INACTIVE={v} (want 0..30 days)"))
                            .at("/etc/default/useradd", Some(l)),
                    ),
                },
                None => hits.push(
                    Hit::new("INACTIVE not set: accounts never expire after password expiry")
                        .at("/etc/default/useradd", None),
                ),
            }
        }
    }
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{fails, passes, run, T};
    use super::super::Skip;

    const GOOD_PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nsync:x:4:65534:sync:/bin:/bin/sync\nalice:x:1000:1000::/home/alice:/bin/sh\n";
    const GOOD_GROUP: &str =
        "root:x:0:\ndaemon:x:1:\nshadow:x:42:\nnogroup:x:65534:\nalice:x:1000:\n";
    const GOOD_SHADOW: &str = "root:$y$j9T$salt$hash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nsync:*:19000:0:99999:7:::\nalice:$y$j9T$salt2$hash2:19000:0:99999:7:::\n";

    fn good() -> T {
        let t = T::new();
        t.file("etc/passwd", GOOD_PASSWD)
            .file("etc/group", GOOD_GROUP)
            .file_mode("etc/shadow", GOOD_SHADOW, 0o640)
            .file("etc/default/useradd", "SHELL=/bin/sh\nINACTIVE=30\n")
            .file(
                "etc/pam.d/common-auth",
                "auth [success=1 default=ignore] pam_unix.so\n",
            );
        t
    }

    #[test]
    fn hardened_accounts_pass_every_rule() {
        let t = good();
        for id in [
            "account.uid0-unique",
            "account.duplicate-ids",
            "account.empty-password",
            "account.hash-outside-shadow",
            "account.legacy-nis-entries",
            "account.system-account-login",
            "account.shared-generic-login",
            "account.hygiene",
        ] {
            passes(&t, id);
        }
    }

    #[test]
    fn uid0_and_duplicates() {
        let t = good();
        t.file(
            "etc/passwd",
            &format!(
                "{GOOD_PASSWD}toor:x:0:0::/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n"
            ),
        );
        t.file("etc/group", &format!("{GOOD_GROUP}bob:x:1000:\n"));
        let h = fails(&t, "account.uid0-unique");
        assert_eq!(h[0].subject.as_deref(), Some("toor"));
        assert_eq!(h[0].line, Some(5));
        let h = fails(&t, "account.duplicate-ids");
        let ev: Vec<&str> = h.iter().map(|h| h.evidence.as_str()).collect();
        assert!(
            ev.iter().any(|e| e.contains("UID 0 used by root, toor")),
            "{ev:?}"
        );
        assert!(
            ev.iter()
                .any(|e| e.contains("GID 1000 used by groups alice, bob")),
            "{ev:?}"
        );
    }

    #[test]
    fn empty_password_and_nullok() {
        let t = good();
        t.file_mode(
            "etc/shadow",
            &GOOD_SHADOW.replace("alice:$y$j9T$salt2$hash2", "alice:"),
            0o640,
        );
        let h = fails(&t, "account.empty-password");
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].subject.as_deref(), Some("alice"));
        let t = good();
        t.file(
            "etc/pam.d/common-auth",
            "auth [success=1 default=ignore] pam_unix.so nullok\n",
        );
        let h = fails(&t, "account.empty-password");
        assert_eq!(h[0].path.as_deref(), Some("/etc/pam.d/common-auth"));
        assert!(!h[0].evidence.contains('$'));
    }

    #[test]
    fn hash_in_passwd_without_leaking_it() {
        let t = good();
        t.file(
            "etc/passwd",
            &GOOD_PASSWD.replace("alice:x:", "alice:$6$saltsalt$SECRETHASHVALUE:"),
        );
        let h = fails(&t, "account.hash-outside-shadow");
        assert!(h[0].evidence.contains("sha512crypt"));
        assert!(!format!("{h:?}").contains("SECRETHASHVALUE"));
    }

    #[test]
    fn nis_lines() {
        let t = good();
        t.file("etc/passwd", &format!("{GOOD_PASSWD}+::::::\n"));
        assert_eq!(fails(&t, "account.legacy-nis-entries")[0].line, Some(5));
    }

    #[test]
    fn system_accounts_with_shell_or_password() {
        let t = good();
        t.file(
            "etc/passwd",
            &GOOD_PASSWD.replace(
                "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
                "daemon:x:1:1:daemon:/usr/sbin:/bin/sh",
            ),
        );
        let h = fails(&t, "account.system-account-login");
        assert!(h[0].evidence.contains("login shell /bin/sh"), "{h:?}");
        t.file("etc/login.defs", "UID_MIN 500\n");
        t.file(
            "etc/passwd",
            &format!("{GOOD_PASSWD}svc:x:600:600::/:/usr/sbin/nologin\n"),
        );
        t.file("etc/group", &format!("{GOOD_GROUP}svc:x:600:\n"));
        passes(&t, "account.system-account-login");
    }

    #[test]
    fn generic_names() {
        let t = good();
        t.file(
            "etc/passwd",
            &format!("{GOOD_PASSWD}admin:x:1001:1000::/home/admin:/bin/sh\n"),
        );
        t.file_mode(
            "etc/shadow",
            &format!("{GOOD_SHADOW}admin:$6$s$h:19000:0:99999:7:::\n"),
            0o640,
        );
        let h = fails(&t, "account.shared-generic-login");
        assert_eq!(h[0].subject.as_deref(), Some("admin"));
    }

    #[test]
    fn hygiene_problems() {
        let t = good();
        t.file(
            "etc/group",
            &GOOD_GROUP.replace("shadow:x:42:", "shadow:x:42:alice"),
        );
        t.file("etc/default/useradd", "SHELL=/bin/sh\n");
        let h = fails(&t, "account.hygiene");
        assert_eq!(h.len(), 2, "{h:?}");
    }

    #[test]
    fn malformed_passwd_is_an_error_with_line() {
        let t = good();
        t.file("etc/passwd", &format!("{GOOD_PASSWD}broken line\n"));
        match run(&t, "account.uid0-unique") {
            Err(Skip::Error { path, line, .. }) => {
                assert_eq!(path, "/etc/passwd");
                assert_eq!(line, Some(5));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_passwd_is_not_applicable() {
        let t = T::new();
        assert!(matches!(
            run(&t, "account.uid0-unique"),
            Err(Skip::NotApplicable(_))
        ));
    }
}
