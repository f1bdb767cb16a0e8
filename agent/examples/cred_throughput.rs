//! Default-credential check throughput: candidate hashes verified per second
//! per crypt scheme, single thread, release build (the first cycle's cost:
//! no memo).
//!
//! `cargo run --release -p fieldattest-agent --example cred_throughput`
//! (under qemu: `cross/build.sh`'s environment, then
//! `cargo build --release -p fieldattest-agent --target aarch64-unknown-linux-musl
//! --example cred_throughput` and run it with `qemu-aarch64`).
//!
//! The yescrypt and bcrypt references use the parameters Debian 12 and most
//! distributions write by default (yescrypt `j9T`, bcrypt cost 10); sha-crypt
//! uses the default 5000 rounds; DES and md5crypt have no cost parameter.
//! For sha256crypt and sha512crypt the agent's own implementation (on ring's
//! SHA-2) is timed interleaved with pwhash's (on the sha2 crate), which the
//! agent used before, so that the ratio holds on a loaded machine too.

use fieldattest_scan::rules::cred::{verify, Prepared, Verify};
use std::time::{Duration, Instant};

const WRONG: &str = "not-the-password";

/// Candidates per second of `f` over ~`total`.
fn rate_of(mut f: impl FnMut(), total: Duration) -> (f64, u64) {
    let mut n = 0u64;
    let t0 = Instant::now();
    while t0.elapsed() < total {
        f();
        n += 1;
    }
    (n as f64 / t0.elapsed().as_secs_f64(), n)
}

fn rate(name: &str, hash: &str) {
    assert_eq!(verify("x", hash), Verify::Match, "{name}");
    assert_eq!(verify(WRONG, hash), Verify::NoMatch, "{name}");
    let p = Prepared::new(hash);
    let (r, n) = rate_of(
        || {
            p.verify(WRONG, None);
        },
        Duration::from_millis(1500),
    );
    println!(
        "{name:<22} {r:>10.1} candidates/s  ({:.3} ms each, {n} verified)",
        1000.0 / r
    );
}

/// Interleaves the agent's sha-crypt with pwhash's: 10 slices of 150 ms each.
fn rate_vs_pwhash(name: &str, hash: &str) {
    assert_eq!(verify("x", hash), Verify::Match, "{name}");
    assert!(pwhash::unix::verify("x", hash), "{name}");
    let p = Prepared::new(hash);
    let (mut ours, mut theirs) = ((0u64, 0f64), (0u64, 0f64));
    for _ in 0..10 {
        let t = Instant::now();
        let (_, n) = rate_of(
            || {
                p.verify(WRONG, None);
            },
            Duration::from_millis(150),
        );
        ours = (ours.0 + n, ours.1 + t.elapsed().as_secs_f64());
        let t = Instant::now();
        let (_, n) = rate_of(
            || {
                pwhash::unix::verify(WRONG, hash);
            },
            Duration::from_millis(150),
        );
        theirs = (theirs.0 + n, theirs.1 + t.elapsed().as_secs_f64());
    }
    let (a, b) = (ours.0 as f64 / ours.1, theirs.0 as f64 / theirs.1);
    println!(
        "{name:<22} {a:>10.1} candidates/s  ({:.3} ms each; pwhash {b:.1}/s, {:.2}x)",
        1000.0 / a,
        a / b
    );
}

fn main() {
    // Reference hashes of the password "x" from libxcrypt (Python crypt module).
    rate("descrypt", "rodyiEaogTzsk");
    rate("md5crypt", "$1$abcdefgh$znAnv9M.XU2pRYfmSs46h/");
    rate_vs_pwhash(
        "sha256crypt (5000)",
        "$5$saltsaltsaltsalt$w6MMzL6uP1zC/zFPks1aojSlkIwXOntfy4rPxWhJHg2",
    );
    rate_vs_pwhash("sha512crypt (5000)", "$6$saltsaltsaltsalt$nozu4aSZ9tvfyqr8kV.PwuNYpJaa6RCOb1XRcivY.S4HEWnm/pcZbgbhIR2EeRNbUrMigQuyF/KzM9qzoEvpz0");
    rate(
        "bcrypt (cost 10)",
        "$2b$10$N9qo8uLOickgx2ZMRZoMyejCki5x.9vK3TW5Sf9xmjs1nHnIHO0xK",
    );
    rate(
        "yescrypt (j9T)",
        "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$6foLM1JhGupouWKMU70wxK61Kw9ZnecbACjJwRadqM2",
    );
}
