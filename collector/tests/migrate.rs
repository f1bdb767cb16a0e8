//! `fieldattest-collector migrate --from fleet.db --to postgres://…`: a
//! generated fleet (devices in every state, signed tokens over days, key
//! rotations, advisories, VEX, operators, the audit chain) copied from
//! SQLite into a private PostgreSQL cluster; every table's content compared
//! row by row, every raw token re-verified with its device's key on the
//! PostgreSQL side, the audit chain verified there, the CLI's views equal on
//! both, and a second copy into the now non-empty database refused.

#[path = "../src/store/pg_cluster.rs"]
mod pg_cluster;

use fieldattest_protocol::token::{self, PublicKey};
use std::collections::BTreeMap;
use std::process::Command;

fn collector(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fieldattest-collector"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let o = collector(args);
    assert!(
        o.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A value as text whatever the engine kept it as: integers in decimal,
/// reals by their f64, byte strings (and text kept in a byte column) in hex.
fn lite_value(v: rusqlite::types::Value, bytes_column: bool) -> String {
    use rusqlite::types::Value as V;
    match v {
        V::Null => "NULL".into(),
        V::Integer(i) => i.to_string(),
        V::Real(f) => format!("{f:?}"),
        V::Text(t) if bytes_column => hex(t.as_bytes()),
        V::Text(t) => t,
        V::Blob(b) => hex(&b),
    }
}

fn pg_value(r: &postgres::Row, i: usize) -> String {
    use postgres::types::Type;
    let ty = r.columns()[i].type_().clone();
    let s = if ty == Type::INT8 {
        r.get::<_, Option<i64>>(i).map(|v| v.to_string())
    } else if ty == Type::FLOAT8 {
        r.get::<_, Option<f64>>(i).map(|v| format!("{v:?}"))
    } else if ty == Type::BYTEA {
        r.get::<_, Option<Vec<u8>>>(i).map(|v| hex(&v))
    } else {
        r.get::<_, Option<String>>(i)
    };
    s.unwrap_or_else(|| "NULL".into())
}

#[test]
fn an_sqlite_collector_moves_to_postgresql_losslessly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fleet.db");
    let db_s = db.to_str().unwrap();
    ok(&[
        "demo-fleet",
        "--db",
        db_s,
        "--devices",
        "60",
        "--days",
        "4",
        "--seed",
        "7",
    ]);
    // Accounts, an API token and an unused enrollment secret as well.
    let mut add = Command::new(env!("CARGO_BIN_EXE_fieldattest-collector"))
        .args(["user", "add", "ana", "--role", "admin", "--db", db_s])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = add.stdin.take().unwrap();
        stdin.write_all(b"a long enough passphrase\n").unwrap();
    }
    assert!(add.wait().unwrap().success());
    ok(&[
        "token",
        "create",
        "--role",
        "viewer",
        "--expires",
        "30d",
        "--name",
        "ci",
        "--db",
        db_s,
    ]);
    ok(&["enroll-token", "--site", "plant-7", "--db", db_s]);
    let cluster = pg_cluster::Cluster::start();
    cluster.create_db("fleet");
    let url = cluster.url("fleet");
    let out = ok(&["migrate", "--from", db_s, "--to", &url]);
    assert!(out.contains("copied "), "{out}");

    // Every table, row by row.
    let lite = rusqlite::Connection::open(&db).unwrap();
    let mut pg = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let tables: Vec<String> = lite
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let mut compared = BTreeMap::new();
    for t in &tables {
        let cols: Vec<(String, String)> = pg
            .query(
                "SELECT column_name::text, data_type::text FROM information_schema.columns
                  WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
                &[t],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        assert!(!cols.is_empty(), "table {t} missing on PostgreSQL");
        let list = cols
            .iter()
            .map(|c| c.0.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let mut a: Vec<Vec<String>> = lite
            .prepare(&format!("SELECT {list} FROM {t}"))
            .unwrap()
            .query_map([], |r| {
                (0..cols.len())
                    .map(|i| Ok(lite_value(r.get(i)?, cols[i].1 == "bytea")))
                    .collect()
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let mut b: Vec<Vec<String>> = pg
            .query(&format!("SELECT {list} FROM {t}"), &[])
            .unwrap()
            .iter()
            .map(|r| (0..cols.len()).map(|i| pg_value(r, i)).collect())
            .collect();
        a.sort();
        b.sort();
        assert_eq!(a.len(), b.len(), "rows of {t}");
        assert!(a == b, "table {t} differs after migration");
        compared.insert(t.clone(), a.len());
    }
    for t in [
        "devices",
        "tokens",
        "audit",
        "advisories",
        "pkgsets",
        "operators",
        "api_tokens",
        "enroll_tokens",
        "vex",
        "posture",
        "result_sets",
    ] {
        assert!(compared[t] > 0, "the generated fleet has {t}: {compared:?}");
    }

    // Every raw token re-verifies with its device's key (current or retired).
    let mut keys: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for r in pg
        .query(
            "SELECT kid, pubkey FROM devices UNION ALL SELECT kid, pubkey FROM retired_keys",
            &[],
        )
        .unwrap()
    {
        keys.insert(r.get(0), r.get(1));
    }
    let mut verified = 0;
    for r in pg.query("SELECT raw FROM tokens", &[]).unwrap() {
        let raw: Vec<u8> = r.get(0);
        let (sign1, kid) = token::parse(&raw).unwrap();
        let key = PublicKey::from_sec1(&keys[&kid]).unwrap();
        token::verify_parsed(&sign1, &kid, &key).unwrap();
        verified += 1;
    }
    assert_eq!(verified, compared["tokens"]);

    // The audit chain is intact there, and the views agree.
    let chain = ok(&["audit", "verify", "--db", &url]);
    assert!(chain.contains("audit chain intact"), "{chain}");
    for view in [
        &["devices", "--format", "json"][..],
        &["findings", "--format", "json"],
    ] {
        let on = |db: &str| ok(&[view, &["--db", db]].concat());
        assert_eq!(on(db_s), on(&url), "{view:?}");
    }

    // Never merged into a database in use.
    let again = collector(&["migrate", "--from", db_s, "--to", &url]);
    assert_eq!(again.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("empty database"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    eprintln!("compared: {compared:?}; {verified} tokens re-verified");
}
