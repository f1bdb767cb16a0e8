use super::*;
use crate::store::SqliteStore;
use crate::vuln::version::cpe_cmp;
use crate::vuln::{evaluate, parse, Advisory};
use std::cmp::Ordering;

pub(super) const NVD: &str = include_str!("../../../tests/data/feeds/nvd-2.0.json");
pub(super) const KERNEL: &str = include_str!("../../../tests/data/feeds/cve5-kernel.json");
pub(super) const EXAMPLED: &str = include_str!("../../../tests/data/feeds/cve5-exampled.json");
pub(super) const KEV: &str = include_str!("../../../tests/data/feeds/kev.json");
pub(super) const EPSS: &str = include_str!("../../../tests/data/feeds/epss.csv");
pub(super) const CSAF: &str = include_str!("../../../tests/data/feeds/csaf-vex.json");
pub(super) const OPENVEX: &str = include_str!("../../../tests/data/feeds/openvex.json");
pub(super) const CDX: &str = include_str!("../../../tests/data/feeds/cyclonedx-vex.json");

pub(super) fn import(store: &SqliteStore, name: &str, bytes: &[u8], now: i64) -> ImportReport {
    let mut rep = ImportReport::default();
    import_bytes(store, name, bytes, now, &mut rep);
    rep
}

pub(super) fn counts(r: &ImportReport) -> (usize, usize, usize, usize) {
    (r.new, r.updated, r.unchanged, r.errors.len())
}

/// The stored advisories of a CPE product.
fn cpe_advisories(store: &SqliteStore, name: &str) -> Vec<Advisory> {
    store
        .advisories_for("CPE", name)
        .unwrap()
        .into_iter()
        .map(|(_, raw)| parse(&raw).unwrap())
        .collect()
}

/// `Some(fixed)` when `version` of `name` is affected by advisory `id`.
fn verdict(store: &SqliteStore, id: &str, name: &str, version: &str) -> Option<Option<String>> {
    let advs = cpe_advisories(store, name);
    let a = advs.iter().find(|a| a.id == id)?;
    a.affected
        .iter()
        .filter(|x| x.ecosystem == "CPE" && x.name == name)
        .find_map(|x| evaluate(x, version))
}

#[test]
fn cpe_ordering_follows_oe_version_in_the_mode_the_versions_call_for() {
    use Ordering::*;
    for (a, b, o) in [
        ("2.4", "2.4.0", Equal),
        ("2.4.1", "2.4.0", Greater),
        ("2.10", "2.9", Greater),
        ("6.1.95", "6.1.90", Greater),
        ("6.18-rc1", "6.18", Less),
        ("6.18-rc2", "6.18-rc1", Greater),
        ("6.18-rc1", "6.17.9", Greater),
        // OE-core compares the pre-release number, not its label.
        ("1.0beta2", "1.0rc1", Greater),
        ("1.0alpha", "1.0beta", Equal),
        ("1.0_dev", "1.0alpha1", Less),
        ("9.3p1", "9.3", Greater),
        ("9.3p2", "9.3p1", Greater),
        ("9.3p1", "9.4", Less),
        ("9.3-p1", "9.3p1", Equal),
        ("1.1.1w", "1.1.1", Greater),
        ("1.1.1w", "1.1.1a", Greater),
        ("1.1.1w", "1.1.2", Less),
        ("v1.2", "1.2", Equal),
        ("2022.83", "2022.82", Greater),
        ("1.36.1", "1.36.1+git0+abc", Equal),
        ("gitAUTOINC+abc", "0.1", Less),
        ("", "", Equal),
    ] {
        assert_eq!(cpe_cmp(a, b), o, "{a} vs {b}");
        assert_eq!(cpe_cmp(b, a), o.reverse(), "{b} vs {a}");
    }
}

