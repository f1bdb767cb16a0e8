//! Moving up: an SQLite collector database copied into a PostgreSQL one
//! (`fieldattest-collector migrate --from fleet.db --to postgres://…`).
//!
//! The SQLite database is opened as a store (its own migrations bring it to
//! the latest schema, which the PostgreSQL schema mirrors column for
//! column), then every table is copied row by row, parents before the
//! tables referencing them, in one PostgreSQL transaction: the target holds
//! all of it or none. Values are converted to the PostgreSQL column's type
//! (SQLite's columns are loosely typed: an integer kept in a text column
//! becomes its decimal text), identity counters are moved past the copied
//! ids, and the fleet-view generation is the source's. The target must be
//! empty (no device, token or audit entry): a copy never merges.
//!
//! *Invariant:* the raw tokens are copied byte for byte, so every stored
//! attestation re-verifies with its device's key afterwards.

use super::sql::P;
use super::{Result, StoreError};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn lite(x: rusqlite::Error) -> StoreError {
    StoreError::Database(format!("source: {x}"))
}

/// Rows copied per table, in copy order.
pub type Copied = Vec<(String, u64)>;

/// The tables of the PostgreSQL schema (views and the schema's own
/// bookkeeping excluded), parents first.
fn tables_in_order(c: &mut impl postgres::GenericClient) -> Result<Vec<String>> {
    let pg = super::pg::fault;
    let names: BTreeSet<String> = c
        .query(
            "SELECT table_name::text FROM information_schema.tables
              WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'fieldattest_schema'",
            &[],
        )
        .map_err(pg)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in c
        .query(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint
              WHERE contype = 'f' AND connamespace = 'public'::regnamespace",
            &[],
        )
        .map_err(pg)?
    {
        let (child, parent): (String, String) = (r.get(0), r.get(1));
        if child != parent {
            parents.entry(child).or_default().insert(parent);
        }
    }
    let mut out: Vec<String> = Vec::new();
    let mut left: BTreeSet<String> = names;
    while !left.is_empty() {
        let ready: Vec<String> = left
            .iter()
            .filter(|t| {
                parents
                    .get(*t)
                    .is_none_or(|ps| ps.iter().all(|p| !left.contains(p)))
            })
            .cloned()
            .collect();
        if ready.is_empty() {
            return Err(StoreError::Database(format!(
                "foreign keys form a cycle among {left:?}"
            )));
        }
        for t in ready {
            left.remove(&t);
            out.push(t);
        }
    }
    Ok(out)
}

/// A source value as the PostgreSQL column type `ty` takes it.
fn convert(v: rusqlite::types::Value, ty: &str, table: &str, col: &str) -> Result<Owned> {
    use rusqlite::types::Value as V;
    let bad = |what: &str| {
        StoreError::Database(format!(
            "{table}.{col}: a {what} value does not fit the {ty} column"
        ))
    };
    Ok(match (v, ty) {
        (V::Null, _) => Owned::Null,
        (V::Integer(i), "bigint") => Owned::I(i),
        (V::Integer(i), "double precision") => Owned::F(i as f64),
        (V::Integer(i), "text") => Owned::T(i.to_string()),
        (V::Real(f), "double precision") => Owned::F(f),
        (V::Real(f), "text") => Owned::T(f.to_string()),
        (V::Text(t), "text") => Owned::T(t),
        (V::Text(t), "bytea") => Owned::B(t.into_bytes()),
        (V::Text(t), "bigint") => Owned::I(t.trim().parse().map_err(|_| bad("text"))?),
        (V::Blob(b), "bytea") => Owned::B(b),
        (V::Blob(b), "text") => Owned::T(String::from_utf8(b).map_err(|_| bad("binary"))?),
        (V::Integer(_), _) => return Err(bad("integer")),
        (V::Real(_), _) => return Err(bad("real")),
        (V::Text(_), _) => return Err(bad("text")),
        (V::Blob(_), _) => return Err(bad("binary")),
    })
}

