//! The audit trail.
//!
//! **The audit trail is tamper-evident.** Each row carries `prev_hash` (the
//! previous row's `hash`) and `hash` = SHA-256 over `prev_hash` and its own
//! fields in a canonical, length-prefixed encoding ([`chain_hash`]); editing,
//! inserting or deleting a row breaks the chain at that row or the next one,
//! which [`verify_audit`] (`fieldattest-collector audit verify`) names.
//! Removing the newest rows is not detectable from the table alone.
//!
//! **It is bounded in what unauthenticated requests write**: reasons are cut
//! at [`MAX_REASON`] bytes with a marker, and a failure repeating from one
//! source with the same outcome and reason within [`AUDIT_WINDOW`] seconds —
//! or any failure from a source that already wrote [`AUDIT_ROWS_PER_SOURCE`]
//! rows in that window — increments a counter in `audit_repeats` (keyed by the
//! row it repeats) instead of adding a row. The counters live outside the
//! chain on purpose: a chained row never changes after it is written, so the
//! chain stays verifiable without re-hashing; the counter only says how often
//! a chained, already-evident event recurred (its loss understates volume, it
//! cannot hide or forge an event).

use super::sql::{first, ps, rows, transaction, Dialect, Sql, P};
use super::{AuditEntry, Result};
use fieldattest_protocol::hex::hex;

/// Longest audit reason kept, in bytes (longer ones are cut with a marker).
pub const MAX_REASON: usize = 512;
/// The coalescing window of repeated failures from one source, in seconds.
pub const AUDIT_WINDOW: i64 = 60;
/// Audit rows one source may add per [`AUDIT_WINDOW`]; beyond, failures coalesce.
pub const AUDIT_ROWS_PER_SOURCE: i64 = 30;

/// `reason` cut to [`MAX_REASON`] bytes at a character boundary, marked.
pub fn bound_reason(reason: &str) -> std::borrow::Cow<'_, str> {
    if reason.len() <= MAX_REASON {
        return reason.into();
    }
    let mut end = MAX_REASON;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [cut: {} bytes]", &reason[..end], reason.len()).into()
}

/// One audit row's fields as hashed into the chain.
struct Row<'a> {
    id: i64,
    at: i64,
    kid: Option<&'a str>,
    device_id: Option<i64>,
    outcome: &'a str,
    reason: &'a str,
    source: Option<&'a str>,
}

/// SHA-256 over the previous hash and the row's fields, each length-prefixed
/// (optional ones with a presence byte), so no two rows encode alike.
fn chain_hash(prev: &[u8], r: &Row) -> Vec<u8> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut field = |b: Option<&[u8]>| match b {
        None => ctx.update(&[0]),
        Some(b) => {
            ctx.update(&[1]);
            ctx.update(&(b.len() as u64).to_be_bytes());
            ctx.update(b);
        }
    };
    field(Some(prev));
    field(Some(&r.id.to_be_bytes()));
    field(Some(&r.at.to_be_bytes()));
    field(r.kid.map(str::as_bytes));
    field(r.device_id.map(i64::to_be_bytes).as_ref().map(|b| &b[..]));
    field(Some(r.outcome.as_bytes()));
    field(Some(r.reason.as_bytes()));
    field(r.source.map(str::as_bytes));
    ctx.finish().as_ref().to_vec()
}

/// The advisory lock that orders chain appends across replicas.
const CHAIN_LOCK: i64 = 0x6661_2d61_7564_6974; // "fa-audit"

/// Appends a chained row; the caller holds a write transaction. On
/// PostgreSQL the chain's head is read under a transaction-scoped advisory
/// lock, so replicas appending at once chain one after the other (SQLite's
/// write transaction already serialises them).
fn append(db: &mut dyn Sql, r: &mut Row) -> Result<()> {
    if db.dialect() == Dialect::Postgres {
        db.exec("SELECT pg_advisory_xact_lock(?1)", ps![CHAIN_LOCK])?;
    }
    let (last, prev) = first(
        db,
        "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1",
        &[],
        |x| Ok((x.i64(0)?, x.opt_blob(1)?.unwrap_or_default())),
    )?
    .unwrap_or_default();
    r.id = last + 1;
    let hash = chain_hash(&prev, r);
    db.exec(
        "INSERT INTO audit (id, at, kid, device_id, outcome, reason, source, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        ps![r.id, r.at, r.kid, r.device_id, r.outcome, r.reason, r.source, &prev, &hash],
    )?;
    Ok(())
}

