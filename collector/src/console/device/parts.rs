//! The device page's lower sections: inventory, open vulnerabilities, the
//! attestation history with the diff of two attestations, the audit trail.

use super::diff::{diff, result_word, Capped, Diff};
use super::{claims, MAX_PACKAGES};
use crate::console::{ago, badge, when, Params};
use crate::store::{AuditEntry, SetVuln, Store, TokenDetail};
use fieldattest_protocol::eat::Claims;
use maud::{html, Markup};

/// Vulnerability rows shown at most.
const MAX_VULNS: usize = 500;

/// Packages, hardware, host keys, listeners.
pub(super) fn inventory(t: Option<&TokenDetail>, c: Option<&Claims>) -> Markup {
    let packages = t.map(|t| t.packages.as_slice()).unwrap_or_default();
    let hbom = c.and_then(|c| {
        c.measurements
            .iter()
            .filter(|(cf, _)| *cf == fieldattest_protocol::eat::CF_MEASURED_COMPONENT)
            .filter_map(|(_, b)| super::measured_component(b))
            .find(|(n, _)| n == "hardware")
    });
    html! {
        section class="panel" aria-labelledby="h-inventory" {
            h2 id="h-inventory" { "Inventory (latest attestation)" }
            details {
                summary { "packages (" (packages.len()) ")" }
                @if packages.len() > MAX_PACKAGES { p class="notice" { "The first " (MAX_PACKAGES) " of " (packages.len()) " packages are shown; the device list finds devices by package, the SBOM has them all." } }
                table id="packages" {
                    thead { tr { th { "name" } th { "version" } th { "package URL" } } }
                    tbody {
                        @for tag in packages.iter().take(MAX_PACKAGES) {
                            @let (name, version, _) = crate::vuln::component(tag);
                            tr { td { (name) } td class="mono" { (version) } td { code { (tag) } } }
                        }
                    }
                }
            }
            h3 { "Hardware" }
            @match hbom {
                Some((_, d)) => p { "The hardware list (HBOM) is attested as one digest, SHA-256 " code { (crate::hex(&d)) } "; its detail travels in the SBOM (see the evidence report)." },
                None => p class="muted" { "No hardware list in the latest attestation." },
            }
            h3 { "Host keys" }
            @match t.filter(|t| !t.keys.is_empty()) {
                None => p class="muted" { "none reported" },
                Some(t) => table id="keys" {
                    thead { tr { th { "kind" } th { "path" } th { "fingerprint" } } }
                    tbody { @for (k, p, f) in &t.keys { tr { td { (k) } td class="mono" { (p) } td { code { (f) } } } } }
                },
            }
            h3 { "Listening sockets" }
            @match c.filter(|c| !c.listeners.is_empty()) {
                None => p class="muted" { "none reported" },
                Some(c) => table id="listeners" {
                    thead { tr { th { "protocol" } th { "address" } th class="num" { "port" } th { "process" } } }
                    tbody { @for l in &c.listeners { tr { td { (l.proto) } td class="mono" { (l.addr) } td class="num" { (l.port) } td class="mono" { (l.process.as_deref().unwrap_or("-")) } } } }
                },
            }
        }
    }
}

