//! The operator side: the console (fleet page, device page, the actions of
//! role operator), the printable evidence report of a device, and the JSON
//! API. Every handler here runs behind `auth::guard` (see the route table).

use super::actions::{self, ActionError};
use super::auth::{deny, Identity};
use super::{err, Shared};
use crate::store::VexEntry;
use crate::{fleet, now};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form, Json};
use fieldattest_protocol::rejection::Rejection;

pub(super) async fn api_fleet(State(app): State<Shared>) -> Response {
    match tokio::task::spawn_blocking(move || {
        fleet::fleet(app.store.as_ref(), now(), app.silent_after)
    })
    .await
    {
        Ok(Ok(v)) => Json(v).into_response(),
        _ => err(Rejection::Internal, "fleet query failed"),
    }
}

pub(super) async fn api_devices(State(app): State<Shared>) -> Response {
    match tokio::task::spawn_blocking(move || fleet::devices(app.store.as_ref(), now())).await {
        Ok(Ok(v)) => Json(v).into_response(),
        _ => err(Rejection::Internal, "device query failed"),
    }
}

/// `GET /api/v1/devices/{id}/sbom?format=cyclonedx|spdx-json|spdx3`
/// (operator; ISSUE19): the SBOM of the device's latest attestation, as
/// the device uploaded it (CycloneDX, the digest the token carries) or
/// converted to SPDX 2.3 JSON / SPDX 3.0.1 JSON-LD. The body is the
/// device's (hostile): served as a JSON attachment, never rendered; the
/// conversion bounds what it reads and refuses what it cannot convert
/// (422). Audited: who exported which device's SBOM in which format.
pub(super) async fn api_device_sbom(
    State(app): State<Shared>,
    Extension(who): Extension<Identity>,
    Path(id): Path<i64>,
    uri: axum::http::Uri,
) -> Response {
    use fieldattest_protocol::sbom::SpdxVersion;
    let params = crate::console::Params::parse(uri.query());
    let format = params.get("format").unwrap_or("cyclonedx").to_string();
    // The conversion, the media type and the file name's extension.
    let (to, ty, ext) = match format.as_str() {
        "cyclonedx" | "cyclonedx-json" => (None, "application/vnd.cyclonedx+json", "cdx.json"),
        "spdx-json" | "spdx" => (
            Some(SpdxVersion::V2_3),
            "application/spdx+json",
            "spdx.json",
        ),
        "spdx3" | "spdx3-json" => (
            Some(SpdxVersion::V3_0),
            "application/ld+json",
            "spdx3.jsonld",
        ),
        _ => {
            return err(
                Rejection::BadRequest,
                "format: want cyclonedx, spdx-json or spdx3",
            )
        }
    };
    enum Out {
        Body(String),
        Missing(String),
        Refused(String),
    }
    let r = tokio::task::spawn_blocking(move || -> Result<Out, crate::store::StoreError> {
        if app.store.device(id)?.is_none() {
            return Ok(Out::Missing(format!("device {id} not found")));
        }
        let digest = app.store.latest_token(id)?.and_then(|t| t.sbom_digest);
        let Some(digest) = digest else {
            return Ok(Out::Missing(format!(
                "device {id}'s latest attestation references no SBOM"
            )));
        };
        let Some(body) = app.store.sbom_body(&digest)? else {
            return Ok(Out::Missing(format!(
                "device {id}'s SBOM (sha256 {digest}) has not been uploaded"
            )));
        };
        let Ok(text) = String::from_utf8(body) else {
            return Ok(Out::Refused("the stored SBOM is not UTF-8 JSON".into()));
        };
        let out = match to {
            None => Out::Body(text),
            Some(v) => match fieldattest_protocol::sbom::convert(&text, v) {
                Ok(s) => Out::Body(s),
                Err(e) => Out::Refused(format!("the device's SBOM cannot be converted: {e}")),
            },
        };
        app.store.audit(
            now(),
            None,
            Some(id),
            "sbom-export",
            &format!(
                "{} SBOM sha256 {digest} as {format}{}",
                if matches!(out, Out::Body(..)) {
                    "exported"
                } else {
                    "could not export"
                },
                format_args!(" by {}", who.who)
            ),
        )?;
        Ok(out)
    })
    .await;
    match r {
        Ok(Ok(Out::Body(body))) => {
            let mut resp = body.into_response();
            let h = resp.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ty));
            if let Ok(d) =
                HeaderValue::from_str(&format!("attachment; filename=\"device-{id}.{ext}\""))
            {
                h.insert(header::CONTENT_DISPOSITION, d);
            }
            resp
        }
        Ok(Ok(Out::Missing(m))) => err(Rejection::NotFound, &m),
        Ok(Ok(Out::Refused(m))) => err(Rejection::Unconvertible, &m),
        _ => err(Rejection::Internal, "SBOM export failed"),
    }
}