/// Writes an audit entry inside the caller's transaction (attestations).
pub(super) fn audit_in(
    db: &mut dyn Sql,
    at: i64,
    kid: Option<&[u8]>,
    device_id: Option<i64>,
    outcome: &str,
    reason: &str,
) -> Result<()> {
    write_row(db, None, at, kid, device_id, outcome, reason)
}

/// One chained row with the reason bounded; the caller holds a write transaction.
fn write_row(
    db: &mut dyn Sql,
    source: Option<&str>,
    at: i64,
    kid: Option<&[u8]>,
    device_id: Option<i64>,
    outcome: &str,
    reason: &str,
) -> Result<()> {
    let kid = kid.map(hex);
    let reason = bound_reason(reason);
    append(
        db,
        &mut Row {
            id: 0,
            at,
            kid: kid.as_deref(),
            device_id,
            outcome,
            reason: &reason,
            source,
        },
    )
}

pub(super) fn audit(
    db: &mut dyn Sql,
    at: i64,
    kid: Option<&[u8]>,
    device_id: Option<i64>,
    outcome: &str,
    reason: &str,
) -> Result<()> {
    audit_from(db, None, at, kid, device_id, outcome, reason)
}

/// An audit entry of a request from `source` (its address; `None`: a local
/// operator action), chained, with the reason bounded and repeats coalesced.
pub(super) fn audit_from(
    db: &mut dyn Sql,
    source: Option<&str>,
    at: i64,
    kid: Option<&[u8]>,
    device_id: Option<i64>,
    outcome: &str,
    reason: &str,
) -> Result<()> {
    let bounded = bound_reason(reason);
    transaction(db, |db| {
        if let Some(src) = source {
            if db.dialect() == Dialect::Postgres {
                // The look for a row to coalesce into and the append are one
                // step: without the chain's lock, replicas (or one replica's
                // concurrent requests) under READ COMMITTED all find no row
                // and each append one.
                db.exec("SELECT pg_advisory_xact_lock(?1)", ps![CHAIN_LOCK])?;
            }
            let since = at - AUDIT_WINDOW;
            let same = first(
                db,
                "SELECT id FROM audit WHERE source = ?1 AND at >= ?2 AND outcome = ?3 AND reason = ?4 ORDER BY id DESC LIMIT 1",
                ps![src, since, outcome, &*bounded],
                |r| r.i64(0),
            )?;
            let target = match same {
                Some(id) => Some(id),
                None => {
                    let (n, latest) = first(
                        db,
                        "SELECT count(*), max(id) FROM audit WHERE source = ?1 AND at >= ?2",
                        ps![src, since],
                        |r| Ok((r.i64(0)?, r.opt_i64(1)?)),
                    )?
                    .unwrap_or((0, None));
                    latest.filter(|_| n >= AUDIT_ROWS_PER_SOURCE)
                }
            };
            if let Some(id) = target {
                db.exec(
                    "INSERT INTO audit_repeats (audit_id, n, last_at) VALUES (?1, 1, ?2)
                     ON CONFLICT(audit_id) DO UPDATE SET n = audit_repeats.n + 1, last_at = excluded.last_at",
                    ps![id, at],
                )?;
                return Ok(());
            }
        }
        write_row(db, source, at, kid, device_id, outcome, reason)
    })
}

/// Chains rows written before the chain existed (once, in the migration
/// that adds it).
pub(super) fn seal_audit(db: &mut dyn Sql) -> Result<()> {
    let rows = read_rows(db)?;
    let mut prev = Vec::new();
    for r in rows {
        let hash = chain_hash(&prev, &r.row());
        db.exec(
            "UPDATE audit SET prev_hash = ?1, hash = ?2 WHERE id = ?3",
            ps![&prev, &hash, r.id],
        )?;
        prev = hash;
    }
    Ok(())
}

struct Stored {
    id: i64,
    at: i64,
    kid: Option<String>,
    device_id: Option<i64>,
    outcome: String,
    reason: String,
    source: Option<String>,
    prev_hash: Option<Vec<u8>>,
    hash: Option<Vec<u8>>,
}

