//! IEC 62443-4-2 evidence report of a device (or every active device): per
//! foundational requirement, the requirements checked with the result of
//! each rule, the SL ceiling against the target, the attestation the results
//! come from — re-verified now with the device's key, not taken from the
//! database on trust —, the SBOM and HBOM digests it attests, and the open
//! vulnerabilities with their VEX status. JSON for tools; HTML as the
//! printable view (PDF through headless Chromium at the CLI edge).

use crate::store::Store;
use crate::verify;
use crate::vuln;
use fieldattest_protocol::catalog::{Catalog, Catalogs, Lookup};
use fieldattest_protocol::eat;
use fieldattest_protocol::token::{self, PublicKey};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn result_name(code: u8) -> &'static str {
    match code {
        eat::RESULT_PASS => "pass",
        eat::RESULT_FAIL => "fail",
        eat::RESULT_NOT_RUN => "not-run",
        _ => "not-applicable",
    }
}

/// The evidence of one device as JSON.
pub fn device(
    store: &dyn Store,
    id: i64,
    target_sl: u8,
    matches: &[vuln::Match],
) -> Result<Value, String> {
    let d = store
        .device(id)?
        .ok_or_else(|| format!("device {id} not found"))?;
    let mut out = json!({
        "device": {"id": d.id, "site": d.site, "status": d.status, "kid": crate::hex(&d.kid), "ueid": crate::hex(&d.ueid)},
        "target_sl": target_sl,
    });
    let Some(t) = store.latest_token(id)? else {
        out["attestation"] = Value::Null;
        out["requirements"] = json!([]);
        return Ok(out);
    };
    // Re-verify the stored token with the key that signed it.
    let verified = token::parse(&t.raw)
        .map_err(|e| e.to_string())
        .and_then(|(sign1, kid)| {
            let (dev, _) = verify::lookup_key(store, &kid).map_err(|r| r.reason)?;
            let key = PublicKey::from_sec1(&dev.pubkey)?;
            token::verify_parsed(&sign1, &kid, &key).map_err(|e| e.to_string())
        });
    let (claims, verdict) = match verified {
        Ok(c) => (Some(c), "verified".to_string()),
        Err(e) => (None, format!("does not verify: {e}")),
    };
    let hbom = claims.as_ref().and_then(|c| {
        c.measurements
            .iter()
            .filter(|(cf, _)| *cf == eat::CF_MEASURED_COMPONENT)
            .find_map(|(_, b)| measured("hardware", b))
    });
    out["attestation"] = json!({
        "token_id": t.id, "seq": t.seq, "iat": t.iat, "received_at": t.received_at,
        "arrival": if t.online {"online (session nonce)"} else {"offline (spool or bundle)"},
        "signature": verdict,
        "sbom_sha256": t.sbom_digest,
        "hbom_sha256": hbom,
    });
    let results: BTreeMap<String, u8> = claims
        .as_ref()
        .map(|c| {
            c.measres
                .iter()
                .flat_map(|(_, r)| r.iter().cloned())
                .collect()
        })
        .unwrap_or_default();
    let ceilings: BTreeMap<String, u8> = claims
        .as_ref()
        .map(|c| c.sl_ceiling.iter().cloned().collect())
        .unwrap_or_default();
    // Metadata from the catalog of the agent version that signed the token
    // (submods["agent"]), never from this collector's build: a rule a newer
    // agent added is listed with its metadata when the collector holds that
    // catalog, and marked unknown otherwise — never dropped.
    let agent_version = claims.as_ref().and_then(agent_version);
    let catalogs = catalogs(store)?;
    out["attestation"]["agent_version"] = json!(agent_version);
    let mut by_fr: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (rule, code) in &results {
        let found: Vec<Value> = claims
            .iter()
            .flat_map(|c| c.findings.iter())
            .filter(|f| &f.rule == rule && f.accepted.is_none())
            .map(|f| json!({"subject": f.subject, "path": f.path}))
            .collect();
        let mut entry = json!({
            "rule": rule,
            "result": result_name(*code),
            "evidence": format!("token {} (seq {}), measres", t.id, t.seq),
            "findings": found,
        });
        let (fr, meta, source) = match catalogs.lookup(agent_version.as_deref(), rule) {
            Lookup::Exact(m) => (m.fr.clone(), Some(m), json!("agent")),
            Lookup::OtherVersion { version, meta } => (
                meta.fr.clone(),
                Some(meta),
                json!(format!("catalog {version}")),
            ),
            Lookup::Unknown => ("unknown".to_string(), None, Value::Null),
        };
        match meta {
            Some(m) => {
                entry["title"] = json!(m.title);
                entry["severity"] = json!(m.severity);
                entry["requirements"] = json!(m.requirements);
                entry["applies_at_target"] = json!(m.min_sl <= target_sl);
                entry["catalog"] = source;
            }
            None => {
                entry["title"] = json!("rule unknown to every catalog this collector holds");
                entry["severity"] = Value::Null;
                entry["requirements"] = json!([]);
                entry["applies_at_target"] = Value::Null;
                entry["catalog"] = json!("unknown");
            }
        }
        by_fr.entry(fr).or_default().push(entry);
    }
    out["requirements"] = Value::Array(
        by_fr
            .into_iter()
            .map(|(fr, rules)| {
                let ceiling = ceilings.get(&fr).copied();
                json!({
                    "fr": fr,
                    "sl_ceiling": ceiling,
                    "meets_target": ceiling.is_some_and(|c| c >= target_sl),
                    "failing": rules.iter().filter(|r| r["result"] == "fail").count(),
                    "rules": rules,
                })
            })
            .collect(),
    );
    out["vulnerabilities"] = Value::Array(
        matches
            .iter()
            .filter(|m| m.device_id == id)
            .map(|m| {
                json!({
                    "id": m.vuln, "aliases": m.aliases, "package": m.package, "version": m.version,
                    "fixed": m.fixed, "severity": m.severity.as_ref().map(|(_, s)| s),
                    "vex": m.vex.as_ref().map(|v| json!({"status": v.status, "justification": v.justification, "detail": v.detail})),
                    "open": m.is_open(),
                })
            })
            .collect(),
    );
    out["accepted"] = Value::Array(
        claims
            .iter()
            .flat_map(|c| c.findings.iter())
            .filter_map(|f| {
                let reason = f.accepted.as_ref()?;
                Some(json!({"rule": f.rule, "subject": f.subject, "path": f.path, "countermeasure": reason}))
            })
            .collect(),
    );
    Ok(out)
}

