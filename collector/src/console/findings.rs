//! `GET /findings` and `GET /vulnerabilities`: what fails across the fleet.
//! Findings: one row per failing rule (devices failing it from the
//! maintained `agg_failing` counts, metadata from the held catalogs, a rule
//! no catalog knows listed as unknown), with totals per FR. Vulnerabilities:
//! one row per advisory from the package sets' matches (`vuln::fleet_open`:
//! a source package with two binary packages is one row, each device
//! counted once), with the advisory database's state and, for operators, a
//! VEX form per row. Both: filters and sort in the URL, server-side paging,
//! a 30-day trend per row from the daily posture (`rule:ID`, `vuln:ID`),
//! a link to the devices concerned. No page reads per device.

use super::devices::urlenc;
use super::{badge, cut, page, thousands, Params, Viewer};
use crate::chart::sparkline;
use crate::posture::{day, severity_name};
use crate::store::Store;
use crate::vuln::{band, FleetCache, FleetFilter, FleetVuln, JUSTIFICATIONS};
use fieldattest_protocol::catalog::{Lookup, RuleMeta};
use maud::{html, Markup};
use std::collections::{BTreeMap, HashMap};

#[cfg(test)]
mod tests;

/// Days of history per trend line.
pub const DAYS: i64 = 30;
/// Rules per page of `/findings` (a catalog holds about 70; devices can
/// report any id, so the page is bounded anyway).
pub const RULES_PER_PAGE: usize = 100;
/// Advisories per page of `/vulnerabilities`.
pub const VULNS_PER_PAGE: usize = 50;
/// Items of a list cell (aliases, packages) shown before "+N more".
const LIST_MAX: usize = 8;

const SEVERITIES: [&str; 6] = ["critical", "high", "medium", "low", "info", "unknown"];
const BANDS: [&str; 5] = ["critical", "high", "medium", "low", "unknown"];
const FRS: [&str; 8] = ["FR1", "FR2", "FR3", "FR4", "FR5", "FR6", "FR7", "unknown"];

/// `base` with the query of `p` changed by `set` (`None`: removed).
fn href(base: &str, p: &Params, set: &[(&str, Option<&str>)]) -> String {
    let mut pairs: Vec<(&str, &str)> = p
        .pairs()
        .iter()
        .filter(|(k, v)| !v.trim().is_empty() && !set.iter().any(|(s, _)| s == k))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.extend(set.iter().filter_map(|(k, v)| Some((*k, (*v)?))));
    match serde_urlencoded::to_string(&pairs).unwrap_or_default() {
        q if q.is_empty() => base.to_string(),
        q => format!("{base}?{q}"),
    }
}

/// The sort of a list page: a key of `keys` (key, descending by default),
/// the first unless `sort` names another; `dir` overrides the direction.
struct Sorting<'a> {
    base: &'static str,
    p: &'a Params,
    key: &'static str,
    desc: bool,
    keys: &'static [(&'static str, bool)],
}

impl<'a> Sorting<'a> {
    fn new(base: &'static str, p: &'a Params, keys: &'static [(&'static str, bool)]) -> Self {
        let (key, default) = keys
            .iter()
            .find(|(k, _)| p.get("sort") == Some(*k))
            .or(keys.first())
            .copied()
            .unwrap_or(("", true));
        let desc = match p.get("dir") {
            Some("asc") => false,
            Some("desc") => true,
            _ => default,
        };
        Sorting {
            base,
            p,
            key,
            desc,
            keys,
        }
    }

    /// A column header sorting by `key`: aria-sort, arrow, and a link that
    /// flips the direction of the current sort (page 1).
    fn th(&self, key: &str, label: &str, num: bool) -> Markup {
        let cur = self.key == key;
        let default = self
            .keys
            .iter()
            .find(|(k, _)| *k == key)
            .is_none_or(|k| k.1);
        let next = if cur { !self.desc } else { default };
        let link = href(
            self.base,
            self.p,
            &[
                ("sort", Some(key)),
                ("dir", Some(if next { "desc" } else { "asc" })),
                ("page", None),
            ],
        );
        let (aria, arrow) = match (cur, self.desc) {
            (false, _) => ("none", ""),
            (true, false) => ("ascending", " ▲"),
            (true, true) => ("descending", " ▼"),
        };
        html! { th class=[num.then_some("num")] aria-sort=(aria) { a href=(link) { (label) (arrow) } } }
    }

    /// The end of the filter form: the sort kept, Apply, Clear.
    fn form_end(&self) -> Markup {
        html! {
            @if let Some(x) = self.p.get("sort") { input type="hidden" name="sort" value=(x); }
            @if let Some(x) = self.p.get("dir") { input type="hidden" name="dir" value=(x); }
            button type="submit" { "Apply" }
            a class="button secondary" href=(self.base) { "Clear" }
        }
    }
}

