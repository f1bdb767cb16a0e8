//! HTTPS API (profile §8) on axum/hyper with rustls (TLS 1.3 only, ring
//! provider), optional client-certificate authentication, and hard limits:
//! body size before reading, TLS handshake and header read timeouts, a
//! concurrency limit. Errors are JSON `{"error": REASON, "code": CODE}`:
//! the human reason and the protocol's stable refusal code
//! (`fieldattest_protocol::rejection`); the HTTP status of each code is
//! chosen here, in [`status`], and nowhere else.
//!
//! - `POST /attestation/v1/sessions` → 201 `{id, nonce (hex), expiry}`
//! - `POST /attestation/v1/sessions/{id}` (application/eat+cwt) → 200 / 4xx
//! - `POST /attestation/v1/tokens` (spooled token, no session) → 200 / 4xx
//! - `POST /attestation/v1/enroll/{session}` + `Authorization: Bearer <secret>` → 201
//! - `POST /attestation/v1/rotate/{session}` (application/cbor-seq) — key rotation
//! - `PUT|GET /attestation/v1/sbom/{sha256}` — SBOM upload by digest / existence check
//! - `GET /healthz`, `GET /` (fleet page), `GET /report/{device}` (evidence report),
//!   `GET /api/v1/fleet`, `GET /api/v1/devices`

use crate::store::Store;
use crate::verify::{self, Arrival, Refusal};
use crate::{fleet, hex, now, random};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fieldattest_protocol::rejection::Rejection;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Largest accepted request body (a token is at most 256 KiB).
pub const MAX_BODY: usize = 256 * 1024;
pub const SESSION_TTL: i64 = 300;
pub const MAX_CONCURRENT: usize = 256;

pub struct App {
    pub store: Box<dyn Store>,
    /// Devices silent longer than this are flagged in the fleet view.
    pub silent_after: i64,
}

type Shared = Arc<App>;

