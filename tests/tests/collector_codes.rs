//! The collector's JSON errors carry the protocol's stable refusal code
//! (`fieldattest_protocol::rejection`) beside the human reason, and the
//! status the server maps it to.

use fieldattest_protocol::rejection::Rejection;
use fieldattest_tests::bin;
use fieldattest_tests::collector::*;
use serde_json::Value;
use std::process::Command;

/// Asserts an error answer: status, code, and a non-empty human reason.
fn refused(what: &str, r: (u16, Value), status: u16, code: Rejection) {
    let (got, v) = r;
    assert_eq!(got, status, "{what}: {v}");
    assert_eq!(v["code"], code.code(), "{what}: {v}");
    assert_eq!(
        v["code"].as_str().and_then(Rejection::from_code),
        Some(code),
        "{what}: {v}"
    );
    assert!(
        !v["error"].as_str().unwrap_or("").is_empty(),
        "{what}: no reason: {v}"
    );
}

#[test]
fn refusals_carry_their_code_and_status() {
    let c = start();
    let d = Device::new(None, 2);
    d.enroll(&c);
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, b: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, b).unwrap();
        p
    };
    let post = |p: &std::path::Path| c.curl("POST", "/attestation/v1/tokens", Some(p), &[]);

    let g = file("garbage", b"not CBOR");
    refused("garbage", post(&g), 400, Rejection::Malformed);
    refused(
        "wrong media type",
        c.curl(
            "POST",
            "/attestation/v1/tokens",
            Some(&g),
            &["-H", "Content-Type: text/plain"],
        ),
        415,
        Rejection::WrongMediaType,
    );
    let t = d.token(None, false);
    refused(
        "unknown session",
        c.curl("POST", "/attestation/v1/sessions/feedface", Some(&t), &[]),
        404,
        Rejection::UnknownSession,
    );
    let (sid, nonce) = c.session();
    let wrong = d.token(
        Some("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"),
        false,
    );
    refused(
        "wrong nonce",
        c.curl(
            "POST",
            &format!("/attestation/v1/sessions/{sid}"),
            Some(&wrong),
            &[],
        ),
        400,
        Rejection::WrongNonce,
    );
    // A token without the session's nonce leaves the session usable (issue
    // 16: a foreign token cannot burn it); once used, it answers replay.
    let right = d.token(Some(&nonce), false);
    let session = format!("/attestation/v1/sessions/{sid}");
    let (code, v) = c.curl("POST", &session, Some(&right), &[]);
    assert_eq!(code, 200, "{v}");
    refused(
        "session used",
        c.curl("POST", &session, Some(&right), &[]),
        409,
        Rejection::NonceReplayed,
    );
    let mut b = std::fs::read(&t).unwrap();
    let last = b.len() - 1;
    b[last] ^= 1;
    refused(
        "bad signature",
        post(&file("sig", &b)),
        400,
        Rejection::BadSignature,
    );
    let older = d.token(None, false);
    let newer = d.token(None, false);
    assert_eq!(post(&newer).0, 200);
    refused("duplicate cti", post(&newer), 409, Rejection::DuplicateCti);
    refused(
        "older after newer",
        post(&older),
        409,
        Rejection::SequenceNotIncreasing,
    );
    let stranger = Device::new(None, 1);
    refused(
        "unknown kid",
        post(&stranger.token(None, false)),
        403,
        Rejection::UnknownDevice,
    );
    let (sid, nonce) = c.session();
    let enr = stranger.token(Some(&nonce), true);
    refused(
        "enrollment without a secret",
        c.curl(
            "POST",
            &format!("/attestation/v1/enroll/{sid}"),
            Some(&enr),
            &[],
        ),
        401,
        Rejection::BadEnrollmentSecret,
    );
    refused(
        "sbom path",
        c.curl("GET", "/attestation/v1/sbom/zz", None, &[]),
        404,
        Rejection::NotFound,
    );
    let o = Command::new(bin("fieldattest-collector"))
        .args(["revoke", "1", "--db"])
        .arg(c.db())
        .output()
        .unwrap();
    assert!(o.status.success());
    refused(
        "revoked",
        post(&d.token(None, false)),
        403,
        Rejection::Revoked,
    );
}
