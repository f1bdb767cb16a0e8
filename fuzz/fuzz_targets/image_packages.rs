//! Fuzz target: the package databases of an image — deb822 paragraphs
//! (`inventory::control`), dpkg `status` and `status.d/` entries
//! (`inventory::dpkg`), opkg `status`, `opkg.conf` and per-package control
//! files (`inventory::opkg`), Alpine `lib/apk/db/installed`
//! (`inventory::apk`), and Debian copyright / license strings
//! (`inventory::license`: DEP-5 and the SPDX mapping of database license
//! fields; `inventory::copyright`: free-form copyright files), the
//! dependency resolver (`inventory::depends`) and the file lists with
//! digests (`inventory::files`: dpkg md5sums, apk F:/R:/Z:). Every input goes to every parser, each call within the linear
//! budget of `budget.rs`.
//!
//! `fuzz/run-all.sh` runs it; by hand:
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run image_packages fuzz/corpus/image_packages fuzz/seeds/image_packages`
#![no_main]

use fieldattest_scan::inventory::{apk, control, copyright, depends, dpkg, files, license, opkg};
use libfuzzer_sys::fuzz_target;

#[path = "budget.rs"]
mod budget;

fuzz_target!(|data: &[u8]| {
    let t = budget::text(data);
    let n = data.len();
    let _ = budget::check("control::parse", n, || control::parse(&t));
    let _ = budget::check("dpkg::parse_status(status)", n, || {
        dpkg::parse_status(&t, "/var/lib/dpkg/status", false)
    });
    let _ = budget::check("dpkg::parse_status(status.d)", n, || {
        dpkg::parse_status(&t, "/var/lib/dpkg/status.d/x", true)
    });
    let _ = budget::check("dpkg::split_source", n, || dpkg::split_source(&t));
    let mut found = budget::check("opkg::parse_status", n, || {
        opkg::parse_status(&t, "/var/lib/opkg/status")
    });
    budget::check("opkg::apply_control", n, || {
        for p in found.packages.iter_mut().take(4) {
            opkg::apply_control(p, &t);
            let _ = opkg::yocto_pv(&p.version);
        }
    });
    let _ = budget::check("opkg::status_paths_from_conf", n, || {
        opkg::status_paths_from_conf(&t)
    });
    let _ = budget::check("apk::parse_installed", n, || {
        apk::parse_installed(&t, apk::INSTALLED)
    });
    let _ = budget::check("license::from_dep5", n, || license::from_dep5(&t));
    let _ = budget::check("files::parse_md5sums", n, || files::parse_md5sums(&t));
    let _ = budget::check("files::apk_files", n, || {
        let rec: Vec<(u8, &str)> = t
            .lines()
            .filter_map(|l| Some((*l.as_bytes().first()?, l.get(2..)?)))
            .collect();
        files::apk_files(&rec)
    });
    let _ = budget::check("copyright::from_free_form", n, || {
        copyright::from_free_form(&t)
    });
    // The dependency graph of whatever the dpkg parser found, each line of
    // the input also as a Depends field and as apk D: words.
    let _ = budget::check("depends::resolve", n, || {
        let mut f = dpkg::parse_status(&t, "/var/lib/dpkg/status", false);
        for (i, l) in t.lines().take(64).enumerate() {
            if let Some(p) = f.packages.get_mut(i) {
                p.depends = Some(l.to_string());
                p.provides = depends::apk_provided(l);
            }
        }
        depends::resolve(&mut f.packages, fieldattest_protocol::report::PackageSource::Dpkg);
        f.packages.len()
    });
    let _ = budget::check("license::from_text", n, || license::from_text(&t));
    let _ = budget::check("license::to_spdx(lines)", n, || {
        t.lines().map(license::to_spdx).collect::<Vec<_>>()
    });
});
