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
        "pkg:yocto/busybox@1.36.1?arch=cortexa53&cpe=cpe:2.3:%2A:%2A:busybox:1.36.1:%2A:%2A:%2A:%2A:%2A:%2A:%2A"
    );
    assert_eq!(
        v["components"][0]["cpe"],
        "cpe:2.3:*:*:busybox:1.36.1:*:*:*:*:*:*:*"
    );
    assert!(v.get("vulnerabilities").is_none(), "no record, no VEX");
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
    let comps = v["components"].as_array().unwrap();
    assert_eq!(comps.len(), 2);
    assert_eq!(v["metadata"]["component"]["name"], "unknown");
    assert_eq!(comps[1]["name"], "linux");
    assert_eq!(
        comps[1]["cpe"],
        "cpe:2.3:o:linux:linux_kernel:6.6.30:*:*:*:*:*:*:*"
    );
    assert_eq!(
        comps[1]["purl"],
        "pkg:generic/linux@6.6.30?cpe=cpe:2.3:o:linux:linux_kernel:6.6.30:%2A:%2A:%2A:%2A:%2A:%2A:%2A"
    );
}

/// An opkg status file with the packages installed.
fn opkg_status(arch: &str, packages: &[(&str, &str)]) -> String {
    packages
        .iter()
        .map(|(name, version)| {
            format!("Package: {name}\nVersion: {version}\nStatus: install ok installed\nArchitecture: {arch}\n\n")
        })
        .collect()
}

