//! `--format cyclonedx` output validates against the official CycloneDX 1.6
//! JSON schema (cyclonedx-python-lib's strict validator, from the test venv).

use fieldattest_tests::{dpkg_para, python, scan_ok, Tree};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn run_validator(path: &Path) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/validate_cyclonedx.py");
    Command::new(python())
        .arg(script)
        .arg(path)
        .output()
        .expect("run python validator")
}

fn validate(path: &Path) {
    let out = run_validator(path);
    assert!(
        out.status.success(),
        "schema validation failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid CycloneDX 1.6"));
}

fn sbom(t: &Tree) -> (Value, std::path::PathBuf) {
    let path = t.outside().join("sbom.cdx.json");
    scan_ok(
        &t.root_str(),
        &["--format", "cyclonedx", "--output", path.to_str().unwrap()],
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    (v, path)
}

#[test]
fn debian_tree_sbom_is_valid_and_complete() {
    let t = Tree::new();
    let mut status = String::new();
    status.push_str(
        &dpkg_para("libc6", "2.36-9+deb12u7", "arm64")
            .replace("Priority", "Multi-Arch: same\nSource: glibc\nPriority"),
    );
    status.push_str(
        &dpkg_para("libc6", "2.36-9+deb12u7", "armhf")
            .replace("Priority", "Multi-Arch: same\nSource: glibc\nPriority"),
    );
    status.push_str(&dpkg_para("libstdc++6", "12.2.0-14", "arm64"));
    t.file("var/lib/dpkg/status", status)
        .file(
            "etc/os-release",
            "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
        )
        .file("lib/apk/db/installed", "P:x\nV:1\ngarbage line\n");
    let (v, path) = sbom(&t);
    validate(&path);
    assert_eq!(v["specVersion"], "1.6");
    let comps = v["components"].as_array().unwrap();
    assert_eq!(comps.len(), 3);
    let purls: Vec<&str> = comps.iter().map(|c| c["purl"].as_str().unwrap()).collect();
    assert!(purls.contains(&"pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?arch=arm64&distro=debian-12"));
    assert!(purls.contains(
        &"pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=armhf&distro=debian-12&upstream=glibc"
    ));
    let refs: std::collections::HashSet<&str> = comps
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    assert_eq!(refs.len(), 3, "bom-refs unique");
    assert_eq!(v["metadata"]["component"]["type"], "operating-system");
    let props = serde_json::to_string(&v["metadata"]["properties"]).unwrap();
    assert!(
        props.contains("fieldattest:inventory:error") && props.contains("/lib/apk/db/installed:3"),
        "{props}"
    );
}

#[test]
fn yocto_and_binary_trees_sboms_are_valid() {
    let t = Tree::new();
    t.file("etc/os-release", "ID=poky\nVERSION_ID=5.0.4\nBUILD_ID=\"20241010\"\n")
        .file("var/lib/opkg/status", "Package: busybox\nVersion: 1.36.1-r0\nStatus: install ok installed\nArchitecture: cortexa53\n")
        .file("var/lib/opkg/info/busybox.control", "Package: busybox\nLicense: GPL-2.0-only & bzip2-1.0.4\nOE: busybox\n");
    let (v, path) = sbom(&t);
    validate(&path);
    assert_eq!(
        v["components"][0]["purl"],
        "pkg:yocto/busybox@1.36.1?arch=cortexa53"
    );
    assert_eq!(
        v["components"][0]["licenses"][0]["license"]["name"],
        "GPL-2.0-only & bzip2-1.0.4"
    );

    let b = Tree::new();
    b.file(
        "bin/busybox",
        b"\x7fELF\0\0BusyBox v1.36.1 (2024-05-01) multi-call\0",
    )
    .dir("lib/modules/6.6.30");
    let (v, path) = sbom(&b);
    validate(&path);
    assert_eq!(v["components"].as_array().unwrap().len(), 2);
    assert_eq!(v["metadata"]["component"]["name"], "unknown");
}

#[test]
fn validator_rejects_a_broken_document() {
    // The check itself must be able to fail.
    let t = Tree::new();
    let path = t.outside().join("bad.json");
    std::fs::write(&path, r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"nonsense","name":"x"}]}"#).unwrap();
    let out = run_validator(&path);
    assert!(!out.status.success());
}
