//! The operator console's pages, server-rendered with maud: the overview,
//! the device list, a device, the findings and vulnerabilities across the
//! fleet. Shared here: the page frame (navigation, who is signed in, the
//! sign-out form), the style sheet served from the collector itself, the
//! page query parsing and the links that carry it.
//!
//! *Invariants:* every interpolated value is escaped by the template
//! engine (device claims, site names, advisory text are hostile); no
//! scripts and nothing from another origin — the style sheet is
//! `/assets/console.css` (CSP `style-src 'self'`), charts are inline SVG;
//! every page reads without JavaScript and every view is a GET whose
//! filters are in the URL (bookmarkable); every action is a form POST with
//! the session's CSRF token and a confirmation; a page is bounded whatever
//! the fleet size (lists are paged in the database).

pub mod device;
pub mod devices;
pub mod findings;
#[cfg(test)]
mod list_tests;
pub mod overview;

use maud::{html, Markup, DOCTYPE};

/// The console's style sheet (`/assets/console.css`): the repository's
/// `collector/assets/console.css`.
pub const CONSOLE_CSS: &str = include_str!("../../assets/console.css");

/// Assets served at `/assets/{name}`: (content type, body). `console.css`
/// is the repository's sheet followed by the charts' (`chart::CHART_CSS`).
pub fn asset(name: &str) -> Option<(&'static str, &'static str)> {
    static SHEET: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    match name {
        "console.css" => Some((
            "text/css; charset=utf-8",
            SHEET.get_or_init(|| format!("{CONSOLE_CSS}\n{}", crate::chart::CHART_CSS)),
        )),
        "report.css" => Some(("text/css; charset=utf-8", crate::evidence::REPORT_CSS)),
        _ => None,
    }
}

/// Who looks at a console page.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// `operator NAME`.
    pub who: String,
    pub role: &'static str,
    /// Role operator or above: the action forms are shown.
    pub may_act: bool,
    /// The session's CSRF token, put in every form.
    pub csrf: String,
}

/// The console's sections, in navigation order: (path, label).
pub const SECTIONS: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/devices", "Devices"),
    ("/findings", "Findings"),
    ("/vulnerabilities", "Vulnerabilities"),
];

/// A console page: the frame with navigation (`active` marked current),
/// the signed-in account and the sign-out form, then `body`.
pub fn page(title: &str, active: &str, v: &Viewer, body: Markup) -> Markup {
    let content = html! {
        a class="skip" href="#main" { "Skip to content" }
        header class="top" {
            a class="brand" href="/" { "fieldattest" }
            nav aria-label="Console" {
                @for (href, label) in SECTIONS {
                    @if *href == active {
                        a href=(href) aria-current="page" { (label) }
                    } @else {
                        a href=(href) { (label) }
                    }
                }
                @if v.may_act {
                    @if active == "/enroll" {
                        a href="/enroll" aria-current="page" { "Enroll" }
                    } @else {
                        a href="/enroll" { "Enroll" }
                    }
                }
            }
            form method="post" action="/logout" id="nav" {
                span { "signed in as " span id="who" { (v.who) } " (" (v.role) ")" }
                input type="hidden" name="csrf" value=(v.csrf);
                button type="submit" { "Sign out" }
            }
        }
        main id="main" { (body) }
    };
    document(&format!("{title} · fieldattest"), content)
}

/// An HTML document linking the console style sheet.
pub fn document(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href="/assets/console.css";
            }
            body { (body) }
        }
    }
}

/// The parameters of a page's URL query (repeated keys: the last wins),
/// bounded: at most 32 pairs, each value at most 256 bytes (longer values
/// are cut at a character boundary).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: Option<&str>) -> Params {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
        Params(
            pairs
                .into_iter()
                .take(32)
                .map(|(k, v)| (cut(&k, 32), cut(&v, 256)))
                .collect(),
        )
    }

    /// A non-empty value (trimmed).
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub fn number(&self, k: &str) -> Option<u64> {
        self.get(k).and_then(|v| v.parse().ok())
    }

    /// This query with `k` set to `v` (`None`: removed), as `?…` for a link.
    pub fn with(&self, k: &str, v: Option<&str>) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .0
            .iter()
            .filter(|(key, val)| key != k && !val.trim().is_empty())
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        if let Some(v) = v {
            pairs.push((k, v));
        }
        let q = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if q.is_empty() {
            String::new()
        } else {
            format!("?{q}")
        }
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

/// Previous / next and a window of page numbers around `cur`, each a link
/// to `base` keeping the page's other parameters.
pub fn pager(base: &str, p: &Params, cur: u64, pages: u64) -> Markup {
    let link = |n: u64| format!("{base}{}", p.with("page", Some(&n.to_string())));
    let lo = cur.saturating_sub(3).max(1);
    let hi = cur.saturating_add(3).min(pages);
    html! {
        nav class="pager" aria-label="Pages" {
            @if cur > 1 { a href=(link(cur - 1)) rel="prev" { "‹ previous" } }
            @if lo > 1 { a href=(link(1)) { "1" } @if lo > 2 { span { "…" } } }
            @for n in lo..=hi {
                @if n == cur { span class="cur" aria-current="page" { (n) } } @else { a href=(link(n)) { (n) } }
            }
            @if hi < pages { @if hi + 1 < pages { span { "…" } } a href=(link(pages)) { (pages) } }
            @if cur < pages { a href=(link(cur + 1)) rel="next" { "next ›" } }
        }
    }
}

