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
    let alphabet: Vec<char> = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
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
    let ctx = Ctx::new(&root, false, 2, &[], 20_000).with_cred(crate::rules::ctx::CredOptions {
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
