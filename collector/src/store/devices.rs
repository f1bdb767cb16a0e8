//! Enrollment secrets, devices, sessions, key rotation and the mTLS binding
//! (the audit trail is in `audit.rs`).
//!
//! **Sessions** are bounded: each creation purges expired sessions, keeps at
//! most [`super::SessionCaps::per_source`] live sessions per source address
//! (the oldest of that source is dropped, so a noisy neighbour only evicts its
//! own) and refuses creation when [`super::SessionCaps::total`] rows remain.
//! A session remembers the client certificate it was opened with.

use super::{e, Conflict, Device, Result, SessionState, StoreError};
use rusqlite::{params, Connection, OptionalExtension};

fn row_device(r: &rusqlite::Row) -> rusqlite::Result<Device> {
    Ok(Device {
        id: r.get(0)?,
        kid: r.get(1)?,
        ueid: r.get(2)?,
        pubkey: r.get(3)?,
        site: r.get(4)?,
        status: r.get(5)?,
        enrolled_at: r.get(6)?,
        last_seq: r.get(7)?,
        last_seen: r.get(8)?,
    })
}

const DEVICE_COLS: &str = "id, kid, ueid, pubkey, site, status, enrolled_at, last_seq, last_seen";

pub(super) fn create_enroll_token(
    c: &Connection,
    hash: &[u8],
    site: &str,
    expires: i64,
) -> Result<()> {
    c.execute(
        "INSERT INTO enroll_tokens (hash, site, expires) VALUES (?1, ?2, ?3)",
        params![hash, site, expires],
    )
    .map_err(e)?;
    Ok(())
}

