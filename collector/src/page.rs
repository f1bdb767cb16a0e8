//! The operator console's pages (enrollment, sign-in, messages; the
//! others are in `console/`), server-rendered with maud: every interpolated value is
//! HTML-escaped by the template engine, so nothing a device reports (site
//! names, rule ids, package names, advisory text) can reach the page as
//! markup. No scripts: every action is a plain form POST carrying the
//! session's CSRF token.

use crate::store::Store;

pub use crate::console::Viewer;

/// `GET /enroll` (role operator): devices waiting for approval (newest
/// first, at most 200), the enrollment-secret form and the VEX form.
pub fn enroll(store: &dyn Store, now: i64, v: &Viewer) -> Result<maud::Markup, String> {
    use crate::store::{DeviceQuery, Sort};
    use maud::html;
    let (pending, total) = store.device_list(&DeviceQuery {
        status: Some("pending".into()),
        sort: Sort::Id,
        descending: true,
        limit: 200,
        ..Default::default()
    })?;
    let body = html! {
        h1 { "Enroll devices" }
        section class="panel" {
            h2 { "Pending devices (" (total) ")" }
            @if pending.is_empty() { p { "none" } }
            ul id="pending" {
                @for d in &pending {
                    li {
                        a href={ "/devices/" (d.id) } { "device " (d.id) }
                        " (site " (d.site) ", enrolled " (crate::console::ago(now, Some(d.enrolled_at))) ") — review the key id and approve"
                    }
                }
            }
            @if total > pending.len() as u64 { p { a href="/devices?status=pending" { "all " (total) " pending devices" } } }
        }
        section class="panel" {
            h2 { "Enrollment secret" }
            p class="small muted" { "A single-use secret for one device of a site; shown once, only its SHA-256 is kept." }
            form method="post" action="/enrollment-secrets" id="enroll" {
                input type="hidden" name="csrf" value=(v.csrf);
                label { "site " input name="site" required maxlength="200"; }
                label { " valid for " input name="ttl" value="1h"; }
                " "
                button type="submit" { "create" }
            }
        }
        section class="panel" {
            h2 { "VEX statement" }
            form method="post" action="/vex" id="vex" {
                input type="hidden" name="csrf" value=(v.csrf);
                input type="hidden" name="back" value="/enroll";
                label { "vulnerability " input name="vuln" required maxlength="200"; }
                label { " device id (empty: fleet) " input name="device"; }
                label { " status " select name="status" {
                    @for s in ["not_affected", "affected", "fixed", "under_investigation"] { option { (s) } }
                } }
                label { " justification " select name="justification" {
                    option value="" { "-" }
                    @for j in crate::vuln::JUSTIFICATIONS { option { (j) } }
                } }
                label { " detail " input name="detail"; }
                " "
                button type="submit" { "record" }
            }
        }
    };
    Ok(crate::console::page("Enroll", "/enroll", v, body))
}

/// The answer to an enrollment-secret request: the secret, shown once.
pub fn secret(site: &str, ttl: i64, secret: &str, v: &Viewer) -> maud::Markup {
    use maud::html;
    let body = html! {
        h1 { "Enrollment secret" }
        p { "Single-use secret for site " b { (site) } ", valid " (ttl) " s. It is shown only now; only its SHA-256 is stored." }
        pre id="secret" { (secret) }
    };
    crate::console::page("Enrollment secret", "/enroll", v, body)
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
    crate::console::document("Sign in · fieldattest", maud::html! { main { (body) } })
}

/// A short message page (a refusal), with a sign-in link when `sign_in`.
pub fn message(text: &str, sign_in: bool) -> maud::Markup {
    use maud::html;
    let body = html! {
        p class="fail" id="error" { (text) }
        @if sign_in { p { a href="/login" { "sign in" } } } @else { p { a href="/" { "back to the fleet" } } }
    };
    crate::console::document("fieldattest", maud::html! { main { (body) } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::Params;
    use crate::store::SqliteStore;

    fn viewer() -> Viewer {
        Viewer {
            who: "operator <b>x</b>".into(),
            role: "operator",
            may_act: true,
            csrf: "c\"s<rf".into(),
        }
    }

    #[test]
    fn hostile_device_strings_are_escaped() {
        let s = SqliteStore::memory().unwrap();
        let site = "<script>alert(\"x\")</script>&";
        let id = s.insert_device(b"kid", b"ueid", b"pk", site, 1).unwrap();
        let pages = [
            crate::console::devices::list(&s, &Params::default(), 10, 3600, &viewer())
                .unwrap()
                .into_string(),
            enroll(&s, 10, &viewer()).unwrap().into_string(),
        ];
        for page in pages {
            assert!(
                !page.contains("<script>") && !page.contains("<b>x"),
                "{page}"
            );
            assert!(
                page.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;"),
                "{page}"
            );
            assert!(page.contains(&format!("href=\"/devices/{id}\"")), "{page}");
            assert!(page.contains("value=\"c&quot;s&lt;rf\""), "{page}");
        }
    }
}
