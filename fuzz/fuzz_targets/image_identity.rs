//! Fuzz target: component identity — the Yocto image record
//! (`inventory::yocto_record::parse` + `apply` onto packages named from the
//! input), the CPE 2.3 formatted-string parser and binding
//! (`inventory::cpe::parse`, `bind_value`, `format`), the table lookup and
//! version normalisation (`cpe::for_package`, `upstream_version`), and the
//! kernel release (`inventory::kernel::upstream_release`,
//! `is_kernel_package`). Every call within the linear budget of `budget.rs`.
//! Round trip: whatever `format` binds, `parse` reads back.
//!
//! `fuzz/run-all.sh` runs it; by hand:
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run image_identity fuzz/corpus/image_identity fuzz/seeds/image_identity`
#![no_main]

use fieldattest_protocol::report::{Package, PackageSource};
use fieldattest_scan::inventory::{cpe, kernel, yocto_record};
use libfuzzer_sys::fuzz_target;

#[path = "budget.rs"]
mod budget;

const SOURCES: [PackageSource; 5] = [
    PackageSource::Dpkg,
    PackageSource::Opkg,
    PackageSource::Apk,
    PackageSource::Rpm,
    PackageSource::Binary,
];

fuzz_target!(|data: &[u8]| {
    let t = budget::text(data);
    let n = data.len();
    let (records, _) = budget::check("yocto_record::parse", n, || yocto_record::parse(&t));
    // Packages named by the input's first words, each from every source.
    let mut packages: Vec<Package> = Vec::new();
    for w in t.split_whitespace().take(8) {
        for s in SOURCES {
            let mut p = Package::new(w, w, s, "/x");
            if s == PackageSource::Opkg {
                p.source_package = Some(w.to_string());
                p.source_version = Some(w.to_string());
            }
            packages.push(p);
        }
    }
    budget::check("cpe::for_package", n, || {
        for p in &mut packages {
            p.cpe = cpe::for_package(p);
            let _ = kernel::is_kernel_package(p);
        }
    });
    budget::check("yocto_record::apply", n, || {
        yocto_record::apply(&mut packages, &records)
    });
    for line in t.lines().take(64) {
        let _ = budget::check("cpe::parse", line.len(), || cpe::parse(line));
        let bound = budget::check("cpe::format", line.len(), || {
            cpe::format("a", line, line, line)
        });
        if let Some(s) = bound {
            let c = cpe::parse(&s).unwrap_or_else(|e| panic!("{s:?} does not read back: {e}"));
            assert_eq!(
                c.product(),
                &cpe::Value::Literal(line.to_ascii_lowercase().replace([' ', '\t'], "_"))
            );
        }
        let _ = budget::check("kernel::upstream_release", line.len(), || {
            kernel::upstream_release(line)
        });
        for s in SOURCES {
            let _ = cpe::upstream_version(s, line);
        }
    }
});
