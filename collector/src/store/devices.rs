//! Enrollment secrets, devices, sessions, key rotation and the mTLS binding
//! (the audit trail is in `audit.rs`).
//!
//! **Sessions** are bounded: each creation purges expired sessions, keeps at
//! most [`super::SessionCaps::per_source`] live sessions per source address
//! (the oldest of that source is dropped, so a noisy neighbour only evicts its
//! own) and refuses creation when [`super::SessionCaps::total`] rows remain.
//! A session remembers the client certificate it was opened with.

use super::sql::{first, ps, rows, transaction, Dialect, Row, Sql};
use super::{Conflict, Device, Result, SessionState, StoreError};

fn row_device(r: &dyn Row) -> Result<Device> {
    Ok(Device {
        id: r.i64(0)?,
        kid: r.blob(1)?,
        ueid: r.blob(2)?,
        pubkey: r.blob(3)?,
        site: r.text(4)?,
        status: r.text(5)?,
        enrolled_at: r.i64(6)?,
        last_seq: r.opt_i64(7)?,
        last_seen: r.opt_i64(8)?,
    })
}

const DEVICE_COLS: &str = "id, kid, ueid, pubkey, site, status, enrolled_at, last_seq, last_seen";

pub(super) fn create_enroll_token(
    db: &mut dyn Sql,
    hash: &[u8],
    site: &str,
    expires: i64,
) -> Result<()> {
    db.exec(
        "INSERT INTO enroll_tokens (hash, site, expires) VALUES (?1, ?2, ?3)",
        ps![hash, site, expires],
    )?;
    Ok(())
}

/// Burns an enrollment secret in one statement: of callers racing on any
/// replica, exactly one sees it unused. Its site if it was unused and
/// unexpired at `now` (an expired one is burnt too).
pub(super) fn take_enroll_token(db: &mut dyn Sql, hash: &[u8], now: i64) -> Result<Option<String>> {
    let row = first(
        db,
        "UPDATE enroll_tokens SET used = 1 WHERE hash = ?1 AND used = 0 RETURNING site, expires",
        ps![hash],
        |r| Ok((r.text(0)?, r.i64(1)?)),
    )?;
    Ok(row.and_then(|(site, expires)| (expires >= now).then_some(site)))
}

pub(super) fn insert_device(
    db: &mut dyn Sql,
    kid: &[u8],
    ueid: &[u8],
    pubkey: &[u8],
    site: &str,
    now: i64,
) -> Result<i64> {
    first(
        db,
        "INSERT INTO devices (kid, ueid, pubkey, site, status, enrolled_at) VALUES (?1, ?2, ?3, ?4, 'pending', ?5) RETURNING id",
        ps![kid, ueid, pubkey, site, now],
        |r| r.i64(0),
    )?
    .ok_or_else(|| StoreError::Database("device insert returned no id".into()))
}

// The lookups of every attestation: cached statements (parsed once per connection).
pub(super) fn device_by_kid(db: &mut dyn Sql, kid: &[u8]) -> Result<Option<Device>> {
    first(
        db,
        &format!("SELECT {DEVICE_COLS} FROM devices WHERE kid = ?1"),
        ps![kid],
        row_device,
    )
}

pub(super) fn device(db: &mut dyn Sql, id: i64) -> Result<Option<Device>> {
    first(
        db,
        &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"),
        ps![id],
        row_device,
    )
}

pub(super) fn devices(db: &mut dyn Sql) -> Result<Vec<Device>> {
    rows(
        db,
        &format!("SELECT {DEVICE_COLS} FROM devices ORDER BY id"),
        &[],
        row_device,
    )
}

pub(super) fn set_status(db: &mut dyn Sql, id: i64, status: &str) -> Result<bool> {
    Ok(db.exec(
        "UPDATE devices SET status = ?1 WHERE id = ?2",
        ps![status, id],
    )? == 1)
}

pub(super) fn create_session(db: &mut dyn Sql, id: &str, nonce: &[u8], expires: i64) -> Result<()> {
    db.exec(
        "INSERT INTO sessions (id, nonce, expires) VALUES (?1, ?2, ?3)",
        ps![id, nonce, expires],
    )?;
    Ok(())
}

/// Opens a session bound to its requester within the caps (see the module
/// doc); false when the table is full of live sessions. The caps hold
/// across replicas: the count and the insert run under the table's write
/// lock (SQLite: the database's; PostgreSQL: `LOCK TABLE`).
pub(super) fn open_session(
    db: &mut dyn Sql,
    s: &super::NewSession,
    caps: super::SessionCaps,
) -> Result<bool> {
    transaction(db, |db| {
        if db.dialect() == Dialect::Postgres {
            db.batch("LOCK TABLE sessions IN SHARE ROW EXCLUSIVE MODE")?;
        }
        db.exec("DELETE FROM sessions WHERE expires < ?1", ps![s.now])?;
        if let Some(src) = &s.source {
            let n = first(
                db,
                "SELECT count(*) FROM sessions WHERE source = ?1",
                ps![src],
                |r| r.i64(0),
            )?
            .unwrap_or(0);
            if n >= caps.per_source {
                db.exec(
                    "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE source = ?1 ORDER BY created, id LIMIT ?2)",
                    ps![src, n - caps.per_source + 1],
                )?;
            }
        }
        let total = first(db, "SELECT count(*) FROM sessions", &[], |r| r.i64(0))?.unwrap_or(0);
        if total >= caps.total {
            return Ok(false);
        }
        db.exec(
            "INSERT INTO sessions (id, nonce, expires, source, peer, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            ps![s.id.as_str(), &s.nonce, s.expires, s.source.as_deref(), s.peer.as_deref(), s.now],
        )?;
        Ok(true)
    })
}

