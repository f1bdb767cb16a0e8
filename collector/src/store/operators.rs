//! Operators: accounts (Argon2id PHC strings), console sessions (kept by
//! the SHA-256 of their id), API tokens (kept by their SHA-256) and the
//! failed-login counters of the lockout. Written once over [`Sql`]: the
//! same statements on SQLite and PostgreSQL.

use super::sql::{first, ps, rows, transaction, Row, Sql};
use super::{ApiToken, OpSession, Operator, Result};
use fieldattest_protocol::hex::hex;

const OPERATOR_COLS: &str = "id, name, role, phc, disabled, created";

/// The operator in the columns [`OPERATOR_COLS`] from column `i` on.
fn operator_at(r: &dyn Row, i: usize) -> Result<Operator> {
    Ok(Operator {
        id: r.i64(i)?,
        name: r.text(i + 1)?,
        role: r.text(i + 2)?,
        phc: r.text(i + 3)?,
        disabled: r.i64(i + 4)? != 0,
        created: r.i64(i + 5)?,
    })
}

/// False when the name is taken.
pub(super) fn add_operator(
    db: &mut dyn Sql,
    name: &str,
    role: &str,
    phc: &str,
    now: i64,
) -> Result<bool> {
    Ok(db.exec(
        "INSERT INTO operators (name, role, phc, created) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        ps![name, role, phc, now],
    )? == 1)
}

pub(super) fn operator(db: &mut dyn Sql, name: &str) -> Result<Option<Operator>> {
    first(
        db,
        &format!("SELECT {OPERATOR_COLS} FROM operators WHERE name = ?1"),
        ps![name],
        |r| operator_at(r, 0),
    )
}

pub(super) fn operators(db: &mut dyn Sql) -> Result<Vec<Operator>> {
    rows(
        db,
        &format!("SELECT {OPERATOR_COLS} FROM operators ORDER BY name"),
        &[],
        |r| operator_at(r, 0),
    )
}

/// A new password (PHC string); the operator's sessions end.
pub(super) fn set_operator_password(db: &mut dyn Sql, name: &str, phc: &str) -> Result<bool> {
    transaction(db, |db| {
        let n = db.exec(
            "UPDATE operators SET phc = ?1 WHERE name = ?2",
            ps![phc, name],
        )?;
        end_sessions(db, name)?;
        Ok(n == 1)
    })
}

/// Disables an account; its sessions end.
pub(super) fn disable_operator(db: &mut dyn Sql, name: &str) -> Result<bool> {
    transaction(db, |db| {
        let n = db.exec(
            "UPDATE operators SET disabled = 1 WHERE name = ?1",
            ps![name],
        )?;
        end_sessions(db, name)?;
        Ok(n == 1)
    })
}

fn end_sessions(db: &mut dyn Sql, name: &str) -> Result<()> {
    db.exec(
        "DELETE FROM operator_sessions WHERE operator_id IN (SELECT id FROM operators WHERE name = ?1)",
        ps![name],
    )?;
    Ok(())
}

pub(super) fn create_op_session(
    db: &mut dyn Sql,
    hash: &[u8],
    operator_id: i64,
    csrf: &str,
    now: i64,
) -> Result<()> {
    db.exec(
        "INSERT INTO operator_sessions (hash, operator_id, csrf, created, last_seen) VALUES (?1, ?2, ?3, ?4, ?4)",
        ps![hash, operator_id, csrf, now],
    )?;
    Ok(())
}

