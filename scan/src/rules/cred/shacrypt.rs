//! sha256crypt / sha512crypt (Drepper's "Unix crypt using SHA-256 and
//! SHA-512", as glibc and libxcrypt implement it) on ring's SHA-2: ring's
//! assembly block functions (ARMv8 SHA-2 instructions where the CPU has them)
//! are in the binary anyway for TLS, while the Rust sha2 crate is size-tuned
//! at opt-level "z". The hash is parsed once; each round hashes one buffer.

use ring::digest::{digest, Algorithm, Context, SHA256, SHA512};
use std::time::Instant;

const ROUNDS_DEFAULT: u32 = 5000;
const ROUNDS_MIN: u32 = 1000;
const ROUNDS_MAX: u32 = 999_999_999;
const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Byte triples (most significant first) of the final encoding.
const ORDER512: [(u8, u8, u8); 21] = [
    (0, 21, 42),
    (22, 43, 1),
    (44, 2, 23),
    (3, 24, 45),
    (25, 46, 4),
    (47, 5, 26),
    (6, 27, 48),
    (28, 49, 7),
    (50, 8, 29),
    (9, 30, 51),
    (31, 52, 10),
    (53, 11, 32),
    (12, 33, 54),
    (34, 55, 13),
    (56, 14, 35),
    (15, 36, 57),
    (37, 58, 16),
    (59, 17, 38),
    (18, 39, 60),
    (40, 61, 19),
    (62, 20, 41),
];
const ORDER256: [(u8, u8, u8); 10] = [
    (0, 10, 20),
    (21, 1, 11),
    (12, 22, 2),
    (3, 13, 23),
    (24, 4, 14),
    (15, 25, 5),
    (6, 16, 26),
    (27, 7, 17),
    (18, 28, 8),
    (9, 19, 29),
];

/// A parsed `$5$` / `$6$` hash.
#[derive(Debug, Clone)]
pub struct Setting<'a> {
    sha512: bool,
    rounds: u32,
    salt: &'a [u8],
    /// The stored digest, 43 (SHA-256) or 86 (SHA-512) characters.
    tail: &'a [u8],
}

impl<'a> Setting<'a> {
    /// None when the string is not one that crypt(3) could have written
    /// (libxcrypt rejects such settings; no password verifies against it).
    pub fn parse(hash: &'a str) -> Option<Self> {
        let sha512 = match hash.get(..3)? {
            "$5$" => false,
            "$6$" => true,
            _ => return None,
        };
        let mut rest = &hash[3..];
        let mut rounds = ROUNDS_DEFAULT;
        if let Some(r) = rest.strip_prefix("rounds=") {
            let (n, after) = r.split_once('$')?;
            if n.is_empty() || n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            rounds = n.parse().ok()?;
            if !(ROUNDS_MIN..=ROUNDS_MAX).contains(&rounds) {
                return None;
            }
            rest = after;
        }
        let (salt, tail) = rest.split_once('$')?;
        let want = if sha512 { 86 } else { 43 };
        if salt.len() > 16
            || salt.bytes().any(|b| b == b':' || b == b'\n')
            || tail.len() != want
            || !tail.bytes().all(|b| ITOA64.contains(&b))
        {
            return None;
        }
        Some(Setting {
            sha512,
            rounds,
            salt: salt.as_bytes(),
            tail: tail.as_bytes(),
        })
    }

    fn alg(&self) -> &'static Algorithm {
        if self.sha512 {
            &SHA512
        } else {
            &SHA256
        }
    }

    /// Whether `pw` hashes to the stored digest; None when `deadline`
    /// passed first (checked every 256 rounds).
    pub fn check(&self, pw: &[u8], deadline: Option<Instant>) -> Option<bool> {
        let raw = self.raw(pw, deadline)?;
        Some(self.encode_eq(&raw))
    }

    /// The final digest before encoding.
    fn raw(&self, pw: &[u8], deadline: Option<Instant>) -> Option<[u8; 64]> {
        let alg = self.alg();
        let l = alg.output_len();
        let salt = self.salt;
        let b = {
            let mut c = Context::new(alg);
            c.update(pw);
            c.update(salt);
            c.update(pw);
            c.finish()
        };
        let b = b.as_ref();
        let mut a = Context::new(alg);
        a.update(pw);
        a.update(salt);
        let mut n = pw.len();
        while n > l {
            a.update(b);
            n -= l;
        }
        a.update(&b[..n]);
        let mut n = pw.len();
        while n > 0 {
            if n & 1 == 1 {
                a.update(b);
            } else {
                a.update(pw);
            }
            n >>= 1;
        }
        let a = a.finish();
        let mut dp = Context::new(alg);
        for _ in 0..pw.len() {
            dp.update(pw);
        }
        let dp = dp.finish();
        let p: Vec<u8> = dp.as_ref().iter().cycle().take(pw.len()).copied().collect();
        let mut ds = Context::new(alg);
        for _ in 0..16 + usize::from(a.as_ref()[0]) {
            ds.update(salt);
        }
        let ds = ds.finish();
        let s = &ds.as_ref()[..salt.len()];
        let mut c = [0u8; 64];
        c[..l].copy_from_slice(a.as_ref());
        let mut buf = Vec::with_capacity(l + s.len() + 2 * p.len());
        for r in 0..self.rounds {
            if r % 256 == 255 && deadline.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
            buf.clear();
            let odd = r & 1 == 1;
            buf.extend_from_slice(if odd { &p } else { &c[..l] });
            if r % 3 != 0 {
                buf.extend_from_slice(s);
            }
            if r % 7 != 0 {
                buf.extend_from_slice(&p);
            }
            buf.extend_from_slice(if odd { &c[..l] } else { &p });
            c[..l].copy_from_slice(digest(alg, &buf).as_ref());
        }
        Some(c)
    }

    fn encode_eq(&self, c: &[u8; 64]) -> bool {
        let mut out = [0u8; 86];
        let mut o = 0;
        let mut put = |w: u32, n: usize| {
            let mut w = w;
            for _ in 0..n {
                out[o] = ITOA64[(w & 63) as usize];
                w >>= 6;
                o += 1;
            }
        };
        let b = |i: u8| u32::from(c[usize::from(i)]);
        let order: &[(u8, u8, u8)] = if self.sha512 { &ORDER512 } else { &ORDER256 };
        for &(x, y, z) in order {
            put(b(x) << 16 | b(y) << 8 | b(z), 4);
        }
        if self.sha512 {
            put(b(63), 2);
        } else {
            put(b(31) << 8 | b(30), 3);
        }
        out[..o] == *self.tail
    }
}
