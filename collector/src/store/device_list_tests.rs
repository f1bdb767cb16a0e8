use super::super::devices::insert_device;
use super::super::sql::cluster::on_both;
use super::*;

/// Five devices (ids `d[0..5]`, kid `[i, ab, cd]`, UEID `[01, i]`):
/// sites, statuses, hostnames, tiers, counts, package sets, failing
/// rules and vulnerabilities that the filters tell apart.
fn fleet(db: &mut dyn Sql) -> Vec<i64> {
    // (site, status, hostname, tier, failing, ceiling, vulns, set, seen, drifting, excepted)
    #[allow(clippy::type_complexity)]
    let rows: [(
        &str,
        &str,
        Option<&str>,
        Option<&str>,
        i64,
        Option<i64>,
        i64,
        Option<i64>,
        Option<i64>,
        i64,
        i64,
    ); 5] = [
        (
            "a",
            "active",
            Some("PLC-00.line0"),
            Some("software"),
            2,
            Some(1),
            3,
            Some(7),
            Some(1000),
            0,
            0,
        ),
        (
            "a",
            "active",
            Some("PLC-01.line1"),
            Some("tpm"),
            0,
            Some(2),
            0,
            Some(8),
            Some(2000),
            1,
            0,
        ),
        (
            "b",
            "active",
            Some("plc-02.LINE0"),
            Some("software"),
            1,
            None,
            1,
            Some(7),
            None,
            0,
            1,
        ),
        ("b", "pending", None, None, 0, None, 0, None, None, 0, 0),
        (
            "a",
            "revoked",
            Some("\u{dc}nit-04"),
            Some("software"),
            0,
            None,
            0,
            Some(8),
            Some(500),
            0,
            0,
        ),
    ];
    for (set, items) in [
        (
            7,
            [("pkg:deb/debian/libssl3@3.0", "libssl3", "3.0", "openssl")],
        ),
        (8, [("pkg:deb/debian/tool@1.2", "tool", "1.2", "tool")]),
    ] {
        db.exec(
            "INSERT INTO pkgsets (id, digest, n) VALUES (?1, ?2, 1)",
            ps![set, vec![set as u8].as_slice()],
        )
        .unwrap();
        for (purl, name, version, source) in items {
            db.exec(
                "INSERT INTO pkgset_items (set_id, purl, name, version, source) VALUES (?1, ?2, ?3, ?4, ?5)",
                ps![set, purl, name, version, source],
            )
            .unwrap();
        }
    }
    let mut d = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let i = i as u8;
        let id = insert_device(db, &[i, 0xab, 0xcd], &[0x01, i], b"pk", r.0, 1).unwrap();
        db.exec(
            "UPDATE devices SET status = ?1, hostname = ?2, key_tier = ?3, failing = ?4, ceiling_min = ?5,
               vulns_open = ?6, pkgset = ?7, last_seen = ?8, drifting = ?9, excepted = ?10 WHERE id = ?11",
            ps![r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10, id],
        )
        .unwrap();
        d.push(id);
    }
    for (rule, dev) in [("r.a", d[0]), ("r.b", d[0]), ("r.a", d[2])] {
        db.exec(
            "INSERT INTO latest_failing (rule, device_id) VALUES (?1, ?2)",
            ps![rule, dev],
        )
        .unwrap();
    }
    for (set, vuln) in [(7, "CVE-1"), (7, "CVE-2"), (8, "CVE-3")] {
        db.exec(
            "INSERT INTO pkgset_vulns (set_id, vuln, component, ecosystem, packages, version, aliases)
             VALUES (?1, ?2, 'openssl', 'Debian', 'libssl3,openssl', '3.0', ?3)",
            ps![set, vuln, if vuln == "CVE-1" { "DSA-1" } else { "" }],
        )
        .unwrap();
    }
    // CVE-3 closed for the fleet; CVE-2 closed by the excepted device's own statement.
    for (vuln, dev) in [("CVE-3", 0), ("CVE-2", d[2])] {
        db.exec(
            "INSERT INTO vex (vuln, device_id, status, at) VALUES (?1, ?2, 'not_affected', 1)",
            ps![vuln, dev],
        )
        .unwrap();
    }
    d
}

fn ids(db: &mut dyn Sql, q: DeviceQuery) -> (Vec<i64>, u64) {
    let q = DeviceQuery {
        limit: q.limit.max(100),
        ..q
    };
    let (rows, total) = device_list(db, &q).unwrap();
    (rows.iter().map(|r| r.id).collect(), total)
}