/// The live session with this hash at `now` (idle for less than `idle`
/// seconds, created less than `absolute` seconds ago, its account enabled),
/// its last use moved to `now`. Expired sessions are deleted.
pub(super) fn op_session(
    db: &mut dyn Sql,
    hash: &[u8],
    now: i64,
    idle: i64,
    absolute: i64,
) -> Result<Option<OpSession>> {
    transaction(db, |db| {
        db.exec(
            "DELETE FROM operator_sessions WHERE last_seen <= ?1 OR created <= ?2",
            ps![now - idle, now - absolute],
        )?;
        let row = first(
            db,
            &format!(
                "SELECT s.csrf, {} FROM operator_sessions s JOIN operators o ON o.id = s.operator_id
                 WHERE s.hash = ?1 AND o.disabled = 0",
                OPERATOR_COLS
                    .split(", ")
                    .map(|c| format!("o.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ps![hash],
            |r| {
                Ok(OpSession {
                    csrf: r.text(0)?,
                    operator: operator_at(r, 1)?,
                })
            },
        )?;
        if row.is_some() {
            db.exec(
                "UPDATE operator_sessions SET last_seen = ?1 WHERE hash = ?2",
                ps![now, hash],
            )?;
        }
        Ok(row)
    })
}

pub(super) fn delete_op_session(db: &mut dyn Sql, hash: &[u8]) -> Result<()> {
    db.exec("DELETE FROM operator_sessions WHERE hash = ?1", ps![hash])?;
    Ok(())
}

/// Counts a failed login under `key`: consecutive failures less than
/// `window` seconds apart add up, an older count starts again at 1. Rows
/// quiet for a window are purged (the table stays bounded). The new count.
pub(super) fn login_failed(db: &mut dyn Sql, key: &str, now: i64, window: i64) -> Result<u32> {
    transaction(db, |db| {
        db.exec(
            "DELETE FROM login_failures WHERE last_at <= ?1",
            ps![now - window],
        )?;
        let n = first(
            db,
            "INSERT INTO login_failures (key, count, last_at) VALUES (?1, 1, ?2)
             ON CONFLICT(key) DO UPDATE SET count = login_failures.count + 1, last_at = ?2
             RETURNING count",
            ps![key, now],
            |r| r.i64(0),
        )?
        .unwrap_or(1);
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    })
}

/// Failures under `key` whose last one is less than `window` seconds before `now`.
pub(super) fn login_failures(db: &mut dyn Sql, key: &str, now: i64, window: i64) -> Result<u32> {
    let n = first(
        db,
        "SELECT count FROM login_failures WHERE key = ?1 AND last_at > ?2",
        ps![key, now - window],
        |r| r.i64(0),
    )?;
    Ok(n.map(|n| u32::try_from(n).unwrap_or(u32::MAX)).unwrap_or(0))
}

pub(super) fn clear_login_failures(db: &mut dyn Sql, key: &str) -> Result<()> {
    db.exec("DELETE FROM login_failures WHERE key = ?1", ps![key])?;
    Ok(())
}

const TOKEN_COLS: &str = "id, name, hash, role, created, expires, revoked, last_used";

fn row_token(r: &dyn Row) -> Result<ApiToken> {
    let hash = r.blob(2)?;
    Ok(ApiToken {
        id: r.i64(0)?,
        name: r.text(1)?,
        fingerprint: hex(&hash[..hash.len().min(8)]),
        role: r.text(3)?,
        created: r.i64(4)?,
        expires: r.i64(5)?,
        revoked: r.i64(6)? != 0,
        last_used: r.opt_i64(7)?,
    })
}

pub(super) fn create_api_token(
    db: &mut dyn Sql,
    name: &str,
    hash: &[u8],
    role: &str,
    expires: i64,
    now: i64,
) -> Result<i64> {
    first(
        db,
        "INSERT INTO api_tokens (name, hash, role, created, expires) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        ps![name, hash, role, now, expires],
        |r| r.i64(0),
    )?
    .ok_or_else(|| super::StoreError::Database("api token: no id returned".into()))
}

/// The unrevoked, unexpired token with this hash; its last use moved to `now`.
pub(super) fn api_token(db: &mut dyn Sql, hash: &[u8], now: i64) -> Result<Option<ApiToken>> {
    let t = first(
        db,
        &format!(
            "SELECT {TOKEN_COLS} FROM api_tokens WHERE hash = ?1 AND revoked = 0 AND expires > ?2"
        ),
        ps![hash, now],
        row_token,
    )?;
    if let Some(t) = &t {
        db.exec(
            "UPDATE api_tokens SET last_used = ?1 WHERE id = ?2",
            ps![now, t.id],
        )?;
    }
    Ok(t)
}

pub(super) fn api_tokens(db: &mut dyn Sql) -> Result<Vec<ApiToken>> {
    rows(
        db,
        &format!("SELECT {TOKEN_COLS} FROM api_tokens ORDER BY id"),
        &[],
        row_token,
    )
}

pub(super) fn revoke_api_token(db: &mut dyn Sql, id: i64) -> Result<bool> {
    Ok(db.exec("UPDATE api_tokens SET revoked = 1 WHERE id = ?1", ps![id])? == 1)
}

#[cfg(test)]
mod tests {
    use super::super::sql::cluster::on_both;
    use super::*;

    #[test]
    fn sessions_expire_idle_and_absolute_and_end_with_the_account() {
        on_both(|db| {
            assert!(add_operator(db, "ann", "admin", "$phc", 0).unwrap());
            assert!(!add_operator(db, "ann", "viewer", "$phc", 0).unwrap());
            let ann = operator(db, "ann").unwrap().unwrap();
            create_op_session(db, b"h1", ann.id, "c1", 100).unwrap();
            // Used within the idle bound: alive, and the use moves last_seen.
            assert!(op_session(db, b"h1", 120, 30, 100).unwrap().is_some());
            assert!(op_session(db, b"h1", 149, 30, 100).unwrap().is_some());
            // Idle for 30 s: gone.
            assert!(op_session(db, b"h1", 179, 30, 100).unwrap().is_none());
            // Absolute bound despite use.
            create_op_session(db, b"h2", ann.id, "c2", 1000).unwrap();
            for t in (1010..1100).step_by(10) {
                assert!(op_session(db, b"h2", t, 30, 100).unwrap().is_some());
            }
            assert!(op_session(db, b"h2", 1100, 30, 100).unwrap().is_none());
            // A password change or disabling ends sessions.
            create_op_session(db, b"h3", ann.id, "c3", 2000).unwrap();
            assert!(set_operator_password(db, "ann", "$new").unwrap());
            assert!(op_session(db, b"h3", 2001, 30, 100).unwrap().is_none());
            create_op_session(db, b"h4", ann.id, "c4", 2000).unwrap();
            assert!(disable_operator(db, "ann").unwrap());
            assert!(op_session(db, b"h4", 2001, 30, 100).unwrap().is_none());
            assert_eq!(operators(db).unwrap().len(), 1);
        });
    }

    #[test]
    fn login_failures_count_within_a_window_and_tokens_expire_or_are_revoked() {
        on_both(|db| {
            for i in 1..=5 {
                assert_eq!(login_failed(db, "user:x", 100 + i, 900).unwrap(), i as u32);
            }
            assert_eq!(login_failures(db, "user:x", 200, 900).unwrap(), 5);
            assert_eq!(login_failures(db, "user:x", 1005, 900).unwrap(), 0);
            assert_eq!(login_failed(db, "user:x", 1006, 900).unwrap(), 1);
            clear_login_failures(db, "user:x").unwrap();
            assert_eq!(login_failures(db, "user:x", 1007, 900).unwrap(), 0);

            let id = create_api_token(db, "ci", b"hash-1", "viewer", 500, 0).unwrap();
            assert_eq!(api_token(db, b"hash-1", 10).unwrap().unwrap().id, id);
            assert!(api_token(db, b"hash-1", 500).unwrap().is_none(), "expired");
            assert!(api_token(db, b"other", 10).unwrap().is_none());
            assert!(revoke_api_token(db, id).unwrap());
            assert!(api_token(db, b"hash-1", 10).unwrap().is_none(), "revoked");
            let l = api_tokens(db).unwrap();
            assert_eq!(l.len(), 1);
            assert!(l[0].revoked && l[0].last_used == Some(10));
            assert_eq!(l[0].fingerprint, fieldattest_protocol::hex::hex(b"hash-1"));
        });
    }
}
