use super::super::devices::{insert_device, set_status};
use super::super::sql::cluster::on_both;
use super::super::vulns::{put_advisory, set_vex};
use super::super::VexEntry;
use super::*;

fn vuln(id: &str, score: Option<f64>, supplier: Option<Statement>) -> SetVuln {
    SetVuln {
        vuln: id.into(),
        component: "openssl".into(),
        ecosystem: "Debian".into(),
        packages: "libssl3,openssl".into(),
        version: "3.0.11".into(),
        fixed: score.map(|_| "3.0.13".into()),
        aliases: "DSA-1".into(),
        summary: Some("a summary".into()),
        severity: Some("CVSS:3.1/AV:N".into()),
        score,
        cvss: "V3 CVSS:3.1/AV:N".into(),
        supplier,
    }
}

/// An active device on package set `set` of `site`.
fn device(db: &mut dyn Sql, kid: &[u8], site: &str, set: i64) -> i64 {
    let d = insert_device(db, kid, b"u", b"p", site, 1).unwrap();
    assert!(set_status(db, d, "active").unwrap());
    db.exec("UPDATE devices SET pkgset = ?1 WHERE id = ?2", ps![set, d])
        .unwrap();
    d
}

fn pkgsets(db: &mut dyn Sql) {
    for (id, purls) in [
        (
            1,
            &[
                "pkg:deb/debian/openssl@3.0.11",
                "pkg:deb/debian/libssl3@3.0.11",
            ][..],
        ),
        (2, &["pkg:deb/debian/zlib@1.2"][..]),
    ] {
        db.exec(
            "INSERT INTO pkgsets (id, digest, n) VALUES (?1, ?2, ?3)",
            ps![id, format!("d{id}").as_bytes(), purls.len() as i64],
        )
        .unwrap();
        for p in purls {
            db.exec(
                "INSERT INTO pkgset_items (set_id, purl, name, version, source) VALUES (?1, ?2, 'n', 'v', 's')",
                ps![id, *p],
            )
            .unwrap();
        }
    }
}

