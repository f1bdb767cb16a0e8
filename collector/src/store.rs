//! Storage of the collector. [`Store`] is the seam for other backends
//! (PostgreSQL later); [`SqliteStore`] is the embedded default: WAL mode,
//! schema migrations in code, every write in a transaction.
//!
//! Secrets never stored in clear: enrollment secrets are kept as SHA-256.

use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::{mpsc, Mutex};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: i64,
    pub kid: Vec<u8>,
    pub ueid: Vec<u8>,
    pub pubkey: Vec<u8>,
    pub site: String,
    /// `pending`, `active`, `revoked`.
    pub status: String,
    pub enrolled_at: i64,
    pub last_seq: Option<i64>,
    pub last_seen: Option<i64>,
}

/// A verified attestation ready to store.
#[derive(Debug, Clone)]
pub struct Attestation {
    pub device_id: i64,
    pub received_at: i64,
    pub iat: i64,
    pub seq: i64,
    pub cti: Vec<u8>,
    pub raw: Vec<u8>,
    pub online: bool,
    /// (rule id, result code 1..4)
    pub results: Vec<(String, u8)>,
    /// (tag id / purl) per package
    pub packages: Vec<String>,
    /// (kind, path, fingerprint)
    pub keys: Vec<(String, String, String)>,
    pub sl_ceiling: Vec<(String, u8)>,
    /// The device's kid and the audit reason written with the attestation.
    pub kid: Vec<u8>,
    pub audit_reason: String,
    /// Hex SHA-256 of the CycloneDX SBOM the token attests (uploaded separately).
    pub sbom_digest: Option<String>,
}

pub type Result<T> = std::result::Result<T, String>;

/// One attestation's package tags and rule results.
pub type Snapshot = (Vec<String>, Vec<(String, u8)>);

/// Operations the collector needs from storage.
pub trait Store: Send + Sync {
    fn create_enroll_token(&self, hash: &[u8], site: &str, expires: i64) -> Result<()>;
    /// Consumes an enrollment secret (single use): returns its site if valid at `now`.
    fn take_enroll_token(&self, hash: &[u8], now: i64) -> Result<Option<String>>;
    fn insert_device(
        &self,
        kid: &[u8],
        ueid: &[u8],
        pubkey: &[u8],
        site: &str,
        now: i64,
    ) -> Result<i64>;
    fn device_by_kid(&self, kid: &[u8]) -> Result<Option<Device>>;
    fn device(&self, id: i64) -> Result<Option<Device>>;
    fn devices(&self) -> Result<Vec<Device>>;
    fn set_status(&self, id: i64, status: &str) -> Result<bool>;
    fn create_session(&self, id: &str, nonce: &[u8], expires: i64) -> Result<()>;
    /// Burns a session nonce: returns it if the session exists, is unused and
    /// unexpired at `now`; marks it used in any case.
    fn take_session(&self, id: &str, now: i64) -> Result<SessionState>;
    fn cti_seen(&self, device_id: i64, cti: &[u8]) -> Result<bool>;
    fn store_attestation(&self, a: &Attestation) -> Result<i64>;
    fn audit(
        &self,
        at: i64,
        kid: Option<&[u8]>,
        device_id: Option<i64>,
        outcome: &str,
        reason: &str,
    ) -> Result<()>;
    fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>>;
    /// Failing rules of each device's latest attestation: (device id, rule id),
    /// optionally only one rule.
    fn latest_failures(&self, rule: Option<&str>) -> Result<Vec<(i64, String)>>;
    /// Key fingerprints seen on more than one device: (fingerprint, kind, device ids).
    fn shared_keys(&self) -> Result<Vec<(String, String, Vec<i64>)>>;
    /// The two latest attestations of a device: (packages, results) each.
    fn last_two(&self, device_id: i64) -> Result<Vec<Snapshot>>;
    /// Devices whose latest attestation differs from the previous one in
    /// packages or rule results (decided in the database, without loading rows).
    fn drifting(&self) -> Result<Vec<i64>>;
    /// Fleet aggregates in a few queries: devices per status, failing rule
    /// counts, (FR, SL, devices), silent device count and the first ids.
    fn aggregates(&self, silent_before: i64) -> Result<Aggregates>;
    /// Whether a stored attestation references this SBOM digest (hex).
    fn sbom_referenced(&self, digest: &str) -> Result<bool>;
    fn sbom_exists(&self, digest: &str) -> Result<bool>;
    /// Stores an SBOM body; false when it was already there.
    fn put_sbom(&self, digest: &str, body: &[u8], now: i64) -> Result<bool>;
    /// Rule catalogs imported for agent versions newer than this build
    /// (checked `fieldattest/catalog/v1` documents); replaces the same version.
    fn put_catalog(&self, version: &str, body: &str, now: i64) -> Result<()>;
    /// Every imported catalog document.
    fn catalogs(&self) -> Result<Vec<String>>;
    /// mTLS: SHA-256 (hex) of the client certificate bound to a device.
    fn tls_binding(&self, device_id: i64) -> Result<Option<String>>;
    fn set_tls_binding(&self, device_id: i64, fp: &str) -> Result<()>;
    /// A key replaced by rotation: (device id, public key, rotation point —
    /// the key signs nothing with a sequence number at or above it).
    fn retired_key(&self, kid: &[u8]) -> Result<Option<(i64, Vec<u8>, i64)>>;
    /// Key rotation in one transaction: the device's current key is retired
    /// below `below_seq` and the new key becomes current. Fails when the new
    /// kid is already known.
    fn rotate_key(
        &self,
        device_id: i64,
        new_kid: &[u8],
        new_pubkey: &[u8],
        below_seq: i64,
        now: i64,
    ) -> Result<()>;
    /// Stores an OSV advisory (raw JSON) with the (ecosystem, package) keys it
    /// affects. Idempotent: an advisory with the same `modified` is left as is.
    fn put_advisory(
        &self,
        id: &str,
        modified: &str,
        keys: &[(String, String)],
        raw: &str,
        source: &str,
        now: i64,
    ) -> Result<PutAdvisory>;
    /// Raw JSON of the advisories affecting (ecosystem, package): (id, raw).
    fn advisories_for(&self, ecosystem: &str, name: &str) -> Result<Vec<(String, String)>>;
    /// Number of advisories and the latest import time.
    fn advisory_stats(&self) -> Result<(u64, Option<i64>)>;
    /// Package tags (purls) of every device's latest attestation, active devices only.
    fn latest_packages(&self) -> Result<Vec<(i64, Vec<String>)>>;
    /// Records a VEX status for a vulnerability on a device (`None`: the fleet).
    fn set_vex(&self, v: &VexEntry) -> Result<()>;
    fn vex_entries(&self) -> Result<Vec<VexEntry>>;
    /// The device's latest stored attestation.
    fn latest_token(&self, device_id: i64) -> Result<Option<TokenRow>>;
}