#[test]
fn cpe_names_are_split_with_escapes() {
    let p = cpe_parts("cpe:2.3:a:Example:Foo\\:Bar:1.2:p1:*:*:*:*:*:*").unwrap();
    assert_eq!(p[1..5], ["example", "foo\\:bar", "1.2", "p1"]);
    assert_eq!(
        cpe_parts("cpe:/o:linux:linux_kernel:6.1").unwrap()[1..4],
        ["linux", "linux_kernel", "6.1"]
    );
    for bad in [
        "cpe:2.3:a:broken",
        "cpe:2.3:x:a:b:*:*:*:*:*:*:*:*",
        "cpe:2.3:a:*:b:*:*:*:*:*:*:*:*",
        "",
        "pkg:x",
    ] {
        assert!(cpe_parts(bad).is_none(), "{bad}");
    }
}

#[test]
fn nvd_records_become_cpe_advisories() {
    let s = SqliteStore::memory().unwrap();
    let r = import(&s, "dir/nvd-2.0.json", NVD.as_bytes(), 100);
    // Four records taken (the rejected one too: it withdraws), one malformed.
    assert_eq!(counts(&r), (4, 0, 0, 1), "{r:?}");
    assert_eq!(r.errors[0].0, "dir/nvd-2.0.json#/vulnerabilities/3");
    assert!(r.errors[0].1.contains("cpe:2.3:a:broken"), "{:?}", r.errors);
    // Running-on configuration: the app matches without its platform.
    let name = "example:exampled";
    assert_eq!(
        verdict(&s, "CVE-2099-0001", name, "2.3"),
        Some(Some("2.4.1".into()))
    );
    assert_eq!(
        verdict(&s, "CVE-2099-0001", name, "2.0"),
        Some(Some("2.4.1".into()))
    );
    assert_eq!(verdict(&s, "CVE-2099-0001", name, "2.4.1"), None);
    assert_eq!(verdict(&s, "CVE-2099-0001", name, "1.9.3"), Some(None));
    assert_eq!(verdict(&s, "CVE-2099-0001", name, "1.9.4"), None);
    // target_sw criteria and platform CPEs are not stored as affected.
    assert!(cpe_advisories(&s, "example:exampled_plugin").is_empty());
    let adv = &cpe_advisories(&s, name)[0];
    assert_eq!(adv.affected.len(), 1);
    assert_eq!(
        adv.summary.as_deref(),
        Some("Overflow in exampled < 2.4.1.")
    );
    // Every vector, NVD's Primary v3.1 first.
    assert_eq!(
        adv.cvss,
        vec![
            (
                "CVSS_V3".into(),
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into()
            ),
            (
                "CVSS_V3".into(),
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N".into()
            ),
            (
                "CVSS_V4".into(),
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N".into()
            ),
        ]
    );
    assert_eq!(adv.severity, Some(adv.cvss[0].clone()));
    // Exact version with its update; exclusive start, inclusive end.
    let ssh = "openbsd:openssh";
    assert_eq!(verdict(&s, "CVE-2099-0003", ssh, "9.3p1"), Some(None));
    assert_eq!(verdict(&s, "CVE-2099-0003", ssh, "9.3p2"), None);
    assert_eq!(verdict(&s, "CVE-2099-0003", ssh, "8.5"), None);
    assert_eq!(verdict(&s, "CVE-2099-0003", ssh, "8.5p1"), Some(None));
    assert_eq!(verdict(&s, "CVE-2099-0003", ssh, "8.9"), Some(None));
    // p1 sorts above its release (as in OE): past an inclusive 8.9.
    assert_eq!(verdict(&s, "CVE-2099-0003", ssh, "8.9p1"), None);
    assert_eq!(verdict(&s, "CVE-2099-0003", ssh, "9.0"), None);
    // The rejected record makes no advisory.
    assert_eq!(s.advisory_stats().unwrap().0, 3);
    // NVD alone: the kernel range is mainline only (6.1.95 "affected").
    let k = "linux:linux_kernel";
    assert_eq!(
        verdict(&s, "CVE-2099-0002", k, "6.1.95"),
        Some(Some("6.9".into()))
    );
    assert_eq!(verdict(&s, "CVE-2099-0002", k, "6.9-rc1"), Some(None));
    // Idempotent.
    let again = import(&s, "dir/nvd-2.0.json", NVD.as_bytes(), 200);
    assert_eq!(counts(&again), (0, 0, 4, 1), "{again:?}");
    let f = s.feeds().unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].kind.as_str(), f[0].origin.as_str(), f[0].records),
        ("nvd", "nvd-2.0.json", 4)
    );
    // The envelope's timestamp (the newest lastModified is older).
    assert_eq!(f[0].data_date.as_deref(), Some("2099-01-06T00:00:00.000"));
    assert_eq!(f[0].imported_at, 200);
}

