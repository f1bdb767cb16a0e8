//! Fuzz target: the binary formats an image holds — rpm header blobs as
//! stored in `Packages`/`Packages.db`/`rpmdb.sqlite` (`inventory::rpm`:
//! `parse_header`, `to_package`), flattened device trees under `/boot`
//! (`inventory::hardware::fdt_root`), ELF headers (`inventory::os::elf_machine`)
//! and the printable-string scan that identifies busybox, glibc, musl,
//! OpenSSL, OpenSSH and Dropbear binaries (`inventory::binaries`). Every input
//! goes to every parser, each call within the linear budget of `budget.rs`.
//!
//! `fuzz/run-all.sh` runs it; by hand:
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run image_binary fuzz/corpus/image_binary fuzz/seeds/image_binary`
#![no_main]

use fieldattest_scan::inventory::{binaries, hardware, os, rpm};
use libfuzzer_sys::fuzz_target;
use std::ops::ControlFlow;

#[path = "budget.rs"]
mod budget;

fuzz_target!(|data: &[u8]| {
    let n = data.len();
    let _ = budget::check("rpm::parse_header", n, || {
        rpm::parse_header(data).map(|h| rpm::to_package(h, "/var/lib/rpm/rpmdb.sqlite"))
    });
    // The sqlite and Berkeley DB readers hand over blobs that start anywhere
    // in a page: also try the input past a 16-byte prefix.
    if n > 16 {
        let _ = budget::check("rpm::parse_header(+16)", n, || {
            rpm::parse_header(&data[16..])
        });
    }
    let _ = budget::check("rpm::files_in", n, || {
        let wanted: std::collections::HashSet<String> =
            ["/bin/sh".to_string(), "/usr/bin/perl".to_string()].into();
        rpm::files_in(data, &wanted)
    });
    let _ = budget::check("rpm::file_hashes", n, || rpm::file_hashes(data));
    let _ = budget::check("hardware::fdt_root", n, || hardware::fdt_root(data));
    let _ = budget::check("os::elf_machine", n, || os::elf_machine(data));
    let _ = budget::check("binaries::for_each_string", n, || {
        let mut hits = Vec::new();
        let r: std::io::Result<Option<()>> = binaries::for_each_string(data, |s| {
            for m in [
                binaries::match_busybox,
                binaries::match_glibc,
                binaries::match_musl,
                binaries::match_openssl,
                binaries::match_openssh,
                binaries::match_dropbear,
            ] {
                if let Some(v) = m(s) {
                    hits.push(v);
                }
            }
            ControlFlow::Continue(())
        });
        (r.is_ok(), hits)
    });
});
