//! Vulnerability matching benchmark (issue 18): a fleet of N devices
//! (default 10 000) with C components each (default 300, Yocto-style
//! `pkg:yocto` purls carrying their CPE) on S distinct package sets
//! (default 500: images × releases × individual upgrades; `--sets N` up to
//! one per device), against R CVE records with CPE match criteria (default
//! 250 000, NVD CVE API 2.0 JSON pages of 2 000 records imported through
//! `vulndb import`'s code path). Prints the import time, the full re-match
//! (every package set) time and peak heap, the incremental re-match after one
//! device attests a changed inventory, and the fleet vulnerability view
//! (`fleet_open` and the `/vulnerabilities` page), median of 5.
//!
//! `cargo run --profile server -p fieldattest-collector --example vuln_match -- \
//!     [--devices N] [--components C] [--records R] [--sets S]`
//!
//! Peak memory is the process's peak resident size (VmHWM, reset before each
//! phase), SQLite's page cache (32 MiB at most) included.

use fieldattest_collector::console::{findings, Params, Viewer};
use fieldattest_collector::store::{Attestation, SqliteStore, Store};
use fieldattest_collector::vuln;
use fieldattest_collector::vuln::feeds::DEFAULT_MAX_AGE;
use std::time::Instant;

/// Peak resident memory (VmHWM) in bytes, from /proc/self/status.
fn hwm() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// Resets the peak to the current resident size (Linux `clear_refs` 5).
fn reset_hwm() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

const NOW: i64 = 1_800_000_000;
/// Distinct products in the universe the images and the records draw from.
const PRODUCTS: u64 = 5_000;

/// SplitMix64: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// Zipf-like: product k with weight ~ 1/(k+1) (a few products, like the
    /// kernel, carry most records).
    fn zipf(&mut self, n: u64) -> u64 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        (((n as f64 + 1.0).powf(u) - 1.0) as u64).min(n - 1)
    }
}

fn product(k: u64) -> (String, String) {
    (format!("vendor{}", k % 700), format!("product{k}"))
}

