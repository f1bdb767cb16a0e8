//! Fleet query benchmark: a database of N devices (default 100 000), each with
//! an attestation of 67 synthetic rule results, 7 FR ceilings and 2 key fingerprints
//! (1% of them drifting, two devices sharing a host key); then the time of the
//! `fleet` summary query, median of 5.
//!
//! `cargo run --profile server -p fieldattest-collector --example fleet_query -- [devices] [postgres]`
//!
//! With `postgres`, the database is a PostgreSQL cluster of the run's own
//! (initdb in a temporary directory, private port; Debian's `postgresql`):
//! the first 20,000 devices (at most) are written through the store by 8
//! writers at once, then copied in SQL up to N (each copy's ids, kids,
//! UEIDs, tokens and key fingerprints its own, its aggregates counted):
//! a million devices through the write path would take most of an hour
//! on 2 cores, and the fleet query reads the same rows either way.

#[path = "../src/store/pg_cluster.rs"]
mod pg_cluster;

use fieldattest_collector::fleet;
use fieldattest_collector::store::{Attestation, PostgresStore, SqliteStore, Store};
use std::time::Instant;

fn main() {
    let n: i64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let postgres = std::env::args().any(|a| a == "postgres");
    let dir = tempfile::tempdir().unwrap();
    let cluster = postgres.then(|| {
        let c = pg_cluster::Cluster::start();
        c.create_db("fleet");
        c
    });
    let store: Box<dyn Store> = match &cluster {
        Some(c) => Box::new(PostgresStore::open(&c.url("fleet"), None).unwrap()),
        None => Box::new(SqliteStore::open(&dir.path().join("fleet.db")).unwrap()),
    };
    let store = store.as_ref();
    let t0 = Instant::now();
    let att = |id: i64, seq: i64, variant: bool| Attestation {
        device_id: id,
        received_at: 1_800_000_000 + seq,
        iat: 1_800_000_000,
        seq,
        cti: seq.to_be_bytes().to_vec(),
        raw: vec![0u8; 16],
        online: true,
        results: (0..67)
            .map(|i| {
                (
                    format!("rule.number-{i}"),
                    if (i + id) % 7 == 0 || (variant && i == 3) {
                        2
                    } else {
                        1
                    },
                )
            })
            .collect(),
        packages: (0..120 + variant as i64)
            .map(|i| format!("pkg:deb/debian/p{i}@1.0"))
            .collect(),
        keys: vec![
            (
                "ssh-host".into(),
                "/etc/ssh/ssh_host_ed25519_key".into(),
                format!("SHA256:host-{}", if id == 2 { 1 } else { id }),
            ),
            (
                "tls".into(),
                "/etc/ssl/private/plc.key".into(),
                format!("SHA256:tls-{id}"),
            ),
        ],
        sl_ceiling: (1..=7)
            .map(|f| (format!("FR{f}"), ((id + f) % 4) as u8))
            .collect(),
        kid: id.to_be_bytes().to_vec(),
        audit_reason: format!("seq {seq}"),
        sbom_digest: None,
        hostname: Some(format!("plc-{id}")),
        key_tier: Some("software".into()),
        findings: Vec::new(),
        cve_status: Vec::new(),
        listeners: Vec::new(),
        ceiling_dispute: None,
    };
    let writers = if postgres { 8 } else { 1 };
    let base = if postgres { n.min(20_000) } else { n };
    std::thread::scope(|sc| {
        for w in 0..writers {
            let att = &att;
            sc.spawn(move || {
                for d in (1..=base).filter(|d| d % writers == w) {
                    let mut ueid = vec![1u8];
                    ueid.extend(d.to_be_bytes());
                    let id = store
                        .insert_device(&d.to_be_bytes(), &ueid, &[4u8; 65], "site", 0)
                        .unwrap();
                    store.set_status(id, "active").unwrap();
                    store.store_attestation(att(id, 1, false)).unwrap();
                    if d % 100 == 0 {
                        store.store_attestation(att(id, 2, true)).unwrap();
                    }
                }
            });
        }
    });
    if let (Some(c), true) = (&cluster, n > base) {
        copies(c, base, n);
    }
    eprintln!("built {n} devices in {:.1} s", t0.elapsed().as_secs_f64());

    let t = Instant::now();
    let _ = store.aggregates(1_800_000_100 - 3600).unwrap();
    let ta = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let _ = store.shared_keys().unwrap();
    let tk = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let d = store.drifting().unwrap();
    let td = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    for id in d.iter().take(100) {
        let _ = fleet::drift(store, *id).unwrap();
    }
    eprintln!("parts: aggregates {ta:.1} ms, shared keys {tk:.1} ms, drifting list {td:.1} ms, 100 drift details {:.1} ms", t.elapsed().as_secs_f64() * 1000.0);
    let mut times = Vec::new();
    let mut last = serde_json::Value::Null;
    for _ in 0..5 {
        let t = Instant::now();
        last = fleet::fleet(store, 1_800_000_100, 3600).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "{}: fleet query over {} devices: median {:.1} ms (min {:.1}, max {:.1}); {} drifting, {} shared keys, {} failing rules",
        if postgres { "PostgreSQL" } else { "SQLite" },
        last["devices"],
        times[2],
        times[0],
        times[4],
        last["drift"].as_array().map(|a| a.len()).unwrap_or(0),
        last["shared_keys"].as_array().map(|a| a.len()).unwrap_or(0),
        last["failing_rules"].as_object().map(|a| a.len()).unwrap_or(0)
    );
}