/// A filter's select: "any" or one of `options`.
fn choice(label: &str, name: &str, options: &[&str], cur: Option<&str>) -> Markup {
    html! {
        label { (label) select name=(name) {
            option value="" { "any" }
            @for o in options { option selected[cur == Some(*o)] { (o) } }
        } }
    }
}

/// The rows of page `?page=` (1-based, clamped) of `rows`: (rows, page, pages).
fn paged<'a, T>(rows: &'a [T], p: &Params, per: usize) -> (&'a [T], usize, usize) {
    let pages = rows.len().div_ceil(per).max(1);
    let cur = (p.number("page").unwrap_or(1).max(1) as usize).min(pages);
    let start = (cur - 1) * per;
    (
        &rows[start.min(rows.len())..(start + per).min(rows.len())],
        cur,
        pages,
    )
}

/// Per metric `prefix` + NAME: its values over the last [`DAYS`] days to
/// `now`'s day (0 where none was recorded).
fn trends(store: &dyn Store, now: i64, prefix: &str) -> Result<HashMap<String, Vec<u64>>, String> {
    let from = day(now) - DAYS + 1;
    Ok(by_name(from, prefix, store.posture(from, prefix)?))
}

/// [`trends`] of the metrics `names` only (point lookups: a day holds one
/// `vuln:ID` per open advisory, and a page shows a few).
fn trends_of(
    store: &dyn Store,
    now: i64,
    prefix: &str,
    names: &[String],
) -> Result<HashMap<String, Vec<u64>>, String> {
    let from = day(now) - DAYS + 1;
    Ok(by_name(
        from,
        prefix,
        store.posture_of(from, day(now), names)?,
    ))
}

/// Posture rows from day `from` as one line per name (`prefix` removed).
fn by_name(from: i64, prefix: &str, rows: Vec<(i64, String, u64)>) -> HashMap<String, Vec<u64>> {
    let mut m: HashMap<String, Vec<u64>> = HashMap::new();
    for (d, k, n) in rows {
        let (Some(name), Ok(i)) = (k.strip_prefix(prefix), usize::try_from(d - from)) else {
            continue;
        };
        if i < DAYS as usize {
            m.entry(name.to_string())
                .or_insert_with(|| vec![0; DAYS as usize])[i] = n;
        }
    }
    m
}

/// The trend line of `name`, today's value replaced by the live `today`.
fn trend(t: &HashMap<String, Vec<u64>>, name: &str, today: u64) -> Markup {
    let mut v = t
        .get(name)
        .cloned()
        .unwrap_or_else(|| vec![0; DAYS as usize]);
    if let Some(last) = v.last_mut() {
        *last = today;
    }
    sparkline(&v, 90, 22)
}

/// At most [`LIST_MAX`] items joined, then "+N more".
fn list(items: &[String]) -> String {
    let mut s = items
        .iter()
        .take(LIST_MAX)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > LIST_MAX {
        s.push_str(&format!(" +{} more", items.len() - LIST_MAX));
    }
    s
}

/// Whether `hay` contains `needle` (already lower-case), ignoring case.
fn has(hay: &str, needle: &str) -> bool {
    hay.to_lowercase().contains(needle)
}

/// A failing rule across the fleet.
struct RuleRow<'a> {
    id: String,
    devices: u64,
    meta: Option<&'a RuleMeta>,
}

impl RuleRow<'_> {
    fn severity(&self) -> &'static str {
        self.meta.map_or("unknown", |m| severity_name(m.severity))
    }
    fn rank(&self) -> u8 {
        self.meta.map_or(0, |m| m.severity as u8 + 1)
    }
    fn fr(&self) -> &str {
        self.meta.map_or("unknown", |m| m.fr.as_str())
    }
}

const RULE_SORTS: &[(&str, bool)] = &[("devices", true), ("severity", true), ("rule", false)];

