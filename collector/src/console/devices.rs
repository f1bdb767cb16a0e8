//! `GET /devices`: the device list — paged in the database, sortable by
//! every column, filtered by site, status, rule, vulnerability, package,
//! silence, drift and key tier, searched by hostname, kid, UEID, device id
//! or package — and its CSV / JSON export (`/devices.csv`,
//! `/devices.json`) of the same filter.

use super::{ago, badge, page, pager, thousands, Params, Viewer};
use crate::store::{DeviceQuery, DeviceRow, Sort, Store};
use maud::{html, Markup};
use serde_json::{json, Value};

/// Rows per page unless `per` says otherwise (at most [`MAX_PER`]).
pub const PER_PAGE: u64 = 50;
pub const MAX_PER: u64 = 200;
/// Rows one export holds at most.
pub const MAX_EXPORT: u64 = 200_000;

/// The filters of a device list URL as a store query (paging aside).
pub fn query(p: &Params, now: i64, silent_after: i64) -> DeviceQuery {
    let flag = |k: &str| matches!(p.get(k), Some("1" | "yes" | "on" | "true"));
    DeviceQuery {
        site: p.get("site").map(str::to_string),
        status: p
            .get("status")
            .filter(|s| matches!(*s, "pending" | "active" | "revoked"))
            .map(str::to_string),
        rule: p.get("rule").map(str::to_string),
        vuln: p.get("vuln").map(str::to_string),
        package: p.get("package").map(str::to_string),
        silent_before: flag("silent").then_some(now - silent_after),
        drifting: flag("drifting"),
        key_tier: p.get("tier").map(str::to_string),
        search: p.get("q").map(str::to_string),
        sort: p.get("sort").and_then(Sort::parse).unwrap_or_default(),
        descending: p.get("dir") == Some("desc"),
        offset: 0,
        limit: PER_PAGE,
    }
}

/// A short description of the active filters ("site hamburg, failing ssh.root-login").
pub fn describe(q: &DeviceQuery) -> String {
    let mut parts = Vec::new();
    let mut add = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            parts.push(format!("{k} {v}"));
        }
    };
    add("site", &q.site);
    add("status", &q.status);
    add("failing rule", &q.rule);
    add("open vulnerability", &q.vuln);
    add("package", &q.package);
    add("key tier", &q.key_tier);
    add("search", &q.search);
    if q.silent_before.is_some() {
        parts.push("silent".into());
    }
    if q.drifting {
        parts.push("drifting".into());
    }
    parts.join(", ")
}

/// Status to show: `silent` for an active device that stopped attesting.
fn shown_status(d: &DeviceRow, now: i64, silent_after: i64) -> &str {
    if d.status == "active" && d.last_seen.is_none_or(|t| t < now - silent_after) {
        "silent"
    } else {
        &d.status
    }
}

