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
//!
//! `device.rs` holds the device channel's handlers, `operator.rs` the
//! operator side's; this module assembles the router, TLS and the accept loop.

mod device;
mod headers;
mod operator;

pub use device::PeerCert;

use crate::hex;
use crate::store::Store;
use crate::verify::Refusal;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
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

async fn health() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

pub fn router(app: Shared) -> Router {
    Router::new()
        .route("/", get(operator::page))
        .route("/report/{device}", get(operator::report_page))
        .route("/healthz", get(health))
        .route("/api/v1/fleet", get(operator::api_fleet))
        .route("/api/v1/devices", get(operator::api_devices))
        .route("/attestation/v1/sessions", post(device::create_session))
        .route(
            "/attestation/v1/sessions/{id}",
            post(device::post_session_token),
        )
        .route("/attestation/v1/tokens", post(device::post_offline_token))
        .route("/attestation/v1/enroll/{session}", post(device::enroll))
        .route("/attestation/v1/rotate/{session}", post(device::rotate))
        .route(
            "/attestation/v1/sbom/{digest}",
            axum::routing::put(device::put_sbom).get(device::has_sbom),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(tower::limit::ConcurrencyLimitLayer::new(MAX_CONCURRENT))
        .layer(headers::layer())
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