/// A stored attestation as kept: the raw token re-verifies any verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: i64,
    pub received_at: i64,
    pub iat: i64,
    pub seq: i64,
    pub online: bool,
    pub raw: Vec<u8>,
    pub sbom_digest: Option<String>,
}

/// Result of storing an advisory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutAdvisory {
    New,
    Updated,
    Unchanged,
}

/// An operator's VEX statement (CycloneDX analysis states).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexEntry {
    pub vuln: String,
    /// `None`: applies to every device of the fleet.
    pub device_id: Option<i64>,
    /// `not_affected`, `affected`, `fixed`, `under_investigation`.
    pub status: String,
    pub justification: Option<String>,
    pub detail: Option<String>,
    pub at: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aggregates {
    pub by_status: Vec<(String, u64)>,
    pub failing: Vec<(String, u64)>,
    pub ceilings: Vec<(String, u8, u64)>,
    pub silent: u64,
    pub silent_ids: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionState {
    Live(Vec<u8>),
    Unknown,
    Used,
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: i64,
    pub kid: Option<String>,
    pub device_id: Option<i64>,
    pub outcome: String,
    pub reason: String,
}

pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// Group-commit writer for file databases (None for in-memory ones).
    writer: Option<Mutex<mpsc::Sender<Job>>>,
}