/// `GET /enroll` (operator): pending devices, the enrollment-secret and VEX forms.
pub(super) async fn page(
    State(app): State<Shared>,
    Extension(who): Extension<Identity>,
) -> Response {
    let v = viewer(&who);
    super::pages::render("/", move || {
        crate::page::enroll(app.store.as_ref(), now(), &v)
    })
    .await
}

/// `GET /report/{device}`: the printable IEC 62443-4-2 evidence report of a
/// device (the same HTML as `fieldattest-collector report --format html`).
pub(super) async fn report_page(State(app): State<Shared>, Path(id): Path<i64>) -> Response {
    let r = tokio::task::spawn_blocking(move || -> Result<Option<String>, String> {
        if app.store.device(id)?.is_none() {
            return Ok(None);
        }
        let ms = crate::vuln::matches(app.store.as_ref())?;
        let feeds =
            crate::vuln::feeds::feed_status(app.store.as_ref(), crate::now(), app.feed_max_age)?;
        let r = crate::evidence::device(app.store.as_ref(), id, 2, &ms, &feeds)?;
        Ok(Some(crate::evidence::html_linked(
            &[r],
            &crate::timestamp(),
        )))
    })
    .await;
    match r {
        Ok(Ok(Some(h))) => Html(h).into_response(),
        Ok(Ok(None)) => err(Rejection::NotFound, &format!("device {id} not found")),
        _ => err(Rejection::Internal, "report failed"),
    }
}

/// `GET /api/v1/audit` (admin): the latest 1000 audit entries, newest first.
pub(super) async fn api_audit(State(app): State<Shared>) -> Response {
    match tokio::task::spawn_blocking(move || app.store.audit_log(1000)).await {
        Ok(Ok(v)) => Json(
            v.into_iter()
                .map(|e| serde_json::json!({"at": e.at, "kid": e.kid, "device": e.device_id, "outcome": e.outcome, "reason": e.reason}))
                .collect::<Vec<_>>(),
        )
        .into_response(),
        _ => err(Rejection::Internal, "audit query failed"),
    }
}

/// `GET /devices/{id}`: the device page (`console::device`); its query
/// chooses the two attestations compared (`a`, `b`).
pub(super) async fn device_page(
    State(app): State<Shared>,
    Extension(who): Extension<Identity>,
    Path(id): Path<i64>,
    uri: axum::http::Uri,
) -> Response {
    let v = viewer(&who);
    let p = crate::console::Params::parse(uri.query());
    let r = tokio::task::spawn_blocking(move || {
        crate::console::device::page(app.store.as_ref(), id, &p, now(), app.silent_after, &v)
    })
    .await;
    match r {
        Ok(Ok(Some(h))) => Html(h.into_string()).into_response(),
        Ok(Ok(None)) => deny(
            StatusCode::NOT_FOUND,
            "/devices",
            &format!("device {id} not found"),
        ),
        _ => deny(
            StatusCode::INTERNAL_SERVER_ERROR,
            "/devices",
            "device query failed",
        ),
    }
}

