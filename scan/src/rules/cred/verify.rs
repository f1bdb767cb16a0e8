//! Verifying a candidate against a stored crypt(3) hash: the hash is parsed
//! once per account ([`Prepared`]), each candidate only re-hashes, within the
//! cost limits and the deadline.

use super::shacrypt;

/// Outcome of verifying one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    Match,
    NoMatch,
    Unsupported,
    /// The deadline passed while this candidate was being hashed (sha-crypt
    /// with a large `rounds=`): it counts as not checked.
    OutOfBudget,
}

/// Largest yescrypt cost re-hashed (memory `128·N·r·p` bytes, times `t + 1`
/// passes): 64 MiB, four times Debian's default `j9T` (16 MiB). A hash asking
/// for more (a hostile image can ask for 2^63 blocks) is reported unsupported
/// instead of exhausting the device's memory.
pub const YESCRYPT_MAX_COST: u128 = 64 << 20;
/// Largest bcrypt cost re-hashed (2^16 iterations, ~64x the common cost 10);
/// bcrypt cannot be interrupted by the budget mid-candidate.
pub const BCRYPT_MAX_COST: u32 = 16;

/// A stored hash, parsed once per account so that each candidate only re-hashes.
#[derive(Debug, Clone)]
pub enum Prepared<'a> {
    ShaCrypt(shacrypt::Setting<'a>),
    Yescrypt(&'a str),
    Md5(&'a str),
    Bcrypt(&'a str),
    Des(&'a str),
    /// An unknown scheme, a malformed hash, or a cost above the limits.
    Unsupported,
}

impl<'a> Prepared<'a> {
    pub fn new(hash: &'a str) -> Self {
        if hash.starts_with("$5$") || hash.starts_with("$6$") {
            return shacrypt::Setting::parse(hash)
                .map_or(Prepared::Unsupported, Prepared::ShaCrypt);
        }
        if hash.starts_with("$y$") {
            let cost = hash
                .split('$')
                .nth(2)
                .and_then(|p| p.parse::<yescrypt::Params>().ok())
                .map(|p| 128 * u128::from(p.n()) * u128::from(p.r()) * u128::from(p.p()));
            return match cost {
                Some(c) if c <= YESCRYPT_MAX_COST => Prepared::Yescrypt(hash),
                _ => Prepared::Unsupported,
            };
        }
        if hash.starts_with("$1$") {
            return Prepared::Md5(hash);
        }
        if ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)) {
            let cost = hash.get(4..6).and_then(|c| c.parse::<u32>().ok());
            return match cost {
                Some(c) if c <= BCRYPT_MAX_COST && hash.as_bytes().get(6) == Some(&b'$') => {
                    Prepared::Bcrypt(hash)
                }
                _ => Prepared::Unsupported,
            };
        }
        if hash.len() == 13 && !hash.starts_with('$') {
            return Prepared::Des(hash);
        }
        Prepared::Unsupported
    }

    /// Verifies one candidate; sha-crypt stops at `deadline`.
    pub fn verify(&self, password: &str, deadline: Option<std::time::Instant>) -> Verify {
        let m = match self {
            Prepared::ShaCrypt(s) => match s.check(password.as_bytes(), deadline) {
                Some(m) => m,
                None => return Verify::OutOfBudget,
            },
            Prepared::Yescrypt(h) => {
                use yescrypt::PasswordVerifier;
                match yescrypt::Yescrypt::default().verify_password(password.as_bytes(), *h) {
                    Ok(()) => true,
                    Err(yescrypt::password_hash::Error::PasswordInvalid) => false,
                    Err(_) => return Verify::Unsupported,
                }
            }
            Prepared::Md5(h) => pwhash::md5_crypt::verify(password, h),
            Prepared::Bcrypt(h) => pwhash::bcrypt::verify(password, h),
            Prepared::Des(h) => pwhash::unix_crypt::verify(password, h),
            Prepared::Unsupported => return Verify::Unsupported,
        };
        if m {
            Verify::Match
        } else {
            Verify::NoMatch
        }
    }
}

/// Verifies `password` against a crypt(3) string: DES, md5crypt and bcrypt
/// (pwhash), sha256crypt and sha512crypt with `rounds=` ([`shacrypt`], on
/// ring's SHA-2), yescrypt (yescrypt). No deadline.
pub fn verify(password: &str, hash: &str) -> Verify {
    Prepared::new(hash).verify(password, None)
}
