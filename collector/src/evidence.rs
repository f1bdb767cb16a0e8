//! IEC 62443-4-2 evidence report of a device (or every active device): per
//! foundational requirement, the requirements checked with the result of
//! each rule, the SL ceiling against the target, the attestation the results
//! come from — re-verified now with the device's key, not taken from the
//! database on trust —, the SBOM and HBOM digests it attests, and the open
//! vulnerabilities with their VEX status. JSON for tools; HTML as the
//! printable view (PDF through headless Chromium at the CLI edge).

use crate::hex;
use crate::store::Store;
use crate::verify;
use crate::vuln;
use fieldattest_protocol::catalog::{Catalogs, Lookup};
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
/// `feeds` is the vulnerability data's freshness
/// ([`vuln::feeds::feed_status`]): the report says how current its
/// vulnerability section is, and which feeds are stale.
pub fn device(
    store: &dyn Store,
    id: i64,
    target_sl: u8,
    matches: &[vuln::Match],
    feeds: &[vuln::feeds::FeedStatus],
) -> Result<Value, String> {
    let d = store
        .device(id)?
        .ok_or_else(|| format!("device {id} not found"))?;
    let mut out = json!({
        "device": {"id": d.id, "site": d.site, "status": d.status, "kid": hex(&d.kid), "ueid": hex(&d.ueid)},
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
    // Metadata from the catalog of the agent version that signed the token
    // (submods["agent"]), never from this collector's build: a rule a newer
    // agent added is listed with its metadata when the collector holds that
    // catalog, and marked unknown otherwise — never dropped.
    let agent_version = claims.as_ref().and_then(crate::ceiling::agent_version);
    // Borrowed when nothing is imported: no copy of the shipped catalogs per device.
    let catalogs = crate::ceiling::held_catalogs(store).map_err(|r| r.reason)?;
    out["attestation"]["agent_version"] = json!(agent_version);
    // SL ceilings computed here from the results and the catalog; the
    // device's claim is shown beside them and a disagreement flagged.
    let ceil = claims
        .as_ref()
        .map(|c| crate::ceiling::ceilings(c, catalogs.as_ref()))
        .unwrap_or_default();
    out["attestation"]["sl_ceiling_dispute"] = json!(ceil.dispute);
    // Collector-side acceptances live now: shown beside the device's own
    // result, which they do not change.
    let now = crate::now();
    let accepts: Vec<_> = store
        .accepts_for(id)?
        .into_iter()
        .filter(|a| a.live(now))
        .collect();
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
        let subjects: Vec<&str> = claims
            .iter()
            .flat_map(|c| c.findings.iter())
            .filter(|f| &f.rule == rule)
            .map(|f| f.subject.as_str())
            .collect();
        if let Some(a) = accepts
            .iter()
            .find(|a| a.covers(rule, None) || subjects.iter().any(|s| a.covers(rule, Some(s))))
        {
            entry["accepted_by_operator"] = json!({
                "id": a.id, "subject": a.subject, "justification": a.justification,
                "by": a.actor, "at": a.at, "expires": crate::rfc3339(a.expires),
                "scope": if a.device_id.is_some() { "device" } else { "fleet" },
            });
        }
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
                let ceiling = ceil.effective.get(&fr).copied();
                json!({
                    "fr": fr,
                    "sl_ceiling": ceiling,
                    "sl_ceiling_claimed": ceil.claimed.get(&fr),
                    "sl_ceiling_computed": ceil.computed.get(&fr),
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
                    "vex": m.vex.as_ref().map(|v| json!({"status": v.status, "justification": v.justification, "detail": v.detail, "source": m.vex_source})),
                    "open": m.is_open(),
                })
            })
            .collect(),
    );
    // What matching could not see: never a bare zero.
    let cov = store.coverage(Some(id))?;
    let open = matches
        .iter()
        .filter(|m| m.device_id == id && m.is_open())
        .map(|m| (&m.vuln, &m.package))
        .collect::<std::collections::BTreeSet<_>>()
        .len() as u64;
    out["vulnerability_coverage"] = json!({
        "summary": cov.count(open), "components": cov.total,
        "unidentified": cov.unidentified, "without_data": cov.uncovered, "notes": cov.notes,
    });
    out["vulnerability_data"] = json!({
        "imported": !feeds.is_empty(),
        "stale": feeds.iter().filter(|f| f.stale).count(),
        "feeds": feeds.iter().map(|f| json!({
            "kind": f.feed.kind, "origin": f.feed.origin, "records": f.feed.records,
            "data_date": f.feed.data_date, "age_days": f.age / 86_400, "stale": f.stale,
        })).collect::<Vec<_>>(),
    });
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