/// A converted value, owned.
#[derive(Debug, Clone, PartialEq)]
enum Owned {
    Null,
    I(i64),
    F(f64),
    T(String),
    B(Vec<u8>),
}

impl Owned {
    fn p(&self) -> P<'_> {
        match self {
            Owned::Null => P::Null,
            Owned::I(v) => P::I(*v),
            Owned::F(v) => P::F(*v),
            Owned::T(v) => P::T(v),
            Owned::B(v) => P::B(v),
        }
    }
}

/// Copies the SQLite database `from` into the PostgreSQL database `to`
/// (migrated first; it must hold no device, token or audit entry).
pub fn sqlite_to_postgres(from: &Path, to: &str) -> Result<Copied> {
    if !from.exists() {
        return Err(StoreError::NotFound(format!("{}", from.display())));
    }
    // Brings the source to the latest schema (as any open does).
    drop(super::SqliteStore::open(from)?);
    let src = super::schema::open_reader(from)?;
    let target = super::PostgresStore::open(to, None)?;
    target.with_client(|c| {
        let pg = super::pg::fault;
        let mut tx = c.transaction().map_err(pg)?;
        let tables = tables_in_order(&mut tx)?;
        for table in &tables {
            let n: i64 = tx
                .query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
                .map_err(pg)?
                .get(0);
            if n != 0 && table != "fleet_gen" {
                return Err(StoreError::Database(format!(
                    "the target database's {table} holds {n} rows: a copy goes into an empty database"
                )));
            }
        }
        let mut copied = Vec::new();
        for table in tables {
            let cols: Vec<(String, String, bool)> = tx
                .query(
                    "SELECT column_name::text, data_type::text, is_identity = 'YES' FROM information_schema.columns
                      WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
                    &[&table],
                )
                .map_err(pg)?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect();
            let names: Vec<&str> = cols.iter().map(|c| c.0.as_str()).collect();
            let list = names.join(", ");
            // The one row the schema creates itself (the generation
            // counter) is replaced by the source's.
            if table == "fleet_gen" {
                tx.execute("DELETE FROM fleet_gen", &[]).map_err(pg)?;
            }
            let marks: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
            let insert = tx
                .prepare(&format!(
                    "INSERT INTO {table} ({list}) OVERRIDING SYSTEM VALUE VALUES ({})",
                    marks.join(", ")
                ))
                .map_err(pg)?;
            let mut st = src
                .prepare(&format!("SELECT {list} FROM {table}"))
                .map_err(lite)?;
            let mut rows = st.query([]).map_err(lite)?;
            let mut n = 0u64;
            while let Some(r) = rows.next().map_err(lite)? {
                let mut vals = Vec::with_capacity(cols.len());
                for (i, (col, ty, _)) in cols.iter().enumerate() {
                    let v: rusqlite::types::Value = r.get(i).map_err(lite)?;
                    vals.push(convert(v, ty, &table, col)?);
                }
                let ps: Vec<P> = vals.iter().map(Owned::p).collect();
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = ps
                    .iter()
                    .map(|x| x as &(dyn postgres::types::ToSql + Sync))
                    .collect();
                tx.execute(&insert, &refs).map_err(pg)?;
                n += 1;
            }
            for (col, _, identity) in &cols {
                if *identity {
                    tx.execute(
                        &format!(
                            "SELECT setval(pg_get_serial_sequence('{table}', '{col}'), COALESCE((SELECT MAX({col}) FROM {table}), 0) + 1, false)"
                        ),
                        &[],
                    )
                    .map_err(pg)?;
                }
            }
            copied.push((table, n));
        }
        // The triggers bumped the generation while copying: the source's.
        let gen: i64 = src
            .query_row("SELECT n FROM fleet_gen", [], |r| r.get(0))
            .map_err(lite)?;
        tx.execute("UPDATE fleet_gen SET n = $1", &[&gen])
            .map_err(pg)?;
        tx.commit().map_err(pg)?;
        Ok(copied)
    })
}
