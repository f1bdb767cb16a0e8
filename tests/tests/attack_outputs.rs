//! Safe outputs of the real collector (issue 16, items 6 and 7): a device
//! attests hostile strings — through the real agent (a dpkg `Version:`
//! that is a spreadsheet formula, a package and an account named with
//! terminal escape sequences) and through claims it signs itself with its
//! own software key (rule ids, package tags, finding subjects) — and every
//! CSV and text output of `vulns`, `findings`, `devices`, `fleet` and
//! `device` shows them neutralised: no cell starts a formula, no control
//! character reaches the terminal. `report --format pdf` works in a private
//! temporary directory and does not follow a symlink planted at the old
//! predictable path; the database, WAL and SHM are 0600; every response of
//! the device listener (and the pages reachable here) carries the security
//! headers.

use fieldattest_protocol::{eat, token};
use fieldattest_tests::bin;
use fieldattest_tests::collector::*;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// A dpkg version that is a formula (OWASP's CSV injection example).
const FORMULA: &str = "-2+3+cmd|' /C calc'!A0";
/// An OSC window-title change and a CSI clear-screen.
const ESC: &str = "\x1b]0;pwned\x07\x1b[2J";
/// `ESC` as the outputs show it.
const ESC_SHOWN: &str = "\\x1b]0;pwned\\x07\\x1b[2J";

/// An ES256 signature (r‖s) of `tbs` by the device's PKCS#8 key, by openssl.
fn openssl_sign(key: &Path, tbs: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let (t, s) = (dir.path().join("tbs"), dir.path().join("sig"));
    std::fs::write(&t, tbs).unwrap();
    sh(Command::new("openssl")
        .args(["dgst", "-sha256", "-keyform", "DER", "-sign"])
        .arg(key)
        .arg("-out")
        .arg(&s)
        .arg(&t));
    // SEQUENCE { INTEGER r, INTEGER s } → r‖s, 32 bytes each.
    let der = std::fs::read(&s).unwrap();
    let mut out = Vec::new();
    let mut i = 2;
    for _ in 0..2 {
        assert_eq!(der[i], 0x02, "DER signature");
        let n = der[i + 1] as usize;
        let int = &der[i + 2..i + 2 + n];
        let int = &int[int.len().saturating_sub(32)..];
        out.extend(vec![0u8; 32 - int.len()]);
        out.extend(int);
        i += 2 + n;
    }
    out
}

/// Claims the device signs itself: its real last token's claims with
/// hostile rule ids, package tags, finding subjects and key paths added.
fn hostile_token(d: &Device, real: &Path) -> std::path::PathBuf {
    let (sign1, kid) = token::parse(&std::fs::read(real).unwrap()).unwrap();
    let mut c = eat::decode(sign1.payload.as_deref().unwrap()).unwrap();
    c.nonce = None;
    c.seq += 1;
    c.cti = vec![0xa5; 16];
    let rule = format!("=cmd|' /C calc'!A0{ESC}");
    c.measres[0].1.push((rule.clone(), eat::RESULT_FAIL));
    c.measres[0]
        .1
        .push((format!("@SUM(1){ESC}"), eat::RESULT_FAIL));
    let tag =
        format!("pkg:deb/debian/evil{ESC}@{FORMULA}?arch=arm64&distro=debian-12&upstream=evilsrc");
    // A CoSWID with only its tag id: CBOR {0: tag} (text length < 256).
    let mut coswid = vec![0xa1, 0x00, 0x78, tag.len() as u8];
    coswid.extend(tag.as_bytes());
    c.measurements.push((eat::CF_COSWID, coswid));
    c.findings.push(eat::FindingRef {
        rule,
        subject: format!("+evil{ESC}"),
        path: format!("/etc/{ESC}"),
        accepted: None,
    });
    let key = d.state.join("attest-key.p8");
    let t = token::sign(&c, &kid, |tbs| Ok::<_, ()>(openssl_sign(&key, tbs))).unwrap();
    let p = d.tree.outside().join("hostile.cwt");
    std::fs::write(&p, t).unwrap();
    p
}

