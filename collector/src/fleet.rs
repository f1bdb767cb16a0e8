//! Fleet queries over the store, as JSON values (rendered as text, JSON or CSV
//! by the CLI and the web page).

use crate::hex;
use crate::store::Store;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub fn devices(store: &dyn Store, now: i64) -> Result<Value, String> {
    // Where the latest attestation's SL-ceiling claim differs from the computed one.
    let disputes: BTreeMap<i64, String> = store.ceiling_disputes()?.into_iter().collect();
    let v: Vec<Value> = store
        .devices()?
        .into_iter()
        .map(|d| {
            json!({
                "id": d.id, "site": d.site, "status": d.status, "kid": hex(&d.kid), "ueid": hex(&d.ueid),
                "last_seq": d.last_seq, "last_seen": d.last_seen, "age_s": d.last_seen.map(|t| now - t),
                "sl_ceiling_dispute": disputes.get(&d.id),
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

/// `s` with control characters (C0, DEL, C1: escape sequences, newlines
/// that would forge lines) and bidirectional overrides (which reorder what a
/// terminal shows) written as `\x..` / `\u{..}`: device-reported strings are
/// printed for an operator's terminal.
pub fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() && (c as u32) < 0x100 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else if c.is_control() || bidi {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// A JSON value as one sanitised text cell: strings bare, null as `-`,
/// arrays comma-separated, other values as JSON.
pub fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => sanitize(s),
        Value::Null => "-".into(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(", "),
        other => sanitize(&other.to_string()),
    }
}

/// The fleet summary of [`fleet`] as text for people: counts, silent
/// devices, failing rules, SL ceilings per FR, shared keys and drift, in
/// aligned columns. Every device-reported string is sanitised.
pub fn to_text(v: &Value) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let obj = |k: &str| v[k].as_object().cloned().unwrap_or_default();
    let list = |k: &str| v[k].as_array().cloned().unwrap_or_default();
    let by_status: Vec<String> = obj("by_status")
        .iter()
        .map(|(s, n)| format!("{} {}", sanitize(s), cell(n)))
        .collect();
    let _ = writeln!(
        o,
        "Fleet: {} device(s){}",
        cell(&v["devices"]),
        if by_status.is_empty() {
            String::new()
        } else {
            format!(" ({})", by_status.join(", "))
        }
    );
    let _ = writeln!(
        o,
        "Silent (no attestation for {} s): {}{}",
        cell(&v["silent_after_s"]),
        cell(&v["silent_count"]),
        match list("silent") {
            s if s.is_empty() => String::new(),
            s => format!(" (devices {})", cell(&Value::Array(s))),
        }
    );
    let failing = obj("failing_rules");
    let _ = writeln!(o, "\nFailing rules ({}):", failing.len());
    if failing.is_empty() {
        let _ = writeln!(o, "  none");
    } else {
        let w = failing
            .keys()
            .map(|k| sanitize(k).chars().count())
            .max()
            .unwrap_or(0)
            .max(4);
        let _ = writeln!(o, "  {:<w$}  DEVICES", "RULE");
        let mut rows: Vec<(String, String, u64)> = failing
            .iter()
            .map(|(k, n)| (sanitize(k), cell(n), n.as_u64().unwrap_or(0)))
            .collect();
        rows.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        for (k, n, _) in rows {
            let _ = writeln!(o, "  {k:<w$}  {n:>7}");
        }
    }
    let sl = obj("sl_ceiling");
    let _ = writeln!(o, "\nSecurity level ceiling per FR:");
    if sl.is_empty() {
        let _ = writeln!(o, "  none");
    } else {
        let _ = writeln!(o, "  {:<6} {:<7} DEVICES AT EACH SL", "FR", "LOWEST");
        for (fr, x) in &sl {
            let at: Vec<String> = x["devices_at"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(l, n)| format!("SL{}: {}", sanitize(l), cell(n)))
                        .collect()
                })
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "  {:<6} {:<7} {}",
                sanitize(fr),
                format!("SL{}", cell(&x["min"])),
                at.join("  ")
            );
        }
    }
    let shared = list("shared_keys");
    let _ = writeln!(o, "\nKeys shared by several devices ({}):", shared.len());
    if shared.is_empty() {
        let _ = writeln!(o, "  none");
    }
    for k in &shared {
        let _ = writeln!(
            o,
            "  {:<10} {}  devices {}",
            cell(&k["kind"]),
            cell(&k["fingerprint"]),
            cell(&k["devices"])
        );
    }
    let drift = list("drift");
    let _ = writeln!(
        o,
        "\nDrift since the previous attestation ({} device(s)):",
        cell(&v["drift_count"])
    );
    if drift.is_empty() {
        let _ = writeln!(o, "  none");
    }
    for d in &drift {
        let _ = writeln!(o, "  device {}:", cell(&d["device"]));
        for (key, label) in [("packages_added", "+"), ("packages_removed", "-")] {
            for p in d[key].as_array().into_iter().flatten() {
                let _ = writeln!(o, "    {label} {}", cell(p));
            }
        }
        for r in d["rules_changed"].as_array().into_iter().flatten() {
            let _ = writeln!(
                o,
                "    rule {}: {} -> {}",
                cell(&r["rule"]),
                cell(&r["from"]),
                cell(&r["to"])
            );
        }
    }
    let shown = drift.len() as u64;
    if let Some(n) = v["drift_count"].as_u64().filter(|n| *n > shown) {
        let _ = writeln!(o, "  ... and {} more (see --format json)", n - shown);
    }
    o
}

#[cfg(test)]
mod text_tests {
    use super::*;

    #[test]
    fn sanitize_escapes_controls_and_bidi() {
        assert_eq!(
            sanitize("ok\x1b[31mred\nforged"),
            "ok\\x1b[31mred\\x0aforged"
        );
        assert_eq!(sanitize("a\u{202e}b\u{85}"), "a\\u{202e}b\\x85");
        assert_eq!(sanitize("plain-ü"), "plain-ü");
    }

    #[test]
    fn fleet_text_is_not_json_and_lists_everything() {
        let v = json!({
            "devices": 3, "by_status": {"active": 2, "pending": 1},
            "failing_rules": {"auth.root-login\x1b[2J": 2, "net.telnet": 1},
            "sl_ceiling": {"FR1": {"min": 1, "devices_at": {"1": 1, "2": 1}}},
            "shared_keys": [{"fingerprint": "SHA256:abc", "kind": "ssh-host", "devices": [1, 2]}],
            "drift": [{"device": 2, "packages_added": ["pkg:deb/debian/a@2"], "packages_removed": [],
                       "rules_changed": [{"rule": "net.telnet", "from": null, "to": 2}]}],
            "drift_count": 1, "silent": [3], "silent_count": 1, "silent_after_s": 86400,
        });
        let t = to_text(&v);
        assert!(serde_json::from_str::<Value>(&t).is_err());
        for want in [
            "Fleet: 3 device(s) (active 2, pending 1)",
            "Silent (no attestation for 86400 s): 1 (devices 3)",
            "auth.root-login\\x1b[2J        2",
            "FR1    SL1     SL1: 1  SL2: 1",
            "ssh-host   SHA256:abc  devices 1, 2",
            "    + pkg:deb/debian/a@2",
            "    rule net.telnet: - -> 2",
        ] {
            assert!(t.contains(want), "{want:?} in\n{t}");
        }
        assert!(!t.contains('\x1b'));
    }
}