/// `s` cut to at most `max` bytes at a character boundary.
pub fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// "3 min ago", "2 h ago", "5 d ago" (or "never").
pub fn ago(now: i64, t: Option<i64>) -> String {
    let Some(t) = t else {
        return "never".into();
    };
    let d = now.saturating_sub(t);
    match d {
        i64::MIN..=59 => "just now".into(),
        60..=3599 => format!("{} min ago", d / 60),
        3600..=86_399 => format!("{} h ago", d / 3600),
        _ => format!("{} d ago", d / 86_400),
    }
}

/// RFC 3339 UTC time of `t` (seconds), for titles and tables.
pub fn when(t: i64) -> String {
    crate::rfc3339(t)
}

/// A number with thousands separators (`100,000`).
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A status badge (`active`, `pending`, `revoked`, `silent`, severities, …).
pub fn badge(kind: &str) -> Markup {
    let class = match kind {
        "active" | "pending" | "revoked" | "silent" | "pass" | "fail" | "accepted" | "critical"
        | "high" | "medium" | "low" | "info" | "ok" => kind,
        _ => "unknown",
    };
    html! { span class={ "badge b-" (class) } { (kind) } }
}

/// Whether the vulnerability data can be trusted to be current: a notice
/// naming each feed older than `max_age` seconds at `now` (its data date and
/// age), or saying that nothing was imported — stale or missing data must
/// never read as "no vulnerabilities". Empty when every feed is fresh.
pub fn feeds_notice(
    store: &dyn crate::store::Store,
    now: i64,
    max_age: i64,
) -> Result<Markup, String> {
    // Vulnerability data only (kernel configurations and the Kbuild map do not age).
    let all: Vec<_> = crate::vuln::feeds::feed_status(store, now, max_age)?
        .into_iter()
        .filter(|f| !crate::vuln::feeds::is_build_data(&f.feed.kind))
        .collect();
    // Per kind: (files, stale files, the oldest stale file's data date and age).
    type Kind<'a> = (usize, usize, Option<(&'a str, i64)>);
    let mut kinds: std::collections::BTreeMap<&str, Kind> = std::collections::BTreeMap::new();
    for f in &all {
        let k = kinds.entry(f.feed.kind.as_str()).or_default();
        k.0 += 1;
        if f.stale {
            k.1 += 1;
            let date = f.feed.data_date.as_deref().unwrap_or("no data date");
            if k.2.is_none_or(|(_, age)| f.age > age) {
                k.2 = Some((date, f.age));
            }
        }
    }
    let days = |s: i64| s / 86_400;
    Ok(html! {
        @if all.is_empty() {
            p class="coverage notice" id="feeds" role="status" {
                "No vulnerability data imported: open counts are unknown, not zero (fieldattest-collector vulndb import)."
            }
        } @else if kinds.values().any(|k| k.1 > 0) {
            p class="coverage notice" id="feeds" role="status" {
                "Stale vulnerability data (older than " (days(max_age)) " days): "
                @for (i, (kind, (n, stale, oldest))) in kinds.iter().filter(|(_, k)| k.1 > 0).enumerate() {
                    @if i > 0 { "; " }
                    b { (kind) } " " (stale) " of " (n) " file" @if *n != 1 { "s" }
                    @if let Some((date, age)) = oldest { ", oldest " (date) " (" (days(*age)) " days)" }
                }
                ". Import fresh feeds (vulndb status lists them)."
            }
        }
    })
}

/// The age of a kept fleet vulnerability view (`vuln::FleetCache`) that is
/// no longer current: when it was computed, how long that took, and that
/// it is being recomputed. Empty for a current view.
pub fn view_age(v: &crate::vuln::fleet_cache::View, now: i64) -> Markup {
    html! {
        @if !v.current {
            p class="notice" id="view-age" role="status" {
                "Computed " span title=(when(v.computed_at)) { (ago(now, Some(v.computed_at))) }
                " (in " (format!("{:.1}", v.millis as f64 / 1000.0)) " s); the fleet has changed since and the view is being recomputed."
            }
        }
    }
}

/// What vulnerability matching could not see, next to a count: "0 open
/// (14 of 212 components not covered)" and, folded, why ("no CPE for
/// recipe plc-runtime", "Alpine:v3.19: no advisories imported").
pub fn coverage(c: &crate::store::Coverage, open: u64, id: &str) -> Markup {
    html! {
        p class={ "coverage" @if c.not_covered() > 0 || c.sets == 0 { " notice" } } id=(id) role="status" {
            (c.count(open))
            @if !c.notes.is_empty() {
                details { summary { "why" } ul class="small" { @for n in &c.notes { li { (n) } } } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_bounded_and_links_keep_the_other_filters() {
        let long = "x".repeat(1000);
        let q = format!("site=a%20b&status=active&q={long}&sort=failing&sort=vulns");
        let p = Params::parse(Some(&q));
        assert_eq!(p.get("site"), Some("a b"));
        assert_eq!(p.get("sort"), Some("vulns"));
        assert_eq!(p.get("q").map(str::len), Some(256));
        let l = p.with("page", Some("3"));
        assert!(l.starts_with("?site=a+b&status=active"), "{l}");
        assert!(l.ends_with("&page=3"), "{l}");
        assert_eq!(Params::parse(Some("%zz=&&=")).get("x"), None);
        let many: String = (0..100).map(|i| format!("k{i}=v&")).collect();
        assert_eq!(Params::parse(Some(&many)).pairs().len(), 32);
        assert_eq!(cut("ééé", 3), "é");
    }

    #[test]
    fn numbers_and_ages() {
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(ago(100, None), "never");
        assert_eq!(ago(100_000, Some(100_000 - 7200)), "2 h ago");
        assert_eq!(ago(0, Some(i64::MAX)), "just now");
    }
}