/// The catalogs shipped with this build plus those imported into the store.
pub fn catalogs(store: &dyn Store) -> Result<Catalogs, String> {
    crate::ceiling::held_catalogs(store)
        .map(std::borrow::Cow::into_owned)
        .map_err(|r| r.reason)
}

/// The digest (hex) of the measured component called `name`.
fn measured(name: &str, b: &[u8]) -> Option<String> {
    crate::console::device::measured_component(b)
        .filter(|(n, _)| n == name)
        .map(|(_, d)| hex(&d))
}

pub(crate) const REPORT_CSS: &str = "body{font-family:sans-serif;margin:2em;font-size:11pt}table{border-collapse:collapse;width:100%;margin-bottom:1em}td,th{border:1px solid #999;padding:3px 6px;text-align:left;vertical-align:top}.fail{color:#b00;font-weight:bold}.pass{color:#070}h2{page-break-before:always}h2:first-of-type{page-break-before:avoid}";

/// A string field of a report value ("" when absent).
fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// The printable HTML view of one or more device reports (maud escapes every
/// interpolated value), self-contained (its style sheet inline) for files
/// and PDF.
pub fn html(reports: &[Value], generated: &str) -> String {
    use maud::{html, PreEscaped};
    report_page(
        html! { style { (PreEscaped(REPORT_CSS)) } },
        reports,
        generated,
    )
}

/// [`html`] as the console serves it: the style sheet linked
/// (`/assets/report.css`, the CSP allows no inline style).
pub fn html_linked(reports: &[Value], generated: &str) -> String {
    use maud::html;
    report_page(
        html! { link rel="stylesheet" href="/assets/report.css"; },
        reports,
        generated,
    )
}

/// The report document with `style` (its style sheet, inline or linked) in the head.
fn report_page(style: maud::Markup, reports: &[Value], generated: &str) -> String {
    use maud::{html, DOCTYPE};
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "IEC 62443-4-2 evidence report" }
                (style)
            }
            body { (report_body(reports, generated)) }
        }
    }
    .into_string()
}

fn report_body(reports: &[Value], generated: &str) -> maud::Markup {
    use maud::html;
    html! {
        h1 { "IEC 62443-4-2 evidence report" }
        p { "Generated " (generated) " by fieldattest-collector " (env!("CARGO_PKG_VERSION")) "." }
        @for r in reports {
            (device_html(r))
        }
    }
}

