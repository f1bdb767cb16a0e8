//! HTTPS API (profile §8) on axum/hyper with rustls (TLS 1.3 only, ring provider), optional
//! client-certificate authentication, and hard limits: body size before reading, TLS handshake
//! and header read timeouts, a concurrency limit. Errors are JSON `{"error": REASON, "code": CODE}`:
//! the human reason and the protocol's stable refusal code (`fieldattest_protocol::rejection`);
//! the HTTP status of each code is chosen here, in [`status`], and nowhere else.
//!
//! Two listeners, each with its own router built from the one route table [`ROUTES`]: the device
//! channel (`--listen`: `/attestation/v1/*`, `/healthz`) and the operator side (`--operator-listen`:
//! the console, `/login`, `/logout`, `/report/{id}`, the actions and `/api/v1/*`). A route of one
//! side does not exist on the other (404). Every operator route names the least role it needs and
//! runs behind `auth::guard`. `device.rs` holds the device channel's handlers, `operator.rs` the
//! operator side's, `auth.rs` identity and authorization, `actions.rs` the operator actions; this
//! module assembles the routers, TLS and the accept loops.

pub mod actions;
pub mod auth;
mod device;
mod headers;
mod limits;
mod operator;
mod pages;
mod tls;

pub use tls::tls_config;

pub use device::PeerCert;
pub use limits::{Limits, Shield, Source};

use crate::hex;
use crate::store::Store;
use crate::verify::Refusal;
use auth::{PeerAddr, Role};
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put, MethodRouter};
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
    /// Feeds older than this (seconds) are flagged stale on the console.
    pub feed_max_age: i64,
    /// The fleet vulnerability view, kept per scope and refreshed in the
    /// background after changes (`vuln::fleet_cache`).
    pub fleet: crate::vuln::FleetCache,
}

type Shared = Arc<App>;

/// Seconds between two checks for a changed fleet vulnerability view.
const FLEET_REFRESH: u64 = 2;

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
        | R::KeyAlreadyKnown
        | R::UeidInUse => StatusCode::CONFLICT,
        R::Busy => StatusCode::TOO_MANY_REQUESTS,
        R::Timeout => StatusCode::REQUEST_TIMEOUT,
        R::Unconvertible => StatusCode::UNPROCESSABLE_ENTITY,
        R::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        R::WrongMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        R::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        R::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
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
    device::media_type_is(headers, "application/eat+cwt")
}

pub(crate) async fn health() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// Which listener a route lives on and who may call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The device channel (`--listen`): devices authenticate by the
    /// protocol itself (signed tokens, enrollment secrets, mTLS binding).
    Device,
    /// The operator listener, no sign-in (the sign-in page itself).
    Public,
    /// The operator listener, signed in with at least this role.
    Role(Role),
}

/// One route: method, path, access, handler.
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    handler: Handler,
}

/// A route's method router builder; [`route`] makes a table row.
type Handler = fn() -> MethodRouter<Shared>;
const fn route(method: Method, path: &'static str, access: Access, handler: Handler) -> RouteSpec {
    RouteSpec {
        method,
        path,
        access,
        handler,
    }
}

const VIEWER: Access = Access::Role(Role::Viewer);
const OPERATOR: Access = Access::Role(Role::Operator);
const ADMIN: Access = Access::Role(Role::Admin);

/// Every route of the collector, each with the access it needs. Nothing
/// is routed that is not in this table.
pub static ROUTES: &[RouteSpec] = &[
    // The device channel.
    route(Method::GET, "/healthz", Access::Device, || get(health)),
    route(
        Method::POST,
        "/attestation/v1/sessions",
        Access::Device,
        || post(device::create_session),
    ),
    route(
        Method::POST,
        "/attestation/v1/sessions/{id}",
        Access::Device,
        || post(device::post_session_token),
    ),
    route(
        Method::POST,
        "/attestation/v1/tokens",
        Access::Device,
        || post(device::post_offline_token),
    ),
    route(
        Method::POST,
        "/attestation/v1/enroll/{session}",
        Access::Device,
        || post(device::enroll),
    ),
    route(
        Method::POST,
        "/attestation/v1/rotate/{session}",
        Access::Device,
        || post(device::rotate),
    ),
    route(
        Method::PUT,
        "/attestation/v1/sbom/{digest}",
        Access::Device,
        || put(device::put_sbom),
    ),
    route(
        Method::GET,
        "/attestation/v1/sbom/{digest}",
        Access::Device,
        || get(device::has_sbom),
    ),
    // The operator side.
    route(Method::GET, "/login", Access::Public, || {
        get(auth::login_page)
    }),
    route(Method::POST, "/login", Access::Public, || post(auth::login)),
    route(Method::POST, "/logout", VIEWER, || post(auth::logout)),
    route(Method::GET, "/assets/{name}", Access::Public, || {
        get(pages::asset)
    }),
    route(Method::GET, "/", VIEWER, || get(pages::overview)),
    route(Method::GET, "/devices", VIEWER, || get(pages::devices)),
    route(Method::GET, "/findings", VIEWER, || get(pages::findings)),
    route(Method::GET, "/vulnerabilities", VIEWER, || {
        get(pages::vulnerabilities)
    }),
    route(Method::GET, "/devices.csv", VIEWER, || {
        get(pages::export_csv)
    }),
    route(Method::GET, "/devices.json", VIEWER, || {
        get(pages::export_json)
    }),
    route(Method::GET, "/enroll", OPERATOR, || get(operator::page)),
    route(Method::GET, "/report/{device}", VIEWER, || {
        get(operator::report_page)
    }),
    route(Method::GET, "/devices/{id}", VIEWER, || {
        get(operator::device_page)
    }),
    route(Method::POST, "/devices/{id}/approve", OPERATOR, || {
        post(operator::approve)
    }),
    route(Method::POST, "/devices/{id}/revoke", OPERATOR, || {
        post(operator::revoke)
    }),
    route(Method::POST, "/devices/{id}/accepts", OPERATOR, || {
        post(operator::accept)
    }),
    route(Method::POST, "/accepts/{id}/revoke", OPERATOR, || {
        post(operator::unaccept)
    }),
    route(Method::POST, "/enrollment-secrets", OPERATOR, || {
        post(operator::enrollment_secret)
    }),
    route(Method::POST, "/vex", OPERATOR, || post(operator::vex)),
    route(Method::GET, "/api/v1/fleet", VIEWER, || {
        get(operator::api_fleet)
    }),
    route(Method::GET, "/api/v1/devices", VIEWER, || {
        get(operator::api_devices)
    }),
    route(Method::GET, "/api/v1/devices/{id}/sbom", OPERATOR, || {
        get(operator::api_device_sbom)
    }),
    route(Method::GET, "/api/v1/audit", ADMIN, || {
        get(operator::api_audit)
    }),
];