#[derive(serde::Deserialize)]
pub(super) struct AcceptForm {
    rule: String,
    subject: Option<String>,
    justification: String,
    /// `90d` or `YYYY-MM-DD`.
    expires: String,
    confirm: Option<String>,
}

/// `POST /devices/{id}/accepts` (operator; confirmed): a collector-side
/// acceptance of a finding (`actions::accept_finding` checks it).
pub(super) async fn accept(
    State(app): State<Shared>,
    Extension(who): Extension<Identity>,
    Path(id): Path<i64>,
    Form(f): Form<AcceptForm>,
) -> Response {
    let back = format!("/devices/{id}");
    let r = tokio::task::spawn_blocking(move || {
        if f.confirm.as_deref() != Some("yes") {
            return Err(ActionError::Refused("confirm the acceptance".into()));
        }
        let req = actions::AcceptRequest {
            device_id: id,
            rule: f.rule,
            subject: f.subject.unwrap_or_default(),
            justification: f.justification,
            expires: f.expires,
        };
        actions::accept_finding(app.store.as_ref(), &req, &who.who).map(|_| ())
    })
    .await;
    outcome(r, &back)
}

#[derive(serde::Deserialize)]
pub(super) struct ConfirmForm {
    confirm: Option<String>,
}

/// `POST /accepts/{id}/revoke` (operator; confirmed): back to the device
/// page of the acceptance (the device list for a fleet-wide one).
pub(super) async fn unaccept(
    State(app): State<Shared>,
    Extension(who): Extension<Identity>,
    Path(id): Path<i64>,
    Form(f): Form<ConfirmForm>,
) -> Response {
    let r = tokio::task::spawn_blocking(move || {
        if f.confirm.as_deref() != Some("yes") {
            return Err(ActionError::Refused("confirm the revocation".into()));
        }
        actions::revoke_accept(app.store.as_ref(), id, &who.who)
    })
    .await;
    let back = match &r {
        Ok(Ok(Some(d))) => format!("/devices/{d}"),
        _ => "/devices".to_string(),
    };
    outcome(r.map(|x| x.map(|_| ())), &back)
}

use super::pages::viewer;

/// An action's outcome: 303 to `back` when done, a message page otherwise.
fn outcome(r: Result<Result<(), ActionError>, tokio::task::JoinError>, back: &str) -> Response {
    match r {
        Ok(Ok(())) => Redirect::to(back).into_response(),
        Ok(Err(ActionError::NotFound(m))) => deny(StatusCode::NOT_FOUND, back, &m),
        Ok(Err(ActionError::Refused(m))) => deny(StatusCode::BAD_REQUEST, back, &m),
        _ => deny(StatusCode::INTERNAL_SERVER_ERROR, back, "the action failed"),
    }
}

#[derive(serde::Deserialize)]
pub(super) struct StatusForm {
    /// The kid the operator saw (hex): must still be the device's.
    kid: String,
    /// The confirmation checkbox (`yes`).
    confirm: Option<String>,
}

async fn change_status(
    app: Shared,
    who: Identity,
    id: i64,
    f: StatusForm,
    status: &'static str,
) -> Response {
    let back = format!("/devices/{id}");
    let r = tokio::task::spawn_blocking(move || {
        if f.confirm.as_deref() != Some("yes") {
            return Err(ActionError::Refused(
                "confirm that you compared the key id".into(),
            ));
        }
        match app.store.device(id)? {
            Some(d) if crate::hex(&d.kid) == f.kid => {}
            Some(_) => {
                return Err(ActionError::Refused(
                    "the key id differs from the one shown".into(),
                ))
            }
            None => return Err(ActionError::NotFound(format!("device {id} not found"))),
        }
        actions::set_device_status(app.store.as_ref(), id, status, &who.who).map(|_| ())
    })
    .await;
    outcome(r, &back)
}

/// `POST /devices/{id}/approve` (operator; confirmed, kid compared).
pub(super) async fn approve(
    State(app): State<Shared>,
    Extension(who): Extension<Identity>,
    Path(id): Path<i64>,
    Form(f): Form<StatusForm>,
) -> Response {
    change_status(app, who, id, f, "active").await
}

