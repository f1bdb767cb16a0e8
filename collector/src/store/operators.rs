//! Operators: accounts (Argon2id PHC strings), console sessions (kept by
//! the SHA-256 of their id), API tokens (kept by their SHA-256) and the
//! failed-login counters of the lockout.

use super::{e, ApiToken, OpSession, Operator, Result};
use fieldattest_protocol::hex::hex;
use rusqlite::{params, Connection, OptionalExtension};

const OPERATOR_COLS: &str = "id, name, role, phc, disabled, created";

fn row_operator(r: &rusqlite::Row) -> rusqlite::Result<Operator> {
    operator_at(r, 0)
}

/// The operator in the columns [`OPERATOR_COLS`] from column `i` on.
fn operator_at(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Operator> {
    Ok(Operator {
        id: r.get(i)?,
        name: r.get(i + 1)?,
        role: r.get(i + 2)?,
        phc: r.get(i + 3)?,
        disabled: r.get::<_, i64>(i + 4)? != 0,
        created: r.get(i + 5)?,
    })
}

/// False when the name is taken.
pub(super) fn add_operator(
    c: &Connection,
    name: &str,
    role: &str,
    phc: &str,
    now: i64,
) -> Result<bool> {
    Ok(c.execute(
        "INSERT OR IGNORE INTO operators (name, role, phc, created) VALUES (?1, ?2, ?3, ?4)",
        params![name, role, phc, now],
    )
    .map_err(e)?
        == 1)
}

pub(super) fn operator(c: &Connection, name: &str) -> Result<Option<Operator>> {
    c.query_row(
        &format!("SELECT {OPERATOR_COLS} FROM operators WHERE name = ?1"),
        [name],
        row_operator,
    )
    .optional()
    .map_err(e)
}

pub(super) fn operators(c: &Connection) -> Result<Vec<Operator>> {
    let mut st = c
        .prepare(&format!(
            "SELECT {OPERATOR_COLS} FROM operators ORDER BY name"
        ))
        .map_err(e)?;
    let v = st
        .query_map([], row_operator)
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)?;
    Ok(v)
}

/// A new password (PHC string); the operator's sessions end.
pub(super) fn set_operator_password(c: &mut Connection, name: &str, phc: &str) -> Result<bool> {
    let tx = c.transaction().map_err(e)?;
    let n = tx
        .execute(
            "UPDATE operators SET phc = ?1 WHERE name = ?2",
            params![phc, name],
        )
        .map_err(e)?;
    end_sessions(&tx, name)?;
    tx.commit().map_err(e)?;
    Ok(n == 1)
}

/// Disables an account; its sessions end.
pub(super) fn disable_operator(c: &mut Connection, name: &str) -> Result<bool> {
    let tx = c.transaction().map_err(e)?;
    let n = tx
        .execute("UPDATE operators SET disabled = 1 WHERE name = ?1", [name])
        .map_err(e)?;
    end_sessions(&tx, name)?;
    tx.commit().map_err(e)?;
    Ok(n == 1)
}

fn end_sessions(c: &Connection, name: &str) -> Result<()> {
    c.execute(
        "DELETE FROM operator_sessions WHERE operator_id IN (SELECT id FROM operators WHERE name = ?1)",
        [name],
    )
    .map_err(e)?;
    Ok(())
}

pub(super) fn create_op_session(
    c: &Connection,
    hash: &[u8],
    operator_id: i64,
    csrf: &str,
    now: i64,
) -> Result<()> {
    c.execute(
        "INSERT INTO operator_sessions (hash, operator_id, csrf, created, last_seen) VALUES (?1, ?2, ?3, ?4, ?4)",
        params![hash, operator_id, csrf, now],
    )
    .map_err(e)?;
    Ok(())
}