/// The kernel CNA record resolves per stable branch.
fn assert_kernel_branches(s: &SqliteStore) {
    let k = "linux:linux_kernel";
    let v = |ver: &str| verdict(s, "CVE-2099-0002", k, ver);
    assert_eq!(v("6.1.95"), None, "fixed in the 6.1 stable branch");
    assert_eq!(v("6.1.90"), None);
    assert_eq!(v("6.1.80"), Some(Some("6.1.90".into())));
    assert_eq!(v("6.1"), Some(Some("6.1.90".into())));
    assert_eq!(v("6.6.1"), Some(Some("6.6.30".into())));
    assert_eq!(v("6.6.30"), None);
    assert_eq!(
        v("6.7.5"),
        Some(Some("6.9".into())),
        "an EOL branch without a fix"
    );
    assert_eq!(v("6.9"), None);
    assert_eq!(v("6.10.2"), None);
    assert_eq!(v("5.15.170"), None);
    assert_eq!(v("5.10.200"), Some(Some("5.15.160".into())));
    assert_eq!(v("2.6.36"), Some(Some("5.15.160".into())));
    assert_eq!(v("2.6.35"), None);
    let adv = cpe_advisories(s, k)
        .into_iter()
        .find(|a| a.id == "CVE-2099-0002")
        .unwrap();
    // The git block is dropped; NVD's mainline criteria are replaced.
    assert_eq!(adv.affected.len(), 1);
    assert_eq!(adv.affected[0].ranges[0].kind, "CVE5");
    assert!(adv.summary.unwrap().contains("example_rcv"));
    // NVD's vector first, then the CISA ADP's.
    let vectors: Vec<&str> = adv.cvss.iter().map(|c| c.1.as_str()).collect();
    assert_eq!(
        vectors,
        [
            "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N"
        ]
    );
}

#[test]
fn cve5_wins_over_nvd_in_either_order() {
    let a = SqliteStore::memory().unwrap();
    assert_eq!(counts(&import(&a, "nvd.json", NVD.as_bytes(), 1)).0, 4);
    let r = import(&a, "CVE-2099-0002.json", KERNEL.as_bytes(), 2);
    assert_eq!(counts(&r), (1, 0, 0, 0), "{r:?}");
    assert_kernel_branches(&a);

    let b = SqliteStore::memory().unwrap();
    assert_eq!(
        counts(&import(&b, "CVE-2099-0002.json", KERNEL.as_bytes(), 1)),
        (1, 0, 0, 0)
    );
    assert_eq!(counts(&import(&b, "nvd.json", NVD.as_bytes(), 2)).0, 4);
    assert_kernel_branches(&b);
    // Re-importing either leaves both as they are.
    assert_eq!(
        counts(&import(&b, "CVE-2099-0002.json", KERNEL.as_bytes(), 3)),
        (0, 0, 1, 0)
    );
    assert_eq!(
        counts(&import(&b, "nvd.json", NVD.as_bytes(), 4)),
        (0, 0, 4, 1)
    );
    assert_kernel_branches(&b);
    let kinds: Vec<String> = b.feeds().unwrap().into_iter().map(|f| f.kind).collect();
    assert_eq!(kinds, ["cve5", "nvd"]);
}

