//! Fleet query benchmark: a database of N devices (default 100 000), each with
//! an attestation of 67 synthetic rule results, 7 FR ceilings and 2 key fingerprints
//! (1% of them drifting, two devices sharing a host key); then the time of the
//! `fleet` summary query, median of 5.
//!
//! `cargo run --profile server -p fieldattest-collector --example fleet_query -- [devices]`

use fieldattest_collector::fleet;
use fieldattest_collector::store::{Attestation, SqliteStore, Store};
use std::time::Instant;

fn main() {
    let n: i64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("fleet.db")).unwrap();
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
    for d in 1..=n {
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
        let _ = fleet::drift(&store, *id).unwrap();
    }
    eprintln!("parts: aggregates {ta:.1} ms, shared keys {tk:.1} ms, drifting list {td:.1} ms, 100 drift details {:.1} ms", t.elapsed().as_secs_f64() * 1000.0);
    let mut times = Vec::new();
    let mut last = serde_json::Value::Null;
    for _ in 0..5 {
        let t = Instant::now();
        last = fleet::fleet(&store, 1_800_000_100, 3600).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "fleet query over {} devices: median {:.1} ms (min {:.1}, max {:.1}); {} drifting, {} shared keys, {} failing rules",
        last["devices"],
        times[2],
        times[0],
        times[4],
        last["drift"].as_array().map(|a| a.len()).unwrap_or(0),
        last["shared_keys"].as_array().map(|a| a.len()).unwrap_or(0),
        last["failing_rules"].as_object().map(|a| a.len()).unwrap_or(0)
    );
}
