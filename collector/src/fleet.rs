//! Fleet queries over the store, as JSON values (rendered as text, JSON or CSV
//! by the CLI and the web page).

use crate::hex;
use crate::store::{Snapshot, Store};
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
    let [new, old] = two.as_slice() else {
        return Ok(None);
    };
    Ok(drift_of(device, new, old))
}

/// What changed between a device's previous snapshot and its latest.
fn drift_of(device: i64, new: &Snapshot, old: &Snapshot) -> Option<Value> {
    let ((new_p, new_r), (old_p, old_r)) = (new, old);
    let added: Vec<&String> = new_p.iter().filter(|p| !old_p.contains(p)).collect();
    let removed: Vec<&String> = old_p.iter().filter(|p| !new_p.contains(p)).collect();
    let old: BTreeMap<&String, u8> = old_r.iter().map(|(r, c)| (r, *c)).collect();
    let changed: Vec<Value> = new_r
        .iter()
        .filter(|(r, c)| old.get(r).map(|o| o != c).unwrap_or(true))
        .map(|(r, c)| json!({"rule": r, "from": old.get(r), "to": c}))
        .collect();
    if added.is_empty() && removed.is_empty() && changed.is_empty() {
        return None;
    }
    Some(
        json!({"device": device, "packages_added": added, "packages_removed": removed, "rules_changed": changed}),
    )
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
    // Details for the first 100 (read together); the count is complete.
    let first: Vec<i64> = drifting.iter().copied().take(100).collect();
    for (id, [new, old]) in store.last_two_of(&first)? {
        if let Some(x) = drift_of(id, &new, &old) {
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

/// Renders an array of flat objects as CSV (header from the first row),
/// every cell through [`csv_cell`].
pub fn to_csv(v: &Value) -> String {
    let Some(rows) = v.as_array() else {
        return String::new();
    };
    let Some(first) = rows.first().and_then(|r| r.as_object()) else {
        return String::new();
    };
    let cols: Vec<&String> = first.keys().collect();
    let cell = |x: &Value| match x {
        Value::String(s) => csv_cell(s),
        Value::Null => String::new(),
        // A JSON number or boolean cannot hold a formula (digits, `-`, `.`,
        // `e`, `+`): left as is so numeric columns stay numeric.
        Value::Number(_) | Value::Bool(_) => x.to_string(),
        other => csv_cell(&other.to_string()),
    };
    let line = |cells: Vec<String>| {
        let mut l = cells.join(",");
        l.push('\n');
        l
    };
    let mut out = line(cols.iter().map(|c| csv_cell(c)).collect());
    for r in rows {
        out.push_str(&line(
            cols.iter()
                .map(|c| cell(r.get(c.as_str()).unwrap_or(&Value::Null)))
                .collect(),
        ));
    }
    out
}

/// One CSV cell, safe to open in a spreadsheet and to print on a terminal:
/// control characters written as by [`sanitize`], then a text starting with `=`,
/// `+`, `-`, `@`, TAB or CR (a formula to Excel, LibreOffice and Sheets,
/// OWASP "CSV injection") gets a leading `'`; a cell holding `,`, `"`, CR or
/// LF is quoted with `"` doubled (RFC 4180). Every CSV the collector writes
/// goes through here.
pub fn csv_cell(s: &str) -> String {
    let s = sanitize(s);
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
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

/// Any value as text for people (the `--format text` of the listing
/// commands): an array of flat objects as one `key=value  ...` line per row;
/// anything else one `key: value` line per scalar, nested objects indented,
/// arrays of flat objects as rows. Every string through [`sanitize`].
pub fn render_text(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Array(rows) => {
            for r in rows {
                out.push_str(&r.as_object().map(text_row).unwrap_or_default());
                out.push('\n');
            }
        }
        other => text_tree(other, 0, &mut out),
    }
    out
}

/// `key=value` pairs of a flat row.
fn text_row(o: &serde_json::Map<String, Value>) -> String {
    o.iter()
        .map(|(k, x)| format!("{}={}", sanitize(k), scalar_text(x)))
        .collect::<Vec<_>>()
        .join("  ")
}

/// A scalar as sanitised text (a string bare, anything else as JSON).
fn scalar_text(x: &Value) -> String {
    sanitize(
        x.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| x.to_string())
            .as_str(),
    )
}

/// Text for a non-row value (e.g. `device`); depth-bounded by the value the
/// collector itself built.
fn text_tree(v: &Value, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                let k = sanitize(k);
                match x {
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        text_tree(x, depth + 1, out);
                    }
                    _ => out.push_str(&format!("{pad}{k}: {}\n", scalar_text(x))),
                }
            }
        }
        Value::Array(a) if a.is_empty() => out.push_str(&format!("{pad}(none)\n")),
        Value::Array(a) => {
            for x in a {
                match x {
                    Value::Object(o) if o.values().all(|y| !y.is_object() && !y.is_array()) => {
                        out.push_str(&format!("{pad}{}\n", text_row(o)));
                    }
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!("{pad}-\n"));
                        text_tree(x, depth + 1, out);
                    }
                    _ => out.push_str(&format!("{pad}{}\n", scalar_text(x))),
                }
            }
        }
        Value::Null => out.push_str(&format!("{pad}(none)\n")),
        x => out.push_str(&format!("{pad}{}\n", scalar_text(x))),
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
    fn csv_cells_cannot_start_a_formula_and_are_quoted_per_rfc_4180() {
        for (raw, want) in [
            ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
            ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""),
            ("+1", "'+1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "\\x09=1"),
            ("\r=1", "\\x0d=1"),
            ("a,b", "\"a,b\""),
            ("1.2-3", "1.2-3"),
            ("\x1b]0;t\x07\x1b[2J", "\\x1b]0;t\\x07\\x1b[2J"),
        ] {
            assert_eq!(csv_cell(raw), want, "{raw:?}");
        }
        let v = json!([{"device": -1, "version": "-2+3", "x": null}, {"device": 2, "version": "=1,2", "x": true}]);
        assert_eq!(
            to_csv(&v),
            "device,version,x\n-1,'-2+3,\n2,\"'=1,2\",true\n"
        );
    }

    #[test]
    fn render_text_escapes_every_string_rows_and_trees() {
        let hostile = "v\x1b]0;x\x07\x1b[2J\u{9b}";
        let rows = render_text(&json!([{"version": hostile, "n\x1bk": 1}]));
        let tree = render_text(
            &json!({"device": {"site": hostile}, "list": [hostile], "rows": [{"a": hostile}]}),
        );
        for t in [&rows, &tree] {
            assert!(!t.chars().any(|c| c.is_control() && c != '\n'), "{t:?}");
            assert!(t.contains("v\\x1b]0;x\\x07\\x1b[2J\\x9b"), "{t}");
        }
        assert!(rows.contains("n\\x1bk=1"), "{rows}");
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
