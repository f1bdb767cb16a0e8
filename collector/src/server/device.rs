//! The device channel (profile §8): sessions, attestation tokens (online and
//! spooled), enrollment, key rotation, SBOM upload by digest. Every handler
//! reads its body within [`super::MAX_BODY`], runs verification and storage
//! on the blocking pool, and answers with the refusal's stable code; the
//! HTTP status comes from [`super::status`].

use super::{err, from_refusal, is_eat, Shared, MAX_BODY, SESSION_TTL};
use crate::verify::{self, Arrival};
use crate::{hex, now, random};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use fieldattest_protocol::rejection::Rejection;
use serde_json::json;

pub(super) async fn create_session(State(app): State<Shared>) -> Response {
    let id = hex(&random(16));
    let nonce = random(32);
    let expiry = now() + SESSION_TTL;
    let r = {
        let (id, nonce) = (id.clone(), nonce.clone());
        tokio::task::spawn_blocking(move || app.store.create_session(&id, &nonce, expiry)).await
    };
    match r {
        Ok(Ok(())) => (
            StatusCode::CREATED,
            Json(json!({"id": id, "nonce": hex(&nonce), "expiry": expiry})),
        )
            .into_response(),
        _ => err(Rejection::Internal, "cannot create session"),
    }
}

/// Reads a body up to [`MAX_BODY`]; larger bodies are refused (and audited)
/// without being buffered whole.
async fn read_limited(app: &Shared, body: axum::body::Body) -> Result<Bytes, Response> {
    use http_body_util::BodyExt;
    match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(_) => {
            let app = app.clone();
            let reason = format!("body larger than {MAX_BODY} bytes");
            let r2 = reason.clone();
            let _ = tokio::task::spawn_blocking(move || {
                app.store.audit(now(), None, None, "rejected", &r2)
            })
            .await;
            Err(err(Rejection::TooLarge, &reason))
        }
    }
}

/// SHA-256 (hex) of the client certificate of the TLS connection (mTLS), set
/// per connection by [`serve`].
#[derive(Debug, Clone, Default)]
pub struct PeerCert(pub Option<String>);

async fn post_token(
    app: Shared,
    headers: HeaderMap,
    body: axum::body::Body,
    session: Option<String>,
    peer: PeerCert,
) -> Response {
    if !is_eat(&headers) {
        return err(
            Rejection::WrongMediaType,
            "Content-Type must be application/eat+cwt",
        );
    }
    let body = match read_limited(&app, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let r = tokio::task::spawn_blocking(move || {
        let arrival = match &session {
            Some(s) => Arrival::Online { session: s.as_str(), peer: peer.0.as_deref() },
            None => Arrival::Offline,
        };
        verify::accept(app.store.as_ref(), &body, arrival, now()).map(|a| json!({"result": "accepted", "device": a.device.id, "seq": a.claims.seq, "missing_seq": a.gap}))
    })
    .await;
    match r {
        Ok(Ok(v)) => (StatusCode::OK, Json(v)).into_response(),
        Ok(Err(rj)) => from_refusal(rj),
        Err(_) => err(Rejection::Internal, "verification task failed"),
    }
}

pub(super) async fn post_session_token(
    State(app): State<Shared>,
    Path(id): Path<String>,
    peer: Option<axum::Extension<PeerCert>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    post_token(
        app,
        headers,
        body,
        Some(id),
        peer.map(|p| p.0).unwrap_or_default(),
    )
    .await
}

pub(super) async fn post_offline_token(
    State(app): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    post_token(app, headers, body, None, PeerCert::default()).await
}

pub(super) async fn enroll(
    State(app): State<Shared>,
    Path(session): Path<String>,
    peer: Option<axum::Extension<PeerCert>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let peer = peer.map(|p| p.0 .0).unwrap_or_default();
    if !is_eat(&headers) {
        return err(
            Rejection::WrongMediaType,
            "Content-Type must be application/eat+cwt",
        );
    }
    let Some(secret) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|s| s.trim().as_bytes().to_vec())
    else {
        return err(
            Rejection::BadEnrollmentSecret,
            "Authorization: Bearer <enrollment secret> required",
        );
    };
    let r = tokio::task::spawn_blocking(move || {
        verify::enroll(
            app.store.as_ref(),
            &secret,
            &body,
            &session,
            peer.as_deref(),
            now(),
        )
    })
    .await;
    match r {
        Ok(Ok(d)) => (
            StatusCode::CREATED,
            Json(json!({"device": d.id, "status": d.status, "kid": hex(&d.kid), "site": d.site})),
        )
            .into_response(),
        Ok(Err(rj)) => from_refusal(rj),
        Err(_) => err(Rejection::Internal, "enrollment task failed"),
    }
}