/// Schema migrations, applied in order; `PRAGMA user_version` records progress.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE enroll_tokens (hash BLOB PRIMARY KEY, site TEXT NOT NULL, expires INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0);
     CREATE TABLE devices (id INTEGER PRIMARY KEY, kid BLOB NOT NULL UNIQUE, ueid BLOB NOT NULL, pubkey BLOB NOT NULL, site TEXT NOT NULL,
        status TEXT NOT NULL, enrolled_at INTEGER NOT NULL, last_seq INTEGER, last_seen INTEGER);
     CREATE TABLE sessions (id TEXT PRIMARY KEY, nonce BLOB NOT NULL, expires INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0);
     CREATE TABLE tokens (id INTEGER PRIMARY KEY, device_id INTEGER NOT NULL REFERENCES devices(id), received_at INTEGER NOT NULL,
        iat INTEGER NOT NULL, seq INTEGER NOT NULL, cti BLOB NOT NULL, raw BLOB NOT NULL, online INTEGER NOT NULL,
        packages TEXT NOT NULL DEFAULT '', UNIQUE(device_id, cti));
     CREATE TABLE rule_results (token_id INTEGER NOT NULL REFERENCES tokens(id), rule TEXT NOT NULL, result INTEGER NOT NULL);
     CREATE TABLE key_prints (token_id INTEGER NOT NULL REFERENCES tokens(id), device_id INTEGER NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL, fingerprint TEXT NOT NULL);
     CREATE TABLE ceilings (token_id INTEGER NOT NULL REFERENCES tokens(id), fr TEXT NOT NULL, sl INTEGER NOT NULL);
     CREATE TABLE audit (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, kid TEXT, device_id INTEGER, outcome TEXT NOT NULL, reason TEXT NOT NULL);
     CREATE INDEX tokens_device ON tokens(device_id, id);
     CREATE INDEX results_token ON rule_results(token_id);
     CREATE INDEX prints_fp ON key_prints(fingerprint);
     CREATE INDEX ceilings_token ON ceilings(token_id);",
    "ALTER TABLE devices ADD COLUMN latest_token INTEGER;",
    "ALTER TABLE devices ADD COLUMN prev_token INTEGER;
     ALTER TABLE tokens ADD COLUMN results_digest TEXT NOT NULL DEFAULT '';
     CREATE INDEX devices_status ON devices(status);
     CREATE INDEX devices_seen ON devices(last_seen);",
    "CREATE TABLE agg_failing (rule TEXT PRIMARY KEY, n INTEGER NOT NULL);
     CREATE TABLE agg_ceiling (fr TEXT NOT NULL, sl INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (fr, sl));
     CREATE TABLE agg_keys (fingerprint TEXT PRIMARY KEY, kind TEXT NOT NULL, n INTEGER NOT NULL);
     ALTER TABLE devices ADD COLUMN drifting INTEGER NOT NULL DEFAULT 0;
     CREATE INDEX devices_drifting ON devices(drifting);
     CREATE INDEX prints_token ON key_prints(token_id);
     CREATE INDEX agg_keys_n ON agg_keys(n);",
    "ALTER TABLE tokens ADD COLUMN sbom_digest TEXT;
     CREATE INDEX tokens_sbom ON tokens(sbom_digest);
     CREATE TABLE sboms (digest TEXT PRIMARY KEY, body BLOB NOT NULL, received_at INTEGER NOT NULL);",
    "ALTER TABLE devices ADD COLUMN tls_fp TEXT;",
    "CREATE TABLE retired_keys (kid BLOB PRIMARY KEY, device_id INTEGER NOT NULL REFERENCES devices(id),
        pubkey BLOB NOT NULL, below_seq INTEGER NOT NULL, rotated_at INTEGER NOT NULL);",
    "CREATE TABLE advisories (id TEXT PRIMARY KEY, modified TEXT NOT NULL, imported_at INTEGER NOT NULL,
        source TEXT NOT NULL, raw TEXT NOT NULL);
     CREATE TABLE advisory_packages (advisory_id TEXT NOT NULL REFERENCES advisories(id) ON DELETE CASCADE,
        ecosystem TEXT NOT NULL, name TEXT NOT NULL);
     CREATE INDEX advisory_packages_key ON advisory_packages(ecosystem, name);
     CREATE INDEX advisory_packages_id ON advisory_packages(advisory_id);
     CREATE TABLE vex (vuln TEXT NOT NULL, device_id INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL,
        justification TEXT, detail TEXT, at INTEGER NOT NULL, PRIMARY KEY (vuln, device_id));",
    "CREATE TABLE catalogs (version TEXT PRIMARY KEY, body TEXT NOT NULL, imported_at INTEGER NOT NULL);",
];

fn e(x: rusqlite::Error) -> String {
    x.to_string()
}

