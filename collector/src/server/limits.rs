//! Denial-of-service limits of the device channel (IEC 62443-4-2 CR 7.1) and
//! crash containment. Every bound is a field of [`Limits`] (defaults in
//! [`Limits::default`], stated in the README under "Bounds"):
//!
//! - **Connections**: at most `max_connections` at once, `max_connections_per_source`
//!   from one address; beyond, a new connection is closed at accept
//!   ([`Shield::admit`]).
//! - **Whole-request deadline** including the body: `request_deadline`
//!   (`sbom_deadline` for SBOM uploads), then 408 `timeout`
//!   ([`deadline`]). Headers must arrive within the server's header timeout.
//!   A slow body holds only its connection, never a shared slot: bodies are
//!   read *before* a work slot is taken.
//! - **Work**: requests past body reading on the unauthenticated routes
//!   (sessions, tokens, enroll, rotate, SBOM) take a slot — at most
//!   `max_work_per_source` per address (beyond: 429 `busy`) and `max_work` in
//!   all (beyond: queued within the request deadline) ([`Shield::work`]).
//! - **Memory**: bodies being read are accounted in KiB against a global
//!   budget, `body_memory` for tokens and `sbom_memory` for SBOMs (a chunk
//!   that does not fit is answered 429 `busy`), with at most
//!   `sbom_uploads_per_source` SBOM uploads per address ([`read_body`]).
//! - **Sessions**: `sessions` caps the table ([`crate::store::SessionCaps`]).
//! - **Panics**: [`catch_panic`] answers a request whose handler panics with
//!   500 `internal`; the server (built with `panic = "unwind"`) keeps serving.

use super::err;
use crate::store::SessionCaps;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use fieldattest_protocol::rejection::Rejection;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A request refused by a limit: its code and reason (answered as the JSON error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused(pub Rejection, pub &'static str);

impl axum::response::IntoResponse for Refused {
    fn into_response(self) -> Response {
        err(self.0, self.1)
    }
}

/// The bounds (see the module doc).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub request_deadline: Duration,
    pub sbom_deadline: Duration,
    pub max_connections: usize,
    pub max_connections_per_source: usize,
    pub max_work: usize,
    pub max_work_per_source: usize,
    pub body_memory: usize,
    pub sbom_memory: usize,
    pub sbom_uploads_per_source: usize,
    pub sessions: SessionCaps,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_deadline: Duration::from_secs(30),
            sbom_deadline: Duration::from_secs(120),
            max_connections: 4096,
            max_connections_per_source: 64,
            max_work: super::MAX_CONCURRENT,
            max_work_per_source: 64,
            body_memory: 64 << 20,
            sbom_memory: 64 << 20,
            sbom_uploads_per_source: 2,
            sessions: SessionCaps {
                total: 10_000,
                per_source: 256,
            },
        }
    }
}

/// The requester's address, set per connection by [`super::serve`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Source(pub Option<IpAddr>);

impl Source {
    pub fn text(&self) -> Option<String> {
        self.0.map(|a| a.to_string())
    }
}

/// Counts per address, capped.
#[derive(Debug)]
struct PerSource {
    max: usize,
    map: Mutex<HashMap<IpAddr, usize>>,
}

/// A taken per-address slot, given back on drop.
#[derive(Debug)]
pub struct SourceSlot {
    of: Arc<PerSource>,
    ip: IpAddr,
}

impl PerSource {
    fn new(max: usize) -> Arc<Self> {
        Arc::new(PerSource {
            max,
            map: Mutex::new(HashMap::new()),
        })
    }

    fn take(self: &Arc<Self>, ip: IpAddr) -> Option<SourceSlot> {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(SourceSlot {
            of: self.clone(),
            ip,
        })
    }
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut m = self.of.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// The shared state of the limits: one per server.
#[derive(Debug)]
pub struct Shield {
    pub limits: Limits,
    conns: Arc<Semaphore>,
    conns_src: Arc<PerSource>,
    work: Arc<Semaphore>,
    work_src: Arc<PerSource>,
    body: Arc<Semaphore>,
    sbom: Arc<Semaphore>,
    sbom_src: Arc<PerSource>,
}

/// An admitted connection (global and per-address slot), given back on drop.
#[derive(Debug)]
pub struct Admitted {
    _global: OwnedSemaphorePermit,
    _source: SourceSlot,
}

/// A work slot (see the module doc), given back on drop.
#[derive(Debug)]
pub struct Work {
    _global: OwnedSemaphorePermit,
    _source: Option<SourceSlot>,
}

const KIB: usize = 1024;

impl Shield {
    pub fn new(limits: Limits) -> Arc<Self> {
        Arc::new(Shield {
            conns: Arc::new(Semaphore::new(limits.max_connections)),
            conns_src: PerSource::new(limits.max_connections_per_source),
            work: Arc::new(Semaphore::new(limits.max_work)),
            work_src: PerSource::new(limits.max_work_per_source),
            body: Arc::new(Semaphore::new(limits.body_memory / KIB)),
            sbom: Arc::new(Semaphore::new(limits.sbom_memory / KIB)),
            sbom_src: PerSource::new(limits.sbom_uploads_per_source),
            limits,
        })
    }