/// A session without burning it: (state as [`take_session`] would see it,
/// the client certificate it was opened with).
pub(super) fn peek_session(
    db: &mut dyn Sql,
    id: &str,
    now: i64,
) -> Result<(SessionState, Option<String>)> {
    let row = first(
        db,
        "SELECT nonce, expires, used, peer FROM sessions WHERE id = ?1",
        ps![id],
        |r| Ok((r.blob(0)?, r.i64(1)?, r.i64(2)?, r.opt_text(3)?)),
    )?;
    Ok(match row {
        None => (SessionState::Unknown, None),
        Some((_, _, 1, p)) => (SessionState::Used, p),
        Some((_, exp, _, p)) if exp < now => (SessionState::Expired, p),
        Some((n, _, _, p)) => (SessionState::Live(n), p),
    })
}

pub(super) fn session_count(db: &mut dyn Sql) -> Result<i64> {
    Ok(first(db, "SELECT count(*) FROM sessions", &[], |r| r.i64(0))?.unwrap_or(0))
}

pub(super) fn device_by_ueid(db: &mut dyn Sql, ueid: &[u8]) -> Result<Option<Device>> {
    first(
        db,
        &format!("SELECT {DEVICE_COLS} FROM devices WHERE ueid = ?1 ORDER BY id LIMIT 1"),
        ps![ueid],
        row_device,
    )
}

/// Devices whose stored attestations reference an SBOM digest.
pub(super) fn sbom_devices(db: &mut dyn Sql, digest: &str) -> Result<Vec<i64>> {
    rows(
        db,
        "SELECT DISTINCT device_id FROM tokens WHERE sbom_digest = ?1 ORDER BY device_id",
        ps![digest],
        |r| r.i64(0),
    )
}

/// The SL-ceiling disagreement of each device's latest attestation, where
/// the device's claim differs from the ceiling the collector computed.
pub(super) fn ceiling_disputes(db: &mut dyn Sql) -> Result<Vec<(i64, String)>> {
    rows(
        db,
        "SELECT d.id, t.ceiling_dispute FROM devices d JOIN tokens t ON t.id = d.latest_token WHERE t.ceiling_dispute IS NOT NULL ORDER BY d.id",
        &[],
        |r| Ok((r.i64(0)?, r.text(1)?)),
    )
}

/// Burns a session nonce in one statement: of callers racing on any
/// replica, exactly one sees it unused.
pub(super) fn take_session(db: &mut dyn Sql, id: &str, now: i64) -> Result<SessionState> {
    let burnt = first(
        db,
        "UPDATE sessions SET used = 1 WHERE id = ?1 AND used = 0 RETURNING nonce, expires",
        ps![id],
        |r| Ok((r.blob(0)?, r.i64(1)?)),
    )?;
    Ok(match burnt {
        Some((_, exp)) if exp < now => SessionState::Expired,
        Some((n, _)) => SessionState::Live(n),
        None => match first(db, "SELECT 1 FROM sessions WHERE id = ?1", ps![id], |r| {
            r.i64(0)
        })? {
            Some(_) => SessionState::Used,
            None => SessionState::Unknown,
        },
    })
}

pub(super) fn tls_binding(db: &mut dyn Sql, device_id: i64) -> Result<Option<String>> {
    first(
        db,
        "SELECT tls_fp FROM devices WHERE id = ?1",
        ps![device_id],
        |r| r.opt_text(0),
    )?
    .ok_or_else(|| StoreError::NotFound(format!("device {device_id}")))
}

pub(super) fn set_tls_binding(db: &mut dyn Sql, device_id: i64, fp: &str) -> Result<()> {
    db.exec(
        "UPDATE devices SET tls_fp = ?1 WHERE id = ?2",
        ps![fp, device_id],
    )?;
    Ok(())
}

pub(super) fn retired_key(db: &mut dyn Sql, kid: &[u8]) -> Result<Option<(i64, Vec<u8>, i64)>> {
    first(
        db,
        "SELECT device_id, pubkey, below_seq FROM retired_keys WHERE kid = ?1",
        ps![kid],
        |r| Ok((r.i64(0)?, r.blob(1)?, r.i64(2)?)),
    )
}

