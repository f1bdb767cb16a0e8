//! Smoke test of the `fieldattest-collector` binary itself. Having an
//! integration test is also what makes `cargo test --workspace` /
//! `cargo nextest run --workspace` (re)build this binary before the end-to-end
//! tests in tests/ run it (they check it is not stale: fieldattest_tests::bin).

use std::process::Command;

fn collector(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fieldattest-collector"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn version_usage_and_an_enrollment_token_on_a_new_database() {
    let out = collector(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("fieldattest-collector {}", env!("CARGO_PKG_VERSION"))
    );
    let out = collector(&["no-such-command"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-command"));
    // A new database: an enrollment token, and the device list is empty.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let db = db.to_str().unwrap();
    let out = collector(&["enroll-token", "--db", db, "--site", "plant-1"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).trim().is_empty());
    let out = collector(&["devices", "--db", db, "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().map(Vec::len), Some(0), "{v}");
}
