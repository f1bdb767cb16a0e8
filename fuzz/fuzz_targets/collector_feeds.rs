//! Fuzz target: vulnerability data files reaching `vulndb import` — every
//! format is recognised by content (OSV, NVD 2.0, CVE 5, KEV, EPSS CSV,
//! CSAF, OpenVEX, CycloneDX, kernel configurations; zip and gzip
//! containers), so one input runs whichever parser its bytes select. After
//! an import the stored CPE advisories must parse back and evaluate without
//! panicking. The same bytes are read as Kbuild makefiles of a tree
//! (`vuln::kbuild`): the map must build, round-trip through its stored rows
//! and answer without panicking.
//!
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run collector_feeds -- -max_total_time=600`
#![no_main]

use fieldattest_collector::store::Store;
use fieldattest_collector::vuln;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    // Imports accumulate: the store is renewed often.
    common::with_state_every(2_000, |s| {
        let mut rep = vuln::ImportReport::default();
        vuln::import_bytes(&s.store, "fuzz", data, 0, &mut rep);
        for name in ["linux:linux_kernel", "example:exampled"] {
            for (_, raw) in s.store.advisories_for("CPE", name).unwrap_or_default() {
                let adv = vuln::parse(&raw).expect("a stored advisory parses back");
                for a in &adv.affected {
                    for v in ["0", "6.1.95", "2.4.1-rc1", "1.1.1w", "9.3p1", "x"] {
                        let _ = vuln::evaluate(a, v);
                    }
                }
            }
        }
        let _ = vuln::feeds::feed_status(&s.store, 0, 86400);
    });
    let text = String::from_utf8_lossy(data);
    let map = vuln::kbuild::build(&[
        (String::new(), text.to_string()),
        ("drivers".into(), text.to_string()),
        ("drivers/x".into(), "obj-$(CONFIG_X) += a.o\n".into()),
    ]);
    let back = vuln::kbuild::from_rows(vuln::kbuild::to_rows(&map));
    assert_eq!(back.files, map.files, "the stored map reads back");
    let enabled = vuln::kbuild::enabled_symbols(&text);
    for f in ["drivers/x/a.c", "drivers/a.c", "a.c", "a.h", ""] {
        let _ = vuln::kbuild::built(&map, f, &enabled);
    }
});