fn search(s: &str) -> DeviceQuery {
    DeviceQuery {
        search: Some(s.into()),
        ..Default::default()
    }
}

#[test]
fn every_filter_and_the_search_on_both_engines() {
    on_both(|db| {
        let d = fleet(db);
        let q = DeviceQuery::default;
        let some = |s: &str| Some(s.to_string());
        assert_eq!(ids(db, q()), (d.clone(), 5));
        let site = DeviceQuery {
            site: some("a"),
            ..q()
        };
        assert_eq!(ids(db, site), (vec![d[0], d[1], d[4]], 3));
        let status = DeviceQuery {
            status: some("active"),
            ..q()
        };
        assert_eq!(ids(db, status).0, vec![d[0], d[1], d[2]]);
        let rule = |r: &str| DeviceQuery {
            rule: some(r),
            ..q()
        };
        assert_eq!(ids(db, rule("r.a")).0, vec![d[0], d[2]]);
        assert_eq!(ids(db, rule("r.b")).0, vec![d[0]]);
        assert_eq!(ids(db, rule("nothing")), (vec![], 0));
        // Vulnerabilities: by id or alias; the fleet's statement closes
        // CVE-3 on its sets, the excepted device's own closes CVE-2 on it.
        let vuln = |v: &str| DeviceQuery {
            vuln: some(v),
            ..q()
        };
        assert_eq!(ids(db, vuln("CVE-1")).0, vec![d[0], d[2]]);
        assert_eq!(ids(db, vuln("DSA-1")).0, vec![d[0], d[2]]);
        assert_eq!(ids(db, vuln("CVE-2")).0, vec![d[0]]);
        assert_eq!(ids(db, vuln("CVE-3")).0, Vec::<i64>::new());
        // Packages by binary, by source, with a version.
        let package = |p: &str| DeviceQuery {
            package: some(p),
            ..q()
        };
        assert_eq!(ids(db, package("libssl3")).0, vec![d[0], d[2]]);
        assert_eq!(ids(db, package("openssl")).0, vec![d[0], d[2]]);
        assert_eq!(ids(db, package("tool@1.2")).0, vec![d[1], d[4]]);
        assert_eq!(ids(db, package("tool@1.3")).0, Vec::<i64>::new());
        let silent = DeviceQuery {
            silent_before: Some(1500),
            ..q()
        };
        assert_eq!(ids(db, silent).0, vec![d[0], d[2]]);
        let drifting = DeviceQuery {
            drifting: true,
            ..q()
        };
        assert_eq!(ids(db, drifting).0, vec![d[1]]);
        let tier = DeviceQuery {
            key_tier: some("tpm"),
            ..q()
        };
        assert_eq!(ids(db, tier).0, vec![d[1]]);
        let both = DeviceQuery {
            site: some("b"),
            rule: some("r.a"),
            ..q()
        };
        assert_eq!(ids(db, both), (vec![d[2]], 1));
        // Search: hostname (ASCII case folded), #id, kid and UEID hex
        // prefixes (odd lengths too), package name.
        assert_eq!(ids(db, search("plc-0")).0, vec![d[0], d[1], d[2]]);
        assert_eq!(ids(db, search("LINE0")).0, vec![d[0], d[2]]);
        assert_eq!(ids(db, search("NIT-04")).0, vec![d[4]]);
        assert_eq!(ids(db, search(&format!("#{}", d[3]))).0, vec![d[3]]);
        assert_eq!(ids(db, search(&format!(" {} ", d[4]))).0, vec![d[4]]);
        assert_eq!(ids(db, search("02abcd")).0, vec![d[2]]);
        assert_eq!(ids(db, search("02ABC")).0, vec![d[2]]);
        assert_eq!(ids(db, search("0104")).0, vec![d[4]]);
        assert_eq!(ids(db, search("libssl3")).0, vec![d[0], d[2]]);
        assert_eq!(ids(db, search("openssl")).0, vec![d[0], d[2]]);
        assert_eq!(ids(db, search("   ")).1, 5, "a blank search is none");
        // Hostile filter values are data.
        let hostile = DeviceQuery {
            site: some("' OR 1=1 --"),
            ..q()
        };
        assert_eq!(ids(db, hostile).1, 0);
        assert_eq!(ids(db, search("%")).1, 0);
        assert_eq!(ids(db, search("_")).1, 0);
    });
}

