//! EAT claims set of the profile `tag:fieldattest.org,2026:eat/v1` (see
//! PROFILE.md): typed claims, deterministic CBOR encoding, and a strict
//! decoder that checks types, lengths and dependencies.

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

fn int(i: i64) -> Value {
    Value::Integer(i.into())
}
fn bytes(b: &[u8]) -> Value {
    Value::Bytes(b.to_vec())
}
fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn sw_version(sw: &SwId) -> Value {
    Value::Array(vec![text(&sw.version), int(sw.scheme)])
}

fn measurements_value(m: &[(i64, Vec<u8>)]) -> Value {
    Value::Array(
        m.iter()
            .map(|(cf, b)| Value::Array(vec![int(*cf), bytes(b)]))
            .collect(),
    )
}

impl Claims {
    /// The claims as a CBOR map with integer keys, in deterministic order.
    pub fn to_value(&self) -> Value {
        let mut m: Vec<(Value, Value)> = vec![
            (int(IAT), int(self.iat)),
            (int(CTI), bytes(&self.cti)),
            (int(UEID), bytes(&self.ueid)),
            (int(EAT_PROFILE), text(PROFILE)),
            (int(INTUSE), int(self.intuse as i64)),
            (int(SEQ), Value::Integer(self.seq.into())),
            (int(KEY_TIER), int(self.key_tier as i64)),
        ];
        if let Some(n) = &self.nonce {
            m.push((int(NONCE), bytes(n)));
        }
        if let Some(k) = self.cnf.as_ref().filter(|k| k.len() == 65) {
            let cose_key = Value::Map(vec![
                (int(1), int(2)),
                (int(-1), int(1)),
                (int(-2), bytes(&k[1..33])),
                (int(-3), bytes(&k[33..65])),
            ]);
            m.push((int(CNF), Value::Map(vec![(int(1), cose_key)])));
        }
        if let Some(u) = self.uptime {
            m.push((int(UPTIME), Value::Integer(u.into())));
        }
        if let Some(b) = self.bootcount {
            m.push((int(BOOTCOUNT), Value::Integer(b.into())));
        }
        if let Some(s) = &self.bootseed {
            m.push((int(BOOTSEED), bytes(s)));
        }
        if let Some(sw) = &self.sw {
            m.push((int(SWNAME), text(&sw.name)));
            m.push((int(SWVERSION), sw_version(sw)));
        }
        if !self.measurements.is_empty() {
            m.push((int(MEASUREMENTS), measurements_value(&self.measurements)));
        }
        if !self.measres.is_empty() {
            let groups = self
                .measres
                .iter()
                .map(|(g, rs)| {
                    Value::Array(vec![
                        text(g),
                        Value::Array(
                            rs.iter()
                                .map(|(id, r)| Value::Array(vec![text(id), int(*r as i64)]))
                                .collect(),
                        ),
                    ])
                })
                .collect();
            m.push((int(MEASRES), Value::Array(groups)));
        }
        if !self.submods.is_empty() {
            let sm = self
                .submods
                .iter()
                .map(|(name, s)| {
                    let mut e = Vec::new();
                    if let Some(sw) = &s.sw {
                        e.push((int(SWNAME), text(&sw.name)));
                        e.push((int(SWVERSION), sw_version(sw)));
                    }
                    if !s.measurements.is_empty() {
                        e.push((int(MEASUREMENTS), measurements_value(&s.measurements)));
                    }
                    (text(name), Value::Map(e))
                })
                .collect();
            m.push((int(SUBMODS), Value::Map(sm)));
        }
        if let Some(e) = &self.epoch {
            m.push((int(EPOCH), bytes(e)));
        }
        if let Some(t) = self.time_source {
            m.push((int(TIME_SOURCE), int(t as i64)));
        }
        if !self.sbom_digests.is_empty() {
            m.push((
                int(SBOM_DIGESTS),
                Value::Array(
                    self.sbom_digests
                        .iter()
                        .map(|(f, d)| Value::Array(vec![text(f), bytes(d)]))
                        .collect(),
                ),
            ));
        }
        if !self.sl_ceiling.is_empty() {
            m.push((
                int(SL_CEILING),
                Value::Map(
                    self.sl_ceiling
                        .iter()
                        .map(|(fr, sl)| (text(fr), int(*sl as i64)))
                        .collect(),
                ),
            ));
        }
        if !self.key_fingerprints.is_empty() {
            m.push((
                int(KEY_FINGERPRINTS),
                Value::Array(
                    self.key_fingerprints
                        .iter()
                        .map(|k| {
                            Value::Array(vec![
                                text(&k.kind),
                                text(&k.path),
                                text(&k.algorithm),
                                text(&k.fingerprint),
                            ])
                        })
                        .collect(),
                ),
            ));
        }
        if !self.findings.is_empty() {
            m.push((
                int(FINDINGS),
                Value::Array(
                    self.findings
                        .iter()
                        .map(|f| {
                            let mut a = vec![text(&f.rule), text(&f.subject), text(&f.path)];
                            if let Some(r) = &f.accepted {
                                a.push(text(r));
                            }
                            Value::Array(a)
                        })
                        .collect(),
                ),
            ));
        }
        cbor::canonicalize(Value::Map(m))
    }

