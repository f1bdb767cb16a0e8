//! The Yocto layer without a Yocto build: the crates include is in sync with
//! Cargo.lock, oelint-adv finds no error or warning, and the image-check
//! class's own shell function — extracted from the .bbclass, its bitbake
//! variables expanded, bbfatal/bbnote stubbed — passes a clean rootfs, fails
//! one with a default password naming the finding, and honours an accept file;
//! it runs the scanner once, and the text that passes or fails the build, the
//! JSON report and the CycloneDX SBOM it archives are that one scan.

use fieldattest_tests::{bin, python, Tree};
use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn layer() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../yocto-layer")
}

#[test]
fn crates_inc_is_in_sync_with_cargo_lock() {
    let script = layer().join("scripts/update-crates-inc.py");
    // At the recipe's SRCREV (this clone's history): the tree has the
    // LICENSE with the recorded md5, Cargo.lock, the installed files and the
    // PACKAGECONFIG features; the crates include is what that Cargo.lock
    // gives; LICENSE is the linked crates' licenses.
    let o = Command::new("python3")
        .arg(&script)
        .arg("--check")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let recipe_dir = layer().join("recipes-security/fieldattest");
    let bb = std::fs::read_to_string(recipe_dir.join("fieldattest_0.1.0.bb")).unwrap();
    let inc = recipe_dir.join("fieldattest-crates.inc");
    let check_copy = |bb_text: &str| {
        let t = tempfile::tempdir().unwrap();
        let copy = t.path().join("fieldattest_0.1.0.bb");
        std::fs::write(&copy, bb_text).unwrap();
        let o = Command::new("python3")
            .arg(&script)
            .args([
                "--recipe",
                copy.to_str().unwrap(),
                inc.to_str().unwrap(),
                "--check",
            ])
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    // A LICENSE edited by hand is caught.
    let lic = bb.lines().find(|l| l.starts_with("LICENSE = ")).unwrap();
    let (code, err) = check_copy(&bb.replace(lic, "LICENSE = \"Apache-2.0\""));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("LICENSE differs from the linked crates"),
        "{err}"
    );
    // A stale SRCREV (the commit the recipe once pinned, from before the
    // LICENSE file) is caught with what the tree lacks.
    let rev = bb.lines().find(|l| l.starts_with("SRCREV = ")).unwrap();
    let (code, err) =
        check_copy(&bb.replace(rev, "SRCREV = \"db7ac74b94a6a34dc0b23abd36b1def110e680ba\""));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("LICENSE (LIC_FILES_CHKSUM) is not in the tree"),
        "{err}"
    );
    // A PACKAGECONFIG feature the tree at SRCREV does not have.
    let (code, err) = check_copy(&format!(
        "{bb}PACKAGECONFIG[tpm] = \"--features fieldattest-agent/tpm,,\"\n"
    ));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cargo feature tpm"), "{err}");
    // A commit this clone does not have.
    let (code, err) = check_copy(&bb.replace(rev, &format!("SRCREV = \"{}\"", "f".repeat(40))));
    assert_ne!(code, Some(0), "{err}");
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
            "classes/fieldattest_cve_record.bbclass",
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
    /// The image's CVE record when the scanner ran (absent: none).
    record_at_scan: Option<String>,
}

/// The body of shell function `name` of `class`, its bitbake variables
/// (`${VAR}`) expanded from `vars` as bitbake expands them from its datastore.
fn shell_function(class: &str, name: &str, vars: &HashMap<&str, String>) -> String {
    let start = class
        .find(&format!("\n{name} () {{\n"))
        .unwrap_or_else(|| panic!("function {name} in class"))
        + 1;
    let body_start = start + class[start..].find('\n').unwrap() + 1;
    let end = body_start + class[body_start..].find("\n}\n").expect("end of function");
    let mut body = class[body_start..end].to_string();
    while let Some(i) = body.find("${") {
        let j = i + body[i..].find('}').unwrap();
        let name = &body[i + 2..j];
        let v = vars
            .get(name)
            .unwrap_or_else(|| panic!("variable {name} not set in the test"));
        body.replace_range(i..=j, v);
    }
    body
}

