//! Fuzz target: offline bundles and rotation requests reaching the
//! collector. Each input is tried as a raw bundle (all three files), as a
//! manifest correctly signed by an enrolled device's key (manifest decoding
//! and completeness against the rest of the input as `tokens.cborseq`), and
//! as a rotation body.
//!
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run collector_import -- -max_total_time=600`
#![no_main]

use fieldattest_collector::import::import;
use fieldattest_collector::store::{SqliteStore, Store};
use fieldattest_protocol::bundle::sign_manifest;
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
        let _ = import(&s.store, data, data, data, 0);
        let split = data.first().map(|b| *b as usize).unwrap_or(0).min(data.len());
        let (manifest, tokens) = data.split_at(split);
        let rng = SystemRandom::new();
        let cose = sign_manifest(manifest, &s.kid, |tbs| {
            s.key.sign(&rng, tbs).map(|x| x.as_ref().to_vec()).map_err(|_| ())
        });
        if let Ok(cose) = cose {
            let _ = import(&s.store, tokens, manifest, &cose, 0);
        }
        let _ = fieldattest_collector::verify::rotate(&s.store, data, "fuzz", None, 0);
    });
});