/// The `/findings` page at `now`.
pub fn findings(
    store: &dyn Store,
    p: &Params,
    now: i64,
    silent_after: i64,
    v: &Viewer,
) -> Result<Markup, String> {
    let agg = store.aggregates(now - silent_after)?;
    let active: u64 = agg
        .by_status
        .iter()
        .filter(|(s, _)| s == "active")
        .map(|(_, n)| n)
        .sum();
    let catalogs = crate::ceiling::held_catalogs(store).map_err(|r| r.reason)?;
    let all: Vec<RuleRow> = agg
        .failing
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(id, devices)| {
            let meta = match catalogs.lookup(None, &id) {
                Lookup::Exact(m) | Lookup::OtherVersion { meta: m, .. } => Some(m),
                Lookup::Unknown => None,
            };
            RuleRow { id, devices, meta }
        })
        .collect();
    // Per FR: (rules failing, failing findings = device × rule).
    let mut per_fr: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for r in &all {
        let e = per_fr.entry(r.fr()).or_default();
        e.0 += 1;
        e.1 += r.devices;
    }
    let fr = p.get("fr").filter(|f| FRS.contains(f));
    let sev = p.get("severity").filter(|s| SEVERITIES.contains(s));
    let q = p.get("q").map(str::to_lowercase);
    let mut rows: Vec<&RuleRow> = all
        .iter()
        .filter(|r| fr.is_none_or(|f| r.fr() == f))
        .filter(|r| sev.is_none_or(|s| r.severity() == s))
        .filter(|r| {
            q.as_deref()
                .is_none_or(|q| has(&r.id, q) || r.meta.is_some_and(|m| has(&m.title, q)))
        })
        .collect();
    let s = Sorting::new("/findings", p, RULE_SORTS);
    rows.sort_by(|a, b| {
        let o = match s.key {
            "severity" => a.rank().cmp(&b.rank()).then(b.devices.cmp(&a.devices)),
            "rule" => a.id.cmp(&b.id),
            _ => a.devices.cmp(&b.devices).then(b.rank().cmp(&a.rank())),
        };
        let o = if s.desc { o.reverse() } else { o };
        o.then(a.id.cmp(&b.id))
    });
    let (shown, cur, pages) = paged(&rows, p, RULES_PER_PAGE);
    let t = trends(store, now, "rule:")?;
    let share = |n: u64| match active {
        0 => "—".to_string(),
        a => format!("{:.1} %", n.min(a) as f64 * 100.0 / a as f64),
    };
    let body = html! {
        h1 { "Findings across the fleet" }
        section class="panel" id="per-fr" aria-labelledby="per-fr-h" {
            h2 id="per-fr-h" { "Per foundational requirement" }
            table {
                thead { tr { th { "FR" } th class="num" { "rules failing" } th class="num" { "failing findings (device × rule)" } } }
                tbody {
                    @for (f, (rules, n)) in &per_fr {
                        tr { td { a href={ "/findings?fr=" (urlenc(f)) } { (f) } } td class="num" { (thousands(*rules)) } td class="num" { (thousands(*n)) } }
                    }
                }
            }
            @if per_fr.is_empty() { p class="muted" { "No rule fails on any device." } }
        }
        form class="filters" method="get" action="/findings" role="search" {
            label { "Search" input name="q" value=[p.get("q")] placeholder="rule id or title" size="24"; }
            (choice("FR", "fr", &FRS, fr))
            (choice("Severity", "severity", &SEVERITIES, sev))
            (s.form_end())
        }
        p id="count" {
            b { (thousands(rows.len() as u64)) } " failing rules"
            @if rows.len() < all.len() { " of " (thousands(all.len() as u64)) " (filtered)" }
            " · " (thousands(active)) " active devices"
            @if pages > 1 { " · page " (cur) " of " (pages) }
        }
        div class="wrap" {
            table id="findings" {
                caption class="skip" { "Failing rules" }
                thead { tr {
                    (s.th("rule", "rule", false))
                    th { "title" }
                    th { "FR" }
                    (s.th("severity", "severity", false))
                    th { "IEC 62443-4-2" }
                    (s.th("devices", "devices failing", true))
                    th class="num" { "share of active" }
                    th { "last " (DAYS) " days" }
                    th { span class="skip" { "devices" } }
                } }
                tbody {
                    @for r in shown {
                        tr class="rule" {
                            td { code { (r.id) } }
                            td { @match r.meta { Some(m) => (m.title), None => span class="muted" { "unknown rule (no held catalog knows it)" } } }
                            td { (r.fr()) }
                            td { (badge(r.severity())) }
                            td class="small" { @if let Some(m) = r.meta {
                                @for (i, q) in m.requirements.iter().enumerate() { @if i > 0 { ", " } (q.id) " (SL " (q.min_sl) "+)" }
                            } }
                            td class="num" { (thousands(r.devices)) }
                            td class="num" { (share(r.devices)) }
                            td { (trend(&t, &r.id, r.devices)) }
                            td { a href={ "/devices?rule=" (urlenc(&r.id)) } { "devices" span class="skip" { " failing " (r.id) } } }
                        }
                    }
                }
            }
        }
        @if rows.is_empty() { p class="notice" { "No failing rule matches." } }
        @if pages > 1 { (super::pager("/findings", p, cur as u64, pages as u64)) }
    };
    Ok(page("Findings", "/findings", v, body))
}