/// The agent version named in the token (`submods["agent"]`).
fn agent_version(c: &eat::Claims) -> Option<String> {
    c.submods
        .iter()
        .find(|(name, _)| name == "agent")
        .and_then(|(_, s)| s.sw.as_ref())
        .map(|sw| sw.version.clone())
}

/// The catalogs shipped with this build plus those imported into the store.
pub fn catalogs(store: &dyn Store) -> Result<Catalogs, String> {
    let mut c = Catalogs::shipped();
    for text in store.catalogs()? {
        // Checked when imported; re-checked because the database is not trusted.
        if let Ok(cat) = Catalog::parse(&text) {
            c.insert(cat);
        }
    }
    Ok(c)
}

/// Name and digest of a measured component `{1: [name], 2: [-16, digest]}`.
fn measured(name: &str, b: &[u8]) -> Option<String> {
    let v = fieldattest_protocol::cbor::from_slice(b, 8).ok()?;
    let m = v.as_map()?;
    let get = |k: i64| {
        m.iter()
            .find(|(x, _)| x.as_integer() == Some(k.into()))
            .map(|(_, v)| v)
    };
    let n = get(1)?.as_array()?.first()?.as_text()?;
    if n != name {
        return None;
    }
    let d = get(2)?.as_array()?.get(1)?.as_bytes()?;
    Some(crate::hex(d))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The printable HTML view of one or more device reports.
pub fn html(reports: &[Value], generated: &str) -> String {
    let mut h = String::from("<!doctype html><html><head><meta charset=\"utf-8\"><title>IEC 62443-4-2 evidence report</title><style>body{font-family:sans-serif;margin:2em;font-size:11pt}table{border-collapse:collapse;width:100%;margin-bottom:1em}td,th{border:1px solid #999;padding:3px 6px;text-align:left;vertical-align:top}.fail{color:#b00;font-weight:bold}.pass{color:#070}h2{page-break-before:always}h2:first-of-type{page-break-before:avoid}</style></head><body>");
    h.push_str(&format!(
        "<h1>IEC 62443-4-2 evidence report</h1><p>Generated {} by fieldattest-collector {}.</p>",
        esc(generated),
        env!("CARGO_PKG_VERSION")
    ));
    for r in reports {
        let d = &r["device"];
        h.push_str(&format!(
            "<h2 class=\"device\">Device {} — site {} ({})</h2>",
            d["id"],
            esc(d["site"].as_str().unwrap_or("")),
            esc(d["status"].as_str().unwrap_or(""))
        ));
        h.push_str(&format!(
            "<p>Key id {}<br>UEID {}<br>Target security level SL {}</p>",
            esc(d["kid"].as_str().unwrap_or("")),
            esc(d["ueid"].as_str().unwrap_or("")),
            r["target_sl"]
        ));
        let a = &r["attestation"];
        if a.is_null() {
            h.push_str("<p class=\"fail\">No attestation stored.</p>");
            continue;
        }
        h.push_str(&format!(
            "<table><tr><th>attestation</th><td>token {} seq {}, issued {} (device clock), received {}, {}</td></tr><tr><th>signature</th><td>{}</td></tr><tr><th>SBOM SHA-256</th><td>{}</td></tr><tr><th>HBOM SHA-256</th><td>{}</td></tr></table>",
            a["token_id"], a["seq"], a["iat"], a["received_at"], esc(a["arrival"].as_str().unwrap_or("")),
            esc(a["signature"].as_str().unwrap_or("")),
            esc(a["sbom_sha256"].as_str().unwrap_or("-")), esc(a["hbom_sha256"].as_str().unwrap_or("-"))
        ));
        for fr in r["requirements"].as_array().into_iter().flatten() {
            h.push_str(&format!(
                "<h3>{} — SL ceiling {} {}</h3><table><tr><th>rule</th><th>requirements (min SL)</th><th>severity</th><th>result</th><th>evidence</th></tr>",
                esc(fr["fr"].as_str().unwrap_or("")),
                fr["sl_ceiling"],
                if fr["meets_target"].as_bool() == Some(true) { "(meets the target)" } else { "<span class=\"fail\">(below the target)</span>" }
            ));
            for rule in fr["rules"].as_array().into_iter().flatten() {
                let reqs: Vec<String> = rule["requirements"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|q| format!("{} (SL {})", q["id"].as_str().unwrap_or(""), q["min_sl"]))
                    .collect();
                let res = rule["result"].as_str().unwrap_or("");
                h.push_str(&format!(
                    "<tr><td>{}<br><small>{}</small></td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
                    esc(rule["rule"].as_str().unwrap_or("")), esc(rule["title"].as_str().unwrap_or("")),
                    esc(&reqs.join(", ")), esc(rule["severity"].as_str().unwrap_or("")),
                    if res == "fail" { "fail" } else if res == "pass" { "pass" } else { "" }, esc(res),
                    esc(&{
                        let fs: Vec<String> = rule["findings"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|f| format!("{} {}", f["subject"].as_str().unwrap_or(""), f["path"].as_str().unwrap_or("")).trim().to_string())
                            .collect();
                        if fs.is_empty() {
                            rule["evidence"].as_str().unwrap_or("").to_string()
                        } else {
                            format!("{}; {}", rule["evidence"].as_str().unwrap_or(""), fs.join("; "))
                        }
                    })
                ));
            }
            h.push_str("</table>");
        }
        h.push_str("<h3>Accepted findings (compensating countermeasures, CCSC 2)</h3><table><tr><th>rule</th><th>subject</th><th>countermeasure</th></tr>");
        for f in r["accepted"].as_array().into_iter().flatten() {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{} {}</td><td>{}</td></tr>",
                esc(f["rule"].as_str().unwrap_or("")),
                esc(f["subject"].as_str().unwrap_or("")),
                esc(f["path"].as_str().unwrap_or("")),
                esc(f["countermeasure"].as_str().unwrap_or(""))
            ));
        }
        h.push_str("</table>");
        h.push_str("<h3>Vulnerabilities</h3><table><tr><th>vulnerability</th><th>package</th><th>fixed in</th><th>VEX</th></tr>");
        for v in r["vulnerabilities"].as_array().into_iter().flatten() {
            let vex = v["vex"]
                .as_object()
                .map(|x| {
                    format!(
                        "{} {}",
                        x["status"].as_str().unwrap_or(""),
                        x["justification"].as_str().unwrap_or("")
                    )
                })
                .unwrap_or_else(|| "open".into());
            h.push_str(&format!(
                "<tr><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td></tr>",
                esc(v["id"].as_str().unwrap_or("")),
                esc(v["package"].as_str().unwrap_or("")),
                esc(v["version"].as_str().unwrap_or("")),
                esc(v["fixed"].as_str().unwrap_or("-")),
                esc(&vex)
            ));
        }
        h.push_str("</table>");
    }
    h.push_str("</body></html>");
    h
}
