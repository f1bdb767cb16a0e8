//! Fuzz target: offline bundles and rotation requests reaching the
//! collector. Each input is tried as a raw bundle (all three files), as a
//! manifest correctly signed by an enrolled device's key (manifest decoding
//! and completeness against the rest of the input as `tokens.cborseq`), and
//! as a rotation body.
//!
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run collector_import -- -max_total_time=600`
#![no_main]

use fieldattest_collector::import::import;
use fieldattest_protocol::bundle::sign_manifest;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::with_state(|s| {
        let _ = import(&s.store, data, data, data, 0);
        let split = data
            .first()
            .map(|b| *b as usize)
            .unwrap_or(0)
            .min(data.len());
        let (manifest, tokens) = data.split_at(split);
        let cose = sign_manifest(manifest, &s.kid, |tbs| Ok::<_, ()>(common::sign(s, tbs)));
        if let Ok(cose) = cose {
            let _ = import(&s.store, tokens, manifest, &cose, 0);
        }
        let _ =
            fieldattest_collector::verify::rotate(&s.store, data, "fuzz", &Default::default(), 0);
    });
});
