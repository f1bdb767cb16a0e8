//! Fuzz target: an HTTP body reaching the collector's verification path.
//! Each input is tried twice: as a raw body (envelope/parse/lookup paths) and
//! as the payload of a correctly signed token from an enrolled, approved
//! device (claims decoding, binding, freshness and storage paths).
//!
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run collector_accept -- -max_total_time=600`
#![no_main]

use coset::{iana, AsCborValue, CoseSign1Builder, HeaderBuilder};
use fieldattest_collector::verify::{accept, Arrival};
use fieldattest_protocol::cbor;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::with_state(|s| {
        let _ = accept(&s.store, data, Arrival::Offline, 0);
        let protected = HeaderBuilder::new()
            .algorithm(iana::Algorithm::ES256)
            .key_id(s.kid.clone())
            .build();
        let sign1 = CoseSign1Builder::new()
            .protected(protected)
            .payload(data.to_vec())
            .create_signature(b"", |tbs| common::sign(s, tbs))
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
