//! Security headers on every response of both listeners (a tower layer,
//! outermost in the router, so refusals, 404s and 405s carry them too):
//!
//! - `Content-Security-Policy`: nothing may load but this origin's own
//!   style sheets (`/assets/*.css`, part of the repository) — no script at
//!   all, no inline style, no frames, forms only to this origin; charts are
//!   inline SVG markup, not loaded resources.
//! - `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`,
//!   `Strict-Transport-Security: max-age=31536000` (the collector speaks
//!   HTTPS only), `Referrer-Policy: no-referrer`.
//! - `Cache-Control: no-store`: every page and API answer is a view of the
//!   fleet that must not stay in a browser or proxy cache.
//!
//! A header the handler set itself is kept.

use axum::http::header::{self, HeaderName, HeaderValue};
use axum::response::Response;

/// The `Content-Security-Policy` value: no script, nothing but this origin.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The headers added to every response.
fn headers() -> [(HeaderName, HeaderValue); 6] {
    [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
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

/// `Server-Timing: app;dur=MS` on the operator side's answers: the time the
/// collector spent on the request (queueing for a slot included), which
/// browsers show in their developer tools and the console's tests measure.
pub async fn timing(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let t = std::time::Instant::now();
    let mut r = next.run(req).await;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    if let Ok(v) = HeaderValue::from_str(&format!("app;dur={ms:.1}")) {
        r.headers_mut()
            .insert(HeaderName::from_static("server-timing"), v);
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
            ("content-security-policy", CSP),
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
    fn the_policy_allows_no_script_and_nothing_but_self() {
        let p = CSP;
        assert!(p.starts_with("default-src 'none'; "), "{p}");
        assert!(!p.contains("script-src") && !p.contains("unsafe-"), "{p}");
        assert!(!p.contains("sha256-") && !p.contains("http"), "{p}");
        for d in [
            "style-src 'self';",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ] {
            assert!(p.contains(d), "{d} in {p}");
        }
        // Every page links the served sheet and inlines none.
        let page = crate::console::document("t", maud::html! {}).into_string();
        assert!(!page.contains("<style"), "{page}");
        assert!(page.contains(r#"href="/assets/console.css""#), "{page}");
    }
}