    /// Deterministic CBOR bytes of the claims set (the token payload).
    pub fn encode(&self) -> Vec<u8> {
        cbor::to_vec(&self.to_value())
    }
}

/// Why a claims set is not valid under the profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimError {
    Cbor(CborError),
    NotAMap,
    NonIntegerKey,
    DuplicateKey(i64),
    Missing(&'static str),
    Type(&'static str),
    Length { claim: &'static str, len: usize },
    WrongProfile(String),
    Dependency(&'static str),
    Forbidden(&'static str),
}

impl std::fmt::Display for ClaimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClaimError::Cbor(e) => write!(f, "claims: {e}"),
            ClaimError::NotAMap => write!(f, "claims set is not a map"),
            ClaimError::NonIntegerKey => write!(f, "claims set has a non-integer key"),
            ClaimError::DuplicateKey(k) => write!(f, "claim {k} appears twice"),
            ClaimError::Missing(c) => write!(f, "required claim {c} missing"),
            ClaimError::Type(c) => write!(f, "claim {c} has the wrong type"),
            ClaimError::Length { claim, len } => {
                write!(f, "claim {claim} has invalid length {len}")
            }
            ClaimError::WrongProfile(p) => write!(f, "eat_profile {p:?} is not {PROFILE}"),
            ClaimError::Dependency(c) => write!(f, "claim dependency violated: {c}"),
            ClaimError::Forbidden(c) => write!(f, "claim {c} is forbidden by the profile"),
        }
    }
}

fn as_i64(v: &Value, c: &'static str) -> Result<i64, ClaimError> {
    match v {
        Value::Integer(i) => i64::try_from(*i).map_err(|_| ClaimError::Type(c)),
        _ => Err(ClaimError::Type(c)),
    }
}
fn as_u64(v: &Value, c: &'static str) -> Result<u64, ClaimError> {
    match v {
        Value::Integer(i) => u64::try_from(*i).map_err(|_| ClaimError::Type(c)),
        _ => Err(ClaimError::Type(c)),
    }
}
fn as_bytes(v: &Value, c: &'static str) -> Result<Vec<u8>, ClaimError> {
    match v {
        Value::Bytes(b) => Ok(b.clone()),
        _ => Err(ClaimError::Type(c)),
    }
}
fn as_text(v: &Value, c: &'static str) -> Result<String, ClaimError> {
    match v {
        Value::Text(t) => Ok(t.clone()),
        _ => Err(ClaimError::Type(c)),
    }
}
fn as_array<'a>(v: &'a Value, c: &'static str) -> Result<&'a [Value], ClaimError> {
    match v {
        Value::Array(a) => Ok(a),
        _ => Err(ClaimError::Type(c)),
    }
}

fn parse_swversion(v: &Value) -> Result<(String, i64), ClaimError> {
    match as_array(v, "swversion")? {
        [Value::Text(t)] => Ok((t.clone(), 1)),
        [Value::Text(t), s] => Ok((t.clone(), as_i64(s, "swversion")?)),
        _ => Err(ClaimError::Type("swversion")),
    }
}

fn parse_measurements(v: &Value) -> Result<Vec<(i64, Vec<u8>)>, ClaimError> {
    as_array(v, "measurements")?
        .iter()
        .map(|e| match as_array(e, "measurements")? {
            [cf, b] => Ok((as_i64(cf, "measurements")?, as_bytes(b, "measurements")?)),
            _ => Err(ClaimError::Type("measurements")),
        })
        .collect()
}

/// Decodes and validates a claims set (the COSE payload).
pub fn decode(payload: &[u8]) -> Result<Claims, ClaimError> {
    let v = cbor::from_slice(payload, 16).map_err(ClaimError::Cbor)?;
    let Value::Map(entries) = v else {
        return Err(ClaimError::NotAMap);
    };
    let mut seen: Vec<i64> = Vec::new();
    let mut c = Claims::default();
    let (
        mut have_iat,
        mut have_cti,
        mut have_ueid,
        mut have_profile,
        mut have_intuse,
        mut have_seq,
    ) = (false, false, false, false, false, false);
    let mut swname: Option<String> = None;
    let mut swversion: Option<(String, i64)> = None;
    for (k, v) in &entries {
        let k = match k {
            Value::Integer(i) => i64::try_from(*i).map_err(|_| ClaimError::NonIntegerKey)?,
            _ => return Err(ClaimError::NonIntegerKey),
        };
        if seen.contains(&k) {
            return Err(ClaimError::DuplicateKey(k));
        }
        seen.push(k);
        match k {
            IAT => {
                c.iat = as_i64(v, "iat")?;
                have_iat = true;
            }
            // exp/nbf: senders of this profile never write them; tokens from
            // generic CWT libraries carry them and are tolerated (PROFILE.md).
            4 | 5 => {
                as_i64(v, "exp/nbf")?;
            }
            CTI => {
                c.cti = as_bytes(v, "cti")?;
                if c.cti.is_empty() || c.cti.len() > 64 {
                    return Err(ClaimError::Length {
                        claim: "cti",
                        len: c.cti.len(),
                    });
                }
                have_cti = true;
            }
            NONCE => {
                let n = as_bytes(v, "eat_nonce")?;
                if !(8..=64).contains(&n.len()) {
                    return Err(ClaimError::Length {
                        claim: "eat_nonce",
                        len: n.len(),
                    });
                }
                c.nonce = Some(n);
            }
            UEID => {
                c.ueid = as_bytes(v, "ueid")?;
                if !(7..=33).contains(&c.ueid.len()) || !matches!(c.ueid[0], 1..=3) {
                    return Err(ClaimError::Length {
                        claim: "ueid",
                        len: c.ueid.len(),
                    });
                }
                have_ueid = true;
            }
            CNF => {
                let Value::Map(m) = v else {
                    return Err(ClaimError::Type("cnf"));
                };
                let key = m
                    .iter()
                    .find(|(k, _)| as_i64(k, "cnf").ok() == Some(1))
                    .map(|(_, v)| v)
                    .ok_or(ClaimError::Type("cnf"))?;
                let Value::Map(ck) = key else {
                    return Err(ClaimError::Type("cnf"));
                };
                let get = |label: i64| {
                    ck.iter()
                        .find(|(k, _)| as_i64(k, "cnf").ok() == Some(label))
                        .map(|(_, v)| v)
                };
                let (Some(kty), Some(crv), Some(x), Some(y)) = (get(1), get(-1), get(-2), get(-3))
                else {
                    return Err(ClaimError::Type("cnf"));
                };
                if as_i64(kty, "cnf")? != 2 || as_i64(crv, "cnf")? != 1 {
                    return Err(ClaimError::Type("cnf key (want EC2 P-256)"));
                }
                let (x, y) = (as_bytes(x, "cnf")?, as_bytes(y, "cnf")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(ClaimError::Length {
                        claim: "cnf",
                        len: x.len() + y.len(),
                    });
                }
                let mut p = vec![0x04];
                p.extend(x);
                p.extend(y);
                c.cnf = Some(p);
            }
            UPTIME => c.uptime = Some(as_u64(v, "uptime")?),
            BOOTCOUNT => c.bootcount = Some(as_u64(v, "bootcount")?),
            BOOTSEED => c.bootseed = Some(as_bytes(v, "bootseed")?),
            EAT_PROFILE => {
                let p = as_text(v, "eat_profile")?;
                if p != PROFILE {
                    return Err(ClaimError::WrongProfile(p));
                }
                have_profile = true;
            }
            INTUSE => {
                c.intuse =
                    u8::try_from(as_u64(v, "intuse")?).map_err(|_| ClaimError::Type("intuse"))?;
                have_intuse = true;
            }
            SWNAME => swname = Some(as_text(v, "swname")?),
            SWVERSION => swversion = Some(parse_swversion(v)?),
            MEASUREMENTS => c.measurements = parse_measurements(v)?,
            MEASRES => {
                for g in as_array(v, "measres")? {
                    let [name, results] = as_array(g, "measres")? else {
                        return Err(ClaimError::Type("measres"));
                    };
                    let mut rs = Vec::new();
                    for r in as_array(results, "measres")? {
                        let [id, code] = as_array(r, "measres")? else {
                            return Err(ClaimError::Type("measres"));
                        };
                        let code = as_u64(code, "measres")?;
                        if !(1..=4).contains(&code) {
                            return Err(ClaimError::Type("measres result"));
                        }
                        rs.push((as_text(id, "measres")?, code as u8));
                    }
                    c.measres.push((as_text(name, "measres")?, rs));
                }
            }
            SUBMODS => {
                let Value::Map(sm) = v else {
                    return Err(ClaimError::Type("submods"));
                };
                for (name, body) in sm {
                    let name = as_text(name, "submods")?;
                    let Value::Map(b) = body else {
                        return Err(ClaimError::Type("submods"));
                    };
                    let mut s = Submod::default();
                    let (mut n, mut ver) = (None, None);
                    for (bk, bv) in b {
                        match as_i64(bk, "submods")? {
                            SWNAME => n = Some(as_text(bv, "submods swname")?),
                            SWVERSION => ver = Some(parse_swversion(bv)?),
                            MEASUREMENTS => s.measurements = parse_measurements(bv)?,
                            _ => {}
                        }
                    }
                    match (n, ver) {
                        (Some(name), Some((version, scheme))) => {
                            s.sw = Some(SwId {
                                name,
                                version,
                                scheme,
                            })
                        }
                        (None, Some(_)) => {
                            return Err(ClaimError::Dependency("submod swversion without swname"))
                        }
                        (Some(name), None) => {
                            s.sw = Some(SwId {
                                name,
                                version: String::new(),
                                scheme: 1,
                            })
                        }
                        _ => {}
                    }
                    c.submods.push((name, s));
                }
            }
            SEQ => {
                c.seq = as_u64(v, "seq")?;
                have_seq = true;
            }
            EPOCH => c.epoch = Some(as_bytes(v, "epoch")?),
            TIME_SOURCE => {
                c.time_source = Some(
                    u8::try_from(as_u64(v, "time-source")?)
                        .map_err(|_| ClaimError::Type("time-source"))?,
                )
            }
            KEY_TIER => {
                c.key_tier = u8::try_from(as_u64(v, "key-tier")?)
                    .map_err(|_| ClaimError::Type("key-tier"))?
            }
            SBOM_DIGESTS => {
                for e in as_array(v, "sbom-digests")? {
                    let [f, d] = as_array(e, "sbom-digests")? else {
                        return Err(ClaimError::Type("sbom-digests"));
                    };
                    c.sbom_digests
                        .push((as_text(f, "sbom-digests")?, as_bytes(d, "sbom-digests")?));
                }
            }
            SL_CEILING => {
                let Value::Map(m) = v else {
                    return Err(ClaimError::Type("sl-ceiling"));
                };
                for (fr, sl) in m {
                    c.sl_ceiling.push((
                        as_text(fr, "sl-ceiling")?,
                        u8::try_from(as_u64(sl, "sl-ceiling")?)
                            .map_err(|_| ClaimError::Type("sl-ceiling"))?,
                    ));
                }
            }
            KEY_FINGERPRINTS => {
                for e in as_array(v, "key-fingerprints")? {
                    let [kind, path, alg, fp] = as_array(e, "key-fingerprints")? else {
                        return Err(ClaimError::Type("key-fingerprints"));
                    };
                    c.key_fingerprints.push(KeyFingerprint {
                        kind: as_text(kind, "key-fingerprints")?,
                        path: as_text(path, "key-fingerprints")?,
                        algorithm: as_text(alg, "key-fingerprints")?,
                        fingerprint: as_text(fp, "key-fingerprints")?,
                    });
                }
            }
            FINDINGS => {
                for e in as_array(v, "findings")? {
                    let a = as_array(e, "findings")?;
                    let (rule, subject, path, accepted) = match a {
                        [r, s, p] => (r, s, p, None),
                        [r, s, p, why] => (r, s, p, Some(as_text(why, "findings")?)),
                        _ => return Err(ClaimError::Type("findings")),
                    };
                    c.findings.push(FindingRef {
                        rule: as_text(rule, "findings")?,
                        subject: as_text(subject, "findings")?,
                        path: as_text(path, "findings")?,
                        accepted,
                    });
                }
            }
            _ => {} // RFC 9711: unknown claims are ignored.
        }
    }
    match (swname, swversion) {
        (Some(name), Some((version, scheme))) => {
            c.sw = Some(SwId {
                name,
                version,
                scheme,
            })
        }
        (None, Some(_)) => return Err(ClaimError::Dependency("swversion without swname")),
        (Some(name), None) => {
            c.sw = Some(SwId {
                name,
                version: String::new(),
                scheme: 1,
            })
        }
        _ => {}
    }
    for (have, name) in [
        (have_iat, "iat"),
        (have_cti, "cti"),
        (have_ueid, "ueid"),
        (have_profile, "eat_profile"),
        (have_intuse, "intuse"),
        (have_seq, "seq"),
    ] {
        if !have {
            return Err(ClaimError::Missing(name));
        }
    }
    Ok(c)
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
