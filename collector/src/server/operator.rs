//! The operator side: the fleet page, the printable evidence report of a
//! device, and the read-only JSON API.

use super::{err, Shared};
use crate::{fleet, now};
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
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

/// The read-only fleet page: devices with status and last attestation age,
/// failing rules per device, fleet summary. Server-rendered, no scripts.
pub(super) async fn page(State(app): State<Shared>) -> Response {
    let r = tokio::task::spawn_blocking(move || {
        crate::page::fleet(app.store.as_ref(), now(), app.silent_after)
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
