//! Writing attestations: freshness re-checked inside the transaction, the
//! rows, the incremental fleet aggregates (the previous latest token's
//! contribution retired, the new one's added), device state and the audit
//! entry — and, for file databases, the group-commit writer thread that
//! batches concurrent attestations into one transaction.

use super::sql::{first, ps, rows, transaction, Dialect, Lite, Sql};
use super::{e, Attestation, Conflict, Result, SqliteStore, StoreError};
use fieldattest_protocol::hex::hex;
use rusqlite::{params, Connection};
use std::sync::mpsc;

pub(super) fn cti_seen(db: &mut dyn Sql, device_id: i64, cti: &[u8]) -> Result<bool> {
    Ok(first(
        db,
        "SELECT 1 FROM tokens WHERE device_id = ?1 AND cti = ?2",
        ps![device_id, cti],
        |_| Ok(()),
    )?
    .is_some())
}

/// Stores one attestation: through the group-commit writer when the store
/// has one, else in a transaction on the store's connection.
pub(super) fn store_attestation(s: &SqliteStore, a: Attestation) -> Result<i64> {
    if let Some(w) = &s.writer {
        // Group commit: the writer thread batches concurrent attestations
        // into one transaction (each in its own savepoint).
        let gone = || StoreError::Database("writer thread gone".into());
        let (reply, rx) = mpsc::sync_channel(1);
        w.lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(Job { a, reply })
            .map_err(|_| gone())?;
        return rx.recv().map_err(|_| gone())?;
    }
    let c = s.c();
    transaction(&mut Lite(&c), |db| write_attestation(db, &a))
}

/// SHA-256 of a set of byte strings, each length-prefixed (u32, big
/// endian) after sorting: two different sets never share an encoding, so a
/// device cannot make its set's digest equal to another set's (a separator
/// such as a newline inside a hostile package tag or rule id could).
pub(super) fn set_digest<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut v: Vec<&[u8]> = items.into_iter().collect();
    v.sort_unstable();
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for i in v {
        ctx.update(&(i.len().min(u32::MAX as usize) as u32).to_be_bytes());
        ctx.update(i);
    }
    ctx.finish().as_ref().to_vec()
}

/// The result set of a token's rule results (each `rule` + result code,
/// repeats kept): found by digest or created with its rows. Devices
/// running the same image and configuration share one set, and an
/// unchanged device's next token writes no result rows.
fn result_set(db: &mut dyn Sql, results: &[(String, u8)]) -> Result<(i64, Vec<u8>)> {
    let encoded: Vec<Vec<u8>> = results
        .iter()
        .map(|(r, c)| {
            let mut b = r.as_bytes().to_vec();
            b.push(*c);
            b
        })
        .collect();
    let digest = set_digest(encoded.iter().map(Vec::as_slice));
    let find = |db: &mut dyn Sql| {
        first(
            db,
            "SELECT id FROM result_sets WHERE digest = ?1",
            ps![&digest],
            |r| r.i64(0),
        )
    };
    if let Some(id) = find(db)? {
        return Ok((id, digest));
    }
    // Replicas creating the same set at once: the loser's insert does
    // nothing (after the winner's commit) and it reads the winner's id.
    let Some(id) = first(
        db,
        "INSERT INTO result_sets (digest, n) VALUES (?1, ?2) ON CONFLICT (digest) DO NOTHING RETURNING id",
        ps![&digest, results.len() as i64],
        |r| r.i64(0),
    )?
    else {
        let id = find(db)?
            .ok_or_else(|| StoreError::Database("result set vanished while created".into()))?;
        return Ok((id, digest));
    };
    for (r, code) in results {
        db.exec(
            "INSERT INTO result_set_rows (set_id, rule, result) VALUES (?1, ?2, ?3)",
            ps![id, r, *code as i64],
        )?;
    }
    Ok((id, digest))
}

