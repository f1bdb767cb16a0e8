//! [`PostgresStore`]: the collector's storage in a PostgreSQL database that
//! any number of collector replicas share. Every operation is the same
//! statement text as on SQLite (the modules are written over
//! [`sql::Sql`]); this file holds the connection pool, TLS to the database
//! (rustls with ring; no OpenSSL), and what differs in how operations run.
//!
//! *Invariants:* nothing correctness needs is kept in a process — every
//! check (nonce burnt, `cti` unique, `seq` increasing) is made inside the
//! database transaction that writes (`writes::write_attestation` locks the
//! device row first); a transaction PostgreSQL aborts for a deadlock or a
//! serialization failure is run again from the start (it wrote nothing); a
//! lost connection is never reused, and the operation fails with
//! [`StoreError::Unavailable`] (the server answers 503; the device's spool
//! retries, and a token stored whose answer was lost comes back as a
//! duplicate `cti`). Connections are bounded ([`MAX_CONNECTIONS`]); a
//! request waits at most [`CHECKOUT_WAIT`] for one.

use super::sql::{self, Pg, Sql};
use super::{Result, StoreError};
use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Connections one collector process opens at most.
pub const MAX_CONNECTIONS: usize = 16;
/// How long an operation waits for a free connection.
pub const CHECKOUT_WAIT: Duration = Duration::from_secs(10);
/// Times a transaction aborted by a deadlock or serialization failure runs.
const ATTEMPTS: usize = 5;

/// A pooled connection and its prepared statements.
struct Conn {
    client: postgres::Client,
    prepared: HashMap<String, postgres::Statement>,
}

struct Pool {
    config: postgres::Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    /// Idle connections, and how many exist in all.
    state: Mutex<(Vec<Conn>, usize)>,
    freed: Condvar,
}

/// The collector's storage on PostgreSQL.
pub struct PostgresStore {
    pool: Pool,
    /// The URL without its password, for messages.
    shown: String,
}

