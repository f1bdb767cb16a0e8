//! Vulnerability matching on attested fleet inventories with OSV advisories
//! written here (Debian and Alpine, real-world range shapes: introduced/fixed,
//! last_affected, several ranges, epochs, `~` versions), imported offline
//! (JSON, JSON array, zip) idempotently; a malformed advisory is reported and
//! skipped. The devices matched are exactly the affected ones; a
//! `not_affected` VEX statement removes a match from the open list and shows
//! in the CycloneDX VEX, which validates against the 1.6 schema.

use fieldattest_tests::collector::*;
use fieldattest_tests::{bin, python, require_tool};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

fn debian_device(c: &Collector, pkgs: &[(&str, &str, &str)]) -> i64 {
    let d = Device::new(None, 0);
    let mut status = String::new();
    for (name, version, source) in pkgs {
        status.push_str(&format!(
            "Package: {name}\nStatus: install ok installed\nArchitecture: arm64\nSource: {source}\nVersion: {version}\n\n"
        ));
    }
    d.tree.file("var/lib/dpkg/status", status);
    let id = d.enroll(c);
    let (code, v) = d.attest_online(c);
    assert_eq!(code, 200, "{v}");
    id
}

fn alpine_device(c: &Collector, pkgs: &[(&str, &str, &str)]) -> i64 {
    let d = Device::new(None, 0);
    std::fs::remove_file(d.tree.root().join("var/lib/dpkg/status")).unwrap();
    let mut db = String::new();
    for (name, version, origin) in pkgs {
        db.push_str(&format!("P:{name}\nV:{version}\nA:aarch64\no:{origin}\n\n"));
    }
    d.tree.file("lib/apk/db/installed", db).file(
        "etc/os-release",
        "ID=alpine\nVERSION_ID=3.19.1\nNAME=\"Alpine Linux\"\n",
    );
    let id = d.enroll(c);
    let (code, v) = d.attest_online(c);
    assert_eq!(code, 200, "{v}");
    id
}

fn osv(id: &str, eco: &str, name: &str, ranges: Value) -> Value {
    json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": "2024-05-01T00:00:00Z",
        "aliases": [id.rsplit_once('-').map(|_| id.trim_start_matches("DEBIAN-").trim_start_matches("ALPINE-")).unwrap()],
        "summary": format!("test advisory for {name}"),
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [{"package": {"ecosystem": eco, "name": name}, "ranges": ranges}],
    })
}

