use super::super::set_vulns::fleet_generation;
use super::super::sql::cluster::on_both;
use super::super::vulns::{advisories_for, put_advisory};
use super::*;

fn rec(id: &str, raw: &str) -> FeedRecord {
    FeedRecord {
        id: id.into(),
        modified: format!("m-{raw}"),
        raw: raw.into(),
    }
}

/// Every feed's records of an id, `kind:raw` joined in kind order; none
/// when one of them is withdrawn.
fn merge(parts: &[(String, String)]) -> Option<Merged> {
    if parts.iter().any(|(_, raw)| raw == "withdrawn") {
        return None;
    }
    let raw: Vec<String> = parts.iter().map(|(k, r)| format!("{k}:{r}")).collect();
    Some(Merged {
        modified: format!("{}", parts.len()),
        keys: vec![("CPE".into(), "acme:plc".into())],
        raw: raw.join("|"),
    })
}

fn source_of(db: &mut dyn Sql, id: &str) -> Option<String> {
    first(
        db,
        "SELECT source FROM advisories WHERE id = ?1",
        ps![id],
        |r| r.text(0),
    )
    .unwrap()
}

/// Feed records merged into one advisory per id, left to an OSV
/// advisory of the same id, withdrawn; the feeds' import records.
#[test]
fn feed_records_merge_into_advisories_on_both_engines() {
    on_both(|db| {
        use PutAdvisory::*;
        let put = |db: &mut dyn Sql, kind: &str, recs: &[FeedRecord]| {
            put_feed_records(db, kind, &format!("{kind}.json"), recs, 10, &merge).unwrap()
        };
        assert_eq!(
            put(db, "nvd", &[rec("CVE-1", "a"), rec("CVE-2", "x")]),
            vec![Ok(New), Ok(New)]
        );
        assert_eq!(
            advisories_for(db, "CPE", "acme:plc").unwrap(),
            vec![
                ("CVE-1".to_string(), "nvd:a".to_string()),
                ("CVE-2".to_string(), "nvd:x".to_string())
            ]
        );
        assert_eq!(source_of(db, "CVE-1").as_deref(), Some("feeds:nvd.json"));
        assert_eq!(put(db, "nvd", &[rec("CVE-1", "a")]), vec![Ok(Unchanged)]);
        // Another feed's record of the same id: merged in kind order.
        assert_eq!(put(db, "cve5", &[rec("CVE-1", "b")]), vec![Ok(New)]);
        assert_eq!(
            advisories_for(db, "CPE", "acme:plc").unwrap()[0],
            ("CVE-1".to_string(), "cve5:b|nvd:a".to_string())
        );
        assert_eq!(source_of(db, "CVE-1").as_deref(), Some("feeds:cve5.json"));
        // An OSV advisory of the same id is kept; the record is stored.
        put_advisory(db, "GHSA-1", "m", &[], "{\"osv\":1}", "osv.zip", 1).unwrap();
        let r = put(db, "nvd", &[rec("GHSA-1", "c")]);
        assert!(
            matches!(&r[..], [Err(m)] if m.contains("from osv.zip")),
            "{r:?}"
        );
        assert_eq!(source_of(db, "GHSA-1").as_deref(), Some("osv.zip"));
        assert_eq!(put(db, "nvd", &[rec("GHSA-1", "c")]), vec![Ok(Unchanged)]);
        // Withdrawn: the feed-made advisory and its keys are gone.
        assert_eq!(
            put(db, "nvd", &[rec("CVE-1", "withdrawn")]),
            vec![Ok(Updated)]
        );
        assert_eq!(source_of(db, "CVE-1"), None);
        assert_eq!(
            advisories_for(db, "CPE", "acme:plc").unwrap(),
            vec![("CVE-2".to_string(), "nvd:x".to_string())]
        );

        let feed = |kind: &str, origin: &str, records: u64, date: Option<&str>| Feed {
            kind: kind.into(),
            origin: origin.into(),
            records,
            imported_at: 10,
            data_date: date.map(str::to_string),
        };
        put_feed(db, &feed("nvd", "b.json", 2, Some("2026-01-02"))).unwrap();
        put_feed(db, &feed("kev", "kev.json", 1, None)).unwrap();
        put_feed(db, &feed("nvd", "a.json", 5, None)).unwrap();
        put_feed(db, &feed("nvd", "b.json", 3, Some("2026-01-03"))).unwrap();
        assert_eq!(
            feeds(db).unwrap(),
            vec![
                feed("kev", "kev.json", 1, None),
                feed("nvd", "a.json", 5, None),
                feed("nvd", "b.json", 3, Some("2026-01-03")),
            ]
        );
    });
}

