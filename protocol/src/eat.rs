//! EAT claims set of the profile `tag:fieldattest.org,2026:eat/v1` (see
//! PROFILE.md): typed claims, deterministic CBOR encoding, and a strict
//! decoder that checks types, lengths and dependencies.
//!
//! This file holds the claim keys and types; `encode` and `decode` hold the
//! two directions.

mod decode;
mod encode;

pub use decode::{decode, ClaimError};

use crate::cbor::{self, CborError};
use ciborium::value::Value;

pub const PROFILE: &str = "tag:fieldattest.org,2026:eat/v1";
/// Content-Format of an evidence CoSWID (RFC 9393) in `measurements`.
pub const CF_COSWID: i64 = 258;
/// Profile-experimental Content-Format of a measured component
/// (draft-ietf-rats-eat-measured-component) in `measurements`.
pub const CF_MEASURED_COMPONENT: i64 = 65001;

// Claim keys (IANA CWT registry, RFC 9711).
/// `cnf` (RFC 8747): the key being enrolled or rotated to, `{1: COSE_Key}`.
pub const CNF: i64 = 8;
pub const IAT: i64 = 6;
pub const CTI: i64 = 7;
pub const NONCE: i64 = 10;
pub const UEID: i64 = 256;
pub const UPTIME: i64 = 261;
pub const EAT_PROFILE: i64 = 265;
pub const SUBMODS: i64 = 266;
pub const BOOTCOUNT: i64 = 267;
pub const BOOTSEED: i64 = 268;
pub const SWNAME: i64 = 270;
pub const SWVERSION: i64 = 271;
pub const MEASUREMENTS: i64 = 273;
pub const MEASRES: i64 = 274;
pub const INTUSE: i64 = 275;
// Profile-private claims (below -65536).
pub const SEQ: i64 = -65537;
pub const EPOCH: i64 = -65538;
pub const TIME_SOURCE: i64 = -65539;
pub const KEY_TIER: i64 = -65540;
pub const SBOM_DIGESTS: i64 = -65541;
pub const SL_CEILING: i64 = -65542;
pub const KEY_FINGERPRINTS: i64 = -65543;
pub const FINDINGS: i64 = -65544;
pub const HOSTNAME: i64 = -65545;
pub const LISTENERS: i64 = -65546;
/// The image's recorded CVE_STATUS (Yocto), one entry per (CVE, recipe).
pub const CVE_STATUS: i64 = -65547;

// Bounds of the operator-console claims (bytes of UTF-8, entries).
/// `hostname`: a DNS name's longest text form (RFC 1035).
pub const MAX_HOSTNAME: usize = 253;
pub const MAX_LISTENERS: usize = 512;
pub const MAX_LISTENER_PROTO: usize = 16;
/// A listener's address and its process name.
pub const MAX_LISTENER_TEXT: usize = 64;
/// A listener's package (the installed package owning its executable).
pub const MAX_LISTENER_PACKAGE: usize = 128;

// Bounds of the `cve-status` claim (bytes of UTF-8, entries).
pub const MAX_CVE_STATUS: usize = 16384;
pub const MAX_CVE_ID: usize = 32;
/// The component (Yocto recipe `PN`).
pub const MAX_CVE_COMPONENT: usize = 128;
/// The CVE_STATUS key (`fixed-version`, `backported-patch`, ...).
pub const MAX_CVE_DETAIL: usize = 64;
pub const MAX_CVE_DESCRIPTION: usize = 256;

/// `cve-status` status codes: OE-core's mapped statuses.
pub const CVE_PATCHED: u8 = 1;
pub const CVE_IGNORED: u8 = 2;
pub const CVE_UNPATCHED: u8 = 3;

/// `measres` result codes (RFC 9711 §4.2.17).
pub const RESULT_PASS: u8 = 1;
pub const RESULT_FAIL: u8 = 2;
pub const RESULT_NOT_RUN: u8 = 3;
pub const RESULT_ABSENT: u8 = 4;

/// A software identity: name and multipartnumeric version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwId {
    pub name: String,
    pub version: String,
    /// Version scheme (1 = multipartnumeric, 16384 = semver).
    pub scheme: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Submod {
    pub sw: Option<SwId>,
    pub measurements: Vec<(i64, Vec<u8>)>,
}

/// A finding behind a failed or accepted rule: which account, key, file...
/// (`subject`, `path` inside the root) and, when accepted (IEC 62443-4-2
/// CCSC 2), the documented compensating countermeasure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingRef {
    pub rule: String,
    pub subject: String,
    pub path: String,
    pub accepted: Option<String>,
}

/// A listening socket of the running device and the process that owns it
/// (when known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub proto: String,
    pub addr: String,
    pub port: u16,
    pub process: Option<String>,
    /// The installed package owning the process's executable (an optional
    /// fifth element: tokens of older agents have four).
    pub package: Option<String>,
}

