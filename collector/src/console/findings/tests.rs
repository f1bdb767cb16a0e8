use super::*;
use crate::store::{Attestation, SqliteStore, VexEntry};
use crate::vuln::feeds::DEFAULT_MAX_AGE;
use crate::vuln::{import_bytes, refresh, ImportReport};

const NOW: i64 = 1_800_000_000;
const SILENT: i64 = 24 * 3600;
const LIBSSL: &str = "pkg:deb/debian/libssl3@3.0.11-1?arch=arm64&upstream=openssl&distro=debian-12";
const OPENSSL: &str = "pkg:deb/debian/openssl@3.0.11-1?arch=arm64&distro=debian-12";

fn viewer(may_act: bool) -> Viewer {
    Viewer {
        who: "operator alice".into(),
        role: if may_act { "operator" } else { "viewer" },
        may_act,
        csrf: "csrf-token".into(),
    }
}

/// An active device with one attestation of these rule results and packages.
fn device(s: &SqliteStore, n: u8, results: &[(&str, u8)], packages: &[&str]) -> i64 {
    let id = s
        .insert_device(&[n; 8], &[1, n], &[4u8; 65], "plant", 0)
        .unwrap();
    s.set_status(id, "active").unwrap();
    s.store_attestation(Attestation {
        device_id: id,
        received_at: NOW - 60,
        iat: NOW - 60,
        seq: 1,
        cti: vec![n; 16],
        raw: vec![0u8; 16],
        online: true,
        results: results.iter().map(|(r, v)| (r.to_string(), *v)).collect(),
        packages: packages.iter().map(|p| p.to_string()).collect(),
        keys: Vec::new(),
        sl_ceiling: vec![("FR1".into(), 1)],
        kid: vec![n; 8],
        audit_reason: "test".into(),
        sbom_digest: None,
        hostname: Some(format!("plc-{n}")),
        key_tier: Some("software".into()),
        findings: Vec::new(),
        cve_status: Vec::new(),
        listeners: Vec::new(),
        ceiling_dispute: None,
    })
    .unwrap();
    id
}

/// An OSV advisory against Debian 12's source package `openssl`.
fn advisory(id: &str, summary: &str, cvss: &str) -> String {
    serde_json::json!({
        "id": id, "modified": "2026-01-01T00:00:00Z", "aliases": ["CVE-2026-0001"],
        "summary": summary,
        "severity": [{"type": "CVSS_V3", "score": cvss}],
        "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.13-1"}]}]}]
    })
    .to_string()
}

fn import(s: &SqliteStore, text: &str) {
    let mut rep = ImportReport::default();
    import_bytes(s, "adv.json", text.as_bytes(), NOW - 100, &mut rep);
    assert!(rep.errors.is_empty(), "{rep:?}");
    refresh(s, true).unwrap();
}

fn vulns(s: &SqliteStore, q: &str, may_act: bool) -> String {
    vulnerabilities(
        s,
        &crate::vuln::FleetCache::default(),
        &Params::parse(Some(q)),
        NOW,
        DEFAULT_MAX_AGE,
        &viewer(may_act),
    )
    .unwrap()
    .into_string()
}

fn device_list(s: &SqliteStore, q: &str) -> String {
    crate::console::devices::list(s, &Params::parse(Some(q)), NOW, SILENT, &viewer(false))
        .unwrap()
        .into_string()
}

fn vex(s: &SqliteStore, vuln: &str, device: Option<i64>, status: &str) {
    s.set_vex(&VexEntry {
        vuln: vuln.into(),
        device_id: device,
        status: status.into(),
        justification: (status == "not_affected").then(|| "code_not_reachable".into()),
        detail: None,
        at: NOW,
    })
    .unwrap();
}

const CVSS_HIGH: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N";

