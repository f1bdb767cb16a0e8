//! Console views benchmark: a database of N devices (default 100 000) on
//! 8 images (package sets of 150 Debian packages, OpenSSL's two binary
//! packages among them), 67 rule results each, 60 imported advisories,
//! 30 days of posture and 100 device-specific VEX statements; then the
//! time and size of `/findings`, `/vulnerabilities` and the device list of
//! one advisory, median of 5.
//!
//! `cargo run --profile server -p fieldattest-collector --example console_views -- [devices]`

use fieldattest_collector::console::{devices, findings, Params, Viewer};
use fieldattest_collector::store::{Attestation, SqliteStore, Store, VexEntry};
use fieldattest_collector::vuln::feeds::DEFAULT_MAX_AGE;
use fieldattest_collector::{posture, vuln};
use std::time::Instant;

const NOW: i64 = 1_800_000_000;

fn main() {
    let n: i64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("views.db")).unwrap();
    let t0 = Instant::now();
    let advisories: Vec<String> = (0..60)
        .map(|i| {
            serde_json::json!({
                "id": format!("DEBIAN-CVE-2026-{i:04}"), "modified": "2026-01-01T00:00:00Z",
                "aliases": [format!("CVE-2026-{i:04}")], "summary": format!("flaw {i} in p{i}"),
                "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
                "affected": [{"package": {"ecosystem": "Debian:12", "name": if i == 0 { "openssl".to_string() } else { format!("p{i}") }},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0-1"}]}]}]
            })
            .to_string()
        })
        .collect();
    let mut rep = vuln::ImportReport::default();
    vuln::import_bytes(
        &store,
        "advisories.json",
        format!("[{}]", advisories.join(",")).as_bytes(),
        NOW - 3600,
        &mut rep,
    );
    assert!(rep.errors.is_empty(), "{rep:?}");
    let att = |id: i64, image: i64| Attestation {
        device_id: id,
        received_at: NOW - 600,
        iat: NOW - 600,
        seq: 1,
        cti: id.to_be_bytes().to_vec(),
        raw: vec![0u8; 16],
        online: true,
        results: (0..67)
            .map(|i| {
                (
                    format!("rule.number-{i}"),
                    if (i + id) % 7 == 0 { 2 } else { 1 },
                )
            })
            .chain([("account.uid0-unique".to_string(), (id % 3 == 0) as u8 + 1)])
            .collect(),
        packages: (0..148)
            .map(|i| {
                format!(
                    "pkg:deb/debian/p{i}@{}.0-1?arch=arm64&distro=debian-12",
                    1 + (i + image) % 3
                )
            })
            .chain([
                "pkg:deb/debian/libssl3@1.0-1?arch=arm64&upstream=openssl&distro=debian-12"
                    .to_string(),
                "pkg:deb/debian/openssl@1.0-1?arch=arm64&distro=debian-12".to_string(),
            ])
            .collect(),
        keys: Vec::new(),
        sl_ceiling: (1..=7)
            .map(|f| (format!("FR{f}"), ((id + f) % 4) as u8))
            .collect(),
        kid: id.to_be_bytes().to_vec(),
        audit_reason: "bench".into(),
        sbom_digest: None,
        hostname: Some(format!("plc-{id}")),
        key_tier: Some("software".into()),
        findings: Vec::new(),
        cve_status: Vec::new(),
        listeners: Vec::new(),
        ceiling_dispute: None,
    };
    for d in 1..=n {
        let id = store
            .insert_device(
                &d.to_be_bytes(),
                &[&[1u8][..], &d.to_be_bytes()].concat(),
                &[4u8; 65],
                "site",
                0,
            )
            .unwrap();
        store.set_status(id, "active").unwrap();
        store.store_attestation(att(id, d % 8)).unwrap();
        if d % 1000 == 0 {
            store
                .set_vex(&VexEntry {
                    vuln: "DEBIAN-CVE-2026-0000".into(),
                    device_id: Some(id),
                    status: "not_affected".into(),
                    justification: Some("code_not_reachable".into()),
                    detail: None,
                    at: NOW,
                })
                .unwrap();
        }
    }
    vuln::refresh(&store, true).unwrap();
    let today: Vec<(String, u64)> = posture::metrics(&store, NOW, 86_400)
        .unwrap()
        .into_iter()
        .collect();
    for d in 1..30 {
        let past: Vec<(String, u64)> = today
            .iter()
            .map(|(k, v)| (k.clone(), v.saturating_sub(d * 10)))
            .collect();
        store
            .put_posture(posture::day(NOW) - d as i64, &past)
            .unwrap();
    }
    eprintln!("built {n} devices in {:.1} s", t0.elapsed().as_secs_f64());
    let v = Viewer {
        who: "operator bench".into(),
        role: "operator",
        may_act: true,
        csrf: "x".into(),
    };
    // The pages share one kept fleet vulnerability view, as `serve` does
    // (the first call computes it).
    let fleet = vuln::FleetCache::default();
    let pages: [(&str, &dyn Fn() -> String); 4] = [
        ("/findings", &|| {
            findings::findings(&store, &Params::parse(None), NOW, 86_400, &v)
                .unwrap()
                .into_string()
        }),
        ("/vulnerabilities", &|| {
            findings::vulnerabilities(
                &store,
                &fleet,
                &Params::parse(None),
                NOW,
                DEFAULT_MAX_AGE,
                &v,
            )
            .unwrap()
            .into_string()
        }),
        ("/vulnerabilities?page=2&sort=id", &|| {
            findings::vulnerabilities(
                &store,
                &fleet,
                &Params::parse(Some("page=2&sort=id")),
                NOW,
                DEFAULT_MAX_AGE,
                &v,
            )
            .unwrap()
            .into_string()
        }),
        ("/devices?vuln=DEBIAN-CVE-2026-0000", &|| {
            let p = Params::parse(Some("vuln=DEBIAN-CVE-2026-0000"));
            devices::list(&store, &p, NOW, 86_400, &v)
                .unwrap()
                .into_string()
        }),
    ];
    for (name, f) in pages {
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..5 {
            let t = Instant::now();
            size = f().len();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(|a, b| a.total_cmp(b));
        println!(
            "{name}: median {:.1} ms (min {:.1}, max {:.1}), {} KB",
            times[2],
            times[0],
            times[4],
            size / 1024
        );
    }
}