/// The device list page.
pub fn list(
    store: &dyn Store,
    p: &Params,
    now: i64,
    silent_after: i64,
    v: &Viewer,
) -> Result<Markup, String> {
    let mut q = query(p, now, silent_after);
    q.limit = p.number("per").unwrap_or(PER_PAGE).clamp(1, MAX_PER);
    let pageno = p.number("page").unwrap_or(1).max(1);
    q.offset = (pageno - 1).saturating_mul(q.limit);
    let (rows, total) = store.device_list(&q)?;
    let pages = total.div_ceil(q.limit).max(1);
    let sites: std::collections::BTreeSet<String> =
        store.sites()?.into_iter().map(|(s, _, _)| s).collect();
    let desc = describe(&q);
    let sort_link = |s: Sort| {
        let dir = if q.sort == s && !q.descending {
            "desc"
        } else {
            "asc"
        };
        let p2 = Params::parse(Some(p.with("sort", Some(s.name())).trim_start_matches('?')));
        p2.with("dir", Some(dir))
    };
    let arrow = |s: Sort| match (q.sort == s, q.descending) {
        (true, false) => " ▲",
        (true, true) => " ▼",
        _ => "",
    };
    let th = |s: Sort, label: &str, num: bool| {
        let sorted = match (q.sort == s, q.descending) {
            (true, false) => "ascending",
            (true, true) => "descending",
            _ => "none",
        };
        html! {
            th class=[num.then_some("num")] aria-sort=(sorted) {
                a href={ "/devices" (sort_link(s)) } { (label) (arrow(s)) }
            }
        }
    };
    let body = html! {
        h1 { "Devices" }
        form class="filters" method="get" action="/devices" role="search" {
            label { "Search" input name="q" value=[p.get("q")] placeholder="hostname, kid, UEID, package, #id" size="28"; }
            label { "Site" select name="site" {
                option value="" { "any" }
                @for s in sites.iter().take(2000) { option selected[q.site.as_deref() == Some(s.as_str())] { (s) } }
            } }
            label { "Status" select name="status" {
                option value="" { "any" }
                @for s in ["active", "pending", "revoked"] { option selected[q.status.as_deref() == Some(s)] { (s) } }
            } }
            label { "Failing rule" input name="rule" value=[p.get("rule")] size="18"; }
            label { "Vulnerability" input name="vuln" value=[p.get("vuln")] size="14"; }
            label { "Package" input name="package" value=[p.get("package")] placeholder="name or name@version" size="16"; }
            label { "Key tier" select name="tier" {
                option value="" { "any" }
                @for s in ["software", "tpm", "pkcs11"] { option selected[q.key_tier.as_deref() == Some(s)] { (s) } }
            } }
            label { "Silent" input type="checkbox" name="silent" value="1" checked[q.silent_before.is_some()]; }
            label { "Drifting" input type="checkbox" name="drifting" value="1" checked[q.drifting]; }
            @if let Some(s) = p.get("sort") { input type="hidden" name="sort" value=(s); }
            @if let Some(d) = p.get("dir") { input type="hidden" name="dir" value=(d); }
            button type="submit" { "Apply" }
            a class="button secondary" href="/devices" { "Clear" }
        }
        p id="count" {
            b { (thousands(total)) } " devices"
            @if !desc.is_empty() { " matching " (desc) }
            " · page " (pageno) " of " (thousands(pages))
            " · export "
            a href={ "/devices.csv" (p.with("page", None)) } { "CSV" } " "
            a href={ "/devices.json" (p.with("page", None)) } { "JSON" }
        }
        div class="wrap" {
            table id="devices" {
                caption class="skip" { "Devices" }
                thead { tr {
                    (th(Sort::Id, "id", true))
                    (th(Sort::Hostname, "hostname", false))
                    (th(Sort::Site, "site", false))
                    (th(Sort::Status, "status", false))
                    (th(Sort::LastSeen, "last attestation", false))
                    (th(Sort::Ceiling, "SL ceiling (min)", true))
                    (th(Sort::Failing, "failing rules", true))
                    (th(Sort::Vulns, "open vulnerabilities", true))
                    th { "key tier" }
                    th { "kid" }
                } }
                tbody {
                    @for d in &rows {
                        tr class="device" {
                            td class="num" { a href={ "/devices/" (d.id) } { (d.id) } }
                            td { a href={ "/devices/" (d.id) } { (d.hostname.as_deref().unwrap_or("—")) } }
                            td { a href={ "/devices?site=" (urlenc(&d.site)) } { (d.site) } }
                            td { (badge(shown_status(d, now, silent_after))) @if d.drifting { " " span class="badge" title="packages or results changed in the latest attestation" { "drift" } } }
                            td title=[d.last_seen.map(super::when)] { (ago(now, d.last_seen)) }
                            td class="num" { @match d.ceiling_min { Some(c) => { "SL " (c) }, None => { "—" } } }
                            td class="num" { @if d.failing > 0 { span class="fail" { (d.failing) } } @else { "0" } }
                            td class="num" { @if d.vulns_open > 0 { span class="fail" { (d.vulns_open) } } @else { "0" } }
                            td { (d.key_tier.as_deref().unwrap_or("—")) }
                            td { code { (crate::hex(&d.kid).chars().take(16).collect::<String>()) "…" } }
                        }
                    }
                }
            }
        }
        @if rows.is_empty() { p class="notice" { "No device matches." } }
        (pager("/devices", p, pageno, pages))
    };
    Ok(page("Devices", "/devices", v, body))
}

/// Percent-encodes a query value.
pub fn urlenc(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|x| x.trim_start_matches('=').to_string())
        .unwrap_or_default()
}

/// A device as an export row.
fn row_json(d: &DeviceRow, now: i64, silent_after: i64) -> Value {
    json!({
        "id": d.id, "hostname": d.hostname, "site": d.site, "status": d.status,
        "silent": shown_status(d, now, silent_after) == "silent",
        "last_seen": d.last_seen.map(crate::rfc3339), "sl_ceiling_min": d.ceiling_min,
        "failing_rules": d.failing, "open_vulnerabilities": d.vulns_open, "drifting": d.drifting,
        "key_tier": d.key_tier, "kid": crate::hex(&d.kid), "ueid": crate::hex(&d.ueid),
    })
}

/// Every device the filter matches (up to [`MAX_EXPORT`]), sorted as the list.
pub fn export(store: &dyn Store, p: &Params, now: i64, silent_after: i64) -> Result<Value, String> {
    let mut q = query(p, now, silent_after);
    q.limit = 500;
    let mut out = Vec::new();
    loop {
        let (rows, _) = store.device_list(&q)?;
        let n = rows.len() as u64;
        out.extend(rows.iter().map(|d| row_json(d, now, silent_after)));
        if n < q.limit || out.len() as u64 >= MAX_EXPORT {
            break;
        }
        q.offset += n;
    }
    out.truncate(MAX_EXPORT as usize);
    Ok(Value::Array(out))
}
