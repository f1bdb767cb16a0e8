//! `GET /`: the overview a plant security engineer opens every morning —
//! the fleet in numbers, what changed since yesterday, posture over the
//! last 30 days (failing findings and open vulnerabilities by severity,
//! recorded daily by `posture.rs`), the SL-ceiling distribution per FR
//! against the target, devices per site, and the top risks.

use super::devices::urlenc;
use super::{badge, page, thousands, Params, Viewer};
use crate::chart::{self, Series};
use crate::posture::{self, day};
use crate::store::Store;
use crate::vuln::{FleetCache, FleetFilter};
use fieldattest_protocol::catalog::Lookup;
use maud::{html, Markup};
use std::collections::BTreeMap;

/// Days of history charted.
pub const DAYS: i64 = 30;

/// Rows of each "top" and "what changed" list.
const TOP: usize = 10;

/// Severities in chart order (most severe at the bottom of a column).
const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];
const BANDS: [&str; 5] = ["critical", "high", "medium", "low", "unknown"];

/// A series per severity of the metrics `prefix:SEV` over `days`, today's
/// value from `today`.
fn series(
    rows: &std::collections::HashMap<(i64, &str), u64>,
    today: &BTreeMap<String, u64>,
    prefix: &str,
    names: &[&str],
    days: &[i64],
) -> Vec<Series> {
    let last = days.last().copied();
    names
        .iter()
        .map(|s| {
            let key = format!("{prefix}:{s}");
            let values = days
                .iter()
                .map(|d| {
                    if Some(*d) == last {
                        return today.get(&key).copied().unwrap_or(0);
                    }
                    rows.get(&(*d, key.as_str())).copied().unwrap_or(0)
                })
                .collect();
            Series {
                name: s.to_string(),
                class: match *s {
                    "critical" => "critical",
                    "high" => "high",
                    "medium" => "medium",
                    "low" => "low",
                    _ => "info",
                },
                values,
            }
        })
        .collect()
}

/// (metric suffix, today, yesterday) for metrics `prefix:X` that grew since yesterday.
fn grown(
    today: &BTreeMap<String, u64>,
    yesterday: &BTreeMap<String, u64>,
    prefix: &str,
) -> Vec<(String, u64, u64)> {
    let mut v: Vec<(String, u64, u64)> = today
        .iter()
        .filter_map(|(k, n)| {
            let name = k.strip_prefix(prefix)?;
            let before = yesterday.get(k).copied().unwrap_or(0);
            (*n > before).then(|| (name.to_string(), *n, before))
        })
        .collect();
    v.sort_by(|a, b| (b.1 - b.2).cmp(&(a.1 - a.2)).then(a.0.cmp(&b.0)));
    v
}

