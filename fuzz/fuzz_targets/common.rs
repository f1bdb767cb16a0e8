//! State shared by the collector fuzz targets: an in-memory store with one
//! enrolled, approved device and its signing key, reset every 20 000 runs
//! so the growing audit trail does not exhaust memory.

use fieldattest_collector::store::{SqliteStore, Store};
use fieldattest_protocol::token::PublicKey;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use std::cell::RefCell;

pub struct State {
    pub store: SqliteStore,
    pub key: EcdsaKeyPair,
    pub kid: Vec<u8>,
    runs: u64,
}

fn fresh() -> State {
    let rng = SystemRandom::new();
    let p8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, p8.as_ref(), &rng).unwrap();
    let pk = PublicKey(key.public_key().as_ref().to_vec());
    let store = SqliteStore::memory().unwrap();
    let mut ueid = vec![1u8];
    ueid.extend([9u8; 32]);
    let id = store
        .insert_device(&pk.kid(), &ueid, &pk.0, "fuzz", 0)
        .unwrap();
    store.set_status(id, "active").unwrap();
    State {
        store,
        key,
        kid: pk.kid(),
        runs: 0,
    }
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(fresh());
}

/// Runs `f` with the state (renewed every 20 000 runs).
#[allow(dead_code)]
pub fn with_state(f: impl FnOnce(&State)) {
    with_state_every(20_000, f)
}

/// Runs `f` with the state, renewed every `n` runs (a target whose work
/// grows with the store renews it more often).
pub fn with_state_every(n: u64, f: impl FnOnce(&State)) {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.runs += 1;
        if s.runs % n == 0 {
            *s = fresh();
        }
        f(&s);
    });
}

/// ES256 signature by the device key (the signer callback of the protocol crate).
pub fn sign(s: &State, tbs: &[u8]) -> Vec<u8> {
    s.key
        .sign(&SystemRandom::new(), tbs)
        .map(|x| x.as_ref().to_vec())
        .unwrap_or_default()
}
