//! The SQLite schema: migrations applied in order (`PRAGMA user_version`
//! records progress), connection settings, and opening a store.

use super::{e, writes, Result, SqliteStore, StoreError};
use rusqlite::Connection;
use std::path::Path;
use std::sync::{mpsc, Mutex};

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
    // Operators (store/operators.rs): accounts, console sessions, API tokens, login failures.
    "CREATE TABLE operators (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL, phc TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);
     CREATE TABLE operator_sessions (hash BLOB PRIMARY KEY, operator_id INTEGER NOT NULL REFERENCES operators(id),
        csrf TEXT NOT NULL, created INTEGER NOT NULL, last_seen INTEGER NOT NULL);
     CREATE TABLE api_tokens (id INTEGER PRIMARY KEY, name TEXT NOT NULL, hash BLOB NOT NULL UNIQUE, role TEXT NOT NULL,
        created INTEGER NOT NULL, expires INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, last_used INTEGER);
     CREATE TABLE login_failures (key TEXT PRIMARY KEY, count INTEGER NOT NULL, last_at INTEGER NOT NULL);",
    // Device channel hardening (issue 16): the audit hash chain and its
    // coalescing counters, sessions bound to their requester and bounded,
    // the SL-ceiling disagreement of a token, UEID lookup at enrollment.
    // Rows older than this migration are chained by `seal_audit` right after it.
    "ALTER TABLE audit ADD COLUMN source TEXT;
     ALTER TABLE audit ADD COLUMN prev_hash BLOB;
     ALTER TABLE audit ADD COLUMN hash BLOB;
     CREATE INDEX audit_source ON audit(source, at);
     CREATE TABLE audit_repeats (audit_id INTEGER PRIMARY KEY REFERENCES audit(id), n INTEGER NOT NULL, last_at INTEGER NOT NULL);
     ALTER TABLE sessions ADD COLUMN source TEXT;
     ALTER TABLE sessions ADD COLUMN peer TEXT;
     ALTER TABLE sessions ADD COLUMN created INTEGER NOT NULL DEFAULT 0;
     CREATE INDEX sessions_expires ON sessions(expires);
     CREATE INDEX sessions_source ON sessions(source, created);
     ALTER TABLE tokens ADD COLUMN ceiling_dispute TEXT;
     CREATE INDEX devices_ueid ON devices(ueid);",
    // The operator console (issue 17): what a page of 100,000 devices sorts
    // and filters on, kept per device by the write path; package sets shared
    // by every token that attests the same inventory (a fleet runs a handful
    // of images) and their vulnerability matches; each device's failing
    // rules; the findings a token lists; the daily posture; collector-side
    // acceptances. Rows older than this migration are filled by `backfill`.
    "ALTER TABLE devices ADD COLUMN hostname TEXT;
     ALTER TABLE devices ADD COLUMN key_tier TEXT;
     ALTER TABLE devices ADD COLUMN failing INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE devices ADD COLUMN vulns_open INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE devices ADD COLUMN ceiling_min INTEGER;
     ALTER TABLE devices ADD COLUMN pkgset INTEGER;
     ALTER TABLE devices ADD COLUMN approved_by TEXT;
     ALTER TABLE devices ADD COLUMN approved_at INTEGER;
     ALTER TABLE devices ADD COLUMN keys_changed INTEGER;
     ALTER TABLE devices ADD COLUMN excepted INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE tokens ADD COLUMN pkgset INTEGER;
     ALTER TABLE tokens ADD COLUMN hostname TEXT;
     ALTER TABLE tokens ADD COLUMN key_tier TEXT;
     CREATE TABLE pkgsets (id INTEGER PRIMARY KEY, digest BLOB NOT NULL UNIQUE, n INTEGER NOT NULL,
        matched INTEGER NOT NULL DEFAULT 0);
     CREATE TABLE pkgset_items (set_id INTEGER NOT NULL REFERENCES pkgsets(id), purl TEXT NOT NULL,
        name TEXT NOT NULL, version TEXT NOT NULL, source TEXT NOT NULL);
     CREATE INDEX pkgset_items_set ON pkgset_items(set_id);
     CREATE INDEX pkgset_items_name ON pkgset_items(name, set_id);
     CREATE INDEX pkgset_items_source ON pkgset_items(source, set_id);
     CREATE TABLE pkgset_vulns (set_id INTEGER NOT NULL REFERENCES pkgsets(id), vuln TEXT NOT NULL,
        component TEXT NOT NULL, ecosystem TEXT NOT NULL, packages TEXT NOT NULL, version TEXT NOT NULL,
        fixed TEXT, aliases TEXT NOT NULL DEFAULT '', summary TEXT, severity TEXT, score REAL,
        PRIMARY KEY (set_id, vuln, component));
     CREATE INDEX pkgset_vulns_vuln ON pkgset_vulns(vuln, set_id);
     CREATE TABLE latest_failing (rule TEXT NOT NULL, device_id INTEGER NOT NULL,
        PRIMARY KEY (rule, device_id)) WITHOUT ROWID;
     CREATE INDEX latest_failing_device ON latest_failing(device_id);
     CREATE TABLE token_findings (token_id INTEGER NOT NULL REFERENCES tokens(id), rule TEXT NOT NULL,
        subject TEXT NOT NULL, path TEXT NOT NULL, accepted TEXT);
     CREATE INDEX token_findings_token ON token_findings(token_id);
     CREATE TABLE posture (day INTEGER NOT NULL, metric TEXT NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY (day, metric)) WITHOUT ROWID;
     CREATE TABLE accepts (id INTEGER PRIMARY KEY, device_id INTEGER REFERENCES devices(id), rule TEXT NOT NULL,
        subject TEXT NOT NULL DEFAULT '', justification TEXT NOT NULL, expires INTEGER NOT NULL,
        actor TEXT NOT NULL, at INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
     CREATE INDEX accepts_device ON accepts(device_id);
     CREATE INDEX devices_site ON devices(site, status);
     CREATE INDEX devices_hostname ON devices(hostname);
     CREATE INDEX devices_failing ON devices(failing);
     CREATE INDEX devices_vulns ON devices(vulns_open);
     CREATE INDEX devices_ceiling ON devices(ceiling_min);
     CREATE INDEX devices_pkgset ON devices(pkgset, excepted, status);
     CREATE INDEX devices_tier ON devices(key_tier);
     CREATE INDEX devices_keys_changed ON devices(keys_changed);
     CREATE INDEX devices_excepted ON devices(excepted) WHERE excepted = 1;
     CREATE INDEX pkgsets_unmatched ON pkgsets(matched) WHERE matched = 0;
     CREATE INDEX devices_status_seen ON devices(status, last_seen);
     CREATE INDEX devices_drift_seen ON devices(drifting, status, last_seen);
     CREATE INDEX tokens_received ON tokens(received_at);",
    // The device page: a device's audit entries, newest first.
    "CREATE INDEX audit_device ON audit(device_id, id);",
    // Imported data (store/feeds.rs, issue 18): each feed's records per
    // source (NVD and CVE 5 merged into `advisories`), KEV, EPSS, supplier
    // VEX, and what was imported from where.
    "CREATE TABLE feed_records (kind TEXT NOT NULL, id TEXT NOT NULL, modified TEXT NOT NULL, raw TEXT NOT NULL,
        PRIMARY KEY (id, kind));
     CREATE TABLE kev (cve TEXT PRIMARY KEY, added TEXT NOT NULL, due TEXT, ransomware INTEGER NOT NULL);
     CREATE TABLE epss (cve TEXT PRIMARY KEY, score REAL NOT NULL, percentile REAL NOT NULL, date TEXT NOT NULL);
     CREATE TABLE supplier_vex (source TEXT NOT NULL, vuln TEXT NOT NULL, product TEXT NOT NULL, status TEXT NOT NULL,
        justification TEXT, detail TEXT, at INTEGER NOT NULL, PRIMARY KEY (source, vuln, product));
     CREATE INDEX supplier_vex_vuln ON supplier_vex(vuln);
     CREATE TABLE feeds (kind TEXT NOT NULL, origin TEXT NOT NULL, records INTEGER NOT NULL, imported_at INTEGER NOT NULL,
        data_date TEXT, PRIMARY KEY (kind, origin));",
    // Vulnerability matching of issue 18 (vuln/mod.rs): per package set the
    // (ecosystem, name) keys of its packages (an import re-matches the sets
    // holding what it touched) and what matching could not see; per match
    // every CVSS vector and the supplier's VEX statement. Every set is
    // matched again.
    "CREATE TABLE pkgset_keys (set_id INTEGER NOT NULL REFERENCES pkgsets(id), ecosystem TEXT NOT NULL,
        name TEXT NOT NULL, PRIMARY KEY (ecosystem, name, set_id)) WITHOUT ROWID;
     CREATE INDEX pkgset_keys_set ON pkgset_keys(set_id);
     CREATE TABLE pkgset_coverage (set_id INTEGER PRIMARY KEY REFERENCES pkgsets(id), total INTEGER NOT NULL,
        unidentified INTEGER NOT NULL, uncovered INTEGER NOT NULL, nodata TEXT NOT NULL DEFAULT '',
        notes TEXT NOT NULL DEFAULT '');
     ALTER TABLE pkgset_vulns ADD COLUMN cvss TEXT NOT NULL DEFAULT '';
     ALTER TABLE pkgset_vulns ADD COLUMN supplier_status TEXT;
     ALTER TABLE pkgset_vulns ADD COLUMN supplier_justification TEXT;
     ALTER TABLE pkgset_vulns ADD COLUMN supplier_detail TEXT;
     ALTER TABLE pkgset_vulns ADD COLUMN supplier_source TEXT;
     UPDATE pkgsets SET matched = 0;",
    // Issue 18: the latest attestation's CVE_STATUS entries and listeners,
    // row by row (`device_claims.rs`), with the digests that skip rewriting
    // unchanged rows.
    "CREATE TABLE device_cve_status (device_id INTEGER NOT NULL REFERENCES devices(id), vuln TEXT NOT NULL,
        component TEXT NOT NULL, status TEXT NOT NULL, detail TEXT NOT NULL, description TEXT NOT NULL,
        PRIMARY KEY (device_id, vuln, component)) WITHOUT ROWID;
     CREATE INDEX device_cve_status_vuln ON device_cve_status(vuln);
     CREATE TABLE device_listeners (device_id INTEGER NOT NULL REFERENCES devices(id), proto TEXT NOT NULL,
        addr TEXT NOT NULL, port INTEGER NOT NULL, process TEXT, package TEXT);
     CREATE INDEX device_listeners_device ON device_listeners(device_id, port);
     ALTER TABLE devices ADD COLUMN cve_status_digest BLOB;
     ALTER TABLE devices ADD COLUMN listeners_digest BLOB;",
    // The fleet vulnerability view reads active devices per package set and
    // their listeners' digests from this index alone (`+status` in those
    // queries keeps the status indexes for the others).
    "CREATE INDEX devices_sets ON devices(pkgset, listeners_digest, status, site);",
    // The fleet vulnerability view's generation (vuln/fleet_cache.rs): one
    // counter that every change the view depends on bumps, by trigger so
    // that no write path can forget it — package sets' matches (once per
    // set: every write of a set's matches sets `pkgsets.matched`, a row
    // trigger on the millions of match rows would slow re-matching), devices
    // (set, status, site, listeners, own statements), VEX, KEV, EPSS,
    // accepted findings. A view computed at generation g is current while
    // the counter is g.
    "CREATE TABLE fleet_gen (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
     INSERT INTO fleet_gen VALUES (1, 1);
     CREATE TRIGGER fleet_gen_devices_ins AFTER INSERT ON devices BEGIN UPDATE fleet_gen SET n = n + 1; END;
     CREATE TRIGGER fleet_gen_devices_del AFTER DELETE ON devices BEGIN UPDATE fleet_gen SET n = n + 1; END;
     CREATE TRIGGER fleet_gen_pkgsets_matched AFTER UPDATE OF matched ON pkgsets BEGIN UPDATE fleet_gen SET n = n + 1; END;
     CREATE TRIGGER fleet_gen_vex_ins AFTER INSERT ON vex BEGIN UPDATE fleet_gen SET n = n + 1; END;
     CREATE TRIGGER fleet_gen_vex_del AFTER DELETE ON vex BEGIN UPDATE fleet_gen SET n = n + 1; END;
     CREATE TRIGGER fleet_gen_vex_upd AFTER UPDATE ON vex BEGIN UPDATE fleet_gen SET n = n + 1; END;
     CREATE TRIGGER fleet_gen_kev_ins AFTER INSERT ON kev BEGIN UPDATE fleet_gen SET n = n + 1; END;
     CREATE TRIGGER fleet_gen_kev_del AFTER DELETE ON kev BEGIN UPDATE fleet_gen SET n = n + 1; END;
     CREATE TRIGGER fleet_gen_kev_upd AFTER UPDATE ON kev BEGIN UPDATE fleet_gen SET n = n + 1; END;
     CREATE TRIGGER fleet_gen_epss_ins AFTER INSERT ON epss BEGIN UPDATE fleet_gen SET n = n + 1; END;
     CREATE TRIGGER fleet_gen_epss_del AFTER DELETE ON epss BEGIN UPDATE fleet_gen SET n = n + 1; END;
     CREATE TRIGGER fleet_gen_epss_upd AFTER UPDATE ON epss BEGIN UPDATE fleet_gen SET n = n + 1; END;
     CREATE TRIGGER fleet_gen_accepts_ins AFTER INSERT ON accepts BEGIN UPDATE fleet_gen SET n = n + 1; END;
     CREATE TRIGGER fleet_gen_accepts_del AFTER DELETE ON accepts BEGIN UPDATE fleet_gen SET n = n + 1; END;
     CREATE TRIGGER fleet_gen_accepts_upd AFTER UPDATE ON accepts BEGIN UPDATE fleet_gen SET n = n + 1; END;
     CREATE TRIGGER fleet_gen_devices_upd AFTER UPDATE ON devices
        WHEN OLD.pkgset IS NOT NEW.pkgset OR OLD.status IS NOT NEW.status OR OLD.site IS NOT NEW.site
          OR OLD.listeners_digest IS NOT NEW.listeners_digest OR OLD.excepted IS NOT NEW.excepted
          OR OLD.cve_status_digest IS NOT NEW.cve_status_digest
          OR (NEW.excepted = 1 AND OLD.latest_token IS NOT NEW.latest_token) BEGIN UPDATE fleet_gen SET n = n + 1; END;
     CREATE TRIGGER fleet_gen_token_findings_upd AFTER UPDATE OF accepted ON token_findings BEGIN UPDATE fleet_gen SET n = n + 1; END;",
    // Kernel CVEs in code not built (store/kernel.rs, vuln/kbuild.rs):
    // imported configurations by digest, and the Kbuild map (conditions
    // NULL: unknown).
    "CREATE TABLE kernel_configs (digest TEXT PRIMARY KEY, symbols TEXT NOT NULL, origin TEXT NOT NULL,
        imported_at INTEGER NOT NULL);
     CREATE TABLE kernel_files (stem TEXT PRIMARY KEY, conds TEXT) WITHOUT ROWID;",
    // Result sets (store/writes.rs): a token's rule results kept once per
    // distinct set, shared by the devices that report the same results and
    // by an unchanged device's successive tokens. Existing tokens are moved
    // to sets by `results::backfill`, and package sets get the digest that
    // length-prefixes each tag (`writes::set_digest`).
    "CREATE TABLE result_sets (id INTEGER PRIMARY KEY, digest BLOB NOT NULL UNIQUE, n INTEGER NOT NULL);
     CREATE TABLE result_set_rows (set_id INTEGER NOT NULL REFERENCES result_sets(id), rule TEXT NOT NULL,
        result INTEGER NOT NULL);
     CREATE INDEX result_set_rows_set ON result_set_rows(set_id);
     ALTER TABLE tokens ADD COLUMN rset INTEGER;",
    // The per-token rows moved to result sets above: what read them reads
    // the same (token, rule, result) rows through a view.
    "DROP TABLE rule_results;
     CREATE VIEW rule_results AS SELECT t.id AS token_id, r.rule AS rule, r.result AS result
        FROM tokens t JOIN result_set_rows r ON r.set_id = t.rset;",
];

