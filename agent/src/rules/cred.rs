//! Default credentials (catalog 2.B rule 9, CR 1.5): every usable password hash
//! is re-hashed, with its own stored salt, against the publicly known defaults
//! for that account, the account name, the empty string, and a common list —
//! most likely first, within a CPU-time budget (CCSC 1). Nothing tries a
//! login; nothing prints a password or a hash.
//!
//! With a state directory, hashes already fully checked against this list are
//! remembered by an HMAC-SHA256 under a device-local key (never the hash), so
//! an unchanged account costs nothing on the next scan.

use super::{Ctx, Hit, Meta, Outcome, Rule};
use crate::parse::accounts::{pw_state, PwState};
use fieldattest_protocol::report::Severity;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The shipped list (see the file's header for its sources).
pub const LIST: &str = include_str!("../../data/default-credentials.txt");
pub const LIST_NAME: &str = "fieldattest-default-credentials";

/// (per-account defaults, common passwords) from the list text.
pub fn parse_list(text: &str) -> (Vec<(&str, &str)>, Vec<&str>) {
    let mut per = Vec::new();
    let mut common = Vec::new();
    for l in text.lines() {
        if l.trim().is_empty() || l.starts_with('#') {
            continue;
        }
        if let Some((u, p)) = l.split_once(':') {
            if u == "*" {
                common.push(p);
            } else {
                per.push((u, p));
            }
        }
    }
    (per, common)
}

/// Version of the list: hashes checked against another list are re-checked.
pub fn list_digest() -> [u8; 32] {
    Sha256::digest(LIST.as_bytes()).into()
}

/// Keyed digest that identifies "this hash was fully checked against this list".
pub fn memo_key(device_key: &[u8], hash: &str) -> [u8; 32] {
    let mut m =
        <Hmac<Sha256> as Mac>::new_from_slice(device_key).expect("HMAC takes any key length");
    m.update(&list_digest());
    m.update(hash.as_bytes());
    m.finalize().into_bytes().into()
}

/// Outcome of verifying one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    Match,
    NoMatch,
    Unsupported,
}

/// Verifies `password` against a crypt(3) string: DES, md5crypt, sha256crypt,
/// sha512crypt (with `rounds=`), bcrypt (pwhash) and yescrypt (yescrypt).
pub fn verify(password: &str, hash: &str) -> Verify {
    if hash.starts_with("$y$") {
        use yescrypt::PasswordVerifier;
        return match yescrypt::Yescrypt::default().verify_password(password.as_bytes(), hash) {
            Ok(()) => Verify::Match,
            Err(yescrypt::password_hash::Error::PasswordInvalid) => Verify::NoMatch,
            Err(_) => Verify::Unsupported,
        };
    }
    let supported = hash.starts_with("$1$")
        || hash.starts_with("$5$")
        || hash.starts_with("$6$")
        || hash.starts_with("$2a$")
        || hash.starts_with("$2b$")
        || hash.starts_with("$2y$")
        || (hash.len() == 13 && !hash.starts_with('$'));
    if !supported {
        return Verify::Unsupported;
    }
    if pwhash::unix::verify(password, hash) {
        Verify::Match
    } else {
        Verify::NoMatch
    }
}

/// Scheme label for coverage notes.
fn scheme(hash: &str) -> &'static str {
    super::accounts::scheme_name(hash)
}

