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

/// Asserts exit status 0, showing stderr otherwise.
fn succeeded(out: &std::process::Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    succeeded(&out);
    assert!(!String::from_utf8_lossy(&out.stdout).trim().is_empty());
    let out = collector(&["devices", "--db", db, "--format", "json"]);
    succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().map(Vec::len), Some(0), "{v}");
}

/// The number of devices `devices --format json` lists.
fn device_count(db: &str) -> usize {
    let out = collector(&["devices", "--db", db, "--format", "json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array().map_or(0, Vec::len)
}

#[test]
fn demo_fleet_fills_an_empty_database_and_refuses_one_with_devices() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let db = db.to_str().unwrap();
    let args = ["demo-fleet", "--db", db, "--devices", "12", "--days", "3"];
    let out = collector(&[&args[..], &["--format", "json"]].concat());
    succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["devices"], 12, "{v}");
    assert_eq!(v["advisories"], 200, "{v}");
    assert!(v["tokens"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(device_count(db), 12);
    // A second run would mix demo data into a fleet: refused, nothing added.
    let out = collector(&args);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already holds devices"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(device_count(db), 12);
    // Out-of-range values are usage errors.
    let out = collector(&["demo-fleet", "--db", db, "--devices", "0"]);
    assert_eq!(out.status.code(), Some(2));
}