impl Listener {
    /// A listener with each text cut to the profile's bound (at a character
    /// boundary), so the claim always decodes.
    pub fn bounded(proto: &str, addr: &str, port: u16, process: Option<&str>) -> Self {
        Listener {
            proto: clip(proto, MAX_LISTENER_PROTO).into(),
            addr: clip(addr, MAX_LISTENER_TEXT).into(),
            port,
            process: process.map(|p| clip(p, MAX_LISTENER_TEXT).into()),
            package: None,
        }
    }

    /// The listener with its package (cut to [`MAX_LISTENER_PACKAGE`]).
    pub fn with_package(self, package: Option<&str>) -> Self {
        Listener {
            package: package.map(|p| clip(p, MAX_LISTENER_PACKAGE).into()),
            ..self
        }
    }
}

/// One CVE_STATUS entry of the image (Yocto `CVE_STATUS` as OE-core decodes
/// it): the CVE, the recipe it concerns, OE-core's mapped status
/// ([`CVE_PATCHED`], [`CVE_IGNORED`], [`CVE_UNPATCHED`]), the CVE_STATUS key
/// and its free text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CveStatus {
    pub cve: String,
    pub component: String,
    pub status: u8,
    pub detail: String,
    pub description: String,
}

impl CveStatus {
    /// An entry from the record's texts, each cut to the profile's bound;
    /// `None` for a status other than `Patched`, `Ignored`, `Unpatched`.
    pub fn bounded(
        cve: &str,
        component: &str,
        status: &str,
        detail: &str,
        description: &str,
    ) -> Option<Self> {
        Some(CveStatus {
            cve: clip(cve, MAX_CVE_ID).into(),
            component: clip(component, MAX_CVE_COMPONENT).into(),
            status: cve_status_code(status)?,
            detail: clip(detail, MAX_CVE_DETAIL).into(),
            description: clip(description, MAX_CVE_DESCRIPTION).into(),
        })
    }

    /// Bytes of the entry in the encoded claim.
    pub fn encoded_len(&self) -> usize {
        cbor::to_vec(&encode::cve_status_value(self)).len()
    }
}

/// The claim's code of an OE-core status name.
pub fn cve_status_code(status: &str) -> Option<u8> {
    match status {
        "Patched" => Some(CVE_PATCHED),
        "Ignored" => Some(CVE_IGNORED),
        "Unpatched" => Some(CVE_UNPATCHED),
        _ => None,
    }
}

/// OE-core's status name of a claim code.
pub fn cve_status_name(code: u8) -> Option<&'static str> {
    match code {
        CVE_PATCHED => Some("Patched"),
        CVE_IGNORED => Some("Ignored"),
        CVE_UNPATCHED => Some("Unpatched"),
        _ => None,
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends at a character
/// boundary.
pub fn clip(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A public key fingerprint reported in the token (no key material).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFingerprint {
    pub kind: String,
    pub path: String,
    pub algorithm: String,
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Claims {
    pub iat: i64,
    pub cti: Vec<u8>,
    pub nonce: Option<Vec<u8>>,
    pub ueid: Vec<u8>,
    pub uptime: Option<u64>,
    pub bootcount: Option<u64>,
    pub bootseed: Option<Vec<u8>>,
    pub intuse: u8,
    pub sw: Option<SwId>,
    pub measurements: Vec<(i64, Vec<u8>)>,
    /// Groups of (measurement system, [(rule id, result)]).
    pub measres: Vec<(String, Vec<(String, u8)>)>,
    pub submods: Vec<(String, Submod)>,
    pub seq: u64,
    pub epoch: Option<Vec<u8>>,
    /// 0 unknown, 1 NTP-synced, 2 RTC only.
    pub time_source: Option<u8>,
    /// 1 TPM, 2 PKCS#11 secure element, 3 software.
    pub key_tier: u8,
    /// (format, SHA-256) of SBOMs sent separately.
    pub sbom_digests: Vec<(String, Vec<u8>)>,
    pub sl_ceiling: Vec<(String, u8)>,
    pub key_fingerprints: Vec<KeyFingerprint>,
    /// Failed and accepted findings (subjects, paths, acceptance reasons).
    pub findings: Vec<FindingRef>,
    /// The device's hostname (at most [`MAX_HOSTNAME`] bytes).
    pub hostname: Option<String>,
    /// Listening sockets (at most [`MAX_LISTENERS`]).
    pub listeners: Vec<Listener>,
    /// The image's CVE_STATUS entries (at most [`MAX_CVE_STATUS`], one per
    /// (cve, component)).
    pub cve_status: Vec<CveStatus>,
    /// Enrollment / rotation: the P-256 public key (uncompressed SEC1) in `cnf`.
    pub cnf: Option<Vec<u8>>,
}

// CBOR value helpers for building claims.
fn int(i: i64) -> Value {
    Value::Integer(i.into())
}
fn bytes(b: &[u8]) -> Value {
    Value::Bytes(b.to_vec())
}
fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

#[cfg(test)]
mod cve_status_tests;
#[cfg(test)]
pub(crate) mod tests;