/// Copies the `base` devices written through the store in SQL until there
/// are `n`: copy k of device d is device d + k·base, its tokens shifted by
/// k times the highest token id, its kid, UEID, cti and key fingerprints
/// suffixed with k (the two devices sharing a host key share it within
/// their copy); the aggregates count every copy.
fn copies(c: &pg_cluster::Cluster, base: i64, n: i64) {
    let psql = |sql: &str| c.psql("fleet", sql);
    let t = std::time::Instant::now();
    let tmax: i64 = {
        let out = std::process::Command::new("psql")
            .arg(c.url("fleet"))
            .args(["-At", "-c", "SELECT MAX(id) FROM tokens"])
            .output()
            .expect("psql");
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    let copies = (n + base - 1) / base - 1;
    // Ten copies per transaction, the planner's statistics refreshed after each.
    for from in (1..=copies).step_by(10) {
        let to = (from + 9).min(copies);
        psql(&format!(
            "BEGIN;
             INSERT INTO devices (id, kid, ueid, pubkey, site, status, enrolled_at, last_seq, last_seen, latest_token, prev_token, drifting, tls_fp, hostname, key_tier, failing, vulns_open, ceiling_min, pkgset, approved_by, approved_at, keys_changed, excepted, cve_status_digest, listeners_digest)
               OVERRIDING SYSTEM VALUE
               SELECT d.id + k * {base}, d.kid || int8send(k), d.ueid || int8send(k), d.pubkey, d.site, d.status, d.enrolled_at, d.last_seq, d.last_seen,
                      d.latest_token + k * {tmax}, d.prev_token + k * {tmax}, d.drifting, d.tls_fp, d.hostname || '-' || k, d.key_tier, d.failing, d.vulns_open,
                      d.ceiling_min, d.pkgset, d.approved_by, d.approved_at, d.keys_changed, d.excepted, d.cve_status_digest, d.listeners_digest
                 FROM devices d, generate_series({from}, {to}) k WHERE d.id <= {base} AND d.id + k * {base} <= {n};
             INSERT INTO tokens (id, device_id, received_at, iat, seq, cti, raw, online, packages, results_digest, sbom_digest, ceiling_dispute, pkgset, hostname, key_tier, rset)
               OVERRIDING SYSTEM VALUE
               SELECT t.id + k * {tmax}, t.device_id + k * {base}, t.received_at, t.iat, t.seq, t.cti || int8send(k), t.raw, t.online, t.packages, t.results_digest,
                      t.sbom_digest, t.ceiling_dispute, t.pkgset, t.hostname, t.key_tier, t.rset
                 FROM tokens t, generate_series({from}, {to}) k WHERE t.id <= {tmax} AND t.device_id + k * {base} <= {n};
             INSERT INTO key_prints (token_id, device_id, kind, path, fingerprint)
               SELECT p.token_id + k * {tmax}, p.device_id + k * {base}, p.kind, p.path, p.fingerprint || '-' || k
                 FROM key_prints p, generate_series({from}, {to}) k WHERE p.token_id <= {tmax} AND p.device_id + k * {base} <= {n};
             INSERT INTO ceilings (token_id, fr, sl)
               SELECT c.token_id + k * {tmax}, c.fr, c.sl FROM ceilings c JOIN tokens t ON t.id = c.token_id, generate_series({from}, {to}) k
                WHERE c.token_id <= {tmax} AND t.device_id + k * {base} <= {n};
             INSERT INTO latest_failing (rule, device_id)
               SELECT f.rule, f.device_id + k * {base} FROM latest_failing f, generate_series({from}, {to}) k
                WHERE f.device_id <= {base} AND f.device_id + k * {base} <= {n};
             COMMIT;"
        ));
        psql("ANALYZE");
        eprintln!(
            "copies {from}..{to} of {copies} in {:.0} s",
            t.elapsed().as_secs_f64()
        );
    }
    psql(
        "BEGIN;
         DELETE FROM agg_failing; DELETE FROM agg_ceiling; DELETE FROM agg_keys;
         INSERT INTO agg_failing (rule, n) SELECT rule, COUNT(*) FROM latest_failing GROUP BY rule;
         INSERT INTO agg_ceiling (fr, sl, n) SELECT c.fr, c.sl, COUNT(DISTINCT d.id) FROM devices d JOIN ceilings c ON c.token_id = d.latest_token GROUP BY c.fr, c.sl;
         INSERT INTO agg_keys (fingerprint, kind, n) SELECT p.fingerprint, MIN(p.kind), COUNT(DISTINCT p.device_id)
           FROM devices d JOIN key_prints p ON p.token_id = d.latest_token WHERE p.fingerprint <> 'unavailable' GROUP BY p.fingerprint;
         SELECT setval(pg_get_serial_sequence('devices', 'id'), (SELECT MAX(id) FROM devices));
         SELECT setval(pg_get_serial_sequence('tokens', 'id'), (SELECT MAX(id) FROM tokens));
         COMMIT;",
    );
    // As autovacuum would after such a load: statistics and the visibility map.
    psql("VACUUM ANALYZE");
    eprintln!(
        "copied {base} devices to {n} in SQL in {:.1} s",
        t.elapsed().as_secs_f64()
    );
}