/// Whether migration `m` is the one that adds result sets (tokens stored
/// before it are moved to sets by `writes::backfill_sets`).
fn adds_result_sets(m: &str) -> bool {
    m.contains("CREATE TABLE result_sets")
}

/// Whether migration `m` is the one that adds the console's per-device
/// columns and package sets (rows older than it are filled by `backfill`).
fn adds_console(m: &str) -> bool {
    m.contains("CREATE TABLE pkgsets")
}

/// Whether migration `m` is the one that adds the device claim tables
/// (filled for older tokens by `device_claims::backfill`).
fn adds_device_claims(m: &str) -> bool {
    m.contains("CREATE TABLE device_cve_status")
}

/// Whether migration `m` is the one that adds the audit hash chain (found by
/// content, so migrations appended before or after it do not move it).
fn adds_audit_chain(m: &str) -> bool {
    m.contains("ALTER TABLE audit ADD COLUMN prev_hash")
}

/// Prepared statements a connection keeps: more than the distinct
/// statements of the write path (rusqlite's default of 16 is fewer, so the
/// writer re-prepared — parsed and planned — most statements of every token:
/// a quarter of the collector's CPU under load).
const STATEMENT_CACHE: usize = 256;

/// WAL, `synchronous=NORMAL`, foreign keys, a 5 s busy timeout; temporary
/// data (statement journals of the writer's savepoints, sorts) in memory
/// rather than spilled to files in /var/tmp, a 32 MiB page cache and a
/// statement cache of [`STATEMENT_CACHE`].
fn configure(conn: &Connection) -> Result<()> {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(e)?;
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(e)?;
    conn.pragma_update(None, "cache_size", -32768).map_err(e)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(e)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(e)?;
    Ok(())
}

