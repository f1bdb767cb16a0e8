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

use super::{e, AuditEntry, Result};
use fieldattest_protocol::hex::hex;
use rusqlite::{params, Connection, OptionalExtension};

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

/// Appends a chained row; the caller holds a write transaction.
fn append(c: &Connection, r: &mut Row) -> Result<()> {
    let (last, prev): (i64, Vec<u8>) = c
        .prepare_cached("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1")
        .map_err(e)?
        .query_row([], |x| {
            Ok((
                x.get(0)?,
                x.get::<_, Option<Vec<u8>>>(1)?.unwrap_or_default(),
            ))
        })
        .optional()
        .map_err(e)?
        .unwrap_or_default();
    r.id = last + 1;
    let hash = chain_hash(&prev, r);
    c.prepare_cached("INSERT INTO audit (id, at, kid, device_id, outcome, reason, source, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
        .map_err(e)?
        .execute(params![r.id, r.at, r.kid, r.device_id, r.outcome, r.reason, r.source, prev, hash])
        .map_err(e)?;
    Ok(())
}

/// Writes an audit entry inside the caller's transaction (attestations).
pub(super) fn audit_in(
    c: &Connection,
    at: i64,
    kid: Option<&[u8]>,
    device_id: Option<i64>,
    outcome: &str,
    reason: &str,
) -> Result<()> {
    write_row(c, None, at, kid, device_id, outcome, reason)
}

/// One chained row with the reason bounded; the caller holds a write transaction.
fn write_row(
    c: &Connection,
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
        c,
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
    c: &mut Connection,
    at: i64,
    kid: Option<&[u8]>,
    device_id: Option<i64>,
    outcome: &str,
    reason: &str,
) -> Result<()> {
    audit_from(c, None, at, kid, device_id, outcome, reason)
}

/// An audit entry of a request from `source` (its address; `None`: a local
/// operator action), chained, with the reason bounded and repeats coalesced.
pub(super) fn audit_from(
    c: &mut Connection,
    source: Option<&str>,
    at: i64,
    kid: Option<&[u8]>,
    device_id: Option<i64>,
    outcome: &str,
    reason: &str,
) -> Result<()> {
    let bounded = bound_reason(reason);
    let tx = c
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(e)?;
    if let Some(src) = source {
        let since = at - AUDIT_WINDOW;
        let same: Option<i64> = tx
            .prepare_cached("SELECT id FROM audit WHERE source = ?1 AND at >= ?2 AND outcome = ?3 AND reason = ?4 ORDER BY id DESC LIMIT 1")
            .map_err(e)?
            .query_row(params![src, since, outcome, &*bounded], |r| r.get(0))
            .optional()
            .map_err(e)?;
        let target = match same {
            Some(id) => Some(id),
            None => {
                let (n, latest): (i64, Option<i64>) = tx
                    .prepare_cached(
                        "SELECT count(*), max(id) FROM audit WHERE source = ?1 AND at >= ?2",
                    )
                    .map_err(e)?
                    .query_row(params![src, since], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(e)?;
                latest.filter(|_| n >= AUDIT_ROWS_PER_SOURCE)
            }
        };
        if let Some(id) = target {
            tx.prepare_cached("INSERT INTO audit_repeats (audit_id, n, last_at) VALUES (?1, 1, ?2) ON CONFLICT(audit_id) DO UPDATE SET n = n + 1, last_at = excluded.last_at")
                .map_err(e)?
                .execute(params![id, at])
                .map_err(e)?;
            return tx.commit().map_err(e);
        }
    }
    write_row(&tx, source, at, kid, device_id, outcome, reason)?;
    tx.commit().map_err(e)
}

/// Chains rows written before the chain existed (once, in the migration
/// that adds it).
pub(super) fn seal_audit(c: &Connection) -> Result<()> {
    let rows = read_rows(c)?;
    let mut prev = Vec::new();
    for r in rows {
        let hash = chain_hash(&prev, &r.row());
        c.execute(
            "UPDATE audit SET prev_hash = ?1, hash = ?2 WHERE id = ?3",
            params![prev, hash, r.id],
        )
        .map_err(e)?;
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

fn read_rows(c: &Connection) -> Result<Vec<Stored>> {
    let mut st = c
        .prepare("SELECT id, at, kid, device_id, outcome, reason, source, prev_hash, hash FROM audit ORDER BY id")
        .map_err(e)?;
    let v = st
        .query_map([], |r| {
            Ok(Stored {
                id: r.get(0)?,
                at: r.get(1)?,
                kid: r.get(2)?,
                device_id: r.get(3)?,
                outcome: r.get(4)?,
                reason: r.get(5)?,
                source: r.get(6)?,
                prev_hash: r.get(7)?,
                hash: r.get(8)?,
            })
        })
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)?;
    Ok(v)
}

/// Checks the whole audit chain: the number of rows and the first broken one
/// (its id and what is wrong), if any.
pub(super) fn verify_audit(c: &mut Connection) -> Result<super::AuditCheck> {
    let rows = read_rows(c)?;
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

pub(super) fn audit_log(c: &Connection, limit: i64) -> Result<Vec<AuditEntry>> {
    entries(c, "", params![limit])
}

/// A device's entries, newest first (index `audit_device`).
pub(super) fn audit_for_device(
    c: &Connection,
    device_id: i64,
    limit: i64,
) -> Result<Vec<AuditEntry>> {
    entries(c, "WHERE a.device_id = ?2", params![limit, device_id])
}

fn entries(c: &Connection, filter: &str, p: &[&dyn rusqlite::ToSql]) -> Result<Vec<AuditEntry>> {
    let mut st = c
        .prepare_cached(&format!("SELECT a.at, a.kid, a.device_id, a.outcome, a.reason, coalesce(r.n, 0), a.source FROM audit a LEFT JOIN audit_repeats r ON r.audit_id = a.id {filter} ORDER BY a.id DESC LIMIT ?1"))
        .map_err(e)?;
    let v = st
        .query_map(p, |r| {
            Ok(AuditEntry {
                at: r.get(0)?,
                kid: r.get(1)?,
                device_id: r.get(2)?,
                outcome: r.get(3)?,
                reason: r.get(4)?,
                repeats: r.get::<_, i64>(5)?.max(0) as u64,
                source: r.get(6)?,
            })
        })
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)?;
    Ok(v)
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
}