/// KEV and EPSS snapshots replace their tables (counted, the fleet
/// view's generation bumped); supplier VEX documents replace their own
/// statements only.
#[test]
fn snapshots_and_supplier_vex_on_both_engines() {
    on_both(|db| {
        let kev_of = |added: &str, ransomware: bool, due: Option<&str>| Kev {
            added: added.into(),
            ransomware,
            due: due.map(str::to_string),
        };
        let k1 = kev_of("2026-01-01", true, Some("2026-02-01"));
        let k2 = kev_of("2026-01-02", false, None);
        let g0 = fleet_generation(db).unwrap();
        let n = put_kev(
            db,
            &[("CVE-1".into(), k1.clone()), ("CVE-2".into(), k2.clone())],
        )
        .unwrap();
        assert_eq!(
            n,
            PutCounts {
                new: 2,
                ..Default::default()
            }
        );
        let g1 = fleet_generation(db).unwrap();
        assert!(g1 > g0, "KEV bumps the generation");
        assert_eq!(kev(db, "CVE-1").unwrap(), Some(k1.clone()));
        assert_eq!(kev(db, "CVE-9").unwrap(), None);
        let k2b = kev_of("2026-01-02", true, Some("2026-03-01"));
        let n = put_kev(
            db,
            &[
                ("CVE-1".into(), k1.clone()),
                ("CVE-2".into(), k2b.clone()),
                ("CVE-3".into(), k2.clone()),
            ],
        )
        .unwrap();
        assert_eq!(
            n,
            PutCounts {
                new: 1,
                updated: 1,
                unchanged: 1,
                removed: 0
            }
        );
        assert!(fleet_generation(db).unwrap() > g1);
        let n = put_kev(db, &[("CVE-2".into(), k2b.clone())]).unwrap();
        assert_eq!((n.unchanged, n.removed), (1, 2));
        assert_eq!(
            kev_all(db).unwrap(),
            HashMap::from([("CVE-2".to_string(), k2b)])
        );

        let e = |score: f64, percentile: f64| Epss {
            score,
            percentile,
            date: "2026-01-05".into(),
        };
        let g2 = fleet_generation(db).unwrap();
        let n = put_epss(
            db,
            &[("CVE-1".into(), e(0.5, 0.9)), ("CVE-2".into(), e(1.0, 1.0))],
        )
        .unwrap();
        assert_eq!(n.new, 2);
        assert!(
            fleet_generation(db).unwrap() > g2,
            "EPSS bumps the generation"
        );
        let n = put_epss(
            db,
            &[
                ("CVE-2".into(), e(1.0, 1.0)),
                ("CVE-3".into(), e(0.00042, 0.1)),
            ],
        )
        .unwrap();
        assert_eq!(
            n,
            PutCounts {
                new: 1,
                updated: 0,
                unchanged: 1,
                removed: 1
            }
        );
        assert_eq!(
            epss_all(db).unwrap(),
            HashMap::from([
                ("CVE-2".to_string(), e(1.0, 1.0)),
                ("CVE-3".to_string(), e(0.00042, 0.1))
            ])
        );

        let vex = |vuln: &str, product: &str, status: &str, source: &str| SupplierVex {
            vuln: vuln.into(),
            product: product.into(),
            status: status.into(),
            justification: (status == "not_affected").then(|| "code_not_present".into()),
            detail: None,
            source: source.into(),
            at: 5,
        };
        let a = vex("CVE-1", "pkg:deb/debian/openssl", "not_affected", "doc1");
        let b = vex("CVE-2", "cpe:2.3:a:acme:plc:*", "affected", "doc1");
        let c = vex("CVE-1", "pkg:deb/debian/openssl", "fixed", "doc2");
        let n = put_supplier_vex(db, "doc1", &[a.clone(), b.clone()]).unwrap();
        assert_eq!(n.new, 2);
        assert_eq!(
            put_supplier_vex(db, "doc2", std::slice::from_ref(&c))
                .unwrap()
                .new,
            1
        );
        assert_eq!(supplier_vex(db).unwrap(), vec![a.clone(), c.clone(), b]);
        // doc1 again: one statement changed, one gone; doc2 untouched.
        let a2 = SupplierVex {
            detail: Some("not shipped".into()),
            ..a
        };
        let n = put_supplier_vex(db, "doc1", std::slice::from_ref(&a2)).unwrap();
        assert_eq!(
            n,
            PutCounts {
                new: 0,
                updated: 1,
                unchanged: 0,
                removed: 1
            }
        );
        assert_eq!(
            put_supplier_vex(db, "doc1", std::slice::from_ref(&a2))
                .unwrap()
                .unchanged,
            1
        );
        assert_eq!(supplier_vex(db).unwrap(), vec![a2, c]);
    });
}