/// The result-set migration: each stored token's rule results (still in
/// the per-token table) moved to its set, and every package set's digest
/// recomputed with [`set_digest`] from its items.
pub(super) fn backfill_sets(c: &Connection) -> Result<()> {
    let tokens: Vec<i64> = c
        .prepare("SELECT id FROM tokens ORDER BY id")
        .map_err(e)?
        .query_map([], |r| r.get(0))
        .map_err(e)?
        .collect::<rusqlite::Result<_>>()
        .map_err(e)?;
    let mut rows = c
        .prepare("SELECT rule, result FROM rule_results WHERE token_id = ?1")
        .map_err(e)?;
    for t in tokens {
        let results: Vec<(String, u8)> = rows
            .query_map([t], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)?.clamp(0, 255) as u8))
            })
            .map_err(e)?
            .collect::<rusqlite::Result<_>>()
            .map_err(e)?;
        let (set, digest) = result_set(&mut Lite(c), &results)?;
        c.execute(
            "UPDATE tokens SET rset = ?1, results_digest = ?2 WHERE id = ?3",
            params![set, hex(&digest), t],
        )
        .map_err(e)?;
    }
    let sets: Vec<i64> = c
        .prepare("SELECT id FROM pkgsets ORDER BY id")
        .map_err(e)?
        .query_map([], |r| r.get(0))
        .map_err(e)?
        .collect::<rusqlite::Result<_>>()
        .map_err(e)?;
    let mut items = c
        .prepare("SELECT purl FROM pkgset_items WHERE set_id = ?1")
        .map_err(e)?;
    for set in sets {
        let tags: Vec<String> = items
            .query_map([set], |r| r.get(0))
            .map_err(e)?
            .collect::<rusqlite::Result<_>>()
            .map_err(e)?;
        let digest = set_digest(tags.iter().map(|t| t.as_bytes()));
        c.execute(
            "UPDATE pkgsets SET digest = ?1 WHERE id = ?2",
            params![digest, set],
        )
        .map_err(e)?;
    }
    Ok(())
}

/// A stored token's (fr, sl) ceilings, sorted.
fn ceilings_of(db: &mut dyn Sql, token: i64) -> Result<Vec<(String, i64)>> {
    rows(
        db,
        "SELECT fr, sl FROM ceilings WHERE token_id = ?1 ORDER BY fr, sl",
        ps![token],
        |r| Ok((r.text(0)?, r.i64(1)?)),
    )
}

/// Distinct key fingerprints of a token, sorted.
fn prints_of(db: &mut dyn Sql, token: i64) -> Result<Vec<String>> {
    rows(
        db,
        "SELECT DISTINCT fingerprint FROM key_prints WHERE token_id = ?1 ORDER BY 1",
        ps![token],
        |r| r.text(0),
    )
}

/// The advisory lock key of aggregate maintenance on PostgreSQL.
const AGGREGATES_LOCK: i64 = 0x6669_656c_6461_6767; // "fieldagg"

/// (last seq, latest token, its package set, its result set).
type DeviceState = (Option<i64>, Option<i64>, Option<i64>, Option<i64>);

/// The device's row as the write starts: (last seq, latest token, its
/// package set, its result set). On PostgreSQL the row is locked until the
/// transaction ends, so that concurrent writes of one device through
/// different replicas check `seq` and `cti` one after the other (SQLite
/// has one writer).
fn device_state(db: &mut dyn Sql, device_id: i64) -> Result<DeviceState> {
    let sql = match db.dialect() {
        Dialect::Sqlite => {
            "SELECT d.last_seq, d.latest_token, t.pkgset, t.rset FROM devices d
               LEFT JOIN tokens t ON t.id = d.latest_token WHERE d.id = ?1"
        }
        Dialect::Postgres => {
            "SELECT d.last_seq, d.latest_token, t.pkgset, t.rset FROM devices d
               LEFT JOIN tokens t ON t.id = d.latest_token WHERE d.id = ?1 FOR UPDATE OF d"
        }
    };
    first(db, sql, ps![device_id], |r| {
        Ok((r.opt_i64(0)?, r.opt_i64(1)?, r.opt_i64(2)?, r.opt_i64(3)?))
    })?
    .ok_or_else(|| StoreError::NotFound(format!("device {device_id}")))
}