#[test]
fn cve5_arrays_and_cvelist_zips() {
    let s = SqliteStore::memory().unwrap();
    import(&s, "nvd.json", NVD.as_bytes(), 1);
    let r = import(&s, "records.json", EXAMPLED.as_bytes(), 2);
    assert_eq!(counts(&r), (1, 0, 0, 1), "{r:?}");
    assert_eq!(r.errors[0].0, "records.json#/1");
    assert!(
        r.errors[0].1.contains("affected/0/versions/0: no status"),
        "{:?}",
        r.errors
    );
    let n = "example:exampled";
    // The CNA's versions replace NVD's criteria (which listed 1.9.3);
    // the first entry containing a version decides.
    assert_eq!(verdict(&s, "CVE-2099-0001", n, "1.9.3"), None);
    assert_eq!(verdict(&s, "CVE-2099-0001", n, "2.2.0"), None);
    assert_eq!(
        verdict(&s, "CVE-2099-0001", n, "2.3"),
        Some(Some("2.4.1".into()))
    );
    let adv = cpe_advisories(&s, n).remove(0);
    assert_eq!(
        adv.summary.as_deref(),
        Some("Overflow in exampled before 2.4.1 (CNA).")
    );
    assert_eq!(
        adv.cvss.len(),
        3,
        "NVD's two v3.1 and one v4.0, the CNA's v4.0 the same"
    );

    // cvelistV5 layout in a zip, with its change logs beside the records.
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        use std::io::Write;
        let mut z = zip::ZipWriter::new(&mut buf);
        let o = zip::write::SimpleFileOptions::default();
        z.start_file("cvelistV5-main/cves/delta.json", o).unwrap();
        z.write_all(
            br#"{"fetchTime":"2099-01-05T00:00:00Z","numberOfChanges":1,"new":[],"updated":[]}"#,
        )
        .unwrap();
        z.start_file("cvelistV5-main/cves/2099/0xxx/CVE-2099-0002.json", o)
            .unwrap();
        z.write_all(KERNEL.as_bytes()).unwrap();
        z.start_file("cvelistV5-main/cves/2099/0xxx/CVE-2099-0009.json", o)
            .unwrap();
        z.write_all(b"{\"dataType\":\"CVE_RECORD\",\"cveMetadata\":{\"cveId\":\"CVE-2099-0009\"}")
            .unwrap();
        z.start_file("cvelistV5-main/README.md", o).unwrap();
        z.write_all(b"# not a record").unwrap();
        z.finish().unwrap();
    }
    let zr = import(&s, "cvelistV5.zip", buf.get_ref(), 3);
    assert_eq!(counts(&zr), (1, 0, 0, 1), "{zr:?}");
    assert_eq!(
        zr.errors[0].0,
        "cvelistV5.zip!cvelistV5-main/cves/2099/0xxx/CVE-2099-0009.json"
    );
    assert!(zr.errors[0].1.starts_with("JSON: "), "{:?}", zr.errors);
    assert_kernel_branches(&s);
    let again = import(&s, "cvelistV5.zip", buf.get_ref(), 4);
    assert_eq!(counts(&again), (0, 0, 1, 1));
}

#[test]
fn rejected_records_withdraw_the_cve() {
    let s = SqliteStore::memory().unwrap();
    import(&s, "k.json", KERNEL.as_bytes(), 1);
    assert!(verdict(&s, "CVE-2099-0002", "linux:linux_kernel", "6.1.80").is_some());
    let rejected = r#"{"dataType":"CVE_RECORD","dataVersion":"5.1","cveMetadata":{"cveId":"CVE-2099-0002","state":"REJECTED","dateUpdated":"2099-02-01T00:00:00.000Z"},
        "containers":{"cna":{"providerMetadata":{"orgId":"416baaa9-dc9f-4396-8d5f-8c081fb06d67"},"rejectedReasons":[{"lang":"en","value":"duplicate"}]}}}"#;
    assert_eq!(
        counts(&import(&s, "k.json", rejected.as_bytes(), 2)),
        (0, 1, 0, 0)
    );
    assert!(cpe_advisories(&s, "linux:linux_kernel").is_empty());
    assert_eq!(s.advisory_stats().unwrap().0, 0);
}

