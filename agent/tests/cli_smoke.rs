//! Smoke test of the `fieldattest` binary itself (this also makes
//! `cargo test --workspace` build the binary the end-to-end tests run).

use std::process::Command;

#[test]
fn scans_a_tiny_tree_and_prints_json() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("lib/apk/db")).unwrap();
    std::fs::write(
        dir.path().join("lib/apk/db/installed"),
        "P:musl\nV:1.2.4-r2\nA:armv7\no:musl\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("etc")).unwrap();
    std::fs::write(
        dir.path().join("etc/os-release"),
        "ID=alpine\nVERSION_ID=3.19.1\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fieldattest"))
        .args(["scan", "--format", "json", "--root"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["inventory"]["packages"][0]["purl"],
        "pkg:apk/alpine/musl@1.2.4-r2?arch=armv7&distro=alpine-3.19.1"
    );
}
