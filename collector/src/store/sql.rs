//! One SQL interface over both engines, so that each store operation is
//! written once: [`Sql`] runs a statement with [`P`] parameters and hands
//! back [`Row`]s, over SQLite ([`Lite`], rusqlite) or PostgreSQL ([`Pg`],
//! the `postgres` client over tokio-postgres).
//!
//! Statements are written in the dialect both engines share, with SQLite's
//! numbered parameters (`?1`); [`Pg`] turns them into `$1` (outside quoted
//! text) and keeps each prepared statement per connection. Integers are
//! 64-bit on both sides (PostgreSQL columns are `BIGINT`), byte strings
//! `BLOB`/`BYTEA`, booleans kept as integers 0/1 (a PostgreSQL `boolean`
//! result, from `EXISTS`, reads as 0/1). What the dialects spell
//! differently is asked of [`Sql::dialect`] by the caller.

use super::{Result, StoreError};

/// The engine behind a [`Sql`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A statement parameter.
#[derive(Debug, Clone, Copy)]
pub enum P<'a> {
    Null,
    I(i64),
    F(f64),
    T(&'a str),
    B(&'a [u8]),
}

impl From<i64> for P<'_> {
    fn from(v: i64) -> Self {
        P::I(v)
    }
}
impl From<bool> for P<'_> {
    fn from(v: bool) -> Self {
        P::I(v as i64)
    }
}
impl From<f64> for P<'_> {
    fn from(v: f64) -> Self {
        P::F(v)
    }
}
impl<'a> From<&'a str> for P<'a> {
    fn from(v: &'a str) -> Self {
        P::T(v)
    }
}
impl<'a> From<&'a String> for P<'a> {
    fn from(v: &'a String) -> Self {
        P::T(v)
    }
}
impl<'a> From<&'a [u8]> for P<'a> {
    fn from(v: &'a [u8]) -> Self {
        P::B(v)
    }
}
impl<'a> From<&'a Vec<u8>> for P<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        P::B(v)
    }
}
impl<'a, T: Into<P<'a>>> From<Option<T>> for P<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(P::Null, Into::into)
    }
}

/// `ps![a, b]`: a parameter list.
macro_rules! ps {
    ($($x:expr),* $(,)?) => { &[$($crate::store::sql::P::from($x)),*] };
}
pub(crate) use ps;

/// One result row, read by column index.
pub trait Row {
    fn opt_i64(&self, i: usize) -> Result<Option<i64>>;
    fn opt_f64(&self, i: usize) -> Result<Option<f64>>;
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>>;
    fn i64(&self, i: usize) -> Result<i64> {
        self.opt_i64(i)?.ok_or_else(|| null(i))
    }
    fn f64(&self, i: usize) -> Result<f64> {
        self.opt_f64(i)?.ok_or_else(|| null(i))
    }
    fn text(&self, i: usize) -> Result<String> {
        self.opt_text(i)?.ok_or_else(|| null(i))
    }
    fn blob(&self, i: usize) -> Result<Vec<u8>> {
        self.opt_blob(i)?.ok_or_else(|| null(i))
    }
}

fn null(i: usize) -> StoreError {
    StoreError::Database(format!("column {i} is NULL"))
}

/// A connection (or a transaction on one) of either engine.
pub trait Sql {
    fn dialect(&self) -> Dialect;
    /// Runs one statement; the rows it changed.
    fn exec(&mut self, sql: &str, p: &[P]) -> Result<u64>;
    /// Runs one statement and calls `f` with each row it returns.
    fn each(&mut self, sql: &str, p: &[P], f: &mut dyn FnMut(&dyn Row) -> Result<()>)
        -> Result<()>;
    /// Runs statements without parameters (schema, `BEGIN`, `COMMIT`).
    fn batch(&mut self, sql: &str) -> Result<()>;
}

/// Every row of a statement, each through `f`.
pub fn rows<T>(
    db: &mut dyn Sql,
    sql: &str,
    p: &[P],
    mut f: impl FnMut(&dyn Row) -> Result<T>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    db.each(sql, p, &mut |r| {
        out.push(f(r)?);
        Ok(())
    })?;
    Ok(out)
}

/// The first row of a statement, if any, through `f`.
pub fn first<T>(
    db: &mut dyn Sql,
    sql: &str,
    p: &[P],
    mut f: impl FnMut(&dyn Row) -> Result<T>,
) -> Result<Option<T>> {
    let mut out = None;
    db.each(sql, p, &mut |r| {
        if out.is_none() {
            out = Some(f(r)?);
        }
        Ok(())
    })?;
    Ok(out)
}

/// Runs `f` in a transaction: committed when it returns Ok, rolled back
/// otherwise (SQLite: `BEGIN IMMEDIATE`, the write lock taken up front).
pub fn transaction<T>(db: &mut dyn Sql, f: impl FnOnce(&mut dyn Sql) -> Result<T>) -> Result<T> {
    db.batch(match db.dialect() {
        Dialect::Sqlite => "BEGIN IMMEDIATE",
        Dialect::Postgres => "BEGIN",
    })?;
    match f(db) {
        Ok(v) => {
            db.batch("COMMIT")?;
            Ok(v)
        }
        Err(x) => {
            let _ = db.batch("ROLLBACK");
            Err(x)
        }
    }
}