/// The class's `fieldattest_image_check` function as bitbake would run it
/// (with the `fieldattest_cve_record` and `fieldattest_kernel_config`
/// functions it calls).
fn run_class(vars: &HashMap<&str, String>) -> ClassRun {
    let class =
        std::fs::read_to_string(layer().join("classes/fieldattest_image_check.bbclass")).unwrap();
    let check = shell_function(&class, "fieldattest_image_check", vars);
    let record = shell_function(&class, "fieldattest_cve_record", vars);
    let kconfig = shell_function(&class, "fieldattest_kernel_config", vars);
    let script = format!(
        "set -e\nbbfatal() {{ echo \"ERROR: $*\" >&2; exit 1; }}\nbbnote() {{ echo \"NOTE: $*\"; }}\nbbwarn() {{ echo \"WARNING: $*\" >&2; }}\nfieldattest_cve_record() {{\n{record}\n}}\nfieldattest_kernel_config() {{\n{kconfig}\n}}\nfieldattest_image_check() {{\n{check}\n}}\nfieldattest_image_check\n"
    );
    // A `fieldattest` that logs its arguments (one line per run) and runs
    // the real one.
    let wrap = tempfile::tempdir().unwrap();
    let log = wrap.path().join("runs.log");
    let seen = wrap.path().join("record-at-scan");
    let wrapper = wrap.path().join("fieldattest");
    // It also keeps the image's CVE record as the scan found it.
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nprev=\nfor a; do [ \"$prev\" = --root ] && cp \"$a/usr/share/fieldattest/cve-record.jsonl\" '{}' 2>/dev/null; prev=$a; done\nexec '{}' \"$@\"\n",
            log.display(),
            seen.display(),
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
    let record_at_scan = std::fs::read_to_string(&seen).ok();
    ClassRun {
        out,
        scans,
        record_at_scan,
    }
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
    // The SPDX renderings are of the same scan (the native build has the
    // spdx feature): the same creation time, one package per component
    // plus the operating system.
    let spdx2: serde_json::Value = serde_json::from_str(&read("spdx.json")).unwrap();
    let spdx3: serde_json::Value = serde_json::from_str(&read("spdx3.json")).unwrap();
    assert_eq!(spdx2["creationInfo"]["created"], report["scan"]["started"]);
    assert_eq!(
        spdx2["packages"].as_array().unwrap().len(),
        sbom["components"].as_array().unwrap().len() + 1
    );
    assert_eq!(spdx3["@graph"][0]["created"], report["scan"]["started"]);
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
        // No recipe recorded: the CVE record directory does not exist.
        (
            "FIELDATTEST_CVE_RECORD_DIR",
            out.join("no-cve-record").display().to_string(),
        ),
        (
            "FIELDATTEST_CVE_RECORD_ARCHS",
            "all any noarch cortexa53 qemuarm64".into(),
        ),
        ("FIELDATTEST_CVE_RECORD_PACKAGES_ROOM", "16384".into()),
        // No kernel configuration recorded.
        ("FIELDATTEST_KERNEL_CONFIG", String::new()),
        ("PKGDATA_DIR", out.join("pkgdata").display().to_string()),
        ("localstatedir", "/var".into()),
        ("WORKDIR", out.join("work").display().to_string()),
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
    assert!(String::from_utf8_lossy(&o.stdout).contains("no CVE record in the image"));
    assert_eq!(r.record_at_scan, None);
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
    // Every output has its link, the text and the scanner's log included.
    for ext in ["json", "cdx.json", "spdx.json", "spdx3.json", "txt", "log"] {
        let link = out.join(format!("core-image-plc-qemuarm64.fieldattest.{ext}"));
        assert_eq!(
            std::fs::read_link(&link).unwrap(),
            Path::new(&format!("{NAME}.{ext}")),
            "{ext}"
        );
    }
    assert_one_scan(&out, NAME);
    // No IMAGE_LINK_NAME (the link name empty): no links, no hidden files.
    let bare = clean.outside().join("deploy-nolink");
    let mut v = vars(&clean.root(), &bare, "high", "");
    v.insert("FIELDATTEST_REPORT_LINK", String::new());
    let r = run_class(&v);
    assert!(
        r.out.status.success(),
        "{}",
        String::from_utf8_lossy(&r.out.stderr)
    );
    for e in std::fs::read_dir(&bare).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "hidden {name}");
        assert!(!e.file_type().unwrap().is_symlink(), "link {name}");
    }

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

