//! Operator identity and authorization (IEC 62443-4-2 CR 1.1, 1.7, 1.11,
//! 2.1): roles, Argon2id passwords, console sessions, API tokens, the
//! lockout after failed logins, CSRF protection, and [`guard`] — the layer
//! every operator route of the route table runs behind.
//!
//! - Passwords: Argon2id (m = 19 MiB, t = 2, p = 1), PHC strings; at least
//!   [`MIN_PASSWORD`] characters. An unknown account costs the same work (a
//!   dummy hash is verified) and gets the same answer as a wrong password.
//! - Sessions: a random 32-byte id in the cookie [`COOKIE`] (`__Host-`,
//!   `Secure; HttpOnly; SameSite=Strict; Path=/`), kept as its SHA-256;
//!   idle expiry [`SESSION_IDLE`], absolute expiry [`SESSION_ABSOLUTE`]; a
//!   fresh id at every login (the old one is deleted).
//! - Lockout: [`LOCKOUT_AFTER`] failed logins per account name and per
//!   source address, each less than [`LOCKOUT_SECS`] after the previous one,
//!   lock that name / address for [`LOCKOUT_SECS`] after the last failure.
//! - CSRF: every POST behind [`guard`] needs the session's synchronizer
//!   token in its `csrf` field and, when the browser sends them, an `Origin`
//!   equal to this host and `Sec-Fetch-Site: same-origin`.
//! - API tokens (`fat_` + 64 hex digits, 32 random bytes) authenticate
//!   `/api/v1/*` as `Authorization: Bearer`, read-only; each use is audited.

use super::Shared;
use crate::{hex, now, random};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use std::net::IpAddr;
use std::sync::OnceLock;

/// Idle bound of a console session (seconds).
pub const SESSION_IDLE: i64 = 30 * 60;
/// Absolute bound of a console session (seconds).
pub const SESSION_ABSOLUTE: i64 = 12 * 3600;
/// Failed logins (per account name, per source address) that lock it.
pub const LOCKOUT_AFTER: u32 = 5;
/// How long a lock lasts after the last failure, and how far apart
/// failures may be to add up (seconds).
pub const LOCKOUT_SECS: i64 = 15 * 60;
/// Shortest accepted password (characters).
pub const MIN_PASSWORD: usize = 12;
/// The session cookie's name (the `__Host-` prefix: Secure, Path=/, no Domain).
pub const COOKIE: &str = "__Host-fieldattest";
/// Prefix of API tokens.
pub const TOKEN_PREFIX: &str = "fat_";
/// Largest form body an operator action reads.
const MAX_FORM: usize = 16 * 1024;
/// Longest account name.
pub const MAX_NAME: usize = 64;

/// Password hashes computed at once (each takes 19 MiB).
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// An operator's role; each includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads the fleet page, device reports and the API.
    Viewer,
    /// Also approves and revokes devices, sets VEX, creates enrollment secrets.
    Operator,
    /// Also reads the audit trail over the API; manages users and tokens (CLI).
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Who a request runs as (inserted by [`guard`]).
#[derive(Debug, Clone)]
pub struct Identity {
    /// `operator NAME` or `api token ID (NAME)`.
    pub who: String,
    pub role: Role,
    /// The console session's CSRF token (None for API tokens).
    pub csrf: Option<String>,
    /// SHA-256 of the session id (None for API tokens).
    session: Option<Vec<u8>>,
}

/// The TCP peer of a connection (inserted per connection by `serve`).
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub Option<IpAddr>);

impl PeerAddr {
    fn text(self) -> String {
        self.0.map(|a| a.to_string()).unwrap_or_else(|| "-".into())
    }
}

pub fn sha256(b: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, b)
        .as_ref()
        .to_vec()
}

/// Argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane).
fn argon2() -> argon2::Argon2<'static> {
    let p = argon2::Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p)
}

/// The PHC string of `password` (a fresh random salt).
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::encode_b64(&random(16)).map_err(|e| e.to_string())?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the PHC string (false for a malformed one).
pub fn verify_password(phc: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc)
        .map(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// A hash verified when the account is unknown (the same work either way).
fn dummy_phc() -> &'static str {
    static D: OnceLock<String> = OnceLock::new();
    D.get_or_init(|| hash_password(&hex(&random(16))).unwrap_or_default())
}