/// Matches written per package set (generation bumped, devices
/// recounted), read back per device, per set, as coverage, and walked
/// in advisory order; sets to re-match by key and by missing ecosystem.
#[test]
fn set_matches_round_trip_on_both_engines() {
    on_both(|db| {
        pkgsets(db);
        let set1_tags = vec![
            "pkg:deb/debian/libssl3@3.0.11".to_string(),
            "pkg:deb/debian/openssl@3.0.11".to_string(),
        ];
        let set2_tags = vec!["pkg:deb/debian/zlib@1.2".to_string()];
        let unmatched = vec![(1, set1_tags.clone()), (2, set2_tags.clone())];
        assert_eq!(pkgsets_to_match(db, false).unwrap(), unmatched);
        let d1 = device(db, b"k1", "s1", 1);
        let d2 = device(db, b"k2", "s1", 1);
        let d3 = device(db, b"k3", "s2", 2);
        // Neither pending devices nor devices without a set count.
        insert_device(db, b"k4", b"u", b"p", "s1", 1).unwrap();
        let mut counts = set_counts(db, None).unwrap();
        counts.sort();
        assert_eq!(counts, vec![(1, 2), (2, 1)]);
        assert_eq!(set_counts(db, Some("s2")).unwrap(), vec![(2, 1)]);
        let mut sets = device_sets(db, Some("s1")).unwrap();
        sets.sort();
        assert_eq!(sets, vec![(d1, 1), (d2, 1)]);
        assert_eq!(device_sets(db, None).unwrap().len(), 3);

        let keys = vec![
            ("Debian".to_string(), "openssl".to_string()),
            ("Alpine:v3.19".to_string(), "musl".to_string()),
        ];
        put_advisory(db, "DSA-1", "m1", &keys, "{}", "osv", 1).unwrap();
        let mut ecos = advisory_ecosystems(db).unwrap();
        ecos.sort();
        assert_eq!(ecos, vec!["Alpine:v3.19".to_string(), "Debian".into()]);

        let g0 = fleet_generation(db).unwrap();
        let kernel = Statement {
            status: "not_affected".into(),
            justification: Some("code_not_present".into()),
            detail: Some("CONFIG_X is not set".into()),
            source: "kernel configuration".into(),
        };
        let v1 = vuln("CVE-1", Some(9.8), None);
        let v2 = vuln("CVE-2", None, Some(kernel));
        let v3 = vuln("CVE-3", Some(5.0), None);
        let m1 = SetMatch {
            set: 1,
            // The same match twice: the last one is kept.
            vulns: vec![
                vuln("CVE-3", Some(1.0), None),
                v1.clone(),
                v2.clone(),
                v3.clone(),
            ],
            coverage: Coverage {
                total: 2,
                unidentified: 0,
                uncovered: 1,
                nodata: vec!["Alpine:v3.19".into()],
                notes: vec!["note a".into(), "note b".into()],
                sets: 1,
            },
            // A key twice: stored once.
            keys: vec![keys[0].clone(), keys[0].clone()],
        };
        let m2 = SetMatch {
            set: 2,
            vulns: vec![v1.clone()],
            coverage: Coverage {
                total: 3,
                unidentified: 1,
                uncovered: 0,
                nodata: vec!["Alpine:v3.18".into(), "Alpine:v3.19".into()],
                notes: vec!["note b".into(), "note c".into()],
                sets: 1,
            },
            keys: vec![("Debian".to_string(), "zlib".to_string())],
        };
        put_set_vulns(db, &[m1.clone(), m2]).unwrap();
        let g1 = fleet_generation(db).unwrap();
        assert!(g1 > g0, "matching bumps the generation ({g0} → {g1})");
        assert!(pkgsets_to_match(db, false).unwrap().is_empty());
        assert_eq!(pkgsets_to_match(db, true).unwrap(), unmatched);

        // Open: CVE-1 and CVE-3; CVE-2 closed by the kernel statement.
        assert_eq!(device_vulns(db, d1).unwrap(), vec![v1.clone(), v3.clone()]);
        assert_eq!(device_vulns(db, d3).unwrap(), vec![v1.clone()]);
        assert_eq!(
            device_closed_by(db, d2, "kernel configuration").unwrap(),
            vec![v2.clone()]
        );
        assert!(device_closed_by(db, d3, "kernel configuration")
            .unwrap()
            .is_empty());
        let open = |db: &mut dyn Sql, d: i64| {
            first(
                db,
                "SELECT vulns_open FROM devices WHERE id = ?1",
                ps![d],
                |r| r.i64(0),
            )
            .unwrap()
        };
        assert_eq!(open(db, d1), Some(2));
        assert_eq!(open(db, d3), Some(1));

        let c1 = coverage(db, Some(d1)).unwrap();
        assert_eq!(c1, m1.coverage);
        assert_eq!(c1.count(2), "2 open (1 of 2 components not covered)");
        let all = coverage(db, None).unwrap();
        assert_eq!(
            all,
            Coverage {
                total: 5,
                unidentified: 1,
                uncovered: 1,
                nodata: vec!["Alpine:v3.18".into(), "Alpine:v3.19".into()],
                notes: all.notes.clone(),
                sets: 2,
            }
        );
        let mut notes = all.notes.clone();
        notes.sort();
        assert_eq!(notes, vec!["note a", "note b", "note c"]);

        let mut walked = Vec::new();
        each_set_vuln(db, &mut |set, v| {
            walked.push((v.vuln.clone(), set, v));
            Ok(())
        })
        .unwrap();
        assert!(
            walked.windows(2).all(|w| w[0].0 <= w[1].0),
            "advisory order"
        );
        walked.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        assert_eq!(
            walked,
            vec![
                ("CVE-1".to_string(), 1, v1.clone()),
                ("CVE-1".to_string(), 2, v1.clone()),
                ("CVE-2".to_string(), 1, v2.clone()),
                ("CVE-3".to_string(), 1, v3.clone()),
            ]
        );
        // The walk ends at the first error of `f`, returned.
        let mut seen = 0;
        let r = each_set_vuln(db, &mut |_, _| {
            seen += 1;
            Err("enough".into())
        });
        assert_eq!(r, Err(StoreError::Database("enough".into())));
        assert_eq!(seen, 1);

        // Re-matching: sets holding a touched key, sets without data
        // for a touched ecosystem, and sets never matched.
        assert_eq!(
            pkgsets_for_keys(db, &[("Debian".into(), "zlib".into())]).unwrap(),
            vec![(2, set2_tags.clone())]
        );
        assert_eq!(
            pkgsets_for_keys(db, &[("Alpine:v3.18".into(), "x".into())]).unwrap(),
            vec![(2, set2_tags.clone())]
        );
        assert_eq!(
            pkgsets_for_keys(db, &[("Alpine:v3.19".into(), "x".into()), keys[0].clone()]).unwrap(),
            unmatched
        );
        assert!(pkgsets_for_keys(db, &[("Alpine".into(), "x".into())])
            .unwrap()
            .is_empty());
        db.exec("UPDATE pkgsets SET matched = 0 WHERE id = 2", &[])
            .unwrap();
        assert_eq!(
            pkgsets_for_keys(db, &[("PyPI".into(), "x".into())]).unwrap(),
            vec![(2, set2_tags.clone())]
        );

        // A set matched again replaces its matches: d1 has one left.
        put_set_vulns(
            db,
            &[SetMatch {
                vulns: vec![v3.clone()],
                ..m1
            }],
        )
        .unwrap();
        assert!(fleet_generation(db).unwrap() > g1);
        assert_eq!(device_vulns(db, d1).unwrap(), vec![v3]);
        assert_eq!(open(db, d1), Some(1));
    });
}

