//! The fleet web page (`GET /`), server-rendered with maud: every
//! interpolated value is HTML-escaped by the template engine, so nothing a
//! device reports (site names, rule ids, package names, advisory text) can
//! reach the page as markup. No scripts.

use crate::fleet;
use crate::store::Store;
use serde_json::Value;

pub(crate) const FLEET_CSS: &str = "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}.fail{color:#b00}";

/// The fleet page at time `t`: summary, SL ceilings, devices with their
/// failing rules and open vulnerabilities, vulnerabilities with their devices.
pub fn fleet(store: &dyn Store, t: i64, silent_after: i64) -> Result<maud::Markup, String> {
    use maud::{display, html};
    use std::collections::{BTreeMap, HashMap};
    let devs = fleet::devices(store, t)?;
    let finds = fleet::findings(store, None)?;
    let f = fleet::fleet(store, t, silent_after)?;
    let vulns: Vec<crate::vuln::Match> = crate::vuln::matches(store)?
        .into_iter()
        .filter(|m| m.is_open())
        .collect();
    let mut vulns_by_device: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
    let mut devices_by_vuln: BTreeMap<&str, (&crate::vuln::Match, Vec<i64>)> = BTreeMap::new();
    for m in &vulns {
        vulns_by_device
            .entry(m.device_id)
            .or_default()
            .push(m.vuln.as_str());
        devices_by_vuln
            .entry(m.vuln.as_str())
            .or_insert((m, Vec::new()))
            .1
            .push(m.device_id);
    }
    // Failing rules grouped by device once, not searched per row.
    let mut by_device: HashMap<i64, Vec<&str>> = HashMap::new();
    for x in finds.as_array().into_iter().flatten() {
        if let (Some(dev), Some(rule)) = (x["device"].as_i64(), x["rule"].as_str()) {
            by_device.entry(dev).or_default().push(rule);
        }
    }
    let count = |k: &str| f[k].as_array().map(Vec::len).unwrap_or(0);
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    let body = html! {
        h1 { "fieldattest fleet" }
        p id="summary" {
            (display(&f["devices"])) " devices; shared keys: " (count("shared_keys"))
            "; drifting: " (count("drift")) "; silent: " (count("silent"))
        }
        h2 { "SL ceilings" }
        table {
            tr { th { "FR" } th { "fleet minimum" } }
            @for (fr, v) in f["sl_ceiling"].as_object().into_iter().flatten() {
                tr { td { (fr) } td { (display(&v["min"])) } }
            }
        }
        h2 { "Devices" }
        table id="devices" {
            tr {
                th { "id" } th { "site" } th { "status" } th { "kid" }
                th { "last attestation" } th { "failing rules" } th { "open vulnerabilities" }
            }
            @for d in devs.as_array().into_iter().flatten() {
                @let id = d["id"].as_i64().unwrap_or(0);
                tr class="device" {
                    td { a href={ "/report/" (id) } { (id) } }
                    td { (text(&d["site"])) }
                    td { (text(&d["status"])) }
                    td { (text(&d["kid"]).chars().take(16).collect::<String>()) }
                    td {
                        @match d["age_s"].as_i64() {
                            Some(a) => { (a) " s ago" }
                            None => { "never" }
                        }
                    }
                    td class="fail" { (by_device.get(&id).map(|v| v.join(", ")).unwrap_or_default()) }
                    td class="fail" { (vulns_by_device.get(&id).map(|v| v.join(", ")).unwrap_or_default()) }
                }
            }
        }
        h2 { "Vulnerabilities" }
        table id="vulnerabilities" {
            tr {
                th { "vulnerability" } th { "aliases" } th { "package" } th { "fixed in" }
                th { "severity" } th { "affected devices" }
            }
            @for (id, (m, devs)) in &devices_by_vuln {
                tr class="vuln" {
                    td { (id) }
                    td { (m.aliases.join(" ")) }
                    td { (m.package) }
                    td { (m.fixed.as_deref().unwrap_or("-")) }
                    td { (m.severity.as_ref().map(|(_, s)| s.as_str()).unwrap_or("-")) }
                    td { (devs.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")) }
                }
            }
        }
    };
    Ok(document("fieldattest fleet", FLEET_CSS, body))
}

/// An HTML document: doctype, UTF-8, title, inline style, then `body`.
pub fn document(title: &str, css: &str, body: maud::Markup) -> maud::Markup {
    use maud::{html, PreEscaped, DOCTYPE};
    html! {
        (DOCTYPE)
        html {
            head {
                meta charset="utf-8";
                title { (title) }
                style { (PreEscaped(css)) }
            }
            body { (body) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    #[test]
    fn hostile_device_strings_are_escaped() {
        let s = SqliteStore::memory().unwrap();
        let id = s
            .insert_device(b"kid", b"ueid", b"pk", "<script>alert(\"x\")</script>&", 1)
            .unwrap();
        s.set_status(id, "active").unwrap();
        let page = fleet(&s, 10, 3600).unwrap().into_string();
        assert!(!page.contains("<script>"), "{page}");
        assert!(
            page.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;"),
            "{page}"
        );
        assert_eq!(page.matches("class=\"device\"").count(), 1, "{page}");
        assert!(
            page.contains(&format!("<a href=\"/report/{id}\">{id}</a>")),
            "{page}"
        );
    }
}
