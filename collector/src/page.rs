//! The operator console's pages (fleet page `GET /`, device page, sign-in,
//! messages), server-rendered with maud: every interpolated value is
//! HTML-escaped by the template engine, so nothing a device reports (site
//! names, rule ids, package names, advisory text) can reach the page as
//! markup. No scripts: every action is a plain form POST carrying the
//! session's CSRF token.

use crate::fleet;
use crate::store::Store;
use serde_json::Value;

pub(crate) const FLEET_CSS: &str = "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}.fail{color:#b00}";

/// The fleet page at time `t`: summary, SL ceilings, devices with their
/// failing rules and open vulnerabilities, vulnerabilities with their devices.
pub fn fleet(store: &dyn Store, t: i64, silent_after: i64) -> Result<maud::Markup, String> {
    Ok(document(
        "fieldattest fleet",
        FLEET_CSS,
        fleet_body(store, t, silent_after)?,
    ))
}

fn fleet_body(store: &dyn Store, t: i64, silent_after: i64) -> Result<maud::Markup, String> {
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
    Ok(body)
}

/// Who looks at a console page.
pub struct Viewer {
    /// `operator NAME`.
    pub who: String,
    pub role: &'static str,
    /// Role operator or above: the action forms are shown.
    pub may_act: bool,
    /// The session's CSRF token, put in every form.
    pub csrf: String,
}

/// The header of every console page: who is signed in, the sign-out form.
fn nav(v: &Viewer) -> maud::Markup {
    maud::html! {
        form method="post" action="/logout" id="nav" {
            a href="/" { "fleet" } " · signed in as " span id="who" { (v.who) } " (" (v.role) ") "
            input type="hidden" name="csrf" value=(v.csrf);
            button type="submit" { "sign out" }
        }
    }
}

/// The console's fleet page: the fleet page, and for role operator the
/// pending devices to review, the enrollment-secret and VEX forms.
pub fn console(
    store: &dyn Store,
    t: i64,
    silent_after: i64,
    v: &Viewer,
) -> Result<maud::Markup, String> {
    use maud::html;
    let fleet = fleet_body(store, t, silent_after)?;
    let pending: Vec<_> = if v.may_act {
        store
            .devices()?
            .into_iter()
            .filter(|d| d.status == "pending")
            .collect()
    } else {
        Vec::new()
    };
    let body = html! {
        (nav(v))
        @if v.may_act {
            h2 { "Pending devices" }
            @if pending.is_empty() { p { "none" } }
            ul id="pending" {
                @for d in &pending {
                    li { a href={ "/devices/" (d.id) } { "device " (d.id) } " (site " (d.site) ") — review and approve" }
                }
            }
            h2 { "Enrollment secret" }
            form method="post" action="/enrollment-secrets" id="enroll" {
                input type="hidden" name="csrf" value=(v.csrf);
                label { "site " input name="site" required; }
                label { " valid for " input name="ttl" value="1h"; }
                button type="submit" { "create" }
            }
            h2 { "VEX statement" }
            form method="post" action="/vex" id="vex" {
                input type="hidden" name="csrf" value=(v.csrf);
                label { "vulnerability " input name="vuln" required; }
                label { " device id (empty: fleet) " input name="device"; }
                label { " status " select name="status" {
                    @for s in ["not_affected", "affected", "fixed", "under_investigation"] { option { (s) } }
                } }
                label { " justification " select name="justification" {
                    option value="" { "-" }
                    @for j in crate::vuln::JUSTIFICATIONS { option { (j) } }
                } }
                label { " detail " input name="detail"; }
                button type="submit" { "record" }
            }
        }
        (fleet)
    };
    Ok(document("fieldattest fleet", FLEET_CSS, body))
}

/// A device's page: its full key id (kid) to compare with what the device
/// printed at enrollment, and (role operator) approve / revoke forms, each
/// with a confirmation.
pub fn device(d: &crate::store::Device, v: &Viewer) -> maud::Markup {
    use maud::html;
    let kid = crate::hex(&d.kid);
    let body = html! {
        (nav(v))
        h1 { "device " (d.id) }
        table id="device" {
            tr { th { "site" } td { (d.site) } }
            tr { th { "status" } td id="status" { (d.status) } }
            tr { th { "key id (kid)" } td { code id="kid" { (kid) } } }
            tr { th { "UEID" } td { code { (crate::hex(&d.ueid)) } } }
            tr { th { "report" } td { a href={ "/report/" (d.id) } { "evidence report" } } }
        }
        @if v.may_act && d.status == "pending" {
            h2 { "Approve" }
            p { "Compare this key id with the one the device printed (" code { "fieldattest enroll" } " or " code { "fieldattest identity" } " on the device). Approve only if they are equal." }
            form method="post" action={ "/devices/" (d.id) "/approve" } id="approve" {
                input type="hidden" name="csrf" value=(v.csrf);
                input type="hidden" name="kid" value=(kid);
                label { input type="checkbox" name="confirm" value="yes" required; " the device printed key id " code { (kid) } }
                " "
                button type="submit" { "approve" }
            }
        }
        @if v.may_act && d.status != "revoked" {
            h2 { "Revoke" }
            form method="post" action={ "/devices/" (d.id) "/revoke" } id="revoke" {
                input type="hidden" name="csrf" value=(v.csrf);
                input type="hidden" name="kid" value=(kid);
                label { input type="checkbox" name="confirm" value="yes" required; " revoke this device (its tokens are refused from then on)" }
                " "
                button type="submit" { "revoke" }
            }
        }
    };
    document(&format!("device {}", d.id), FLEET_CSS, body)
}

/// The answer to an enrollment-secret request: the secret, shown once.
pub fn secret(site: &str, ttl: i64, secret: &str, v: &Viewer) -> maud::Markup {
    use maud::html;
    let body = html! {
        (nav(v))
        h1 { "Enrollment secret" }
        p { "Single-use secret for site " b { (site) } ", valid " (ttl) " s. It is shown only now; only its SHA-256 is stored." }
        pre id="secret" { (secret) }
    };
    document("enrollment secret", FLEET_CSS, body)
}

/// The sign-in page, with an error when a sign-in failed.
pub fn login(error: Option<&str>) -> maud::Markup {
    use maud::html;
    let body = html! {
        h1 { "fieldattest collector — sign in" }
        @if let Some(e) = error { p class="fail" id="error" { (e) } }
        form method="post" action="/login" id="login" {
            p { label { "account " input name="name" autocomplete="username" required; } }
            p { label { "password " input type="password" name="password" autocomplete="current-password" required; } }
            button type="submit" { "sign in" }
        }
    };
    document("sign in", FLEET_CSS, body)
}

/// A short message page (a refusal), with a sign-in link when `sign_in`.
pub fn message(text: &str, sign_in: bool) -> maud::Markup {
    use maud::html;
    let body = html! {
        p class="fail" id="error" { (text) }
        @if sign_in { p { a href="/login" { "sign in" } } } @else { p { a href="/" { "back to the fleet" } } }
    };
    document("fieldattest", FLEET_CSS, body)
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
