//! `fieldattest scan --write FORMAT=FILE`: several renderings of one scan.

use std::path::Path;
use std::process::{Command, Output};

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let f = |p: &str, t: &str| {
        let p = dir.path().join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, t).unwrap();
    };
    f(
        "lib/apk/db/installed",
        "P:musl\nV:1.2.4-r2\nA:armv7\no:musl\n\nP:busybox\nV:1.36.1-r15\nA:armv7\no:busybox\n",
    );
    f("etc/os-release", "ID=alpine\nVERSION_ID=3.19.1\n");
    // A finding: root may log in over SSH with a password.
    f("etc/ssh/sshd_config", "PermitRootLogin yes\n");
    dir
}

fn scan(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fieldattest"))
        .arg("scan")
        .arg("--root")
        .arg(root)
        .args(["--no-cred-check"])
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn write_renders_every_format_of_one_scan() {
    let t = tree();
    let out = tempfile::tempdir().unwrap();
    let (j, c, x) = (
        out.path().join("r.json"),
        out.path().join("r.cdx.json"),
        out.path().join("r.txt"),
    );
    let o = scan(
        t.path(),
        &[
            "--write",
            &format!("json={}", j.display()),
            "--write",
            &format!("cyclonedx={}", c.display()),
            "--write",
            &format!("text={}", x.display()),
            "--format",
            "json",
            "--fail-on",
            "low",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    let report = json(&j);
    let findings = report["findings"].as_array().unwrap();
    assert!(!findings.is_empty(), "the fixture has findings: {report}");
    // Status from --fail-on, stdout the --format rendering of the same scan.
    assert_eq!(o.status.code(), Some(1), "{err}");
    let stdout: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(stdout, report);
    let sbom = json(&c);
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    assert_eq!(sbom["metadata"]["timestamp"], report["scan"]["started"]);
    let text = std::fs::read_to_string(&x).unwrap();
    assert!(!text.contains('\u{1b}'), "no colour in a file");
    assert!(text.contains(&format!("scanned in {} ms", report["scan"]["duration_ms"])));
    for f in findings {
        assert!(
            text.contains(f["rule"].as_str().unwrap()),
            "{f} not in {text}"
        );
    }
    // --write alone: the text report still goes to stdout.
    let o = scan(t.path(), &["--write", &format!("json={}", j.display())]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Findings"));
    assert_ne!(json(&j)["scan"]["started"], serde_json::Value::Null);
}

#[test]
fn write_errors_are_usage_errors_or_exit_3() {
    let t = tree();
    for bad in ["json", "xml=r.xml", "json=", "=r.json"] {
        let o = scan(t.path(), &["--write", bad]);
        assert_eq!(o.status.code(), Some(2), "--write {bad}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("--write"),
            "--write {bad}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // An output that cannot be written: exit 3, naming it, nothing on stdout.
    let o = scan(
        t.path(),
        &[
            "--write",
            "json=/nonexistent-dir/r.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent-dir/r.json"));
    assert!(o.stdout.is_empty());
}