use fieldattest_protocol::hex::hex;

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(|x| format!("{}: {x}", path.display()))?;
        let mut store = Self::init(conn)?;
        let wconn = Connection::open(path).map_err(|x| format!("{}: {x}", path.display()))?;
        wconn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(e)?;
        wconn.pragma_update(None, "foreign_keys", "ON").map_err(e)?;
        wconn
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(e)?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(wconn, rx))
            .map_err(|x| x.to_string())?;
        store.writer = Some(Mutex::new(tx));
        Ok(store)
    }

    pub fn memory() -> Result<Self> {
        Self::init(Connection::open_in_memory().map_err(e)?)
    }

    fn init(conn: Connection) -> Result<Self> {
        conn.pragma_update(None, "journal_mode", "WAL").map_err(e)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(e)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(e)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(e)?;
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(e)?;
        for (i, m) in MIGRATIONS.iter().enumerate().skip(v as usize) {
            conn.execute_batch(&format!(
                "BEGIN; {m} PRAGMA user_version = {}; COMMIT;",
                i + 1
            ))
            .map_err(|x| format!("migration {}: {x}", i + 1))?;
        }
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            writer: None,
        })
    }

    fn c(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Writes one attestation inside the caller's transaction: freshness checked
/// again atomically (errors starting with `conflict:`), rows, incremental
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
            return Err(format!(
                "conflict: sequence replay: seq {} <= last accepted {l}",
                a.seq
            ));
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
        return Err("conflict: duplicate cti: token already received".into());
    }
    let mut sorted: Vec<String> = a.results.iter().map(|(r, c)| format!("{r}={c}")).collect();
    sorted.sort();
    let digest = crate::hex(
        ring::digest::digest(&ring::digest::SHA256, sorted.join("\n").as_bytes()).as_ref(),
    );
    tx.execute(
        "INSERT INTO tokens (device_id, received_at, iat, seq, cti, raw, online, packages, results_digest, sbom_digest) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![a.device_id, a.received_at, a.iat, a.seq, a.cti, a.raw, a.online as i64, a.packages.join("\n"), digest, a.sbom_digest],
    )
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
    if let Some(old) = old {
        tx.prepare_cached("UPDATE agg_failing SET n = n - 1 WHERE rule IN (SELECT rule FROM rule_results WHERE token_id = ?1 AND result = 2)").map_err(e)?.execute([old]).map_err(e)?;
        tx.prepare_cached("UPDATE agg_ceiling SET n = n - 1 WHERE EXISTS (SELECT 1 FROM ceilings c WHERE c.token_id = ?1 AND c.fr = agg_ceiling.fr AND c.sl = agg_ceiling.sl)").map_err(e)?.execute([old]).map_err(e)?;
        tx.prepare_cached("UPDATE agg_keys SET n = n - 1 WHERE fingerprint IN (SELECT DISTINCT fingerprint FROM key_prints WHERE token_id = ?1)").map_err(e)?.execute([old]).map_err(e)?;
        let (op, od): (String, String) = tx
            .query_row(
                "SELECT packages, results_digest FROM tokens WHERE id = ?1",
                [old],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(e)?;
        drifting = op != a.packages.join("\n") || od != digest;
    }
    tx.prepare_cached("INSERT INTO agg_failing (rule, n) SELECT rule, 1 FROM rule_results WHERE token_id = ?1 AND result = 2 ON CONFLICT(rule) DO UPDATE SET n = n + 1").map_err(e)?.execute([tid]).map_err(e)?;
    tx.prepare_cached("INSERT INTO agg_ceiling (fr, sl, n) SELECT fr, sl, 1 FROM ceilings WHERE token_id = ?1 ON CONFLICT(fr, sl) DO UPDATE SET n = n + 1").map_err(e)?.execute([tid]).map_err(e)?;
    tx.prepare_cached("INSERT INTO agg_keys (fingerprint, kind, n) SELECT fingerprint, MIN(kind), 1 FROM key_prints WHERE token_id = ?1 AND fingerprint != 'unavailable' GROUP BY fingerprint ON CONFLICT(fingerprint) DO UPDATE SET n = n + 1").map_err(e)?.execute([tid])
    .map_err(e)?;
    tx.execute(
        "UPDATE devices SET last_seq = MAX(COALESCE(last_seq, 0), ?1), last_seen = ?2, prev_token = latest_token, latest_token = ?3, drifting = ?4 WHERE id = ?5",
        params![a.seq, a.received_at, tid, drifting as i64, a.device_id],
    )
    .map_err(e)?;
    tx.execute("INSERT INTO audit (at, kid, device_id, outcome, reason) VALUES (?1, ?2, ?3, 'accepted', ?4)", params![a.received_at, hex(&a.kid), a.device_id, a.audit_reason]).map_err(e)?;
    Ok(tid)
}

struct Job {
    a: Attestation,
    reply: mpsc::SyncSender<Result<i64>>,
}

