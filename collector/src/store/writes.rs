//! Writing attestations: freshness re-checked inside the transaction, the
//! rows, the incremental fleet aggregates (the previous latest token's
//! contribution retired, the new one's added), device state and the audit
//! entry — and, for file databases, the group-commit writer thread that
//! batches concurrent attestations into one transaction.

use super::{e, Attestation, Conflict, Result, SqliteStore, StoreError};
use fieldattest_protocol::hex::hex;
use rusqlite::{params, Connection, OptionalExtension};
use std::sync::mpsc;

pub(super) fn cti_seen(c: &Connection, device_id: i64, cti: &[u8]) -> Result<bool> {
    Ok(c.query_row(
        "SELECT 1 FROM tokens WHERE device_id = ?1 AND cti = ?2",
        params![device_id, cti],
        |_| Ok(()),
    )
    .optional()
    .map_err(e)?
    .is_some())
}

/// Stores one attestation: through the group-commit writer when the store
/// has one, else in a transaction on the store's connection.
pub(super) fn store_attestation(s: &SqliteStore, a: &Attestation) -> Result<i64> {
    if let Some(w) = &s.writer {
        // Group commit: the writer thread batches concurrent attestations
        // into one transaction (each in its own savepoint).
        let gone = || StoreError::Database("writer thread gone".into());
        let (reply, rx) = mpsc::sync_channel(1);
        w.lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(Job {
                a: a.clone(),
                reply,
            })
            .map_err(|_| gone())?;
        return rx.recv().map_err(|_| gone())?;
    }
    let mut c = s.c();
    let tx = c.transaction().map_err(e)?;
    let tid = write_attestation(&tx, a)?;
    tx.commit().map_err(e)?;
    Ok(tid)
}