impl Stored {
    fn row(&self) -> Row<'_> {
        Row {
            id: self.id,
            at: self.at,
            kid: self.kid.as_deref(),
            device_id: self.device_id,
            outcome: &self.outcome,
            reason: &self.reason,
            source: self.source.as_deref(),
        }
    }
}

fn read_rows(db: &mut dyn Sql) -> Result<Vec<Stored>> {
    rows(
        db,
        "SELECT id, at, kid, device_id, outcome, reason, source, prev_hash, hash FROM audit ORDER BY id",
        &[],
        |r| {
            Ok(Stored {
                id: r.i64(0)?,
                at: r.i64(1)?,
                kid: r.opt_text(2)?,
                device_id: r.opt_i64(3)?,
                outcome: r.text(4)?,
                reason: r.text(5)?,
                source: r.opt_text(6)?,
                prev_hash: r.opt_blob(7)?,
                hash: r.opt_blob(8)?,
            })
        },
    )
}

/// Checks the whole audit chain: the number of rows and the first broken one
/// (its id and what is wrong), if any.
pub(super) fn verify_audit(db: &mut dyn Sql) -> Result<super::AuditCheck> {
    let rows = read_rows(db)?;
    let mut prev: Vec<u8> = Vec::new();
    let n = rows.len() as u64;
    for r in rows {
        if r.prev_hash.as_deref() != Some(&prev[..]) {
            return Ok(super::AuditCheck {
                rows: n,
                broken: Some((r.id, "does not follow the previous entry (an entry before it was removed, inserted or altered)".into())),
            });
        }
        let h = chain_hash(&prev, &r.row());
        if r.hash.as_deref() != Some(&h[..]) {
            return Ok(super::AuditCheck {
                rows: n,
                broken: Some((
                    r.id,
                    "its fields do not match its hash (the entry was altered)".into(),
                )),
            });
        }
        prev = h;
    }
    Ok(super::AuditCheck {
        rows: n,
        broken: None,
    })
}

pub(super) fn audit_log(db: &mut dyn Sql, limit: i64) -> Result<Vec<AuditEntry>> {
    entries(db, "", &[P::I(limit)])
}

/// A device's entries, newest first (index `audit_device`).
pub(super) fn audit_for_device(
    db: &mut dyn Sql,
    device_id: i64,
    limit: i64,
) -> Result<Vec<AuditEntry>> {
    entries(
        db,
        "WHERE a.device_id = ?2",
        &[P::I(limit), P::I(device_id)],
    )
}