/// Refreshes the query planner's statistics where tables changed a lot
/// (`PRAGMA optimize`, each index sampled at most 400 rows): at open and
/// with each posture record, so plans follow the fleet as it grows.
pub(super) fn optimize(conn: &Connection) -> Result<()> {
    conn.execute_batch(OPTIMIZE).map_err(e)
}

/// [`optimize`]'s statements.
pub(super) const OPTIMIZE: &str = "PRAGMA analysis_limit = 400; PRAGMA optimize = 0x10002;";

/// A read-only connection on a collector's database file.
pub(super) fn open_reader(path: &Path) -> Result<Connection> {
    use rusqlite::OpenFlags;
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|x| StoreError::Database(format!("{}: {x}", path.display())))?;
    c.pragma_update(None, "cache_size", -32768).map_err(e)?;
    c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    c.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(e)?;
    Ok(c)
}

fn open_file(path: &Path) -> Result<Connection> {
    Connection::open(path).map_err(|x| StoreError::Database(format!("{}: {x}", path.display())))
}

/// The database and its `-wal` and `-shm` files (they hold the same data).
fn db_files(path: &Path) -> [std::path::PathBuf; 3] {
    let with = |suffix: &str| {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        std::path::PathBuf::from(p)
    };
    [path.to_path_buf(), with("-wal"), with("-shm")]
}

