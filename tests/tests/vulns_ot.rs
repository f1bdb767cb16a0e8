//! Issue 18's acceptance: vulnerabilities for the devices this field runs.
//! Four devices attest through the real agent and collector — a Yocto image
//! (opkg with the recipe record `cve-record.jsonl` of the fieldattest class),
//! an OpenWrt gateway (opkg at `usr/lib/opkg/status`), a BusyBox system with
//! no package database (components found in the binaries, the kernel from
//! `/lib/modules`) and a Debian controller — and the collector imports feeds
//! in their official shapes (NVD CVE API 2.0, a CVE 5 record of the kernel
//! CNA, CISA KEV, EPSS CSV, CSAF VEX, OpenVEX, OSV for Debian). The open (device, CVE)
//! pairs are exactly the affected ones: a `CVE_STATUS` of the image closes
//! its CVE, the kernel CNA's stable-branch fix (6.1.90 on 6.1.y) is honoured,
//! a supplier's `not_affected` closes the product it names and nothing else,
//! and NVD's upstream ranges never match a Debian package (its own security
//! tracker says what a backport fixed). `vulns --format json` ranks KEV
//! first and names each row's CVSS, EPSS, KEV, reachability and reason.

use fieldattest_tests::collector::*;
use fieldattest_tests::fieldattest;
use serde_json::{json, Value};

/// The collector CLI on this collector's database.
fn cli(c: &Collector, args: &[&str]) -> (i32, String, String) {
    c.run_parts(args)
}

/// A device whose tree starts without a dpkg database.
fn bare() -> Device {
    let d = Device::new(None, 0);
    std::fs::remove_file(d.tree.root().join("var/lib/dpkg/status")).unwrap();
    d
}

fn opkg_para(name: &str, version: &str, arch: &str) -> String {
    format!("Package: {name}\nVersion: {version}\nStatus: install ok installed\nArchitecture: {arch}\n\n")
}

/// A Yocto package's control file (`OE:` names its recipe), as opkg keeps it.
fn yocto_control(d: &Device, name: &str, version: &str, recipe: &str) {
    d.tree.file(
        &format!("var/lib/opkg/info/{name}.control"),
        format!("Package: {name}\nVersion: {version}\nArchitecture: cortexa53\nOE: {recipe}\nSource: {recipe}_{version}.bb\n"),
    );
}

fn attest(c: &Collector, d: &Device) -> i64 {
    let id = d.enroll(c);
    let (code, v) = d.attest_online(c);
    assert_eq!(code, 200, "{v}");
    id
}

fn nvd(id: &str, cvss: f64, vector: &str, matches: Value) -> Value {
    json!({"cve": {
        "id": id, "sourceIdentifier": "cve@mitre.org",
        "published": "2099-02-01T10:00:00.000", "lastModified": "2099-02-02T10:00:00.000",
        "vulnStatus": "Analyzed", "cveTags": [],
        "descriptions": [{"lang": "en", "value": format!("test record {id}")}],
        "metrics": {"cvssMetricV31": [{"source": "nvd@nist.gov", "type": "Primary",
            "cvssData": {"version": "3.1", "vectorString": vector, "baseScore": cvss,
                         "baseSeverity": if cvss >= 9.0 { "CRITICAL" } else { "HIGH" }},
            "exploitabilityScore": 3.9, "impactScore": 5.9}]},
        "configurations": [{"nodes": [{"operator": "OR", "negate": false, "cpeMatch": matches}]}],
        "references": []
    }})
}

fn cpe_range(cpe: &str, bounds: &[(&str, &str)]) -> Value {
    let mut m = json!({"vulnerable": true, "criteria": cpe,
                       "matchCriteriaId": "00000000-0000-4000-8000-000000000000"});
    for (k, v) in bounds {
        m[*k] = json!(v);
    }
    m
}

