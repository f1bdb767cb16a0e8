//! The candidate list (per-account defaults and common passwords) and the
//! keyed digests the memo remembers checked hashes by.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The shipped list (see the file's header for its sources).
pub const LIST: &str = include_str!("../../../data/default-credentials.txt");
pub const LIST_NAME: &str = "fieldattest-default-credentials";

/// (per-account defaults, common passwords) from the list text.
pub fn parse_list(text: &str) -> (Vec<(&str, &str)>, Vec<&str>) {
    let mut per = Vec::new();
    let mut common = Vec::new();
    for l in text.lines() {
        if l.trim().is_empty() || l.starts_with('#') {
            continue;
        }
        if let Some((u, p)) = l.split_once(':') {
            if u == "*" {
                common.push(p);
            } else {
                per.push((u, p));
            }
        }
    }
    (per, common)
}

/// Version of the list: hashes checked against another list are re-checked.
pub fn list_digest() -> [u8; 32] {
    Sha256::digest(LIST.as_bytes()).into()
}

/// Keyed digest that identifies "this hash was fully checked against this list".
pub fn memo_key(device_key: &[u8], hash: &str) -> [u8; 32] {
    let mut m =
        <Hmac<Sha256> as Mac>::new_from_slice(device_key).expect("HMAC takes any key length");
    m.update(&list_digest());
    m.update(hash.as_bytes());
    m.finalize().into_bytes().into()
}