#[test]
fn two_binary_packages_of_one_source_are_one_row_and_each_device_counts_once() {
    let s = SqliteStore::memory().unwrap();
    let v0 = vulns(&s, "", false);
    assert!(v0.contains("No advisory database is imported"), "{v0}");
    let id = "DEBIAN-CVE-2026-0001";
    import(&s, &advisory(id, "OpenSSL flaw", CVSS_HIGH));
    let a = device(&s, 1, &[], &[LIBSSL, OPENSSL]);
    let b = device(&s, 2, &[], &[OPENSSL, LIBSSL]);
    refresh(&s, true).unwrap();
    // Yesterday's posture: a trend with a recorded day.
    crate::posture::record_with(&s, NOW - 86_400, SILENT).unwrap();
    let html = vulns(&s, "", true);
    assert!(html.contains("1 advisories held"), "{html}");
    assert!(!html.contains("No advisory database"));
    assert_eq!(html.matches("<tr class=\"vuln\">").count(), 1, "{html}");
    assert!(
        html.contains(r#"<td class="packages">libssl3, openssl</td>"#),
        "{html}"
    );
    assert_eq!(html.matches("libssl3").count(), 1, "{html}");
    let cell = format!(r#"<td class="num"><a href="/devices?vuln={id}">2</a></td>"#);
    assert!(html.contains(&cell), "{html}");
    assert!(html.contains("CVE-2026-0001") && html.contains("3.0.13-1"));
    assert!(html.contains("b-high") && html.contains("7.5"), "{html}");
    assert!(
        html.contains("last 2"),
        "trend ends at today's count: {html}"
    );
    assert!(html.contains(r#"action="/vex""#) && html.contains(r#"value="csrf-token""#));
    assert!(!vulns(&s, "", false).contains(r#"action="/vex""#));
    // Filters: band, package, alias.
    assert_eq!(
        vulns(&s, "severity=critical", false)
            .matches("<tr class=\"vuln\">")
            .count(),
        0
    );
    assert_eq!(
        vulns(&s, "package=LIBSSL", false)
            .matches("<tr class=\"vuln\">")
            .count(),
        1
    );
    assert_eq!(
        vulns(&s, "package=zlib", false)
            .matches("<tr class=\"vuln\">")
            .count(),
        0
    );
    assert_eq!(
        vulns(&s, "q=cve-2026-0001", false)
            .matches("<tr class=\"vuln\">")
            .count(),
        1
    );
    // The device list of the advisory: each device once.
    let rows = |html: &str| -> Vec<i64> {
        html.split("<tr class=\"device\"><td class=\"num\"><a href=\"/devices/")
            .skip(1)
            .filter_map(|r| r.split('"').next()?.parse().ok())
            .collect()
    };
    let list = device_list(&s, &format!("vuln={id}"));
    let mut ids = rows(&list);
    ids.sort();
    assert_eq!(ids, vec![a, b], "{list}");
    assert!(list.contains("<b>2</b> devices"), "{list}");
    // A fleet-wide not_affected closes it everywhere.
    vex(&s, id, None, "not_affected");
    let html = vulns(&s, "", false);
    assert_eq!(html.matches("<tr class=\"vuln\">").count(), 0, "{html}");
    assert!(html.contains("No open vulnerability matches"));
    assert!(rows(&device_list(&s, &format!("vuln={id}"))).is_empty());
    // A device-specific `affected` reopens it on that device only.
    vex(&s, id, Some(b), "affected");
    let html = vulns(&s, "", false);
    assert_eq!(html.matches("<tr class=\"vuln\">").count(), 1, "{html}");
    let cell = format!(r#"<td class="num"><a href="/devices?vuln={id}">1</a></td>"#);
    assert!(html.contains(&cell), "{html}");
    assert_eq!(rows(&device_list(&s, &format!("vuln={id}"))), vec![b]);
}

#[test]
fn findings_per_rule_with_catalog_metadata_filters_and_sort() {
    let s = SqliteStore::memory().unwrap();
    let hostile = "<script>alert(1)</script>";
    device(
        &s,
        1,
        &[("account.uid0-unique", 2), (hostile, 2), ("x.pass", 1)],
        &[],
    );
    device(&s, 2, &[("account.uid0-unique", 2)], &[]);
    device(&s, 3, &[], &[]);
    let v = viewer(false);
    let render = |q: &str| {
        findings(&s, &Params::parse(Some(q)), NOW, SILENT, &v)
            .unwrap()
            .into_string()
    };
    let html = render("");
    assert_eq!(html.matches("<tr class=\"rule\">").count(), 2, "{html}");
    assert!(!html.contains("x.pass"));
    assert!(html.contains("Account other than root has UID 0"));
    assert!(html.contains("CR 1.1 RE(1) (SL 2+)") && html.contains("b-critical"));
    assert!(html.contains("66.7 %") && html.contains("33.3 %"), "{html}");
    assert!(html.contains(r#"href="/devices?rule=account.uid0-unique""#));
    assert!(html.contains("unknown rule (no held catalog knows it)"));
    assert!(!html.contains(hostile), "escaped: {html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        html.contains("/devices?rule=%3Cscript%3Ealert%281%29%3C%2Fscript%3E"),
        "{html}"
    );
    // Per FR: FR1 one rule failing on two devices; unknown one rule.
    assert!(
        html.contains(
            r#"<a href="/findings?fr=FR1">FR1</a></td><td class="num">1</td><td class="num">2</td>"#
        ),
        "{html}"
    );
    // Default: most devices first, aria-sort on that column.
    assert!(html.find("uid0-unique").unwrap() < html.find("&lt;script").unwrap());
    assert!(
        html.contains(r#"aria-sort="descending"><a href="/findings?sort=devices&amp;dir=asc">"#),
        "{html}"
    );
    let by_rule = render("sort=rule&dir=asc");
    assert!(by_rule.find("&lt;script").unwrap() < by_rule.find("uid0-unique</code>").unwrap());
    for (q, n) in [
        ("fr=unknown", 1),
        ("fr=FR1", 1),
        ("severity=critical", 1),
        ("severity=low", 0),
        ("q=UID%200", 1),
        ("q=script", 1),
        ("fr=%3Cx%3E", 2),
    ] {
        assert_eq!(render(q).matches("<tr class=\"rule\">").count(), n, "{q}");
    }
}

#[test]
fn hostile_advisories_are_escaped_and_pages_stay_bounded() {
    let s = SqliteStore::memory().unwrap();
    let docs: Vec<String> = (0..60)
        .map(|i| {
            advisory(
                &format!("<b>ADV-{i:02}</b>\"'&"),
                &format!("<script>x{i}</script>{}", "y".repeat(5000)),
                CVSS_HIGH,
            )
        })
        .collect();
    import(&s, &format!("[{}]", docs.join(",")));
    let rules: Vec<String> = (0..600)
        .map(|i| format!("<img src=x onerror={i}>{}", "r".repeat(100)))
        .collect();
    let results: Vec<(&str, u8)> = rules.iter().map(|r| (r.as_str(), 2)).collect();
    device(&s, 1, &results, &[LIBSSL, OPENSSL]);
    refresh(&s, true).unwrap();
    let p1 = vulns(&s, "", true);
    assert_eq!(
        p1.matches("<tr class=\"vuln\">").count(),
        VULNS_PER_PAGE,
        "paged"
    );
    assert!(p1.len() < 500_000, "{} bytes", p1.len());
    for bad in ["<b>ADV", "<script>", "<img"] {
        assert!(!p1.contains(bad), "{bad} unescaped");
    }
    assert!(
        p1.contains("&lt;b&gt;ADV-00&lt;/b&gt;")
            && p1.contains(r#"href="/vulnerabilities?page=2""#)
    );
    let p2 = vulns(&s, "page=2", true);
    assert_eq!(p2.matches("<tr class=\"vuln\">").count(), 10);
    assert!(p2.contains(r#"<span class="cur" aria-current="page">2</span>"#));
    let f = findings(&s, &Params::parse(None), NOW, SILENT, &viewer(true))
        .unwrap()
        .into_string();
    assert_eq!(f.matches("<tr class=\"rule\">").count(), RULES_PER_PAGE);
    assert!(
        f.contains("600</b> failing rules") && f.contains("page 1 of 6"),
        "{f}"
    );
    assert!(f.len() < 500_000, "{} bytes", f.len());
    assert!(!f.contains("<img"));
    let last = findings(
        &s,
        &Params::parse(Some("page=99")),
        NOW,
        SILENT,
        &viewer(true),
    )
    .unwrap()
    .into_string();
    assert!(last.contains("page 6 of 6"));
}

#[test]
fn vulnerabilities_show_coverage_risk_and_filter_by_site_kev_reachable_fix() {
    let s = SqliteStore::memory().unwrap();
    let id = "DEBIAN-CVE-2026-0001";
    import(&s, &advisory(id, "OpenSSL flaw", CVSS_HIGH));
    // One covered package, one without any identity (a Yocto recipe without CPE).
    let a = device(&s, 1, &[], &[LIBSSL, "pkg:yocto/plc-runtime@2.1"]);
    refresh(&s, true).unwrap();
    let html = vulns(&s, "", false);
    assert_eq!(html.matches("<tr class=\"vuln\">").count(), 1, "{html}");
    assert!(
        html.contains("1 open (1 of 2 components not covered)")
            && html.contains("no CPE for recipe plc-runtime"),
        "{html}"
    );
    // The rank reason; risk is the default sort.
    assert!(html.contains("CVSS 7.5 (v3.1)"), "{html}");
    assert!(
        html.contains(
            r#"aria-sort="descending"><a href="/vulnerabilities?sort=risk&amp;dir=asc">"#
        ),
        "{html}"
    );
    // Filters: a fix exists; nothing known exploited or reachable; the site.
    let rows = |q: &str| vulns(&s, q, false).matches("<tr class=\"vuln\">").count();
    assert_eq!(rows("fix=1"), 1);
    assert_eq!(rows("kev=1"), 0);
    assert_eq!(rows("reachable=1"), 0);
    assert_eq!(rows("site=plant"), 1);
    // A site nobody is on is not a filter (unknown values are ignored).
    assert_eq!(rows("site=elsewhere"), 1);
    // The device page and the overview carry the same coverage.
    let page = crate::console::device::page(&s, a, &Params::default(), NOW, SILENT, &viewer(false))
        .unwrap()
        .unwrap()
        .into_string();
    assert!(
        page.contains("1 open (1 of 2 components not covered)"),
        "{page}"
    );
    // Nothing imported: a zero is never bare.
    let empty = SqliteStore::memory().unwrap();
    device(&empty, 2, &[], &[OPENSSL]);
    refresh(&empty, true).unwrap();
    let html = vulnerabilities(
        &empty,
        &crate::vuln::FleetCache::default(),
        &Params::parse(Some("")),
        NOW,
        DEFAULT_MAX_AGE,
        &viewer(false),
    )
    .unwrap()
    .into_string();
    assert!(
        html.contains("0 open (1 of 1 components not covered)")
            && html.contains("Debian:12: no advisories imported (1 component)"),
        "{html}"
    );
    assert!(html.contains("No vulnerability data imported"), "{html}");
}

#[test]
fn stale_or_missing_feeds_are_flagged_on_the_page_and_fresh_ones_are_not() {
    let s = SqliteStore::memory().unwrap();
    let page = |max_age: i64| {
        vulnerabilities(
            &s,
            &crate::vuln::FleetCache::default(),
            &Params::parse(None),
            NOW,
            max_age,
            &viewer(false),
        )
        .unwrap()
        .into_string()
    };
    assert!(page(DEFAULT_MAX_AGE).contains("No vulnerability data imported"));
    // EPSS scores of a model date 40 days before NOW.
    let date = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs((NOW - 40 * 86_400) as u64),
    )
    .to_string()[..10]
        .to_string();
    let csv = format!(
        "#model_version:v2025.03.14,score_date:{date}T00:00:00+0000\ncve,epss,percentile\nCVE-2099-0001,0.5,0.9\n"
    );
    let mut rep = ImportReport::default();
    import_bytes(&s, "epss.csv", csv.as_bytes(), NOW, &mut rep);
    assert!(rep.errors.is_empty(), "{:?}", rep.errors);
    let stale = page(DEFAULT_MAX_AGE);
    assert!(
        stale.contains("Stale vulnerability data (older than 7 days)")
            && stale.contains("<b>epss</b> 1 of 1 file, oldest")
            && stale.contains(&date)
            && stale.contains("(40 days)"),
        "{stale}"
    );
    let fresh = page(60 * 86_400);
    assert!(
        !fresh.contains("Stale vulnerability data") && !fresh.contains("No vulnerability data"),
        "{fresh}"
    );
}