#[test]
fn sorting_paging_rows_approval_and_sites_on_both_engines() {
    on_both(|db| {
        let d = fleet(db);
        // Every sort, both directions, in pages of 2: each device once.
        for (sort, _) in Sort::ALL {
            for desc in [false, true] {
                let mut seen = Vec::new();
                let mut q = DeviceQuery {
                    sort,
                    descending: desc,
                    limit: 2,
                    ..Default::default()
                };
                loop {
                    let (rows, total) = device_list(db, &q).unwrap();
                    assert_eq!(total, 5);
                    if rows.is_empty() {
                        break;
                    }
                    seen.extend(rows.iter().map(|r| r.id));
                    q.offset += 2;
                }
                let mut sorted = seen.clone();
                sorted.sort();
                sorted.dedup();
                assert_eq!(sorted, d, "{sort:?} {desc}: {seen:?}");
            }
        }
        let order = |db: &mut dyn Sql, sort: Sort, descending: bool| {
            ids(
                db,
                DeviceQuery {
                    sort,
                    descending,
                    ..Default::default()
                },
            )
            .0
        };
        // Hostnames bytewise, NULL last whatever the direction.
        assert_eq!(
            order(db, Sort::Hostname, false),
            vec![d[0], d[1], d[2], d[4], d[3]]
        );
        assert_eq!(
            order(db, Sort::Hostname, true),
            vec![d[4], d[2], d[1], d[0], d[3]]
        );
        assert_eq!(
            order(db, Sort::Ceiling, false),
            vec![d[0], d[1], d[2], d[3], d[4]]
        );
        assert_eq!(
            order(db, Sort::Failing, true),
            vec![d[0], d[2], d[4], d[3], d[1]]
        );
        assert_eq!(
            order(db, Sort::Id, true),
            vec![d[4], d[3], d[2], d[1], d[0]]
        );
        assert_eq!(
            order(db, Sort::LastSeen, false),
            vec![d[4], d[0], d[1], d[2], d[3]]
        );
        let page = device_list(
            db,
            &DeviceQuery {
                sort: Sort::Vulns,
                descending: true,
                limit: 1,
                offset: 1,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!((page.0.len(), page.0[0].id, page.1), (1, d[2], 5));
        // Out-of-range bounds are clamped, never refused.
        let (rows, total) = device_list(
            db,
            &DeviceQuery {
                limit: u64::MAX,
                offset: u64::MAX,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!((rows.len(), total), (0, 5));

        let row0 = DeviceRow {
            id: d[0],
            hostname: Some("PLC-00.line0".into()),
            site: "a".into(),
            status: "active".into(),
            kid: vec![0, 0xab, 0xcd],
            ueid: vec![0x01, 0],
            last_seen: Some(1000),
            ceiling_min: Some(1),
            failing: 2,
            vulns_open: 3,
            drifting: false,
            key_tier: Some("software".into()),
            enrolled_at: 1,
            approved_by: None,
            approved_at: None,
        };
        assert_eq!(device_row(db, d[0]).unwrap(), Some(row0.clone()));
        let (rows, _) = device_list(db, &search("PLC-00")).unwrap();
        assert_eq!(rows, vec![row0.clone()]);
        set_approved(db, d[0], "operator alice", 42).unwrap();
        assert_eq!(
            device_row(db, d[0]).unwrap(),
            Some(DeviceRow {
                approved_by: Some("operator alice".into()),
                approved_at: Some(42),
                ..row0
            })
        );
        let r3 = device_row(db, d[3]).unwrap().unwrap();
        assert_eq!(
            (
                r3.hostname,
                r3.ceiling_min,
                r3.key_tier,
                r3.last_seen,
                r3.drifting
            ),
            (None, None, None, None, false)
        );
        assert!(device_row(db, d[1]).unwrap().unwrap().drifting);
        assert_eq!(device_row(db, 9999).unwrap(), None);

        let s = |a: &str, b: &str, n: u64| (a.to_string(), b.to_string(), n);
        assert_eq!(
            sites(db).unwrap(),
            vec![
                s("a", "active", 2),
                s("a", "revoked", 1),
                s("b", "active", 1),
                s("b", "pending", 1)
            ]
        );
    });
}
