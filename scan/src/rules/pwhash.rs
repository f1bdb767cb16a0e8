//! Password hashing (catalog 2.C rules 18-20): stored schemes, their cost, and
//! the method new passwords will get.

use super::accounts::scheme_name;
use super::{Ctx, Hit, Meta, Outcome, Rule};
use crate::parse::accounts::{pw_state, PwState};
use fieldattest_protocol::report::Severity;

pub const RULES: &[Rule] = &[
    Rule {
        meta: Meta {
            id: "pwhash.weak-scheme",
            title: "Password hashed with a weak scheme",
            fr: "FR1",
            severity: Severity::High,
            reqs: &[("CR 1.7", 1), ("CR 4.3", 1), ("CR 1.5", 1)],
            remediation: "Set a new password so it is re-hashed with yescrypt or SHA-512 (see pwhash.configured-method).",
            reference: "crypt(5); CIS 5.3.4; STIG UBTU-20-010404",
        },
        check: weak_scheme,
    },
    Rule {
        meta: Meta {
            id: "pwhash.low-cost",
            title: "Password hash with a low work factor",
            fr: "FR1",
            severity: Severity::Medium,
            reqs: &[("CR 1.7", 1)],
            remediation: "Use yescrypt, or sha512crypt with rounds >= 5000 set explicitly (pam_unix rounds=, SHA_CRYPT_MIN_ROUNDS), or bcrypt cost >= 10.",
            reference: "crypt(5); STIG UBTU-20-010404",
        },
        check: low_cost,
    },
    Rule {
        meta: Meta {
            id: "pwhash.configured-method",
            title: "New passwords would not be hashed with SHA-512 or yescrypt",
            fr: "FR1",
            severity: Severity::Medium,
            reqs: &[("CR 1.7", 1)],
            remediation: "Set 'yescrypt' (or 'sha512') on the pam_unix password line and ENCRYPT_METHOD YESCRYPT/SHA512 in /etc/login.defs.",
            reference: "CIS 5.3.4, 5.4.1.x; STIG UBTU-20-010404",
        },
        check: configured_method,
    },
];

/// Usable hashes with the file and line they come from.
fn usable_hashes<'c>(
    ctx: &'c Ctx,
) -> Result<Vec<(&'c str, &'c str, &'static str, u64)>, super::Skip> {
    let mut out = Vec::new();
    for p in ctx.passwd()?.iter().filter(|p| !p.nis) {
        let (h, path, line) = ctx.password_field(p)?;
        if pw_state(h) == PwState::Usable {
            out.push((p.name.as_str(), h, path, line));
        }
    }
    Ok(out)
}

fn weak_scheme(ctx: &Ctx) -> Outcome {
    let mut hits = Vec::new();
    for (name, h, path, line) in usable_hashes(ctx)? {
        let s = scheme_name(h);
        let sev = match s {
            "descrypt" | "bigcrypt" | "NT hash" | "bsdicrypt" => Some(Severity::Critical),
            "md5crypt" | "sunmd5" | "sha1crypt" => Some(Severity::High),
            "bcrypt (legacy prefix)" => Some(Severity::Medium),
            _ => None,
        };
        if let Some(sev) = sev {
            hits.push(
                Hit::new(format!("{s} hash"))
                    .subject(name)
                    .at(path, Some(line))
                    .severity(sev),
            );
        }
    }
    Ok(hits)
}

/// Parses `rounds=N` of a sha-crypt string.
pub fn sha_rounds(h: &str) -> Option<u64> {
    h.split('$').nth(2)?.strip_prefix("rounds=")?.parse().ok()
}

fn low_cost(ctx: &Ctx) -> Outcome {
    let mut hits = Vec::new();
    for (name, h, path, line) in usable_hashes(ctx)? {
        let weak = if h.starts_with("$5$") || h.starts_with("$6$") {
            match sha_rounds(h) {
                None => Some("sha-crypt without rounds= (library default 5000)".to_string()),
                Some(r) if r < 5000 => Some(format!("sha-crypt rounds={r}")),
                _ => None,
            }
        } else if h.starts_with("$2") {
            match h.get(4..6).and_then(|c| c.parse::<u32>().ok()) {
                Some(c) if c < 10 => Some(format!("bcrypt cost {c}")),
                _ => None,
            }
        } else {
            None
        };
        if let Some(w) = weak {
            hits.push(Hit::new(w).subject(name).at(path, Some(line)));
        }
    }
    Ok(hits)
}

const STRONG_PAM: [&str; 3] = ["yescrypt", "sha512", "gost_yescrypt"];
const WEAK_PAM: [&str; 5] = ["md5", "bigcrypt", "des", "sha256", "blowfish"];