#[test]
fn ot_images_match_exactly_their_affected_components() {
    let c = start();

    // Yocto: openssl 3.0.2 (one CVE patched by the recipe's CVE_STATUS),
    // busybox 1.36.1, kernel 5.15.100 from the image's /lib/modules.
    let y = bare();
    y.tree
        .file(
            "etc/os-release",
            "ID=poky\nVERSION_ID=5.0.4\nNAME=\"Poky (Yocto Project Reference Distro)\"\n",
        )
        .file(
            "var/lib/opkg/status",
            opkg_para("libssl3", "3.0.2-r0", "cortexa53")
                + &opkg_para("busybox", "1.36.1-r0", "cortexa53"),
        )
        .file(
            "usr/share/fieldattest/cve-record.jsonl",
            concat!(
                r#"{"pn":"openssl","pv":"3.0.2","cve_product":["openssl:openssl"],"packages":["libssl3","openssl-bin"],"#,
                r#""cve_status":[{"id":"CVE-2099-1002","status":"Patched","detail":"backported-patch","description":"CVE-2099-1002.patch"}]}"#,
                "\n",
                r#"{"pn":"busybox","pv":"1.36.1","cve_product":["busybox:busybox"],"packages":["busybox"],"cve_status":[]}"#,
                "\n"
            ),
        );
    yocto_control(&y, "libssl3", "3.0.2-r0", "openssl");
    yocto_control(&y, "busybox", "1.36.1-r0", "busybox");
    std::fs::create_dir_all(
        y.tree
            .root()
            .join("lib/modules/5.15.100-yocto-standard/kernel"),
    )
    .unwrap();
    let yid = attest(&c, &y);

    // OpenWrt: no OE field, the maintained table names the software.
    let w = bare();
    w.tree
        .file(
            "etc/os-release",
            "NAME=\"OpenWrt\"\nID=\"openwrt\"\nVERSION_ID=\"23.05.3\"\n",
        )
        .file(
            "etc/openwrt_release",
            "DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='23.05.3'\n",
        )
        .file(
            "usr/lib/opkg/status",
            opkg_para("dropbear", "2022.82-6", "aarch64_cortex-a53")
                + &opkg_para("busybox", "1.36.1-1", "aarch64_cortex-a53")
                + &opkg_para("libopenssl3", "3.0.13-1", "aarch64_cortex-a53"),
        );
    let wid = attest(&c, &w);

    // BusyBox/Buildroot: no package database at all.
    let b = bare();
    b.tree
        .file(
            "etc/os-release",
            "ID=buildroot\nVERSION_ID=2024.02\nNAME=Buildroot\n",
        )
        .file(
            "bin/busybox",
            "\u{7f}ELF....BusyBox v1.35.0 (2023-01-01 00:00:00 UTC) multi-call binary....",
        );
    std::fs::create_dir_all(b.tree.root().join("lib/modules/6.1.95/kernel")).unwrap();
    let bid = attest(&c, &b);

    // Debian: openssl in an upstream range NVD lists, fixed by a backport.
    let d = Device::new(None, 0);
    d.tree.file(
        "var/lib/dpkg/status",
        "Package: libssl3\nStatus: install ok installed\nArchitecture: arm64\nSource: openssl\nVersion: 3.0.11-1~deb12u1\n\n\
         Package: busybox\nStatus: install ok installed\nArchitecture: arm64\nVersion: 1:1.35.0-4\n\n",
    );
    let did = attest(&c, &d);

    // The Yocto image's SBOM, as the agent writes it: the record's CPE on the
    // component and its CVE_STATUS as VEX analysis.
    let o = fieldattest(&[
        "scan",
        "--root",
        &y.tree.root_str(),
        "--format",
        "cyclonedx",
    ]);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let sbom: Value = serde_json::from_slice(&o.stdout).unwrap();
    let comps = sbom["components"].as_array().unwrap();
    let ssl = comps
        .iter()
        .find(|c| c["name"] == "openssl" || c["name"] == "libssl3")
        .unwrap_or_else(|| panic!("{sbom}"));
    assert!(
        // The record's CVE_PRODUCT names vendor and product, not the part.
        ssl["cpe"]
            .as_str()
            .unwrap_or("")
            .starts_with("cpe:2.3:*:openssl:openssl:3.0.2:"),
        "{ssl}"
    );
    let kernel = comps
        .iter()
        .find(|c| c["name"] == "linux")
        .unwrap_or_else(|| panic!("{sbom}"));
    assert!(
        kernel["cpe"]
            .as_str()
            .unwrap_or("")
            .starts_with("cpe:2.3:o:linux:linux_kernel:5.15.100:"),
        "{kernel}"
    );
    let vex = sbom["vulnerabilities"].as_array().unwrap();
    assert!(
        vex.iter().any(|v| v["id"] == "CVE-2099-1002"
            && v["analysis"]["state"]
                .as_str()
                .is_some_and(|s| s != "exploitable")),
        "{sbom}"
    );

    // Feeds, as their publishers write them.
    let dir = tempfile::tempdir().unwrap();
    let put = |name: &str, body: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p.display().to_string()
    };
    let crit = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
    let high = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N";
    let records = vec![
        nvd(
            "CVE-2099-1001",
            9.8,
            crit,
            json!([cpe_range(
                "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*",
                &[
                    ("versionStartIncluding", "3.0.0"),
                    ("versionEndExcluding", "3.0.8")
                ]
            )]),
        ),
        nvd(
            "CVE-2099-1002",
            7.5,
            high,
            json!([cpe_range(
                "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*",
                &[
                    ("versionStartIncluding", "3.0.0"),
                    ("versionEndExcluding", "3.0.9")
                ]
            )]),
        ),
        nvd(
            "CVE-2099-1003",
            7.5,
            high,
            json!([cpe_range(
                "cpe:2.3:a:busybox:busybox:*:*:*:*:*:*:*:*",
                &[("versionEndExcluding", "1.36.0")]
            )]),
        ),
        nvd(
            "CVE-2099-1004",
            7.5,
            high,
            json!([cpe_range(
                "cpe:2.3:a:dropbear_ssh_project:dropbear_ssh:*:*:*:*:*:*:*:*",
                &[("versionEndExcluding", "2022.83")]
            )]),
        ),
        nvd(
            "CVE-2099-1008",
            7.5,
            high,
            json!([cpe_range(
                "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*",
                &[
                    ("versionStartIncluding", "3.0.0"),
                    ("versionEndExcluding", "3.0.14")
                ]
            )]),
        ),
        nvd(
            "CVE-2099-1007",
            7.5,
            high,
            json!([cpe_range(
                "cpe:2.3:a:busybox:busybox:*:*:*:*:*:*:*:*",
                &[("versionEndIncluding", "1.36.1")]
            )]),
        ),
    ];
    let n = records.len();
    let nvd_file = put(
        "nvd.json",
        json!({"resultsPerPage": n, "startIndex": 0, "totalResults": n, "format": "NVD_CVE",
               "version": "2.0", "timestamp": "2099-02-03T00:00:00.000", "vulnerabilities": records})
        .to_string(),
    );
    // The kernel CNA: affected since 2.6.36, fixed on 5.15.y at 5.15.160, on
    // 6.1.y at 6.1.90, on mainline at 6.9.
    let kernel = put(
        "kernel.json",
        json!({"dataType": "CVE_RECORD", "dataVersion": "5.1",
            "cveMetadata": {"cveId": "CVE-2099-1006", "assignerOrgId": "416baaa9-dc9f-4396-8d5f-8c081fb06d67",
                "state": "PUBLISHED", "assignerShortName": "Linux",
                "datePublished": "2099-02-01T08:00:00.000Z", "dateUpdated": "2099-02-02T10:00:00.000Z"},
            "containers": {"cna": {
                "providerMetadata": {"orgId": "416baaa9-dc9f-4396-8d5f-8c081fb06d67", "shortName": "Linux"},
                "descriptions": [{"lang": "en", "value": "In the Linux kernel, the following vulnerability has been resolved: net: test"}],
                "affected": [{"product": "Linux", "vendor": "Linux", "defaultStatus": "affected",
                    "repo": "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git",
                    "programFiles": ["net/test/core.c"],
                    "versions": [
                        {"version": "2.6.36", "status": "affected"},
                        {"version": "0", "lessThan": "2.6.36", "status": "unaffected", "versionType": "semver"},
                        {"version": "5.15.160", "lessThanOrEqual": "5.15.*", "status": "unaffected", "versionType": "semver"},
                        {"version": "6.1.90", "lessThanOrEqual": "6.1.*", "status": "unaffected", "versionType": "semver"},
                        {"version": "6.9", "lessThanOrEqual": "*", "status": "unaffected", "versionType": "original_commit_for_fix"}
                    ]}],
                "references": [{"url": "https://git.kernel.org/stable/c/0123456789abcdef"}]}}})
        .to_string(),
    );
    let kev = put(
        "kev.json",
        json!({"title": "CISA Catalog of Known Exploited Vulnerabilities", "catalogVersion": "2099.02.03",
            "dateReleased": "2099-02-03T17:00:00.000Z", "count": 1,
            "vulnerabilities": [{"cveID": "CVE-2099-1003", "vendorProject": "BusyBox", "product": "BusyBox",
                "vulnerabilityName": "BusyBox test", "dateAdded": "2099-02-03", "shortDescription": "test",
                "requiredAction": "Apply updates.", "dueDate": "2099-02-24",
                "knownRansomwareCampaignUse": "Unknown", "notes": "", "cwes": []}]})
        .to_string(),
    );
    let epss = put(
        "epss.csv",
        "#model_version:v2025.03.14,score_date:2099-02-03T00:00:00+0000\ncve,epss,percentile\n\
         CVE-2099-1001,0.50000,0.97000\nCVE-2099-1003,0.02000,0.80000\nCVE-2099-1004,0.90000,0.99900\n"
            .into(),
    );
    let openvex = put(
        "vendor.openvex.json",
        json!({"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://psirt.example.org/vex/gw-1",
            "author": "Gateway vendor PSIRT", "timestamp": "2099-02-03T00:00:00Z", "version": 1,
            "statements": [{"vulnerability": {"name": "CVE-2099-1007"},
                "products": [{"@id": "pkg:generic/busybox@1.36.1-1"}],
                "status": "not_affected", "justification": "vulnerable_code_not_present",
                "impact_statement": "The applet is not built into this firmware."}]})
        .to_string(),
    );
    // The gateway vendor's CSAF VEX: its OpenSSL build is not affected.
    let csaf = put(
        "gw.csaf.json",
        json!({"document": {"category": "csaf_vex", "csaf_version": "2.0", "title": "GW-1 23.05 VEX", "lang": "en",
                "publisher": {"category": "vendor", "name": "Gateway vendor PSIRT", "namespace": "https://psirt.example.org"},
                "tracking": {"id": "GW-VEX-2099-7", "status": "final", "version": "1",
                    "initial_release_date": "2099-02-03T00:00:00Z", "current_release_date": "2099-02-03T00:00:00Z",
                    "revision_history": [{"date": "2099-02-03T00:00:00Z", "number": "1", "summary": "first"}]}},
            "product_tree": {"full_product_names": [{"name": "libopenssl3 3.0.13-1", "product_id": "GW-SSL",
                "product_identification_helper": {"purl": "pkg:generic/libopenssl3@3.0.13-1"}}]},
            "vulnerabilities": [{"cve": "CVE-2099-1008",
                "product_status": {"known_not_affected": ["GW-SSL"]},
                "flags": [{"label": "vulnerable_code_not_in_execute_path", "product_ids": ["GW-SSL"]}]}]})
        .to_string(),
    );
    let debian = put(
        "DEBIAN-CVE-2099-1001.json",
        json!({"schema_version": "1.6.0", "id": "DEBIAN-CVE-2099-1001", "modified": "2099-02-02T00:00:00Z",
            "aliases": ["CVE-2099-1001"],
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"}]}]}]})
        .to_string(),
    );
    let (code, out, err) = cli(
        &c,
        &[
            "vulndb", "import", &nvd_file, &kernel, &kev, &epss, &openvex, &csaf, &debian,
        ],
    );
    assert_eq!(code, 0, "{out} {err}");

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
    let mut want: Vec<(i64, String)> = [
        (yid, "CVE-2099-1001"),
        (yid, "CVE-2099-1006"),
        (yid, "CVE-2099-1007"),
        (yid, "CVE-2099-1008"),
        (wid, "CVE-2099-1004"),
        (bid, "CVE-2099-1003"),
        (bid, "CVE-2099-1007"),
        (did, "DEBIAN-CVE-2099-1001"),
    ]
    .iter()
    .map(|(d, v)| (*d, v.to_string()))
    .collect();
    want.sort();
    assert_eq!(got, want, "{out}\n{err}");

    let row = |d: i64, v: &str| {
        rows.iter()
            .find(|r| r["device"] == d && r["vulnerability"] == v)
            .unwrap()
            .clone()
    };
    // KEV first, whatever its EPSS; each row says why it ranks where it does.
    let top = &rows[0];
    assert_eq!(top["vulnerability"], "CVE-2099-1003", "{out}");
    assert_eq!(top["rank"], 1);
    assert_eq!(top["kev"], true);
    assert!(
        top["rank_reason"].as_str().unwrap().contains("KEV"),
        "{top}"
    );
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r["rank"], i + 1);
        assert!(
            r["rank_reason"].as_str().is_some_and(|s| !s.is_empty()),
            "{r}"
        );
        assert!(r["reachability"].is_string(), "{r}");
    }
    let ssl = row(yid, "CVE-2099-1001");
    assert_eq!(ssl["cvss"], 9.8);
    assert_eq!(ssl["cvss_version"], "3.1");
    assert_eq!(ssl["epss"], 0.5);
    assert_eq!(ssl["kev"], false);
    assert!(ssl["version"].as_str().unwrap().contains("3.0.2"), "{ssl}");
    assert_eq!(ssl["fixed"], "3.0.8");
    let k = row(yid, "CVE-2099-1006");
    assert!(k["version"].as_str().unwrap().contains("5.15.100"), "{k}");
    let drop = row(wid, "CVE-2099-1004");
    assert_eq!(drop["epss"], 0.9);

    // Closed, and shown as closed with --all: the image's CVE_STATUS and the
    // supplier's VEX, each with where it came from.
    let (code, out, err) = cli(&c, &["vulns", "--format", "json", "--all"]);
    assert_eq!(code, 0, "{err}");
    let all: Vec<Value> = serde_json::from_str(&out).unwrap();
    let patched = all
        .iter()
        .find(|r| r["device"] == yid && r["vulnerability"] == "CVE-2099-1002")
        .unwrap_or_else(|| panic!("the CVE_STATUS'd match is kept, closed: {out}"));
    assert!(
        patched["image_cve_status"].to_string().contains("Patched") || patched["vex"].is_string(),
        "{patched}"
    );
    let vendor = all
        .iter()
        .find(|r| r["device"] == wid && r["vulnerability"] == "CVE-2099-1007")
        .unwrap_or_else(|| panic!("the supplier-VEX'd match is kept, closed: {out}"));
    assert_eq!(vendor["vex"], "not_affected", "{vendor}");
    let csaf_closed = all
        .iter()
        .find(|r| r["device"] == wid && r["vulnerability"] == "CVE-2099-1008")
        .unwrap_or_else(|| panic!("the CSAF-VEX'd match is kept, closed: {out}"));
    assert_eq!(csaf_closed["vex"], "not_affected", "{csaf_closed}");
    assert_eq!(
        csaf_closed["vex_justification"], "code_not_reachable",
        "{csaf_closed}"
    );
    assert!(
        vendor["vex_source"].as_str().is_some_and(|s| !s.is_empty()),
        "{vendor}"
    );
    // The kernel on its fixed stable branch and Debian's backport: no row at all.
    assert!(
        !all.iter()
            .any(|r| r["device"] == bid && r["vulnerability"] == "CVE-2099-1006"),
        "6.1.95 is past the 6.1.y fix: {out}"
    );
    assert!(
        !all.iter()
            .any(|r| r["device"] == did && r["vulnerability"].as_str().unwrap().starts_with("CVE-")),
        "NVD's upstream ranges never judge a Debian package: {out}"
    );

    // The evidence report says how current its vulnerability data is.
    let (code, out, err) = cli(&c, &["report", &yid.to_string(), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    let data = &r["devices"][0]["vulnerability_data"];
    assert_eq!(data["imported"], true, "{data}");
    assert_eq!(data["stale"], 0, "{data}");
    assert_eq!(data["feeds"].as_array().map(Vec::len), Some(7), "{data}");

    // Honest about what it cannot see: a device whose components have no
    // identity says so instead of showing a clean zero.
    let u = bare();
    u.tree.file(
        "var/lib/opkg/status",
        opkg_para("plc-runtime", "4.2-1", "aarch64_cortex-a53"),
    );
    let uid = attest(&c, &u);
    let (code, out, err) = cli(&c, &["vulns", "--device", &uid.to_string()]);
    assert_eq!(code, 0, "{err}");
    let text = format!("{out}{err}");
    assert!(
        text.contains(&format!("device {uid}:")) && text.contains("plc-runtime"),
        "{text}"
    );
}

/// A kernel CNA record (CVE 5) affecting every release from 5.0 whose
/// vulnerable code is in `files`.
fn kernel_cve(id: &str, files: &[&str]) -> Value {
    json!({"dataType": "CVE_RECORD", "dataVersion": "5.1",
        "cveMetadata": {"cveId": id, "assignerOrgId": "416baaa9-dc9f-4396-8d5f-8c081fb06d67",
            "state": "PUBLISHED", "assignerShortName": "Linux",
            "datePublished": "2099-03-01T08:00:00.000Z", "dateUpdated": "2099-03-02T10:00:00.000Z"},
        "containers": {"cna": {
            "providerMetadata": {"orgId": "416baaa9-dc9f-4396-8d5f-8c081fb06d67", "shortName": "Linux"},
            "descriptions": [{"lang": "en", "value": format!("In the Linux kernel: {id}")}],
            "affected": [{"product": "Linux", "vendor": "Linux", "defaultStatus": "affected",
                "repo": "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git",
                "programFiles": files,
                "versions": [
                    {"version": "5.0", "status": "affected"},
                    {"version": "0", "lessThan": "5.0", "status": "unaffected", "versionType": "semver"}
                ]}],
            "references": [{"url": "https://git.kernel.org/stable/c/0123456789abcdef"}]}}})
}

/// Kernel CVEs in code that is not built: three BusyBox controllers run the
/// same 6.6.52 kernel, one built without NFC, one with it, one that reports
/// no configuration. With the kernel CNA's programFiles, the configurations
/// (one imported as the device reports it, one as a gzip copy) and the
/// Kbuild map of a kernel tree, the NFC CVE is closed on the first device
/// only — as not_affected / vulnerable_code_not_present, listed by
/// `vulns --not-built` — while a CVE in built code, one in a header and
/// every CVE of the other two devices stay open; each step's coverage says
/// what is missing.
#[test]
fn kernel_cves_in_code_not_built_are_closed_by_the_configuration() {
    let c = start();
    let device = |config: Option<&str>| {
        let d = bare();
        d.tree
            .file(
                "etc/os-release",
                "ID=buildroot\nVERSION_ID=2024.02\nNAME=Buildroot\n",
            )
            .file(
                "bin/busybox",
                "\u{7f}ELF....BusyBox v1.36.1 (2024-01-01 00:00:00 UTC) multi-call binary....",
            );
        std::fs::create_dir_all(d.tree.root().join("lib/modules/6.6.52/kernel")).unwrap();
        if let Some(cfg) = config {
            d.tree.file("boot/config-6.6.52", cfg);
        }
        d
    };
    const NO_NFC: &str = "#\n# Automatically generated file; DO NOT EDIT.\n# Linux/arm64 6.6.52 Kernel Configuration\n#\nCONFIG_NET=y\nCONFIG_EXT4_FS=y\n# CONFIG_NFC is not set\n";
    const NFC: &str = "#\n# Linux/arm64 6.6.52 Kernel Configuration\n#\nCONFIG_NET=y\nCONFIG_EXT4_FS=m\nCONFIG_NFC=m\n";
    let (a, b, n) = (device(Some(NO_NFC)), device(Some(NFC)), device(None));
    let (aid, bid, nid) = (attest(&c, &a), attest(&c, &b), attest(&c, &n));

    let dir = tempfile::tempdir().unwrap();
    let put = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, body).unwrap();
        p.display().to_string()
    };
    let records = json!([
        kernel_cve(
            "CVE-2099-2001",
            &["drivers/nfc/core.c", "drivers/nfc/netlink.c"]
        ),
        kernel_cve("CVE-2099-2002", &["fs/ext4/super.c"]),
        kernel_cve("CVE-2099-2003", &["include/net/nfc/nfc.h"]),
    ]);
    let cves = put("kernel-cves.json", &records.to_string());
    let (code, out, err) = cli(&c, &["vulndb", "import", &cves]);
    assert_eq!(code, 0, "{out} {err}");
    let open = |c: &Collector, args: &[&str]| -> Vec<(i64, String)> {
        let mut a = vec!["vulns", "--format", "json"];
        a.extend_from_slice(args);
        let (code, out, err) = cli(c, &a);
        assert_eq!(code, 0, "{err}");
        let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
        let mut v: Vec<(i64, String)> = rows
            .iter()
            .filter(|r| {
                r["vulnerability"]
                    .as_str()
                    .unwrap()
                    .starts_with("CVE-2099-2")
            })
            .map(|r| {
                (
                    r["device"].as_i64().unwrap(),
                    r["vulnerability"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let every: Vec<(i64, String)> = {
        let mut v = Vec::new();
        for d in [aid, bid, nid] {
            for id in ["CVE-2099-2001", "CVE-2099-2002", "CVE-2099-2003"] {
                v.push((d, id.to_string()));
            }
        }
        v.sort();
        v
    };
    // Whether device d's coverage line says `text`.
    let says = |d: i64, text: &str, want: bool| {
        let (_, out, err) = cli(&c, &["vulns", "--device", &d.to_string()]);
        let cov = format!("{out}{err}");
        assert_eq!(cov.contains(text), want, "{text:?} in {cov}");
    };
    // CVEs only: every device is affected, and says why it cannot tell more.
    assert_eq!(open(&c, &[]), every);
    says(aid, "not imported", true);
    says(nid, "no build configuration reported", true);

    // The first device's configuration as it reports it (its /boot file),
    // the second's as a gzip copy (its /proc/config.gz would be one).
    let cfg_a = put("config-a", NO_NFC);
    let cfg_b = put("config-b", NFC);
    let gz = std::process::Command::new("gzip")
        .args(["-9", "-k", &cfg_b])
        .status()
        .unwrap();
    assert!(gz.success());
    let (code, out, err) = cli(&c, &["vulndb", "import", &cfg_a, &format!("{cfg_b}.gz")]);
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("2 new"), "{out}");
    // No Kbuild map yet: nothing closes, and the coverage says so.
    assert_eq!(open(&c, &[]), every);
    says(aid, "no Kbuild map imported", true);
    says(bid, "not imported", false);

    // The kernel tree's makefiles.
    let src = tempfile::tempdir().unwrap();
    for (p, body) in [
        ("Makefile", "VERSION = 6\nPATCHLEVEL = 6\nSUBLEVEL = 52\nEXTRAVERSION =\nNAME = Pinguïn Aangedreven\n"),
        ("Kbuild", "obj-y\t+= fs/\nobj-y\t+= drivers/\nobj-y += net/\nobj-y += arch/$(SRCARCH)/\n"),
        ("fs/Makefile", "obj-y :=\topen.o read_write.o\nobj-$(CONFIG_EXT4_FS)\t\t+= ext4/\n"),
        ("fs/ext4/Makefile", "obj-$(CONFIG_EXT4_FS) += ext4.o\n\next4-y\t:= balloc.o bitmap.o \\\n\t\tsuper.o\n"),
        ("drivers/Makefile", "obj-$(CONFIG_NFC)\t\t+= nfc/\n"),
        ("drivers/nfc/Makefile", "obj-$(CONFIG_NFC) += nfc.o\nnfc-objs := core.o netlink.o\n"),
        ("net/Makefile", "obj-$(CONFIG_NET) += core/\n"),
    ] {
        let f = src.path().join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, body).unwrap();
    }
    let (code, out, err) = cli(&c, &["vulndb", "kbuild", &src.path().display().to_string()]);
    assert_eq!(code, 0, "{out} {err}");
    assert!(
        out.contains("kbuild linux-6.6.52: 6 makefiles, 7 source files mapped, 1 not understood"),
        "{out}"
    );

    // Now the NFC CVE is closed on the device built without NFC, and only there.
    let mut want = every.clone();
    want.retain(|x| *x != (aid, "CVE-2099-2001".to_string()));
    assert_eq!(open(&c, &[]), want);
    assert_eq!(
        open(&c, &["--not-built"]),
        [(aid, "CVE-2099-2001".to_string())]
    );
    let (code, out, err) = cli(
        &c,
        &[
            "vulns",
            "--format",
            "json",
            "--all",
            "--device",
            &aid.to_string(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let closed = rows
        .iter()
        .find(|r| r["vulnerability"] == "CVE-2099-2001")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(closed["vex"], "not_affected", "{closed}");
    assert_eq!(
        closed["vex_justification"], "vulnerable_code_not_present",
        "{closed}"
    );
    assert_eq!(closed["vex_source"], "kernel configuration", "{closed}");
    let detail = closed["vex_detail"].as_str().unwrap();
    assert!(
        detail.starts_with("drivers/nfc/core.c (and 1 more file) not built: needs CONFIG_NFC"),
        "{detail}"
    );
    says(aid, "kernel:", false);
    says(nid, "no build configuration reported", true);
    // The console's device page lists it, folded, with its reason.
    let jar = c.login("vera", "viewer");
    let page = |d: i64| {
        let (st, body, _) = c.op(
            "GET",
            &format!("/devices/{d}"),
            &["-b", jar.to_str().unwrap()],
        );
        assert_eq!(st, 200, "{body}");
        body
    };
    let body = page(aid);
    assert!(body.contains("Kernel CVEs in code not built (1)"), "{body}");
    assert!(
        body.contains("CVE-2099-2001") && body.contains("needs CONFIG_NFC"),
        "{body}"
    );
    assert!(!page(bid).contains("in code not built"));

    // The device's SBOM, as the agent writes it, names the configuration on
    // the kernel's purl.
    let o = fieldattest(&["scan", "--root", &a.tree.root_str(), "--format", "json"]);
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let linux = r["inventory"]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "linux")
        .unwrap_or_else(|| panic!("{r}"))
        .clone();
    let sha = r["device"]["kernel"]["config"]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        r["device"]["kernel"]["config"]["path"],
        "/boot/config-6.6.52"
    );
    assert!(
        linux["purl"]
            .as_str()
            .unwrap()
            .contains(&format!("kconfig=sha256:{sha}")),
        "{linux}"
    );

    // vulndb status lists the configurations and the map (they never age).
    let (code, out, err) = cli(&c, &["vulndb", "status", "--format", "json"]);
    let st: Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out} {err}"));
    for kind in ["kconfig", "kbuild"] {
        let f = st["feeds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["kind"] == kind)
            .unwrap_or_else(|| panic!("{kind}: {st}"));
        assert_eq!(f["stale"], false, "{f}");
    }
    assert_eq!(code, 0, "{st}");
}

// The same tests with the collector on PostgreSQL.
fieldattest_tests::on_postgres_too!(
    ot_images_match_exactly_their_affected_components,
    kernel_cves_in_code_not_built_are_closed_by_the_configuration,
);
