//! Tests of the verification pipeline: each refusal with its code, sessions
//! not burnt by foreign tokens, UEID theft at enrollment.

use super::*;
use crate::store::SqliteStore;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

struct Dev {
    key: EcdsaKeyPair,
    kid: Vec<u8>,
    ueid: Vec<u8>,
}

fn device(store: &SqliteStore, status: &str) -> Dev {
    let rng = SystemRandom::new();
    let p8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, p8.as_ref(), &rng).unwrap();
    let pk = PublicKey(key.public_key().as_ref().to_vec());
    let ueid = [vec![1u8], crate::random(32)].concat();
    let id = store
        .insert_device(&pk.kid(), &ueid, &pk.0, "t", 0)
        .unwrap();
    store.set_status(id, status).unwrap();
    Dev {
        key,
        kid: pk.kid(),
        ueid,
    }
}

fn token(d: &Dev, seq: u64, cti: u8) -> Vec<u8> {
    let c = Claims {
        iat: 1,
        cti: vec![cti; 16],
        ueid: d.ueid.clone(),
        intuse: 1,
        seq,
        ..Default::default()
    };
    token::sign(&c, &d.kid, |tbs| {
        d.key
            .sign(&SystemRandom::new(), tbs)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| "sign")
    })
    .unwrap()
}

fn code(r: Result<Accepted, Refusal>) -> Rejection {
    r.map(|_| ()).unwrap_err().code
}

#[test]
fn each_refusal_gets_its_code_and_is_audited() {
    let s = SqliteStore::memory().unwrap();
    let d = device(&s, "active");
    let off = || Arrival::Offline;
    assert_eq!(code(accept(&s, b"garbage", off(), 5)), Rejection::Malformed);
    assert!(accept(&s, &token(&d, 5, 1), off(), 5).is_ok());
    assert_eq!(
        code(accept(&s, &token(&d, 6, 1), off(), 5)),
        Rejection::DuplicateCti
    );
    assert_eq!(
        code(accept(&s, &token(&d, 5, 2), off(), 5)),
        Rejection::SequenceNotIncreasing
    );
    let mut bad = token(&d, 7, 3);
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(code(accept(&s, &bad, off(), 5)), Rejection::BadSignature);
    let online = Arrival::Online {
        session: "nope",
        peer: None,
    };
    assert_eq!(
        code(accept(&s, &token(&d, 8, 4), online, 5)),
        Rejection::UnknownSession
    );
    let p = device(&s, "pending");
    assert_eq!(
        code(accept(&s, &token(&p, 1, 1), off(), 5)),
        Rejection::Pending
    );
    let r = device(&s, "revoked");
    assert_eq!(
        code(accept(&s, &token(&r, 1, 1), off(), 5)),
        Rejection::Revoked
    );
    let stranger = device(&SqliteStore::memory().unwrap(), "active");
    assert_eq!(
        code(accept(&s, &token(&stranger, 1, 1), off(), 5)),
        Rejection::UnknownDevice
    );
    let audit = s.audit_log(100).unwrap();
    let rejected: Vec<&str> = audit
        .iter()
        .filter(|e| e.outcome == "rejected")
        .map(|e| e.reason.as_str())
        .collect();
    assert_eq!(rejected.len(), 8, "{rejected:?}");
    assert!(rejected.contains(&"duplicate cti: token already received"));
    assert!(rejected.contains(&"sequence replay: seq 5 <= last accepted 5"));
}

#[test]
fn store_conflicts_become_client_refusals_and_the_rest_internal() {
    let c = |x| from_store(StoreError::Conflict(x)).code;
    assert_eq!(c(Conflict::DuplicateCti), Rejection::DuplicateCti);
    assert_eq!(
        c(Conflict::SequenceReplay { seq: 1, last: 2 }),
        Rejection::SequenceNotIncreasing
    );
    assert_eq!(c(Conflict::KeyKnown), Rejection::KeyAlreadyKnown);
    let r = from_store(StoreError::Database("disk I/O error".into()));
    assert_eq!(r.code, Rejection::Internal);
    assert_eq!(r.reason, "storage: database: disk I/O error");
}