/// A password policy check: length in characters.
pub fn check_password(p: &str) -> Result<(), String> {
    if p.chars().count() < MIN_PASSWORD {
        return Err(format!(
            "the password must have at least {MIN_PASSWORD} characters"
        ));
    }
    Ok(())
}

/// A new API token and its SHA-256 (what is stored).
pub fn new_api_token() -> (String, Vec<u8>) {
    let t = format!("{TOKEN_PREFIX}{}", hex(&random(32)));
    let h = sha256(t.as_bytes());
    (t, h)
}

/// Constant-time equality of two byte strings (lengths are not secret).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The browser's word that a request comes from this site: `Origin` (when
/// sent) is `https://` + this request's `Host`, and `Sec-Fetch-Site` (when
/// sent) is `same-origin`. Our pages carry `Referrer-Policy: no-referrer`,
/// under which a browser serialises the origin of its own same-origin form
/// posts as `Origin: null` (Fetch, "serializing a request origin"); `null`
/// is taken only together with `Sec-Fetch-Site: same-origin`, a header no
/// page can set.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let get = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
    let fetch_site = get("sec-fetch-site");
    if fetch_site.is_some_and(|s| s != "same-origin") {
        return false;
    }
    match get("origin") {
        None => true,
        Some("null") => fetch_site == Some("same-origin"),
        Some(o) => get("host").is_some_and(|h| o == format!("https://{h}")),
    }
}

/// A refusal of the operator side: JSON under `/api/`, a small page otherwise.
pub fn deny(status: StatusCode, path: &str, why: &str) -> Response {
    if path.starts_with("/api/") {
        let body = serde_json::json!({"error": why});
        return (status, axum::Json(body)).into_response();
    }
    let page = crate::page::message(why, status == StatusCode::UNAUTHORIZED);
    (status, Html(page.into_string())).into_response()
}

/// Resolves the requester (session cookie; on `/api/v1/*` also a bearer
/// token), refuses 401 without one and 403 below `need`, checks CSRF on a
/// POST, then runs the route with the [`Identity`] as an extension.
pub async fn guard(
    State((app, need)): State<(Shared, Role)>,
    Extension(peer): Extension<PeerAddr>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let headers = req.headers().clone();
    let api = path.starts_with("/api/v1/");
    let token = if api { bearer(&headers) } else { None };
    let sid = cookie(&headers, COOKIE);
    let app2 = app.clone();
    let token_hash = token.map(|t| sha256(t.as_bytes()));
    let found = tokio::task::spawn_blocking(move || -> Result<Option<Identity>, String> {
        let t = now();
        if let Some(h) = token_hash {
            return Ok(app2.store.api_token(&h, t)?.and_then(|k| {
                Some(Identity {
                    who: format!("api token {} ({})", k.id, k.name),
                    role: Role::parse(&k.role)?,
                    csrf: None,
                    session: None,
                })
            }));
        }
        let Some(sid) = sid else { return Ok(None) };
        let h = sha256(sid.as_bytes());
        Ok(app2
            .store
            .op_session(&h, t, SESSION_IDLE, SESSION_ABSOLUTE)?
            .and_then(|s| {
                Some(Identity {
                    who: format!("operator {}", s.operator.name),
                    role: Role::parse(&s.operator.role)?,
                    csrf: Some(s.csrf),
                    session: Some(h),
                })
            }))
    })
    .await;
    let id = match found {
        Ok(Ok(Some(id))) => id,
        Ok(Ok(None)) => return deny(StatusCode::UNAUTHORIZED, &path, "sign in first"),
        _ => return deny(StatusCode::INTERNAL_SERVER_ERROR, &path, "internal error"),
    };
    if id.role < need {
        return deny(
            StatusCode::FORBIDDEN,
            &path,
            &format!("this needs the {} role", need.as_str()),
        );
    }
    if id.session.is_none() {
        // API tokens read; every use is audited.
        if method != Method::GET {
            return deny(StatusCode::FORBIDDEN, &path, "API tokens are read-only");
        }
        let reason = format!("{} {method} {path} from {}", id.who, peer.text());
        let app2 = app.clone();
        let _ = tokio::task::spawn_blocking(move || {
            app2.store.audit(now(), None, None, "token-use", &reason)
        })
        .await;
    }
    let req = if method == Method::POST {
        match check_csrf(req, &id).await {
            Ok(r) => r,
            Err(r) => {
                let from = peer.text();
                let reason = format!("{} {method} {path} from {from}: {r}", id.who);
                let _ = tokio::task::spawn_blocking(move || {
                    app.store
                        .audit_from(Some(&from), now(), None, None, "csrf-refused", &reason)
                })
                .await;
                return deny(StatusCode::FORBIDDEN, &path, r);
            }
        }
    } else {
        req
    };
    let mut req = req;
    req.extensions_mut().insert(id);
    next.run(req).await
}