/// The two listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Device,
    Operator,
}

impl Access {
    pub fn side(self) -> Side {
        match self {
            Access::Device => Side::Device,
            Access::Public | Access::Role(_) => Side::Operator,
        }
    }
}

/// The router of one listener: the routes of [`ROUTES`] on that side, each
/// operator route behind `auth::guard` with its role.
pub fn router(app: Shared, side: Side) -> Router {
    router_with(app, side, Shield::new(Limits::default()))
}

/// [`router`] with the limits of `shield` (shared by both listeners:
/// deadline, work and memory limits, catch-panic; see `limits.rs`).
pub fn router_with(app: Shared, side: Side, shield: Arc<Shield>) -> Router {
    let mut r = Router::new();
    for spec in ROUTES.iter().filter(|s| s.access.side() == side) {
        let mut h = (spec.handler)();
        if let Access::Role(role) = spec.access {
            h = h.route_layer(axum::middleware::from_fn_with_state(
                (app.clone(), role),
                auth::guard,
            ));
        }
        r = r.route(spec.path, h);
    }
    let r = r.layer(DefaultBodyLimit::max(MAX_BODY));
    // The device channel takes work slots per source inside its handlers
    // (limits.rs); the operator side has one global concurrency limit.
    let r = match side {
        Side::Device => r,
        Side::Operator => r
            .layer(tower::limit::ConcurrencyLimitLayer::new(MAX_CONCURRENT))
            .layer(axum::middleware::from_fn(headers::timing)),
    };
    // Both sides: a whole-request deadline, the shield for the handlers,
    // panics answered 500 with the internal refusal code.
    r.layer(axum::middleware::from_fn_with_state(
        shield.clone(),
        limits::deadline,
    ))
    .layer(axum::Extension(shield))
    .layer(axum::middleware::from_fn(limits::catch_panic))
    // Security headers on every response, errors and panics included.
    .layer(headers::layer())
    .with_state(app)
}

/// A listener: the socket, its TLS configuration, the side it serves.
pub struct Listener {
    pub socket: tokio::net::TcpListener,
    pub tls: rustls::ServerConfig,
    pub side: Side,
}

/// Serves every listener until the future `shutdown` completes.
pub async fn serve(
    listeners: Vec<Listener>,
    app: Shared,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    // One shield for both listeners: connection, work and memory limits are
    // the process's, whichever side a request arrives on.
    let shield = Shield::new(Limits::default());
    for l in listeners {
        let router = router_with(app.clone(), l.side, shield.clone());
        let mut stopped = stopped.clone();
        let shield = shield.clone();
        tasks.push(tokio::spawn(async move {
            accept_loop(l.socket, l.tls, router, shield, async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
        }));
    }
    // The daily posture (posture.rs): at start, then every INTERVAL.
    let recorder = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(crate::posture::INTERVAL));
            loop {
                tick.tick().await;
                let app = app.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    let (store, now) = (app.store.as_ref(), crate::now());
                    let view = app.fleet.view(store, &Default::default(), now)?;
                    crate::posture::record_view(store, now, app.silent_after, &view.rows)
                })
                .await;
            }
        })
    };
    // The kept fleet vulnerability views (vuln/fleet_cache.rs): computed at
    // start, then recomputed after each change, one at a time.
    let refresher = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(FLEET_REFRESH));
            loop {
                tick.tick().await;
                let app = app.clone();
                let r = tokio::task::spawn_blocking(move || {
                    app.fleet.refresh(app.store.as_ref(), crate::now())
                })
                .await;
                if let Ok(Err(x)) = r {
                    eprintln!("fieldattest-collector: fleet vulnerability view: {x}");
                }
            }
        })
    };
    shutdown.await;
    recorder.abort();
    refresher.abort();
    let _ = stop.send(true);
    for t in tasks {
        let _ = t.await;
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    tls: rustls::ServerConfig,
    router: Router,
    shield: Arc<Shield>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer_addr): (tokio::net::TcpStream, SocketAddr) = tokio::select! {
            r = listener.accept() => match r { Ok(x) => x, Err(_) => continue },
            _ = &mut shutdown => return,
        };
        // Connection limits (limits.rs): over them, the connection is closed.
        let Some(admitted) = shield.admit(peer_addr.ip()) else {
            continue;
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let _admitted = admitted;
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
                router
                    .layer(axum::Extension(PeerCert(peer)))
                    .layer(axum::Extension(PeerAddr(Some(peer_addr.ip()))))
                    .layer(axum::Extension(Source(Some(peer_addr.ip())))),
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
mod tests;