/// An opkg image of five recipes and the records the recipe class wrote for
/// them: openssl's two installed packages (one not installed), busybox, the
/// kernel (a stale copy in another architecture), zlib recorded only for
/// another machine's architecture, a recipe never recorded and a package
/// without pkgdata.
fn recorded_image() -> (Tree, HashMap<&'static str, String>) {
    let t = image("!");
    let para = |name: &str, status: &str| {
        format!("Package: {name}\nVersion: 1.0-r0\nStatus: {status}\nArchitecture: cortexa53\n\n")
    };
    let mut status = String::new();
    for (name, st) in [
        ("busybox", "install ok installed"),
        ("libssl3", "install user installed"),
        ("openssl", "install ok installed"),
        ("openssl-conf", "deinstall ok not-installed"),
        ("kernel-image-6.6.52", "install ok installed"),
        ("kernel-module-foo", "install ok half-installed"),
        ("zlib", "install ok installed"),
        ("plc-runtime", "install ok installed"),
        ("no-pkgdata", "install ok installed"),
    ] {
        status.push_str(&para(name, st));
    }
    t.file("var/lib/opkg/status", status);
    let out = t.outside().join("deploy");
    let records = t.outside().join("tmp/fieldattest-cve-record");
    let pkgdata = t.outside().join("tmp/pkgdata/qemuarm64");
    for (pkg, pn) in [
        ("busybox", "busybox"),
        ("libssl3", "openssl"),
        ("openssl", "openssl"),
        ("openssl-conf", "openssl"),
        ("kernel-image-6.6.52", "linux-yocto"),
        ("kernel-module-foo", "linux-yocto"),
        ("zlib", "zlib"),
        ("plc-runtime", "plc-runtime"),
    ] {
        let p = pkgdata.join("runtime-reverse").join(pkg);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, format!("PN: {pn}\nPV: 1.0\nPKG:{pkg}: {pkg}\n")).unwrap();
    }
    for (arch, pn, line) in RECORDS {
        let p = records.join(arch).join(format!("{pn}.json"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, format!("{line}\n")).unwrap();
    }
    let mut v = vars(&t.root(), &out, "high", "");
    v.insert("FIELDATTEST_CVE_RECORD_DIR", records.display().to_string());
    v.insert("PKGDATA_DIR", pkgdata.display().to_string());
    v.insert("WORKDIR", t.outside().join("work").display().to_string());
    (t, v)
}

/// Records as fieldattest_cve_record.bbclass writes them: (arch, PN, line).
const RECORDS: [(&str, &str, &str); 5] = [
    (
        "cortexa53",
        "openssl",
        r#"{"pn":"openssl","pv":"3.2.3","cve_version":"3.2.3","cve_product":["openssl:openssl"],"cve_status":[{"id":"CVE-2023-0464","status":"Patched","detail":"backported-patch","description":"CVE-2023-0464.patch"},{"id":"CVE-2023-5678","status":"Ignored","detail":"not-applicable-config","description":"no DH in this image"}],"packages":[]}"#,
    ),
    (
        "cortexa53",
        "busybox",
        r#"{"pn":"busybox","pv":"1.36.1","cve_product":["busybox"],"cve_status":[],"packages":[]}"#,
    ),
    (
        "all",
        "linux-yocto",
        r#"{"pn":"linux-yocto","pv":"6.1.20+git","cve_product":["linux:linux_kernel"],"cve_status":[],"packages":[]}"#,
    ),
    (
        "qemuarm64",
        "linux-yocto",
        r#"{"pn":"linux-yocto","pv":"6.6.52+git","cve_version":"6.6.52","cve_product":["linux:linux_kernel"],"cve_status":[{"id":"CVE-2024-26581","status":"Patched","detail":"cpe-stable-backport","description":""}],"packages":[]}"#,
    ),
    (
        "x86-64",
        "zlib",
        r#"{"pn":"zlib","pv":"1.3.1","cve_product":["zlib:zlib"],"cve_status":[],"packages":[]}"#,
    ),
];