/// The live session with this hash at `now` (idle for less than `idle`
/// seconds, created less than `absolute` seconds ago, its account enabled),
/// its last use moved to `now`. Expired sessions are deleted.
pub(super) fn op_session(
    c: &mut Connection,
    hash: &[u8],
    now: i64,
    idle: i64,
    absolute: i64,
) -> Result<Option<OpSession>> {
    let tx = c.transaction().map_err(e)?;
    tx.execute(
        "DELETE FROM operator_sessions WHERE last_seen <= ?1 OR created <= ?2",
        params![now - idle, now - absolute],
    )
    .map_err(e)?;
    let row = tx
        .query_row(
            &format!(
                "SELECT s.csrf, {} FROM operator_sessions s JOIN operators o ON o.id = s.operator_id
                 WHERE s.hash = ?1 AND o.disabled = 0",
                OPERATOR_COLS
                    .split(", ")
                    .map(|c| format!("o.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            [hash],
            |r| {
                Ok(OpSession {
                    csrf: r.get(0)?,
                    operator: operator_at(r, 1)?,
                })
            },
        )
        .optional()
        .map_err(e)?;
    if row.is_some() {
        tx.execute(
            "UPDATE operator_sessions SET last_seen = ?1 WHERE hash = ?2",
            params![now, hash],
        )
        .map_err(e)?;
    }
    tx.commit().map_err(e)?;
    Ok(row)
}

pub(super) fn delete_op_session(c: &Connection, hash: &[u8]) -> Result<()> {
    c.execute("DELETE FROM operator_sessions WHERE hash = ?1", [hash])
        .map_err(e)?;
    Ok(())
}

/// Counts a failed login under `key`: consecutive failures less than
/// `window` seconds apart add up, an older count starts again at 1. Rows
/// quiet for a window are purged (the table stays bounded). The new count.
pub(super) fn login_failed(c: &mut Connection, key: &str, now: i64, window: i64) -> Result<u32> {
    let tx = c.transaction().map_err(e)?;
    tx.execute(
        "DELETE FROM login_failures WHERE last_at <= ?1",
        [now - window],
    )
    .map_err(e)?;
    tx.execute(
        "INSERT INTO login_failures (key, count, last_at) VALUES (?1, 1, ?2)
         ON CONFLICT(key) DO UPDATE SET count = count + 1, last_at = ?2",
        params![key, now],
    )
    .map_err(e)?;
    let n: i64 = tx
        .query_row(
            "SELECT count FROM login_failures WHERE key = ?1",
            [key],
            |r| r.get(0),
        )
        .map_err(e)?;
    tx.commit().map_err(e)?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Failures under `key` whose last one is less than `window` seconds before `now`.
pub(super) fn login_failures(c: &Connection, key: &str, now: i64, window: i64) -> Result<u32> {
    let n: Option<i64> = c
        .query_row(
            "SELECT count FROM login_failures WHERE key = ?1 AND last_at > ?2",
            params![key, now - window],
            |r| r.get(0),
        )
        .optional()
        .map_err(e)?;
    Ok(n.map(|n| u32::try_from(n).unwrap_or(u32::MAX)).unwrap_or(0))
}

pub(super) fn clear_login_failures(c: &Connection, key: &str) -> Result<()> {
    c.execute("DELETE FROM login_failures WHERE key = ?1", [key])
        .map_err(e)?;
    Ok(())
}

const TOKEN_COLS: &str = "id, name, hash, role, created, expires, revoked, last_used";

fn row_token(r: &rusqlite::Row) -> rusqlite::Result<ApiToken> {
    let hash: Vec<u8> = r.get(2)?;
    Ok(ApiToken {
        id: r.get(0)?,
        name: r.get(1)?,
        fingerprint: hex(&hash[..hash.len().min(8)]),
        role: r.get(3)?,
        created: r.get(4)?,
        expires: r.get(5)?,
        revoked: r.get::<_, i64>(6)? != 0,
        last_used: r.get(7)?,
    })
}

pub(super) fn create_api_token(
    c: &Connection,
    name: &str,
    hash: &[u8],
    role: &str,
    expires: i64,
    now: i64,
) -> Result<i64> {
    c.execute(
        "INSERT INTO api_tokens (name, hash, role, created, expires) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![name, hash, role, now, expires],
    )
    .map_err(e)?;
    Ok(c.last_insert_rowid())
}

/// The unrevoked, unexpired token with this hash; its last use moved to `now`.
pub(super) fn api_token(c: &Connection, hash: &[u8], now: i64) -> Result<Option<ApiToken>> {
    let t = c
        .query_row(
            &format!(
                "SELECT {TOKEN_COLS} FROM api_tokens WHERE hash = ?1 AND revoked = 0 AND expires > ?2"
            ),
            params![hash, now],
            row_token,
        )
        .optional()
        .map_err(e)?;
    if let Some(t) = &t {
        c.execute(
            "UPDATE api_tokens SET last_used = ?1 WHERE id = ?2",
            params![now, t.id],
        )
        .map_err(e)?;
    }
    Ok(t)
}

pub(super) fn api_tokens(c: &Connection) -> Result<Vec<ApiToken>> {
    let mut st = c
        .prepare(&format!("SELECT {TOKEN_COLS} FROM api_tokens ORDER BY id"))
        .map_err(e)?;
    let v = st
        .query_map([], row_token)
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)?;
    Ok(v)
}

pub(super) fn revoke_api_token(c: &Connection, id: i64) -> Result<bool> {
    Ok(
        c.execute("UPDATE api_tokens SET revoked = 1 WHERE id = ?1", [id])
            .map_err(e)?
            == 1,
    )
}

#[cfg(test)]
mod tests {
    use super::super::{SqliteStore, Store};

    #[test]
    fn sessions_expire_idle_and_absolute_and_end_with_the_account() {
        let s = SqliteStore::memory().unwrap();
        assert!(s.add_operator("ann", "admin", "$phc", 0).unwrap());
        assert!(!s.add_operator("ann", "viewer", "$phc", 0).unwrap());
        let ann = s.operator("ann").unwrap().unwrap();
        s.create_op_session(b"h1", ann.id, "c1", 100).unwrap();
        // Used within the idle bound: alive, and the use moves last_seen.
        assert!(s.op_session(b"h1", 120, 30, 100).unwrap().is_some());
        assert!(s.op_session(b"h1", 149, 30, 100).unwrap().is_some());
        // Idle for 30 s: gone.
        assert!(s.op_session(b"h1", 179, 30, 100).unwrap().is_none());
        // Absolute bound despite use.
        s.create_op_session(b"h2", ann.id, "c2", 1000).unwrap();
        for t in (1010..1100).step_by(10) {
            assert!(s.op_session(b"h2", t, 30, 100).unwrap().is_some());
        }
        assert!(s.op_session(b"h2", 1100, 30, 100).unwrap().is_none());
        // A password change or disabling ends sessions.
        s.create_op_session(b"h3", ann.id, "c3", 2000).unwrap();
        assert!(s.set_operator_password("ann", "$new").unwrap());
        assert!(s.op_session(b"h3", 2001, 30, 100).unwrap().is_none());
        s.create_op_session(b"h4", ann.id, "c4", 2000).unwrap();
        assert!(s.disable_operator("ann").unwrap());
        assert!(s.op_session(b"h4", 2001, 30, 100).unwrap().is_none());
    }

    #[test]
    fn login_failures_count_within_a_window_and_tokens_expire_or_are_revoked() {
        let s = SqliteStore::memory().unwrap();
        for i in 1..=5 {
            assert_eq!(s.login_failed("user:x", 100 + i, 900).unwrap(), i as u32);
        }
        assert_eq!(s.login_failures("user:x", 200, 900).unwrap(), 5);
        assert_eq!(s.login_failures("user:x", 1005, 900).unwrap(), 0);
        assert_eq!(s.login_failed("user:x", 1006, 900).unwrap(), 1);
        s.clear_login_failures("user:x").unwrap();
        assert_eq!(s.login_failures("user:x", 1007, 900).unwrap(), 0);

        let id = s
            .create_api_token("ci", b"hash-1", "viewer", 500, 0)
            .unwrap();
        assert_eq!(s.api_token(b"hash-1", 10).unwrap().unwrap().id, id);
        assert!(s.api_token(b"hash-1", 500).unwrap().is_none(), "expired");
        assert!(s.api_token(b"other", 10).unwrap().is_none());
        assert!(s.revoke_api_token(id).unwrap());
        assert!(s.api_token(b"hash-1", 10).unwrap().is_none(), "revoked");
        let l = s.api_tokens().unwrap();
        assert_eq!(l.len(), 1);
        assert!(l[0].revoked && l[0].last_used == Some(10));
        assert_eq!(l[0].fingerprint, fieldattest_protocol::hex::hex(b"hash-1"));
    }
}
