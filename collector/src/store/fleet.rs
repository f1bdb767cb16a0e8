//! Fleet queries over the maintained aggregates and each device's latest
//! attestation (never a scan of per-device rows).

use super::sql::{first, ps, rows, Dialect, Sql};
use super::{Aggregates, Result, Snapshot, StoreError, TokenRow};

pub(super) fn latest_failures(db: &mut dyn Sql, rule: Option<&str>) -> Result<Vec<(i64, String)>> {
    rows(
        db,
        "SELECT d.id, r.rule FROM devices d JOIN rule_results r ON r.token_id = d.latest_token
             WHERE r.result = 2 AND (CAST(?1 AS TEXT) IS NULL OR r.rule = ?1) ORDER BY d.id, r.rule",
        ps![rule],
        |r| Ok((r.i64(0)?, r.text(1)?)),
    )
}

pub(super) fn shared_keys(db: &mut dyn Sql) -> Result<Vec<(String, String, Vec<i64>)>> {
    let fps = rows(
        db,
        "SELECT fingerprint, kind FROM agg_keys WHERE n > 1 ORDER BY fingerprint",
        &[],
        |r| Ok((r.text(0)?, r.text(1)?)),
    )?;
    let mut out = Vec::new();
    for (fp, kind) in fps {
        let v = rows(
            db,
            "SELECT DISTINCT k.device_id FROM key_prints k WHERE k.fingerprint = ?1 AND k.token_id = (SELECT latest_token FROM devices WHERE id = k.device_id) ORDER BY k.device_id",
            ps![&fp],
            |r| r.i64(0),
        )?;
        out.push((fp, kind, v));
    }
    Ok(out)
}

pub(super) fn last_two(db: &mut dyn Sql, device_id: i64) -> Result<Vec<Snapshot>> {
    let ids = rows(
        db,
        "SELECT id FROM tokens WHERE device_id = ?1 ORDER BY id DESC LIMIT 2",
        ps![device_id],
        |r| r.i64(0),
    )?;
    let mut out = Vec::new();
    for id in ids {
        let pk = rows(
            db,
            "SELECT i.purl FROM tokens t JOIN pkgset_items i ON i.set_id = t.pkgset WHERE t.id = ?1 ORDER BY i.purl",
            ps![id],
            |r| r.text(0),
        )?;
        let rs = rows(
            db,
            "SELECT rule, result FROM rule_results WHERE token_id = ?1 ORDER BY rule",
            ps![id],
            |r| Ok((r.text(0)?, r.i64(1)? as u8)),
        )?;
        out.push((pk, rs));
    }
    Ok(out)
}