/// The device's open vulnerabilities, highest score first, with what
/// matching could not see on it.
pub(super) fn vulns(vs: &[SetVuln], cov: &crate::store::Coverage) -> Markup {
    html! {
        section class="panel" aria-labelledby="h-vulns" {
            h2 id="h-vulns" { "Open vulnerabilities (" (vs.len()) ")" }
            (crate::console::coverage(cov, vs.len() as u64, "vuln-coverage"))
            @if vs.is_empty() { p class="muted" { "none" } } @else {
                @if vs.len() > MAX_VULNS { p class="notice" { "The " (MAX_VULNS) " highest of " (vs.len()) " are shown." } }
                table id="vulns" {
                    thead { tr { th { "vulnerability" } th { "severity" } th { "component" } th { "packages" } th { "version" } th { "fixed in" } th { "" } } }
                    tbody {
                        @for x in vs.iter().take(MAX_VULNS) {
                            tr {
                                td { code { (x.vuln) } @if let Some(s) = &x.summary { br; span class="small" { (crate::console::cut(s, 200)) } } }
                                td { (badge(crate::vuln::band(x.score))) @if let Some(s) = x.score { " " (format!("{s:.1}")) } }
                                td { (x.component) }
                                td class="small" { (x.packages) }
                                td class="mono" { (x.version) }
                                td class="mono" { (x.fixed.as_deref().unwrap_or("-")) }
                                td { a href={ "/devices" (Params::default().with("vuln", Some(&x.vuln))) } { "devices affected" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The kernel CVEs closed because their code is not built with the
/// device's kernel configuration, folded: each with the file and the
/// symbols it needs. Nothing when there are none.
pub(super) fn not_built(vs: &[SetVuln]) -> Markup {
    html! {
        @if !vs.is_empty() {
            section class="panel" aria-labelledby="h-not-built" {
                details id="not-built" {
                    summary { h2 id="h-not-built" class="inline" { "Kernel CVEs in code not built (" (vs.len()) ")" } }
                    p class="small muted" { "Closed as not_affected (vulnerable_code_not_present): every source file of the CVE is built under symbols this kernel's configuration does not set." }
                    table {
                        thead { tr { th { "vulnerability" } th { "why" } } }
                        tbody {
                            @for x in vs.iter().take(MAX_VULNS) {
                                tr {
                                    td { code { (x.vuln) } }
                                    td class="small" { (x.supplier.as_ref().and_then(|s| s.detail.as_deref()).unwrap_or("")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The attestation history (choose A and B) and the diff of A to B.
pub(super) fn history(
    store: &dyn Store,
    id: i64,
    h: &[(i64, i64, i64, i64, bool)],
    p: &Params,
    now: i64,
    latest: Option<&TokenDetail>,
) -> Result<Markup, String> {
    let a = p.number("a").map(|x| x as i64).or(h.get(1).map(|x| x.0));
    let b = p.number("b").map(|x| x as i64).or(h.first().map(|x| x.0));
    let load = |t: Option<i64>| -> Result<Option<TokenDetail>, String> {
        match t {
            Some(t) if latest.is_some_and(|l| l.id == t) => Ok(latest.cloned()),
            Some(t) => Ok(store.token_detail(id, t)?),
            None => Ok(None),
        }
    };
    let (ta, tb) = (load(a)?, load(b)?);
    let refused = |t: Option<i64>, d: &Option<TokenDetail>| t.is_some() && d.is_none();
    let compared = match (&ta, &tb) {
        (Some(x), Some(y)) => {
            let (ca, cb) = (claims(&x.raw), claims(&y.raw));
            Some((x, y, diff(x, ca.as_ref(), y, cb.as_ref())))
        }
        _ => None,
    };
    Ok(html! {
        section class="panel" aria-labelledby="h-history" {
            h2 id="h-history" { "Attestation history (latest " (h.len()) ")" }
            @if h.is_empty() { p class="muted" { "No attestation stored." } } @else {
                form method="get" action={ "/devices/" (id) } id="history" {
                    table {
                        thead { tr { th { "A" } th { "B" } th { "received" } th class="num" { "seq" } th { "arrival" } th { "" } } }
                        tbody {
                            @for (i, (t, received, seq, _iat, online)) in h.iter().enumerate() {
                                tr {
                                    td { input type="radio" name="a" value=(t) checked[a == Some(*t)] aria-label={ "compare from token " (t) }; }
                                    td { input type="radio" name="b" value=(t) checked[b == Some(*t)] aria-label={ "compare to token " (t) }; }
                                    td title=(when(*received)) { (when(*received)) " (" (ago(now, Some(*received))) ")" }
                                    td class="num" { (seq) }
                                    td { @if *online { "online" } @else { "offline (spool or bundle)" } }
                                    td { @if let Some(prev) = h.get(i + 1) { a href={ "/devices/" (id) "?a=" (prev.0) "&b=" (t) } { "changes since the previous" } } }
                                }
                            }
                        }
                    }
                    p { button type="submit" { "compare A with B" } }
                }
            }
            @if refused(a, &ta) || refused(b, &tb) { p class="error" { "An attestation chosen is not one of this device's." } }
            @if let Some((x, y, d)) = &compared { (diff_view(x, y, d)) }
        }
    })
}

fn list<T>(title: &str, c: &Capped<T>, row: impl Fn(&T) -> Markup) -> Markup {
    html! {
        @if c.total > 0 {
            h4 { (title) " (" (c.total) ")" }
            ul class="small" {
                @for x in &c.items { (row(x)) }
                @if c.total > c.items.len() { li class="muted" { (c.total - c.items.len()) " more" } }
            }
        }
    }
}

fn short(d: &Option<String>) -> String {
    d.as_deref()
        .map_or("absent".into(), |d| crate::console::cut(d, 16))
}

fn diff_view(a: &TokenDetail, b: &TokenDetail, d: &Diff) -> Markup {
    html! {
        div id="diff" {
            h3 { "Changes from token " (a.id) " (seq " (a.seq) ", " (when(a.received_at)) ") to token " (b.id) " (seq " (b.seq) ", " (when(b.received_at)) ")" }
            @if d.is_empty() { p class="muted" { "No change in packages, rule results, configuration files, host keys or hostname." } }
            (list("Packages added", &d.added, |(n, v, _)| html! { li class="diff-add" { "+ " (n) " " span class="mono" { (v) } } }))
            (list("Packages removed", &d.removed, |(n, v, _)| html! { li class="diff-del" { "− " (n) " " span class="mono" { (v) } } }))
            (list("Packages upgraded", &d.upgraded, |(n, x, y)| html! { li class="diff-chg" { (n) " " span class="mono" { (x) " → " (y) } } }))
            (list("Rule results changed", &d.results, |(r, x, y)| html! { li class=(if *y == 2 { "diff-del" } else { "diff-chg" }) { code { (r) } " " (result_word(*x)) " → " (result_word(*y)) } }))
            (list("Configuration files changed", &d.files, |(f, x, y)| html! { li class="diff-chg" { span class="mono" { (f) } " " code { (short(x)) } " → " code { (short(y)) } } }))
            (list("Host keys changed", &d.keys, |((k, p), x, y)| html! { li class="diff-chg" { (k) " " span class="mono" { (p) } " " code { (x.as_deref().unwrap_or("absent")) } " → " code { (y.as_deref().unwrap_or("absent")) } } }))
            @if let Some((x, y)) = &d.hostname {
                h4 { "Hostname changed" }
                p class="diff-chg" { span class="mono" { (x.as_deref().unwrap_or("none")) } " → " span class="mono" { (y.as_deref().unwrap_or("none")) } }
            }
        }
    }
}

/// The device's audit entries, newest first.
pub(super) fn audit(entries: &[AuditEntry], now: i64) -> Markup {
    html! {
        section class="panel" aria-labelledby="h-audit" {
            h2 id="h-audit" { "Audit trail (latest " (entries.len()) ")" }
            @if entries.is_empty() { p class="muted" { "none" } } @else {
                table id="audit" {
                    thead { tr { th { "time" } th { "outcome" } th { "reason" } th { "source" } th class="num" { "repeats" } } }
                    tbody {
                        @for e in entries {
                            tr {
                                td title=(when(e.at)) { (when(e.at)) " (" (ago(now, Some(e.at))) ")" }
                                td { (e.outcome) }
                                td { (e.reason) }
                                td class="mono" { (e.source.as_deref().unwrap_or("local")) }
                                td class="num" { (e.repeats) }
                            }
                        }
                    }
                }
            }
        }
    }
}