/// The record the image should carry for [`recorded_image`].
fn expected_record() -> String {
    let with = |line: &str, packages: &str| {
        line.replace(
            r#""packages":[]}"#,
            &format!(r#""packages":[{packages}]}}"#),
        )
    };
    [
        with(RECORDS[1].2, r#""busybox""#),
        with(RECORDS[3].2, r#""kernel-image-6.6.52""#),
        with(RECORDS[0].2, r#""libssl3","openssl""#),
    ]
    .iter()
    .map(|l| format!("{l}\n"))
    .collect()
}

#[test]
fn image_cve_record_is_assembled_from_the_recipes_of_installed_packages() {
    let (t, v) = recorded_image();
    let r = run_class(&v);
    let stderr = String::from_utf8_lossy(&r.out.stderr);
    assert!(r.out.status.success(), "{stderr}");
    let path = t.root().join("usr/share/fieldattest/cve-record.jsonl");
    let got = std::fs::read_to_string(&path).unwrap();
    assert_eq!(got, expected_record());
    for line in got.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o644
    );
    let stdout = String::from_utf8_lossy(&r.out.stdout);
    assert!(stdout.contains("CVE record of 3 recipes"), "{stdout}");
    // Recipes whose packages are installed but that have no record (for
    // this image's architectures) are named; nothing is cut.
    assert!(
        stdout.contains("recipes without a CVE record (built before fieldattest_cve_record was inherited?): plc-runtime zlib"),
        "{stdout}"
    );
    assert!(!stderr.contains("WARNING"), "{stderr}");
    // The record was there before the scan ran.
    assert_eq!(r.scans.len(), 1);
    assert_eq!(
        r.record_at_scan.as_deref(),
        Some(expected_record().as_str())
    );

    // A package list longer than its room is cut, with a warning; a dpkg
    // database is read too; a rerun replaces the file.
    let (t, mut v) = recorded_image();
    v.insert("FIELDATTEST_CVE_RECORD_PACKAGES_ROOM", "15".into());
    std::fs::remove_file(t.root().join("var/lib/opkg/status")).unwrap();
    t.file(
        "var/lib/dpkg/status",
        "Package: libssl3\nStatus: install ok installed\nVersion: 3\n\nPackage: openssl\nStatus: install ok installed\nVersion: 3\n\nPackage: busybox\nStatus: deinstall ok config-files\nVersion: 1\n\n",
    );
    let r = run_class(&v);
    let stderr = String::from_utf8_lossy(&r.out.stderr);
    assert!(r.out.status.success(), "{stderr}");
    assert!(
        stderr.contains("package lists cut to FIELDATTEST_CVE_RECORD_PACKAGES_ROOM (15 bytes) in the CVE record: openssl"),
        "{stderr}"
    );
    let got =
        std::fs::read_to_string(t.root().join("usr/share/fieldattest/cve-record.jsonl")).unwrap();
    assert_eq!(
        got,
        format!(
            "{}\n",
            RECORDS[0]
                .2
                .replace(r#""packages":[]}"#, r#""packages":["libssl3"]}"#)
        )
    );
}

/// For the lead (issue 18 merge): the scan that passes or fails the build
/// reads the assembled record — extend with the report's packages (`cpe`,
/// `cve_status`) and the SBOM's `cpe` and VEX once identity's reader is in.
#[test]
fn cve_record_reaches_the_scan_report_and_sbom() {
    let (t, v) = recorded_image();
    let r = run_class(&v);
    assert!(
        r.out.status.success(),
        "{}",
        String::from_utf8_lossy(&r.out.stderr)
    );
    assert_eq!(
        r.record_at_scan.as_deref(),
        Some(expected_record().as_str())
    );
    assert!(r.scans[0].contains(&format!("--root {}", t.root().display())));
    const NAME: &str = "core-image-plc-qemuarm64-20261129.fieldattest";
    let out = t.outside().join("deploy");
    assert_one_scan(&out, NAME);
    // No kernel configuration recorded: the kernel image's purl names none.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join(format!("{NAME}.json"))).unwrap())
            .unwrap();
    assert!(report["device"]["kernel"]["config"].is_null());
}

/// The kernel's `.config` is installed in the image; the scan's report
/// names it and the kernel image's purl (report and SBOM) carries its
/// digest, which the collector looks the imported configuration up by.
#[test]
fn kernel_configuration_is_recorded_and_its_digest_reaches_the_kernel_purl() {
    let (t, mut v) = recorded_image();
    let config = t.outside().join("kernel-build/.config");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let body = "#\n# Automatically generated file; DO NOT EDIT.\nCONFIG_EXT4_FS=y\n# CONFIG_NFC is not set\n";
    std::fs::write(&config, body).unwrap();
    v.insert("FIELDATTEST_KERNEL_CONFIG", config.display().to_string());
    let r = run_class(&v);
    assert!(
        r.out.status.success(),
        "{}",
        String::from_utf8_lossy(&r.out.stderr)
    );
    let dest = t.root().join("usr/share/fieldattest/kernel.config");
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), body);
    assert_eq!(
        std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
        0o644
    );
    // The digest as coreutils computes it.
    let o = Command::new("sha256sum").arg(&dest).output().unwrap();
    assert!(o.status.success());
    let digest = String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    const NAME: &str = "core-image-plc-qemuarm64-20261129.fieldattest";
    let out = t.outside().join("deploy");
    let read = |ext: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join(format!("{NAME}.{ext}"))).unwrap())
            .unwrap()
    };
    let (report, sbom) = (read("json"), read("cdx.json"));
    assert_eq!(
        report["device"]["kernel"]["config"]["path"],
        "/usr/share/fieldattest/kernel.config"
    );
    assert_eq!(
        report["device"]["kernel"]["config"]["sha256"],
        digest.as_str()
    );
    let q = format!("kconfig=sha256:{digest}");
    let purls = |v: &serde_json::Value, key: &str| -> Vec<(String, String)> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| {
                Some((
                    c["name"].as_str()?.to_string(),
                    c["purl"].as_str()?.to_string(),
                ))
            })
            .collect()
    };
    for (doc, key) in [(&report["inventory"], "packages"), (&sbom, "components")] {
        let with: Vec<String> = purls(doc, key)
            .into_iter()
            .filter(|(_, p)| p.contains("kconfig="))
            .map(|(n, p)| {
                assert!(p.contains(&q), "{p}");
                n
            })
            .collect();
        // The kernel image only: not its modules, not the other packages.
        assert_eq!(with, ["kernel-image-6.6.52"], "{key}");
    }
    // A configured file that is not there: a warning, no record.
    v.insert(
        "FIELDATTEST_KERNEL_CONFIG",
        t.outside().join("nowhere/.config").display().to_string(),
    );
    let r = run_class(&v);
    assert!(r.out.status.success());
    assert!(
        String::from_utf8_lossy(&r.out.stderr)
            .contains("WARNING: fieldattest: no kernel configuration at"),
        "{}",
        String::from_utf8_lossy(&r.out.stderr)
    );
    assert!(!dest.exists());
}