/// `POST /attestation/v1/rotate/{session}` (profile §11.4): a CBOR sequence
/// (`application/cbor-seq`) of the rotation token signed by the current key
/// and the new key's proof of possession, both over the session nonce.
pub(super) async fn rotate(
    State(app): State<Shared>,
    Path(session): Path<String>,
    peer: Option<axum::Extension<PeerCert>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let peer = peer.map(|p| p.0 .0).unwrap_or_default();
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.trim().eq_ignore_ascii_case("application/cbor-seq") {
        return err(
            Rejection::WrongMediaType,
            "Content-Type must be application/cbor-seq",
        );
    }
    let r = tokio::task::spawn_blocking(move || {
        verify::rotate(app.store.as_ref(), &body, &session, peer.as_deref(), now())
    })
    .await;
    match r {
        Ok(Ok((d, kid, seq))) => (
            StatusCode::OK,
            Json(json!({"result": "rotated", "device": d.id, "kid": hex(&kid), "old_key_valid_below_seq": seq})),
        )
            .into_response(),
        Ok(Err(rj)) => from_refusal(rj),
        Err(_) => err(Rejection::Internal, "rotation task failed"),
    }
}

/// Largest SBOM accepted.
pub const MAX_SBOM: usize = 16 * 1024 * 1024;

/// `PUT /attestation/v1/sbom/{sha256}`: stores an SBOM whose SHA-256 equals the
/// path and that a stored attestation references (the token carries the digest,
/// the body travels separately). 201 new, 200 already stored.
pub(super) async fn put_sbom(
    State(app): State<Shared>,
    Path(digest): Path<String>,
    body: axum::body::Body,
) -> Response {
    use http_body_util::BodyExt;
    let digest = digest.to_ascii_lowercase();
    if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return err(
            Rejection::BadRequest,
            "path must be the SBOM's SHA-256 in hex",
        );
    }
    let body = match http_body_util::Limited::new(body, MAX_SBOM).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            return err(
                Rejection::TooLarge,
                &format!("SBOM larger than {MAX_SBOM} bytes"),
            )
        }
    };
    if hex(ring::digest::digest(&ring::digest::SHA256, &body).as_ref()) != digest {
        return err(
            Rejection::DigestMismatch,
            "body does not match the digest in the path",
        );
    }
    let r = tokio::task::spawn_blocking(move || -> Result<u16, crate::store::StoreError> {
        if !app.store.sbom_referenced(&digest)? {
            return Ok(404);
        }
        Ok(if app.store.put_sbom(&digest, &body, now())? {
            201
        } else {
            200
        })
    })
    .await;
    match r {
        Ok(Ok(404)) => err(
            Rejection::NotReferenced,
            "no stored attestation references this SBOM digest",
        ),
        Ok(Ok(code)) => (
            StatusCode::from_u16(code).unwrap_or(StatusCode::OK),
            Json(json!({"stored": true})),
        )
            .into_response(),
        _ => err(Rejection::Internal, "cannot store SBOM"),
    }
}

/// `GET /attestation/v1/sbom/{sha256}`: 200 when stored, 404 otherwise (the agent
/// uploads only what the collector does not have).
pub(super) async fn has_sbom(State(app): State<Shared>, Path(digest): Path<String>) -> Response {
    let d = digest.to_ascii_lowercase();
    match tokio::task::spawn_blocking(move || app.store.sbom_exists(&d)).await {
        Ok(Ok(true)) => Json(json!({"stored": true})).into_response(),
        Ok(Ok(false)) => err(Rejection::NotFound, "SBOM not stored"),
        _ => err(Rejection::Internal, "SBOM lookup failed"),
    }
}
