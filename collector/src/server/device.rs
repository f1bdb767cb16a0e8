//! The device channel (profile §8): sessions, attestation tokens (online and
//! spooled), enrollment, key rotation, SBOM upload by digest. Every handler
//! reads its body within [`super::MAX_BODY`], runs verification and storage
//! on the blocking pool, and answers with the refusal's stable code; the
//! HTTP status comes from [`super::status`].

use super::limits::{read_body, Buffered, Shield, Source};
use super::{err, from_refusal, is_eat, Shared, MAX_BODY, SESSION_TTL};
use crate::store::NewSession;
use crate::verify::{self, Arrival, Requester};
use crate::{hex, now, random};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use fieldattest_protocol::rejection::Rejection;
use serde_json::json;
use std::sync::Arc;

/// The requester of a request: its address and client certificate.
fn requester(peer: &Option<Extension<PeerCert>>, source: &Option<Extension<Source>>) -> Requester {
    Requester {
        source: source.as_ref().and_then(|s| s.0.text()),
        peer: peer.as_ref().and_then(|p| p.0 .0.clone()),
    }
}

fn source_of(source: &Option<Extension<Source>>) -> Source {
    source.as_ref().map(|s| s.0).unwrap_or_default()
}

/// Whether the request's single `Content-Type` is exactly `want` (RFC 9110
/// §8.3: type and subtype case-insensitive, optional whitespace and
/// parameters after `;`). `application/eat+cwtjunk` is not `application/eat+cwt`.
pub(super) fn media_type_is(headers: &HeaderMap, want: &str) -> bool {
    let mut all = headers.get_all(header::CONTENT_TYPE).iter();
    let (Some(v), None) = (all.next(), all.next()) else {
        return false;
    };
    let Ok(v) = v.to_str() else {
        return false;
    };
    let essence = v.split(';').next().unwrap_or("").trim_matches([' ', '\t']);
    essence.eq_ignore_ascii_case(want)
}

pub(super) async fn create_session(
    State(app): State<Shared>,
    Extension(shield): Extension<Arc<Shield>>,
    peer: Option<Extension<PeerCert>>,
    source: Option<Extension<Source>>,
) -> Response {
    let _work = match shield.work(source_of(&source)).await {
        Ok(w) => w,
        Err(r) => return r.into_response(),
    };
    let from = requester(&peer, &source);
    let t = now();
    let s = NewSession {
        id: hex(&random(16)),
        nonce: random(32),
        expires: t + SESSION_TTL,
        now: t,
        source: from.source,
        peer: from.peer,
    };
    let caps = shield.limits.sessions;
    let r = {
        let s = s.clone();
        tokio::task::spawn_blocking(move || app.store.open_session(&s, caps)).await
    };
    match r {
        Ok(Ok(true)) => (
            StatusCode::CREATED,
            Json(json!({"id": s.id, "nonce": hex(&s.nonce), "expiry": s.expires})),
        )
            .into_response(),
        Ok(Ok(false)) => err(
            Rejection::Busy,
            "too many open sessions; retry after the oldest expire",
        ),
        Ok(Err(e)) => store_failed(Some(e), "cannot create session"),
        Err(_) => store_failed(None, "cannot create session"),
    }
}

/// The answer to a request whose storage step failed: 503 `unavailable`
/// while the database is away (the device retries later), else 500
/// `internal` naming `what` failed.
fn store_failed(e: Option<crate::store::StoreError>, what: &str) -> Response {
    match e {
        Some(crate::store::StoreError::Unavailable(_)) => err(
            Rejection::Unavailable,
            "the collector's database is unavailable; retry later",
        ),
        _ => err(Rejection::Internal, what),
    }
}

/// The answer of a verification run on the blocking pool: `ok` on success,
/// the refusal's code and status, or `internal` when the task itself failed
/// (`what` names it: "verification task failed").
fn answer<T>(
    r: Result<Result<T, verify::Refusal>, tokio::task::JoinError>,
    what: &str,
    ok: impl FnOnce(T) -> Response,
) -> Response {
    match r {
        Ok(Ok(v)) => ok(v),
        Ok(Err(rj)) => from_refusal(rj),
        Err(_) => err(Rejection::Internal, &format!("{what} task failed")),
    }
}