/// SQLite through rusqlite (cached statements).
pub struct Lite<'a>(pub &'a rusqlite::Connection);

fn lite(x: rusqlite::Error) -> StoreError {
    StoreError::Database(x.to_string())
}

impl rusqlite::ToSql for P<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            P::Null => ValueRef::Null,
            P::I(v) => ValueRef::Integer(v),
            P::F(v) => ValueRef::Real(v),
            P::T(v) => ValueRef::Text(v.as_bytes()),
            P::B(v) => ValueRef::Blob(v),
        }))
    }
}

impl Row for rusqlite::Row<'_> {
    fn opt_i64(&self, i: usize) -> Result<Option<i64>> {
        self.get(i).map_err(lite)
    }
    fn opt_f64(&self, i: usize) -> Result<Option<f64>> {
        self.get(i).map_err(lite)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        self.get(i).map_err(lite)
    }
    fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>> {
        self.get(i).map_err(lite)
    }
}

impl Sql for Lite<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
    fn exec(&mut self, sql: &str, p: &[P]) -> Result<u64> {
        let mut st = self.0.prepare_cached(sql).map_err(lite)?;
        Ok(st
            .execute(rusqlite::params_from_iter(p.iter()))
            .map_err(lite)? as u64)
    }
    fn each(
        &mut self,
        sql: &str,
        p: &[P],
        f: &mut dyn FnMut(&dyn Row) -> Result<()>,
    ) -> Result<()> {
        let mut st = self.0.prepare_cached(sql).map_err(lite)?;
        let mut rows = st
            .query(rusqlite::params_from_iter(p.iter()))
            .map_err(lite)?;
        while let Some(r) = rows.next().map_err(lite)? {
            f(r)?;
        }
        Ok(())
    }
    fn batch(&mut self, sql: &str) -> Result<()> {
        self.0.execute_batch(sql).map_err(lite)
    }
}

/// `?N` parameters as PostgreSQL's `$N`, outside quoted text and names.
pub fn to_dollar(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '?') => {
                out.push('$');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// PostgreSQL through one `postgres` client, its statements prepared once.
pub struct Pg<'a> {
    pub client: &'a mut postgres::Client,
    pub prepared: &'a mut std::collections::HashMap<String, postgres::Statement>,
}

fn pg(x: postgres::Error) -> StoreError {
    super::pg::fault(x)
}

impl postgres::types::ToSql for P<'_> {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
    {
        match *self {
            P::Null => Ok(postgres::types::IsNull::Yes),
            P::I(v) => v.to_sql(ty, out),
            P::F(v) => v.to_sql(ty, out),
            P::T(v) => v.to_sql(ty, out),
            P::B(v) => v.to_sql(ty, out),
        }
    }
    fn accepts(ty: &postgres::types::Type) -> bool {
        use postgres::types::Type;
        matches!(
            *ty,
            Type::INT8 | Type::FLOAT8 | Type::TEXT | Type::VARCHAR | Type::BYTEA | Type::UNKNOWN
        )
    }
    postgres::types::to_sql_checked!();
}

impl Row for postgres::Row {
    fn opt_i64(&self, i: usize) -> Result<Option<i64>> {
        use postgres::types::Type;
        let ty = self.columns().get(i).map(|c| c.type_().clone());
        match ty {
            Some(Type::BOOL) => Ok(self
                .try_get::<_, Option<bool>>(i)
                .map_err(pg)?
                .map(i64::from)),
            Some(Type::INT4) => Ok(self
                .try_get::<_, Option<i32>>(i)
                .map_err(pg)?
                .map(i64::from)),
            _ => self.try_get(i).map_err(pg),
        }
    }
    fn opt_f64(&self, i: usize) -> Result<Option<f64>> {
        self.try_get(i).map_err(pg)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        self.try_get(i).map_err(pg)
    }
    fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>> {
        self.try_get(i).map_err(pg)
    }
}

/// Prepared statements a PostgreSQL connection keeps at most.
const MAX_PREPARED: usize = 512;

impl Pg<'_> {
    fn statement(&mut self, sql: &str) -> Result<postgres::Statement> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(&to_dollar(sql)).map_err(pg)?;
        // Bounded: statement texts built from filters are finitely many,
        // but a connection never keeps more than this many prepared.
        if self.prepared.len() >= MAX_PREPARED {
            self.prepared.clear();
        }
        self.prepared.insert(sql.to_string(), s.clone());
        Ok(s)
    }
}

