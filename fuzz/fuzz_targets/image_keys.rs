//! Fuzz target: key material found in an image — private keys (PEM PKCS#1,
//! SEC1, PKCS#8, DER, OpenSSH `openssh-key-v1`), public keys and
//! `authorized_keys` lines, X.509 certificates (PEM) and Dropbear host keys
//! (`parse::keys`). Every input goes to every parser, each call within the
//! linear budget of `budget.rs`.
//!
//! `fuzz/run-all.sh` runs it; by hand:
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run image_keys fuzz/corpus/image_keys fuzz/seeds/image_keys`
#![no_main]

use fieldattest_scan::parse::keys;
use libfuzzer_sys::fuzz_target;

#[path = "budget.rs"]
mod budget;

fuzz_target!(|data: &[u8]| {
    let n = data.len();
    let _ = budget::check("keys::parse_private", n, || keys::parse_private(data));
    let _ = budget::check("keys::parse_dropbear", n, || keys::parse_dropbear(data));
    let t = budget::text(data);
    let _ = budget::check("keys::parse_public", n, || {
        t.lines().map(keys::parse_public).collect::<Vec<_>>()
    });
    let _ = budget::check("keys::parse_authorized_keys", n, || {
        keys::parse_authorized_keys(&t)
    });
    let _ = budget::check("keys::parse_certificate", n, || keys::parse_certificate(&t));
});