fn device_html(r: &Value) -> maud::Markup {
    use maud::{display, html};
    let d = &r["device"];
    let a = &r["attestation"];
    html! {
        h2 class="device" {
            "Device " (display(&d["id"])) " — site " (text(d, "site")) " (" (text(d, "status")) ")"
        }
        p {
            "Key id " (text(d, "kid")) br;
            "UEID " (text(d, "ueid")) br;
            "Target security level SL " (display(&r["target_sl"]))
        }
        @if a.is_null() {
            p class="fail" { "No attestation stored." }
        } @else {
            table {
                tr {
                    th { "attestation" }
                    td {
                        "token " (display(&a["token_id"])) " seq " (display(&a["seq"]))
                        ", issued " (display(&a["iat"])) " (device clock), received "
                        (display(&a["received_at"])) ", " (text(a, "arrival"))
                    }
                }
                tr { th { "signature" } td { (text(a, "signature")) } }
                tr { th { "SBOM SHA-256" } td { (a["sbom_sha256"].as_str().unwrap_or("-")) } }
                tr { th { "HBOM SHA-256" } td { (a["hbom_sha256"].as_str().unwrap_or("-")) } }
            }
            @for fr in r["requirements"].as_array().into_iter().flatten() {
                h3 {
                    (text(fr, "fr")) " — SL ceiling " (display(&fr["sl_ceiling"])) " "
                    @if fr["meets_target"].as_bool() == Some(true) {
                        "(meets the target)"
                    } @else {
                        span class="fail" { "(below the target)" }
                    }
                }
                table {
                    tr {
                        th { "rule" } th { "requirements (min SL)" } th { "severity" }
                        th { "result" } th { "evidence" }
                    }
                    @for rule in fr["rules"].as_array().into_iter().flatten() {
                        (rule_row(rule))
                    }
                }
            }
            h3 { "Accepted findings (compensating countermeasures, CCSC 2)" }
            table {
                tr { th { "rule" } th { "subject" } th { "countermeasure" } }
                @for f in r["accepted"].as_array().into_iter().flatten() {
                    tr {
                        td { (text(f, "rule")) }
                        td { (text(f, "subject")) " " (text(f, "path")) }
                        td { (text(f, "countermeasure")) }
                    }
                }
            }
            h3 { "Vulnerabilities" }
            p class="coverage" { (text(&r["vulnerability_coverage"], "summary")) }
            @if r["vulnerability_data"]["imported"] == false {
                p class="coverage notice" { "No vulnerability data imported: the open count is unknown, not zero." }
            }
            @for f in r["vulnerability_data"]["feeds"].as_array().into_iter().flatten().filter(|f| f["stale"] == true) {
                p class="coverage notice" {
                    "Stale vulnerability data: " (text(f, "kind")) " from " (text(f, "origin"))
                    " (" (text(f, "data_date")) ", " (f["age_days"].as_i64().unwrap_or(0)) " days old)."
                }
            }
            @for n in r["vulnerability_coverage"]["notes"].as_array().into_iter().flatten() {
                p class="small" { (n.as_str().unwrap_or("")) }
            }
            table {
                tr { th { "vulnerability" } th { "package" } th { "fixed in" } th { "VEX" } }
                @for v in r["vulnerabilities"].as_array().into_iter().flatten() {
                    tr {
                        td { (text(v, "id")) }
                        td { (text(v, "package")) " " (text(v, "version")) }
                        td { (v["fixed"].as_str().unwrap_or("-")) }
                        td {
                            @match v["vex"].as_object() {
                                Some(x) => {
                                    (x["status"].as_str().unwrap_or("")) " "
                                    (x["justification"].as_str().unwrap_or(""))
                                }
                                None => { "open" }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One rule of a requirement table: id and title, requirements, severity,
/// result, and the evidence (the token, and the findings' subjects).
fn rule_row(rule: &Value) -> maud::Markup {
    use maud::html;
    let reqs: Vec<String> = rule["requirements"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|q| format!("{} (SL {})", text(q, "id"), q["min_sl"]))
        .collect();
    let res = text(rule, "result");
    let class = match res {
        "fail" => "fail",
        "pass" => "pass",
        _ => "",
    };
    let found: Vec<String> = rule["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            format!("{} {}", text(f, "subject"), text(f, "path"))
                .trim()
                .to_string()
        })
        .collect();
    let evidence = if found.is_empty() {
        text(rule, "evidence").to_string()
    } else {
        format!("{}; {}", text(rule, "evidence"), found.join("; "))
    };
    html! {
        tr {
            td { (text(rule, "rule")) br; small { (text(rule, "title")) } }
            td { (reqs.join(", ")) }
            td { (text(rule, "severity")) }
            td class=(class) { (res) }
            td {
                (evidence)
                @if let Some(a) = rule["accepted_by_operator"].as_object() {
                    br; b { "accepted (collector)" } ": "
                    (a.get("justification").and_then(Value::as_str).unwrap_or(""))
                    " — " (a.get("by").and_then(Value::as_str).unwrap_or(""))
                    ", until " (a.get("expires").and_then(Value::as_str).unwrap_or(""))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reported_string_is_escaped_in_the_html() {
        let hostile = "<img src=x onerror=alert(1)>\"&";
        let r = json!({
            "device": {"id": 1, "site": hostile, "status": "active", "kid": hostile, "ueid": "01"},
            "target_sl": 2,
            "attestation": {"token_id": 1, "seq": 1, "iat": 0, "received_at": 0,
                "arrival": hostile, "signature": "verified", "sbom_sha256": null, "hbom_sha256": null},
            "requirements": [{"fr": hostile, "sl_ceiling": 1, "meets_target": false, "failing": 1,
                "rules": [{"rule": hostile, "title": hostile, "result": "fail", "severity": hostile,
                    "evidence": hostile, "requirements": [{"id": hostile, "min_sl": 1}],
                    "accepted_by_operator": {"justification": hostile, "by": hostile, "expires": hostile},
                    "findings": [{"subject": hostile, "path": hostile}]}]}],
            "accepted": [{"rule": hostile, "subject": hostile, "path": hostile, "countermeasure": hostile}],
            "vulnerabilities": [{"id": hostile, "package": hostile, "version": hostile, "fixed": hostile,
                "vex": {"status": hostile, "justification": hostile}}],
        });
        let h = html(&[r], hostile);
        assert!(!h.contains("<img"), "{h}");
        let escaped = "&lt;img src=x onerror=alert(1)&gt;&quot;&amp;";
        // Generated time, site, kid, arrival, FR, rule, title, requirement,
        // severity, evidence, findings, accepted (4), vulnerability (5), VEX (2),
        // accepted by the operator (3).
        assert!(h.matches(escaped).count() >= 23, "{h}");
        assert!(h.contains("<b>accepted (collector)</b>: "), "{h}");
        assert!(h.contains("<td class=\"fail\">fail</td>"), "{h}");
        assert!(
            h.contains("<span class=\"fail\">(below the target)</span>"),
            "{h}"
        );
    }
}
