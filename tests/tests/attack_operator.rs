//! The operator side attacked against the real `serve` over TLS on loopback
//! (issue 16, item 1): reads without credentials, a device's client
//! certificate on operator routes, too small a role, API tokens, forged and
//! stale sessions, CSRF without the browser, password guessing. Each is
//! refused; a normal device and a normal operator still work afterwards.

use fieldattest_tests::collector::*;
use std::path::Path;

/// Operator routes that read fleet data (a device with id 1 exists).
const READS: &[&str] = &[
    "/",
    "/report/1",
    "/report/999",
    "/devices/1",
    "/api/v1/fleet",
    "/api/v1/devices",
    "/api/v1/audit",
];

fn jar(p: &Path) -> [&str; 2] {
    ["-b", p.to_str().unwrap()]
}

/// The CSRF token in a console page's forms.
fn csrf(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no CSRF field: {page}"));
    page[at + 19..].split('"').next().unwrap().to_string()
}

fn audit(c: &Collector) -> String {
    c.cli(&["audit", "--limit", "1000"]).to_string()
}

#[test]
fn operator_routes_refuse_attackers_and_keep_serving() {
    let c = start();
    let d = Device::new(None, 2);
    let id = d.enroll(&c);
    assert_eq!(d.attest_online(&c).0, 200);
    let kid = c.cli(&["devices"])[0]["kid"].as_str().unwrap().to_string();

    // 1. Nothing is read without credentials on the operator listener (401,
    //    the same for an existing and a missing report: no enumeration), and
    //    the operator routes do not exist on the device listener (404).
    for p in READS {
        let (code, body, _) = c.op("GET", p, &[]);
        assert_eq!(code, 401, "{p}: {body}");
        assert!(
            !body.contains(&kid[..16]) && !body.contains("plant-7"),
            "{p}: {body}"
        );
        let (code, _) = c.curl("GET", p, None, &[]);
        assert_eq!(code, 404, "{p} on the device listener");
    }
    for (m, p) in [
        ("GET", "/login"),
        ("POST", "/login"),
        ("POST", "/devices/1/approve"),
    ] {
        assert_eq!(
            c.curl(m, p, None, &[]).0,
            404,
            "{m} {p} on the device listener"
        );
    }
    // A forged session cookie and a forged bearer token are refused too.
    for extra in [
        ["-H", "Cookie: __Host-fieldattest=00112233"],
        ["-H", "Authorization: Bearer fat_0000"],
    ] {
        assert_eq!(c.op("GET", "/api/v1/fleet", &extra).0, 401);
        assert_eq!(c.op("GET", "/", &extra).0, 401);
    }
    // The device channel is not on the operator listener.
    assert_eq!(c.op("POST", "/attestation/v1/sessions", &[]).0, 404);

    // 2. Sign-in: the session cookie's flags; a new id at every sign-in
    //    (the one presented ends); sign-out ends the session.
    let op = c.login("op1", "operator");
    let (_, _, hdrs) = c.op(
        "POST",
        "/login",
        &[
            "--data-urlencode",
            "name=op1",
            "--data-urlencode",
            &format!("password={OPERATOR_PASSWORD}"),
        ],
    );
    let cookie = hdrs
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie: {hdrs}"));
    for flag in [
        "__Host-fieldattest=",
        "; Secure",
        "; HttpOnly",
        "; SameSite=Strict",
        "; Path=/",
    ] {
        assert!(cookie.contains(flag), "{flag} missing: {cookie}");
    }
    assert!(!cookie.to_ascii_lowercase().contains("domain"), "{cookie}");
    let stale = std::fs::read_to_string(&op).unwrap();
    let op = c.login("op1", "operator");
    let fresh = std::fs::read_to_string(&op).unwrap();
    assert_ne!(stale, fresh, "the session id changed at sign-in");
    let old_value = stale.lines().last().unwrap().rsplit('\t').next().unwrap();
    assert_eq!(
        c.op(
            "GET",
            "/",
            &["-H", &format!("Cookie: __Host-fieldattest={old_value}")]
        )
        .0,
        401,
        "the session presented at sign-in ended"
    );
    let (code, page, _) = c.op("GET", "/", &jar(&op));
    assert_eq!(code, 200, "{page}");
    assert!(
        page.contains("signed in as") && page.contains("operator op1"),
        "{page}"
    );
    let gone = c.login("leaver", "viewer");
    let (_, p, _) = c.op("GET", "/", &jar(&gone));
    let (code, _, _) = c.op(
        "POST",
        "/logout",
        &[
            &jar(&gone)[..],
            &["--data-urlencode", &format!("csrf={}", csrf(&p))],
        ]
        .concat(),
    );
    assert_eq!(code, 303);
    assert_eq!(c.op("GET", "/", &jar(&gone)).0, 401, "signed out");

    // 3. Roles: a viewer reads but does not act; the audit trail is admin's.
    let viewer = c.login("vera", "viewer");
    let (code, vpage, _) = c.op("GET", "/", &jar(&viewer));
    assert_eq!(code, 200);
    assert!(
        !vpage.contains("action=\"/enrollment-secrets\""),
        "viewer sees no actions"
    );
    let (code, _, _) = c.op(
        "POST",
        &format!("/devices/{id}/revoke"),
        &[
            &jar(&viewer)[..],
            &[
                "--data-urlencode",
                &format!("csrf={}", csrf(&vpage)),
                "-d",
                &format!("kid={kid}&confirm=yes"),
            ],
        ]
        .concat(),
    );
    assert_eq!(code, 403, "a viewer revoked");
    assert_eq!(c.op("GET", "/api/v1/audit", &jar(&viewer)).0, 403);
    assert_eq!(c.op("GET", "/api/v1/audit", &jar(&op)).0, 403);
    let admin = c.login("root", "admin");
    let (code, body, _) = c.op("GET", "/api/v1/audit", &jar(&admin));
    assert_eq!(code, 200, "{body}");

    // 4. CSRF without a browser: the operator's own session, but no token,
    //    a wrong token, another Origin, or a cross-site fetch: refused.
    let (_, opage, _) = c.op("GET", "/", &jar(&op));
    let token = csrf(&opage);
    let d2 = Device::new(None, 1);
    let pending = d2.enroll_pending(&c, "plant-9");
    let approve = format!("/devices/{pending}/approve");
    let kid2 = c.cli(&["device", &pending.to_string()])["device"]["kid"]
        .as_str()
        .unwrap()
        .to_string();
    let form = format!("kid={kid2}&confirm=yes");
    for extra in [
        vec!["-d".to_string(), form.clone()],
        vec!["-d".into(), format!("{form}&csrf={}", "0".repeat(64))],
        vec![
            "-d".into(),
            format!("{form}&csrf={token}"),
            "-H".into(),
            "Origin: https://attacker.example".into(),
        ],
        vec![
            "-d".into(),
            format!("{form}&csrf={token}"),
            "-H".into(),
            "Sec-Fetch-Site: cross-site".into(),
        ],
    ] {
        let args: Vec<&str> = jar(&op)
            .into_iter()
            .chain(extra.iter().map(String::as_str))
            .collect();
        let (code, body, _) = c.op("POST", &approve, &args);
        assert_eq!(code, 403, "{extra:?}: {body}");
    }
    assert_eq!(device_status(&c, pending), "pending");
    // Unconfirmed or with another kid: refused too.
    for f in [
        format!("kid={kid2}&csrf={token}"),
        format!("kid={kid}&confirm=yes&csrf={token}"),
    ] {
        let (code, _, _) = c.op("POST", &approve, &[&jar(&op)[..], &["-d", &f]].concat());
        assert_eq!(code, 400, "{f}");
    }
    assert_eq!(device_status(&c, pending), "pending");

    // 5. API tokens: read-only, role-bound, revocable, audited.
    let (tok, tid) = api_token(&c, "viewer");
    let bearer = format!("Authorization: Bearer {tok}");
    let (code, body, _) = c.op("GET", "/api/v1/devices", &["-H", &bearer]);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains(&kid), "{body}");
    assert_eq!(c.op("GET", "/api/v1/audit", &["-H", &bearer]).0, 403);
    assert_eq!(
        c.op("GET", "/", &["-H", &bearer]).0,
        401,
        "tokens are for the API"
    );
    let listed = c.cli(&["token", "list"]).to_string();
    assert!(
        !listed.contains(&tok[4..]),
        "token list shows a token: {listed}"
    );
    c.run(&["token", "revoke", &tid.to_string()]);
    assert_eq!(c.op("GET", "/api/v1/devices", &["-H", &bearer]).0, 401);

    // 6. Password guessing: the same answer for an unknown account and a
    //    wrong password; 5 failures lock the account (from any address) and,
    //    separately, the source address (for any account): even the right
    //    password is refused (429). Loopback sources 127.0.0.x stand for
    //    different addresses.
    c.add_user("guessme", "operator", OPERATOR_PASSWORD);
    let try_login = |from: &str, name: &str, pw: &str| {
        c.op(
            "POST",
            "/login",
            &[
                "--interface",
                from,
                "--data-urlencode",
                &format!("name={name}"),
                "--data-urlencode",
                &format!("password={pw}"),
            ],
        )
    };
    let (c1, unknown, _) = try_login("127.0.0.2", "nobody", "wrong password 1");
    let (c2, wrong, _) = try_login("127.0.0.3", "guessme", "wrong password 1");
    assert_eq!((c1, c2), (401, 401));
    assert_eq!(unknown, wrong, "unknown account and wrong password differ");
    for i in 2..=5 {
        assert_eq!(
            try_login("127.0.0.3", "guessme", &format!("wrong password {i}")).0,
            401
        );
    }
    // The account is locked: from a fresh address too.
    let (code, body, _) = try_login("127.0.0.4", "guessme", OPERATOR_PASSWORD);
    assert_eq!(code, 429, "account not locked after 5 failures: {body}");
    // The address is locked: for another account with its right password.
    assert_eq!(try_login("127.0.0.3", "op1", OPERATOR_PASSWORD).0, 429);
    // An unknown account locks like a known one (no enumeration by lockout).
    for i in 2..=5 {
        assert_eq!(
            try_login("127.0.0.5", "nobody", &format!("wrong password {i}")).0,
            401
        );
    }
    assert_eq!(try_login("127.0.0.6", "nobody", "x").0, 429);
    // Elsewhere, other accounts still sign in.
    assert_eq!(try_login("127.0.0.7", "op1", OPERATOR_PASSWORD).0, 303);

    // 7. The audit trail names who did what.
    let trail = audit(&c);
    for s in [
        "\"login\"",
        "operator op1 (operator) from 127.0.0.1",
        "\"login-failed\"",
        "operator \\\"nobody\\\" from 127.0.0.2",
        "\"logout\"",
        "\"token-use\"",
        "\"csrf-refused\"",
        "locked",
    ] {
        assert!(trail.contains(s), "{s} not audited: {trail}");
    }

    // 8. Still serving: the signed-in operator approves the pending device
    //    (audited with the name), and devices attest.
    let (code, _, _) = c.op(
        "POST",
        &approve,
        &[&jar(&op)[..], &["-d", &format!("{form}&csrf={token}")]].concat(),
    );
    assert_eq!(code, 303);
    assert_eq!(device_status(&c, pending), "active");
    assert!(audit(&c).contains("operator approve by operator op1"));
    assert_eq!(d.attest_online(&c).0, 200);
    assert_eq!(d2.attest_online(&c).0, 200);
    let (code, page, _) = c.op("GET", "/devices?status=active", &jar(&op));
    assert_eq!(code, 200);
    assert_eq!(page.matches("class=\"device\"").count(), 2, "{page}");
}