pub(super) fn rotate_key(
    db: &mut dyn Sql,
    device_id: i64,
    new_kid: &[u8],
    new_pubkey: &[u8],
    below_seq: i64,
    now: i64,
) -> Result<()> {
    transaction(db, |db| {
        let known = first(
            db,
            "SELECT (SELECT count(*) FROM devices WHERE kid = ?1) + (SELECT count(*) FROM retired_keys WHERE kid = ?1)",
            ps![new_kid],
            |r| r.i64(0),
        )?
        .unwrap_or(0);
        if known > 0 {
            return Err(StoreError::Conflict(Conflict::KeyKnown));
        }
        let n = db.exec(
            "INSERT INTO retired_keys (kid, device_id, pubkey, below_seq, rotated_at)
             SELECT kid, id, pubkey, ?2, ?3 FROM devices WHERE id = ?1",
            ps![device_id, below_seq, now],
        )?;
        if n != 1 {
            return Err(StoreError::NotFound(format!("device {device_id}")));
        }
        db.exec(
            "UPDATE devices SET kid = ?2, pubkey = ?3 WHERE id = ?1",
            ps![device_id, new_kid, new_pubkey],
        )?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::super::sql::cluster::on_both;
    use super::super::SessionState;
    use super::*;

    #[test]
    fn enroll_tokens_and_sessions_are_single_use() {
        on_both(|s| {
            create_enroll_token(s, b"h1", "plant-a", 100).unwrap();
            assert_eq!(
                take_enroll_token(s, b"h1", 50).unwrap().as_deref(),
                Some("plant-a")
            );
            assert_eq!(take_enroll_token(s, b"h1", 50).unwrap(), None, "second use");
            create_enroll_token(s, b"h2", "plant-a", 100).unwrap();
            assert_eq!(take_enroll_token(s, b"h2", 101).unwrap(), None, "expired");
            create_session(s, "s1", b"nonce-nonce", 100).unwrap();
            assert_eq!(
                take_session(s, "s1", 10).unwrap(),
                SessionState::Live(b"nonce-nonce".to_vec())
            );
            assert_eq!(take_session(s, "s1", 10).unwrap(), SessionState::Used);
            create_session(s, "s2", b"n", 5).unwrap();
            assert_eq!(take_session(s, "s2", 10).unwrap(), SessionState::Expired);
            assert_eq!(take_session(s, "nope", 10).unwrap(), SessionState::Unknown);
        });
    }

    #[test]
    fn sessions_are_capped_per_source_and_in_all_and_bound_to_their_requester() {
        use super::super::{NewSession, SessionCaps};
        on_both(|s| {
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
                assert!(open_session(s, &new(i, "a", 0), caps).unwrap());
            }
            assert_eq!(
                session_count(s).unwrap(),
                10,
                "one source keeps its newest 10"
            );
            assert_eq!(peek_session(s, "a-0", 0).unwrap().0, SessionState::Unknown);
            let (st, peer) = peek_session(s, "a-999", 0).unwrap();
            assert_eq!(st, SessionState::Live(vec![(999 % 256) as u8]));
            assert_eq!(peer.as_deref(), Some("cert-a"));
            for src in 0..10 {
                for i in 0..10 {
                    let _ = open_session(s, &new(i, &format!("s{src}"), 0), caps).unwrap();
                }
            }
            assert_eq!(session_count(s).unwrap(), 50);
            assert!(!open_session(s, &new(0, "late", 0), caps).unwrap(), "full");
            // Expired sessions are purged by the next creation.
            assert!(open_session(s, &new(1, "late", 301), caps).unwrap());
            assert_eq!(session_count(s).unwrap(), 1);
        });
    }

    /// Replicas racing on one database: of 8 connections burning the same
    /// session nonce and the same enrollment secret at once, exactly one
    /// gets each.
    #[test]
    fn a_nonce_and_a_secret_are_burnt_once_across_connections() {
        use super::super::sql::{cluster::Cluster, Pg};
        let cluster = Cluster::start();
        let mut c = cluster.client();
        crate::store::pg_schema::migrate(&mut c).unwrap();
        let mut prepared = std::collections::HashMap::new();
        let mut db = Pg {
            client: &mut c,
            prepared: &mut prepared,
        };
        for round in 0..20 {
            create_session(&mut db, &format!("s{round}"), b"nonce-nonce", 100).unwrap();
            create_enroll_token(&mut db, format!("h{round}").as_bytes(), "plant", 100).unwrap();
        }
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let mut c = cluster.client();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let mut prepared = std::collections::HashMap::new();
                    let mut db = Pg {
                        client: &mut c,
                        prepared: &mut prepared,
                    };
                    let mut won = (0, 0);
                    for round in 0..20 {
                        barrier.wait();
                        if let SessionState::Live(_) =
                            take_session(&mut db, &format!("s{round}"), 10).unwrap()
                        {
                            won.0 += 1;
                        }
                        if take_enroll_token(&mut db, format!("h{round}").as_bytes(), 10)
                            .unwrap()
                            .is_some()
                        {
                            won.1 += 1;
                        }
                    }
                    won
                })
            })
            .collect();
        let total = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        assert_eq!(total, (20, 20));
    }
}
