//! The fleet's posture per day, so the console can chart it over time and
//! say what changed since yesterday: recorded while serving (at start and
//! every [`INTERVAL`] seconds, each record replacing the same day's earlier
//! one, so a day keeps its last value) and by `demo-fleet` at each
//! simulated day's end. Every figure comes from the maintained aggregates
//! and the package sets' matches — the cost does not grow with the fleet.
//!
//! Metrics (name → value): `devices`, `status:S` (devices per status),
//! `silent`, `drifting`, `sev:S` (failing findings — device × rule — per
//! rule severity), `rule:ID` (devices failing the rule), `ceil:FR:SL`
//! (devices whose computed ceiling for FR is SL), `vuln:ID` (active devices
//! on which the advisory is open), `vsev:BAND` (open device × advisory
//! pairs per CVSS band).

use crate::store::Store;
use fieldattest_protocol::catalog::Lookup;
use std::collections::BTreeMap;

/// Default seconds without an attestation after which an active device is
/// silent (`serve --silent-after`).
pub const SILENT_AFTER: i64 = 24 * 3600;

/// Seconds between two records while serving.
pub const INTERVAL: u64 = 600;

/// One day in days since the epoch.
pub fn day(t: i64) -> i64 {
    t.div_euclid(86_400)
}

/// Records the posture at `at` under its day, with the default silence
/// threshold of `serve`.
pub fn record(store: &dyn Store, at: i64) -> Result<(), String> {
    record_with(store, at, SILENT_AFTER)
}

/// [`record`] with a device counted silent after `silent_after` seconds
/// (the fleet's open advisories computed here).
pub fn record_with(store: &dyn Store, at: i64, silent_after: i64) -> Result<(), String> {
    let vulns = crate::vuln::fleet_open(store)?;
    record_view(store, at, silent_after, &vulns)
}

/// [`record_with`] counting `vulns`, the fleet's open advisories (`serve`
/// passes its kept view, `vuln::FleetCache`).
pub fn record_view(
    store: &dyn Store,
    at: i64,
    silent_after: i64,
    vulns: &[crate::vuln::FleetVuln],
) -> Result<(), String> {
    let m = metrics_with(store, at, silent_after, vulns, true)?;
    let m: Vec<(String, u64)> = m.into_iter().collect();
    Ok(store.put_posture(day(at), &m)?)
}

/// The metrics at `at` (see the module documentation).
pub fn metrics(
    store: &dyn Store,
    at: i64,
    silent_after: i64,
) -> Result<BTreeMap<String, u64>, String> {
    let vulns = crate::vuln::fleet_open(store)?;
    metrics_with(store, at, silent_after, &vulns, true)
}

/// The metrics at `at` counting `vulns`, the fleet's open advisories; the
/// per-advisory `vuln:ID` ones only with `per_advisory` (the overview
/// compares those with yesterday's itself).
pub fn metrics_with(
    store: &dyn Store,
    at: i64,
    silent_after: i64,
    vulns: &[crate::vuln::FleetVuln],
    per_advisory: bool,
) -> Result<BTreeMap<String, u64>, String> {
    let agg = store.aggregates(at - silent_after)?;
    let catalogs = crate::ceiling::held_catalogs(store).map_err(|r| r.reason)?;
    let mut m: BTreeMap<String, u64> = BTreeMap::new();
    let mut add = |k: String, n: u64| *m.entry(k).or_default() += n;
    add("devices".into(), agg.by_status.iter().map(|(_, n)| n).sum());
    for (s, n) in &agg.by_status {
        add(format!("status:{s}"), *n);
    }
    add("silent".into(), agg.silent);
    add("drifting".into(), agg.drifting);
    for s in ["critical", "high", "medium", "low", "info"] {
        add(format!("sev:{s}"), 0);
    }
    for (rule, n) in &agg.failing {
        let sev = match catalogs.lookup(None, rule) {
            Lookup::Exact(r) | Lookup::OtherVersion { meta: r, .. } => severity_name(r.severity),
            Lookup::Unknown => "unknown",
        };
        add(format!("sev:{sev}"), *n);
        add(format!("rule:{rule}"), *n);
    }
    for (fr, sl, n) in &agg.ceilings {
        add(format!("ceil:{fr}:{sl}"), *n);
    }
    for b in ["critical", "high", "medium", "low", "unknown"] {
        add(format!("vsev:{b}"), 0);
    }
    for v in vulns {
        if per_advisory {
            add(format!("vuln:{}", v.vuln), v.devices);
        }
        add(format!("vsev:{}", crate::vuln::band(v.score)), v.devices);
    }
    Ok(m)
}

/// A rule severity's name as the catalog writes it.
pub fn severity_name(s: fieldattest_protocol::report::Severity) -> &'static str {
    use fieldattest_protocol::report::Severity::*;
    match s {
        Info => "info",
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    #[test]
    fn an_empty_fleet_records_zeros_and_a_day_keeps_its_last_record() {
        let s = SqliteStore::memory().unwrap();
        record(&s, 86_400 * 100 + 5).unwrap();
        let v = s.posture(100, "").unwrap();
        assert!(v
            .iter()
            .any(|(d, k, n)| *d == 100 && k == "devices" && *n == 0));
        assert!(v.iter().any(|(_, k, n)| k == "sev:high" && *n == 0));
        s.insert_device(b"kid", b"ueid", b"pk", "plant", 1).unwrap();
        record(&s, 86_400 * 100 + 50).unwrap();
        let v = s.posture(100, "devices").unwrap();
        assert_eq!(v, vec![(100, "devices".to_string(), 1)]);
        assert_eq!(day(-1), -1);
    }
}
