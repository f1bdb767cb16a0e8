//! Fleet queries over the store, as JSON values (rendered as text, JSON or CSV
//! by the CLI and the web page).

use crate::hex;
use crate::store::Store;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub fn devices(store: &dyn Store, now: i64) -> Result<Value, String> {
    let v: Vec<Value> = store
        .devices()?
        .into_iter()
        .map(|d| {
            json!({
                "id": d.id, "site": d.site, "status": d.status, "kid": hex(&d.kid), "ueid": hex(&d.ueid),
                "last_seq": d.last_seq, "last_seen": d.last_seen, "age_s": d.last_seen.map(|t| now - t),
            })
        })
        .collect();
    Ok(Value::Array(v))
}

/// Failing rules of each device's latest attestation.
pub fn findings(store: &dyn Store, rule: Option<&str>) -> Result<Value, String> {
    let v: Vec<Value> = store
        .latest_failures(rule)?
        .into_iter()
        .map(|(d, r)| json!({"device": d, "rule": r, "result": "fail"}))
        .collect();
    Ok(Value::Array(v))
}

/// Packages and rule results that changed between a device's last two attestations.
pub fn drift(store: &dyn Store, device: i64) -> Result<Option<Value>, String> {
    let two = store.last_two(device)?;
    let [(new_p, new_r), (old_p, old_r)] = two.as_slice() else {
        return Ok(None);
    };
    let added: Vec<&String> = new_p.iter().filter(|p| !old_p.contains(p)).collect();
    let removed: Vec<&String> = old_p.iter().filter(|p| !new_p.contains(p)).collect();
    let old: BTreeMap<&String, u8> = old_r.iter().map(|(r, c)| (r, *c)).collect();
    let changed: Vec<Value> = new_r
        .iter()
        .filter(|(r, c)| old.get(r).map(|o| o != c).unwrap_or(true))
        .map(|(r, c)| json!({"rule": r, "from": old.get(r), "to": c}))
        .collect();
    if added.is_empty() && removed.is_empty() && changed.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        json!({"device": device, "packages_added": added, "packages_removed": removed, "rules_changed": changed}),
    ))
}

/// Fleet summary: counts, failing rules, per-FR SL ceilings, shared keys,
/// drift, silent devices. Aggregation happens in the database, so the cost
/// does not grow with per-device round trips.
pub fn fleet(store: &dyn Store, now: i64, silent_after: i64) -> Result<Value, String> {
    let agg = store.aggregates(now - silent_after)?;
    let devices: u64 = agg.by_status.iter().map(|(_, n)| n).sum();
    let mut ceilings: BTreeMap<String, BTreeMap<u8, u64>> = BTreeMap::new();
    for (fr, sl, n) in agg.ceilings {
        *ceilings.entry(fr).or_default().entry(sl).or_default() += n;
    }
    let sl: BTreeMap<String, Value> = ceilings
        .into_iter()
        .map(|(fr, levels)| {
            let min = levels.keys().next().copied().unwrap_or(0);
            (fr, json!({"min": min, "devices_at": levels.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<BTreeMap<_, _>>()}))
        })
        .collect();
    let shared: Vec<Value> = store
        .shared_keys()?
        .into_iter()
        .map(|(fp, kind, ids)| json!({"fingerprint": fp, "kind": kind, "devices": ids}))
        .collect();
    let drifting = store.drifting()?;
    let mut drift_v = Vec::new();
    // Details for the first 100; the count is complete.
    for id in drifting.iter().copied().take(100) {
        if let Some(x) = drift(store, id)? {
            drift_v.push(x);
        }
    }
    Ok(json!({
        "devices": devices,
        "by_status": agg.by_status.into_iter().collect::<BTreeMap<_, _>>(),
        "failing_rules": agg.failing.into_iter().collect::<BTreeMap<_, _>>(),
        "sl_ceiling": sl,
        "shared_keys": shared,
        "drift": drift_v,
        "drift_count": drifting.len(),
        "silent": agg.silent_ids,
        "silent_count": agg.silent,
        "silent_after_s": silent_after,
    }))
}

/// Renders an array of flat objects as CSV (header from the first row).
pub fn to_csv(v: &Value) -> String {
    let Some(rows) = v.as_array() else {
        return String::new();
    };
    let Some(first) = rows.first().and_then(|r| r.as_object()) else {
        return String::new();
    };
    let cols: Vec<&String> = first.keys().collect();
    let cell = |x: &Value| {
        let s = match x {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s
        }
    };
    let mut out = cols
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for r in rows {
        out.push_str(
            &cols
                .iter()
                .map(|c| cell(r.get(c.as_str()).unwrap_or(&Value::Null)))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}
