//! Storage of the collector. [`Store`] is the seam for other backends
//! (PostgreSQL later); [`SqliteStore`] is the embedded default: WAL mode,
//! schema migrations in code, every write in a transaction. One concept: the
//! `Store` trait — every operation a backend implements, with its row types —
//! in one file, so that a second backend has one list to follow.
//!
//! By concern: `schema` (migrations, opening), `writes` (attestations, the
//! group-commit writer, aggregate maintenance), `accepts` (collector-side acceptances), `devices` (enrollment,
//! devices, sessions, key rotation), `console` (what the operator console
//! reads: per-device columns, package sets, posture), `audit` (the chained, bounded audit trail), `fleet` (fleet queries), `vulns`
//! (advisories, VEX), `feeds` (NVD/CVE 5 records, KEV, EPSS, supplier
//! VEX, feed status), `artifacts` (SBOMs, rule catalogs). This file holds the
//! trait, its types and the typed error.
//!
//! Secrets never stored in clear: enrollment secrets are kept as SHA-256.

use rusqlite::Connection;
use std::sync::{mpsc, Mutex};

mod accepts;
mod artifacts;
mod audit;
mod console;
pub mod copy;
mod device_claims;
mod device_list;
mod devices;
mod feeds;
mod fleet;
mod kernel;
mod operators;
mod pg;
#[cfg(test)]
pub(crate) mod pg_cluster;
pub(crate) mod pg_schema;
mod schema;
mod set_vulns;
pub(crate) mod sql;
mod vulns;
mod writes;

pub use accepts::{Accept, NewAccept};
pub use console::{HistoryEntry, TokenDetail};
pub use device_claims::{of_claims as device_claims_of, DeviceCveStatus, DeviceListener};
pub use device_list::{DeviceQuery, DeviceRow, Sort};
pub use feeds::{Epss, Feed, FeedRecord, Kev, MergeFn, Merged, PutCounts, SupplierVex};
pub use pg::PostgresStore;
pub use set_vulns::{Coverage, SetMatch, SetVuln, Statement, VulnException};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: i64,
    pub kid: Vec<u8>,
    pub ueid: Vec<u8>,
    pub pubkey: Vec<u8>,
    pub site: String,
    /// `pending`, `active`, `revoked`.
    pub status: String,
    pub enrolled_at: i64,
    pub last_seq: Option<i64>,
    pub last_seen: Option<i64>,
}

/// A verified attestation ready to store.
#[derive(Debug, Clone)]
pub struct Attestation {
    pub device_id: i64,
    pub received_at: i64,
    pub iat: i64,
    pub seq: i64,
    pub cti: Vec<u8>,
    pub raw: Vec<u8>,
    pub online: bool,
    /// (rule id, result code 1..4)
    pub results: Vec<(String, u8)>,
    /// (tag id / purl) per package
    pub packages: Vec<String>,
    /// (kind, path, fingerprint)
    pub keys: Vec<(String, String, String)>,
    pub sl_ceiling: Vec<(String, u8)>,
    /// The device's kid and the audit reason written with the attestation.
    pub kid: Vec<u8>,
    pub audit_reason: String,
    /// Hex SHA-256 of the CycloneDX SBOM the token attests (uploaded separately).
    pub sbom_digest: Option<String>,
    /// Where the device's SL-ceiling claim differs from the ceiling the
    /// collector computed (`sl_ceiling` holds the computed one).
    pub ceiling_dispute: Option<String>,
    /// The device's hostname claim (hostile text: shown escaped, searched).
    pub hostname: Option<String>,
    /// The key tier the device claims: `software`, `tpm`, `pkcs11`.
    pub key_tier: Option<String>,
    /// Findings the token lists: (rule, subject, path, accepted countermeasure).
    pub findings: Vec<(String, String, String, Option<String>)>,
    /// The image's CVE_STATUS entries the token claims.
    pub cve_status: Vec<DeviceCveStatus>,
    /// The listening sockets the token claims, with their packages.
    pub listeners: Vec<DeviceListener>,
}

/// writing transaction, so concurrent writers cannot both win).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// The device already sent a token with this `cti`.
    DuplicateCti,
    /// `seq` is not above the device's last accepted sequence number.
    SequenceReplay { seq: i64, last: i64 },
    /// The key a rotation moves to is already some device's key.
    KeyKnown,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Conflict::DuplicateCti => f.write_str("duplicate cti: token already received"),
            Conflict::SequenceReplay { seq, last } => {
                write!(f, "sequence replay: seq {seq} <= last accepted {last}")
            }
            Conflict::KeyKnown => f.write_str("new key already known"),
        }
    }
}