/// The latest and previous token of each device (its `latest_token` and
/// `prev_token`: tokens are stored in sequence, so they are its two
/// highest), their package sets and result sets read once per set.
pub(super) fn last_two_of(
    db: &mut dyn Sql,
    devices: &[i64],
) -> Result<Vec<(i64, [super::Snapshot; 2])>> {
    use std::collections::{BTreeMap, BTreeSet};
    // (device, [(pkgset, rset) of the latest token, of the previous one]).
    type Sets = [(Option<i64>, Option<i64>); 2];
    let mut pairs: Vec<(i64, Sets)> = Vec::new();
    for chunk in devices.chunks(100) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("?{i}")).collect();
        let p: Vec<super::sql::P> = chunk.iter().map(|d| super::sql::P::I(*d)).collect();
        let got: BTreeMap<i64, Sets> = rows(
            db,
            &format!(
                "SELECT d.id, a.pkgset, a.rset, b.pkgset, b.rset FROM devices d
                   JOIN tokens a ON a.id = d.latest_token JOIN tokens b ON b.id = d.prev_token
                  WHERE d.id IN ({})",
                marks.join(", ")
            ),
            &p,
            |r| {
                Ok((
                    r.i64(0)?,
                    [
                        (r.opt_i64(1)?, r.opt_i64(2)?),
                        (r.opt_i64(3)?, r.opt_i64(4)?),
                    ],
                ))
            },
        )?
        .into_iter()
        .collect();
        pairs.extend(chunk.iter().filter_map(|d| got.get(d).map(|x| (*d, *x))));
    }
    let pkgsets: BTreeSet<i64> = pairs
        .iter()
        .flat_map(|(_, x)| x.iter().filter_map(|t| t.0))
        .collect();
    let rsets: BTreeSet<i64> = pairs
        .iter()
        .flat_map(|(_, x)| x.iter().filter_map(|t| t.1))
        .collect();
    let mut packages: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for s in pkgsets {
        packages.insert(
            s,
            rows(
                db,
                "SELECT purl FROM pkgset_items WHERE set_id = ?1 ORDER BY purl",
                ps![s],
                |r| r.text(0),
            )?,
        );
    }
    let mut results: BTreeMap<i64, Vec<(String, u8)>> = BTreeMap::new();
    for s in rsets {
        results.insert(
            s,
            rows(
                db,
                "SELECT rule, result FROM result_set_rows WHERE set_id = ?1 ORDER BY rule",
                ps![s],
                |r| Ok((r.text(0)?, r.i64(1)?.clamp(0, 255) as u8)),
            )?,
        );
    }
    let snap = |(p, r): (Option<i64>, Option<i64>)| -> super::Snapshot {
        (
            p.and_then(|p| packages.get(&p).cloned())
                .unwrap_or_default(),
            r.and_then(|r| results.get(&r).cloned()).unwrap_or_default(),
        )
    };
    Ok(pairs
        .into_iter()
        .map(|(d, [a, b])| (d, [snap(a), snap(b)]))
        .collect())
}

pub(super) fn latest_packages(db: &mut dyn Sql) -> Result<Vec<(i64, Vec<String>)>> {
    // Each package set once, however many devices run it.
    let devices = rows(
        db,
        "SELECT id, pkgset FROM devices WHERE status = 'active' AND latest_token IS NOT NULL ORDER BY id",
        &[],
        |r| Ok((r.i64(0)?, r.opt_i64(1)?)),
    )?;
    // A set's items in the order they were inserted (sorted by purl, see
    // `console::pkgset`): SQLite's rowid, free on the set's index;
    // PostgreSQL has no rowid, and the purl order is the same.
    let items = match db.dialect() {
        Dialect::Sqlite => "SELECT purl FROM pkgset_items WHERE set_id = ?1 ORDER BY rowid",
        Dialect::Postgres => "SELECT purl FROM pkgset_items WHERE set_id = ?1 ORDER BY purl",
    };
    let mut sets: std::collections::HashMap<i64, Vec<String>> = Default::default();
    let mut out = Vec::with_capacity(devices.len());
    for (d, set) in devices {
        let set = set.unwrap_or(-1);
        if let std::collections::hash_map::Entry::Vacant(v) = sets.entry(set) {
            v.insert(rows(db, items, ps![set], |r| r.text(0))?);
        }
        out.push((d, sets[&set].clone()));
    }
    Ok(out)
}

pub(super) fn latest_token(db: &mut dyn Sql, device_id: i64) -> Result<Option<TokenRow>> {
    first(
        db,
        "SELECT t.id, t.received_at, t.iat, t.seq, t.online, t.raw, t.sbom_digest
             FROM devices d JOIN tokens t ON t.id = d.latest_token WHERE d.id = ?1",
        ps![device_id],
        |r| {
            Ok(TokenRow {
                id: r.i64(0)?,
                received_at: r.i64(1)?,
                iat: r.i64(2)?,
                seq: r.i64(3)?,
                online: r.i64(4)? != 0,
                raw: r.blob(5)?,
                sbom_digest: r.opt_text(6)?,
            })
        },
    )
}

