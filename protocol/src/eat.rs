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
pub(crate) mod tests {
    use super::*;

    pub fn sample() -> Claims {
        Claims {
            iat: 1_767_225_600,
            cti: vec![7; 16],
            nonce: Some(vec![9; 32]),
            ueid: {
                let mut u = vec![1u8];
                u.extend([3u8; 32]);
                u
            },
            uptime: Some(86_400),
            bootcount: Some(17),
            bootseed: Some(vec![5; 16]),
            intuse: 1,
            sw: Some(SwId {
                name: "Poky".into(),
                version: "5.0.4".into(),
                scheme: 1,
            }),
            measurements: vec![(CF_COSWID, vec![0xa0])],
            measres: vec![(
                "tag:fieldattest.org,2026:catalog/ccsc@0.1.0".into(),
                vec![
                    ("ssh.permit-root-login".into(), RESULT_PASS),
                    ("time.sync".into(), RESULT_FAIL),
                ],
            )],
            submods: vec![(
                "agent".into(),
                Submod {
                    sw: Some(SwId {
                        name: "fieldattest".into(),
                        version: "0.1.0".into(),
                        scheme: 16384,
                    }),
                    measurements: vec![],
                },
            )],
            seq: 1042,
            cnf: Some({
                let mut k = vec![4u8];
                k.extend([1u8; 64]);
                k
            }),
            epoch: None,
            time_source: Some(1),
            key_tier: 3,
            sbom_digests: vec![("cyclonedx+json".into(), vec![1; 32])],
            sl_ceiling: vec![("FR1".into(), 1), ("FR2".into(), 2)],
            key_fingerprints: vec![KeyFingerprint {
                kind: "ssh-host".into(),
                path: "/etc/ssh/ssh_host_ed25519_key".into(),
                algorithm: "ed25519".into(),
                fingerprint: "SHA256:abc".into(),
            }],
            findings: vec![
                FindingRef {
                    rule: "cred.known-default-password".into(),
                    subject: "plc".into(),
                    path: "/etc/shadow".into(),
                    accepted: None,
                },
                FindingRef {
                    rule: "ssh.root-login".into(),
                    subject: "".into(),
                    path: "/etc/ssh/sshd_config".into(),
                    accepted: Some("jump host enforces MFA (SEC-42)".into()),
                },
            ],
        }
    }

    #[test]
    fn roundtrip_and_determinism() {
        let c = sample();
        let b = c.encode();
        assert_eq!(decode(&b).unwrap(), c);
        assert_eq!(c.encode(), b);
        // Keys appear in bytewise order of their encodings: 6 first, -65543 last.
        assert_eq!(b[1], 0x06);
    }

    #[test]
    fn rejects_bad_claims() {
        let mut c = sample();
        c.nonce = Some(vec![1; 4]);
        assert!(matches!(
            decode(&c.encode()),
            Err(ClaimError::Length {
                claim: "eat_nonce",
                ..
            })
        ));
        let mut c = sample();
        c.ueid = vec![9; 20];
        assert!(matches!(
            decode(&c.encode()),
            Err(ClaimError::Length { claim: "ueid", .. })
        ));
        // Missing seq.
        let Value::Map(m) = sample().to_value() else {
            panic!()
        };
        let m: Vec<_> = m
            .into_iter()
            .filter(|(k, _)| k.as_integer().map(i64::try_from) != Some(Ok(SEQ)))
            .collect();
        assert_eq!(
            decode(&cbor::to_vec(&Value::Map(m))),
            Err(ClaimError::Missing("seq"))
        );
        // Text keys, duplicates, exp.
        assert_eq!(
            decode(&cbor::to_vec(&Value::Map(vec![(text("iat"), int(1))]))),
            Err(ClaimError::NonIntegerKey)
        );
        assert_eq!(
            decode(&cbor::to_vec(&Value::Map(vec![
                (int(6), int(1)),
                (int(6), int(2))
            ]))),
            Err(ClaimError::DuplicateKey(6))
        );
        assert_eq!(
            decode(&cbor::to_vec(&Value::Map(vec![(int(4), text("x"))]))),
            Err(ClaimError::Type("exp/nbf"))
        );
    }
}