/// A storage failure, typed at the seam so callers decide on the kind, not
/// on the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The write contradicts stored state (the caller's refusal, not a fault).
    Conflict(Conflict),
    /// What the operation needs does not exist (named in the text).
    NotFound(String),
    /// The database failed (I/O, corruption, a lost writer thread).
    Database(String),
    /// The database cannot be reached (a lost or refused connection):
    /// nothing was written; the same call can succeed later.
    Unavailable(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Conflict(c) => write!(f, "{c}"),
            StoreError::NotFound(what) => write!(f, "{what} not found"),
            StoreError::Database(m) => write!(f, "database: {m}"),
            StoreError::Unavailable(m) => write!(f, "database unavailable: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<StoreError> for String {
    fn from(e: StoreError) -> String {
        e.to_string()
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

fn e(x: rusqlite::Error) -> StoreError {
    StoreError::Database(x.to_string())
}

/// Opens the store `db` names: a `postgres://` or `postgresql://` URL
/// ([`PostgresStore`]; TLS roots from `PGSSLROOTCERT` or the system's
/// bundle), else an SQLite database file ([`SqliteStore`]).
pub fn open(db: &str) -> Result<Box<dyn Store>> {
    if is_postgres(db) {
        Ok(Box::new(PostgresStore::open(db, None)?))
    } else {
        Ok(Box::new(SqliteStore::open(std::path::Path::new(db))?))
    }
}

/// Whether `db` names a PostgreSQL database.
pub fn is_postgres(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// One attestation's package tags and rule results.
pub type Snapshot = (Vec<String>, Vec<(String, u8)>);

/// Operations the collector needs from storage.
pub trait Store: Send + Sync {
    fn create_enroll_token(&self, hash: &[u8], site: &str, expires: i64) -> Result<()>;
    /// Consumes an enrollment secret (single use): returns its site if valid at `now`.
    fn take_enroll_token(&self, hash: &[u8], now: i64) -> Result<Option<String>>;
    fn insert_device(
        &self,
        kid: &[u8],
        ueid: &[u8],
        pubkey: &[u8],
        site: &str,
        now: i64,
    ) -> Result<i64>;
    fn device_by_kid(&self, kid: &[u8]) -> Result<Option<Device>>;
    fn device(&self, id: i64) -> Result<Option<Device>>;
    fn devices(&self) -> Result<Vec<Device>>;
    fn set_status(&self, id: i64, status: &str) -> Result<bool>;
    fn create_session(&self, id: &str, nonce: &[u8], expires: i64) -> Result<()>;
    /// Burns a session nonce: returns it if the session exists, is unused and
    /// unexpired at `now`; marks it used in any case.
    fn take_session(&self, id: &str, now: i64) -> Result<SessionState>;
    fn cti_seen(&self, device_id: i64, cti: &[u8]) -> Result<bool>;
    fn store_attestation(&self, a: Attestation) -> Result<i64>;
    fn audit(
        &self,
        at: i64,
        kid: Option<&[u8]>,
        device_id: Option<i64>,
        outcome: &str,
        reason: &str,
    ) -> Result<()>;
    fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>>;
    /// Failing rules of each device's latest attestation: (device id, rule id),
    /// optionally only one rule.
    fn latest_failures(&self, rule: Option<&str>) -> Result<Vec<(i64, String)>>;
    /// Key fingerprints seen on more than one device: (fingerprint, kind, device ids).
    fn shared_keys(&self) -> Result<Vec<(String, String, Vec<i64>)>>;
    /// The two latest attestations of a device: (packages, results) each.
    fn last_two(&self, device_id: i64) -> Result<Vec<Snapshot>>;
    /// [`last_two`](Store::last_two) of several devices in three queries
    /// (whatever their number): (device, its two latest snapshots), in the
    /// order of `devices`; a device with fewer than two tokens is left out.
    fn last_two_of(&self, devices: &[i64]) -> Result<Vec<(i64, [Snapshot; 2])>>;
    /// Devices whose latest attestation differs from the previous one in
    /// packages or rule results (decided in the database, without loading rows).
    fn drifting(&self) -> Result<Vec<i64>>;
    /// Fleet aggregates in a few queries: devices per status, failing rule
    /// counts, (FR, SL, devices), silent device count and the first ids.
    fn aggregates(&self, silent_before: i64) -> Result<Aggregates>;
    /// Whether a stored attestation references this SBOM digest (hex).
    fn sbom_referenced(&self, digest: &str) -> Result<bool>;
    fn sbom_exists(&self, digest: &str) -> Result<bool>;
    /// Stores an SBOM body; false when it was already there.
    fn put_sbom(&self, digest: &str, body: &[u8], now: i64) -> Result<bool>;
    /// A stored SBOM body by its digest (hex).
    fn sbom_body(&self, digest: &str) -> Result<Option<Vec<u8>>>;
    /// Rule catalogs imported for agent versions newer than this build
    /// (checked `fieldattest/catalog/v1` documents); replaces the same version.
    fn put_catalog(&self, version: &str, body: &str, now: i64) -> Result<()>;
    /// Every imported catalog document.
    fn catalogs(&self) -> Result<Vec<String>>;
    /// mTLS: SHA-256 (hex) of the client certificate bound to a device.
    fn tls_binding(&self, device_id: i64) -> Result<Option<String>>;
    fn set_tls_binding(&self, device_id: i64, fp: &str) -> Result<()>;
    /// A key replaced by rotation: (device id, public key, rotation point —
    /// the key signs nothing with a sequence number at or above it).
    fn retired_key(&self, kid: &[u8]) -> Result<Option<(i64, Vec<u8>, i64)>>;
    /// Key rotation in one transaction: the device's current key is retired
    /// below `below_seq` and the new key becomes current. Fails when the new
    /// kid is already known.
    fn rotate_key(
        &self,
        device_id: i64,
        new_kid: &[u8],
        new_pubkey: &[u8],
        below_seq: i64,
        now: i64,
    ) -> Result<()>;
    /// Stores an OSV advisory (raw JSON) with the (ecosystem, package) keys it
    /// affects. Idempotent: an advisory with the same `modified` is left as is.
    fn put_advisory(
        &self,
        id: &str,
        modified: &str,
        keys: &[(String, String)],
        raw: &str,
        source: &str,
        now: i64,
    ) -> Result<PutAdvisory>;
    /// Raw JSON of the advisories affecting (ecosystem, package): (id, raw).
    fn advisories_for(&self, ecosystem: &str, name: &str) -> Result<Vec<(String, String)>>;
    /// Number of advisories and the latest import time.
    fn advisory_stats(&self) -> Result<(u64, Option<i64>)>;
    /// Package tags (purls) of every device's latest attestation, active devices only.
    fn latest_packages(&self) -> Result<Vec<(i64, Vec<String>)>>;
    /// Records a VEX status for a vulnerability on a device (`None`: the fleet).
    fn set_vex(&self, v: &VexEntry) -> Result<()>;
    fn vex_entries(&self) -> Result<Vec<VexEntry>>;
    /// The device's latest stored attestation.
    fn latest_token(&self, device_id: i64) -> Result<Option<TokenRow>>;

    // Operators (`operators.rs`).
    /// A new operator account (`phc`: its Argon2id PHC string); false when the name is taken.
    fn add_operator(&self, name: &str, role: &str, phc: &str, now: i64) -> Result<bool>;
    fn operator(&self, name: &str) -> Result<Option<Operator>>;
    fn operators(&self) -> Result<Vec<Operator>>;
    /// A new password; the account's console sessions end.
    fn set_operator_password(&self, name: &str, phc: &str) -> Result<bool>;
    /// Disables an account; its console sessions end.
    fn disable_operator(&self, name: &str) -> Result<bool>;
    /// A console session, kept by the SHA-256 of its id.
    fn create_op_session(&self, hash: &[u8], operator_id: i64, csrf: &str, now: i64) -> Result<()>;
    /// The live session (used within `idle` s, younger than `absolute` s,
    /// account enabled), touched at `now`; expired sessions are deleted.
    fn op_session(
        &self,
        hash: &[u8],
        now: i64,
        idle: i64,
        absolute: i64,
    ) -> Result<Option<OpSession>>;
    fn delete_op_session(&self, hash: &[u8]) -> Result<()>;
    /// Counts a failed login under `key` (`user:NAME`, `addr:IP`); the new count.
    fn login_failed(&self, key: &str, now: i64, window: i64) -> Result<u32>;
    /// Failed logins under `key`, the last one within `window` s of `now`.
    fn login_failures(&self, key: &str, now: i64, window: i64) -> Result<u32>;
    fn clear_login_failures(&self, key: &str) -> Result<()>;
    /// An API token, kept by its SHA-256; its id.
    fn create_api_token(
        &self,
        name: &str,
        hash: &[u8],
        role: &str,
        expires: i64,
        now: i64,
    ) -> Result<i64>;
    /// The valid (unrevoked, unexpired) token with this hash, its use recorded.
    fn api_token(&self, hash: &[u8], now: i64) -> Result<Option<ApiToken>>;
    fn api_tokens(&self) -> Result<Vec<ApiToken>>;
    fn revoke_api_token(&self, id: i64) -> Result<bool>;
    // Device channel hardening (issue 16; `devices.rs` documents the bounds).
    /// An audit entry of a request from `source` (its address): reason
    /// bounded, repeats from one source coalesced, chained.
    fn audit_from(
        &self,
        source: Option<&str>,
        at: i64,
        kid: Option<&[u8]>,
        device_id: Option<i64>,
        outcome: &str,
        reason: &str,
    ) -> Result<()>;
    /// Checks the audit hash chain end to end.
    fn verify_audit(&self) -> Result<AuditCheck>;
    /// Opens a session bound to its requester within `caps`; false when full.
    fn open_session(&self, s: &NewSession, caps: SessionCaps) -> Result<bool>;
    /// A session's state without burning it, and the client certificate it
    /// was opened with.
    fn peek_session(&self, id: &str, now: i64) -> Result<(SessionState, Option<String>)>;
    fn session_count(&self) -> Result<i64>;
    /// The first device enrolled with this UEID.
    fn device_by_ueid(&self, ueid: &[u8]) -> Result<Option<Device>>;
    /// Devices whose stored attestations reference the SBOM digest (hex).
    fn sbom_devices(&self, digest: &str) -> Result<Vec<i64>>;
    /// (device id, disagreement) of latest attestations whose SL-ceiling
    /// claim differs from the computed one.
    fn ceiling_disputes(&self) -> Result<Vec<(i64, String)>>;

    // The operator console (`console.rs`).
    /// One page of the device list and the number of devices matching.
    fn device_list(&self, q: &DeviceQuery) -> Result<(Vec<DeviceRow>, u64)>;
    /// Devices per (site, status).
    fn sites(&self) -> Result<Vec<(String, String, u64)>>;
    /// Package sets to match against advisories (`all`: every set, else
    /// those never matched) with their package tags.
    fn pkgsets_to_match(&self, all: bool) -> Result<Vec<(i64, Vec<String>)>>;
    /// Replaces the matches, keys and coverage of package sets; devices'
    /// open counts follow.
    fn put_set_vulns(&self, sets: &[SetMatch]) -> Result<()>;
    /// Package sets to match again after an import touching these
    /// (ecosystem, name) keys, and those never matched, with their tags.
    fn pkgsets_for_keys(&self, keys: &[(String, String)]) -> Result<Vec<(i64, Vec<String>)>>;
    /// Ecosystems of the imported advisories.
    fn advisory_ecosystems(&self) -> Result<Vec<String>>;
    /// Active devices per package set, of one site or all.
    fn set_counts(&self, site: Option<&str>) -> Result<Vec<(i64, u64)>>;
    /// (device, package set) of the active devices, of one site or all.
    fn device_sets(&self, site: Option<&str>) -> Result<Vec<(i64, i64)>>;
    /// The matching coverage of a device's package set, or of the fleet's.
    fn coverage(&self, device: Option<i64>) -> Result<Coverage>;
    /// Calls `f` with every (package set, vulnerability) match, in
    /// vulnerability order, streaming (a file database reads them on a
    /// connection of its own, so a long walk blocks no other request).
    /// An error of `f` ends the walk and is returned.
    fn each_set_vuln(
        &self,
        f: &mut dyn FnMut(i64, SetVuln) -> std::result::Result<(), String>,
    ) -> Result<()>;
    /// The fleet vulnerability view's generation: bumped (by trigger) by
    /// every change the view depends on.
    fn fleet_generation(&self) -> Result<u64>;
    /// Active devices with an accepted finding or a device-specific VEX statement.
    fn vuln_exceptions(&self) -> Result<Vec<VulnException>>;
    /// The open vulnerabilities of a device's latest attestation, highest score first.
    fn device_vulns(&self, device: i64) -> Result<Vec<SetVuln>>;
    /// The device's matches closed by a statement of `source`.
    fn device_closed_by(&self, device: i64, source: &str) -> Result<Vec<SetVuln>>;
    /// One day's posture metrics (replacing the day's earlier values).
    fn put_posture(&self, day: i64, metrics: &[(String, u64)]) -> Result<()>;
    /// Posture metrics whose name starts with `prefix`, from day `from`.
    fn posture(&self, from: i64, prefix: &str) -> Result<Vec<(i64, String, u64)>>;
    /// Day `day`'s posture metrics whose name starts with `prefix`.
    fn posture_day(&self, day: i64, prefix: &str) -> Result<Vec<(String, u64)>>;
    /// How many of day `day`'s metrics start with `prefix`, and their sum.
    fn posture_count(&self, day: i64, prefix: &str) -> Result<(u64, u64)>;
    /// The posture metrics `names` from day `from` to day `to` (point
    /// lookups: the cost follows the names, not the days' metrics).
    fn posture_of(&self, from: i64, to: i64, names: &[String]) -> Result<Vec<(i64, String, u64)>>;
    /// Since `t`: devices gone silent, drifting devices, devices whose keys
    /// changed, key rotations.
    fn changes(&self, t: i64, now: i64, silent_after: i64) -> Result<[u64; 4]>;
    /// A device's attestations, newest first: (token, received, seq, iat, online).
    fn history(&self, device: i64, limit: i64) -> Result<Vec<HistoryEntry>>;
    /// One attestation of a device in full.
    fn token_detail(&self, device: i64, token: i64) -> Result<Option<TokenDetail>>;
    /// One device as a list row (with its approval).
    fn device_row(&self, id: i64) -> Result<Option<DeviceRow>>;
    /// Records who approved a device (`operator NAME`, `cli`) and when.
    fn set_approved(&self, id: i64, by: &str, at: i64) -> Result<()>;
    /// A device's audit entries, newest first (indexed on `device_id`).
    fn audit_for_device(&self, device_id: i64, limit: i64) -> Result<Vec<AuditEntry>>;

    // Collector-side acceptances (`accepts.rs`).
    fn add_accept(&self, a: &NewAccept) -> Result<i64>;
    /// A device's unrevoked acceptances and the fleet's (expired ones too).
    fn accepts_for(&self, device_id: i64) -> Result<Vec<Accept>>;
    fn accept(&self, id: i64) -> Result<Option<Accept>>;
    /// Marks one revoked; false when unknown or already revoked.
    fn revoke_accept(&self, id: i64, actor: &str) -> Result<bool>;

    // Imported data (`feeds.rs`, issue 18).
    /// Stores records of a CPE-based feed (`nvd`, `cve5`) and, for each
    /// changed one, the advisory `merge` makes of every feed's record of its
    /// id. Per record: new / updated / unchanged, or why it is not matched.
    fn put_feed_records(
        &self,
        kind: &str,
        source: &str,
        recs: &[FeedRecord],
        now: i64,
        merge: &MergeFn,
    ) -> Result<Vec<std::result::Result<PutAdvisory, String>>>;
    /// Replaces the KEV catalog.
    fn put_kev(&self, entries: &[(String, Kev)]) -> Result<PutCounts>;
    fn kev(&self, cve: &str) -> Result<Option<Kev>>;
    fn kev_all(&self) -> Result<std::collections::HashMap<String, Kev>>;
    /// Replaces the EPSS scores.
    fn put_epss(&self, rows: &[(String, Epss)]) -> Result<PutCounts>;
    fn epss_all(&self) -> Result<std::collections::HashMap<String, Epss>>;
    /// Replaces the statements of one supplier VEX document (`source`).
    fn put_supplier_vex(&self, source: &str, rows: &[SupplierVex]) -> Result<PutCounts>;
    fn supplier_vex(&self) -> Result<Vec<SupplierVex>>;
    /// Records what an import of a file held of a feed (replacing the same
    /// kind and origin).
    fn put_feed(&self, f: &Feed) -> Result<()>;
    /// Stores a kernel configuration's enabled symbols under its digests;
    /// true when something changed.
    fn put_kernel_config(
        &self,
        digests: &[String],
        symbols: &str,
        origin: &str,
        now: i64,
    ) -> Result<bool>;
    /// The enabled symbols (newline-separated) of an imported configuration.
    fn kernel_config(&self, digest: &str) -> Result<Option<String>>;
    /// Replaces the Kbuild map ((stem, conditions or `None` unknown)).
    fn put_kbuild(&self, files: &[(String, Option<String>)]) -> Result<()>;
    /// The Kbuild map.
    fn kbuild_map(&self) -> Result<Vec<(String, Option<String>)>>;
    fn feeds(&self) -> Result<Vec<Feed>>;
    // The latest attestation's claims row by row (`device_claims.rs`).
    /// The CVE_STATUS entries of a device's latest attestation.
    fn device_cve_status(&self, device_id: i64) -> Result<Vec<DeviceCveStatus>>;
    /// Every device's CVE_STATUS entries: (device id, entry).
    fn cve_status_all(&self) -> Result<Vec<(i64, DeviceCveStatus)>>;
    /// The listeners of a device's latest attestation, with their packages.
    fn device_listeners(&self, device_id: i64) -> Result<Vec<DeviceListener>>;
    /// Active devices with recorded listeners (of a site), grouped by package
    /// set and listeners digest: (set, digest, one device, how many).
    fn listening_groups(&self, site: Option<&str>) -> Result<Vec<device_claims::ListeningGroup>>;
    /// A device's package set and listeners digest.
    fn listening_of(&self, device: i64) -> Result<Option<(i64, Vec<u8>)>>;
}

/// An operator account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub id: i64,
    pub name: String,
    /// `viewer`, `operator`, `admin`.
    pub role: String,
    /// Argon2id PHC string.
    pub phc: String,
    pub disabled: bool,
    pub created: i64,
}

/// A live console session: its account and its CSRF token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpSession {
    pub operator: Operator,
    pub csrf: String,
}

/// An API token as listed (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    /// Hex of the first 8 bytes of the token's SHA-256.
    pub fingerprint: String,
    pub role: String,
    pub created: i64,
    pub expires: i64,
    pub revoked: bool,
    pub last_used: Option<i64>,
}

/// Result of checking the audit chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCheck {
    pub rows: u64,
    /// The first broken entry: (id, what is wrong).
    pub broken: Option<(i64, String)>,
}

