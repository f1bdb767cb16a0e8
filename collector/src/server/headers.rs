//! Security headers on every response of both listeners (a tower layer,
//! outermost in the router, so refusals, 404s and 405s carry them too):
//!
//! - `Content-Security-Policy`: nothing may load but the pages' own style
//!   sheets — no script at all, no frames, forms only to this origin. The
//!   pages inline their constant style sheets ([`STYLE_SHEETS`]); they are
//!   allowed by their SHA-256 (`'sha256-…'`), computed once from the same
//!   constants, so any other inline style (which could only come from
//!   injected markup) is refused by the browser.
//! - `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`,
//!   `Strict-Transport-Security: max-age=31536000` (the collector speaks
//!   HTTPS only), `Referrer-Policy: no-referrer`.
//! - `Cache-Control: no-store`: every page and API answer is a view of the
//!   fleet that must not stay in a browser or proxy cache.
//!
//! A header the handler set itself is kept.

use axum::http::header::{self, HeaderName, HeaderValue};
use axum::response::Response;
use std::sync::OnceLock;

/// The constant style sheets the pages inline (a new page with its own
/// sheet adds it here, or its `<style>` is blocked).
pub const STYLE_SHEETS: &[&str] = &[crate::page::FLEET_CSS, crate::evidence::REPORT_CSS];

/// The `Content-Security-Policy` value: no script, styles only from this
/// origin and the inline sheets of [`STYLE_SHEETS`] by hash.
pub fn csp() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        use base64::Engine;
        let hashes: Vec<String> = STYLE_SHEETS
            .iter()
            .map(|css| {
                let d = ring::digest::digest(&ring::digest::SHA256, css.as_bytes());
                format!(
                    "'sha256-{}'",
                    base64::engine::general_purpose::STANDARD.encode(d.as_ref())
                )
            })
            .collect();
        format!(
            "default-src 'none'; style-src 'self' {}; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
            hashes.join(" ")
        )
    })
}

/// The headers added to every response.
fn headers() -> [(HeaderName, HeaderValue); 6] {
    [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp()),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}

/// Adds the security headers to `r` (keeping any the handler set).
pub fn secure(mut r: Response) -> Response {
    let h = r.headers_mut();
    for (name, value) in headers() {
        h.entry(name).or_insert(value);
    }
    r
}

/// The layer: `router.layer(headers::layer())`, added last so it wraps
/// every other layer and route.
pub fn layer() -> tower::util::MapResponseLayer<fn(Response) -> Response> {
    tower::util::MapResponseLayer::new(secure as fn(Response) -> Response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    async fn get_response(app: Router, uri: &str) -> Response {
        app.oneshot(
            axum::http::Request::builder()
                .uri(uri)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap()
    }

    fn assert_secure(r: &Response) {
        let h = r.headers();
        let want = [
            ("content-security-policy", csp()),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("strict-transport-security", "max-age=31536000"),
            ("referrer-policy", "no-referrer"),
            ("cache-control", "no-store"),
        ];
        for (k, v) in want {
            assert_eq!(
                h.get(k).and_then(|x| x.to_str().ok()),
                Some(v),
                "{k} on {}",
                r.status()
            );
        }
    }

    #[tokio::test]
    async fn every_answer_carries_the_headers_routes_404_and_405() {
        let app = || {
            Router::new()
                .route("/", get(|| async { axum::response::Html("<p>x</p>") }))
                .route(
                    "/kept",
                    get(|| async { ([(header::CACHE_CONTROL, "private")], "x") }),
                )
                .layer(layer())
        };
        let r = get_response(app(), "/").await;
        assert_eq!(r.status(), 200);
        assert_secure(&r);
        let r = get_response(app(), "/nowhere").await;
        assert_eq!(r.status(), 404);
        assert_secure(&r);
        let r = app()
            .oneshot(axum::http::Request::post("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(r.status(), 405);
        assert_secure(&r);
        let r = get_response(app(), "/kept").await;
        assert_eq!(r.headers()["cache-control"], "private");
        assert_eq!(r.headers()["x-frame-options"], "DENY");
    }

    #[test]
    fn the_policy_allows_no_script_and_exactly_the_pages_style_sheets() {
        let p = csp();
        assert!(p.starts_with("default-src 'none'; "), "{p}");
        assert!(!p.contains("script-src") && !p.contains("unsafe-"), "{p}");
        for d in [
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ] {
            assert!(p.contains(d), "{d} in {p}");
        }
        assert_eq!(p.matches("'sha256-").count(), STYLE_SHEETS.len());
        // The hash of the fleet page's sheet, as a browser computes it over
        // the text of its <style> element.
        let page = crate::page::document("t", crate::page::FLEET_CSS, maud::html! {}).into_string();
        let inline = page
            .split("<style>")
            .nth(1)
            .and_then(|x| x.split("</style>").next())
            .unwrap();
        use base64::Engine;
        let h = base64::engine::general_purpose::STANDARD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            inline.as_bytes(),
        ));
        assert!(p.contains(&format!("'sha256-{h}'")), "{p}");
    }
}
