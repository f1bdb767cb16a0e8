//! Fuzz target: an HTTP body reaching the collector's verification path.
//! Each input is tried twice: as a raw body (envelope/parse/lookup paths) and
//! as the payload of a correctly signed token from an enrolled, approved
//! device (claims decoding, binding, freshness and storage paths).
//!
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run collector_accept -- -max_total_time=600`
#![no_main]

use coset::{iana, AsCborValue, CoseSign1Builder, HeaderBuilder};
use fieldattest_collector::store::{SqliteStore, Store};
use fieldattest_collector::verify::{accept, Arrival};
use fieldattest_protocol::cbor;
use fieldattest_protocol::token::PublicKey;
use libfuzzer_sys::fuzz_target;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use std::cell::RefCell;

struct State {
    store: SqliteStore,
    key: EcdsaKeyPair,
    kid: Vec<u8>,
    runs: u64,
}

fn fresh() -> State {
    let rng = SystemRandom::new();
    let p8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, p8.as_ref(), &rng).unwrap();
    let pk = PublicKey(key.public_key().as_ref().to_vec());
    let store = SqliteStore::memory().unwrap();
    let mut ueid = vec![1u8];
    ueid.extend([9u8; 32]);
    let id = store.insert_device(&pk.kid(), &ueid, &pk.0, "fuzz", 0).unwrap();
    store.set_status(id, "active").unwrap();
    State { store, key, kid: pk.kid(), runs: 0 }
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(fresh());
}

fuzz_target!(|data: &[u8]| {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        // Bound memory: the audit trail grows with every call.
        s.runs += 1;
        if s.runs % 20_000 == 0 {
            *s = fresh();
        }
        let _ = accept(&s.store, data, Arrival::Offline, 0);
        let rng = SystemRandom::new();
        let protected = HeaderBuilder::new().algorithm(iana::Algorithm::ES256).key_id(s.kid.clone()).build();
        let sign1 = CoseSign1Builder::new()
            .protected(protected)
            .payload(data.to_vec())
            .create_signature(b"", |tbs| s.key.sign(&rng, tbs).map(|x| x.as_ref().to_vec()).unwrap_or_default())
            .build();
        if let Ok(v) = sign1.to_cbor_value() {
            let tok = cbor::to_vec(&ciborium_tag(v));
            let _ = accept(&s.store, &tok, Arrival::Offline, 0);
        }
    });
});

fn ciborium_tag(v: coset::cbor::value::Value) -> coset::cbor::value::Value {
    use coset::cbor::value::Value;
    Value::Tag(61, Box::new(Value::Tag(18, Box::new(v))))
}