/// TLS for database connections: the roots of `ca` (PEM) or, without it,
/// the system's bundle; the server's certificate and name are verified
/// when `sslmode` asks for TLS.
fn tls(ca: Option<&std::path::Path>) -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let path = ca.map(std::path::Path::to_path_buf).unwrap_or_else(|| {
        std::path::PathBuf::from(
            std::env::var_os("PGSSLROOTCERT")
                .unwrap_or_else(|| "/etc/ssl/certs/ca-certificates.crt".into()),
        )
    });
    let mut roots = rustls::RootCertStore::empty();
    if let Ok(pem) = std::fs::read(&path) {
        for c in rustls_pemfile::certs(&mut pem.as_slice()).flatten() {
            let _ = roots.add(c);
        }
    } else if ca.is_some() {
        return Err(StoreError::Database(format!(
            "{}: cannot read the database's CA certificates",
            path.display()
        )));
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|x| StoreError::Database(format!("TLS: {x}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// `url` without its password.
fn shown(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((auth, host)) => {
                let user = auth.split(':').next().unwrap_or("");
                format!("{scheme}://{user}@{host}")
            }
            None => url.to_string(),
        },
        None => "postgres".into(),
    }
}

/// A failure of the database, typed: a connection lost or refused is
/// [`StoreError::Unavailable`], anything else [`StoreError::Database`].
pub(super) fn fault(x: postgres::Error) -> StoreError {
    match x.as_db_error() {
        Some(d) if is_shutdown(d.code()) => StoreError::Unavailable(d.message().to_string()),
        Some(d) => StoreError::Database(format!("{}: {}", d.code().code(), d.message())),
        None if x.is_closed() || x.to_string().contains("connect") => {
            StoreError::Unavailable(x.to_string())
        }
        None => StoreError::Database(x.to_string()),
    }
}

fn is_shutdown(c: &postgres::error::SqlState) -> bool {
    use postgres::error::SqlState as S;
    [
        S::ADMIN_SHUTDOWN,
        S::CRASH_SHUTDOWN,
        S::CANNOT_CONNECT_NOW,
        S::CONNECTION_FAILURE,
        S::CONNECTION_EXCEPTION,
        S::READ_ONLY_SQL_TRANSACTION,
    ]
    .contains(c)
}

/// Whether a transaction failed only because it ran beside another one
/// (deadlock, serialization failure): running it again can succeed.
fn is_retryable(e: &StoreError) -> bool {
    matches!(e, StoreError::Database(m) if m.starts_with("40P01:") || m.starts_with("40001:"))
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/db?sslmode=…`),
    /// applies the migrations the database lacks (once, under an advisory
    /// lock) and keeps the connection in the pool.
    pub fn open(url: &str, ca: Option<&std::path::Path>) -> Result<PostgresStore> {
        let config: postgres::Config = url
            .parse()
            .map_err(|x| StoreError::Database(format!("{}: {x}", shown(url))))?;
        let mut config = config;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        config.application_name("fieldattest-collector");
        let s = PostgresStore {
            pool: Pool {
                config,
                tls: tls(ca)?,
                state: Mutex::new((Vec::new(), 0)),
                freed: Condvar::new(),
            },
            shown: shown(url),
        };
        let mut c = s.connect()?;
        super::pg_schema::migrate(&mut c.client)?;
        // The first connection counts as one of the pool's.
        s.pool.state.lock().unwrap_or_else(|p| p.into_inner()).1 = 1;
        s.give_back(c);
        Ok(s)
    }

    fn connect(&self) -> Result<Conn> {
        let client = self
            .pool
            .config
            .connect(self.pool.tls.clone())
            .map_err(|x| StoreError::Unavailable(format!("{}: {x}", self.shown)))?;
        Ok(Conn {
            client,
            prepared: HashMap::new(),
        })
    }

    /// An idle connection, a new one under the bound, or the first freed
    /// within [`CHECKOUT_WAIT`].
    fn checkout(&self) -> Result<Conn> {
        let deadline = std::time::Instant::now() + CHECKOUT_WAIT;
        let mut st = self.pool.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            while let Some(c) = st.0.pop() {
                if !c.client.is_closed() {
                    return Ok(c);
                }
                st.1 -= 1;
            }
            if st.1 < MAX_CONNECTIONS {
                st.1 += 1;
                drop(st);
                return self.connect().inspect_err(|_| {
                    let mut st = self.pool.state.lock().unwrap_or_else(|p| p.into_inner());
                    st.1 -= 1;
                    self.pool.freed.notify_one();
                });
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(StoreError::Unavailable(
                    "every database connection is busy".into(),
                ));
            }
            st = self
                .pool
                .freed
                .wait_timeout(st, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Returns a connection to the pool, or drops it when it was lost.
    fn give_back(&self, c: Conn) {
        let mut st = self.pool.state.lock().unwrap_or_else(|p| p.into_inner());
        if c.client.is_closed() {
            st.1 -= 1;
        } else {
            st.0.push(c);
        }
        self.pool.freed.notify_one();
    }

    /// Runs `f` on a pooled connection. The postgres client drives its
    /// own runtime, so on a thread of the server's runtime the call is
    /// made in `block_in_place`.
    pub(super) fn with<T>(&self, f: impl FnOnce(&mut dyn Sql) -> Result<T>) -> Result<T> {
        let run = || {
            self.pooled(|c| {
                f(&mut Pg {
                    client: &mut c.client,
                    prepared: &mut c.prepared,
                })
                .map_err(|e| match e {
                    StoreError::Database(m) if c.client.is_closed() => StoreError::Unavailable(m),
                    other => other,
                })
            })
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(run)
            }
            _ => run(),
        }
    }

    /// Runs `f` on a connection checked out of the pool, returned after.
    fn pooled<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        let mut c = self.checkout()?;
        let r = f(&mut c);
        self.give_back(c);
        r
    }

    /// Runs `f` with a pooled connection's client itself (bulk work such
    /// as [`super::copy`]).
    pub(super) fn with_client<T>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> Result<T>,
    ) -> Result<T> {
        self.pooled(|c| f(&mut c.client))
    }

    /// [`with`](Self::with) in a transaction, run again (up to
    /// [`ATTEMPTS`] times) when PostgreSQL aborts it for a deadlock or a
    /// serialization failure.
    pub(super) fn in_transaction<T>(
        &self,
        mut f: impl FnMut(&mut dyn Sql) -> Result<T>,
    ) -> Result<T> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.with(|db| sql::transaction(db, &mut f)) {
                Err(e) if attempt < ATTEMPTS && is_retryable(&e) => continue,
                r => return r,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::device_claims::tests::attestation;
    use super::super::{Attestation, Store};
    use super::*;

    /// Eight writers storing tokens whose failing rules, ceilings and keys
    /// change every time, each set in its own order: every token is stored
    /// (aggregate maintenance cannot deadlock them), and the aggregates
    /// count each device once.
    #[test]
    fn concurrent_writers_changing_the_aggregates_all_succeed() {
        let cluster = super::super::pg_cluster::Cluster::start();
        cluster.create_db("fleet");
        let store = PostgresStore::open(&cluster.url("fleet"), None).unwrap();
        let att = |device: i64, seq: i64| {
            let mut results: Vec<(String, u8)> = (0..20)
                .map(|i| {
                    (
                        format!("rule-{i}"),
                        if (i + seq + device) % 3 == 0 { 2 } else { 1 },
                    )
                })
                .collect();
            if (device + seq) % 2 == 0 {
                results.reverse();
            }
            Attestation {
                received_at: seq,
                iat: seq,
                seq,
                cti: seq.to_be_bytes().to_vec(),
                raw: vec![1],
                results,
                packages: vec![format!("pkg:deb/debian/p@{}", seq % 3)],
                keys: vec![(
                    "ssh-host".into(),
                    "/k".into(),
                    format!("fp-{}", (seq + device) % 4),
                )],
                sl_ceiling: vec![
                    ("FR1".into(), (seq % 4) as u8),
                    ("FR2".into(), (device % 4) as u8),
                ],
                kid: device.to_be_bytes().to_vec(),
                audit_reason: format!("seq {seq}"),
                ..attestation(device, Vec::new(), Vec::new())
            }
        };
        let ids: Vec<i64> = (0..8i64)
            .map(|d| {
                let id = store
                    .insert_device(&d.to_be_bytes(), &[d as u8], &[4], "s", 0)
                    .unwrap();
                store.set_status(id, "active").unwrap();
                id
            })
            .collect();
        std::thread::scope(|sc| {
            for &id in &ids {
                let (store, att) = (&store, &att);
                sc.spawn(move || {
                    for seq in 1..=15 {
                        store.store_attestation(att(id, seq)).unwrap();
                    }
                });
            }
        });
        let agg = store.aggregates(0).unwrap();
        let ceilings: u64 = agg
            .ceilings
            .iter()
            .filter(|c| c.0 == "FR1")
            .map(|c| c.2)
            .sum();
        assert_eq!(ceilings, 8, "each device counted once for FR1: {agg:?}");
        let keys: u64 = store
            .shared_keys()
            .unwrap()
            .iter()
            .map(|k| k.2.len() as u64)
            .sum();
        assert!(keys <= 8, "{keys}");
        assert!(store.audit_log(1000).unwrap().len() >= 8 * 15);
    }

    /// Eight threads reporting the same failure from one source at the same
    /// moment, for 50 sources in turn: one chained row per source with the
    /// other seven counted as its repeats (without the coalescing lock the
    /// threads each found no row to coalesce into and appended their own).
    #[test]
    fn concurrent_identical_failures_from_one_source_write_one_row() {
        let cluster = super::super::pg_cluster::Cluster::start();
        cluster.create_db("fleet");
        let store = PostgresStore::open(&cluster.url("fleet"), None).unwrap();
        let before = store.audit_log(1000).unwrap().len();
        let barrier = std::sync::Barrier::new(8);
        std::thread::scope(|sc| {
            for _ in 0..8 {
                let (store, barrier) = (&store, &barrier);
                sc.spawn(move || {
                    for source in 0..50 {
                        barrier.wait();
                        let source = format!("10.0.1.{source}");
                        store
                            .audit_from(Some(&source), 100, None, None, "rejected", "garbage")
                            .unwrap();
                    }
                });
            }
        });
        let log = store.audit_log(1000).unwrap();
        assert_eq!(log.len() - before, 50, "{log:?}");
        assert!(log[..50].iter().all(|e| e.repeats == 7), "{log:?}");
        assert_eq!(store.verify_audit().unwrap().broken, None);
    }
}