/// Runs the recipe class's python functions (`def fieldattest_*`) with a
/// stub datastore and a stub `oe.cve_check` of the given OE-core shape
/// (`set`: scarthgap, `dict`: styhead and later), printing the record line
/// for `max_line` and what was left out.
fn record_line(shape: &str, statuses: &str, max_line: usize) -> (serde_json::Value, usize, usize) {
    const HARNESS: &str = r#"
import json, sys, types
cls, shape, statuses, max_line = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
lines, src, i = open(cls).read().split("\n"), [], 0
while i < len(lines):
    if lines[i].startswith("def fieldattest_"):
        block = [lines[i]]
        i += 1
        while i < len(lines) and (lines[i].startswith(" ") or lines[i] == ""):
            block.append(lines[i])
            i += 1
        src.append("\n".join(block))
    else:
        i += 1
STATUSMAP = {"backported-patch": "Patched", "fixed-version": "Patched", "cpe-stable-backport": "Patched",
             "not-applicable-config": "Ignored", "disputed": "Ignored", "cpe-incorrect": "Ignored",
             "vulnerable-investigating": "Unpatched"}
FROM_PATCHES = {"CVE-2024-0001": "/layer/recipes/foo/files/CVE-2024-0001.patch"}
class D:
    def getVar(self, name):
        return {"PN": "foo", "PV": "1.2.3", "CVE_VERSION": "1.2.3", "CVE_PRODUCT": "acme:foo foo"}.get(name)
    def getVarFlags(self, name):
        return dict(statuses) if name == "CVE_STATUS" else None
def decode(d, cve):
    detail, _, description = statuses[cve].partition(":")
    mapping = STATUSMAP.get(detail, "Unpatched")
    if shape == "set":
        return (mapping, detail, description.strip())
    return {"mapping": mapping, "detail": detail, "description": description.strip(), "vendor": "*", "product": "*"}
def patched(d):
    if shape == "set":
        return set(FROM_PATCHES) | {c for c in statuses if decode(d, c)[0] == "Patched"}
    out = {c: {"abbrev-status": "Patched", "status": "fix-file-included", "resource": [p]} for c, p in FROM_PATCHES.items()}
    for c in statuses:
        s = decode(d, c)
        out[c] = {"abbrev-status": s["mapping"], "status": s["detail"], "justification": s["description"],
                  "affected-vendor": "*", "affected-product": "*"}
    return out
oe = types.ModuleType("oe")
oe.cve_check = types.ModuleType("oe.cve_check")
oe.cve_check.get_patched_cves, oe.cve_check.decode_cve_status = patched, decode
sys.modules["oe"], sys.modules["oe.cve_check"] = oe, oe.cve_check
ns = {}
exec("\n\n".join(src), ns)
d = D()
st = ns["fieldattest_cve_statuses"](d)
line, omitted = ns["fieldattest_cve_record_line"](d, st, max_line, ["fixed-version", "cpe-stable-backport"])
print(json.dumps({"line": line, "omitted": omitted, "len": len(line)}))
"#;
    let class = layer().join("classes/fieldattest_cve_record.bbclass");
    let o = Command::new("python3")
        .args(["-c", HARNESS])
        .arg(&class)
        .arg(shape)
        .arg(statuses)
        .arg(max_line.to_string())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let line = v["line"].as_str().unwrap();
    assert!(line.ends_with(r#""packages":[]}"#), "{line}");
    (
        serde_json::from_str(line).unwrap(),
        v["omitted"].as_u64().unwrap() as usize,
        v["len"].as_u64().unwrap() as usize,
    )
}

#[test]
fn recipe_class_records_cve_status_as_oe_core_decodes_it() {
    let statuses = serde_json::json!({
        "CVE-2023-0002": "backported-patch: upstream 1a2b3c",
        "CVE-2023-0003": "not-applicable-config: no TLS in this build",
        "CVE-2023-0004": "cpe-stable-backport: Backported in 1.2.2",
        "CVE-2023-0005": "vulnerable-investigating",
    })
    .to_string();
    let want = serde_json::json!({
        "pn": "foo", "pv": "1.2.3", "cve_version": "1.2.3", "cve_product": ["acme:foo", "foo"],
        "cve_status": [
            {"id": "CVE-2023-0002", "status": "Patched", "detail": "backported-patch", "description": "upstream 1a2b3c"},
            {"id": "CVE-2023-0003", "status": "Ignored", "detail": "not-applicable-config", "description": "no TLS in this build"},
            {"id": "CVE-2023-0004", "status": "Patched", "detail": "cpe-stable-backport", "description": "Backported in 1.2.2"},
            {"id": "CVE-2023-0005", "status": "Unpatched", "detail": "vulnerable-investigating", "description": ""},
            {"id": "CVE-2024-0001", "status": "Patched", "detail": "fix-file-included", "description": "CVE-2024-0001.patch"},
        ],
        "packages": [],
    });
    // styhead and later: dictionaries.
    let (rec, omitted, _) = record_line("dict", &statuses, 65536);
    assert_eq!((rec, omitted), (want.clone(), 0));
    // scarthgap: a set of patched ids, decode_cve_status a tuple; a patch
    // file's CVE has no description there.
    let (rec, omitted, _) = record_line("set", &statuses, 65536);
    let mut scarthgap = want.clone();
    scarthgap["cve_status"][4]["description"] = "".into();
    assert_eq!((rec, omitted), (scarthgap, 0));
    // Too long: Patched descriptions go first, then version-decided Patched
    // entries, then by-patch Patched ones; Ignored and Unpatched stay; the
    // line keeps within its bound and counts what was left out.
    let full = record_line("dict", &statuses, 65536).2;
    let (rec, omitted, len) = record_line("dict", &statuses, full - 1);
    assert_eq!(omitted, 0);
    assert!(len < full);
    let described: Vec<&str> = rec["cve_status"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["description"] != "")
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(described, ["CVE-2023-0003"]);
    let ids = |rec: &serde_json::Value| -> Vec<String> {
        rec["cve_status"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (rec, omitted, len) = record_line("dict", &statuses, 420);
    assert!(len <= 420, "{len}");
    assert_eq!(
        omitted,
        rec["cve_status_omitted"].as_u64().unwrap() as usize
    );
    let kept = ids(&rec);
    assert!(
        kept.contains(&"CVE-2023-0003".into()) && kept.contains(&"CVE-2023-0005".into()),
        "{rec}"
    );
    assert_eq!(kept, ["CVE-2023-0003", "CVE-2023-0005"]);
    assert_eq!(omitted, 3);
    // More room: the by-patch Patched entries come back before the
    // version-decided one.
    let (rec, omitted, len) = record_line("dict", &statuses, 600);
    assert!(len <= 600, "{len}");
    assert_eq!(
        (ids(&rec), omitted),
        (
            vec![
                "CVE-2023-0002".to_string(),
                "CVE-2023-0003".into(),
                "CVE-2023-0005".into(),
                "CVE-2024-0001".into()
            ],
            1
        )
    );
    // No room for any entry: all five counted.
    let (rec, omitted, _) = record_line("dict", &statuses, 150);
    assert_eq!((ids(&rec).len(), omitted), (0, 5));
}