/// Devices whose statements differ from their set's: accepted
/// findings, device VEX statements, closing CVE_STATUS entries; only
/// active devices with a package set.
#[test]
fn vuln_exceptions_on_both_engines() {
    on_both(|db| {
        pkgsets(db);
        let d = device(db, b"k1", "s1", 1);
        let plain = device(db, b"k2", "s1", 1);
        let revoked = device(db, b"k3", "s2", 2);
        assert!(set_status(db, revoked, "revoked").unwrap());
        let token = |db: &mut dyn Sql, dev: i64| {
            first(
                db,
                "INSERT INTO tokens (device_id, received_at, iat, seq, cti, raw, online)
                 VALUES (?1, 1, 1, 1, ?2, ?3, 1) RETURNING id",
                ps![dev, b"cti".as_slice(), b"raw".as_slice()],
                |r| r.i64(0),
            )
            .unwrap()
            .unwrap()
        };
        for dev in [d, plain, revoked] {
            let t = token(db, dev);
            for (subject, accepted) in [("CVE-9", Some("jump host")), ("CVE-8", None)] {
                db.exec(
                    "INSERT INTO token_findings (token_id, rule, subject, path, accepted) VALUES (?1, 'vuln', ?2, '', ?3)",
                    ps![t, subject, accepted],
                )
                .unwrap();
            }
            db.exec(
                "UPDATE devices SET latest_token = ?1, excepted = ?2 WHERE id = ?3",
                ps![t, dev != plain, dev],
            )
            .unwrap();
        }
        for dev in [d, revoked] {
            set_vex(
                db,
                &VexEntry {
                    vuln: "CVE-1".into(),
                    device_id: Some(dev),
                    status: "not_affected".into(),
                    justification: None,
                    detail: None,
                    at: 1,
                },
            )
            .unwrap();
            for (vuln, status, detail) in [
                ("CVE-3", "Patched", ""),
                ("CVE-4", "Ignored", "not-applicable-config"),
                ("CVE-5", "Ignored", "disputed"),
                ("CVE-6", "Unpatched", ""),
            ] {
                db.exec(
                    "INSERT INTO device_cve_status (device_id, vuln, component, status, detail, description)
                     VALUES (?1, ?2, 'openssl', ?3, ?4, '')",
                    ps![dev, vuln, status, detail],
                )
                .unwrap();
            }
        }
        let mut x = vuln_exceptions(db).unwrap();
        for e in &mut x {
            e.cve_status.sort();
        }
        assert_eq!(
            x,
            vec![VulnException {
                device_id: d,
                pkgset: 1,
                site: "s1".into(),
                accepted: vec!["CVE-9".into()],
                vex: vec![("CVE-1".into(), "not_affected".into())],
                cve_status: vec![
                    ("CVE-3".into(), "openssl".into(), "fixed".into()),
                    ("CVE-4".into(), "openssl".into(), "not_affected".into()),
                ],
            }]
        );
    });
}

impl super::super::SqliteStore {
    /// Test fixtures: a device's contract-3 claims, as stored on arrival.
    pub(crate) fn put_claims_for_test(
        &self,
        device: i64,
        cve: &[super::super::DeviceCveStatus],
        listeners: &[super::super::DeviceListener],
    ) {
        // The attestation path's own writer (rows and digests).
        super::super::device_claims::put(
            &mut super::super::sql::Lite(&self.c()),
            device,
            cve,
            listeners,
        )
        .unwrap();
    }
}
