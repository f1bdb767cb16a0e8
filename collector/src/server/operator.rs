//! The operator side: the console (fleet page, device page, the actions of
//! role operator), the printable evidence report of a device, and the JSON
//! API. Every handler here runs behind `auth::guard` (see the route table).

use super::actions::{self, ActionError};
use super::auth::{deny, Identity, Role};
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

/// The console's fleet page: devices with status and last attestation age,
/// failing rules per device, fleet summary; for role operator the pending
/// devices to review and the enrollment and VEX forms. Server-rendered, no scripts.
pub(super) async fn page(
    State(app): State<Shared>,
    Extension(who): Extension<Identity>,
) -> Response {
    let v = viewer(&who);
    let r = tokio::task::spawn_blocking(move || {
        crate::page::console(app.store.as_ref(), now(), app.silent_after, &v)
    })
    .await;
    match r {
        Ok(Ok(h)) => Html(h.into_string()).into_response(),
        _ => err(Rejection::Internal, "page failed"),
    }
}

/// `GET /report/{device}`: the printable IEC 62443-4-2 evidence report of a
/// device (the same HTML as `fieldattest-collector report --format html`).
pub(super) async fn report_page(State(app): State<Shared>, Path(id): Path<i64>) -> Response {
    let r = tokio::task::spawn_blocking(move || -> Result<Option<String>, String> {
        if app.store.device(id)?.is_none() {
            return Ok(None);
        }
        let ms = crate::vuln::matches(app.store.as_ref())?;
        let r = crate::evidence::device(app.store.as_ref(), id, 2, &ms)?;
        Ok(Some(crate::evidence::html(&[r], &crate::timestamp())))
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

/// `GET /devices/{id}`: one device with its full kid, and (role operator)
/// the approve and revoke forms.
pub(super) async fn device_page(
    State(app): State<Shared>,
    Extension(who): Extension<Identity>,
    Path(id): Path<i64>,
) -> Response {
    let r = tokio::task::spawn_blocking(move || app.store.device(id)).await;
    match r {
        Ok(Ok(Some(d))) => {
            Html(crate::page::device(&d, &viewer(&who)).into_string()).into_response()
        }
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

fn viewer(who: &Identity) -> crate::page::Viewer {
    crate::page::Viewer {
        who: who.who.clone(),
        role: who.role.as_str(),
        may_act: who.role >= Role::Operator,
        csrf: who.csrf.clone().unwrap_or_default(),
    }
}

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
}

/// `POST /vex` (operator): records a VEX statement.
pub(super) async fn vex(
    State(app): State<Shared>,
    Extension(who): Extension<Identity>,
    Form(f): Form<VexForm>,
) -> Response {
    let nonempty = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let device = match nonempty(f.device) {
        None => None,
        Some(d) => match d.parse::<i64>() {
            Ok(d) => Some(d),
            Err(_) => return deny(StatusCode::BAD_REQUEST, "/", "device: a device id or empty"),
        },
    };
    let vuln = f.vuln.trim().to_string();
    if vuln.is_empty() || vuln.len() > 200 {
        return deny(
            StatusCode::BAD_REQUEST,
            "/",
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
    outcome(r, "/")
}
