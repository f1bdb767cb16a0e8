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
    /// The deadline passed while this candidate was being hashed (sha-crypt
    /// with a large `rounds=`): it counts as not checked.
    OutOfBudget,
}

/// Largest yescrypt cost re-hashed (memory `128·N·r·p` bytes, times `t + 1`
/// passes): 64 MiB, four times Debian's default `j9T` (16 MiB). A hash asking
/// for more (a hostile image can ask for 2^63 blocks) is reported unsupported
/// instead of exhausting the device's memory.
pub const YESCRYPT_MAX_COST: u128 = 64 << 20;
/// Largest bcrypt cost re-hashed (2^16 iterations, ~64x the common cost 10);
/// bcrypt cannot be interrupted by the budget mid-candidate.
pub const BCRYPT_MAX_COST: u32 = 16;

/// A stored hash, parsed once per account so that each candidate only re-hashes.
#[derive(Debug, Clone)]
pub enum Prepared<'a> {
    ShaCrypt(shacrypt::Setting<'a>),
    Yescrypt(&'a str),
    Md5(&'a str),
    Bcrypt(&'a str),
    Des(&'a str),
    /// An unknown scheme, a malformed hash, or a cost above the limits.
    Unsupported,
}

impl<'a> Prepared<'a> {
    pub fn new(hash: &'a str) -> Self {
        if hash.starts_with("$5$") || hash.starts_with("$6$") {
            return shacrypt::Setting::parse(hash)
                .map_or(Prepared::Unsupported, Prepared::ShaCrypt);
        }
        if hash.starts_with("$y$") {
            let cost = hash
                .split('$')
                .nth(2)
                .and_then(|p| p.parse::<yescrypt::Params>().ok())
                .map(|p| 128 * u128::from(p.n()) * u128::from(p.r()) * u128::from(p.p()));
            return match cost {
                Some(c) if c <= YESCRYPT_MAX_COST => Prepared::Yescrypt(hash),
                _ => Prepared::Unsupported,
            };
        }
        if hash.starts_with("$1$") {
            return Prepared::Md5(hash);
        }
        if ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)) {
            let cost = hash.get(4..6).and_then(|c| c.parse::<u32>().ok());
            return match cost {
                Some(c) if c <= BCRYPT_MAX_COST && hash.as_bytes().get(6) == Some(&b'$') => {
                    Prepared::Bcrypt(hash)
                }
                _ => Prepared::Unsupported,
            };
        }
        if hash.len() == 13 && !hash.starts_with('$') {
            return Prepared::Des(hash);
        }
        Prepared::Unsupported
    }

    /// Verifies one candidate; sha-crypt stops at `deadline`.
    pub fn verify(&self, password: &str, deadline: Option<std::time::Instant>) -> Verify {
        let m = match self {
            Prepared::ShaCrypt(s) => match s.check(password.as_bytes(), deadline) {
                Some(m) => m,
                None => return Verify::OutOfBudget,
            },
            Prepared::Yescrypt(h) => {
                use yescrypt::PasswordVerifier;
                match yescrypt::Yescrypt::default().verify_password(password.as_bytes(), *h) {
                    Ok(()) => true,
                    Err(yescrypt::password_hash::Error::PasswordInvalid) => false,
                    Err(_) => return Verify::Unsupported,
                }
            }
            Prepared::Md5(h) => pwhash::md5_crypt::verify(password, h),
            Prepared::Bcrypt(h) => pwhash::bcrypt::verify(password, h),
            Prepared::Des(h) => pwhash::unix_crypt::verify(password, h),
            Prepared::Unsupported => return Verify::Unsupported,
        };
        if m {
            Verify::Match
        } else {
            Verify::NoMatch
        }
    }
}

/// Verifies `password` against a crypt(3) string: DES, md5crypt and bcrypt
/// (pwhash), sha256crypt and sha512crypt with `rounds=` ([`shacrypt`], on
/// ring's SHA-2), yescrypt (yescrypt). No deadline.
pub fn verify(password: &str, hash: &str) -> Verify {
    Prepared::new(hash).verify(password, None)
}

/// sha256crypt / sha512crypt (Drepper's "Unix crypt using SHA-256 and
/// SHA-512", as glibc and libxcrypt implement it) on ring's SHA-2: ring's
/// assembly block functions (ARMv8 SHA-2 instructions where the CPU has them)
/// are in the binary anyway for TLS, while the Rust sha2 crate is size-tuned
/// at opt-level "z". The hash is parsed once; each round hashes one buffer.
pub mod shacrypt {
    use ring::digest::{digest, Algorithm, Context, SHA256, SHA512};
    use std::time::Instant;

    const ROUNDS_DEFAULT: u32 = 5000;
    const ROUNDS_MIN: u32 = 1000;
    const ROUNDS_MAX: u32 = 999_999_999;
    const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    /// Byte triples (most significant first) of the final encoding.
    const ORDER512: [(u8, u8, u8); 21] = [
        (0, 21, 42),
        (22, 43, 1),
        (44, 2, 23),
        (3, 24, 45),
        (25, 46, 4),
        (47, 5, 26),
        (6, 27, 48),
        (28, 49, 7),
        (50, 8, 29),
        (9, 30, 51),
        (31, 52, 10),
        (53, 11, 32),
        (12, 33, 54),
        (34, 55, 13),
        (56, 14, 35),
        (15, 36, 57),
        (37, 58, 16),
        (59, 17, 38),
        (18, 39, 60),
        (40, 61, 19),
        (62, 20, 41),
    ];
    const ORDER256: [(u8, u8, u8); 10] = [
        (0, 10, 20),
        (21, 1, 11),
        (12, 22, 2),
        (3, 13, 23),
        (24, 4, 14),
        (15, 25, 5),
        (6, 16, 26),
        (27, 7, 17),
        (18, 28, 8),
        (9, 19, 29),
    ];

    /// A parsed `$5$` / `$6$` hash.
    #[derive(Debug, Clone)]
    pub struct Setting<'a> {
        sha512: bool,
        rounds: u32,
        salt: &'a [u8],
        /// The stored digest, 43 (SHA-256) or 86 (SHA-512) characters.
        tail: &'a [u8],
    }

    impl<'a> Setting<'a> {
        /// None when the string is not one that crypt(3) could have written
        /// (libxcrypt rejects such settings; no password verifies against it).
        pub fn parse(hash: &'a str) -> Option<Self> {
            let sha512 = match hash.get(..3)? {
                "$5$" => false,
                "$6$" => true,
                _ => return None,
            };
            let mut rest = &hash[3..];
            let mut rounds = ROUNDS_DEFAULT;
            if let Some(r) = rest.strip_prefix("rounds=") {
                let (n, after) = r.split_once('$')?;
                if n.is_empty() || n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                rounds = n.parse().ok()?;
                if !(ROUNDS_MIN..=ROUNDS_MAX).contains(&rounds) {
                    return None;
                }
                rest = after;
            }
            let (salt, tail) = rest.split_once('$')?;
            let want = if sha512 { 86 } else { 43 };
            if salt.len() > 16
                || salt.bytes().any(|b| b == b':' || b == b'\n')
                || tail.len() != want
                || !tail.bytes().all(|b| ITOA64.contains(&b))
            {
                return None;
            }
            Some(Setting {
                sha512,
                rounds,
                salt: salt.as_bytes(),
                tail: tail.as_bytes(),
            })
        }

        fn alg(&self) -> &'static Algorithm {
            if self.sha512 {
                &SHA512
            } else {
                &SHA256
            }
        }

        /// Whether `pw` hashes to the stored digest; None when `deadline`
        /// passed first (checked every 256 rounds).
        pub fn check(&self, pw: &[u8], deadline: Option<Instant>) -> Option<bool> {
            let raw = self.raw(pw, deadline)?;
            Some(self.encode_eq(&raw))
        }

        /// The final digest before encoding.
        fn raw(&self, pw: &[u8], deadline: Option<Instant>) -> Option<[u8; 64]> {
            let alg = self.alg();
            let l = alg.output_len();
            let salt = self.salt;
            let b = {
                let mut c = Context::new(alg);
                c.update(pw);
                c.update(salt);
                c.update(pw);
                c.finish()
            };
            let b = b.as_ref();
            let mut a = Context::new(alg);
            a.update(pw);
            a.update(salt);
            let mut n = pw.len();
            while n > l {
                a.update(b);
                n -= l;
            }
            a.update(&b[..n]);
            let mut n = pw.len();
            while n > 0 {
                if n & 1 == 1 {
                    a.update(b);
                } else {
                    a.update(pw);
                }
                n >>= 1;
            }
            let a = a.finish();
            let mut dp = Context::new(alg);
            for _ in 0..pw.len() {
                dp.update(pw);
            }
            let dp = dp.finish();
            let p: Vec<u8> = dp.as_ref().iter().cycle().take(pw.len()).copied().collect();
            let mut ds = Context::new(alg);
            for _ in 0..16 + usize::from(a.as_ref()[0]) {
                ds.update(salt);
            }
            let ds = ds.finish();
            let s = &ds.as_ref()[..salt.len()];
            let mut c = [0u8; 64];
            c[..l].copy_from_slice(a.as_ref());
            let mut buf = Vec::with_capacity(l + s.len() + 2 * p.len());
            for r in 0..self.rounds {
                if r % 256 == 255 && deadline.is_some_and(|d| Instant::now() >= d) {
                    return None;
                }
                buf.clear();
                let odd = r & 1 == 1;
                buf.extend_from_slice(if odd { &p } else { &c[..l] });
                if r % 3 != 0 {
                    buf.extend_from_slice(s);
                }
                if r % 7 != 0 {
                    buf.extend_from_slice(&p);
                }
                buf.extend_from_slice(if odd { &c[..l] } else { &p });
                c[..l].copy_from_slice(digest(alg, &buf).as_ref());
            }
            Some(c)
        }

        fn encode_eq(&self, c: &[u8; 64]) -> bool {
            let mut out = [0u8; 86];
            let mut o = 0;
            let mut put = |w: u32, n: usize| {
                let mut w = w;
                for _ in 0..n {
                    out[o] = ITOA64[(w & 63) as usize];
                    w >>= 6;
                    o += 1;
                }
            };
            let b = |i: u8| u32::from(c[usize::from(i)]);
            let order: &[(u8, u8, u8)] = if self.sha512 { &ORDER512 } else { &ORDER256 };
            for &(x, y, z) in order {
                put(b(x) << 16 | b(y) << 8 | b(z), 4);
            }
            if self.sha512 {
                put(b(63), 2);
            } else {
                put(b(31) << 8 | b(30), 3);
            }
            out[..o] == *self.tail
        }
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
        prepared: Prepared<'a>,
        path: &'static str,
        line: u64,
        /// (password, why it is a candidate, likelihood tier 0..=2)
        candidates: Vec<(&'a str, &'static str, u8)>,
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
            prepared: Prepared::new(h),
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
        let mut c: Vec<(&str, &'static str, u8)> = per
            .iter()
            .filter(|(u, _)| *u == a.name)
            .map(|(_, p)| (*p, "per-account default", 0))
            .collect();
        c.push((a.name, "account name", 1));
        c.push(("", "empty password", 1));
        c.extend(common.iter().map(|p| (*p, "common default", 2)));
        let mut seen = Vec::new();
        c.retain(|(p, _, _)| {
            let fresh = !seen.contains(p);
            seen.push(*p);
            fresh
        });
        a.candidates = c;
    }
    let total: usize = accounts.iter().map(|a| a.candidates.len()).sum();
    let mut checked = 0usize;
    let deadline = ctx.cred_deadline();
    // Round-robin by likelihood tier so every account gets its best guesses first.
    let mut exhausted = false;
    'outer: for tier in 0..3 {
        for i in 0..accounts.len() {
            let a = &mut accounts[i];
            if a.found.is_some() || a.unsupported {
                continue;
            }
            while a.next < a.candidates.len() {
                let (pw, why, t) = a.candidates[a.next];
                if t > tier {
                    break;
                }
                if !ctx.cred_budget_left() {
                    exhausted = true;
                    break 'outer;
                }
                let v = a.prepared.verify(pw, deadline);
                if v == Verify::OutOfBudget {
                    exhausted = true;
                    break 'outer;
                }
                a.next += 1;
                checked += 1;
                match v {
                    Verify::Match => {
                        a.found = Some(why);
                        // A password found on this device is the likeliest
                        // guess for its other accounts: try it next there.
                        for b in accounts.iter_mut().filter(|b| b.found.is_none()) {
                            if let Some(k) = b.candidates[b.next..].iter().position(|c| c.0 == pw) {
                                let (p, w, _) = b.candidates.remove(b.next + k);
                                b.candidates.insert(b.next, (p, w, 0));
                            }
                        }
                        break;
                    }
                    Verify::NoMatch | Verify::OutOfBudget => {}
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

    /// Many crypt(3) outputs of libxcrypt at once: (password, setting) -> hash.
    fn crypt_batch(cases: &[(String, String)]) -> Vec<String> {
        let input: String = cases
            .iter()
            .map(|(p, s)| format!("{}\t{s}\n", p.replace('\\', "\\\\").replace('\t', "\\t")))
            .collect();
        let mut child = Command::new("python3")
            .args([
                "-W",
                "ignore",
                "-c",
                "import crypt,sys\nfor l in sys.stdin.read().splitlines():\n p,s=l.split('\\t')\n p=p.replace('\\\\t','\\t').replace('\\\\\\\\','\\\\')\n print(crypt.crypt(p,s))",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let v: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(v.len(), cases.len());
        v
    }

    /// Differential test of the sha-crypt port against libxcrypt: passwords of
    /// 0..200 bytes (one and several SHA blocks per round, > 64 bytes for the
    /// P sequence), salts of 0..16 characters, default and explicit rounds.
    #[test]
    fn shacrypt_agrees_with_libxcrypt() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        let alphabet: Vec<char> =
            "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                .chars()
                .collect();
        let mut cases = Vec::new();
        for i in 0..60 {
            let plen = match i % 6 {
                0 => 0,
                1 => 1 + next(15) as usize,
                2 => 30 + next(20) as usize,
                3 => 64 + next(10) as usize,
                4 => 120 + next(80) as usize,
                _ => next(40) as usize,
            };
            let pw: String = (0..plen)
                .map(|_| char::from(b' ' + next(95) as u8))
                .collect();
            let salt: String = (0..next(17)).map(|_| alphabet[next(64) as usize]).collect();
            let magic = if i % 2 == 0 { "$5$" } else { "$6$" };
            let setting = match i % 3 {
                0 => format!("{magic}{salt}"),
                1 => format!("{magic}rounds={}${salt}", 1000 + next(300)),
                _ => format!("{magic}rounds=5000${salt}"),
            };
            cases.push((pw, setting));
        }
        let hashes = crypt_batch(&cases);
        for ((pw, setting), h) in cases.iter().zip(&hashes) {
            assert!(h.starts_with(&setting[..3]), "{setting}: {h}");
            assert_eq!(verify(pw, h), Verify::Match, "{pw:?} {h}");
            let other = format!("{pw}x");
            assert_eq!(verify(&other, h), Verify::NoMatch, "{other:?} {h}");
        }
    }

    #[test]
    fn malformed_and_costly_hashes_are_unsupported_and_bounded() {
        let good = crypt("x", "$6$rounds=1000$abc");
        let tail = good.rsplit('$').next().unwrap();
        for h in [
            format!("$6$rounds=999$abc${tail}"),
            format!("$6$rounds=01000$abc${tail}"),
            format!("$6$rounds=1000x$abc${tail}"),
            format!("$6$rounds=$abc${tail}"),
            format!("$6$abcdefghijklmnopq${tail}"),
            format!("$6$abc${}", &tail[1..]),
            format!("$6$abc${tail}$"),
            "$6$abc".to_string(),
            "$5$".to_string(),
            // yescrypt asking for 512 MiB (N = 2^17, r = 32); bcrypt cost 31.
            "$y$jET$F5Jx5fExrKuPp53xLKQ..1$6foLM1JhGupouWKMU70wxK61Kw9ZnecbACjJwRadqM2".to_string(),
            "$2b$31$N9qo8uLOickgx2ZMRZoMyejCki5x.9vK3TW5Sf9xmjs1nHnIHO0xK".to_string(),
        ] {
            assert_eq!(verify("x", &h), Verify::Unsupported, "{h}");
        }
        assert_eq!(verify("x", &good), Verify::Match);
        // The most rounds crypt(3) allows: the deadline interrupts the candidate.
        let huge = format!("$6$rounds=999999999$abc${tail}");
        let p = Prepared::new(&huge);
        let t0 = std::time::Instant::now();
        assert_eq!(
            p.verify("x", Some(t0 + std::time::Duration::from_millis(20))),
            Verify::OutOfBudget
        );
    }

    #[test]
    fn a_password_found_on_one_account_is_tried_first_on_the_others() {
        // Two accounts with the same common default (different salts).
        let pw = "changeme";
        let t = tree(&[
            ("op1", crypt(pw, &salt("METHOD_SHA512"))),
            ("op2", crypt(pw, &salt("METHOD_SHA512"))),
        ]);
        let (h, note, _) = run(&t, Default::default());
        assert_eq!(h.len(), 2, "{note}");
        // Tier 1 (name, empty) for both, then op1 walks the common list up
        // to "changeme" (k candidates) and op2 needs one more: it is tried
        // first there, not after the k - 1 common defaults before it.
        let (per, common) = parse_list(LIST);
        assert!(per.iter().all(|(u, _)| *u != "op1" && *u != "op2"));
        let k = common.iter().position(|c| *c == pw).unwrap() + 1;
        assert!(
            k > 1,
            "the test needs a password that is not first in the list"
        );
        assert!(
            note.starts_with(&format!("checked {} of", 2 + k + 2 + 1)),
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