/// Reads a body up to [`MAX_BODY`] within the shield's memory budget; a
/// refused body is audited (bounded and coalesced per source) and never
/// buffered whole.
async fn read_limited(
    app: &Shared,
    shield: &Shield,
    headers: &HeaderMap,
    body: Body,
    from: &Requester,
) -> Result<Buffered, Response> {
    match read_body(headers, body, MAX_BODY, shield.body_budget()).await {
        Ok(b) => Ok(b),
        Err((code, reason)) => {
            let app = app.clone();
            let (r2, src) = (reason.clone(), from.source.clone());
            let _ = tokio::task::spawn_blocking(move || {
                app.store
                    .audit_from(src.as_deref(), now(), None, None, "rejected", &r2)
            })
            .await;
            Err(err(code, &reason))
        }
    }
}

/// SHA-256 (hex) of the client certificate of the TLS connection (mTLS), set
/// per connection by [`serve`].
#[derive(Debug, Clone, Default)]
pub struct PeerCert(pub Option<String>);

async fn post_token(
    app: Shared,
    shield: Arc<Shield>,
    headers: HeaderMap,
    body: Body,
    session: Option<String>,
    from: Requester,
    source: Source,
) -> Response {
    if !is_eat(&headers) {
        return err(
            Rejection::WrongMediaType,
            "Content-Type must be application/eat+cwt",
        );
    }
    let body = match read_limited(&app, &shield, &headers, body, &from).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let _work = match shield.work(source).await {
        Ok(w) => w,
        Err(r) => return r.into_response(),
    };
    let r = tokio::task::spawn_blocking(move || {
        let arrival = match &session {
            Some(s) => Arrival::Online { session: s.as_str(), peer: from.peer.as_deref() },
            None => Arrival::Offline,
        };
        verify::accept_from(app.store.as_ref(), &body.bytes, arrival, &from, now()).map(|a| json!({"result": "accepted", "device": a.device.id, "seq": a.claims.seq, "missing_seq": a.gap}))
    })
    .await;
    answer(r, "verification", |v| {
        (StatusCode::OK, Json(v)).into_response()
    })
}

pub(super) async fn post_session_token(
    State(app): State<Shared>,
    Extension(shield): Extension<Arc<Shield>>,
    Path(id): Path<String>,
    peer: Option<Extension<PeerCert>>,
    source: Option<Extension<Source>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let from = requester(&peer, &source);
    post_token(
        app,
        shield,
        headers,
        body,
        Some(id),
        from,
        source_of(&source),
    )
    .await
}

pub(super) async fn post_offline_token(
    State(app): State<Shared>,
    Extension(shield): Extension<Arc<Shield>>,
    peer: Option<Extension<PeerCert>>,
    source: Option<Extension<Source>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let from = requester(&peer, &source);
    post_token(app, shield, headers, body, None, from, source_of(&source)).await
}

pub(super) async fn enroll(
    State(app): State<Shared>,
    Extension(shield): Extension<Arc<Shield>>,
    Path(session): Path<String>,
    peer: Option<Extension<PeerCert>>,
    source: Option<Extension<Source>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let from = requester(&peer, &source);
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
    let body = match read_limited(&app, &shield, &headers, body, &from).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let _work = match shield.work(source_of(&source)).await {
        Ok(w) => w,
        Err(r) => return r.into_response(),
    };
    let r = tokio::task::spawn_blocking(move || {
        verify::enroll(
            app.store.as_ref(),
            &secret,
            &body.bytes,
            &session,
            &from,
            now(),
        )
    })
    .await;
    answer(r, "enrollment", |d| {
        (
            StatusCode::CREATED,
            Json(json!({"device": d.id, "status": d.status, "kid": hex(&d.kid), "site": d.site})),
        )
            .into_response()
    })
}

/// `POST /attestation/v1/rotate/{session}` (profile §11.4): a CBOR sequence
/// (`application/cbor-seq`) of the rotation token signed by the current key
/// and the new key's proof of possession, both over the session nonce.
pub(super) async fn rotate(
    State(app): State<Shared>,
    Extension(shield): Extension<Arc<Shield>>,
    Path(session): Path<String>,
    peer: Option<Extension<PeerCert>>,
    source: Option<Extension<Source>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let from = requester(&peer, &source);
    if !media_type_is(&headers, "application/cbor-seq") {
        return err(
            Rejection::WrongMediaType,
            "Content-Type must be application/cbor-seq",
        );
    }
    let body = match read_limited(&app, &shield, &headers, body, &from).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let _work = match shield.work(source_of(&source)).await {
        Ok(w) => w,
        Err(r) => return r.into_response(),
    };
    let r = tokio::task::spawn_blocking(move || {
        verify::rotate(app.store.as_ref(), &body.bytes, &session, &from, now())
    })
    .await;
    answer(r, "rotation", |(d, kid, seq)| {
        (
            StatusCode::OK,
            Json(json!({"result": "rotated", "device": d.id, "kid": hex(&kid), "old_key_valid_below_seq": seq})),
        )
            .into_response()
    })
}