#[test]
fn an_osv_advisory_with_the_same_id_is_not_overwritten() {
    let s = SqliteStore::memory().unwrap();
    let osv = r#"{"id":"CVE-2099-0002","modified":"2099-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:12","name":"linux"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"6.1.90-1"}]}]}]}"#;
    assert_eq!(
        counts(&import(&s, "osv.json", osv.as_bytes(), 1)),
        (1, 0, 0, 0)
    );
    let r = import(&s, "k.json", KERNEL.as_bytes(), 2);
    assert_eq!(r.errors.len(), 1, "{r:?}");
    assert!(r.errors[0].1.contains("from osv.json"), "{:?}", r.errors);
    assert_eq!(s.advisories_for("Debian:12", "linux").unwrap().len(), 1);
    assert!(
        s.feeds().unwrap().iter().all(|f| f.kind == "osv"),
        "nothing taken from k.json"
    );
}

#[test]
fn unknown_and_broken_inputs_are_reported() {
    let s = SqliteStore::memory().unwrap();
    for (bytes, want) in [
        (&b""[..], "empty file"),
        (b"hello", "not a known format"),
        (b"{\"x\":1}", "not a known format"),
        (b"[{\"x\":1}]", "not an OSV, CVE 5 or NVD record"),
        (
            b"{\"vulnerabilities\":[{\"cve\":{\"id\":\"CVE-2099-0001\"",
            "JSON: ",
        ),
        (b"{\"vulnerabilities\":{}}", "JSON: "),
        (b"\x1f\x8b\x08\x00garbage", "deflate"),
        (b"PK\x03\x04garbage", "zip: "),
        (b"[] x", "JSON: "),
    ] {
        let r = import(&s, "f", bytes, 1);
        assert_eq!(r.errors.len(), 1, "{bytes:?}: {r:?}");
        assert!(r.errors[0].1.contains(want), "{bytes:?}: {r:?}");
    }
    // Deep nesting stops at serde_json's recursion limit.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(import(&s, "deep", deep.as_bytes(), 1).errors.len(), 1);
    assert_eq!(s.advisory_stats().unwrap().0, 0);
    assert!(s.feeds().unwrap().is_empty());
}

#[test]
fn a_bounded_reader_refuses_more() {
    let mut b = Bounded::new(&b"0123456789"[..], 4);
    let mut out = Vec::new();
    let e = b.read_to_end(&mut out).unwrap_err();
    assert!(e.to_string().contains("larger than"), "{e}");
}

#[test]
fn feed_status_flags_stale_data() {
    let s = SqliteStore::memory().unwrap();
    let day = 86400;
    let now = status::day("2099-01-20").unwrap();
    assert_eq!(now, 4072550400);
    import(&s, "kev.json", KEV.as_bytes(), now - day);
    import(&s, "epss.csv", EPSS.as_bytes(), now - day);
    let st = feed_status(&s, now, 7 * day).unwrap();
    assert_eq!(st.len(), 2);
    // Imported yesterday, but the data is from 2099-01-05: 15 days old.
    assert!(st.iter().all(|f| f.stale && f.age == 15 * day), "{st:?}");
    let stale = |max_age: i64| {
        feed_status(&s, now, max_age)
            .unwrap()
            .into_iter()
            .filter(|f| f.stale)
            .count()
    };
    assert_eq!(stale(30 * day), 0);
    assert_eq!(stale(7 * day), 2);
    // A feed without a data date counts from its import.
    s.put_feed(&Feed {
        kind: "osv".into(),
        origin: "x".into(),
        records: 1,
        imported_at: now - 2 * day,
        data_date: None,
    })
    .unwrap();
    let osv = feed_status(&s, now, 7 * day)
        .unwrap()
        .into_iter()
        .find(|f| f.feed.kind == "osv")
        .unwrap();
    assert_eq!((osv.age, osv.stale), (2 * day, false));
    assert_eq!(status::day("2099-13-01"), None);
    assert_eq!(status::day("1970-01-02T00:00:00Z"), Some(day));
}

#[test]
fn osv_round_trip_of_the_extensions() {
    let s = SqliteStore::memory().unwrap();
    import(&s, "k.json", KERNEL.as_bytes(), 1);
    import(&s, "nvd.json", NVD.as_bytes(), 1);
    for name in ["linux:linux_kernel", "openbsd:openssh", "example:exampled"] {
        for a in cpe_advisories(&s, name) {
            let back = parse(&crate::vuln::to_json(&a).to_string()).unwrap();
            assert_eq!(back, a);
        }
    }
}
