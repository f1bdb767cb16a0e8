//! The console's read-only pages (GET, behind `auth::guard` with role
//! viewer): overview, device list and its export, findings,
//! vulnerabilities, and the style sheet asset (public: the sign-in page
//! needs it). Each page's store work runs on
//! the blocking pool; its query string is parsed by `console::Params`
//! (bounded) and never reaches SQL as text.

use super::auth::{deny, Identity, Role};
use super::{App, Shared};
use crate::console::{self, Params, Viewer};
use crate::now;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::Extension;

/// Who is looking, for the page frame.
pub(super) fn viewer(who: &Identity) -> Viewer {
    Viewer {
        who: who.who.clone(),
        role: who.role.as_str(),
        may_act: who.role >= Role::Operator,
        csrf: who.csrf.clone().unwrap_or_default(),
    }
}

/// Renders a page on the blocking pool: 200 with the HTML, or the error page.
pub(super) async fn render<F>(back: &'static str, f: F) -> Response
where
    F: FnOnce() -> Result<maud::Markup, String> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(h)) => Html(h.into_string()).into_response(),
        Ok(Err(e)) => deny(StatusCode::INTERNAL_SERVER_ERROR, back, &e),
        Err(_) => deny(StatusCode::INTERNAL_SERVER_ERROR, back, "the page failed"),
    }
}

/// Renders view `f` (app, query, now, viewer → the page) for the signed-in
/// operator with the URL's query, on the blocking pool.
async fn view<F>(app: Shared, who: Identity, uri: Uri, f: F) -> Response
where
    F: FnOnce(&App, &Params, i64, &Viewer) -> Result<maud::Markup, String> + Send + 'static,
{
    let v = viewer(&who);
    let p = Params::parse(uri.query());
    render("/", move || f(&app, &p, now(), &v)).await
}

/// `GET /`: the overview.
pub(super) async fn overview(
    State(app): State<Shared>,
    Extension(who): Extension<Identity>,
    uri: Uri,
) -> Response {
    view(app, who, uri, |a, p, t, v| {
        console::overview::overview(
            a.store.as_ref(),
            &a.fleet,
            p,
            t,
            a.silent_after,
            a.feed_max_age,
            v,
        )
    })
    .await
}

/// `GET /devices`: the device list.
pub(super) async fn devices(
    State(app): State<Shared>,
    Extension(who): Extension<Identity>,
    uri: Uri,
) -> Response {
    view(app, who, uri, |a, p, t, v| {
        console::devices::list(a.store.as_ref(), p, t, a.silent_after, v)
    })
    .await
}

/// `GET /findings`: failing rules across the fleet.
pub(super) async fn findings(
    State(app): State<Shared>,
    Extension(who): Extension<Identity>,
    uri: Uri,
) -> Response {
    view(app, who, uri, |a, p, t, v| {
        console::findings::findings(a.store.as_ref(), p, t, a.silent_after, v)
    })
    .await
}

/// `GET /vulnerabilities`: open advisories across the fleet.
pub(super) async fn vulnerabilities(
    State(app): State<Shared>,
    Extension(who): Extension<Identity>,
    uri: Uri,
) -> Response {
    view(app, who, uri, |a, p, t, v| {
        console::findings::vulnerabilities(a.store.as_ref(), &a.fleet, p, t, a.feed_max_age, v)
    })
    .await
}

/// `GET /devices.csv` and `/devices.json`: every device of the filter.
async fn export(app: Shared, uri: Uri, csv: bool) -> Response {
    let p = Params::parse(uri.query());
    let r = tokio::task::spawn_blocking(move || {
        console::devices::export(app.store.as_ref(), &p, now(), app.silent_after)
    })
    .await;
    let Ok(Ok(v)) = r else {
        return deny(
            StatusCode::INTERNAL_SERVER_ERROR,
            "/devices",
            "the export failed",
        );
    };
    let (body, ty, name) = if csv {
        (
            crate::fleet::to_csv(&v),
            "text/csv; charset=utf-8",
            "devices.csv",
        )
    } else {
        (
            serde_json::to_string_pretty(&v).unwrap_or_default(),
            "application/json",
            "devices.json",
        )
    };
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ty));
    if let Ok(d) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, d);
    }
    resp
}

pub(super) async fn export_csv(State(app): State<Shared>, uri: Uri) -> Response {
    export(app, uri, true).await
}

pub(super) async fn export_json(State(app): State<Shared>, uri: Uri) -> Response {
    export(app, uri, false).await
}

/// `GET /assets/{name}`: the console's style sheets (public, cacheable).
pub(super) async fn asset(Path(name): Path<String>) -> Response {
    match console::asset(&name) {
        Some((ty, body)) => {
            let mut resp = body.into_response();
            let h = resp.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ty));
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=3600"),
            );
            resp
        }
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