fn pg_params<'a>(p: &'a [P<'a>]) -> Vec<&'a (dyn postgres::types::ToSql + Sync)> {
    p.iter()
        .map(|x| x as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

impl Sql for Pg<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
    fn exec(&mut self, sql: &str, p: &[P]) -> Result<u64> {
        let st = self.statement(sql)?;
        self.client.execute(&st, &pg_params(p)).map_err(pg)
    }
    fn each(
        &mut self,
        sql: &str,
        p: &[P],
        f: &mut dyn FnMut(&dyn Row) -> Result<()>,
    ) -> Result<()> {
        let st = self.statement(sql)?;
        for r in self.client.query(&st, &pg_params(p)).map_err(pg)? {
            f(&r)?;
        }
        Ok(())
    }
    fn batch(&mut self, sql: &str) -> Result<()> {
        self.client.batch_execute(sql).map_err(pg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_parameters_become_dollars_outside_quotes() {
        assert_eq!(
            to_dollar("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND \"?3\" = ?3"),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND \"?3\" = $3"
        );
        assert_eq!(
            to_dollar("x = 'it''s ?' OR y = ?2"),
            "x = 'it''s ?' OR y = $2"
        );
    }

    #[test]
    fn one_statement_over_sqlite() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        let mut db = Lite(&c);
        db.batch("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, data BLOB, n INTEGER)")
            .unwrap();
        let n = db
            .exec(
                "INSERT INTO t (name, data, n) VALUES (?1, ?2, ?3)",
                ps!["a", b"xy".as_slice(), None::<i64>],
            )
            .unwrap();
        assert_eq!(n, 1);
        let got = first(
            &mut db,
            "SELECT id, name, data, n FROM t WHERE name = ?1",
            ps!["a"],
            |r| Ok((r.i64(0)?, r.text(1)?, r.blob(2)?, r.opt_i64(3)?)),
        )
        .unwrap();
        assert_eq!(got, Some((1, "a".into(), b"xy".to_vec(), None)));
        let r = transaction(&mut db, |db| {
            db.exec("INSERT INTO t (name) VALUES (?1)", ps!["b"])?;
            Err::<(), _>(StoreError::NotFound("x".into()))
        });
        assert!(r.is_err());
        assert_eq!(
            rows(&mut db, "SELECT name FROM t ORDER BY id", &[], |r| r
                .text(0))
            .unwrap(),
            vec!["a".to_string()]
        );
    }
}

/// The test cluster (`pg_cluster.rs`) and a client on it.
#[cfg(test)]
pub(crate) mod cluster {
    pub use crate::store::pg_cluster::Cluster;

    impl Cluster {
        pub fn client(&self) -> postgres::Client {
            postgres::Config::new()
                .host_path(self.dir.path())
                .port(self.port)
                .user("fa")
                .dbname("postgres")
                .connect(postgres::NoTls)
                .unwrap()
        }
    }

    /// Runs `f` on a fresh SQLite store's connection, then on a fresh
    /// PostgreSQL database with the collector's schema.
    pub fn on_both(f: impl Fn(&mut dyn super::Sql)) {
        let s = crate::store::SqliteStore::memory().unwrap();
        f(&mut super::Lite(&s.c()));
        let cluster = Cluster::start();
        let mut client = cluster.client();
        crate::store::pg_schema::migrate(&mut client).unwrap();
        let mut prepared = std::collections::HashMap::new();
        f(&mut super::Pg {
            client: &mut client,
            prepared: &mut prepared,
        });
    }
}

#[cfg(test)]
mod pg_tests {
    use super::*;

    /// The statement of the SQLite test, on a real PostgreSQL server.
    #[test]
    fn one_statement_over_postgres() {
        let cluster = cluster::Cluster::start();
        let mut client = cluster.client();
        let mut prepared = std::collections::HashMap::new();
        let mut db = Pg {
            client: &mut client,
            prepared: &mut prepared,
        };
        db.batch("CREATE TABLE t (id BIGSERIAL PRIMARY KEY, name TEXT, data BYTEA, n BIGINT)")
            .unwrap();
        let n = db
            .exec(
                "INSERT INTO t (name, data, n) VALUES (?1, ?2, ?3)",
                ps!["a", b"xy".as_slice(), None::<i64>],
            )
            .unwrap();
        assert_eq!(n, 1);
        let got = first(
            &mut db,
            "SELECT id, name, data, n, EXISTS (SELECT 1 FROM t WHERE name = ?1) FROM t WHERE name = ?1",
            ps!["a"],
            |r| Ok((r.i64(0)?, r.text(1)?, r.blob(2)?, r.opt_i64(3)?, r.i64(4)?)),
        )
        .unwrap();
        assert_eq!(got, Some((1, "a".into(), b"xy".to_vec(), None, 1)));
        let r = transaction(&mut db, |db| {
            db.exec("INSERT INTO t (name) VALUES (?1)", ps!["b"])?;
            Err::<(), _>(StoreError::NotFound("x".into()))
        });
        assert!(r.is_err());
        assert_eq!(
            rows(&mut db, "SELECT name FROM t ORDER BY id", &[], |r| r
                .text(0))
            .unwrap(),
            vec!["a".to_string()]
        );
        // A constraint's refusal names its SQLSTATE.
        db.batch("CREATE TABLE u (k TEXT PRIMARY KEY)").unwrap();
        db.exec("INSERT INTO u VALUES (?1)", ps!["k"]).unwrap();
        let x = db.exec("INSERT INTO u VALUES (?1)", ps!["k"]).unwrap_err();
        assert!(x.to_string().contains("23505"), "{x}");
    }
}