/// The cells of a CSV document as Python's `csv` module (the reader of
/// countless operator scripts) reads them.
fn csv_cells(csv: &str) -> Vec<String> {
    use std::io::Write;
    let mut p = Command::new(fieldattest_tests::python())
        .args([
            "-c",
            "import csv, json, sys\n\
             print(json.dumps([c for row in csv.reader(sys.stdin, strict=True) for c in row]))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    p.stdin.take().unwrap().write_all(csv.as_bytes()).unwrap();
    let out = p.wait_with_output().unwrap();
    assert!(out.status.success(), "not CSV:\n{csv}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// No control character but line ends, no bidirectional override.
fn assert_terminal_safe(what: &str, out: &str) {
    let bad: Vec<char> = out
        .chars()
        .filter(|c| (c.is_control() && *c != '\n') || ('\u{202a}'..='\u{202e}').contains(c))
        .collect();
    assert!(bad.is_empty(), "{what}: {bad:?} in\n{out}");
}

fn assert_no_formula(what: &str, csv: &str) {
    for c in csv_cells(csv) {
        if c.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            assert!(
                c.parse::<f64>().is_ok() && c.chars().all(|x| "0123456789-+.e".contains(x)),
                "{what}: formula cell {c:?} in\n{csv}"
            );
        }
    }
}

/// A collector with one enrolled device that has attested once.
fn attested() -> (Collector, i64) {
    let c = start();
    let d = Device::new(None, 3);
    let id = d.enroll(&c);
    let (code, v) = d.attest_online(&c);
    assert_eq!(code, 200, "{v}");
    (c, id)
}

#[test]
fn hostile_device_strings_are_neutralised_in_every_csv_and_text_output() {
    let c = start();
    let d = Device::new(None, 0);
    d.tree
        .file(
            "var/lib/dpkg/status",
            format!(
                "{}{}",
                fieldattest_tests::dpkg_para("evil", FORMULA, "arm64")
                    .replace("Version:", "Source: evilsrc\nVersion:"),
                fieldattest_tests::dpkg_para("plain", "1.0", "arm64")
            ),
        )
        .file(
            "etc/passwd",
            format!("root:x:0:0::/root:/bin/sh\n{ESC}x:x:0:0::/root:/bin/sh\n"),
        );
    // Enrolled for a site whose name the operator typed as a formula.
    let site = format!("=HYPERLINK(\"http://x\"){ESC}");
    let id = d.enroll_at(&c, &site);
    // The real agent's attestation, then one the device signed itself.
    let (code, v, real) = d.attest_online_token(&c);
    assert_eq!(code, 200, "{v}");
    let (code, v) = c.curl(
        "POST",
        "/attestation/v1/tokens",
        Some(&hostile_token(&d, &real)),
        &[],
    );
    assert_eq!(code, 200, "{v}");
    // An advisory on the hostile package's source, every version affected.
    let adv = c.dir.path().join("adv.json");
    std::fs::write(
        &adv,
        json!({"id": "DEBIAN-CVE-2026-0001", "modified": "2026-01-01T00:00:00Z",
               "summary": format!("{ESC}summary"),
               "affected": [{"package": {"ecosystem": "Debian:12", "name": "evilsrc"},
                             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]})
        .to_string(),
    )
    .unwrap();
    let (code, _, err) = c.run_parts(&["vulndb", "import", adv.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");

    // The hostile strings are stored as sent (JSON escapes them).
    let vulns = c.cli(&["vulns"]);
    let versions: Vec<&str> = vulns
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["version"].as_str())
        .collect();
    assert!(versions.contains(&FORMULA), "{vulns}");
    let findings = c.cli(&["findings"]);
    assert!(findings.to_string().contains("=cmd|"), "{findings}");

    let ids = id.to_string();
    let commands: Vec<Vec<&str>> = vec![
        vec!["vulns"],
        vec!["findings"],
        vec!["devices"],
        vec!["fleet"],
        vec!["device", &ids],
        vec!["audit"],
    ];
    let mut seen_formula = false;
    for cmd in &commands {
        for format in ["csv", "text"] {
            let mut args = cmd.clone();
            args.extend(["--format", format]);
            let (code, out, err) = c.run_parts(&args);
            assert_eq!(code, 0, "{args:?}: {err}");
            assert_terminal_safe(&format!("{args:?}"), &out);
            assert_terminal_safe(&format!("{args:?} stderr"), &err);
            assert!(!out.contains('\x1b') && !out.contains('\x07'), "{args:?}");
            // fleet and device are nested: their CSV is JSON.
            if format == "csv" && !matches!(cmd[0], "fleet" | "device") {
                assert_no_formula(&format!("{args:?}"), &out);
                seen_formula |= out.contains(&format!("'{FORMULA}"));
            }
        }
    }
    assert!(seen_formula, "the formula version shown with its ' prefix");
    // What each view shows, neutralised but visible.
    let (_, v_csv, _) = c.run_parts(&["vulns", "--format", "csv"]);
    assert!(v_csv.contains(&format!("'{FORMULA}")), "{v_csv}");
    let (_, f_csv, _) = c.run_parts(&["findings", "--format", "csv"]);
    assert!(
        f_csv.contains(&format!(",'=cmd|' /C calc'!A0{ESC_SHOWN}\n")),
        "{f_csv}"
    );
    assert!(f_csv.contains(&format!("'@SUM(1){ESC_SHOWN}")), "{f_csv}");
    let (_, d_csv, _) = c.run_parts(&["devices", "--format", "csv"]);
    assert!(
        d_csv.contains(",\"'=HYPERLINK(\"\"http://x\"\")\\x1b]0;pwned"),
        "{d_csv}"
    );
    let (_, f_text, _) = c.run_parts(&["findings", "--format", "text"]);
    assert!(
        f_text.contains(&format!("rule==cmd|' /C calc'!A0{ESC_SHOWN}")),
        "{f_text}"
    );
    let (_, fl_text, _) = c.run_parts(&["fleet", "--format", "text"]);
    assert!(fl_text.contains(&format!("evil{ESC_SHOWN}")), "{fl_text}");
    let (_, dev_text, _) = c.run_parts(&["device", &ids, "--format", "text"]);
    assert!(dev_text.contains(ESC_SHOWN), "{dev_text}");
    // The evidence report carries the finding subject, escaped for HTML.
    let (code, html, err) = c.run_parts(&["report", &ids, "--format", "html"]);
    assert_eq!(code, 0, "{err}");
    assert!(!html.contains("<script"), "{html}");
}

/// Headers of a curl request: (status, lower-case header lines).
fn head(c: &Collector, method: &str, path: &str, body: Option<&str>) -> (u16, Vec<String>) {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-o", "/dev/null", "-D", "-", "--cacert"])
        .arg(c.dir.path().join("ca.pem"))
        .args(["-X", method]);
    if let Some(b) = body {
        cmd.args([
            "-H",
            "Content-Type: application/eat+cwt",
            "--data-binary",
            b,
        ]);
    }
    let out = sh(cmd.arg(c.url(path)));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (
        status,
        text.lines()
            .map(|l| l.trim().to_ascii_lowercase())
            .collect(),
    )
}

#[test]
fn every_response_carries_the_security_headers() {
    let (c, id) = attested();
    let cases = [
        ("GET", "/healthz".to_string(), None, 200),
        (
            "POST",
            "/attestation/v1/tokens".to_string(),
            Some("garbage"),
            400,
        ),
        (
            "POST",
            "/attestation/v1/sessions/nope".to_string(),
            Some("garbage"),
            0,
        ),
        ("GET", "/no/such/route".to_string(), None, 404),
        ("DELETE", "/healthz".to_string(), None, 405),
        ("GET", "/".to_string(), None, 0),
        ("GET", format!("/report/{id}"), None, 0),
        ("GET", "/api/v1/devices".to_string(), None, 0),
    ];
    for (method, path, body, want) in cases {
        let (status, h) = head(&c, method, &path, body);
        if want != 0 {
            assert_eq!(status, want, "{method} {path}: {h:?}");
        }
        for need in [
            "x-content-type-options: nosniff",
            "x-frame-options: deny",
            "strict-transport-security: max-age=31536000",
            "referrer-policy: no-referrer",
            "cache-control: no-store",
        ] {
            assert!(
                h.iter().any(|l| l == need),
                "{method} {path} ({status}): {need} missing in {h:?}"
            );
        }
        let csp = h
            .iter()
            .find_map(|l| l.strip_prefix("content-security-policy: "))
            .unwrap_or_else(|| panic!("{method} {path}: no CSP in {h:?}"));
        assert!(
            csp.starts_with("default-src 'none'; style-src 'self'; "),
            "{csp}"
        );
        assert!(!csp.contains("sha256-") && !csp.contains("http"), "{csp}");
        for part in [
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(part), "{csp}");
        }
        assert!(
            !csp.contains("script-src") && !csp.contains("unsafe"),
            "{csp}"
        );
    }
}

#[test]
fn database_wal_and_shm_are_created_0600() {
    let (c, _) = attested();
    for suffix in ["", "-wal", "-shm"] {
        let p = format!("{}{suffix}", c.db().display());
        let m = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(m, 0o600, "{p}: {m:o}");
    }
}

#[test]
fn report_pdf_uses_a_private_temporary_directory_not_a_planted_symlink() {
    let (c, id) = attested();
    let work = tempfile::tempdir().unwrap();
    let (tmp, victim, fake) = (
        work.path().join("tmp"),
        work.path().join("victim"),
        work.path().join("bin"),
    );
    for p in [&tmp, &victim, &fake] {
        std::fs::create_dir(p).unwrap();
    }
    // A stand-in for headless Chromium: records the directory it was asked
    // to work in and its mode, and prints a "PDF".
    let log = work.path().join("chromium.log");
    let script = format!(
        "#!/bin/sh\nfor a; do case $a in --print-to-pdf=*) out=${{a#--print-to-pdf=}};; esac; done\n\
         d=$(dirname \"$out\"); echo \"$d $(stat -c %a \"$d\") $(stat -c %U \"$d\")\" > {}\n\
         printf '%%PDF-fake' > \"$out\"\n",
        log.display()
    );
    std::fs::write(fake.join("chromium"), script).unwrap();
    std::fs::set_permissions(
        fake.join("chromium"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let pdf = work.path().join("out.pdf");
    // The old predictable path, planted for the collector's own pid ($$ is
    // kept across exec) as a symlink to a directory the attacker reads.
    let planted = format!("{}/fieldattest-report-$$", tmp.display());
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ln -s {victim} {planted} && exec \"$0\" \"$@\"",
            victim = victim.display()
        ))
        .arg(bin("fieldattest-collector"))
        .args(["report", &id.to_string(), "--format", "pdf", "--output"])
        .arg(&pdf)
        .arg("--db")
        .arg(c.db())
        .env("TMPDIR", &tmp)
        .env(
            "PATH",
            format!(
                "{}:{}",
                fake.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&pdf).unwrap(), b"%PDF-fake");
    assert_eq!(
        std::fs::read_dir(&victim).unwrap().count(),
        0,
        "wrote through the planted symlink"
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    let mut f = logged.split_whitespace();
    let (dir, mode) = (f.next().unwrap(), f.next().unwrap());
    assert_eq!(mode, "700", "{logged}");
    let name = Path::new(dir)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(Path::new(dir).starts_with(&tmp), "{logged}");
    assert!(
        name.starts_with("fieldattest-report-") && !name.ends_with(&format!("-{}", out_pid(&tmp))),
        "{logged}"
    );
    // The work directory is gone; only the planted symlink is left.
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(std::fs::symlink_metadata(tmp.join(&left[0]))
        .unwrap()
        .file_type()
        .is_symlink());
}

/// The pid in the planted symlink's name.
fn out_pid(tmp: &Path) -> String {
    std::fs::read_dir(tmp)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .find(|n| std::fs::symlink_metadata(tmp.join(n)).is_ok_and(|m| m.file_type().is_symlink()))
        .and_then(|n| n.rsplit('-').next().map(str::to_string))
        .unwrap()
}

// The same tests with the collector on PostgreSQL.
fieldattest_tests::on_postgres_too!(
    hostile_device_strings_are_neutralised_in_every_csv_and_text_output,
);