const VULN_SORTS: &[(&str, bool)] = &[
    ("risk", true),
    ("devices", true),
    ("score", true),
    ("id", false),
];

/// The VEX form of one advisory (operators): fleet-wide unless a device id is given.
fn vex_form(v: &Viewer, x: &FleetVuln, i: usize) -> Markup {
    let id = |f: &str| format!("vex{i}-{f}");
    html! {
        details class="vex" {
            summary { "VEX" span class="skip" { " statement for " (x.vuln) } }
            form method="post" action="/vex" {
                input type="hidden" name="csrf" value=(v.csrf);
                input type="hidden" name="back" value="/vulnerabilities";
                input type="hidden" name="vuln" value=(x.vuln);
                label for=(id("d")) { "Device id (empty: whole fleet)" } input id=(id("d")) name="device" inputmode="numeric" size="8";
                label for=(id("s")) { "Status" }
                select id=(id("s")) name="status" {
                    @for st in ["not_affected", "affected", "fixed", "under_investigation"] { option { (st) } }
                }
                label for=(id("j")) { "Justification (needed for not_affected)" }
                select id=(id("j")) name="justification" {
                    option value="" { "—" }
                    @for j in JUSTIFICATIONS { option { (j) } }
                }
                label for=(id("t")) { "Detail" } input id=(id("t")) name="detail" maxlength="2000" size="24";
                button type="submit" { "Record statement" }
            }
        }
    }
}

