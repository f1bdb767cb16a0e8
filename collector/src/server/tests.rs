use super::*;
use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;

/// An app with one signed-in session per role; the cookie of each.
fn app_with_sessions() -> (Shared, Vec<(Role, String)>) {
    let store = crate::store::SqliteStore::memory().unwrap();
    let mut cookies = Vec::new();
    for r in Role::ALL {
        store.add_operator(r.as_str(), r.as_str(), "$x", 0).unwrap();
        let op = store.operator(r.as_str()).unwrap().unwrap();
        let sid = format!("session-of-{}", r.as_str());
        store
            .create_op_session(&auth::sha256(sid.as_bytes()), op.id, "csrf", crate::now())
            .unwrap();
        cookies.push((r, format!("{}={sid}", auth::COOKIE)));
    }
    let app = Arc::new(App {
        store: Box::new(store),
        silent_after: 60,
        feed_max_age: crate::vuln::feeds::DEFAULT_MAX_AGE,
        fleet: Default::default(),
    });
    (app, cookies)
}

async fn call(
    app: &Shared,
    side: Side,
    method: &Method,
    path: &str,
    cookie: Option<&str>,
) -> StatusCode {
    let r = router(app.clone(), side)
        .layer(axum::Extension(PeerCert(None)))
        .layer(axum::Extension(PeerAddr(None)));
    let path = path
        .replace("{id}", "1")
        .replace("{device}", "1")
        .replace("{session}", "x")
        .replace("{digest}", "00");
    let mut req = Request::builder().method(method).uri(path);
    if let Some(c) = cookie {
        req = req.header(axum::http::header::COOKIE, c);
    }
    r.oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
        .status()
}

/// Walks the route table: each operator route answers 401 without
/// credentials and 403 to every role below its own, and is absent (404)
/// from the device listener; each device route is absent from the
/// operator listener.
#[tokio::test]
async fn every_route_is_checked_and_lives_on_one_listener_only() {
    let (app, cookies) = app_with_sessions();
    let mut checked = 0;
    for spec in ROUTES {
        let other = match spec.access.side() {
            Side::Device => Side::Operator,
            Side::Operator => Side::Device,
        };
        assert_eq!(
            call(&app, other, &spec.method, spec.path, None).await,
            StatusCode::NOT_FOUND,
            "{} {} answers on the {other:?} listener",
            spec.method,
            spec.path
        );
        let Access::Role(need) = spec.access else {
            continue;
        };
        assert_eq!(
            call(&app, Side::Operator, &spec.method, spec.path, None).await,
            StatusCode::UNAUTHORIZED,
            "{} {} without credentials",
            spec.method,
            spec.path
        );
        assert_eq!(
            call(
                &app,
                Side::Operator,
                &spec.method,
                spec.path,
                Some("__Host-fieldattest=forged")
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "{} {} with a forged session",
            spec.method,
            spec.path
        );
        for (role, cookie) in &cookies {
            let got = call(&app, Side::Operator, &spec.method, spec.path, Some(cookie)).await;
            if *role < need {
                assert_eq!(
                    got,
                    StatusCode::FORBIDDEN,
                    "{} {} as {role:?}",
                    spec.method,
                    spec.path
                );
            } else {
                assert!(
                    got != StatusCode::FORBIDDEN && got != StatusCode::UNAUTHORIZED
                        || spec.method == Method::POST,
                    "{} {} as {role:?}: {got}",
                    spec.method,
                    spec.path
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 10, "operator routes checked: {checked}");
    // A POST without the session's CSRF token is refused even with the role.
    let admin = &cookies[2].1;
    assert_eq!(
        call(
            &app,
            Side::Operator,
            &Method::POST,
            "/devices/1/approve",
            Some(admin)
        )
        .await,
        StatusCode::FORBIDDEN
    );
}

#[test]
fn every_refusal_has_a_client_status_and_only_the_collectors_failures_are_server_errors() {
    for r in Rejection::ALL {
        let s = status(r);
        if matches!(r, Rejection::Internal | Rejection::Unavailable) {
            assert!(s.is_server_error());
        } else {
            assert!(s.is_client_error(), "{r}: {s}");
        }
    }
    assert_eq!(status(Rejection::DuplicateCti), StatusCode::CONFLICT);
    assert_eq!(status(Rejection::TooLarge), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(status(Rejection::SessionExpired), StatusCode::GONE);
    assert_eq!(status(Rejection::UnknownDevice), StatusCode::FORBIDDEN);
    assert_eq!(
        status(Rejection::Unavailable),
        StatusCode::SERVICE_UNAVAILABLE
    );
}