/// A session to open, with its requester.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: String,
    pub nonce: Vec<u8>,
    pub expires: i64,
    pub now: i64,
    /// The requester's address.
    pub source: Option<String>,
    /// SHA-256 (hex) of the requester's client certificate (mTLS).
    pub peer: Option<String>,
}

/// Bounds of the sessions table.
#[derive(Debug, Clone, Copy)]
pub struct SessionCaps {
    /// Rows in the table at most.
    pub total: i64,
    /// Live sessions of one source at most (its oldest is dropped beyond).
    pub per_source: i64,
}

/// A stored attestation as kept: the raw token re-verifies any verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: i64,
    pub received_at: i64,
    pub iat: i64,
    pub seq: i64,
    pub online: bool,
    pub raw: Vec<u8>,
    pub sbom_digest: Option<String>,
}

/// Result of storing an advisory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutAdvisory {
    New,
    Updated,
    Unchanged,
}

/// An operator's VEX statement (CycloneDX analysis states).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexEntry {
    pub vuln: String,
    /// `None`: applies to every device of the fleet.
    pub device_id: Option<i64>,
    /// `not_affected`, `affected`, `fixed`, `under_investigation`.
    pub status: String,
    pub justification: Option<String>,
    pub detail: Option<String>,
    pub at: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aggregates {
    pub by_status: Vec<(String, u64)>,
    pub failing: Vec<(String, u64)>,
    pub ceilings: Vec<(String, u8, u64)>,
    pub silent: u64,
    pub silent_ids: Vec<i64>,
    /// Active devices whose latest attestation differs from the previous one.
    pub drifting: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionState {
    Live(Vec<u8>),
    Unknown,
    Used,
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: i64,
    pub kid: Option<String>,
    pub device_id: Option<i64>,
    pub outcome: String,
    pub reason: String,
    /// Times the same failure recurred from the same address within the
    /// coalescing window (counted instead of written; see `audit.rs`).
    pub repeats: u64,
    /// The requester's address (`None`: a local or operator action).
    pub source: Option<String>,
}

pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// The database file (None in memory): long read-only walks open
    /// their own connection on it.
    path: Option<std::path::PathBuf>,
    /// Group-commit writer for file databases (None for in-memory ones).
    writer: Option<Mutex<mpsc::Sender<writes::Job>>>,
    /// Ends the checkpointer thread of a file database when dropped.
    checkpointer: Option<Mutex<mpsc::Sender<()>>>,
}

