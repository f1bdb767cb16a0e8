//! The Yocto layer without a Yocto build: the crates include is in sync with
//! Cargo.lock, oelint-adv finds no error or warning, and the image-check
//! class's own shell function — extracted from the .bbclass, its bitbake
//! variables expanded, bbfatal/bbnote stubbed — passes a clean rootfs, fails
//! one with a default password naming the finding, and honours an accept file.

use fieldattest_tests::{bin, python, Tree};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn layer() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../yocto-layer")
}

#[test]
fn crates_inc_is_in_sync_with_cargo_lock() {
    let script = layer().join("scripts/update-crates-inc.py");
    let o = Command::new("python3")
        .arg(&script)
        .arg("--check")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A lockfile that moved on is caught.
    let t = tempfile::tempdir().unwrap();
    let lock = std::fs::read_to_string(layer().join("../Cargo.lock")).unwrap();
    let i = lock.find("checksum = \"").unwrap() + 12;
    let mut moved = lock.clone();
    moved.replace_range(i..i + 4, "0000");
    std::fs::write(t.path().join("Cargo.lock"), moved).unwrap();
    let o = Command::new("python3")
        .arg(&script)
        .arg("--check")
        .arg(t.path().join("Cargo.lock"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("out of date"));
    // Git dependencies and aws-lc are refused.
    let git = lock.replacen(
        "source = \"registry+https://github.com/rust-lang/crates.io-index\"",
        "source = \"git+https://example.org/x#abc\"",
        1,
    );
    std::fs::write(t.path().join("Cargo.lock"), git).unwrap();
    let o = Command::new("python3")
        .arg(&script)
        .arg("--check")
        .arg(t.path().join("Cargo.lock"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("git dependencies"));
}

#[test]
fn oelint_adv_reports_no_error_or_warning() {
    let oelint = python().with_file_name("oelint-adv");
    assert!(
        oelint.exists(),
        "{} missing: run scripts/test",
        oelint.display()
    );
    let o = Command::new(&oelint)
        .current_dir(layer())
        .args([
            "--quiet",
            "recipes-security/fieldattest/fieldattest_0.1.0.bb",
            "classes/fieldattest_image_check.bbclass",
            "conf/layer.conf",
        ])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let bad: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(":error:") || l.contains(":warning:"))
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    // The linter is really running: a broken recipe is reported.
    let t = tempfile::tempdir().unwrap();
    std::fs::write(
        t.path().join("broken_1.0.bb"),
        "S = \"${WORKDIR}/git\"\ndo_compile[network] = \"1\"\n",
    )
    .unwrap();
    let o = Command::new(&oelint)
        .arg("--quiet")
        .arg(t.path().join("broken_1.0.bb"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(text.contains(":error:"), "{text}");
}

/// The class's `fieldattest_image_check` function as bitbake would run it.
fn run_class(vars: &HashMap<&str, String>) -> Output {
    let class =
        std::fs::read_to_string(layer().join("classes/fieldattest_image_check.bbclass")).unwrap();
    let start = class
        .find("fieldattest_image_check () {")
        .expect("function in class");
    let body_start = start + class[start..].find('\n').unwrap() + 1;
    let end = body_start + class[body_start..].find("\n}\n").expect("end of function");
    let mut body = class[body_start..end].to_string();
    // bitbake expands ${VAR} of its datastore before running the function.
    while let Some(i) = body.find("${") {
        let j = i + body[i..].find('}').unwrap();
        let name = &body[i + 2..j];
        let v = vars
            .get(name)
            .unwrap_or_else(|| panic!("variable {name} not set in the test"));
        body.replace_range(i..=j, v);
    }
    let script = format!(
        "set -e\nbbfatal() {{ echo \"ERROR: $*\" >&2; exit 1; }}\nbbnote() {{ echo \"NOTE: $*\"; }}\nbbwarn() {{ echo \"WARNING: $*\" >&2; }}\nfieldattest_image_check() {{\n{body}\n}}\nfieldattest_image_check\n"
    );
    let path = format!(
        "{}:{}",
        bin("fieldattest").parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("PATH", path)
        .output()
        .unwrap()
}

fn vars(root: &Path, out: &Path, fail_on: &str, accept: &str) -> HashMap<&'static str, String> {
    HashMap::from([
        ("IMAGE_ROOTFS", root.display().to_string()),
        ("FIELDATTEST_REPORT_DIR", out.display().to_string()),
        (
            "FIELDATTEST_REPORT_NAME",
            "core-image-plc-qemuarm64-20261129.fieldattest".into(),
        ),
        (
            "FIELDATTEST_REPORT_LINK",
            "core-image-plc-qemuarm64.fieldattest".into(),
        ),
        ("FIELDATTEST_FAIL_ON", fail_on.into()),
        ("FIELDATTEST_ACCEPT", accept.into()),
        ("FIELDATTEST_SL", "2".into()),
    ])
}

fn image(password_hash: &str) -> Tree {
    let t = Tree::new();
    t.file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nanna:x:1000:1000::/home/anna:/bin/sh\n")
        .file("etc/shadow", format!("root:*:19000:0:99999:7:::\nanna:{password_hash}:19000:0:99999:7:::\n"))
        .file("etc/os-release", "ID=poky\nNAME=\"Poky\"\nVERSION_ID=5.0\n")
        .file("var/lib/opkg/status", "Package: busybox\nVersion: 1.36.1-r0\nStatus: install ok installed\nArchitecture: cortexa53\n\n");
    let mut p = std::fs::metadata(t.root().join("etc/shadow"))
        .unwrap()
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut p, 0o600);
    std::fs::set_permissions(t.root().join("etc/shadow"), p).unwrap();
    t
}

fn openssl_sha512(password: &str) -> String {
    let o = Command::new("openssl")
        .args(["passwd", "-6", "-salt", "fieldatt", password])
        .output()
        .unwrap();
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

#[test]
fn image_check_passes_clean_fails_default_password_and_honours_accept() {
    // A clean image: passes, writes the report, the SBOM and the links.
    let clean = image("!");
    let out = clean.outside().join("deploy");
    let o = run_class(&vars(&clean.root(), &out, "high", ""));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("no finding at or above high"));
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("core-image-plc-qemuarm64.fieldattest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["scan"]["mode"], "image");
    assert_eq!(report["inventory"]["packages"][0]["name"], "busybox");
    let sbom: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("core-image-plc-qemuarm64.fieldattest.cdx.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(sbom["bomFormat"], "CycloneDX");

    // A default password: the build fails and names the finding.
    let bad = image(&openssl_sha512("admin"));
    let out = bad.outside().join("deploy");
    let o = run_class(&vars(&bad.root(), &out, "high", ""));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("cred.known-default-password") && err.contains("anna"),
        "{err}"
    );
    assert!(
        !err.contains("$6$"),
        "no password hash in the build log: {err}"
    );
    assert!(
        out.join("core-image-plc-qemuarm64-20261129.fieldattest.json")
            .exists(),
        "report kept for the failure"
    );

    // The same image with a documented compensating countermeasure passes.
    let accept = bad.outside().join("accept.toml");
    std::fs::write(
        &accept,
        "[[accept]]\nrule = \"cred.known-default-password\"\nsubject = \"anna\"\nreason = \"Account disabled at first boot by the provisioning tool (SEC-7)\"\n",
    )
    .unwrap();
    let o = run_class(&vars(
        &bad.root(),
        &out,
        "high",
        &accept.display().to_string(),
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // FAIL_ON none reports without failing; a missing accept file and a bad
    // FAIL_ON value stop the build with a clear message.
    assert!(run_class(&vars(&bad.root(), &out, "none", ""))
        .status
        .success());
    let o = run_class(&vars(&bad.root(), &out, "high", "/nonexistent/accept.toml"));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not exist"));
    let o = run_class(&vars(&bad.root(), &out, "severe", ""));
    assert!(String::from_utf8_lossy(&o.stderr).contains("FIELDATTEST_FAIL_ON"));
}
