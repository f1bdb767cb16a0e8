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

/// A device's stored rows: (vuln, component, status, detail) of its
/// CVE_STATUS entries, (port, package) of its listeners.
type Rows = (
    Vec<(String, String, String, String)>,
    Vec<(u16, Option<String>)>,
);

/// A token of `d` claiming CVE_STATUS entries and listeners.
fn with_claims(
    d: &Dev,
    seq: u64,
    cve: &[(&str, &str, &str, &str)],
    listeners: &[(u16, Option<&str>)],
) -> Vec<u8> {
    let c = Claims {
        iat: 1,
        // Distinct per claims, so a replayed sequence is what a refusal meets.
        cti: [
            vec![seq as u8, cve.len() as u8, listeners.len() as u8],
            vec![0; 13],
        ]
        .concat(),
        ueid: d.ueid.clone(),
        intuse: 1,
        seq,
        cve_status: cve
            .iter()
            .map(|(id, comp, st, detail)| {
                eat::CveStatus::bounded(id, comp, st, detail, &format!("why {id}")).unwrap()
            })
            .collect(),
        listeners: listeners
            .iter()
            .map(|(port, pkg)| {
                eat::Listener::bounded("tcp", "0.0.0.0", *port, Some("d (pid 1)"))
                    .with_package(*pkg)
            })
            .collect(),
        // Rule results and packages, some per token: what result sets and
        // package sets keep (and their migration moves).
        measres: vec![(
            "tag:fieldattest.org,2026:catalog/ccsc@0.1.0".into(),
            vec![
                ("r.a".into(), 2),
                (format!("r.seq{seq}"), 1 + (seq % 2) as u8),
            ],
        )],
        measurements: ["pkg:deb/debian/a@1", &format!("pkg:deb/debian/b@{seq}")]
            .iter()
            .map(|t| {
                (
                    eat::CF_COSWID,
                    fieldattest_protocol::cbor::to_vec(&ciborium::value::Value::Map(vec![(
                        ciborium::value::Value::Integer(0.into()),
                        ciborium::value::Value::Text(t.to_string()),
                    )])),
                )
            })
            .collect(),
        ..Default::default()
    };
    signed(d, &c)
}

fn rows(s: &dyn Store, device: i64) -> Rows {
    (
        s.device_cve_status(device)
            .unwrap()
            .into_iter()
            .map(|c| {
                assert_eq!(c.description, format!("why {}", c.vuln));
                (c.vuln, c.component, c.status, c.detail)
            })
            .collect(),
        s.device_listeners(device)
            .unwrap()
            .into_iter()
            .map(|l| {
                assert_eq!(
                    (l.proto.as_str(), l.addr.as_str(), l.process.as_deref()),
                    ("tcp", "0.0.0.0", Some("d (pid 1)"))
                );
                (l.port, l.package)
            })
            .collect(),
    )
}

fn owned(cve: &[(&str, &str, &str, &str)], l: &[(u16, Option<&str>)]) -> Rows {
    (
        cve.iter()
            .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
            .collect(),
        l.iter().map(|(p, k)| (*p, k.map(str::to_string))).collect(),
    )
}

#[test]
fn the_latest_tokens_cve_status_and_listeners_replace_the_devices_rows() {
    // A file database: the attestation goes through the group-commit writer.
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("c.db")).unwrap();
    let (a, b) = (device(&s, "active"), device(&s, "active"));
    let (ida, idb) = (
        s.device_by_kid(&a.kid).unwrap().unwrap().id,
        s.device_by_kid(&b.kid).unwrap().unwrap().id,
    );
    let off = || Arrival::Offline;
    let cve1 = [
        ("CVE-2023-0464", "openssl", "Patched", "backported-patch"),
        ("CVE-2016-2781", "coreutils", "Ignored", "disputed"),
    ];
    let l1 = [(443, Some("lighttpd")), (22, None)];
    accept(&s, &with_claims(&a, 1, &cve1, &l1), off(), 10).unwrap();
    let mut want = owned(&cve1, &l1);
    want.0.sort_by(|x, y| (&x.1, &x.0).cmp(&(&y.1, &y.0)));
    want.1.sort();
    assert_eq!(rows(&s, ida), want);
    assert_eq!(rows(&s, idb), (vec![], vec![]));
    // Another device, then the first one's next image: its rows replaced.
    let cve_b = [("CVE-2024-1", "busybox", "Unpatched", "")];
    accept(
        &s,
        &with_claims(&b, 1, &cve_b, &[(502, Some("plc-runtime"))]),
        off(),
        11,
    )
    .unwrap();
    let cve2 = [("CVE-2023-0464", "openssl", "Patched", "fixed-version")];
    let l2 = [(8080, Some("plc-web"))];
    accept(&s, &with_claims(&a, 2, &cve2, &l2), off(), 12).unwrap();
    assert_eq!(rows(&s, ida), owned(&cve2, &l2));
    // The same claims again (rows left as they are), then other listeners only.
    accept(&s, &with_claims(&a, 3, &cve2, &l2), off(), 13).unwrap();
    assert_eq!(rows(&s, ida), owned(&cve2, &l2));
    let l3 = [(8080, None)];
    accept(&s, &with_claims(&a, 4, &cve2, &l3), off(), 14).unwrap();
    assert_eq!(rows(&s, ida), owned(&cve2, &l3));
    // A refused token (replayed sequence) changes nothing.
    let r = accept(&s, &with_claims(&a, 4, &cve1, &l1), off(), 15);
    assert_eq!(code(r), Rejection::SequenceNotIncreasing);
    assert_eq!(rows(&s, ida), owned(&cve2, &l3));
    // The fleet-wide reads, by device.
    let all: Vec<(i64, String)> = s
        .cve_status_all()
        .unwrap()
        .into_iter()
        .map(|(d, c)| (d, c.vuln))
        .collect();
    assert_eq!(
        all,
        [
            (ida, "CVE-2023-0464".to_string()),
            (idb, "CVE-2024-1".to_string())
        ]
    );
    let all: Vec<(i64, u16, Option<String>)> = [ida, idb]
        .into_iter()
        .flat_map(|d| {
            s.device_listeners(d)
                .unwrap()
                .into_iter()
                .map(move |l| (d, l.port, l.package))
        })
        .collect();
    assert_eq!(
        all,
        [
            (ida, 8080, None),
            (idb, 502, Some("plc-runtime".to_string()))
        ]
    );
    // A token without the claims (an older agent): the device has none.
    accept(&s, &token(&a, 5, 50), off(), 16).unwrap();
    assert_eq!(rows(&s, ida), (vec![], vec![]));
    assert_eq!(rows(&s, idb).0.len(), 1);
}