/// A device's client certificate (mTLS on the device channel) reads
/// nothing on the operator side; with `--operator-client-ca` (a separate
/// CA) it does not even get a TLS session there.
#[test]
fn a_device_certificate_gets_nothing_from_operator_routes() {
    let dir = tempfile::tempdir().unwrap();
    pki(dir.path());
    issue(
        dir.path(),
        "dev",
        "device-1",
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    );
    let opca = dir.path().join("opca");
    std::fs::create_dir(&opca).unwrap();
    pki(&opca);
    issue(
        &opca,
        "op",
        "operator-1",
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    );
    let ca = dir.path().join("ca.pem");
    let opca_pem = opca.join("ca.pem");
    let c = start_in(
        dir,
        &[
            "--client-ca",
            ca.to_str().unwrap(),
            "--operator-client-ca",
            opca_pem.to_str().unwrap(),
        ],
    );
    let p = |d: &Path, f: &str| d.join(f).display().to_string();
    let dev = [
        "--cert".to_string(),
        p(c.dir.path(), "dev.pem"),
        "--key".into(),
        p(c.dir.path(), "dev.key"),
    ];
    let dev: Vec<&str> = dev.iter().map(String::as_str).collect();
    // The device channel serves the device ...
    assert_eq!(c.curl("GET", "/healthz", None, &dev).0, 200);
    // ... and has no operator route.
    for r in READS {
        assert_eq!(c.curl("GET", r, None, &dev).0, 404, "{r}");
    }
    // The operator listener refuses the device's certificate at the handshake.
    for r in READS {
        let (code, body, _) = c.op("GET", r, &dev);
        assert_eq!(
            code, 0,
            "{r}: TLS session with a device certificate: {body}"
        );
    }
    // An operator certificate opens the TLS session; signing in is still needed.
    let op = [
        "--cert".to_string(),
        p(&opca, "op.pem"),
        "--key".into(),
        p(&opca, "op.key"),
    ];
    let op: Vec<&str> = op.iter().map(String::as_str).collect();
    for r in READS {
        assert_eq!(c.op("GET", r, &op).0, 401, "{r}");
    }
    assert_eq!(c.op("GET", "/login", &op).0, 200);
}

fn device_status(c: &Collector, id: i64) -> String {
    c.cli(&["device", &id.to_string()])["device"]["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `token create --role ROLE --expires 1h`: the token and its id.
fn api_token(c: &Collector, role: &str) -> (String, i64) {
    let tok = c.run(&[
        "token",
        "create",
        "--role",
        role,
        "--expires",
        "1h",
        "--name",
        "ci",
    ]);
    assert!(tok.starts_with("fat_") && tok.len() == 68, "{tok}");
    let id = c
        .cli(&["token", "list"])
        .as_array()
        .unwrap()
        .last()
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    (tok, id)
}

// The same tests with the collector on PostgreSQL.
fieldattest_tests::on_postgres_too!(
    operator_routes_refuse_attackers_and_keep_serving,
    a_device_certificate_gets_nothing_from_operator_routes,
);