    /// Admits a new connection from `ip`, or `None`: close it.
    pub fn admit(&self, ip: IpAddr) -> Option<Admitted> {
        let global = self.conns.clone().try_acquire_owned().ok()?;
        let source = self.conns_src.take(ip)?;
        Some(Admitted {
            _global: global,
            _source: source,
        })
    }

    /// A work slot for a request from `source`: refused (429 `busy`) when the
    /// address has `max_work_per_source` in flight, else queued for a global slot.
    pub async fn work(&self, source: Source) -> Result<Work, Refused> {
        let slot = match source.0 {
            Some(ip) => Some(self.work_src.take(ip).ok_or(Refused(
                Rejection::Busy,
                "too many requests in flight from this address",
            ))?),
            None => None,
        };
        let global = self
            .work
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Refused(Rejection::Internal, "work limiter closed"))?;
        Ok(Work {
            _global: global,
            _source: slot,
        })
    }

    /// A per-address SBOM upload slot.
    pub fn sbom_upload(&self, source: Source) -> Result<Option<SourceSlot>, Refused> {
        match source.0 {
            None => Ok(None),
            Some(ip) => self.sbom_src.take(ip).map(Some).ok_or(Refused(
                Rejection::Busy,
                "too many SBOM uploads in flight from this address",
            )),
        }
    }

    pub fn body_budget(&self) -> &Arc<Semaphore> {
        &self.body
    }

    pub fn sbom_budget(&self) -> &Arc<Semaphore> {
        &self.sbom
    }
}

/// A body read within `max` bytes, its buffer accounted against `budget`
/// (the permits are held as long as the body is).
#[derive(Debug)]
pub struct Buffered {
    pub bytes: Vec<u8>,
    _held: Option<OwnedSemaphorePermit>,
}

/// Reads `body` frame by frame: refused with `too-large` beyond `max` bytes
/// (also when `Content-Length` announces more) and with `busy` when its
/// buffer does not fit in `budget`.
pub async fn read_body(
    headers: &axum::http::HeaderMap,
    body: Body,
    max: usize,
    budget: &Arc<Semaphore>,
) -> Result<Buffered, (Rejection, String)> {
    use http_body_util::BodyExt;
    let too_large = || (Rejection::TooLarge, format!("body larger than {max} bytes"));
    let announced = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let mut body = body;
    let mut buf: Vec<u8> = Vec::new();
    let mut held: Option<OwnedSemaphorePermit> = None;
    let mut held_kib = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| (Rejection::BadRequest, format!("body: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if buf.len() + data.len() > max {
            return Err(too_large());
        }
        // Grow by doubling (no quadratic copying), accounting for the
        // capacity before allocating it.
        let want = buf.len() + data.len();
        let cap = if want > buf.capacity() {
            want.max(buf.capacity() * 2).min(max)
        } else {
            buf.capacity()
        };
        let need = cap.div_ceil(KIB);
        if need > held_kib {
            let more = budget
                .clone()
                .try_acquire_many_owned(u32::try_from(need - held_kib).unwrap_or(u32::MAX))
                .map_err(|_| {
                    (
                        Rejection::Busy,
                        "collector body memory budget exhausted; retry later".to_string(),
                    )
                })?;
            match &mut held {
                Some(h) => h.merge(more),
                None => held = Some(more),
            }
            held_kib = need;
        }
        buf.reserve_exact(cap - buf.len());
        buf.extend_from_slice(&data);
    }
    Ok(Buffered {
        bytes: buf,
        _held: held,
    })
}