fn purl(k: u64, version: &str) -> String {
    let (v, p) = product(k);
    format!("pkg:yocto/{p}@{version}?cpe=cpe%3A2.3%3Aa%3A{v}%3A{p}%3A{version}%3A%2A%3A%2A%3A%2A%3A%2A%3A%2A%3A%2A%3A%2A")
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn mib(b: usize) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

/// One NVD CVE API 2.0 page of records `from..to`.
fn nvd_page(rng: &mut Rng, from: u64, to: u64, total: u64) -> String {
    let mut vulns = Vec::with_capacity((to - from) as usize);
    for i in from..to {
        let (v, p) = product(rng.zipf(PRODUCTS));
        let major = rng.below(3) + 1;
        let end = format!("{major}.{}.{}", rng.below(10), rng.below(20));
        let start = format!("{major}.0");
        let vector = if i % 3 == 0 {
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
        } else {
            "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:L/I:L/A:N"
        };
        vulns.push(serde_json::json!({"cve": {
            "id": format!("CVE-{}-{:05}", 2000 + i / 90_000, i % 90_000),
            "sourceIdentifier": "cve@mitre.org",
            "published": "2024-01-01T00:00:00.000",
            "lastModified": "2024-06-01T00:00:00.000",
            "vulnStatus": "Analyzed",
            "descriptions": [{"lang": "en", "value": format!("flaw {i} in {p}")}],
            "metrics": {"cvssMetricV31": [{"source": "nvd@nist.gov", "type": "Primary",
                "cvssData": {"version": "3.1", "vectorString": vector}}]},
            "configurations": [{"nodes": [{"operator": "OR", "negate": false, "cpeMatch": [{
                "vulnerable": true,
                "criteria": format!("cpe:2.3:a:{v}:{p}:*:*:*:*:*:*:*:*"),
                "versionStartIncluding": start,
                "versionEndExcluding": end,
                "matchCriteriaId": format!("{i:08X}-0000-0000-0000-000000000000"),
            }]}]}],
        }}));
    }
    serde_json::json!({
        "resultsPerPage": to - from, "startIndex": from, "totalResults": total,
        "format": "NVD_CVE", "version": "2.0", "timestamp": "2026-12-01T00:00:00.000",
        "vulnerabilities": vulns,
    })
    .to_string()
}

fn median(mut t: Vec<f64>) -> f64 {
    t.sort_by(|a, b| a.total_cmp(b));
    t[t.len() / 2]
}

fn main() {
    let devices = arg("--devices", 10_000) as i64;
    let components = arg("--components", 300);
    let records = arg("--records", 250_000);
    let sets = arg("--sets", 500).clamp(1, devices as u64);
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("vulns.db")).unwrap();
    let mut rng = Rng(0x5eed);

    // The records, imported page by page as `vulndb import` would.
    let t = Instant::now();
    let mut rep = vuln::ImportReport::default();
    let mut from = 0;
    while from < records {
        let to = (from + 2_000).min(records);
        let page = nvd_page(&mut rng, from, to, records);
        vuln::import_bytes(
            &store,
            &format!("nvd-{from}.json"),
            page.as_bytes(),
            NOW - 7200,
            &mut rep,
        );
        from = to;
    }
    assert!(
        rep.errors.is_empty(),
        "{:?}",
        &rep.errors[..rep.errors.len().min(5)]
    );
    assert_eq!(rep.new as u64, records, "every record imported");
    let import_s = t.elapsed().as_secs_f64();

    // Package sets: `sets` inventories of `components` products each, the
    // popular products (low k) more common, versions 1.0.0–3.9.19.
    let t = Instant::now();
    let inventories: Vec<Vec<String>> = (0..sets)
        .map(|_| {
            let mut ks: Vec<u64> = Vec::with_capacity(components as usize);
            while (ks.len() as u64) < components {
                let k = rng.zipf(PRODUCTS);
                if !ks.contains(&k) {
                    ks.push(k);
                }
            }
            ks.into_iter()
                .map(|k| {
                    let v = format!("{}.{}.{}", rng.below(3) + 1, rng.below(10), rng.below(20));
                    purl(k, &v)
                })
                .collect()
        })
        .collect();
    let att = |id: i64, seq: i64, packages: Vec<String>| Attestation {
        device_id: id,
        received_at: NOW - 600 + seq,
        iat: NOW - 600 + seq,
        seq,
        cti: [id.to_be_bytes(), seq.to_be_bytes()].concat(),
        raw: vec![0u8; 16],
        online: true,
        results: Vec::new(),
        packages,
        keys: Vec::new(),
        sl_ceiling: Vec::new(),
        kid: id.to_be_bytes().to_vec(),
        audit_reason: "bench".into(),
        sbom_digest: None,
        hostname: Some(format!("plc-{id}")),
        key_tier: Some("software".into()),
        findings: Vec::new(),
        ceiling_dispute: None,
        cve_status: Vec::new(),
        listeners: Vec::new(),
    };
    let mut ids = Vec::with_capacity(devices as usize);
    for d in 0..devices {
        let mut ueid = vec![1u8];
        ueid.extend(d.to_be_bytes());
        let id = store
            .insert_device(
                &d.to_be_bytes(),
                &ueid,
                &[4u8; 65],
                &format!("site-{}", d % 40),
                0,
            )
            .unwrap();
        store.set_status(id, "active").unwrap();
        store
            .store_attestation(att(id, 1, inventories[(d as u64 % sets) as usize].clone()))
            .unwrap();
        ids.push(id);
    }
    let fleet_s = t.elapsed().as_secs_f64();

    // Full re-match: every package set (what an import triggers).
    reset_hwm();
    let t = Instant::now();
    let matched = vuln::refresh(&store, true).unwrap();
    let full_s = t.elapsed().as_secs_f64();
    let full_rss = hwm();

    // Incremental: one device attests an inventory with one package upgraded.
    let mut changed = inventories[0].clone();
    changed[0] = purl(0, "9.9.9");
    store.store_attestation(att(ids[0], 2, changed)).unwrap();
    reset_hwm();
    let t = Instant::now();
    let one = vuln::refresh(&store, false).unwrap();
    let inc_ms = t.elapsed().as_secs_f64() * 1000.0;
    let inc_rss = hwm();

    // The fleet view: computing the per-advisory open counts (what `serve`
    // does in the background after a change), then the page served from the
    // kept view, then the page right after a change (served from the
    // previous view, marked with its age, while the refresher recomputes).
    reset_hwm();
    let fleet = vuln::FleetCache::default();
    let t = Instant::now();
    fleet.refresh(&store, NOW).unwrap();
    let compute_ms = t.elapsed().as_secs_f64() * 1000.0;
    let compute_rss = hwm();
    let open = fleet
        .view(&store, &Default::default(), NOW)
        .unwrap()
        .rows
        .to_vec();
    let viewer = Viewer {
        who: "operator bench".into(),
        role: "viewer",
        may_act: false,
        csrf: String::new(),
    };
    let mut size = 0;
    let mut serve = |q: Option<&str>| {
        let t = Instant::now();
        let m = findings::vulnerabilities(
            &store,
            &fleet,
            &Params::parse(q),
            NOW,
            DEFAULT_MAX_AGE,
            &viewer,
        )
        .unwrap();
        size = m.into_string().len();
        t.elapsed().as_secs_f64() * 1000.0
    };
    let page = median((0..5).map(|_| serve(None)).collect());
    let filtered = median(
        (0..5)
            .map(|_| serve(Some("kev=1&sort=score&page=3")))
            .collect(),
    );
    // A change: a device revoked (it leaves every count).
    store.set_status(ids[1], "revoked").unwrap();
    let after_change = serve(None);
    let t = Instant::now();
    fleet.refresh(&store, NOW).unwrap();
    let refresh_ms = t.elapsed().as_secs_f64() * 1000.0;
    let pairs: u64 = open.iter().map(|v| v.devices).sum();
    println!(
        "vuln_match: {devices} devices x {components} components on {sets} package sets, {records} CVE records (NVD 2.0, CPE criteria)"
    );
    println!(
        "  import {import_s:.1} s ({:.0} records/s); fleet written in {fleet_s:.1} s",
        records as f64 / import_s
    );
    println!(
        "  full re-match: {matched} sets in {full_s:.2} s, peak RSS {:.0} MiB; {} advisories open on {pairs} (device, advisory) pairs",
        mib(full_rss),
        open.len()
    );
    println!(
        "  incremental re-match of one device's new inventory: {one} set in {inc_ms:.1} ms, peak RSS {:.0} MiB",
        mib(inc_rss)
    );
    println!(
        "  fleet view computed in {compute_ms:.0} ms (peak RSS {:.0} MiB), again after a change in {refresh_ms:.0} ms (background)",
        mib(compute_rss)
    );
    println!(
        "  /vulnerabilities from the kept view: median {page:.1} ms, {} KB; filtered and sorted (KEV, by score, page 3) median {filtered:.1} ms; right after a change (previous view, marked) {after_change:.1} ms",
        size / 1024
    );
}
