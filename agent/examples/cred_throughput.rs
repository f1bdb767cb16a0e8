//! Default-credential check throughput: candidate hashes verified per second
//! per crypt scheme, single thread, release build.
//!
//! `cargo run --release -p fieldattest-agent --example cred_throughput`
//!
//! The yescrypt and bcrypt references use the parameters Debian 12 and most
//! distributions write by default (yescrypt `j9T`, bcrypt cost 10); sha-crypt
//! uses the default 5000 rounds; DES and md5crypt have no cost parameter.

use fieldattest_agent::rules::cred::{verify, Verify};
use std::time::{Duration, Instant};

fn rate(name: &str, hash: &str) {
    assert_eq!(verify("x", hash), Verify::Match, "{name}");
    assert_eq!(verify("not-the-password", hash), Verify::NoMatch, "{name}");
    let mut n = 0u64;
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(1500) {
        verify("not-the-password", hash);
        n += 1;
    }
    let s = t0.elapsed().as_secs_f64();
    println!(
        "{name:<22} {:>10.1} candidates/s  ({:.3} ms each, {n} in {s:.2} s)",
        n as f64 / s,
        s * 1000.0 / n as f64
    );
}

fn main() {
    // Reference hashes of the password "x" from libxcrypt (Python crypt module).
    rate("descrypt", "rodyiEaogTzsk");
    rate("md5crypt", "$1$abcdefgh$znAnv9M.XU2pRYfmSs46h/");
    rate(
        "sha256crypt (5000)",
        "$5$saltsaltsaltsalt$w6MMzL6uP1zC/zFPks1aojSlkIwXOntfy4rPxWhJHg2",
    );
    rate("sha512crypt (5000)", "$6$saltsaltsaltsalt$nozu4aSZ9tvfyqr8kV.PwuNYpJaa6RCOb1XRcivY.S4HEWnm/pcZbgbhIR2EeRNbUrMigQuyF/KzM9qzoEvpz0");
    rate(
        "bcrypt (cost 10)",
        "$2b$10$N9qo8uLOickgx2ZMRZoMyejCki5x.9vK3TW5Sf9xmjs1nHnIHO0xK",
    );
    rate(
        "yescrypt (j9T)",
        "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$6foLM1JhGupouWKMU70wxK61Kw9ZnecbACjJwRadqM2",
    );
}