/// The whole-request deadline (headers already read): the handler, body
/// reading included, must finish within it, else 408 `timeout`.
pub async fn deadline(State(shield): State<Arc<Shield>>, req: Request, next: Next) -> Response {
    let d = if req.uri().path().starts_with("/attestation/v1/sbom/") {
        shield.limits.sbom_deadline
    } else {
        shield.limits.request_deadline
    };
    match tokio::time::timeout(d, next.run(req)).await {
        Ok(r) => r,
        Err(_) => err(
            Rejection::Timeout,
            &format!("request not complete within {} s", d.as_secs()),
        ),
    }
}

/// A future whose panics are caught (the handler's state is dropped with it).
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let f = self.0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f.poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        }
    }
}

/// Answers 500 `internal` when the handler panics, instead of dropping the
/// connection (with `panic = "abort"`: the process). State shared across
/// requests is behind poison-tolerant locks or in the database.
pub async fn catch_panic(req: Request, next: Next) -> Response {
    match CatchUnwind(Box::pin(next.run(req))).await {
        Ok(r) => r,
        Err(()) => err(Rejection::Internal, "internal error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::{get, post};
    use axum::Router;
    use tower::ServiceExt;

    async fn panics() -> &'static str {
        let v: Vec<&str> = Vec::new();
        // An injected fault: indexing past the end panics.
        v[usize::from(v.is_empty())]
    }

    fn app(limits: Limits) -> Router {
        let shield = Shield::new(limits);
        Router::new()
            .route("/panic", get(panics))
            .route("/ok", get(|| async { "ok" }))
            .route(
                "/slow",
                post(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .layer(axum::middleware::from_fn_with_state(shield, deadline))
            .layer(axum::middleware::from_fn(catch_panic))
    }

    async fn call(r: &Router, method: &str, path: &str) -> (u16, String) {
        use http_body_util::BodyExt;
        let req = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let resp = r.clone().oneshot(req).await.unwrap();
        let s = resp.status().as_u16();
        let b = resp.into_body().collect().await.unwrap().to_bytes();
        (s, String::from_utf8_lossy(&b).into_owned())
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_internal_and_the_router_keeps_serving() {
        let r = app(Limits::default());
        let (s, b) = call(&r, "GET", "/panic").await;
        assert_eq!(s, 500);
        assert!(b.contains("\"code\":\"internal\""), "{b}");
        for _ in 0..3 {
            assert_eq!(call(&r, "GET", "/ok").await, (200, "ok".into()));
            assert_eq!(call(&r, "GET", "/panic").await.0, 500);
        }
    }

    #[tokio::test]
    async fn the_deadline_answers_408_timeout() {
        let r = app(Limits {
            request_deadline: Duration::from_millis(100),
            ..Limits::default()
        });
        let (s, b) = call(&r, "POST", "/slow").await;
        assert_eq!(s, 408, "{b}");
        assert!(b.contains("\"code\":\"timeout\""), "{b}");
    }

    #[test]
    fn connections_are_capped_per_source_and_in_all_and_given_back() {
        let sh = Shield::new(Limits {
            max_connections: 3,
            max_connections_per_source: 2,
            ..Limits::default()
        });
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "127.0.0.3".parse().unwrap();
        let a1 = sh.admit(a).unwrap();
        let _a2 = sh.admit(a).unwrap();
        assert!(sh.admit(a).is_none(), "per-source cap");
        let _b1 = sh.admit(b).unwrap();
        assert!(sh.admit(b).is_none(), "global cap");
        drop(a1);
        assert!(sh.admit(b).is_some(), "slot given back");
    }

    #[tokio::test]
    async fn bodies_are_bounded_in_size_and_in_shared_memory() {
        let budget = Arc::new(Semaphore::new(100)); // 100 KiB
        let h = axum::http::HeaderMap::new();
        let one = read_body(&h, Body::from(vec![1u8; 60 * 1024]), 1 << 20, &budget)
            .await
            .unwrap();
        assert_eq!(one.bytes.len(), 60 * 1024);
        assert_eq!(budget.available_permits(), 40);
        let two = read_body(&h, Body::from(vec![1u8; 60 * 1024]), 1 << 20, &budget).await;
        assert_eq!(two.unwrap_err().0, Rejection::Busy);
        drop(one);
        assert_eq!(budget.available_permits(), 100);
        let big = read_body(&h, Body::from(vec![1u8; 2000]), 1000, &budget).await;
        assert_eq!(big.unwrap_err().0, Rejection::TooLarge);
        let mut h = axum::http::HeaderMap::new();
        h.insert("content-length", "5000".parse().unwrap());
        let announced = read_body(&h, Body::empty(), 1000, &budget).await;
        assert_eq!(announced.unwrap_err().0, Rejection::TooLarge);
    }
}
