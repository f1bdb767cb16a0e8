//! Fuzz target: the collector converts a device's CycloneDX SBOM (hostile:
//! the device signed its digest) into SPDX 2.3 and SPDX 3.0.1
//! (`protocol::sbom`). No panic, and time and memory linear in the input
//! (`budget.rs`); what converts is JSON.
//!
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run sbom_convert fuzz/corpus/sbom_convert fuzz/seeds/sbom_convert`
#![no_main]

use fieldattest_protocol::sbom::{convert, SpdxVersion};
use libfuzzer_sys::fuzz_target;

#[path = "budget.rs"]
mod budget;

fuzz_target!(|data: &[u8]| {
    let t = budget::text(data);
    let n = data.len();
    for v in [SpdxVersion::V2_3, SpdxVersion::V3_0] {
        if let Ok(out) = budget::check("sbom::convert", n, || convert(&t, v)) {
            assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
        }
    }
});