fn entries(db: &mut dyn Sql, filter: &str, p: &[P]) -> Result<Vec<AuditEntry>> {
    rows(
        db,
        &format!("SELECT a.at, a.kid, a.device_id, a.outcome, a.reason, coalesce(r.n, 0), a.source FROM audit a LEFT JOIN audit_repeats r ON r.audit_id = a.id {filter} ORDER BY a.id DESC LIMIT ?1"),
        p,
        |r| {
            Ok(AuditEntry {
                at: r.i64(0)?,
                kid: r.opt_text(1)?,
                device_id: r.opt_i64(2)?,
                outcome: r.text(3)?,
                reason: r.text(4)?,
                repeats: r.i64(5)?.max(0) as u64,
                source: r.opt_text(6)?,
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::super::{SqliteStore, Store};

    #[test]
    fn the_audit_chain_detects_an_edited_or_removed_entry() {
        use super::super::SqliteStore;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c.db");
        let s = SqliteStore::open(&p).unwrap();
        for i in 0..5 {
            s.audit(i, Some(b"k"), Some(1), "approved", &format!("operator {i}"))
                .unwrap();
        }
        let ok = s.verify_audit().unwrap();
        assert_eq!((ok.rows, ok.broken), (5, None));
        drop(s);
        let c = rusqlite::Connection::open(&p).unwrap();
        c.execute("UPDATE audit SET reason = 'forged' WHERE id = 3", [])
            .unwrap();
        drop(c);
        let s = SqliteStore::open(&p).unwrap();
        assert_eq!(s.verify_audit().unwrap().broken.map(|b| b.0), Some(3));
        drop(s);
        let c = rusqlite::Connection::open(&p).unwrap();
        c.execute("UPDATE audit SET reason = 'operator 2' WHERE id = 3", [])
            .unwrap();
        c.execute("DELETE FROM audit WHERE id = 2", []).unwrap();
        drop(c);
        let s = SqliteStore::open(&p).unwrap();
        assert_eq!(s.verify_audit().unwrap().broken.map(|b| b.0), Some(3));
    }

    #[test]
    fn a_devices_entries_newest_first_with_their_source() {
        let s = SqliteStore::memory().unwrap();
        for i in 0..5 {
            s.audit(i, None, Some(i % 2), "approved", &format!("n{i}"))
                .unwrap();
        }
        s.audit_from(Some("10.0.0.9"), 9, None, Some(1), "rejected", "bad")
            .unwrap();
        let l = s.audit_for_device(1, 50).unwrap();
        let reasons: Vec<&str> = l.iter().map(|a| a.reason.as_str()).collect();
        assert_eq!(reasons, ["bad", "n3", "n1"]);
        assert_eq!(l[0].source.as_deref(), Some("10.0.0.9"));
        assert_eq!(s.audit_for_device(1, 2).unwrap().len(), 2);
        let plan: String = s
            .c()
            .query_row(
                "EXPLAIN QUERY PLAN SELECT id FROM audit a WHERE a.device_id = 1 ORDER BY a.id DESC",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("audit_device"), "{plan}");
    }

    #[test]
    fn unauthenticated_audit_writes_are_cut_and_coalesced_per_source() {
        use super::{AUDIT_ROWS_PER_SOURCE, AUDIT_WINDOW, MAX_REASON};
        let s = SqliteStore::memory().unwrap();
        let huge = "é".repeat(200_000);
        for _ in 0..200 {
            s.audit_from(Some("10.0.0.1"), 100, None, None, "rejected", &huge)
                .unwrap();
        }
        let log = s.audit_log(1000).unwrap();
        assert_eq!(log.len(), 1, "200 identical failures: one row");
        assert!(log[0].reason.len() < MAX_REASON + 64);
        assert!(
            log[0].reason.ends_with("[cut: 400000 bytes]"),
            "{}",
            log[0].reason
        );
        // Varying reasons: at most AUDIT_ROWS_PER_SOURCE rows per window.
        for i in 0..500 {
            s.audit_from(
                Some("10.0.0.2"),
                100,
                None,
                None,
                "rejected",
                &format!("garbage {i}"),
            )
            .unwrap();
        }
        let n = s.audit_log(10_000).unwrap().len() as i64;
        assert_eq!(n, 1 + AUDIT_ROWS_PER_SOURCE);
        // A new window, another source and local actions write rows again.
        s.audit_from(
            Some("10.0.0.2"),
            100 + AUDIT_WINDOW + 1,
            None,
            None,
            "rejected",
            "garbage 0",
        )
        .unwrap();
        s.audit_from(Some("10.0.0.3"), 100, None, None, "rejected", "garbage 0")
            .unwrap();
        s.audit(100, None, Some(1), "approved", "operator approve")
            .unwrap();
        assert_eq!(s.audit_log(10_000).unwrap().len() as i64, n + 3);
        let c = s.verify_audit().unwrap();
        assert_eq!(c.broken, None);
        let reps: i64 = s
            .c()
            .query_row("SELECT sum(n) FROM audit_repeats", [], |r| r.get(0))
            .unwrap();
        assert_eq!(reps, 199 + 500 - AUDIT_ROWS_PER_SOURCE);
    }

    /// Replicas appending at once: 6 connections x 25 entries on
    /// PostgreSQL give one unbroken chain of 150 rows.
    #[test]
    fn concurrent_appends_on_postgres_keep_one_chain() {
        use super::super::sql::{cluster::Cluster, Pg};
        use super::*;
        let cluster = Cluster::start();
        let mut c = cluster.client();
        crate::store::pg_schema::migrate(&mut c).unwrap();
        let handles: Vec<_> = (0..6)
            .map(|t| {
                let mut c = cluster.client();
                std::thread::spawn(move || {
                    let mut prepared = std::collections::HashMap::new();
                    let mut db = Pg {
                        client: &mut c,
                        prepared: &mut prepared,
                    };
                    for i in 0..25 {
                        audit(&mut db, i, None, None, "accepted", &format!("t{t} #{i}")).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let mut prepared = std::collections::HashMap::new();
        let mut db = Pg {
            client: &mut c,
            prepared: &mut prepared,
        };
        let check = verify_audit(&mut db).unwrap();
        assert_eq!((check.rows, check.broken), (150, None));
    }
}