/// Writes one attestation inside the caller's transaction: freshness checked
/// again atomically ([`StoreError::Conflict`]), rows, incremental
/// aggregates, device state and the audit entry.
fn write_attestation(tx: &Connection, a: &Attestation) -> Result<i64> {
    let last: Option<i64> = tx
        .query_row(
            "SELECT last_seq FROM devices WHERE id = ?1",
            [a.device_id],
            |r| r.get(0),
        )
        .map_err(e)?;
    if let Some(l) = last {
        if a.seq <= l {
            return Err(StoreError::Conflict(Conflict::SequenceReplay {
                seq: a.seq,
                last: l,
            }));
        }
    }
    if tx
        .query_row(
            "SELECT 1 FROM tokens WHERE device_id = ?1 AND cti = ?2",
            params![a.device_id, a.cti],
            |_| Ok(()),
        )
        .optional()
        .map_err(e)?
        .is_some()
    {
        return Err(StoreError::Conflict(Conflict::DuplicateCti));
    }
    let mut sorted: Vec<String> = a.results.iter().map(|(r, c)| format!("{r}={c}")).collect();
    sorted.sort();
    let digest =
        hex(ring::digest::digest(&ring::digest::SHA256, sorted.join("\n").as_bytes()).as_ref());
    let set = super::console::pkgset(tx, &a.packages)?;
    tx.prepare_cached(
        "INSERT INTO tokens (device_id, received_at, iat, seq, cti, raw, online, packages, results_digest, sbom_digest, ceiling_dispute, pkgset, hostname, key_tier) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, '', ?8, ?9, ?10, ?11, ?12, ?13)",
    )
    .map_err(e)?
    .execute(params![a.device_id, a.received_at, a.iat, a.seq, a.cti, a.raw, a.online as i64, digest, a.sbom_digest, a.ceiling_dispute, set, a.hostname, a.key_tier])
    .map_err(e)?;
    let tid = tx.last_insert_rowid();
    {
        let mut st = tx
            .prepare_cached("INSERT INTO rule_results (token_id, rule, result) VALUES (?1, ?2, ?3)")
            .map_err(e)?;
        for (r, code) in &a.results {
            st.execute(params![tid, r, *code as i64]).map_err(e)?;
        }
        let mut st = tx.prepare_cached("INSERT INTO key_prints (token_id, device_id, kind, path, fingerprint) VALUES (?1, ?2, ?3, ?4, ?5)").map_err(e)?;
        for (k, p, f) in &a.keys {
            st.execute(params![tid, a.device_id, k, p, f]).map_err(e)?;
        }
        let mut st = tx
            .prepare_cached("INSERT INTO ceilings (token_id, fr, sl) VALUES (?1, ?2, ?3)")
            .map_err(e)?;
        for (fr, sl) in &a.sl_ceiling {
            st.execute(params![tid, fr, *sl as i64]).map_err(e)?;
        }
        let mut st = tx.prepare_cached("INSERT INTO token_findings (token_id, rule, subject, path, accepted) VALUES (?1, ?2, ?3, ?4, ?5)").map_err(e)?;
        for (rule, subject, path, accepted) in &a.findings {
            st.execute(params![tid, rule, subject, path, accepted])
                .map_err(e)?;
        }
    }
    // Incremental fleet aggregates: retire the previous latest token's
    // contribution, add this one's. Drift: compare with that token.
    let old: Option<i64> = tx
        .query_row(
            "SELECT latest_token FROM devices WHERE id = ?1",
            [a.device_id],
            |r| r.get(0),
        )
        .map_err(e)?;
    let mut drifting = false;
    let mut keys_changed = false;
    if let Some(old) = old {
        tx.prepare_cached("UPDATE agg_failing SET n = n - 1 WHERE rule IN (SELECT rule FROM rule_results WHERE token_id = ?1 AND result = 2)").map_err(e)?.execute([old]).map_err(e)?;
        tx.prepare_cached("UPDATE agg_ceiling SET n = n - 1 WHERE EXISTS (SELECT 1 FROM ceilings c WHERE c.token_id = ?1 AND c.fr = agg_ceiling.fr AND c.sl = agg_ceiling.sl)").map_err(e)?.execute([old]).map_err(e)?;
        tx.prepare_cached("UPDATE agg_keys SET n = n - 1 WHERE fingerprint IN (SELECT DISTINCT fingerprint FROM key_prints WHERE token_id = ?1)").map_err(e)?.execute([old]).map_err(e)?;
        let (op, od): (Option<i64>, String) = tx
            .query_row(
                "SELECT pkgset, results_digest FROM tokens WHERE id = ?1",
                [old],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(e)?;
        drifting = op != Some(set) || od != digest;
        // A host or TLS key that appeared or went away.
        keys_changed = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT fingerprint FROM key_prints WHERE token_id = ?1
                   EXCEPT SELECT fingerprint FROM key_prints WHERE token_id = ?2)
                 OR EXISTS (SELECT fingerprint FROM key_prints WHERE token_id = ?2
                   EXCEPT SELECT fingerprint FROM key_prints WHERE token_id = ?1)",
            )
            .map_err(e)?
            .query_row([old, tid], |r| r.get(0))
            .map_err(e)?;
    }
    tx.prepare_cached("INSERT INTO agg_failing (rule, n) SELECT rule, 1 FROM rule_results WHERE token_id = ?1 AND result = 2 ON CONFLICT(rule) DO UPDATE SET n = n + 1").map_err(e)?.execute([tid]).map_err(e)?;
    tx.prepare_cached("INSERT INTO agg_ceiling (fr, sl, n) SELECT fr, sl, 1 FROM ceilings WHERE token_id = ?1 ON CONFLICT(fr, sl) DO UPDATE SET n = n + 1").map_err(e)?.execute([tid]).map_err(e)?;
    tx.prepare_cached("INSERT INTO agg_keys (fingerprint, kind, n) SELECT fingerprint, MIN(kind), 1 FROM key_prints WHERE token_id = ?1 AND fingerprint != 'unavailable' GROUP BY fingerprint ON CONFLICT(fingerprint) DO UPDATE SET n = n + 1").map_err(e)?.execute([tid])
    .map_err(e)?;
    tx.prepare_cached(
        "UPDATE devices SET last_seq = MAX(COALESCE(last_seq, 0), ?1), last_seen = ?2, prev_token = latest_token, latest_token = ?3, drifting = ?4 WHERE id = ?5",
    )
    .map_err(e)?
    .execute(params![a.seq, a.received_at, tid, drifting as i64, a.device_id])
    .map_err(e)?;
    if keys_changed {
        tx.prepare_cached("UPDATE devices SET keys_changed = ?1 WHERE id = ?2")
            .map_err(e)?
            .execute([a.received_at, a.device_id])
            .map_err(e)?;
    }
    super::console::refresh_device(tx, a.device_id, tid)?;
    super::device_claims::replace(tx, a)?;
    super::audit::audit_in(
        tx,
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
                match write_attestation(&conn, &j.a) {
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