/// The HTTP status of a refusal reason.
pub fn status(r: Rejection) -> StatusCode {
    use Rejection as R;
    match r {
        R::Malformed
        | R::BadRequest
        | R::BadSignature
        | R::BadClaims
        | R::WrongIntendedUse
        | R::WrongNonce
        | R::BadEnrollment
        | R::BadRotation
        | R::BadProofOfPossession
        | R::BadManifest
        | R::IncompleteBundle
        | R::DigestMismatch => StatusCode::BAD_REQUEST,
        R::BadEnrollmentSecret => StatusCode::UNAUTHORIZED,
        R::UnknownDevice
        | R::Pending
        | R::Revoked
        | R::UeidMismatch
        | R::ClientCertificateMismatch
        | R::RetiredKey => StatusCode::FORBIDDEN,
        R::UnknownSession | R::NotReferenced | R::NotFound => StatusCode::NOT_FOUND,
        R::SessionExpired => StatusCode::GONE,
        R::NonceReplayed
        | R::DuplicateCti
        | R::SequenceNotIncreasing
        | R::AlreadyEnrolled
        | R::KeyAlreadyKnown => StatusCode::CONFLICT,
        R::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        R::WrongMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        R::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The JSON error answer: the status of `code`, the human reason and the code.
fn err(code: Rejection, reason: &str) -> Response {
    (
        status(code),
        Json(json!({"error": reason, "code": code.code()})),
    )
        .into_response()
}

fn from_refusal(r: Refusal) -> Response {
    err(r.code, &r.reason)
}

fn is_eat(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim_start().starts_with("application/eat+cwt"))
        .unwrap_or(false)
}

async fn create_session(State(app): State<Shared>) -> Response {
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

async fn post_session_token(
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

async fn post_offline_token(
    State(app): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    post_token(app, headers, body, None, PeerCert::default()).await
}

async fn enroll(
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
async fn rotate(
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
async fn put_sbom(
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
async fn has_sbom(State(app): State<Shared>, Path(digest): Path<String>) -> Response {
    let d = digest.to_ascii_lowercase();
    match tokio::task::spawn_blocking(move || app.store.sbom_exists(&d)).await {
        Ok(Ok(true)) => Json(json!({"stored": true})).into_response(),
        Ok(Ok(false)) => err(Rejection::NotFound, "SBOM not stored"),
        _ => err(Rejection::Internal, "SBOM lookup failed"),
    }
}

async fn health() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

async fn api_fleet(State(app): State<Shared>) -> Response {
    match tokio::task::spawn_blocking(move || {
        fleet::fleet(app.store.as_ref(), now(), app.silent_after)
    })
    .await
    {
        Ok(Ok(v)) => Json(v).into_response(),
        _ => err(Rejection::Internal, "fleet query failed"),
    }
}

async fn api_devices(State(app): State<Shared>) -> Response {
    match tokio::task::spawn_blocking(move || fleet::devices(app.store.as_ref(), now())).await {
        Ok(Ok(v)) => Json(v).into_response(),
        _ => err(Rejection::Internal, "device query failed"),
    }
}

/// The read-only fleet page: devices with status and last attestation age,
/// failing rules per device, fleet summary. Server-rendered, no scripts.
async fn page(State(app): State<Shared>) -> Response {
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
async fn report_page(State(app): State<Shared>, Path(id): Path<i64>) -> Response {
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

pub fn router(app: Shared) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/report/{device}", get(report_page))
        .route("/healthz", get(health))
        .route("/api/v1/fleet", get(api_fleet))
        .route("/api/v1/devices", get(api_devices))
        .route("/attestation/v1/sessions", post(create_session))
        .route("/attestation/v1/sessions/{id}", post(post_session_token))
        .route("/attestation/v1/tokens", post(post_offline_token))
        .route("/attestation/v1/enroll/{session}", post(enroll))
        .route("/attestation/v1/rotate/{session}", post(rotate))
        .route(
            "/attestation/v1/sbom/{digest}",
            axum::routing::put(put_sbom).get(has_sbom),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(tower::limit::ConcurrencyLimitLayer::new(MAX_CONCURRENT))
        .with_state(app)
}

/// TLS configuration: TLS 1.3 only; client certificates required when
/// `client_ca` is given (mTLS).
pub fn tls_config(
    cert_pem: &[u8],
    key_pem: &[u8],
    client_ca: Option<&[u8]>,
) -> Result<rustls::ServerConfig, String> {
    let certs: Vec<_> = rustls_pemfile::certs(&mut &cert_pem[..])
        .collect::<Result<_, _>>()
        .map_err(|e| format!("certificate: {e}"))?;
    let key = rustls_pemfile::private_key(&mut &key_pem[..])
        .map_err(|e| format!("key: {e}"))?
        .ok_or("no private key in key file")?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?;
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in rustls_pemfile::certs(&mut &ca[..]) {
                roots
                    .add(c.map_err(|e| format!("client CA: {e}"))?)
                    .map_err(|e| format!("client CA: {e}"))?;
            }
            let v = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| format!("client CA: {e}"))?;
            builder.with_client_cert_verifier(v)
        }
        None => builder.with_no_client_auth(),
    };
    let mut cfg = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate/key: {e}"))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

/// Serves until the future `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: rustls::ServerConfig,
    app: Shared,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let router = router(app);
    tokio::pin!(shutdown);
    loop {
        let (tcp, _peer): (tokio::net::TcpStream, SocketAddr) = tokio::select! {
            r = listener.accept() => match r { Ok(x) => x, Err(_) => continue },
            _ = &mut shutdown => return,
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let Ok(Ok(tls)) =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
            else {
                return;
            };
            let peer = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| hex(ring::digest::digest(&ring::digest::SHA256, c.as_ref()).as_ref()));
            let svc = hyper_util::service::TowerToHyperService::new(
                router.layer(axum::Extension(PeerCert(peer))),
            );
            let mut b = hyper::server::conn::http1::Builder::new();
            b.timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .keep_alive(true);
            let _ = TokioExecutor::new();
            let _ = b.serve_connection(TokioIo::new(tls), svc).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_a_client_status_and_only_internal_is_a_server_error() {
        for r in Rejection::ALL {
            let s = status(r);
            if r == Rejection::Internal {
                assert!(s.is_server_error());
            } else {
                assert!(s.is_client_error(), "{r}: {s}");
            }
        }
        assert_eq!(status(Rejection::DuplicateCti), StatusCode::CONFLICT);
        assert_eq!(status(Rejection::TooLarge), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(status(Rejection::SessionExpired), StatusCode::GONE);
        assert_eq!(status(Rejection::UnknownDevice), StatusCode::FORBIDDEN);
    }
}