/// Creates the database file 0600 before SQLite opens it (`O_EXCL`: an
/// existing file or symlink is left alone), so SQLite, which gives the
/// `-wal` and `-shm` files the database file's mode, creates them 0600
/// too.
fn create_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(x) if x.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(x) => Err(StoreError::Database(format!("{}: {x}", path.display()))),
    }
}

/// Takes group and other permissions off the database files that have
/// them (a database created by an older collector, or through a symlink):
/// best effort, a user who does not own them can still read a database
/// they were given access to.
fn restrict(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for f in db_files(path) {
        if let Ok(m) = std::fs::metadata(&f) {
            if m.is_file() && m.permissions().mode() & 0o077 != 0 {
                let mode = m.permissions().mode() & 0o700;
                let _ = std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode));
            }
        }
    }
}

/// Every 100 ms a passive checkpoint (it waits for no lock and blocks no
/// writer or reader), until the store is dropped: the writer's commits
/// append to the WAL and never stop to copy it back, so an attestation's
/// latency does not take a checkpoint's.
fn checkpointer(c: Connection, stopped: mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) =
        stopped.recv_timeout(std::time::Duration::from_millis(100))
    {
        let _ = c.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
    }
}

impl SqliteStore {
    /// Opens (creating and migrating) a database file, with a group-commit
    /// writer thread on a second connection. The database, `-wal` and
    /// `-shm` files are private to the owner (0600).
    pub fn open(path: &Path) -> Result<Self> {
        create_private(path)?;
        restrict(path);
        let mut store = Self::init(open_file(path)?)?;
        restrict(path);
        let wconn = open_file(path)?;
        configure(&wconn)?;
        // The WAL is copied back into the database by a checkpointer thread
        // of its own (below), off the writer's path; the writer checkpoints
        // itself only past 8,192 WAL pages (32 MiB), should that thread
        // fall behind.
        wconn
            .pragma_update(None, "wal_autocheckpoint", 8192)
            .map_err(e)?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writes::writer_loop(wconn, rx))
            .map_err(|x| StoreError::Database(x.to_string()))?;
        store.writer = Some(Mutex::new(tx));
        let cconn = open_file(path)?;
        configure(&cconn)?;
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpointer(cconn, stopped))
            .map_err(|x| StoreError::Database(x.to_string()))?;
        store.checkpointer = Some(Mutex::new(stop));
        store.path = Some(path.to_path_buf());
        Ok(store)
    }

    /// An in-memory database (tests, fuzzing): writes go through the caller's connection.
    pub fn memory() -> Result<Self> {
        Self::init(Connection::open_in_memory().map_err(e)?)
    }

    fn init(conn: Connection) -> Result<Self> {
        conn.pragma_update(None, "journal_mode", "WAL").map_err(e)?;
        configure(&conn)?;
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(e)?;
        for (i, m) in MIGRATIONS.iter().enumerate().skip(v as usize) {
            let fail = |x: String| StoreError::Database(format!("migration {}: {x}", i + 1));
            let step = || -> Result<()> {
                conn.execute_batch(&format!("BEGIN; {m}"))
                    .map_err(|x| fail(x.to_string()))?;
                if adds_audit_chain(m) {
                    // In the same transaction: rows written before the chain existed.
                    super::audit::seal_audit(&mut super::sql::Lite(&conn))
                        .map_err(|x| fail(x.to_string()))?;
                }
                if adds_console(m) {
                    super::console::backfill(&conn).map_err(|x| fail(x.to_string()))?;
                }
                if adds_device_claims(m) {
                    super::device_claims::backfill(&mut super::sql::Lite(&conn))
                        .map_err(|x| fail(x.to_string()))?;
                }
                if adds_result_sets(m) {
                    writes::backfill_sets(&conn).map_err(|x| fail(x.to_string()))?;
                }
                conn.execute_batch(&format!("PRAGMA user_version = {}; COMMIT;", i + 1))
                    .map_err(|x| fail(x.to_string()))
            };
            if let Err(x) = step() {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(x);
            }
        }
        optimize(&conn)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            path: None,
            writer: None,
            checkpointer: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{SqliteStore, Store};

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

    fn modes(p: &std::path::Path) -> Vec<(String, u32)> {
        use std::os::unix::fs::PermissionsExt;
        super::db_files(p)
            .iter()
            .map(|f| {
                let m = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
                (f.display().to_string(), m)
            })
            .collect()
    }

    #[test]
    fn database_wal_and_shm_are_private_after_a_write() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c.db");
        let s = SqliteStore::open(&p).unwrap();
        s.insert_device(b"kid", b"ueid", b"pk", "x", 1).unwrap();
        for (f, m) in modes(&p) {
            assert_eq!(m, 0o600, "{f}");
        }
    }

    #[test]
    fn an_older_world_readable_database_is_tightened_on_open() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c.db");
        let s = SqliteStore::open(&p).unwrap();
        s.insert_device(b"kid", b"ueid", b"pk", "x", 1).unwrap();
        for f in super::db_files(&p) {
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let s2 = SqliteStore::open(&p).unwrap();
        assert_eq!(s2.devices().unwrap().len(), 1);
        for (f, m) in modes(&p) {
            assert_eq!(m, 0o600, "{f}");
        }
        drop((s, s2));
    }
}