/// Writes one attestation inside the caller's transaction: freshness checked
/// again atomically ([`StoreError::Conflict`]), rows, incremental
/// aggregates, device state and the audit entry. What an unchanged device
/// sends again (the same package set, result set, ceilings and keys) costs
/// the token's own row and the device's: the shared sets are found by
/// digest and the aggregates, which would retire and re-add the same
/// contribution, are left alone.
pub(super) fn write_attestation(db: &mut dyn Sql, a: &Attestation) -> Result<i64> {
    let (last, old, old_pkgset, old_rset) = device_state(db, a.device_id)?;
    // The cti first: the same token posted twice at once is a duplicate,
    // whichever of the two is stored.
    if cti_seen(db, a.device_id, &a.cti)? {
        return Err(StoreError::Conflict(Conflict::DuplicateCti));
    }
    if let Some(l) = last {
        if a.seq <= l {
            return Err(StoreError::Conflict(Conflict::SequenceReplay {
                seq: a.seq,
                last: l,
            }));
        }
    }
    let set = super::console::pkgset(db, &a.packages)?;
    let (rset, rdigest) = result_set(db, &a.results)?;
    let rdigest = hex(&rdigest);
    let tid = first(
        db,
        "INSERT INTO tokens (device_id, received_at, iat, seq, cti, raw, online, packages, results_digest, sbom_digest, ceiling_dispute, pkgset, hostname, key_tier, rset) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, '', ?8, ?9, ?10, ?11, ?12, ?13, ?14) RETURNING id",
        ps![a.device_id, a.received_at, a.iat, a.seq, &a.cti, &a.raw, a.online, &rdigest, a.sbom_digest.as_ref(), a.ceiling_dispute.as_ref(), set, a.hostname.as_ref(), a.key_tier.as_ref(), rset],
        |r| r.i64(0),
    )?
    .ok_or_else(|| StoreError::Database("token insert returned no id".into()))?;
    for (k, p, f) in &a.keys {
        db.exec(
            "INSERT INTO key_prints (token_id, device_id, kind, path, fingerprint) VALUES (?1, ?2, ?3, ?4, ?5)",
            ps![tid, a.device_id, k, p, f],
        )?;
    }
    for (fr, sl) in &a.sl_ceiling {
        db.exec(
            "INSERT INTO ceilings (token_id, fr, sl) VALUES (?1, ?2, ?3)",
            ps![tid, fr, *sl as i64],
        )?;
    }
    for (rule, subject, path, accepted) in &a.findings {
        db.exec(
            "INSERT INTO token_findings (token_id, rule, subject, path, accepted) VALUES (?1, ?2, ?3, ?4, ?5)",
            ps![tid, rule, subject, path, accepted.as_ref()],
        )?;
    }
    // Incremental fleet aggregates: the previous latest token's
    // contribution retired and this one's added, where they differ. A
    // device counts once per failing rule, (FR, SL) and fingerprint.
    let rules_changed = old_rset != Some(rset);
    // This token's rows compared from memory, in the order the reads of
    // the previous token's give them (bytewise: SQLite's BINARY collation,
    // PostgreSQL's "C").
    let (ceilings_changed, keys_changed) = match old {
        Some(old) => {
            let mut ceilings: Vec<(String, i64)> = a
                .sl_ceiling
                .iter()
                .map(|(fr, sl)| (fr.clone(), *sl as i64))
                .collect();
            ceilings.sort();
            let mut prints: Vec<String> = a.keys.iter().map(|k| k.2.clone()).collect();
            prints.sort();
            prints.dedup();
            (
                ceilings_of(db, old)? != ceilings,
                prints_of(db, old)? != prints,
            )
        }
        None => (true, true),
    };
    // PostgreSQL: writers changing the aggregates take their rows one
    // writer at a time (a transaction-scoped lock), or two of them updating
    // the same rules in different orders deadlock; SQLite has one writer.
    if db.dialect() == Dialect::Postgres && (rules_changed || ceilings_changed || keys_changed) {
        db.exec("SELECT pg_advisory_xact_lock(?1)", ps![AGGREGATES_LOCK])?;
    }
    if let Some(old) = old {
        if rules_changed {
            db.exec("UPDATE agg_failing SET n = n - 1 WHERE rule IN (SELECT rule FROM result_set_rows WHERE set_id = (SELECT rset FROM tokens WHERE id = ?1) AND result = 2)", ps![old])?;
        }
        if ceilings_changed {
            db.exec("UPDATE agg_ceiling SET n = n - 1 WHERE EXISTS (SELECT 1 FROM ceilings c WHERE c.token_id = ?1 AND c.fr = agg_ceiling.fr AND c.sl = agg_ceiling.sl)", ps![old])?;
        }
        if keys_changed {
            db.exec("UPDATE agg_keys SET n = n - 1 WHERE fingerprint IN (SELECT fingerprint FROM key_prints WHERE token_id = ?1)", ps![old])?;
        }
    }
    if rules_changed {
        db.exec("INSERT INTO agg_failing (rule, n) SELECT DISTINCT rule, 1 FROM result_set_rows WHERE set_id = ?1 AND result = 2 ON CONFLICT(rule) DO UPDATE SET n = agg_failing.n + 1", ps![rset])?;
    }
    if ceilings_changed {
        db.exec("INSERT INTO agg_ceiling (fr, sl, n) SELECT DISTINCT fr, sl, 1 FROM ceilings WHERE token_id = ?1 ON CONFLICT(fr, sl) DO UPDATE SET n = agg_ceiling.n + 1", ps![tid])?;
    }
    if keys_changed {
        db.exec("INSERT INTO agg_keys (fingerprint, kind, n) SELECT fingerprint, MIN(kind), 1 FROM key_prints WHERE token_id = ?1 AND fingerprint != 'unavailable' GROUP BY fingerprint ON CONFLICT(fingerprint) DO UPDATE SET n = agg_keys.n + 1", ps![tid])?;
    }
    // Drift: a different package set or result set than the previous token.
    let drifting = old.is_some() && (old_pkgset != Some(set) || rules_changed);
    db.exec(
        "UPDATE devices SET last_seq = CASE WHEN last_seq IS NULL OR last_seq < ?1 THEN ?1 ELSE last_seq END, last_seen = ?2, prev_token = latest_token, latest_token = ?3, drifting = ?4 WHERE id = ?5",
        ps![a.seq, a.received_at, tid, drifting, a.device_id],
    )?;
    // A host or TLS key that appeared or went away.
    if old.is_some() && keys_changed {
        db.exec(
            "UPDATE devices SET keys_changed = ?1 WHERE id = ?2",
            ps![a.received_at, a.device_id],
        )?;
    }
    super::console::refresh_device(db, a.device_id, tid, rules_changed)?;
    super::device_claims::replace(db, a)?;
    super::audit::audit_in(
        db,
        a.received_at,
        Some(&a.kid),
        Some(a.device_id),
        "accepted",
        &a.audit_reason,
    )?;
    Ok(tid)
}