#[test]
fn tokens_stored_before_the_migration_are_backfilled() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.db");
    let s = SqliteStore::open(&p).unwrap();
    let a = device(&s, "active");
    let id = s.device_by_kid(&a.kid).unwrap().unwrap().id;
    let cve1 = [("CVE-2023-0464", "openssl", "Patched", "backported-patch")];
    let l1 = [(443, Some("lighttpd"))];
    accept(&s, &with_claims(&a, 1, &cve1, &l1), Arrival::Offline, 10).unwrap();
    // An older token of the device, then the latest: only the latest counts.
    let cve2 = [("CVE-2016-2781", "coreutils", "Ignored", "disputed")];
    accept(&s, &with_claims(&a, 2, &cve2, &[]), Arrival::Offline, 11).unwrap();
    let before = s.last_two(id).unwrap();
    assert_eq!(before.len(), 2);
    assert!(
        before.iter().all(|(p, r)| p.len() == 2 && r.len() == 2),
        "{before:?}"
    );
    drop(s);
    // The database as the collector before this migration left it.
    let c = rusqlite::Connection::open(&p).unwrap();
    let v: i64 = c
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    // The fleet view's generation (a later migration) and its triggers first.
    let triggers: Vec<String> = c
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'fleet_gen_%'",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(triggers.len() > 10, "{triggers:?}");
    for t in triggers {
        c.execute_batch(&format!("DROP TRIGGER {t}")).unwrap();
    }
    revert_result_sets(&c);
    c.execute_batch(&format!(
        "DROP TABLE kernel_configs; DROP TABLE kernel_files; DROP TABLE fleet_gen; DROP INDEX devices_sets; DROP TABLE device_cve_status; DROP TABLE device_listeners;
         ALTER TABLE devices DROP COLUMN cve_status_digest;
         ALTER TABLE devices DROP COLUMN listeners_digest;
         PRAGMA user_version = {};",
        v - 6
    ))
    .unwrap();
    drop(c);
    let s = SqliteStore::open(&p).unwrap();
    assert_eq!(rows(&s, id), owned(&cve2, &[]));
    assert_eq!(s.last_two(id).unwrap(), before);
    // And the next token goes on from there.
    accept(&s, &with_claims(&a, 3, &cve1, &l1), Arrival::Offline, 12).unwrap();
    assert_eq!(rows(&s, id), owned(&cve1, &l1));
}

/// Takes a database back to before result sets: the per-token rule result
/// rows, no sets, package sets under their newline-joined digest.
fn revert_result_sets(c: &rusqlite::Connection) {
    c.execute_batch(
        "CREATE TABLE rr (token_id INTEGER NOT NULL REFERENCES tokens(id), rule TEXT NOT NULL, result INTEGER NOT NULL);
         INSERT INTO rr SELECT token_id, rule, result FROM rule_results;
         DROP VIEW rule_results;
         ALTER TABLE rr RENAME TO rule_results;
         CREATE INDEX results_token ON rule_results(token_id);
         DROP TABLE result_set_rows; DROP TABLE result_sets;
         ALTER TABLE tokens DROP COLUMN rset;",
    )
    .unwrap();
    let sets: Vec<(i64, String)> = c
        .prepare("SELECT set_id, group_concat(purl, char(10)) FROM (SELECT set_id, purl FROM pkgset_items ORDER BY set_id, purl) GROUP BY set_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for (id, joined) in sets {
        let d = ring::digest::digest(&ring::digest::SHA256, joined.as_bytes());
        c.execute(
            "UPDATE pkgsets SET digest = ?1 WHERE id = ?2",
            rusqlite::params![d.as_ref(), id],
        )
        .unwrap();
    }
}
