//! The default-credential check from the command line: on by default (a
//! planted default password is found), off with `--no-cred-check` or
//! `--cred-budget-ms 0` (the rule is not applicable and names the option,
//! never "pass"), and `--cred-budget-ms unlimited` runs it without a limit.

use fieldattest_tests::{fieldattest, json_of, Tree};
use std::process::Command;

fn sha512crypt(password: &str) -> String {
    let out = Command::new("openssl")
        .args(["passwd", "-6", password])
        .output()
        .expect("openssl CLI");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn device() -> Tree {
    let t = Tree::new();
    t.file(
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\npi:x:1000:1000::/home/pi:/bin/sh\n",
    )
    .file(
        "etc/shadow",
        format!(
            "root:!:19000:0:99999:7:::\npi:{}:19000:0:99999:7:::\n",
            sha512crypt("raspberry")
        ),
    );
    t
}

/// (status, message, number of findings) of the rule.
fn cred_rule(t: &Tree, extra: &[&str]) -> (String, String, usize) {
    let root = t.root_str();
    let mut args = vec!["scan", "--root", root.as_str(), "--format", "json"];
    args.extend_from_slice(extra);
    let out = fieldattest(&args);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_of(&out);
    let r = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "cred.known-default-password")
        .expect("rule in the report")
        .clone();
    let n = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "cred.known-default-password")
        .count();
    (
        r["status"].as_str().unwrap().to_string(),
        r["message"].as_str().unwrap_or_default().to_string(),
        n,
    )
}

#[test]
fn check_runs_by_default_and_unlimited() {
    let t = device();
    for extra in [&[][..], &["--cred-budget-ms", "unlimited"][..]] {
        let (status, message, n) = cred_rule(&t, extra);
        assert_eq!((status.as_str(), n), ("fail", 1), "{extra:?}: {message}");
        assert!(message.contains("checked "), "{message}");
    }
}

#[test]
fn no_cred_check_and_zero_budget_skip_it_visibly() {
    let t = device();
    for (extra, why) in [
        (&["--no-cred-check"][..], "--no-cred-check"),
        (&["--cred-budget-ms", "0"][..], "--cred-budget-ms 0"),
        // An explicit "off" wins over a budget given with it.
        (
            &["--cred-budget-ms", "500", "--no-cred-check"][..],
            "--no-cred-check",
        ),
    ] {
        let (status, message, n) = cred_rule(&t, extra);
        assert_eq!(status, "not-applicable", "{extra:?}");
        assert_eq!(
            message,
            format!("default-credential check skipped ({why})"),
            "{extra:?}"
        );
        assert_eq!(n, 0);
    }
}

#[test]
fn bad_budget_is_a_usage_error() {
    let out = fieldattest(&["scan", "--cred-budget-ms", "lots"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'unlimited'"));
}