/// The group-commit writer: one connection, batches of up to 128 jobs per
/// transaction, one savepoint per job so a refused job does not undo others.
fn writer_loop(conn: Connection, rx: mpsc::Receiver<Job>) {
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
            conn.execute_batch("BEGIN IMMEDIATE")?;
            for j in &batch {
                conn.execute_batch("SAVEPOINT one")?;
                match write_attestation(&conn, &j.a) {
                    Ok(t) => {
                        conn.execute_batch("RELEASE one")?;
                        results.push(Ok(t));
                    }
                    Err(m) => {
                        conn.execute_batch("ROLLBACK TO one; RELEASE one")?;
                        results.push(Err(m));
                    }
                }
            }
            conn.execute_batch("COMMIT")
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
                    let _ = j.reply.send(Err(format!("storage: {x}")));
                }
            }
        }
    }
}

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

impl Store for SqliteStore {
    fn create_enroll_token(&self, hash: &[u8], site: &str, expires: i64) -> Result<()> {
        self.c()
            .execute(
                "INSERT INTO enroll_tokens (hash, site, expires) VALUES (?1, ?2, ?3)",
                params![hash, site, expires],
            )
            .map_err(e)?;
        Ok(())
    }

    fn take_enroll_token(&self, hash: &[u8], now: i64) -> Result<Option<String>> {
        let mut c = self.c();
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

    fn insert_device(
        &self,
        kid: &[u8],
        ueid: &[u8],
        pubkey: &[u8],
        site: &str,
        now: i64,
    ) -> Result<i64> {
        let c = self.c();
        c.execute("INSERT INTO devices (kid, ueid, pubkey, site, status, enrolled_at) VALUES (?1, ?2, ?3, ?4, 'pending', ?5)", params![kid, ueid, pubkey, site, now]).map_err(e)?;
        Ok(c.last_insert_rowid())
    }

    fn device_by_kid(&self, kid: &[u8]) -> Result<Option<Device>> {
        self.c()
            .query_row(
                &format!("SELECT {DEVICE_COLS} FROM devices WHERE kid = ?1"),
                [kid],
                row_device,
            )
            .optional()
            .map_err(e)
    }

    fn device(&self, id: i64) -> Result<Option<Device>> {
        self.c()
            .query_row(
                &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"),
                [id],
                row_device,
            )
            .optional()
            .map_err(e)
    }

    fn devices(&self) -> Result<Vec<Device>> {
        let c = self.c();
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

    fn set_status(&self, id: i64, status: &str) -> Result<bool> {
        Ok(self
            .c()
            .execute(
                "UPDATE devices SET status = ?1 WHERE id = ?2",
                params![status, id],
            )
            .map_err(e)?
            == 1)
    }

    fn create_session(&self, id: &str, nonce: &[u8], expires: i64) -> Result<()> {
        self.c()
            .execute(
                "INSERT INTO sessions (id, nonce, expires) VALUES (?1, ?2, ?3)",
                params![id, nonce, expires],
            )
            .map_err(e)?;
        Ok(())
    }

    fn take_session(&self, id: &str, now: i64) -> Result<SessionState> {
        let mut c = self.c();
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

    fn cti_seen(&self, device_id: i64, cti: &[u8]) -> Result<bool> {
        Ok(self
            .c()
            .query_row(
                "SELECT 1 FROM tokens WHERE device_id = ?1 AND cti = ?2",
                params![device_id, cti],
                |_| Ok(()),
            )
            .optional()
            .map_err(e)?
            .is_some())
    }

    fn store_attestation(&self, a: &Attestation) -> Result<i64> {
        if let Some(w) = &self.writer {
            // Group commit: the writer thread batches concurrent attestations
            // into one transaction (each in its own savepoint).
            let (reply, rx) = mpsc::sync_channel(1);
            w.lock()
                .unwrap_or_else(|p| p.into_inner())
                .send(Job {
                    a: a.clone(),
                    reply,
                })
                .map_err(|_| "writer thread gone".to_string())?;
            return rx.recv().map_err(|_| "writer thread gone".to_string())?;
        }
        let mut c = self.c();
        let tx = c.transaction().map_err(e)?;
        let tid = write_attestation(&tx, a)?;
        tx.commit().map_err(e)?;
        Ok(tid)
    }

    fn audit(
        &self,
        at: i64,
        kid: Option<&[u8]>,
        device_id: Option<i64>,
        outcome: &str,
        reason: &str,
    ) -> Result<()> {
        self.c().execute("INSERT INTO audit (at, kid, device_id, outcome, reason) VALUES (?1, ?2, ?3, ?4, ?5)", params![at, kid.map(hex), device_id, outcome, reason]).map_err(e)?;
        Ok(())
    }

    fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        let c = self.c();
        let mut st = c
            .prepare(
                "SELECT at, kid, device_id, outcome, reason FROM audit ORDER BY id DESC LIMIT ?1",
            )
            .map_err(e)?;
        let v = st
            .query_map([limit], |r| {
                Ok(AuditEntry {
                    at: r.get(0)?,
                    kid: r.get(1)?,
                    device_id: r.get(2)?,
                    outcome: r.get(3)?,
                    reason: r.get(4)?,
                })
            })
            .map_err(e)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(e)?;
        Ok(v)
    }

    fn latest_failures(&self, rule: Option<&str>) -> Result<Vec<(i64, String)>> {
        let c = self.c();
        let mut st = c
            .prepare(
                "SELECT d.id, r.rule FROM devices d JOIN rule_results r ON r.token_id = d.latest_token
                 WHERE r.result = 2 AND (?1 IS NULL OR r.rule = ?1) ORDER BY d.id, r.rule",
            )
            .map_err(e)?;
        let v = st
            .query_map([rule], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(e)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(e)?;
        Ok(v)
    }

    fn shared_keys(&self) -> Result<Vec<(String, String, Vec<i64>)>> {
        let c = self.c();
        let mut st = c
            .prepare("SELECT fingerprint, kind FROM agg_keys WHERE n > 1 ORDER BY fingerprint")
            .map_err(e)?;
        let fps: Vec<(String, String)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(e)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(e)?;
        let mut out = Vec::new();
        let mut ids = c.prepare_cached("SELECT DISTINCT k.device_id FROM key_prints k WHERE k.fingerprint = ?1 AND k.token_id = (SELECT latest_token FROM devices WHERE id = k.device_id) ORDER BY k.device_id").map_err(e)?;
        for (fp, kind) in fps {
            let v: Vec<i64> = ids
                .query_map([&fp], |r| r.get(0))
                .map_err(e)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(e)?;
            out.push((fp, kind, v));
        }
        Ok(out)
    }

    fn last_two(&self, device_id: i64) -> Result<Vec<Snapshot>> {
        let c = self.c();
        let mut st = c
            .prepare("SELECT id FROM tokens WHERE device_id = ?1 ORDER BY id DESC LIMIT 2")
            .map_err(e)?;
        let ids: Vec<i64> = st
            .query_map([device_id], |r| r.get(0))
            .map_err(e)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(e)?;
        let mut out = Vec::new();
        for id in ids {
            let joined: String = c
                .query_row("SELECT packages FROM tokens WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .map_err(e)?;
            let mut pk: Vec<String> = joined
                .split('\n')
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect();
            pk.sort();
            let mut r = c
                .prepare_cached(
                    "SELECT rule, result FROM rule_results WHERE token_id = ?1 ORDER BY rule",
                )
                .map_err(e)?;
            let rs: Vec<(String, u8)> = r
                .query_map([id], |x| Ok((x.get(0)?, x.get::<_, i64>(1)? as u8)))
                .map_err(e)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(e)?;
            out.push((pk, rs));
        }
        Ok(out)
    }

    fn tls_binding(&self, device_id: i64) -> Result<Option<String>> {
        self.c()
            .query_row(
                "SELECT tls_fp FROM devices WHERE id = ?1",
                [device_id],
                |r| r.get(0),
            )
            .map_err(e)
    }

    fn set_tls_binding(&self, device_id: i64, fp: &str) -> Result<()> {
        self.c()
            .execute(
                "UPDATE devices SET tls_fp = ?1 WHERE id = ?2",
                params![fp, device_id],
            )
            .map_err(e)?;
        Ok(())
    }

    fn retired_key(&self, kid: &[u8]) -> Result<Option<(i64, Vec<u8>, i64)>> {
        self.c()
            .query_row(
                "SELECT device_id, pubkey, below_seq FROM retired_keys WHERE kid = ?1",
                [kid],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(e)
    }

    fn rotate_key(
        &self,
        device_id: i64,
        new_kid: &[u8],
        new_pubkey: &[u8],
        below_seq: i64,
        now: i64,
    ) -> Result<()> {
        let mut c = self.c();
        let tx = c.transaction().map_err(e)?;
        let known: i64 = tx
            .query_row(
                "SELECT (SELECT count(*) FROM devices WHERE kid = ?1) + (SELECT count(*) FROM retired_keys WHERE kid = ?1)",
                [new_kid],
                |r| r.get(0),
            )
            .map_err(e)?;
        if known > 0 {
            return Err("conflict: new key already known".into());
        }
        let n = tx
            .execute(
                "INSERT INTO retired_keys (kid, device_id, pubkey, below_seq, rotated_at)
                 SELECT kid, id, pubkey, ?2, ?3 FROM devices WHERE id = ?1",
                params![device_id, below_seq, now],
            )
            .map_err(e)?;
        if n != 1 {
            return Err(format!("device {device_id} not found"));
        }
        tx.execute(
            "UPDATE devices SET kid = ?2, pubkey = ?3 WHERE id = ?1",
            params![device_id, new_kid, new_pubkey],
        )
        .map_err(e)?;
        tx.commit().map_err(e)
    }

    fn put_advisory(
        &self,
        id: &str,
        modified: &str,
        keys: &[(String, String)],
        raw: &str,
        source: &str,
        now: i64,
    ) -> Result<PutAdvisory> {
        let mut c = self.c();
        let tx = c.transaction().map_err(e)?;
        let old: Option<String> = tx
            .query_row("SELECT modified FROM advisories WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(e)?;
        if old.as_deref() == Some(modified) {
            return Ok(PutAdvisory::Unchanged);
        }
        tx.execute("DELETE FROM advisory_packages WHERE advisory_id = ?1", [id])
            .map_err(e)?;
        tx.execute(
            "INSERT OR REPLACE INTO advisories (id, modified, imported_at, source, raw) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, modified, now, source, raw],
        )
        .map_err(e)?;
        for (eco, name) in keys {
            tx.execute(
                "INSERT INTO advisory_packages (advisory_id, ecosystem, name) VALUES (?1, ?2, ?3)",
                params![id, eco, name],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)?;
        Ok(if old.is_some() {
            PutAdvisory::Updated
        } else {
            PutAdvisory::New
        })
    }

    fn advisories_for(&self, ecosystem: &str, name: &str) -> Result<Vec<(String, String)>> {
        let c = self.c();
        let mut st = c
            .prepare_cached(
                "SELECT DISTINCT a.id, a.raw FROM advisory_packages p JOIN advisories a ON a.id = p.advisory_id
                 WHERE p.ecosystem = ?1 AND p.name = ?2 ORDER BY a.id",
            )
            .map_err(e)?;
        let rows = st
            .query_map(params![ecosystem, name], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(e)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(e)
    }

    fn advisory_stats(&self) -> Result<(u64, Option<i64>)> {
        self.c()
            .query_row(
                "SELECT count(*), max(imported_at) FROM advisories",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )
            .map_err(e)
    }

    fn latest_packages(&self) -> Result<Vec<(i64, Vec<String>)>> {
        let c = self.c();
        let mut st = c
            .prepare(
                "SELECT d.id, t.packages FROM devices d JOIN tokens t ON t.id = d.latest_token
                 WHERE d.status = 'active' ORDER BY d.id",
            )
            .map_err(e)?;
        let rows = st
            .query_map([], |r| {
                let p: String = r.get(1)?;
                Ok((
                    r.get(0)?,
                    p.lines()
                        .filter(|l| !l.is_empty())
                        .map(str::to_string)
                        .collect(),
                ))
            })
            .map_err(e)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(e)
    }

    fn set_vex(&self, v: &VexEntry) -> Result<()> {
        self.c()
            .execute(
                "INSERT OR REPLACE INTO vex (vuln, device_id, status, justification, detail, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![v.vuln, v.device_id.unwrap_or(0), v.status, v.justification, v.detail, v.at],
            )
            .map(|_| ())
            .map_err(e)
    }

    fn vex_entries(&self) -> Result<Vec<VexEntry>> {
        let c = self.c();
        let mut st = c
            .prepare("SELECT vuln, device_id, status, justification, detail, at FROM vex ORDER BY vuln, device_id")
            .map_err(e)?;
        let rows = st
            .query_map([], |r| {
                let d: i64 = r.get(1)?;
                Ok(VexEntry {
                    vuln: r.get(0)?,
                    device_id: (d != 0).then_some(d),
                    status: r.get(2)?,
                    justification: r.get(3)?,
                    detail: r.get(4)?,
                    at: r.get(5)?,
                })
            })
            .map_err(e)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(e)
    }

    fn latest_token(&self, device_id: i64) -> Result<Option<TokenRow>> {
        self.c()
            .query_row(
                "SELECT t.id, t.received_at, t.iat, t.seq, t.online, t.raw, t.sbom_digest
                 FROM devices d JOIN tokens t ON t.id = d.latest_token WHERE d.id = ?1",
                [device_id],
                |r| {
                    Ok(TokenRow {
                        id: r.get(0)?,
                        received_at: r.get(1)?,
                        iat: r.get(2)?,
                        seq: r.get(3)?,
                        online: r.get::<_, i64>(4)? != 0,
                        raw: r.get(5)?,
                        sbom_digest: r.get(6)?,
                    })
                },
            )
            .optional()
            .map_err(e)
    }

    fn sbom_referenced(&self, digest: &str) -> Result<bool> {
        Ok(self
            .c()
            .query_row(
                "SELECT 1 FROM tokens WHERE sbom_digest = ?1 LIMIT 1",
                [digest],
                |_| Ok(()),
            )
            .optional()
            .map_err(e)?
            .is_some())
    }

    fn sbom_exists(&self, digest: &str) -> Result<bool> {
        Ok(self
            .c()
            .query_row(
                "SELECT 1 FROM sboms WHERE digest = ?1",
                [digest],
                |_| Ok(()),
            )
            .optional()
            .map_err(e)?
            .is_some())
    }

    fn put_sbom(&self, digest: &str, body: &[u8], now: i64) -> Result<bool> {
        Ok(self
            .c()
            .execute(
                "INSERT OR IGNORE INTO sboms (digest, body, received_at) VALUES (?1, ?2, ?3)",
                params![digest, body, now],
            )
            .map_err(e)?
            == 1)
    }

    fn put_catalog(&self, version: &str, body: &str, now: i64) -> Result<()> {
        self.c()
            .execute(
                "INSERT OR REPLACE INTO catalogs (version, body, imported_at) VALUES (?1, ?2, ?3)",
                params![version, body, now],
            )
            .map_err(e)?;
        Ok(())
    }

    fn catalogs(&self) -> Result<Vec<String>> {
        let c = self.c();
        let mut st = c
            .prepare("SELECT body FROM catalogs ORDER BY version")
            .map_err(e)?;
        let v = st
            .query_map([], |r| r.get(0))
            .map_err(e)?
            .collect::<rusqlite::Result<Vec<String>>>()
            .map_err(e)?;
        Ok(v)
    }

    fn drifting(&self) -> Result<Vec<i64>> {
        let c = self.c();
        let mut st = c
            .prepare("SELECT id FROM devices WHERE drifting = 1 AND status = 'active' ORDER BY id")
            .map_err(e)?;
        let v = st
            .query_map([], |r| r.get(0))
            .map_err(e)?
            .collect::<rusqlite::Result<Vec<i64>>>()
            .map_err(e)?;
        Ok(v)
    }

    fn aggregates(&self, silent_before: i64) -> Result<Aggregates> {
        let c = self.c();
        let pairs = |sql: &str| -> Result<Vec<(String, u64)>> {
            let mut st = c.prepare(sql).map_err(e)?;
            let v = st
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
                })
                .map_err(e)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(e)?;
            Ok(v)
        };
        let by_status =
            pairs("SELECT status, COUNT(*) FROM devices GROUP BY status ORDER BY status")?;
        let failing = pairs("SELECT rule, n FROM agg_failing WHERE n > 0 ORDER BY rule")?;
        let mut st = c
            .prepare("SELECT fr, sl, n FROM agg_ceiling WHERE n > 0 ORDER BY fr, sl")
            .map_err(e)?;
        let ceilings = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)? as u8,
                    r.get::<_, i64>(2)? as u64,
                ))
            })
            .map_err(e)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(e)?;
        let silent: i64 = c
            .query_row("SELECT COUNT(*) FROM devices WHERE status = 'active' AND (last_seen IS NULL OR last_seen < ?1)", [silent_before], |r| r.get(0))
            .map_err(e)?;
        let mut st = c.prepare("SELECT id FROM devices WHERE status = 'active' AND COALESCE(last_seen, 0) < ?1 ORDER BY id LIMIT 100").map_err(e)?;
        let silent_ids = st
            .query_map([silent_before], |r| r.get(0))
            .map_err(e)?
            .collect::<rusqlite::Result<Vec<i64>>>()
            .map_err(e)?;
        Ok(Aggregates {
            by_status,
            failing,
            ceilings,
            silent: silent as u64,
            silent_ids,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn migrations_are_idempotent_on_a_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c.db");
        let s = SqliteStore::open(&p).unwrap();
        s.insert_device(b"kid", b"ueid", b"pk", "x", 1).unwrap();
        drop(s);
        let s = SqliteStore::open(&p).unwrap();
        assert_eq!(s.devices().unwrap().len(), 1);
    }
}