/// The overview page at `now`; the fleet's open advisories from `fleet`'s
/// kept view.
pub fn overview(
    store: &dyn Store,
    fleet: &FleetCache,
    p: &Params,
    now: i64,
    silent_after: i64,
    feed_max_age: i64,
    v: &Viewer,
) -> Result<Markup, String> {
    let target = p.number("target").unwrap_or(2).clamp(1, 4) as u8;
    let view = fleet.view(store, &FleetFilter::default(), now)?;
    let vulns = view.rows.as_slice();
    let today = posture::metrics_with(store, now, silent_after, vulns, false)?;
    let d0 = day(now);
    // The charted series only (a day holds one `vuln:ID` per advisory).
    let mut history = store.posture(d0 - DAYS + 1, "sev:")?;
    history.extend(store.posture(d0 - DAYS + 1, "vsev:")?);
    let by_day: std::collections::HashMap<(i64, &str), u64> = history
        .iter()
        .map(|(d, k, n)| ((*d, k.as_str()), *n))
        .collect();
    let mut yesterday: BTreeMap<String, u64> =
        store.posture_day(d0 - 1, "rule:")?.into_iter().collect();
    yesterday.extend(store.posture_day(d0 - 1, "devices")?);
    // Advisories open on more devices than yesterday's record.
    let before = fleet.recorded(store, d0 - 1)?;
    let mut new_vulns: Vec<(String, u64, u64)> = vulns
        .iter()
        .filter_map(|x| {
            let b = before.get(&x.vuln).copied().unwrap_or(0);
            (x.devices > b).then(|| (x.vuln.clone(), x.devices, b))
        })
        .collect();
    new_vulns.sort_by(|a, b| (b.1 - b.2).cmp(&(a.1 - a.2)).then(a.0.cmp(&b.0)));
    let days: Vec<i64> = (d0 - DAYS + 1..=d0).collect();
    let labels: Vec<String> = days
        .iter()
        .map(|d| {
            crate::rfc3339(d * 86_400)
                .get(5..10)
                .unwrap_or("")
                .to_string()
        })
        .collect();
    let m = |k: &str| today.get(k).copied().unwrap_or(0);
    let [silenced, drifting, keys, rotations] = store.changes(now - 86_400, now, silent_after)?;
    let new_rules = grown(&today, &yesterday, "rule:");
    let catalogs = crate::ceiling::held_catalogs(store).map_err(|r| r.reason)?;
    // Per FR: devices at SL 0..4 (computed ceilings of the latest attestations).
    let mut dist: BTreeMap<String, [u64; 5]> = BTreeMap::new();
    for (k, n) in today.iter() {
        let Some(rest) = k.strip_prefix("ceil:") else {
            continue;
        };
        let Some((fr, sl)) = rest.split_once(':') else {
            continue;
        };
        let sl: usize = sl.parse().unwrap_or(0).min(4);
        dist.entry(fr.to_string()).or_default()[sl] += n;
    }
    let dist: Vec<(String, [u64; 5])> = dist.into_iter().collect();
    let mut sites: BTreeMap<String, u64> = BTreeMap::new();
    for (s, _, n) in store.sites()? {
        *sites.entry(s).or_default() += n;
    }
    let mut sites: Vec<(String, u64)> = sites.into_iter().collect();
    sites.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let sev_rank = |r: &str| match catalogs.lookup(None, r) {
        Lookup::Exact(m) | Lookup::OtherVersion { meta: m, .. } => (
            m.severity as u8,
            posture::severity_name(m.severity),
            m.title.clone(),
        ),
        Lookup::Unknown => (0, "unknown", String::new()),
    };
    let mut rules: Vec<(String, u64, u8, &str, String)> = today
        .iter()
        .filter_map(|(k, n)| {
            let r = k.strip_prefix("rule:")?;
            let (rank, sev, title) = sev_rank(r);
            Some((r.to_string(), *n, rank, sev, title))
        })
        .filter(|x| x.1 > 0)
        .collect();
    rules.sort_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0)));
    let card = |n: u64, label: &str, href: &str, warn: bool| {
        html! {
            div class={ "card" @if warn && n > 0 { " warn" } } {
                a href=(href) { div class="n" { (thousands(n)) } div class="l" { (label) } }
            }
        }
    };
    let coverage = store.coverage(None)?;
    let feeds = super::feeds_notice(store, now, feed_max_age)?;
    let body = html! {
        h1 { "Fleet overview" }
        (feeds)
        div class="cards" id="summary" {
            (card(m("devices"), "devices", "/devices", false))
            (card(m("status:active"), "active", "/devices?status=active", false))
            (card(m("status:pending"), "pending approval", "/devices?status=pending", true))
            (card(m("status:revoked"), "revoked", "/devices?status=revoked", false))
            (card(m("silent"), "silent", "/devices?silent=1", true))
            (card(m("drifting"), "drifting", "/devices?drifting=1", true))
            (card(SEVERITIES.iter().map(|s| m(&format!("sev:{s}"))).sum(), "failing findings", "/findings", true))
            (card(BANDS.iter().map(|s| m(&format!("vsev:{s}"))).sum(), "open vulnerabilities (device × advisory)", "/vulnerabilities", true))
        }
        (super::coverage(&coverage, BANDS.iter().map(|s| m(&format!("vsev:{s}"))).sum(), "vuln-coverage"))
        div class="grid2" {
            section class="panel" id="changes" aria-labelledby="changes-h" {
                h2 id="changes-h" { "What changed since yesterday" }
                @if yesterday.is_empty() { p class="muted small" { "No posture recorded for yesterday: rule and vulnerability changes are counted from zero." } }
                ul {
                    li { a href="/devices?silent=1&sort=seen" { (thousands(silenced)) " devices went silent" } }
                    li { a href="/devices?drifting=1&sort=seen&dir=desc" { (thousands(drifting)) " drifting devices attested" } " (packages or results changed)" }
                    li { (thousands(keys)) " devices changed a host or TLS key; " (thousands(rotations)) " attestation keys rotated" }
                }
                h3 { "Rules failing on more devices" }
                @if new_rules.is_empty() { p class="muted" { "none" } }
                table { tbody {
                    @for (r, n, before) in new_rules.iter().take(TOP) {
                        tr { td { a href={ "/devices?rule=" (urlenc(r)) } { code { (r) } } } td class="num up" { "+" (n - before) } td class="num muted" { (before) " → " (n) } }
                    }
                } }
                h3 { "Vulnerabilities open on more devices" }
                @if new_vulns.is_empty() { p class="muted" { "none" } }
                table { tbody {
                    @for (id, n, before) in new_vulns.iter().take(TOP) {
                        tr { td { a href={ "/devices?vuln=" (urlenc(id)) } { (id) } } td class="num up" { "+" (n - before) } td class="num muted" { (before) " → " (n) } }
                    }
                } }
            }
            section class="panel" aria-label="Posture" {
                (chart::stacked_columns("sev", "Failing findings by rule severity, per day", &labels, &series(&by_day, &today, "sev", &SEVERITIES, &days), 640, 230))
                (chart::stacked_columns("vsev", "Open vulnerabilities by CVSS severity, per day", &labels, &series(&by_day, &today, "vsev", &BANDS, &days), 640, 230))
            }
            section class="panel" aria-label="Security levels" {
                (chart::distribution("ceil", &format!("SL ceiling per FR against target SL {target}"), &dist, target, 640))
                p class="small muted" { "Target: "
                    @for t in 1..=4u8 {
                        @if t == target { b { "SL " (t) } } @else { a href={ "/?target=" (t) } { "SL " (t) } } " "
                    }
                }
            }
            section class="panel" aria-label="Sites" {
                (chart::hbars("sites", "Devices per site", &sites, 640))
            }
        }
        h2 { "Top risks" }
        div class="grid2" {
            section class="panel" id="top-vulns" {
                h3 { "Vulnerabilities (by risk: KEV, reachable, EPSS, CVSS)" }
                (super::view_age(&view, now))
                table {
                    thead { tr { th { "advisory" } th { "severity" } th { "component" } th class="num" { "devices" } } }
                    tbody {
                        @for x in vulns.iter().take(TOP) {
                            tr {
                                td { a href={ "/devices?vuln=" (urlenc(&x.vuln)) } { (x.vuln) } }
                                td { (badge(crate::vuln::band(x.score))) @if let Some(s) = x.score { " " (format!("{s:.1}")) } }
                                td { (x.components.join(", ")) }
                                td class="num" { (thousands(x.devices)) }
                            }
                        }
                    }
                }
                @if vulns.is_empty() { p class="muted" { "No open vulnerability (advisories held: see Vulnerabilities)." } }
            }
            section class="panel" id="top-rules" {
                h3 { "Failing rules (by severity, then devices)" }
                table {
                    thead { tr { th { "rule" } th { "severity" } th class="num" { "devices" } } }
                    tbody {
                        @for (r, n, _, sev, title) in rules.iter().take(TOP) {
                            tr {
                                td { a href={ "/devices?rule=" (urlenc(r)) } { code { (r) } } br; span class="small muted" { (title) } }
                                td { (badge(sev)) }
                                td class="num" { (thousands(*n)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page("Overview", "/", v, body))
}