pub(super) struct Job {
    a: Attestation,
    reply: mpsc::SyncSender<Result<i64>>,
}

/// The group-commit writer: one connection, batches of up to 128 jobs per
/// transaction, one savepoint per job so a refused job does not undo others.
pub(super) fn writer_loop(conn: Connection, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < 128 {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let mut results = Vec::with_capacity(batch.len());
        let r = (|| -> rusqlite::Result<()> {
            let run = |sql: &str| conn.prepare_cached(sql)?.execute([]).map(|_| ());
            run("BEGIN IMMEDIATE")?;
            for j in &batch {
                run("SAVEPOINT one")?;
                match write_attestation(&mut Lite(&conn), &j.a) {
                    Ok(t) => {
                        run("RELEASE one")?;
                        results.push(Ok(t));
                    }
                    Err(m) => {
                        conn.execute_batch("ROLLBACK TO one; RELEASE one")?;
                        results.push(Err(m));
                    }
                }
            }
            run("COMMIT")
        })();
        match r {
            Ok(()) => {
                for (j, r) in batch.into_iter().zip(results) {
                    let _ = j.reply.send(r);
                }
            }
            Err(x) => {
                let _ = conn.execute_batch("ROLLBACK");
                for j in batch {
                    let _ = j.reply.send(Err(StoreError::Database(x.to_string())));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::device_claims::tests::attestation;
    use super::super::devices::insert_device;
    use super::super::sql::cluster::on_both;
    use super::*;

    /// A token stored again (its cti known) is a duplicate whatever its
    /// seq — the answer a device's spool needs to drop it — and only a new
    /// cti with an old seq is a replay.
    #[test]
    fn a_known_cti_is_a_duplicate_before_an_old_seq_is_a_replay() {
        on_both(|db| {
            let d = insert_device(db, b"k", b"u", b"p", "a", 1).unwrap();
            let token = |seq: i64, cti: u8| Attestation {
                seq,
                cti: vec![cti; 16],
                ..attestation(d, vec![], vec![])
            };
            let mut store = |a: Attestation| transaction(db, |db| write_attestation(db, &a));
            store(token(5, 1)).unwrap();
            let duplicate = Err(StoreError::Conflict(Conflict::DuplicateCti));
            assert_eq!(store(token(5, 1)), duplicate);
            assert_eq!(store(token(6, 1)), duplicate);
            assert_eq!(
                store(token(4, 2)),
                Err(StoreError::Conflict(Conflict::SequenceReplay {
                    seq: 4,
                    last: 5
                }))
            );
            store(token(6, 2)).unwrap();
        });
    }

    #[test]
    fn a_separator_inside_an_item_cannot_make_two_sets_share_a_digest() {
        let joined: [&[u8]; 1] = [b"pkg:deb/debian/a@1\npkg:deb/debian/b@1"];
        let split: [&[u8]; 2] = [b"pkg:deb/debian/a@1", b"pkg:deb/debian/b@1"];
        assert_ne!(set_digest(joined), set_digest(split));
        // Order does not matter; the items do.
        let swapped: [&[u8]; 2] = [b"pkg:deb/debian/b@1", b"pkg:deb/debian/a@1"];
        assert_eq!(set_digest(split), set_digest(swapped));
        let empty: [&[u8]; 1] = [b""];
        assert_ne!(set_digest(empty), set_digest([] as [&[u8]; 0]));
    }
}