pub(super) fn drifting(db: &mut dyn Sql) -> Result<Vec<i64>> {
    rows(
        db,
        "SELECT id FROM devices WHERE drifting = 1 AND status = 'active' ORDER BY id",
        &[],
        |r| r.i64(0),
    )
}

pub(super) fn aggregates(db: &mut dyn Sql, silent_before: i64) -> Result<Aggregates> {
    let pairs = |db: &mut dyn Sql, sql: &str| -> Result<Vec<(String, u64)>> {
        rows(db, sql, &[], |r| Ok((r.text(0)?, r.i64(1)? as u64)))
    };
    let by_status = pairs(
        db,
        "SELECT status, COUNT(*) FROM devices GROUP BY status ORDER BY status",
    )?;
    let failing = pairs(
        db,
        "SELECT rule, n FROM agg_failing WHERE n > 0 ORDER BY rule",
    )?;
    let ceilings = rows(
        db,
        "SELECT fr, sl, n FROM agg_ceiling WHERE n > 0 ORDER BY fr, sl",
        &[],
        |r| Ok((r.text(0)?, r.i64(1)? as u8, r.i64(2)? as u64)),
    )?;
    let count = |db: &mut dyn Sql, sql: &str, p: &[super::sql::P]| -> Result<i64> {
        first(db, sql, p, |r| r.i64(0))?
            .ok_or_else(|| StoreError::Database("COUNT returned no row".into()))
    };
    let silent = count(
        db,
        "SELECT COUNT(*) FROM devices WHERE status = 'active' AND (last_seen IS NULL OR last_seen < ?1)",
        ps![silent_before],
    )?;
    // PostgreSQL walks the primary key for `ORDER BY id LIMIT` unless the
    // condition can use the `last_seen` index (65 ms over 100,000 devices,
    // 0.1 ms with it); SQLite's plan is the one it had.
    let silent_sql = match db.dialect() {
        Dialect::Sqlite => "SELECT id FROM devices WHERE status = 'active' AND COALESCE(last_seen, 0) < ?1 ORDER BY id LIMIT 100",
        Dialect::Postgres => "SELECT id FROM devices WHERE status = 'active' AND (last_seen IS NULL OR last_seen < ?1) ORDER BY id LIMIT 100",
    };
    let silent_ids = rows(db, silent_sql, ps![silent_before], |r| r.i64(0))?;
    let drifting = count(
        db,
        "SELECT COUNT(*) FROM devices WHERE drifting = 1 AND status = 'active'",
        &[],
    )?;
    Ok(Aggregates {
        by_status,
        failing,
        ceilings,
        silent: silent as u64,
        silent_ids,
        drifting: drifting.max(0) as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::super::devices::insert_device;
    use super::super::sql::cluster::on_both;
    use super::*;

    /// A stored token of `device` (result set `rset`, package set `set`).
    fn token(db: &mut dyn Sql, device: i64, seq: i64, rset: i64, set: Option<i64>) -> i64 {
        let cti = [device as u8, seq as u8];
        let raw = format!("raw-{device}-{seq}");
        first(
            db,
            "INSERT INTO tokens (device_id, received_at, iat, seq, cti, raw, online, pkgset, rset, sbom_digest)
             VALUES (?1, ?2, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
            ps![
                device,
                seq,
                cti.as_slice(),
                raw.as_bytes(),
                seq % 2,
                set,
                rset,
                (seq == 3).then_some("abc")
            ],
            |r| r.i64(0),
        )
        .unwrap()
        .unwrap()
    }

    /// Makes `token` the device's latest, seen at `seen`, and sets its status.
    fn latest(db: &mut dyn Sql, device: i64, token: i64, status: &str, seen: Option<i64>) {
        db.exec(
            "UPDATE devices SET latest_token = ?1, pkgset = (SELECT pkgset FROM tokens WHERE id = ?1),
               status = ?2, last_seen = ?3 WHERE id = ?4",
            ps![token, status, seen, device],
        )
        .unwrap();
    }

    #[test]
    fn fleet_queries_read_each_devices_latest_attestation_and_the_aggregates() {
        on_both(|db| {
            let d1 = insert_device(db, b"k1", b"u1", b"p", "x", 1).unwrap();
            let d2 = insert_device(db, b"k2", b"u2", b"p", "x", 1).unwrap();
            let d3 = insert_device(db, b"k3", b"u3", b"p", "y", 1).unwrap();
            let d4 = insert_device(db, b"k4", b"u4", b"p", "y", 1).unwrap();
            let d5 = insert_device(db, b"k5", b"u5", b"p", "y", 1).unwrap();
            // Result sets: 1 fails r.a and r.b, 2 fails r.a only.
            for (set, rules) in [(1, [("r.a", 2), ("r.b", 2)]), (2, [("r.a", 2), ("r.b", 1)])] {
                db.exec(
                    "INSERT INTO result_sets (id, digest, n) VALUES (?1, ?2, 2)",
                    ps![set, vec![set as u8].as_slice()],
                )
                .unwrap();
                for (rule, result) in rules {
                    db.exec(
                        "INSERT INTO result_set_rows (set_id, rule, result) VALUES (?1, ?2, ?3)",
                        ps![set, rule, result],
                    )
                    .unwrap();
                }
            }
            // Package sets, their items inserted in purl order (as `console::pkgset` does).
            for (set, purls) in [
                (7, &["pkg:deb/debian/a@1", "pkg:deb/debian/b@2"][..]),
                (8, &["pkg:deb/debian/c@1"][..]),
            ] {
                db.exec(
                    "INSERT INTO pkgsets (id, digest, n) VALUES (?1, ?2, ?3)",
                    ps![set, vec![set as u8].as_slice(), purls.len() as i64],
                )
                .unwrap();
                for p in purls {
                    db.exec(
                        "INSERT INTO pkgset_items (set_id, purl, name, version, source) VALUES (?1, ?2, 'n', 'v', 's')",
                        ps![set, *p],
                    )
                    .unwrap();
                }
            }
            let _older = token(db, d1, 1, 2, Some(8));
            let t2 = token(db, d1, 2, 2, Some(7));
            let t3 = token(db, d1, 3, 1, Some(7));
            latest(db, d1, t3, "active", Some(100));
            let t4 = token(db, d2, 1, 2, Some(7));
            latest(db, d2, t4, "active", Some(10));
            let old3 = token(db, d3, 1, 2, Some(8));
            let t5 = token(db, d3, 2, 2, Some(8));
            latest(db, d3, t5, "pending", None);
            let t6 = token(db, d4, 1, 2, None);
            latest(db, d4, t6, "active", None);
            db.exec(
                "UPDATE devices SET status = 'active' WHERE id = ?1",
                ps![d5],
            )
            .unwrap();

            assert_eq!(
                latest_failures(db, None).unwrap(),
                vec![
                    (d1, "r.a".to_string()),
                    (d1, "r.b".to_string()),
                    (d2, "r.a".to_string()),
                    (d3, "r.a".to_string()),
                    (d4, "r.a".to_string()),
                ]
            );
            assert_eq!(
                latest_failures(db, Some("r.b")).unwrap(),
                vec![(d1, "r.b".to_string())]
            );
            assert_eq!(latest_failures(db, Some("r.z")).unwrap(), vec![]);

            // A key on two devices' latest attestations (and on an older
            // token of a third, which does not count).
            for (fp, kind, n) in [("fp1", "ssh", 3), ("fp2", "tls", 1)] {
                db.exec(
                    "INSERT INTO agg_keys (fingerprint, kind, n) VALUES (?1, ?2, ?3)",
                    ps![fp, kind, n],
                )
                .unwrap();
            }
            for (t, d, fp) in [
                (t3, d1, "fp1"),
                (t2, d1, "fp1"),
                (t4, d2, "fp1"),
                (old3, d3, "fp1"),
                (t5, d3, "fp2"),
            ] {
                db.exec(
                    "INSERT INTO key_prints (token_id, device_id, kind, path, fingerprint) VALUES (?1, ?2, 'ssh', '/k', ?3)",
                    ps![t, d, fp],
                )
                .unwrap();
            }
            assert_eq!(
                shared_keys(db).unwrap(),
                vec![("fp1".to_string(), "ssh".to_string(), vec![d1, d2])]
            );

            let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
            assert_eq!(
                last_two(db, d1).unwrap(),
                vec![
                    (
                        s(&["pkg:deb/debian/a@1", "pkg:deb/debian/b@2"]),
                        vec![("r.a".to_string(), 2), ("r.b".to_string(), 2)]
                    ),
                    (
                        s(&["pkg:deb/debian/a@1", "pkg:deb/debian/b@2"]),
                        vec![("r.a".to_string(), 2), ("r.b".to_string(), 1)]
                    ),
                ]
            );
            assert_eq!(last_two(db, d5).unwrap(), vec![]);
            // The batched read agrees (the write path keeps `prev_token`;
            // set here as it would); a device without two tokens is left out.
            db.exec(
                "UPDATE devices SET prev_token = (SELECT MAX(id) FROM tokens WHERE device_id = ?1 AND id < devices.latest_token) WHERE id = ?1",
                ps![d1],
            )
            .unwrap();
            let two = last_two(db, d1).unwrap();
            assert_eq!(
                last_two_of(db, &[d5, d1]).unwrap(),
                vec![(d1, [two[0].clone(), two[1].clone()])]
            );

            assert_eq!(
                latest_packages(db).unwrap(),
                vec![
                    (d1, s(&["pkg:deb/debian/a@1", "pkg:deb/debian/b@2"])),
                    (d2, s(&["pkg:deb/debian/a@1", "pkg:deb/debian/b@2"])),
                    (d4, vec![]),
                ]
            );

            let t = latest_token(db, d1).unwrap().unwrap();
            assert_eq!(
                t,
                TokenRow {
                    id: t3,
                    received_at: 3,
                    iat: 3,
                    seq: 3,
                    online: true,
                    raw: format!("raw-{d1}-3").into_bytes(),
                    sbom_digest: Some("abc".into()),
                }
            );
            assert!(!latest_token(db, d3).unwrap().unwrap().online);
            assert_eq!(latest_token(db, d5).unwrap(), None);

            db.exec(
                "UPDATE devices SET drifting = 1 WHERE id IN (?1, ?2)",
                ps![d2, d3],
            )
            .unwrap();
            assert_eq!(drifting(db).unwrap(), vec![d2], "active ones only");

            for (rule, n) in [("r.a", 4), ("r.b", 1), ("r.c", 0)] {
                db.exec(
                    "INSERT INTO agg_failing (rule, n) VALUES (?1, ?2)",
                    ps![rule, n],
                )
                .unwrap();
            }
            for (fr, sl, n) in [("FR1", 2, 3), ("FR1", 1, 1), ("FR2", 3, 0)] {
                db.exec(
                    "INSERT INTO agg_ceiling (fr, sl, n) VALUES (?1, ?2, ?3)",
                    ps![fr, sl, n],
                )
                .unwrap();
            }
            assert_eq!(
                aggregates(db, 50).unwrap(),
                Aggregates {
                    by_status: vec![("active".into(), 4), ("pending".into(), 1)],
                    failing: vec![("r.a".into(), 4), ("r.b".into(), 1)],
                    ceilings: vec![("FR1".into(), 1, 1), ("FR1".into(), 2, 3)],
                    silent: 3,
                    silent_ids: vec![d2, d4, d5],
                    drifting: 1,
                }
            );
        });
    }
}