/// `POST /devices/{id}/revoke` (operator; confirmed).
pub(super) async fn revoke(
    State(app): State<Shared>,
    Extension(who): Extension<Identity>,
    Path(id): Path<i64>,
    Form(f): Form<StatusForm>,
) -> Response {
    change_status(app, who, id, f, "revoked").await
}

#[derive(serde::Deserialize)]
pub(super) struct SecretForm {
    site: String,
    /// A duration (`10m`, `1h`); default 1 h, at most 7 days.
    ttl: Option<String>,
}

/// `POST /enrollment-secrets` (operator): a single-use enrollment secret,
/// shown once on the answer (not stored in the clear, never cached).
pub(super) async fn enrollment_secret(
    State(app): State<Shared>,
    Extension(who): Extension<Identity>,
    Form(f): Form<SecretForm>,
) -> Response {
    let ttl =
        match humantime::parse_duration(f.ttl.as_deref().filter(|t| !t.is_empty()).unwrap_or("1h"))
        {
            Ok(d) if d.as_secs() > 0 && d.as_secs() <= 7 * 86400 => d.as_secs() as i64,
            _ => {
                return deny(
                    StatusCode::BAD_REQUEST,
                    "/",
                    "validity: a duration up to 7 days, e.g. 1h",
                )
            }
        };
    let site = f.site.trim().to_string();
    if site.is_empty() || site.len() > 200 {
        return deny(StatusCode::BAD_REQUEST, "/", "site: 1 to 200 characters");
    }
    let v = viewer(&who);
    let s2 = site.clone();
    let r = tokio::task::spawn_blocking(move || {
        actions::enrollment_secret(app.store.as_ref(), &s2, ttl, &who.who)
    })
    .await;
    match r {
        Ok(Ok(secret)) => {
            let mut resp =
                Html(crate::page::secret(&site, ttl, &secret, &v).into_string()).into_response();
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        _ => deny(StatusCode::INTERNAL_SERVER_ERROR, "/", "the action failed"),
    }
}

#[derive(serde::Deserialize)]
pub(super) struct VexForm {
    vuln: String,
    /// A device id; empty: the fleet.
    device: Option<String>,
    status: String,
    justification: Option<String>,
    detail: Option<String>,
    /// The console page to return to (a path on this collector).
    back: Option<String>,
}

/// `back` when it is a path on this collector (no scheme, host or line
/// break), else the overview.
fn local_path(back: Option<&str>) -> String {
    match back {
        Some(b)
            if b.starts_with('/')
                && !b.starts_with("//")
                && b.len() <= 512
                && !b.contains(['\\', '\r', '\n']) =>
        {
            b.to_string()
        }
        _ => "/".to_string(),
    }
}

/// `POST /vex` (operator): records a VEX statement.
pub(super) async fn vex(
    State(app): State<Shared>,
    Extension(who): Extension<Identity>,
    Form(f): Form<VexForm>,
) -> Response {
    let back = local_path(f.back.as_deref());
    let nonempty = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let device = match nonempty(f.device) {
        None => None,
        Some(d) => match d.parse::<i64>() {
            Ok(d) => Some(d),
            Err(_) => {
                return deny(
                    StatusCode::BAD_REQUEST,
                    &back,
                    "device: a device id or empty",
                )
            }
        },
    };
    let vuln = f.vuln.trim().to_string();
    if vuln.is_empty() || vuln.len() > 200 {
        return deny(
            StatusCode::BAD_REQUEST,
            &back,
            "vulnerability: 1 to 200 characters",
        );
    }
    let e = VexEntry {
        vuln,
        device_id: device,
        status: f.status,
        justification: nonempty(f.justification),
        detail: nonempty(f.detail).map(|d| d.chars().take(2000).collect()),
        at: now(),
    };
    let r = tokio::task::spawn_blocking(move || {
        if let Some(d) = e.device_id {
            if app.store.device(d)?.is_none() {
                return Err(ActionError::NotFound(format!("device {d} not found")));
            }
        }
        actions::set_vex(app.store.as_ref(), &e, &who.who)
    })
    .await;
    outcome(r, &back)
}

#[cfg(test)]
mod back_tests {
    #[test]
    fn the_page_to_return_to_stays_on_the_collector() {
        use super::local_path as l;
        assert_eq!(
            l(Some("/vulnerabilities?page=2")),
            "/vulnerabilities?page=2"
        );
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil",
            "/a\r\nSet-Cookie: x",
            "",
        ] {
            assert_eq!(l(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(l(None), "/");
    }
}

#[cfg(test)]
mod tests {
    use super::super::{auth, router, App, PeerCert, Side};
    use crate::store::{SqliteStore, Store};
    use axum::body::Body;
    use axum::http::{header, Request, StatusCode};
    use std::sync::Arc;
    use tower::ServiceExt;

    /// POSTs a form as the signed-in operator `op`: (status, Location).
    async fn post(app: &Arc<App>, path: &str, form: &str) -> (StatusCode, String) {
        let r = router(app.clone(), Side::Operator)
            .layer(axum::Extension(PeerCert(None)))
            .layer(axum::Extension(auth::PeerAddr(None)));
        let req = Request::post(path)
            .header(header::COOKIE, format!("{}=sid", auth::COOKIE))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("csrf=tok&{form}")))
            .unwrap();
        let resp = r.oneshot(req).await.unwrap();
        let loc = resp
            .headers()
            .get(header::LOCATION)
            .map(|l| l.to_str().unwrap().to_string());
        (resp.status(), loc.unwrap_or_default())
    }

    #[tokio::test]
    async fn accept_and_revoke_through_the_console_routes() {
        let s = SqliteStore::memory().unwrap();
        s.add_operator("op", "operator", "$x", 0).unwrap();
        let op = s.operator("op").unwrap().unwrap();
        s.create_op_session(&auth::sha256(b"sid"), op.id, "tok", crate::now())
            .unwrap();
        let d = s.insert_device(b"k", b"u", b"p", "x", 1).unwrap();
        let cats = crate::ceiling::held_catalogs(&s).unwrap();
        let rule = cats.get(cats.versions()[0]).unwrap().rules[0].id.clone();
        let app = Arc::new(App {
            store: Box::new(s),
            silent_after: 60,
            feed_max_age: crate::vuln::feeds::DEFAULT_MAX_AGE,
            fleet: Default::default(),
        });
        let form = format!("rule={rule}&subject=&justification=jump+host+enforces+MFA&expires=30d");
        let back = format!("/devices/{d}");
        let path = format!("{back}/accepts");
        let (code, _) = post(&app, &path, &form).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "unconfirmed");
        let (code, _) = post(
            &app,
            &path,
            &(form.replace("30d", "2001-01-01") + "&confirm=yes"),
        )
        .await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "expired");
        assert!(app.store.accepts_for(d).unwrap().is_empty());
        let (code, loc) = post(&app, &path, &(form + "&confirm=yes")).await;
        assert_eq!((code, loc.as_str()), (StatusCode::SEE_OTHER, back.as_str()));
        let a = app.store.accepts_for(d).unwrap();
        assert_eq!((a.len(), a[0].actor.as_str()), (1, "operator op"));
        let revoke = format!("/accepts/{}/revoke", a[0].id);
        let (code, loc) = post(&app, &revoke, "confirm=yes").await;
        assert_eq!((code, loc.as_str()), (StatusCode::SEE_OTHER, back.as_str()));
        assert!(app.store.accepts_for(d).unwrap().is_empty());
        let (code, _) = post(&app, &revoke, "confirm=yes").await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "already revoked");
        let (code, _) = post(&app, "/accepts/999/revoke", "confirm=yes").await;
        assert_eq!(code, StatusCode::NOT_FOUND);
    }
}