/// The POST's body read (bounded), its `csrf` field compared with the
/// session's token, the request rebuilt with the same body.
async fn check_csrf(req: Request, id: &Identity) -> Result<Request, &'static str> {
    if !same_origin(req.headers()) {
        return Err("cross-site request refused");
    }
    let Some(expected) = &id.csrf else {
        return Err("no session");
    };
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM)
        .await
        .map_err(|_| "form too large")?;
    let fields: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&bytes).map_err(|_| "malformed form")?;
    let given = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    if !ct_eq(given.as_bytes(), expected.as_bytes()) {
        return Err("missing or wrong CSRF token");
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// `GET /login`: the sign-in form.
pub async fn login_page() -> Response {
    Html(crate::page::login(None).into_string()).into_response()
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
}

enum LoginOutcome {
    Ok { session: String },
    Failed,
    Locked,
}

/// `POST /login`: checks the lockout, the account and the password (the
/// same work and answer for an unknown account), audits the attempt, and
/// on success starts a fresh session (an old one presented is ended).
pub async fn login(
    State(app): State<Shared>,
    Extension(peer): Extension<PeerAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    if !same_origin(&headers) {
        return deny(
            StatusCode::FORBIDDEN,
            "/login",
            "cross-site request refused",
        );
    }
    let Ok(_permit) = HASHING.acquire().await else {
        return deny(
            StatusCode::INTERNAL_SERVER_ERROR,
            "/login",
            "internal error",
        );
    };
    let old = cookie(&headers, COOKIE);
    let r = tokio::task::spawn_blocking(move || login_blocking(&app, peer, &f, old)).await;
    match r {
        Ok(Ok(LoginOutcome::Ok { session })) => {
            let mut resp = Redirect::to("/").into_response();
            let c = format!("{COOKIE}={session}; Secure; HttpOnly; SameSite=Strict; Path=/");
            if let Ok(v) = HeaderValue::from_str(&c) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            resp
        }
        Ok(Ok(LoginOutcome::Failed)) => (
            StatusCode::UNAUTHORIZED,
            Html(
                crate::page::login(Some("Sign-in failed: unknown account or wrong password."))
                    .into_string(),
            ),
        )
            .into_response(),
        Ok(Ok(LoginOutcome::Locked)) => (
            StatusCode::TOO_MANY_REQUESTS,
            Html(
                crate::page::login(Some(
                    "Too many failed sign-ins: this account or address is locked for 15 minutes.",
                ))
                .into_string(),
            ),
        )
            .into_response(),
        _ => deny(
            StatusCode::INTERNAL_SERVER_ERROR,
            "/login",
            "internal error",
        ),
    }
}

fn login_blocking(
    app: &Shared,
    peer: PeerAddr,
    f: &LoginForm,
    old: Option<String>,
) -> Result<LoginOutcome, String> {
    let s = app.store.as_ref();
    let t = now();
    let name: String = f.name.chars().take(MAX_NAME).collect();
    let ukey = format!("user:{name}");
    let akey = format!("addr:{}", peer.text());
    let locked = s.login_failures(&ukey, t, LOCKOUT_SECS)? >= LOCKOUT_AFTER
        || s.login_failures(&akey, t, LOCKOUT_SECS)? >= LOCKOUT_AFTER;
    let op = s.operator(&name)?.filter(|o| !o.disabled);
    let phc = op.as_ref().map(|o| o.phc.as_str()).unwrap_or(dummy_phc());
    let matches = verify_password(phc, &f.password) && f.name.chars().count() <= MAX_NAME;
    let from = peer.text();
    if locked {
        // Not counted nor audited again: the lock's own entry said it.
        return Ok(LoginOutcome::Locked);
    }
    let (Some(op), true) = (op, matches) else {
        let n = s.login_failed(&ukey, t, LOCKOUT_SECS)?;
        let m = s.login_failed(&akey, t, LOCKOUT_SECS)?;
        let lock = if n.max(m) >= LOCKOUT_AFTER {
            "; locked"
        } else {
            ""
        };
        // Through the bounded writer: the source recorded, repeats from one
        // address coalesced (store/audit.rs).
        s.audit_from(
            Some(&from),
            t,
            None,
            None,
            "login-failed",
            &format!("operator {name:?} from {from}{lock}"),
        )?;
        return Ok(LoginOutcome::Failed);
    };
    s.clear_login_failures(&ukey)?;
    if let Some(old) = old {
        s.delete_op_session(&sha256(old.as_bytes()))?;
    }
    let session = hex(&random(32));
    s.create_op_session(&sha256(session.as_bytes()), op.id, &hex(&random(32)), t)?;
    s.audit(
        t,
        None,
        None,
        "login",
        &format!("operator {} ({}) from {from}", op.name, op.role),
    )?;
    Ok(LoginOutcome::Ok { session })
}

/// `POST /logout`: ends the session, clears the cookie.
pub async fn logout(
    State(app): State<Shared>,
    Extension(id): Extension<Identity>,
    Extension(peer): Extension<PeerAddr>,
) -> Response {
    let _ = tokio::task::spawn_blocking(move || -> Result<(), String> {
        if let Some(h) = &id.session {
            app.store.delete_op_session(h)?;
        }
        app.store.audit(
            now(),
            None,
            None,
            "logout",
            &format!("{} from {}", id.who, peer.text()),
        )?;
        Ok(())
    })
    .await;
    let mut resp = Redirect::to("/login").into_response();
    let c = format!("{COOKIE}=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&c) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "correct horse battery!"));
        assert!(!verify_password("not a phc", "x"));
        assert_ne!(h, hash_password("correct horse battery").unwrap(), "salted");
        assert!(check_password("short").is_err());
        assert!(check_password("twelve chars").is_ok());
    }

    #[test]
    fn roles_are_ordered_and_tokens_prefixed() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
        let (t, h) = new_api_token();
        assert!(t.starts_with(TOKEN_PREFIX) && t.len() == 4 + 64, "{t}");
        assert_eq!(h, sha256(t.as_bytes()));
    }

    #[test]
    fn origin_checks() {
        let mut h = HeaderMap::new();
        assert!(same_origin(&h), "non-browser clients send neither");
        h.insert("host", HeaderValue::from_static("127.0.0.1:8443"));
        h.insert("origin", HeaderValue::from_static("https://127.0.0.1:8443"));
        assert!(same_origin(&h));
        h.insert("origin", HeaderValue::from_static("https://127.0.0.1:9000"));
        assert!(!same_origin(&h));
        h.insert("origin", HeaderValue::from_static("https://127.0.0.1:8443"));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(!same_origin(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&h));
        // Referrer-Policy: no-referrer makes the browser send `Origin: null`
        // on its own form posts; only with Sec-Fetch-Site: same-origin.
        h.insert("origin", HeaderValue::from_static("null"));
        assert!(same_origin(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h));
        h.remove("sec-fetch-site");
        assert!(!same_origin(&h), "null origin without Sec-Fetch-Site");
        let mut c = HeaderMap::new();
        c.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-fieldattest=abc; b=2"),
        );
        assert_eq!(cookie(&c, COOKIE).as_deref(), Some("abc"));
        assert!(ct_eq(b"abc", b"abc") && !ct_eq(b"abc", b"abd") && !ct_eq(b"ab", b"abc"));
    }
}