pub(super) fn take_enroll_token(
    c: &mut Connection,
    hash: &[u8],
    now: i64,
) -> Result<Option<String>> {
    let tx = c.transaction().map_err(e)?;
    let row: Option<(String, i64, i64)> = tx
        .query_row(
            "SELECT site, expires, used FROM enroll_tokens WHERE hash = ?1",
            [hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(e)?;
    tx.execute("UPDATE enroll_tokens SET used = 1 WHERE hash = ?1", [hash])
        .map_err(e)?;
    tx.commit().map_err(e)?;
    Ok(match row {
        Some((site, expires, 0)) if expires >= now => Some(site),
        _ => None,
    })
}

pub(super) fn insert_device(
    c: &Connection,
    kid: &[u8],
    ueid: &[u8],
    pubkey: &[u8],
    site: &str,
    now: i64,
) -> Result<i64> {
    c.execute("INSERT INTO devices (kid, ueid, pubkey, site, status, enrolled_at) VALUES (?1, ?2, ?3, ?4, 'pending', ?5)", params![kid, ueid, pubkey, site, now]).map_err(e)?;
    Ok(c.last_insert_rowid())
}

// The lookups of every attestation: cached statements (parsed once per connection).
pub(super) fn device_by_kid(c: &Connection, kid: &[u8]) -> Result<Option<Device>> {
    c.prepare_cached(&format!("SELECT {DEVICE_COLS} FROM devices WHERE kid = ?1"))
        .map_err(e)?
        .query_row([kid], row_device)
        .optional()
        .map_err(e)
}

pub(super) fn device(c: &Connection, id: i64) -> Result<Option<Device>> {
    c.prepare_cached(&format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"))
        .map_err(e)?
        .query_row([id], row_device)
        .optional()
        .map_err(e)
}

pub(super) fn devices(c: &Connection) -> Result<Vec<Device>> {
    let mut st = c
        .prepare(&format!("SELECT {DEVICE_COLS} FROM devices ORDER BY id"))
        .map_err(e)?;
    let v = st
        .query_map([], row_device)
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)?;
    Ok(v)
}

pub(super) fn set_status(c: &Connection, id: i64, status: &str) -> Result<bool> {
    Ok(c.execute(
        "UPDATE devices SET status = ?1 WHERE id = ?2",
        params![status, id],
    )
    .map_err(e)?
        == 1)
}

pub(super) fn create_session(c: &Connection, id: &str, nonce: &[u8], expires: i64) -> Result<()> {
    c.execute(
        "INSERT INTO sessions (id, nonce, expires) VALUES (?1, ?2, ?3)",
        params![id, nonce, expires],
    )
    .map_err(e)?;
    Ok(())
}

/// Opens a session bound to its requester within the caps (see the module
/// doc); false when the table is full of live sessions.
pub(super) fn open_session(
    c: &mut Connection,
    s: &super::NewSession,
    caps: super::SessionCaps,
) -> Result<bool> {
    let tx = c
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(e)?;
    tx.prepare_cached("DELETE FROM sessions WHERE expires < ?1")
        .map_err(e)?
        .execute([s.now])
        .map_err(e)?;
    if let Some(src) = &s.source {
        let n: i64 = tx
            .prepare_cached("SELECT count(*) FROM sessions WHERE source = ?1")
            .map_err(e)?
            .query_row([src], |r| r.get(0))
            .map_err(e)?;
        if n >= caps.per_source {
            tx.prepare_cached("DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions WHERE source = ?1 ORDER BY created, rowid LIMIT ?2)")
                .map_err(e)?
                .execute(params![src, n - caps.per_source + 1])
                .map_err(e)?;
        }
    }
    let total: i64 = tx
        .prepare_cached("SELECT count(*) FROM sessions")
        .map_err(e)?
        .query_row([], |r| r.get(0))
        .map_err(e)?;
    if total >= caps.total {
        return Ok(false);
    }
    tx.prepare_cached("INSERT INTO sessions (id, nonce, expires, source, peer, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        .map_err(e)?
        .execute(params![s.id, s.nonce, s.expires, s.source, s.peer, s.now])
        .map_err(e)?;
    tx.commit().map_err(e)?;
    Ok(true)
}

/// A session without burning it: (state as [`take_session`] would see it,
/// the client certificate it was opened with).
pub(super) fn peek_session(
    c: &mut Connection,
    id: &str,
    now: i64,
) -> Result<(SessionState, Option<String>)> {
    let row: Option<(Vec<u8>, i64, i64, Option<String>)> = c
        .query_row(
            "SELECT nonce, expires, used, peer FROM sessions WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .map_err(e)?;
    Ok(match row {
        None => (SessionState::Unknown, None),
        Some((_, _, 1, p)) => (SessionState::Used, p),
        Some((_, exp, _, p)) if exp < now => (SessionState::Expired, p),
        Some((n, _, _, p)) => (SessionState::Live(n), p),
    })
}

pub(super) fn session_count(c: &mut Connection) -> Result<i64> {
    c.query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .map_err(e)
}

pub(super) fn device_by_ueid(c: &mut Connection, ueid: &[u8]) -> Result<Option<Device>> {
    c.query_row(
        &format!("SELECT {DEVICE_COLS} FROM devices WHERE ueid = ?1 ORDER BY id LIMIT 1"),
        [ueid],
        row_device,
    )
    .optional()
    .map_err(e)
}

/// Devices whose stored attestations reference an SBOM digest.
pub(super) fn sbom_devices(c: &mut Connection, digest: &str) -> Result<Vec<i64>> {
    let mut st = c
        .prepare_cached("SELECT DISTINCT device_id FROM tokens WHERE sbom_digest = ?1")
        .map_err(e)?;
    let v = st
        .query_map([digest], |r| r.get(0))
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)?;
    Ok(v)
}

/// The SL-ceiling disagreement of each device's latest attestation, where
/// the device's claim differs from the ceiling the collector computed.
pub(super) fn ceiling_disputes(c: &mut Connection) -> Result<Vec<(i64, String)>> {
    let mut st = c
        .prepare("SELECT d.id, t.ceiling_dispute FROM devices d JOIN tokens t ON t.id = d.latest_token WHERE t.ceiling_dispute IS NOT NULL ORDER BY d.id")
        .map_err(e)?;
    let v = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)?;
    Ok(v)
}

pub(super) fn take_session(c: &mut Connection, id: &str, now: i64) -> Result<SessionState> {
    let tx = c.transaction().map_err(e)?;
    let row: Option<(Vec<u8>, i64, i64)> = tx
        .query_row(
            "SELECT nonce, expires, used FROM sessions WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(e)?;
    tx.execute("UPDATE sessions SET used = 1 WHERE id = ?1", [id])
        .map_err(e)?;
    tx.commit().map_err(e)?;
    Ok(match row {
        None => SessionState::Unknown,
        Some((_, _, 1)) => SessionState::Used,
        Some((_, exp, _)) if exp < now => SessionState::Expired,
        Some((n, _, _)) => SessionState::Live(n),
    })
}

pub(super) fn tls_binding(c: &Connection, device_id: i64) -> Result<Option<String>> {
    c.prepare_cached("SELECT tls_fp FROM devices WHERE id = ?1")
        .map_err(e)?
        .query_row([device_id], |r| r.get(0))
        .map_err(e)
}

pub(super) fn set_tls_binding(c: &Connection, device_id: i64, fp: &str) -> Result<()> {
    c.execute(
        "UPDATE devices SET tls_fp = ?1 WHERE id = ?2",
        params![fp, device_id],
    )
    .map_err(e)?;
    Ok(())
}

pub(super) fn retired_key(c: &Connection, kid: &[u8]) -> Result<Option<(i64, Vec<u8>, i64)>> {
    c.prepare_cached("SELECT device_id, pubkey, below_seq FROM retired_keys WHERE kid = ?1")
        .map_err(e)?
        .query_row([kid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
        .map_err(e)
}

pub(super) fn rotate_key(
    c: &mut Connection,
    device_id: i64,
    new_kid: &[u8],
    new_pubkey: &[u8],
    below_seq: i64,
    now: i64,
) -> Result<()> {
    let tx = c.transaction().map_err(e)?;
    let known: i64 = tx
        .query_row(
            "SELECT (SELECT count(*) FROM devices WHERE kid = ?1) + (SELECT count(*) FROM retired_keys WHERE kid = ?1)",
            [new_kid],
            |r| r.get(0),
        )
        .map_err(e)?;
    if known > 0 {
        return Err(StoreError::Conflict(Conflict::KeyKnown));
    }
    let n = tx
        .execute(
            "INSERT INTO retired_keys (kid, device_id, pubkey, below_seq, rotated_at)
             SELECT kid, id, pubkey, ?2, ?3 FROM devices WHERE id = ?1",
            params![device_id, below_seq, now],
        )
        .map_err(e)?;
    if n != 1 {
        return Err(StoreError::NotFound(format!("device {device_id}")));
    }
    tx.execute(
        "UPDATE devices SET kid = ?2, pubkey = ?3 WHERE id = ?1",
        params![device_id, new_kid, new_pubkey],
    )
    .map_err(e)?;
    tx.commit().map_err(e)
}

#[cfg(test)]
mod tests {
    use super::super::{SessionState, SqliteStore, Store};

    #[test]
    fn enroll_tokens_and_sessions_are_single_use() {
        let s = SqliteStore::memory().unwrap();
        s.create_enroll_token(b"h1", "plant-a", 100).unwrap();
        assert_eq!(
            s.take_enroll_token(b"h1", 50).unwrap().as_deref(),
            Some("plant-a")
        );
        assert_eq!(s.take_enroll_token(b"h1", 50).unwrap(), None, "second use");
        s.create_enroll_token(b"h2", "plant-a", 100).unwrap();
        assert_eq!(s.take_enroll_token(b"h2", 101).unwrap(), None, "expired");
        s.create_session("s1", b"nonce-nonce", 100).unwrap();
        assert_eq!(
            s.take_session("s1", 10).unwrap(),
            SessionState::Live(b"nonce-nonce".to_vec())
        );
        assert_eq!(s.take_session("s1", 10).unwrap(), SessionState::Used);
        s.create_session("s2", b"n", 5).unwrap();
        assert_eq!(s.take_session("s2", 10).unwrap(), SessionState::Expired);
        assert_eq!(s.take_session("nope", 10).unwrap(), SessionState::Unknown);
    }

    #[test]
    fn sessions_are_capped_per_source_and_in_all_and_bound_to_their_requester() {
        use super::super::{NewSession, SessionCaps};
        let s = SqliteStore::memory().unwrap();
        let caps = SessionCaps {
            total: 50,
            per_source: 10,
        };
        let new = |i: usize, src: &str, now: i64| NewSession {
            id: format!("{src}-{i}"),
            nonce: vec![i as u8],
            expires: now + 300,
            now,
            source: Some(src.into()),
            peer: Some(format!("cert-{src}")),
        };
        for i in 0..1000 {
            assert!(s.open_session(&new(i, "a", 0), caps).unwrap());
        }
        assert_eq!(
            s.session_count().unwrap(),
            10,
            "one source keeps its newest 10"
        );
        assert_eq!(s.peek_session("a-0", 0).unwrap().0, SessionState::Unknown);
        let (st, peer) = s.peek_session("a-999", 0).unwrap();
        assert_eq!(st, SessionState::Live(vec![(999 % 256) as u8]));
        assert_eq!(peer.as_deref(), Some("cert-a"));
        for src in 0..10 {
            for i in 0..10 {
                let _ = s
                    .open_session(&new(i, &format!("s{src}"), 0), caps)
                    .unwrap();
            }
        }
        assert_eq!(s.session_count().unwrap(), 50);
        assert!(!s.open_session(&new(0, "late", 0), caps).unwrap(), "full");
        // Expired sessions are purged by the next creation.
        assert!(s.open_session(&new(1, "late", 301), caps).unwrap());
        assert_eq!(s.session_count().unwrap(), 1);
    }
}