/// Largest SBOM accepted.
pub const MAX_SBOM: usize = 16 * 1024 * 1024;

/// `PUT /attestation/v1/sbom/{sha256}`: stores an SBOM whose SHA-256 equals the
/// path and that a stored attestation references (the token carries the digest,
/// the body travels separately). 201 new, 200 already stored.
pub(super) async fn put_sbom(
    State(app): State<Shared>,
    Extension(shield): Extension<Arc<Shield>>,
    Path(digest): Path<String>,
    peer: Option<Extension<PeerCert>>,
    source: Option<Extension<Source>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let from = requester(&peer, &source);
    let digest = digest.to_ascii_lowercase();
    if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return err(
            Rejection::BadRequest,
            "path must be the SBOM's SHA-256 in hex",
        );
    }
    // Before reading the body: a stored attestation must reference the
    // digest, and over mTLS one of the devices referencing it must be the
    // one bound to this certificate (or bound to none).
    let check = {
        let (app, d, peer) = (app.clone(), digest.clone(), from.peer.clone());
        tokio::task::spawn_blocking(
            move || -> Result<Option<Rejection>, crate::store::StoreError> {
                let devices = app.store.sbom_devices(&d)?;
                if devices.is_empty() {
                    return Ok(Some(Rejection::NotReferenced));
                }
                let Some(p) = peer else { return Ok(None) };
                for id in devices {
                    match app.store.tls_binding(id)? {
                        Some(b) if b != p => {}
                        _ => return Ok(None),
                    }
                }
                Ok(Some(Rejection::ClientCertificateMismatch))
            },
        )
        .await
    };
    match check {
        Ok(Ok(None)) => {}
        Ok(Ok(Some(Rejection::NotReferenced))) => {
            return err(
                Rejection::NotReferenced,
                "no stored attestation references this SBOM digest",
            )
        }
        Ok(Ok(Some(code))) => {
            return err(
                code,
                "client certificate does not belong to a device that attested this SBOM",
            )
        }
        Ok(Err(e)) => return store_failed(Some(e), "SBOM lookup failed"),
        Err(_) => return store_failed(None, "SBOM lookup failed"),
    }
    let _upload = match shield.sbom_upload(source_of(&source)) {
        Ok(u) => u,
        Err(r) => return r.into_response(),
    };
    let body = match read_body(&headers, body, MAX_SBOM, shield.sbom_budget()).await {
        Ok(b) => b,
        Err((Rejection::TooLarge, _)) => {
            return err(
                Rejection::TooLarge,
                &format!("SBOM larger than {MAX_SBOM} bytes"),
            )
        }
        Err((code, reason)) => return err(code, &reason),
    };
    if hex(ring::digest::digest(&ring::digest::SHA256, &body.bytes).as_ref()) != digest {
        return err(
            Rejection::DigestMismatch,
            "body does not match the digest in the path",
        );
    }
    let _work = match shield.work(source_of(&source)).await {
        Ok(w) => w,
        Err(r) => return r.into_response(),
    };
    let r =
        tokio::task::spawn_blocking(move || app.store.put_sbom(&digest, &body.bytes, now())).await;
    match r {
        Ok(Ok(new)) => (
            if new {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            Json(json!({"stored": true})),
        )
            .into_response(),
        Ok(Err(e)) => store_failed(Some(e), "cannot store SBOM"),
        Err(_) => store_failed(None, "cannot store SBOM"),
    }
}

/// `GET /attestation/v1/sbom/{sha256}`: 200 when stored, 404 otherwise (the agent
/// uploads only what the collector does not have).
pub(super) async fn has_sbom(State(app): State<Shared>, Path(digest): Path<String>) -> Response {
    let d = digest.to_ascii_lowercase();
    match tokio::task::spawn_blocking(move || app.store.sbom_exists(&d)).await {
        Ok(Ok(true)) => Json(json!({"stored": true})).into_response(),
        Ok(Ok(false)) => err(Rejection::NotFound, "SBOM not stored"),
        Ok(Err(e)) => store_failed(Some(e), "SBOM lookup failed"),
        Err(_) => store_failed(None, "SBOM lookup failed"),
    }
}