fn known_default(ctx: &Ctx) -> Outcome {
    if let Some(why) = ctx.cred_skip() {
        // Off by request: not applicable (never "pass"), naming the option.
        return Err(super::Skip::na(format!(
            "default-credential check skipped ({why})"
        )));
    }
    let (per, common) = parse_list(LIST);
    struct Account<'a> {
        name: &'a str,
        hash: &'a str,
        path: &'static str,
        line: u64,
        candidates: Vec<(&'a str, &'static str)>,
        next: usize,
        found: Option<&'static str>,
        unsupported: bool,
    }
    let mut accounts = Vec::new();
    for p in ctx.passwd()?.iter().filter(|p| !p.nis) {
        let (h, path, line) = ctx.password_field(p)?;
        if pw_state(h) != PwState::Usable {
            continue;
        }
        if ctx.cred_memo_contains(h) {
            ctx.cred_note_skipped();
            continue;
        }
        accounts.push(Account {
            name: &p.name,
            hash: h,
            path,
            line,
            candidates: Vec::new(),
            next: 0,
            found: None,
            unsupported: false,
        });
    }
    // Candidates, most likely first: this account's defaults, its name, empty, the common list.
    for a in &mut accounts {
        let mut c: Vec<(&str, &'static str)> = per
            .iter()
            .filter(|(u, _)| *u == a.name)
            .map(|(_, p)| (*p, "per-account default"))
            .collect();
        c.push((a.name, "account name"));
        c.push(("", "empty password"));
        c.extend(common.iter().map(|p| (*p, "common default")));
        let mut seen = Vec::new();
        c.retain(|(p, _)| {
            let fresh = !seen.contains(p);
            seen.push(*p);
            fresh
        });
        a.candidates = c;
    }
    let total: usize = accounts.iter().map(|a| a.candidates.len()).sum();
    let mut checked = 0usize;
    // Round-robin by likelihood tier so every account gets its best guesses first.
    let mut exhausted = false;
    'outer: for tier in 0..3 {
        for a in accounts.iter_mut() {
            if a.found.is_some() || a.unsupported {
                continue;
            }
            while a.next < a.candidates.len() {
                let (pw, why) = a.candidates[a.next];
                let t = match why {
                    "per-account default" => 0,
                    "account name" | "empty password" => 1,
                    _ => 2,
                };
                if t > tier {
                    break;
                }
                if !ctx.cred_budget_left() {
                    exhausted = true;
                    break 'outer;
                }
                a.next += 1;
                checked += 1;
                match verify(pw, a.hash) {
                    Verify::Match => {
                        a.found = Some(why);
                        break;
                    }
                    Verify::NoMatch => {}
                    Verify::Unsupported => {
                        a.unsupported = true;
                        break;
                    }
                }
            }
        }
    }
    let mut hits = Vec::new();
    let mut unsupported = Vec::new();
    for a in &accounts {
        match a.found {
            Some(why) => hits.push(
                Hit::new(format!("default password in list {LIST_NAME} ({why})"))
                    .subject(a.name)
                    .at(a.path, Some(a.line)),
            ),
            None if a.unsupported => unsupported.push(format!("{} ({})", a.name, scheme(a.hash))),
            None if a.next >= a.candidates.len() => ctx.cred_memo_record(a.hash),
            None => {}
        }
    }
    let mut note = format!(
        "checked {checked} of {total} candidates for {} account(s)",
        accounts.len()
    );
    if exhausted {
        note.push_str("; CPU budget exhausted before the list was complete");
    }
    if !unsupported.is_empty() {
        note.push_str(&format!(
            "; unsupported hash scheme: {}",
            unsupported.join(", ")
        ));
    }
    let skipped = ctx.cred_skipped();
    if skipped > 0 {
        note.push_str(&format!(
            "; {skipped} unchanged account(s) already checked in an earlier scan"
        ));
    }
    ctx.note("cred.known-default-password", note);
    Ok(hits)
}

pub const RULES: &[Rule] = &[Rule {
    meta: Meta {
        id: "cred.known-default-password",
        title: "Account still has a publicly known default password",
        fr: "FR1",
        severity: Severity::Critical,
        reqs: &[("CR 1.5", 1), ("CR 1.7", 1)],
        remediation: "Set a unique password per device (or lock the account) at commissioning; force a change at first login.",
        reference: "Metasploit root_userpass.txt, scada_default_userpass.txt; SecLists default credentials; NIST SP 800-63B 5.1.1.2",
    },
    check: known_default,
}];

#[cfg(test)]
mod tests {
    use super::super::testutil::T;
    use super::super::Ctx;
    use super::*;
    use std::process::Command;

    /// crypt(3) of libxcrypt, through Python's crypt module (an implementation
    /// independent of the crates under test).
    fn crypt(password: &str, setting: &str) -> String {
        let out = Command::new("python3")
            .args([
                "-W",
                "ignore",
                "-c",
                "import crypt,sys; print(crypt.crypt(sys.argv[1], sys.argv[2]))",
                password,
                setting,
            ])
            .output()
            .expect("python3");
        let h = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            h.len() > 10,
            "crypt failed for {setting}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        h
    }