/// The `/vulnerabilities` page at `now`.
pub fn vulnerabilities(
    store: &dyn Store,
    fleet: &FleetCache,
    p: &Params,
    now: i64,
    feed_max_age: i64,
    v: &Viewer,
) -> Result<Markup, String> {
    let (advisories, imported) = store.advisory_stats()?;
    let mut sites: Vec<String> = store.sites()?.into_iter().map(|(s, _, _)| s).collect();
    sites.dedup();
    let site = p.get("site").filter(|s| sites.iter().any(|x| x == s));
    let view = fleet.view(
        store,
        &FleetFilter {
            site: site.map(str::to_string),
        },
        now,
    )?;
    let all = view.rows.as_slice();
    let coverage = store.coverage(None)?;
    let on = |k: &str| p.get(k) == Some("1");
    let sev = p.get("severity").filter(|s| BANDS.contains(s));
    let pkg = p.get("package").map(str::to_lowercase);
    let q = p.get("q").map(str::to_lowercase);
    let mut rows: Vec<&FleetVuln> = all
        .iter()
        .filter(|x| sev.is_none_or(|s| band(x.score) == s))
        .filter(|x| {
            pkg.as_deref()
                .is_none_or(|k| x.components.iter().chain(&x.packages).any(|c| has(c, k)))
        })
        .filter(|x| {
            q.as_deref()
                .is_none_or(|q| has(&x.vuln, q) || x.aliases.iter().any(|a| has(a, q)))
        })
        .filter(|x| !on("kev") || x.risk.kev.is_some())
        .filter(|x| !on("reachable") || x.reachable > 0)
        .filter(|x| !on("fix") || x.fixed.is_some())
        .collect();
    let s = Sorting::new("/vulnerabilities", p, VULN_SORTS);
    let score = |x: &FleetVuln| x.score.unwrap_or(-1.0);
    rows.sort_by(|a, b| {
        let o = match s.key {
            "score" => score(a)
                .total_cmp(&score(b))
                .then(b.devices.cmp(&a.devices)),
            "id" => a.vuln.cmp(&b.vuln),
            // Ascending: least urgent first (the default is descending).
            "risk" => a
                .risk
                .urgency(&b.risk)
                .reverse()
                .then(a.devices.cmp(&b.devices)),
            _ => a
                .devices
                .cmp(&b.devices)
                .then(score(b).total_cmp(&score(a))),
        };
        let o = if s.desc { o.reverse() } else { o };
        o.then(a.vuln.cmp(&b.vuln))
    });
    let (shown, cur, pages) = paged(&rows, p, VULNS_PER_PAGE);
    let names: Vec<String> = shown.iter().map(|x| format!("vuln:{}", x.vuln)).collect();
    let t = trends_of(store, now, "vuln:", &names)?;
    let body = html! {
        h1 { "Vulnerabilities across the fleet" }
        (super::view_age(&view, now))
        (super::feeds_notice(store, now, feed_max_age)?)
        @if advisories == 0 {
            p class="notice" id="advisory-db" role="status" {
                b { "No advisory database is imported." }
                " Nothing has been checked: no listed vulnerability means “not checked”, not “none”. Import OSV advisories with "
                code { "fieldattest-collector vulndb import" } "."
            }
        } @else {
            p id="advisory-db" class="small muted" {
                (thousands(advisories)) " advisories held"
                @if let Some(at) = imported { ", last imported " span title=(super::when(at)) { (super::ago(now, Some(at))) } }
                ". Matches are computed per package set after each import and each new inventory."
            }
        }
        form class="filters" method="get" action="/vulnerabilities" role="search" {
            label { "Advisory" input name="q" value=[p.get("q")] placeholder="id or alias (CVE-…)" size="22"; }
            label { "Component or package" input name="package" value=[p.get("package")] size="18"; }
            (choice("Severity", "severity", &BANDS, sev))
            @let site_refs: Vec<&str> = sites.iter().map(String::as_str).collect();
            (choice("Site", "site", &site_refs, site))
            label { input type="checkbox" name="kev" value="1" checked[on("kev")]; " known exploited (KEV)" }
            label { input type="checkbox" name="reachable" value="1" checked[on("reachable")]; " reachable from the network" }
            label { input type="checkbox" name="fix" value="1" checked[on("fix")]; " fix available" }
            (s.form_end())
        }
        p id="count" {
            b { (thousands(rows.len() as u64)) } " advisories open on active devices"
            @if rows.len() < all.len() { " of " (thousands(all.len() as u64)) " (filtered)" }
            " · page " (cur) " of " (pages)
        }
        (super::coverage(&coverage, rows.len() as u64, "coverage"))
        div class="wrap" {
            table id="vulns" {
                caption class="skip" { "Open vulnerabilities" }
                thead { tr {
                    (s.th("risk", "risk", true))
                    (s.th("id", "advisory", false))
                    th { "summary" }
                    (s.th("score", "severity", false))
                    th { "component" }
                    th { "binary packages" }
                    th { "fixed in" }
                    (s.th("devices", "devices", true))
                    th { "last " (DAYS) " days" }
                    @if v.may_act { th { "statement" } }
                } }
                tbody {
                    @for (i, x) in shown.iter().enumerate() {
                        tr class="vuln" {
                            td class="small risk" { (x.risk.reason()) }
                            td { a href={ "/devices?vuln=" (urlenc(&x.vuln)) } { (x.vuln) }
                                @if !x.aliases.is_empty() { br; span class="small muted" { (list(&x.aliases)) } } }
                            td class="small" { (x.summary.as_deref().map(|s| cut_text(s, 160)).unwrap_or_default()) }
                            td { (badge(band(x.score))) @if let Some(sc) = x.score { " " (format!("{sc:.1}")) } }
                            td { (list(&x.components)) }
                            td class="packages" { (list(&x.packages)) }
                            td { (x.fixed.as_deref().unwrap_or("—")) }
                            td class="num" { a href={ "/devices?vuln=" (urlenc(&x.vuln)) } { (thousands(x.devices)) }
                                @if x.reachable > 0 { br; span class="small" { (thousands(x.reachable)) " reachable" } } }
                            td { (trend(&t, &x.vuln, x.devices)) }
                            @if v.may_act { td { (vex_form(v, x, i)) } }
                        }
                    }
                }
            }
        }
        @if rows.is_empty() && advisories > 0 { p class="notice" { "No open vulnerability matches." } }
        (super::pager("/vulnerabilities", p, cur as u64, pages as u64))
    };
    Ok(page("Vulnerabilities", "/vulnerabilities", v, body))
}

/// `s` cut to about `max` bytes, "…" marking a cut.
fn cut_text(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    format!("{}…", cut(s, max))
}