fn configured_method(ctx: &Ctx) -> Outcome {
    let mut hits = Vec::new();
    // PAM decides for passwd(1); login.defs for chpasswd/newusers without PAM.
    let mut pam_method = None;
    if let Ok(files) = ctx.pam() {
        for f in files {
            for l in f
                .lines
                .iter()
                .filter(|l| l.kind == "password" && l.module_name() == "pam_unix")
            {
                let m = l
                    .args
                    .iter()
                    .find(|a| STRONG_PAM.contains(&a.as_str()) || WEAK_PAM.contains(&a.as_str()));
                match m {
                    Some(m) if WEAK_PAM.contains(&m.as_str()) => {
                        hits.push(
                            Hit::new(format!("pam_unix hashes new passwords with {m}"))
                                .at(&f.path, Some(l.line)),
                        );
                    }
                    Some(m) => pam_method = Some(m.clone()),
                    None => {}
                }
            }
        }
    }
    let defs = ctx.login_defs()?;
    match defs.get("ENCRYPT_METHOD") {
        Some((line, m)) => {
            if !matches!(m.to_ascii_uppercase().as_str(), "SHA512" | "YESCRYPT") {
                hits.push(
                    Hit::new(format!("ENCRYPT_METHOD {m}")).at("/etc/login.defs", Some(line)),
                );
            }
        }
        None => {
            if let Some((line, v)) = defs.get("MD5_CRYPT_ENAB") {
                if v.eq_ignore_ascii_case("yes") {
                    hits.push(Hit::new("MD5_CRYPT_ENAB yes").at("/etc/login.defs", Some(line)));
                }
            }
            if pam_method.is_none() && hits.is_empty() {
                hits.push(
                    Hit::new("no ENCRYPT_METHOD and no pam_unix method: tools fall back to DES")
                        .at("/etc/login.defs", None),
                );
            }
        }
    }
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{fails, passes, T};
    use fieldattest_protocol::report::Severity;

    fn tree(hash: &str) -> T {
        let t = T::new();
        t.file(
            "etc/passwd",
            "root:x:0:0::/root:/bin/sh\nop:x:1000:1000::/home/op:/bin/sh\n",
        )
        .file_mode(
            "etc/shadow",
            &format!("root:!:19000::::::\nop:{hash}:19000:0:99999:7:::\n"),
            0o640,
        )
        .file(
            "etc/pam.d/common-password",
            "password [success=1 default=ignore] pam_unix.so obscure yescrypt\n",
        )
        .file("etc/login.defs", "ENCRYPT_METHOD YESCRYPT\n");
        t
    }

    #[test]
    fn strong_hashes_pass() {
        let t = tree("$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7");
        for id in [
            "pwhash.weak-scheme",
            "pwhash.low-cost",
            "pwhash.configured-method",
        ] {
            passes(&t, id);
        }
        passes(&tree("$6$rounds=65536$saltsalt$x"), "pwhash.low-cost");
    }

    #[test]
    fn weak_schemes_fire_with_severity() {
        let h = fails(&tree("abJnggxhB/yWI"), "pwhash.weak-scheme");
        assert_eq!(h[0].severity, Some(Severity::Critical));
        assert_eq!(h[0].evidence, "descrypt hash");
        let h = fails(
            &tree("$1$saltsalt$qjXMvbEw8oaL.CzflDugX/"),
            "pwhash.weak-scheme",
        );
        assert_eq!(h[0].severity, Some(Severity::High));
    }

    #[test]
    fn default_rounds_are_low_cost() {
        let h = fails(&tree("$6$saltsalt$abc"), "pwhash.low-cost");
        assert!(h[0].evidence.contains("5000"));
        fails(
            &tree("$2b$08$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234"),
            "pwhash.low-cost",
        );
    }

    #[test]
    fn configured_method_weak_or_missing() {
        let t = tree("$y$x$y");
        t.file(
            "etc/pam.d/common-password",
            "password required pam_unix.so md5\n",
        );
        assert!(fails(&t, "pwhash.configured-method")[0]
            .evidence
            .contains("md5"));
        let t = tree("$y$x$y");
        t.file(
            "etc/pam.d/common-password",
            "password required pam_unix.so\n",
        );
        t.file("etc/login.defs", "UID_MIN 1000\n");
        assert!(fails(&t, "pwhash.configured-method")[0]
            .evidence
            .contains("DES"));
        t.file("etc/login.defs", "ENCRYPT_METHOD MD5\n");
        fails(&t, "pwhash.configured-method");
    }
}