impl SqliteStore {
    fn c(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Implements each listed [`Store`] method by calling the function of the
/// same name, in the module of its concern, with a connection of the store
/// (its `with`) as a [`sql::Sql`].
macro_rules! delegate_sql {
    ($($module:ident :: $name:ident ($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        $(
            fn $name(&self, $($arg: $ty),*) -> Result<$ret> {
                self.with(|db| $module::$name(db, $($arg),*))
            }
        )*
    };
}

/// Every [`Store`] method written once over [`sql::Sql`], for `$m`
/// ([`delegate_sql`]) to implement on each backend.
macro_rules! sql_methods {
    ($m:ident) => {
        $m! {
            audit::audit(at: i64, kid: Option<&[u8]>, device_id: Option<i64>, outcome: &str, reason: &str) -> ();
            audit::audit_log(limit: i64) -> Vec<AuditEntry>;
            audit::audit_from(source: Option<&str>, at: i64, kid: Option<&[u8]>, device_id: Option<i64>, outcome: &str, reason: &str) -> ();
            audit::verify_audit() -> AuditCheck;
            audit::audit_for_device(device_id: i64, limit: i64) -> Vec<AuditEntry>;
            vulns::put_advisory(id: &str, modified: &str, keys: &[(String, String)], raw: &str, source: &str, now: i64) -> PutAdvisory;
            vulns::advisories_for(ecosystem: &str, name: &str) -> Vec<(String, String)>;
            vulns::advisory_stats() -> (u64, Option<i64>);
            vulns::set_vex(v: &VexEntry) -> ();
            vulns::vex_entries() -> Vec<VexEntry>;
            accepts::add_accept(a: &NewAccept) -> i64;
            accepts::accepts_for(device_id: i64) -> Vec<Accept>;
            accepts::accept(id: i64) -> Option<Accept>;
            accepts::revoke_accept(id: i64, actor: &str) -> bool;
            artifacts::sbom_referenced(digest: &str) -> bool;
            artifacts::sbom_exists(digest: &str) -> bool;
            artifacts::put_sbom(digest: &str, body: &[u8], now: i64) -> bool;
            artifacts::sbom_body(digest: &str) -> Option<Vec<u8>>;
            artifacts::put_catalog(version: &str, body: &str, now: i64) -> ();
            artifacts::catalogs() -> Vec<String>;
            kernel::put_kernel_config(digests: &[String], symbols: &str, origin: &str, now: i64) -> bool;
            kernel::kernel_config(digest: &str) -> Option<String>;
            kernel::put_kbuild(files: &[(String, Option<String>)]) -> ();
            kernel::kbuild_map() -> Vec<(String, Option<String>)>;
            devices::create_enroll_token(hash: &[u8], site: &str, expires: i64) -> ();
            devices::take_enroll_token(hash: &[u8], now: i64) -> Option<String>;
            devices::insert_device(kid: &[u8], ueid: &[u8], pubkey: &[u8], site: &str, now: i64) -> i64;
            devices::device_by_kid(kid: &[u8]) -> Option<Device>;
            devices::device(id: i64) -> Option<Device>;
            devices::devices() -> Vec<Device>;
            devices::set_status(id: i64, status: &str) -> bool;
            devices::create_session(id: &str, nonce: &[u8], expires: i64) -> ();
            devices::take_session(id: &str, now: i64) -> SessionState;
            devices::tls_binding(device_id: i64) -> Option<String>;
            devices::set_tls_binding(device_id: i64, fp: &str) -> ();
            devices::retired_key(kid: &[u8]) -> Option<(i64, Vec<u8>, i64)>;
            devices::rotate_key(device_id: i64, new_kid: &[u8], new_pubkey: &[u8], below_seq: i64, now: i64) -> ();
            devices::open_session(s: &NewSession, caps: SessionCaps) -> bool;
            devices::peek_session(id: &str, now: i64) -> (SessionState, Option<String>);
            devices::session_count() -> i64;
            devices::device_by_ueid(ueid: &[u8]) -> Option<Device>;
            devices::sbom_devices(digest: &str) -> Vec<i64>;
            devices::ceiling_disputes() -> Vec<(i64, String)>;
            operators::add_operator(name: &str, role: &str, phc: &str, now: i64) -> bool;
            operators::operator(name: &str) -> Option<Operator>;
            operators::operators() -> Vec<Operator>;
            operators::set_operator_password(name: &str, phc: &str) -> bool;
            operators::disable_operator(name: &str) -> bool;
            operators::create_op_session(hash: &[u8], operator_id: i64, csrf: &str, now: i64) -> ();
            operators::op_session(hash: &[u8], now: i64, idle: i64, absolute: i64) -> Option<OpSession>;
            operators::delete_op_session(hash: &[u8]) -> ();
            operators::login_failed(key: &str, now: i64, window: i64) -> u32;
            operators::login_failures(key: &str, now: i64, window: i64) -> u32;
            operators::clear_login_failures(key: &str) -> ();
            operators::create_api_token(name: &str, hash: &[u8], role: &str, expires: i64, now: i64) -> i64;
            operators::api_token(hash: &[u8], now: i64) -> Option<ApiToken>;
            operators::api_tokens() -> Vec<ApiToken>;
            operators::revoke_api_token(id: i64) -> bool;
            fleet::latest_failures(rule: Option<&str>) -> Vec<(i64, String)>;
            fleet::shared_keys() -> Vec<(String, String, Vec<i64>)>;
            fleet::last_two(device_id: i64) -> Vec<Snapshot>;
            fleet::last_two_of(devices: &[i64]) -> Vec<(i64, [Snapshot; 2])>;
            fleet::latest_packages() -> Vec<(i64, Vec<String>)>;
            fleet::latest_token(device_id: i64) -> Option<TokenRow>;
            fleet::drifting() -> Vec<i64>;
            fleet::aggregates(silent_before: i64) -> Aggregates;
            device_list::device_list(q: &DeviceQuery) -> (Vec<DeviceRow>, u64);
            device_list::sites() -> Vec<(String, String, u64)>;
            device_claims::device_cve_status(device_id: i64) -> Vec<DeviceCveStatus>;
            device_claims::cve_status_all() -> Vec<(i64, DeviceCveStatus)>;
            device_claims::device_listeners(device_id: i64) -> Vec<DeviceListener>;
            device_claims::listening_groups(site: Option<&str>) -> Vec<device_claims::ListeningGroup>;
            device_claims::listening_of(device: i64) -> Option<(i64, Vec<u8>)>;
            device_list::device_row(id: i64) -> Option<DeviceRow>;
            device_list::set_approved(id: i64, by: &str, at: i64) -> ();
            writes::cti_seen(device_id: i64, cti: &[u8]) -> bool;
            set_vulns::pkgsets_to_match(all: bool) -> Vec<(i64, Vec<String>)>;
            set_vulns::put_set_vulns(sets: &[SetMatch]) -> ();
            set_vulns::pkgsets_for_keys(keys: &[(String, String)]) -> Vec<(i64, Vec<String>)>;
            set_vulns::advisory_ecosystems() -> Vec<String>;
            set_vulns::set_counts(site: Option<&str>) -> Vec<(i64, u64)>;
            set_vulns::device_sets(site: Option<&str>) -> Vec<(i64, i64)>;
            set_vulns::coverage(device: Option<i64>) -> Coverage;
            set_vulns::fleet_generation() -> u64;
            set_vulns::vuln_exceptions() -> Vec<VulnException>;
            set_vulns::device_vulns(device: i64) -> Vec<SetVuln>;
            set_vulns::device_closed_by(device: i64, source: &str) -> Vec<SetVuln>;
            console::put_posture(day: i64, metrics: &[(String, u64)]) -> ();
            console::posture(from: i64, prefix: &str) -> Vec<(i64, String, u64)>;
            console::posture_day(day: i64, prefix: &str) -> Vec<(String, u64)>;
            console::posture_count(day: i64, prefix: &str) -> (u64, u64);
            console::posture_of(from: i64, to: i64, names: &[String]) -> Vec<(i64, String, u64)>;
            console::changes(t: i64, now: i64, silent_after: i64) -> [u64; 4];
            console::history(device: i64, limit: i64) -> Vec<HistoryEntry>;
            console::token_detail(device: i64, token: i64) -> Option<TokenDetail>;
            feeds::put_feed_records(kind: &str, source: &str, recs: &[FeedRecord], now: i64, merge: &MergeFn) -> Vec<std::result::Result<PutAdvisory, String>>;
            feeds::put_kev(entries: &[(String, Kev)]) -> PutCounts;
            feeds::kev(cve: &str) -> Option<Kev>;
            feeds::kev_all() -> std::collections::HashMap<String, Kev>;
            feeds::put_epss(rows: &[(String, Epss)]) -> PutCounts;
            feeds::epss_all() -> std::collections::HashMap<String, Epss>;
            feeds::put_supplier_vex(source: &str, rows: &[SupplierVex]) -> PutCounts;
            feeds::supplier_vex() -> Vec<SupplierVex>;
            feeds::put_feed(f: &Feed) -> ();
            feeds::feeds() -> Vec<Feed>;
        }
    };
}

impl SqliteStore {
    /// Runs `f` on the store's connection.
    fn with<T>(&self, f: impl FnOnce(&mut dyn sql::Sql) -> Result<T>) -> Result<T> {
        f(&mut sql::Lite(&self.c()))
    }
}

impl Store for SqliteStore {
    fn store_attestation(&self, a: Attestation) -> Result<i64> {
        writes::store_attestation(self, a)
    }

    fn each_set_vuln(
        &self,
        f: &mut dyn FnMut(i64, SetVuln) -> std::result::Result<(), String>,
    ) -> Result<()> {
        match &self.path {
            Some(p) => set_vulns::each_set_vuln(&mut sql::Lite(&schema::open_reader(p)?), f),
            None => set_vulns::each_set_vuln(&mut sql::Lite(&self.c()), f),
        }
    }

    sql_methods!(delegate_sql);
}

impl Store for PostgresStore {
    /// In one transaction, run again when PostgreSQL aborts it for a
    /// deadlock with a concurrent one (see `pg.rs`).
    fn store_attestation(&self, a: Attestation) -> Result<i64> {
        self.in_transaction(|db| writes::write_attestation(db, &a))
    }

    fn each_set_vuln(
        &self,
        f: &mut dyn FnMut(i64, SetVuln) -> std::result::Result<(), String>,
    ) -> Result<()> {
        self.with(|db| set_vulns::each_set_vuln(db, f))
    }

    sql_methods!(delegate_sql);
}