fn signed(d: &Dev, c: &Claims) -> Vec<u8> {
    token::sign(c, &d.kid, |tbs| {
        d.key
            .sign(&SystemRandom::new(), tbs)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| "sign")
    })
    .unwrap()
}

#[test]
fn a_foreign_or_garbage_token_does_not_burn_a_session() {
    let s = SqliteStore::memory().unwrap();
    let a = device(&s, "active");
    let b = device(&s, "active");
    s.create_session("sb", b"nonce-of-b", 100).unwrap();
    let online = || Arrival::Online {
        session: "sb",
        peer: None,
    };
    assert_eq!(
        code(accept(&s, b"garbage", online(), 5)),
        Rejection::Malformed
    );
    let mut foreign = Claims {
        iat: 1,
        cti: vec![9; 16],
        ueid: a.ueid.clone(),
        intuse: 1,
        seq: 1,
        nonce: Some(b"nonce-of-a".to_vec()),
        ..Default::default()
    };
    assert_eq!(
        code(accept(&s, &signed(&a, &foreign), online(), 5)),
        Rejection::WrongNonce
    );
    foreign.nonce = Some(b"nonce-of-b".to_vec());
    let mut forged = signed(&a, &foreign);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert_eq!(
        code(accept(&s, &forged, online(), 5)),
        Rejection::BadSignature
    );
    let mine = Claims {
        ueid: b.ueid.clone(),
        nonce: Some(b"nonce-of-b".to_vec()),
        ..foreign.clone()
    };
    assert!(
        accept(&s, &signed(&b, &mine), online(), 5).is_ok(),
        "B's session still usable"
    );
    // A session opened over a client certificate is only burnt over it.
    s.open_session(
        &crate::store::NewSession {
            id: "sc".into(),
            nonce: b"nonce-of-c".to_vec(),
            expires: 100,
            now: 5,
            source: None,
            peer: Some("cert-b".into()),
        },
        crate::store::SessionCaps {
            total: 10,
            per_source: 10,
        },
    )
    .unwrap();
    let c = Claims {
        cti: vec![8; 16],
        seq: 2,
        nonce: Some(b"nonce-of-c".to_vec()),
        ..mine
    };
    let over = |peer| Arrival::Online {
        session: "sc",
        peer,
    };
    assert_eq!(
        code(accept(&s, &signed(&b, &c), over(Some("cert-x")), 5)),
        Rejection::ClientCertificateMismatch
    );
    assert!(accept(&s, &signed(&b, &c), over(Some("cert-b")), 5).is_ok());
}

#[test]
fn a_ueid_held_by_another_device_is_refused_at_enrollment() {
    let s = SqliteStore::memory().unwrap();
    let held = device(&s, "active");
    let rng = SystemRandom::new();
    let p8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, p8.as_ref(), &rng).unwrap();
    let pk = PublicKey(key.public_key().as_ref().to_vec());
    let d = Dev {
        key,
        kid: pk.kid(),
        ueid: held.ueid.clone(),
    };
    s.create_session("e", b"nonce-of-e", 100).unwrap();
    s.create_enroll_token(
        ring::digest::digest(&ring::digest::SHA256, b"sec").as_ref(),
        "p",
        100,
    )
    .unwrap();
    let c = Claims {
        iat: 1,
        cti: vec![1; 16],
        ueid: held.ueid.clone(),
        intuse: 2,
        nonce: Some(b"nonce-of-e".to_vec()),
        cnf: Some(pk.0.clone()),
        ..Default::default()
    };
    let r = enroll(&s, b"sec", &signed(&d, &c), "e", &Requester::default(), 5);
    assert_eq!(r.unwrap_err().code, Rejection::UeidInUse);
    assert_eq!(s.devices().unwrap().len(), 1);
}
