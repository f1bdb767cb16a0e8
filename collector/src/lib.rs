//! fieldattest collector: receives, verifies and stores device attestations
//! and shows the fleet's posture.
//! - `store`: storage trait, its typed error and the SQLite backend (WAL,
//!   migrations in code), split by concern.
//! - `verify`: the profile's verification order, enrollment, audit trail.
//! - `ceiling`: SL ceilings computed from rule results and the catalog, beside the claim.
//! - `demo`: a generated demo fleet through the store and the verification path.
//! - `import`: offline export bundles (signed completeness manifest), idempotent.
//! - `fleet`: fleet queries (devices, findings, SL ceilings, shared keys, drift).
//! - `vuln`: OSV advisories, ecosystem version orderings, matching on inventories.
//! - `evidence`: the IEC 62443-4-2 evidence report (JSON, HTML through maud).
//! - `page`: the fleet web page (maud).
//! - `server`: HTTPS API (axum on hyper, rustls TLS 1.3, optional mTLS) and web page.
#![forbid(unsafe_code)]

pub mod ceiling;
pub mod chart;
pub mod console;
pub mod demo;
pub mod evidence;
pub mod fleet;
pub mod import;
pub mod page;
pub mod posture;
pub mod server;
pub mod store;
pub mod verify;
pub mod vuln;

/// Seconds since the epoch (the collector's clock, read at the edges).
pub fn now() -> i64 {
    fieldattest_protocol::hex::unix_seconds(std::time::SystemTime::now())
}

/// The collector's clock as RFC 3339 (seconds, UTC), for generated documents.
pub fn timestamp() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// RFC 3339 (seconds, UTC) of a time in seconds since the epoch; times
/// outside what the calendar renders show as the number.
pub fn rfc3339(t: i64) -> String {
    u64::try_from(t)
        .ok()
        .and_then(|s| std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(s)))
        .filter(|_| t < 253_402_300_800)
        .map(|st| humantime::format_rfc3339_seconds(st).to_string())
        .unwrap_or_else(|| t.to_string())
}

pub use fieldattest_protocol::hex::hex;

/// A random (version 4) UUID as a URN, for generated documents' serial numbers.
pub fn urn_uuid() -> String {
    let mut b = [0u8; 16];
    b.copy_from_slice(&random(16));
    format!("urn:uuid:{}", fieldattest_protocol::hex::uuid_v4(b))
}

/// Random bytes from the system RNG.
pub fn random(n: usize) -> Vec<u8> {
    use ring::rand::SecureRandom;
    let mut v = vec![0u8; n];
    // The system RNG does not fail on Linux; an all-zero value would be refused by the store as duplicate.
    let _ = ring::rand::SystemRandom::new().fill(&mut v);
    v
}