fn cli(c: &Collector, args: &[&str]) -> (i32, String, String) {
    let o = Command::new(bin("fieldattest-collector"))
        .args(args)
        .arg("--db")
        .arg(&c.db_arg)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

#[test]
fn osv_advisories_match_exactly_the_affected_devices_and_vex_closes_them() {
    let c = start();
    // A: old openssl (~ version) and zlib before the epoch'd fix.
    let a = debian_device(
        &c,
        &[
            ("libssl3", "3.0.11-1~deb12u1", "openssl"),
            ("zlib1g", "1:1.2.13.dfsg-1", "zlib"),
            ("libfoo1", "1.3-2", "foo"),
        ],
    );
    // B: the fixed openssl and zlib; foo in its second vulnerable range.
    let b = debian_device(
        &c,
        &[
            ("libssl3", "3.0.11-1~deb12u2", "openssl"),
            ("zlib1g", "1:1.2.13.dfsg-1+deb12u1", "zlib"),
            ("libfoo1", "2.0.5-1", "foo"),
        ],
    );
    // C: Alpine.
    let cc = alpine_device(
        &c,
        &[
            ("libcrypto3", "3.1.4-r1", "openssl"),
            ("busybox", "1.36.1-r15", "busybox"),
            ("musl", "1.2.4_git20230717-r4", "musl"),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let w = |name: &str, v: &Value| {
        let p = dir.path().join(name);
        std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
        p.display().to_string()
    };
    let ssl = w(
        "DEBIAN-CVE-2023-5678.json",
        &osv(
            "DEBIAN-CVE-2023-5678",
            "Debian:12",
            "openssl",
            json!([{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"}]}]),
        ),
    );
    let zlib = osv(
        "DEBIAN-CVE-2023-45853",
        "Debian:12",
        "zlib",
        json!([{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:1.2.13.dfsg-1+deb12u1"}]}]),
    );
    let foo = osv(
        "DEBIAN-CVE-2024-0001",
        "Debian:12",
        "foo",
        json!([{"type": "ECOSYSTEM", "events": [{"introduced": "1.0-1"}, {"fixed": "1.4-1"}]},
               {"type": "ECOSYSTEM", "events": [{"introduced": "2.0-1"}, {"fixed": "2.1-1"}]}]),
    );
    // Same package names in another ecosystem or release must not match.
    let other = osv(
        "DEBIAN-CVE-2022-0001",
        "Debian:11",
        "openssl",
        json!([{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "9.9"}]}]),
    );
    let arr = w("debian.json", &json!([zlib, foo, other]));
    let alp_ssl = osv(
        "ALPINE-CVE-2024-0727",
        "Alpine:v3.19",
        "openssl",
        json!([{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.1.4-r5"}]}]),
    );
    let alp_bb = osv(
        "ALPINE-CVE-2023-42363",
        "Alpine:v3.19",
        "busybox",
        json!([{"type": "ECOSYSTEM", "events": [{"introduced": "1.36.0-r0"}, {"last_affected": "1.36.1-r15"}]}]),
    );
    let alp_musl = osv(
        "ALPINE-CVE-2025-0001",
        "Alpine:v3.19",
        "musl",
        json!([{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.4_git20230717-r2"}]}]),
    );
    // A zip as osv.dev publishes per ecosystem (made with python's zipfile).
    let zip = dir.path().join("Alpine.zip");
    let script = "import zipfile,sys,json\nz=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED)\nfor i,d in enumerate(json.loads(sys.argv[2])): z.writestr(d['id']+'.json', json.dumps(d))\nz.writestr('broken.json','{\"id\": \"X\"')\nz.close()";
    let o = Command::new(python())
        .args(["-c", script])
        .arg(&zip)
        .arg(json!([alp_ssl, alp_bb, alp_musl]).to_string())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bad = w(
        "bad.json",
        &json!({"id": "BAD-1", "modified": "2024-01-01T00:00:00Z", "affected": [{"ranges": []}]}),
    );

    let (code, out, err) = cli(
        &c,
        &["vulndb", "import", &ssl, &arr, zip.to_str().unwrap(), &bad],
    );
    assert_eq!(code, 1, "malformed advisories are reported: {out} {err}");
    assert!(
        out.contains("7 new, 0 updated, 0 unchanged, 2 skipped"),
        "{out}"
    );
    assert!(
        err.contains("bad.json") && err.contains("Alpine.zip!broken.json"),
        "{err}"
    );
    // Importing again changes nothing.
    let (_, out, _) = cli(&c, &["vulndb", "import", &ssl, &arr, zip.to_str().unwrap()]);
    assert!(out.contains("0 new, 0 updated, 7 unchanged"), "{out}");

    let (code, out, err) = cli(&c, &["vulns", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let mut got: Vec<(i64, String)> = rows
        .iter()
        .map(|r| {
            (
                r["device"].as_i64().unwrap(),
                r["vulnerability"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let mut want = vec![
        (a, "DEBIAN-CVE-2023-5678".to_string()),
        (a, "DEBIAN-CVE-2023-45853".to_string()),
        (a, "DEBIAN-CVE-2024-0001".to_string()),
        (b, "DEBIAN-CVE-2024-0001".to_string()),
        (cc, "ALPINE-CVE-2024-0727".to_string()),
        (cc, "ALPINE-CVE-2023-42363".to_string()),
    ];
    want.sort();
    assert_eq!(got, want, "{out}");
    let fixed = rows
        .iter()
        .find(|r| r["device"] == a && r["vulnerability"] == "DEBIAN-CVE-2023-45853")
        .unwrap();
    assert_eq!(fixed["fixed"], "1:1.2.13.dfsg-1+deb12u1");
    assert_eq!(fixed["package"], "zlib");

    // VEX: not affected on device A (with justification).
    let (code, _, err) = cli(
        &c,
        &[
            "vex",
            "set",
            "DEBIAN-CVE-2023-5678",
            "--status",
            "not_affected",
            "--device",
            &a.to_string(),
            "--justification",
            "code_not_reachable",
            "--detail",
            "TLS is terminated by the gateway; openssl is not linked by any service",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = cli(
        &c,
        &[
            "vex",
            "set",
            "DEBIAN-CVE-2023-5678",
            "--status",
            "not_affected",
            "--device",
            &a.to_string(),
        ],
    );
    assert_eq!(code, 2, "not_affected needs a justification");
    let (_, out, _) = cli(
        &c,
        &["vulns", "--format", "json", "--device", &a.to_string()],
    );
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert!(
        rows.iter()
            .all(|r| r["vulnerability"] != "DEBIAN-CVE-2023-5678"),
        "{out}"
    );
    assert_eq!(rows.len(), 2);
    let (code, vex, err) = cli(&c, &["vex", "export", "--device", &a.to_string()]);
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&vex).unwrap();
    let v = doc["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "DEBIAN-CVE-2023-5678")
        .unwrap();
    assert_eq!(v["analysis"]["state"], "not_affected");
    assert_eq!(v["analysis"]["justification"], "code_not_reachable");
    assert_eq!(v["ratings"][0]["method"], "CVSSv31");
    let path = dir.path().join("vex.cdx.json");
    std::fs::write(&path, &vex).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/validate_cyclonedx.py");
    let o = Command::new(python())
        .arg(script)
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    // The fleet VEX covers every device.
    let (_, fleet, _) = cli(&c, &["vex", "export"]);
    let doc: Value = serde_json::from_str(&fleet).unwrap();
    assert_eq!(doc["vulnerabilities"].as_array().unwrap().len(), 5);
    // The console: open vulnerabilities across the fleet (with their
    // aliases and fixed versions), drill-down to the devices, and each
    // device's count in the device list agree with the CLI.
    let (code, table) = c.console("/vulnerabilities");
    assert_eq!(code, 200);
    for s in [
        "DEBIAN-CVE-2024-0001",
        "CVE-2024-0001",
        "1.4-1",
        "ALPINE-CVE-2023-42363",
    ] {
        assert!(table.contains(s), "{s}: {table}");
    }
    assert!(
        !table.contains("DEBIAN-CVE-2023-5678"),
        "closed by VEX: {table}"
    );
    let (code, out, err) = cli(&c, &["vulns", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let rows: Value = serde_json::from_str(&out).unwrap();
    let mut on: Vec<i64> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["vulnerability"] == "DEBIAN-CVE-2024-0001")
        .map(|r| r["device"].as_i64().unwrap())
        .collect();
    on.dedup();
    assert!(!on.is_empty(), "{out}");
    let (code, list) = c.console("/devices?vuln=DEBIAN-CVE-2024-0001");
    assert_eq!(code, 200);
    assert_eq!(list.matches("class=\"device\"").count(), on.len(), "{list}");
    for d in on {
        assert!(list.contains(&format!("href=\"/devices/{d}\"")), "{list}");
    }
    let (_, list) = c.console("/devices?vuln=DEBIAN-CVE-2023-5678");
    assert_eq!(
        list.matches("class=\"device\"").count(),
        0,
        "closed by VEX: {list}"
    );

    // Evidence report: per FR, results of the re-verified latest token, the
    // SBOM/HBOM digests, vulnerabilities with their VEX status.
    let (code, out, err) = cli(
        &c,
        &["report", &a.to_string(), "--format", "json", "--sl", "2"],
    );
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    let dev = &r["devices"][0];
    assert_eq!(dev["attestation"]["signature"], "verified");
    assert_eq!(
        dev["attestation"]["sbom_sha256"].as_str().map(str::len),
        Some(64)
    );
    let frs = dev["requirements"].as_array().unwrap();
    assert!(
        frs.iter().any(|f| f["fr"] == "FR1"
            && f["rules"].as_array().unwrap().iter().any(|x| x["rule"]
                == "cred.known-default-password"
                && x["requirements"][0]["id"]
                    .as_str()
                    .unwrap()
                    .starts_with("CR"))),
        "{frs:?}"
    );
    let v = dev["vulnerabilities"].as_array().unwrap();
    assert!(v.iter().any(|x| x["id"] == "DEBIAN-CVE-2023-5678"
        && x["vex"]["justification"] == "code_not_reachable"
        && x["open"] == false));
    let (code, html, _) = cli(&c, &["report", "--fleet", "--format", "html"]);
    assert_eq!(code, 0);
    assert_eq!(html.matches("class=\"device\"").count(), 3, "three devices");
    // The PDF is printed by Debian's chromium (scripts/test installs it).
    require_tool("chromium", "chromium");
    let pdf = dir.path().join("evidence.pdf");
    let (code, _, err) = cli(
        &c,
        &[
            "report",
            "--fleet",
            "--format",
            "pdf",
            "--output",
            pdf.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"));
    // The web page's printable view of a device.
    let (code, page) = c.console(&format!("/report/{a}"));
    assert_eq!(code, 200);
    assert!(
        page.contains("IEC 62443-4-2 evidence report") && page.contains("DEBIAN-CVE-2023-5678")
    );
    assert_eq!(c.console("/report/999").0, 404);
}

/// One advisory against a source package with several binary packages on a
/// device is one `vulns` row naming the binaries (in every format), and
/// `fleet --format text` is text for people, not JSON.
#[test]
fn vulns_lists_an_advisory_once_per_source_and_fleet_text_is_text() {
    let c = start();
    let a = debian_device(
        &c,
        &[
            ("libc6", "2.36-9+deb12u3", "glibc"),
            ("libc-bin", "2.36-9+deb12u3", "glibc"),
            ("zlib1g", "1:1.2.13.dfsg-1", "zlib"),
        ],
    );
    let b = debian_device(&c, &[("libc6", "2.36-9+deb12u3", "glibc")]);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("glibc.json");
    let glibc = osv(
        "DEBIAN-CVE-2023-4911",
        "Debian:12",
        "glibc",
        json!([{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.36-9+deb12u4"}]}]),
    );
    std::fs::write(&p, serde_json::to_vec(&glibc).unwrap()).unwrap();
    let (code, out, err) = cli(&c, &["vulndb", "import", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{out} {err}");

    let (code, out, err) = cli(&c, &["vulns", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let got: Vec<(i64, &str, &str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["device"].as_i64().unwrap(),
                r["vulnerability"].as_str().unwrap(),
                r["package"].as_str().unwrap(),
                r["binaries"].as_str().unwrap(),
                r["version"].as_str().unwrap(),
            )
        })
        .collect();
    let mut want = vec![
        (
            a,
            "DEBIAN-CVE-2023-4911",
            "glibc",
            "libc-bin libc6",
            "2.36-9+deb12u3",
        ),
        (
            b,
            "DEBIAN-CVE-2023-4911",
            "glibc",
            "libc6",
            "2.36-9+deb12u3",
        ),
    ];
    let mut got_sorted = got.clone();
    got_sorted.sort();
    want.sort();
    assert_eq!(got_sorted, want, "{out}");
    assert!(rows.iter().all(|r| r["fixed"] == "2.36-9+deb12u4"), "{out}");
    // Text and CSV: one line per (device, advisory, source) as well.
    let (_, text, _) = cli(&c, &["vulns"]);
    assert_eq!(text.matches("DEBIAN-CVE-2023-4911").count(), 2, "{text}");
    assert!(text.contains("binaries=libc-bin libc6"), "{text}");
    let (_, csv, _) = cli(&c, &["vulns", "--format", "csv"]);
    assert_eq!(csv.lines().count(), 3, "header + 2 rows: {csv}");
    // The VEX of the fleet has the advisory once.
    let (_, vex, _) = cli(&c, &["vex", "export"]);
    let doc: Value = serde_json::from_str(&vex).unwrap();
    assert_eq!(
        doc["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["id"] == "DEBIAN-CVE-2023-4911")
            .count(),
        1,
        "{vex}"
    );

    // fleet --format text.
    let (code, text, err) = cli(&c, &["fleet"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        serde_json::from_str::<Value>(&text).is_err() && !text.trim_start().starts_with('{'),
        "fleet text is JSON: {text}"
    );
    let (_, js, _) = cli(&c, &["fleet", "--format", "json"]);
    let fleet: Value = serde_json::from_str(&js).unwrap();
    assert!(
        text.starts_with("Fleet: 2 device(s) (active 2)\n"),
        "{text}"
    );
    for section in [
        "Silent (no attestation for 86400 s): 0",
        "\nFailing rules (",
        "\nSecurity level ceiling per FR:",
        "\nKeys shared by several devices (",
        "\nDrift since the previous attestation (",
    ] {
        assert!(text.contains(section), "{section:?} in {text}");
    }
    // Every failing rule of the JSON view is on a line with its count.
    let failing = fleet["failing_rules"].as_object().unwrap();
    assert!(!failing.is_empty(), "{js}");
    for (rule, n) in failing {
        assert!(
            text.lines().any(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                w.len() == 2 && w[0] == rule && w[1].parse::<u64>().ok() == n.as_u64()
            }),
            "{rule} {n} in {text}"
        );
    }
    // Each FR's lowest SL is shown.
    for (fr, x) in fleet["sl_ceiling"].as_object().unwrap() {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&format!("{fr} "))
                    && l.contains(&format!("SL{}", x["min"]))),
            "{fr} in {text}"
        );
    }
    assert!(
        !text.chars().any(|ch| ch.is_control() && ch != '\n'),
        "{text:?}"
    );

    // device --format text is text too: one `key: value` line per field.
    let (code, dtext, err) = cli(&c, &["device", &a.to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        serde_json::from_str::<Value>(&dtext).is_err() && !dtext.trim_start().starts_with('{'),
        "device text is JSON: {dtext}"
    );
    let (_, djs, _) = cli(&c, &["device", &a.to_string(), "--format", "json"]);
    let dev: Value = serde_json::from_str(&djs).unwrap();
    assert!(dtext.starts_with("device:\n"), "{dtext}");
    let kid = dev["device"]["kid"].as_str().unwrap();
    assert!(dtext.contains(&format!("  kid: {kid}\n")), "{dtext}");
    assert!(dtext.contains("\nfailing_rules:\n"), "{dtext}");
}

// The same tests with the collector on PostgreSQL.
fieldattest_tests::on_postgres_too!(
    osv_advisories_match_exactly_the_affected_devices_and_vex_closes_them,
    vulns_lists_an_advisory_once_per_source_and_fleet_text_is_text,
);
