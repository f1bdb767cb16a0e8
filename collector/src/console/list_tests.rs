//! The device list's query against a small store: every filter, the
//! search, sorting, paging and the export agree with what was stored.

use super::devices::{export, query};
use super::Params;
use crate::store::{Attestation, DeviceQuery, Sort, SqliteStore, Store};

/// A store with 30 devices: site `a` or `b` (every third is `b`), each with
/// one attestation whose failing rules, packages and hostname vary.
fn fleet() -> SqliteStore {
    let s = SqliteStore::memory().unwrap();
    for i in 0..30i64 {
        let site = if i % 3 == 0 { "b" } else { "a" };
        let id = s
            .insert_device(&[i as u8, 0xab, 0xcd], &[0x01, i as u8], b"pk", site, 1)
            .unwrap();
        s.set_status(id, "active").unwrap();
        let a = Attestation {
            device_id: id,
            received_at: 1_000 + i,
            iat: 1_000,
            seq: 1,
            cti: vec![i as u8; 16],
            raw: vec![],
            online: true,
            results: vec![
                ("ssh.root".into(), if i % 2 == 0 { 2 } else { 1 }),
                ("fs.tmp".into(), if i % 5 == 0 { 2 } else { 1 }),
            ],
            packages: vec![
                "pkg:deb/debian/libssl3@3.0.11-1?upstream=openssl&distro=debian-12".into(),
                format!("pkg:deb/debian/tool@1.{}?distro=debian-12", i % 4),
            ],
            keys: vec![],
            sl_ceiling: vec![("FR1".into(), (i % 4) as u8)],
            kid: vec![i as u8],
            audit_reason: "seq 1".into(),
            sbom_digest: None,
            ceiling_dispute: None,
            hostname: Some(format!("PLC-{i:02}.line{}", i % 2)),
            key_tier: Some(if i == 7 { "tpm" } else { "software" }.into()),
            findings: vec![],
            cve_status: Vec::new(),
            listeners: Vec::new(),
        };
        s.store_attestation(a).unwrap();
    }
    s
}

fn ids(s: &SqliteStore, q: &DeviceQuery) -> (Vec<i64>, u64) {
    let mut q = q.clone();
    q.limit = q.limit.max(100);
    let (rows, total) = s.device_list(&q).unwrap();
    (rows.iter().map(|r| r.id).collect(), total)
}

fn q(text: &str) -> DeviceQuery {
    let mut q = query(&Params::parse(Some(text)), 10_000, 100_000);
    q.limit = 100;
    q
}

#[test]
fn filters_search_and_counts_agree_with_the_store() {
    let s = fleet();
    assert_eq!(ids(&s, &q("")).1, 30);
    assert_eq!(ids(&s, &q("site=b")).1, 10);
    // Failing rules: even devices fail ssh.root (ids are 1-based: i = id - 1).
    let (v, n) = ids(&s, &q("rule=ssh.root"));
    assert_eq!(n, 15);
    assert!(v.iter().all(|id| (id - 1) % 2 == 0));
    assert_eq!(ids(&s, &q("rule=ssh.root&site=b")).1, 5);
    assert_eq!(ids(&s, &q("rule=nothing")).1, 0);
    // Packages by binary, by source, with a version.
    assert_eq!(ids(&s, &q("package=libssl3")).1, 30);
    assert_eq!(ids(&s, &q("package=openssl")).1, 30);
    assert_eq!(ids(&s, &q("package=tool%401.2")).1, 7);
    // Search: hostname (any case), #id, kid and UEID hex prefixes.
    assert_eq!(ids(&s, &q("q=plc-0")).1, 10);
    assert_eq!(ids(&s, &q("q=LINE1")).1, 15);
    assert_eq!(ids(&s, &q("q=%237")).0, vec![7]);
    assert_eq!(ids(&s, &q("q=05abcd")).0, vec![6]);
    assert_eq!(ids(&s, &q("q=05abc")).0, vec![6]);
    assert_eq!(ids(&s, &q("q=0105")).0, vec![6]);
    assert_eq!(ids(&s, &q("tier=tpm")).0, vec![8]);
    // Status and silence.
    assert_eq!(ids(&s, &q("status=pending")).1, 0);
    let mut silent = q("");
    silent.silent_before = Some(1_010);
    assert_eq!(ids(&s, &silent).1, 10);
    // Hostile filter values are data.
    assert_eq!(ids(&s, &q("site=%27%20OR%201%3D1%20--")).1, 0);
    assert_eq!(ids(&s, &q("q=%25")).1, 0);
}

#[test]
fn sorting_and_paging_cover_every_device_once() {
    let s = fleet();
    for (sort, _) in Sort::ALL {
        for desc in [false, true] {
            let mut seen = Vec::new();
            let mut q = DeviceQuery {
                sort,
                descending: desc,
                limit: 7,
                ..Default::default()
            };
            loop {
                let (rows, total) = s.device_list(&q).unwrap();
                assert_eq!(total, 30);
                if rows.is_empty() {
                    break;
                }
                seen.extend(rows.iter().map(|r| r.id));
                q.offset += 7;
            }
            let mut sorted = seen.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), 30, "{sort:?} {desc}: {seen:?}");
        }
    }
    let (rows, _) = s
        .device_list(&DeviceQuery {
            sort: Sort::Failing,
            descending: true,
            limit: 3,
            ..Default::default()
        })
        .unwrap();
    assert!(rows.iter().all(|r| r.failing == 2), "{rows:?}");
    let (rows, _) = s
        .device_list(&DeviceQuery {
            sort: Sort::Ceiling,
            limit: 30,
            ..Default::default()
        })
        .unwrap();
    assert!(rows
        .windows(2)
        .all(|w| w[0].ceiling_min <= w[1].ceiling_min));
}

#[test]
fn the_export_holds_every_device_of_the_filter() {
    let s = fleet();
    let v = export(&s, &Params::parse(Some("site=a&page=2")), 10_000, 100_000).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 20);
    assert!(rows.iter().all(|r| r["site"] == "a"));
    assert!(rows[0]["hostname"].as_str().unwrap().starts_with("PLC-"));
    let csv = crate::fleet::to_csv(&v);
    assert_eq!(csv.lines().count(), 21, "{csv}");
}