/// A Yocto image with the class's record: CPEs from the record (several per
/// recipe, all as identity evidence), CVE_STATUS as VEX statements on every
/// package of the recipe; a recipe nobody knows has no CPE.
#[test]
fn yocto_record_gives_cpes_and_vex() {
    let t = Tree::new();
    let status = opkg_status(
        "cortexa53",
        &[
            ("curl", "8.7.1-r0"),
            ("libcurl4", "8.7.1-r0"),
            ("libssl3", "3.0.2-r0"),
            ("openssl-bin", "3.0.2-r0"),
            ("plc-runtime", "2.1-r0"),
        ],
    );
    t.file("etc/os-release", "ID=poky\nVERSION_ID=5.0.4\n")
        .file("var/lib/opkg/status", status);
    for (pkg, recipe) in [
        ("curl", "curl"),
        ("libcurl4", "curl"),
        ("libssl3", "openssl"),
        ("openssl-bin", "openssl"),
        ("plc-runtime", "plc-runtime"),
    ] {
        t.file(
            &format!("var/lib/opkg/info/{pkg}.control"),
            format!("Package: {pkg}\nOE: {recipe}\n"),
        );
    }
    t.file(
        "usr/share/fieldattest/cve-record.jsonl",
        concat!(
            r#"{"pn":"openssl","pv":"3.0.2","cve_version":"3.0.2","cve_product":["openssl:openssl"],"packages":["openssl","libssl3","openssl-bin"],"cve_status":["#,
            r#"{"id":"CVE-2023-0464","status":"Patched","detail":"backported-patch","description":"fix in CVE-2023-0464.patch"},"#,
            r#"{"id":"CVE-2022-3358","status":"Ignored","detail":"not-applicable-config","description":"no custom ciphers"},"#,
            r#"{"id":"CVE-2022-3602","status":"Ignored","detail":"cpe-incorrect","description":""},"#,
            r#"{"id":"CVE-2024-0727","status":"Unpatched","detail":"vulnerable-investigating","description":""},"#,
            r#"{"id":"CVE-2021-3449","status":"Ignored","detail":"disputed","description":"upstream disputes"}]}"#,
            "\n",
            r#"{"pn":"curl","pv":"8.7.1","cve_product":["haxx:curl haxx:libcurl"],"packages":["curl","libcurl4"]}"#,
            "\nnot json\n"
        ),
    );
    let (v, path) = sbom(&t);
    validate(&path);
    let comps = v["components"].as_array().unwrap();
    let comp = |name: &str| comps.iter().find(|c| c["name"] == name).unwrap();
    let curl = comp("libcurl4");
    assert_eq!(curl["cpe"], "cpe:2.3:*:haxx:curl:8.7.1:*:*:*:*:*:*:*");
    let ids: Vec<&str> = curl["evidence"]["identity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["field"], "cpe");
            e["concludedValue"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        ids,
        [
            "cpe:2.3:*:haxx:curl:8.7.1:*:*:*:*:*:*:*",
            "cpe:2.3:*:haxx:libcurl:8.7.1:*:*:*:*:*:*:*"
        ]
    );
    assert!(curl["purl"]
        .as_str()
        .unwrap()
        .contains("%2Ccpe:2.3:%2A:haxx:libcurl:8.7.1:"));
    // No source identifies plc-runtime: the SBOM gives it OE-core's
    // default identity, says so, and asserts no identity evidence.
    let plc = comp("plc-runtime");
    assert_eq!(
        plc["cpe"], "cpe:2.3:*:*:plc-runtime:2.1:*:*:*:*:*:*:*",
        "{plc}"
    );
    assert!(plc.get("evidence").is_none(), "{plc}");
    assert!(
        serde_json::to_string(&plc["properties"])
            .unwrap()
            .contains("fieldattest:cpe:basis"),
        "{plc}"
    );
    assert!(!plc["purl"].as_str().unwrap().contains("cpe="));
    let ssl_refs: Vec<&str> = ["libssl3", "openssl-bin"]
        .iter()
        .map(|n| comp(n)["bom-ref"].as_str().unwrap())
        .collect();
    let vulns = v["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), 5, "{vulns:?}");
    let vuln = |id: &str| vulns.iter().find(|x| x["id"] == id).unwrap();
    for x in vulns {
        let mut refs: Vec<&str> = x["affects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["ref"].as_str().unwrap())
            .collect();
        refs.sort();
        assert_eq!(refs, ssl_refs, "every package of the recipe: {x}");
    }
    let a = &vuln("CVE-2023-0464")["analysis"];
    assert_eq!(a["state"], "resolved");
    assert_eq!(a["detail"], "backported-patch: fix in CVE-2023-0464.patch");
    let a = &vuln("CVE-2022-3358")["analysis"];
    assert_eq!(
        (&a["state"], &a["justification"]),
        (&"not_affected".into(), &"requires_configuration".into())
    );
    let a = &vuln("CVE-2022-3602")["analysis"];
    assert_eq!(a["justification"], "code_not_present");
    assert_eq!(a["detail"], "cpe-incorrect");
    assert_eq!(vuln("CVE-2024-0727")["analysis"]["state"], "exploitable");
    let a = &vuln("CVE-2021-3449")["analysis"];
    assert_eq!(a["state"], "in_triage");
    assert!(a.get("justification").is_none());
    assert_eq!(a["detail"], "disputed: upstream disputes");
    // The bad record line is an inventory error with its line number.
    let props = serde_json::to_string(&v["metadata"]["properties"]).unwrap();
    assert!(props.contains("cve-record.jsonl:3"), "{props}");
}

/// An OpenWrt-style opkg tree: CPEs from the maintained table by package
/// name, `libc` named by its file list, the `kernel` package is the kernel
/// (no extra component), an unknown package and a snapshot have none.
#[test]
fn openwrt_tree_gets_cpes_from_the_maintained_table() {
    let t = Tree::new();
    let status = opkg_status(
        "aarch64_cortex-a53",
        &[
            ("libc", "1.2.4-4"),
            ("libopenssl3", "3.0.15-1"),
            ("wpad-basic-mbedtls", "2024.03.09~695277a5-6"),
            ("kernel", "6.6.73~8f2c2b2d0c1e5c8bd6e88ce40d9d5f74-1"),
            ("luci-app-firewall", "24.086.45142~09d5a38-r1"),
        ],
    );
    t.file("etc/os-release", "ID=\"openwrt\"\nVERSION_ID=\"23.05.5\"\n")
        .file("usr/lib/opkg/status", status)
        .file(
            "usr/lib/opkg/info/libc.list",
            "/lib/ld-musl-aarch64.so.1\n/lib/libc.so\n",
        )
        .dir("lib/modules/6.6.73");
    let (v, path) = sbom(&t);
    validate(&path);
    let comps = v["components"].as_array().unwrap();
    assert_eq!(comps.len(), 5, "the kernel package is the kernel");
    let cpe = |name: &str| {
        comps
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["cpe"].clone())
            .unwrap()
    };
    assert_eq!(cpe("libc"), "cpe:2.3:a:musl-libc:musl:1.2.4:*:*:*:*:*:*:*");
    assert_eq!(
        cpe("libopenssl3"),
        "cpe:2.3:a:openssl:openssl:3.0.15:*:*:*:*:*:*:*"
    );
    // hostapd from a git snapshot: no release to match advisories with, so
    // only the SBOM's default identity (never matched: it is not in the
    // report's `cpe`).
    assert_eq!(
        cpe("wpad-basic-mbedtls"),
        "cpe:2.3:*:*:wpad-basic-mbedtls:2024.03.09:*:*:*:*:*:*:*"
    );
    assert_eq!(
        cpe("kernel"),
        "cpe:2.3:o:linux:linux_kernel:6.6.73:*:*:*:*:*:*:*"
    );
    assert_eq!(
        cpe("luci-app-firewall"),
        "cpe:2.3:*:*:luci-app-firewall:24.086.45142:*:*:*:*:*:*:*"
    );
    let purl = comps.iter().find(|c| c["name"] == "libopenssl3").unwrap()["purl"]
        .as_str()
        .unwrap();
    assert_eq!(
        purl,
        "pkg:generic/libopenssl3@3.0.15-1?arch=aarch64_cortex-a53&cpe=cpe:2.3:a:openssl:openssl:3.0.15:%2A:%2A:%2A:%2A:%2A:%2A:%2A&distro=openwrt-23.05.5"
    );
}

/// Differential check of the CPE binding against the CPE 2.3 naming
/// schema's pattern (CycloneDX's bom-1.6 XSD): every value a formatted
/// string can carry binds to a string the pattern accepts and our parser
/// reads back; and over quoted and unquoted printable characters, our parser
/// and the pattern agree on which strings are CPE names.
#[test]
fn cpe_binding_agrees_with_the_cpe_naming_pattern() {
    use fieldattest_scan::inventory::cpe;
    let mut bound = Vec::new();
    for b in 0x20u8..0x7f {
        let c = b as char;
        for value in [format!("1{c}2"), format!("{c}"), format!("{c}{c}x")] {
            if let Some(s) = cpe::format("a", "vendor", &value, &value) {
                let parsed = cpe::parse(&s).unwrap_or_else(|e| panic!("{s}: {e}"));
                assert_eq!(parsed.product(), parsed.version());
                bound.push(s);
            } else {
                assert_eq!(value, "-", "only a lone hyphen cannot be bound");
            }
        }
    }
    bound.push(cpe::format("*", "*", "sdbus-c++", "9.6p1").unwrap());
    bound.push(cpe::format("a", "openbsd", "openssh", "9.6p1").unwrap());
    bound.push(cpe::format("o", "linux", "linux_kernel", "6.1.95").unwrap());
    let verdicts = cpe_verdicts(&bound);
    assert!(verdicts.iter().all(|ok| *ok), "{bound:?}\n{verdicts:?}");

    let mut candidates = Vec::new();
    for b in 0x21u8..0x7f {
        let c = b as char;
        candidates.push(format!("cpe:2.3:a:v:p:1{c}2:*:*:*:*:*:*:*"));
        candidates.push(format!("cpe:2.3:a:v:p:1\\{c}2:*:*:*:*:*:*:*"));
        candidates.push(format!("cpe:2.3:a:v:p:{c}:*:*:*:*:*:*:*"));
    }
    for lang in [
        "en", "eng", "en-us", "es-419", "english", "en-u", "e", "en-1234", "en_us", "en\\-us",
    ] {
        candidates.push(format!("cpe:2.3:a:v:p:1:*:*:{lang}:*:*:*:*"));
    }
    candidates.push("cpe:2.3:a:v:p:1:*:*:*:*:*:*".into());
    candidates.push("cpe:2.3:q:v:p:1:*:*:*:*:*:*:*".into());
    let verdicts = cpe_verdicts(&candidates);
    let mut disagree = Vec::new();
    for (s, pattern_ok) in candidates.iter().zip(&verdicts) {
        let ours = cpe::parse(s).is_ok();
        if ours != *pattern_ok {
            disagree.push((s.clone(), ours, *pattern_ok));
        }
    }
    assert!(disagree.is_empty(), "parser vs pattern: {disagree:?}");
    assert!(
        verdicts.iter().any(|ok| !ok),
        "the pattern must be able to refuse"
    );
}

fn cpe_verdicts(cpes: &[String]) -> Vec<bool> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/validate_cyclonedx.py");
    let out = Command::new(python())
        .arg(script)
        .arg("--cpe")
        .args(cpes)
        .output()
        .expect("run python validator");
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Vec<bool> = text.lines().map(|l| l.starts_with("valid CPE: ")).collect();
    assert_eq!(
        v.len(),
        cpes.len(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    v
}

#[test]
fn validator_rejects_a_broken_document() {
    // The check itself must be able to fail.
    let t = Tree::new();
    let path = t.outside().join("bad.json");
    std::fs::write(&path, r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"nonsense","name":"x"}]}"#).unwrap();
    let out = run_validator(&path);
    assert!(!out.status.success());
    // A component whose cpe is not a CPE 2.3 name fails too (the JSON schema
    // alone accepts any string there).
    std::fs::write(&path, r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","bom-ref":"x","name":"x","cpe":"cpe:2.3:a:x:sdbus-c++:1:*:*:*:*:*:*:*"}]}"#).unwrap();
    let out = run_validator(&path);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("does not match the CPE 2.3 pattern"));
}