    fn salt(method: &str) -> String {
        let out = Command::new("python3")
            .args([
                "-W",
                "ignore",
                "-c",
                &format!("import crypt; print(crypt.mksalt(crypt.{method}))"),
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    #[test]
    fn list_parses() {
        let (per, common) = parse_list(LIST);
        assert!(per.contains(&("root", "root")) && per.contains(&("pi", "raspberry")));
        assert!(common.contains(&"123456"));
        assert!(per.len() + common.len() >= 90);
    }

    #[test]
    fn every_scheme_verifies_against_reference_hashes() {
        let cases = [
            ("root", crypt("root", "ro")),
            ("admin", crypt("admin", &salt("METHOD_MD5"))),
            ("pass", crypt("pass", &salt("METHOD_SHA256"))),
            ("toor", crypt("toor", "$6$rounds=10000$saltsaltsalt")),
            ("raspberry", crypt("raspberry", &salt("METHOD_BLOWFISH"))),
            ("ubnt", crypt("ubnt", "$y$j9T$F5Jx5fExrKuPp53xLKQ..1")),
        ];
        for (pw, h) in &cases {
            assert_eq!(verify(pw, h), Verify::Match, "{h}");
            assert_eq!(verify("not-it", h), Verify::NoMatch, "{h}");
        }
        assert_eq!(verify("x", "$gy$abc"), Verify::Unsupported);
    }

    fn tree(accounts: &[(&str, String)]) -> T {
        let t = T::new();
        let mut pw = String::new();
        let mut sh = String::new();
        for (i, (n, h)) in accounts.iter().enumerate() {
            pw.push_str(&format!(
                "{n}:x:{}:{}::/home/{n}:/bin/sh\n",
                1000 + i,
                1000 + i
            ));
            sh.push_str(&format!("{n}:{h}:19000:0:99999:7:::\n"));
        }
        t.file("etc/passwd", &pw)
            .file_mode("etc/shadow", &sh, 0o640);
        t
    }

    fn run(
        t: &T,
        cred: crate::rules::ctx::CredOptions,
    ) -> (Vec<super::super::Hit>, String, Vec<[u8; 32]>) {
        let root = t.root();
        let ctx = Ctx::new(&root, false, 2, &[], 20_000).with_cred(cred);
        let h = known_default(&ctx).unwrap();
        (
            h,
            ctx.note_for("cred.known-default-password")
                .unwrap_or_default(),
            ctx.cred_memo_out(),
        )
    }

    #[test]
    fn finds_defaults_name_and_empty_but_not_strong_passwords() {
        let t = tree(&[
            ("pi", crypt("raspberry", &salt("METHOD_SHA512"))),
            ("plcuser", crypt("plcuser", &salt("METHOD_MD5"))),
            ("op", crypt("", &salt("METHOD_SHA512"))),
            (
                "alice",
                crypt(
                    "c0rrect-h0rse-battery-staple",
                    "$y$j9T$F5Jx5fExrKuPp53xLKQ..1",
                ),
            ),
        ]);
        let (h, note, _) = run(&t, Default::default());
        let subjects: Vec<(&str, &str)> = h
            .iter()
            .map(|h| (h.subject.as_deref().unwrap(), h.evidence.as_str()))
            .collect();
        assert_eq!(subjects.len(), 3, "{subjects:?}");
        assert!(subjects.contains(&(
            "pi",
            "default password in list fieldattest-default-credentials (per-account default)"
        )));
        assert!(subjects
            .iter()
            .any(|(s, e)| *s == "plcuser" && e.contains("account name")));
        assert!(subjects
            .iter()
            .any(|(s, e)| *s == "op" && e.contains("empty password")));
        assert!(note.starts_with("checked "), "{note}");
        // Evidence never holds the password itself.
        assert!(!format!("{h:?}").contains("raspberry"));
    }

    #[test]
    fn budget_limits_work_and_is_reported() {
        let t = tree(&[("alice", crypt("c0rrect-h0rse", &salt("METHOD_BLOWFISH")))]);
        let (h, note, _) = run(
            &t,
            crate::rules::ctx::CredOptions {
                deadline: Some(std::time::Instant::now()),
                ..Default::default()
            },
        );
        assert!(h.is_empty());
        assert!(
            note.contains("checked 0 of") && note.contains("budget exhausted"),
            "{note}"
        );
    }

    #[test]
    fn skipped_check_is_not_applicable_never_pass_and_records_nothing() {
        let t = tree(&[("pi", crypt("raspberry", &salt("METHOD_SHA512")))]);
        let key = b"0123456789abcdef0123456789abcdef".to_vec();
        let root = t.root();
        let ctx =
            Ctx::new(&root, false, 2, &[], 20_000).with_cred(crate::rules::ctx::CredOptions {
                skip: Some("--no-cred-check".into()),
                memo_key: Some(key.clone()),
                ..Default::default()
            });
        assert_eq!(
            known_default(&ctx),
            Err(super::super::Skip::na(
                "default-credential check skipped (--no-cred-check)"
            ))
        );
        assert!(ctx.cred_memo_out().is_empty());
        // Through the evaluator: not applicable with the reason, no finding.
        let rule: Vec<&Rule> = RULES.iter().collect();
        let ev = super::super::evaluate(&ctx, &rule);
        assert_eq!(
            ev.rules[0].status,
            fieldattest_protocol::report::RuleStatus::NotApplicable
        );
        assert_eq!(
            ev.rules[0].message.as_deref(),
            Some("default-credential check skipped (--no-cred-check)")
        );
        assert!(ev.findings.is_empty());
        // The same device with the check on: the default password is found.
        let (h, _, memo) = run(
            &t,
            crate::rules::ctx::CredOptions {
                memo_key: Some(key),
                ..Default::default()
            },
        );
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].subject.as_deref(), Some("pi"));
        assert!(memo.is_empty(), "a found default is not memoised");
    }

    #[test]
    fn memo_skips_unchanged_accounts() {
        let t = tree(&[("alice", crypt("c0rrect-h0rse", &salt("METHOD_SHA512")))]);
        let key = b"0123456789abcdef0123456789abcdef".to_vec();
        let (_, note1, memo) = run(
            &t,
            crate::rules::ctx::CredOptions {
                memo_key: Some(key.clone()),
                ..Default::default()
            },
        );
        assert_eq!(memo.len(), 1, "{note1}");
        let (_, note2, _) = run(
            &t,
            crate::rules::ctx::CredOptions {
                memo_key: Some(key),
                memo: memo.into_iter().collect(),
                ..Default::default()
            },
        );
        assert!(
            note2.contains("checked 0 of 0") && note2.contains("already checked"),
            "{note2}"
        );
    }
}
