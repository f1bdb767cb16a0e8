//! The Yocto layer without a Yocto build: the crates include is in sync with
//! Cargo.lock, oelint-adv finds no error or warning, and the image-check
//! class's own shell function — extracted from the .bbclass, its bitbake
//! variables expanded, bbfatal/bbnote stubbed — passes a clean rootfs, fails
//! one with a default password naming the finding, and honours an accept file;
//! it runs the scanner once, and the text that passes or fails the build, the
//! JSON report and the CycloneDX SBOM it archives are that one scan.

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

/// What a run of the class did: its output, and the argument lists of
/// every `fieldattest` it ran (through a logging wrapper first on PATH).
struct ClassRun {
    out: Output,
    scans: Vec<String>,
}

/// The class's `fieldattest_image_check` function as bitbake would run it.
fn run_class(vars: &HashMap<&str, String>) -> ClassRun {
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
    // A `fieldattest` that logs its arguments (one line per run) and runs
    // the real one.
    let wrap = tempfile::tempdir().unwrap();
    let log = wrap.path().join("runs.log");
    let wrapper = wrap.path().join("fieldattest");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            bin("fieldattest").display()
        ),
    )
    .unwrap();
    let mut p = std::fs::metadata(&wrapper).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut p, 0o755);
    std::fs::set_permissions(&wrapper, p).unwrap();
    let path = format!(
        "{}:{}",
        wrap.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("PATH", path)
        .output()
        .unwrap();
    let scans = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect();
    ClassRun { out, scans }
}

/// The text summary, the JSON report and the CycloneDX SBOM in `out` come
/// from one scan: the same start time and duration, the same findings, the
/// same packages.
fn assert_one_scan(out: &Path, name: &str) {
    let read = |ext: &str| {
        std::fs::read_to_string(out.join(format!("{name}.{ext}")))
            .unwrap_or_else(|e| panic!("{name}.{ext}: {e}"))
    };
    let report: serde_json::Value = serde_json::from_str(&read("json")).unwrap();
    let sbom: serde_json::Value = serde_json::from_str(&read("cdx.json")).unwrap();
    let text = read("txt");
    assert_eq!(sbom["metadata"]["timestamp"], report["scan"]["started"]);
    let ms = report["scan"]["duration_ms"].as_u64().unwrap();
    assert!(
        text.contains(&format!("\n  scanned in {ms} ms\n")),
        "text of another scan than the JSON ({ms} ms): {text}"
    );
    // Findings: one text line per JSON finding, SEVERITY rule subject.
    let findings = report["findings"].as_array().unwrap();
    let section = &text[text.find("\nFindings\n").unwrap()..];
    let section = &section[..section[1..].find("\n\n").unwrap() + 1];
    let lines: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("    "))
        .map(str::trim)
        .collect();
    assert_eq!(lines.len(), findings.len(), "{section}");
    for f in findings {
        let sev = f["severity"].as_str().unwrap().to_uppercase();
        let want = format!(
            "{sev:<8} {} {}",
            f["rule"].as_str().unwrap(),
            f["subject"].as_str().unwrap_or("")
        );
        assert!(
            lines.iter().any(|l| l.starts_with(want.trim_end())),
            "{want:?} not in {section}"
        );
    }
    let purls = |v: &serde_json::Value, key: &str| -> Vec<String> {
        let mut p: Vec<String> = v[key]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["purl"].as_str().map(String::from))
            .collect();
        p.sort();
        p
    };
    assert_eq!(
        purls(&report["inventory"], "packages"),
        purls(&sbom, "components")
    );
    assert!(!purls(&sbom, "components").is_empty());
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
    const NAME: &str = "core-image-plc-qemuarm64-20261129.fieldattest";
    // A clean image: passes, writes the report, the SBOM, the text and the
    // links, all from one run of the scanner.
    let clean = image("!");
    let out = clean.outside().join("deploy");
    let r = run_class(&vars(&clean.root(), &out, "high", ""));
    let o = &r.out;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("no finding at or above high"));
    assert_eq!(r.scans.len(), 1, "{:?}", r.scans);
    assert!(r.scans[0].starts_with("scan "), "{:?}", r.scans);
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
    assert!(out
        .join("core-image-plc-qemuarm64.fieldattest.txt")
        .exists());
    assert_one_scan(&out, NAME);

    // A default password: the build fails and names the finding.
    let bad = image(&openssl_sha512("admin"));
    let out = bad.outside().join("deploy");
    let r = run_class(&vars(&bad.root(), &out, "high", ""));
    let o = &r.out;
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
    // The failing text and the archived report and SBOM are one scan.
    assert_eq!(r.scans.len(), 1, "{:?}", r.scans);
    assert_one_scan(&out, NAME);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(format!("{NAME}.json"))).unwrap()).unwrap();
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule"] == "cred.known-default-password" && f["status"] == "fail"));

    // The same image with a documented compensating countermeasure passes.
    let accept = bad.outside().join("accept.toml");
    std::fs::write(
        &accept,
        "[[accept]]\nrule = \"cred.known-default-password\"\nsubject = \"anna\"\nreason = \"Account disabled at first boot by the provisioning tool (SEC-7)\"\n",
    )
    .unwrap();
    let r = run_class(&vars(
        &bad.root(),
        &out,
        "high",
        &accept.display().to_string(),
    ));
    assert!(
        r.out.status.success(),
        "{}",
        String::from_utf8_lossy(&r.out.stderr)
    );
    assert_eq!(r.scans.len(), 1, "{:?}", r.scans);
    assert_one_scan(&out, NAME);
    assert!(std::fs::read_to_string(out.join(format!("{NAME}.txt")))
        .unwrap()
        .contains("[accepted]"));
    // FAIL_ON none reports without failing (one scan, all three files); a
    // missing accept file and a bad FAIL_ON value stop the build with a
    // clear message before anything is scanned.
    let none_out = bad.outside().join("deploy-none");
    let r = run_class(&vars(&bad.root(), &none_out, "none", ""));
    assert!(
        r.out.status.success(),
        "{}",
        String::from_utf8_lossy(&r.out.stderr)
    );
    assert_eq!(r.scans.len(), 1, "{:?}", r.scans);
    assert!(!r.scans[0].contains("--fail-on"), "{:?}", r.scans);
    assert_one_scan(&none_out, NAME);
    let r = run_class(&vars(&bad.root(), &out, "high", "/nonexistent/accept.toml"));
    assert!(String::from_utf8_lossy(&r.out.stderr).contains("does not exist"));
    assert!(r.scans.is_empty());
    let r = run_class(&vars(&bad.root(), &out, "severe", ""));
    assert!(String::from_utf8_lossy(&r.out.stderr).contains("FIELDATTEST_FAIL_ON"));
    assert!(r.scans.is_empty());
}
