//! The strict decoder: CBOR well-formedness, then every claim's type,
//! length and dependencies under the profile.

use super::*;

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
/// A text string of at most `max` bytes.
fn as_text_max(v: &Value, claim: &'static str, max: usize) -> Result<String, ClaimError> {
    let t = as_text(v, claim)?;
    if t.len() > max {
        return Err(ClaimError::Length {
            claim,
            len: t.len(),
        });
    }
    Ok(t)
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

fn parse_listeners(v: &Value) -> Result<Vec<Listener>, ClaimError> {
    const C: &str = "listeners";
    let a = as_array(v, C)?;
    if a.len() > MAX_LISTENERS {
        return Err(ClaimError::Length {
            claim: C,
            len: a.len(),
        });
    }
    a.iter()
        .map(|e| {
            let (proto, addr, port, process, package) = match as_array(e, C)? {
                [a, b, c, d] => (a, b, c, d, None),
                // The package (a later addition): text when present.
                [a, b, c, d, p] => (a, b, c, d, Some(as_text_max(p, C, MAX_LISTENER_PACKAGE)?)),
                _ => return Err(ClaimError::Type(C)),
            };
            Ok(Listener {
                proto: as_text_max(proto, C, MAX_LISTENER_PROTO)?,
                addr: as_text_max(addr, C, MAX_LISTENER_TEXT)?,
                port: u16::try_from(as_u64(port, C)?).map_err(|_| ClaimError::Type(C))?,
                process: match process {
                    Value::Null => None,
                    p => Some(as_text_max(p, C, MAX_LISTENER_TEXT)?),
                },
                package,
            })
        })
        .collect()
}

fn parse_cve_status(v: &Value) -> Result<Vec<CveStatus>, ClaimError> {
    const C: &str = "cve-status";
    let a = as_array(v, C)?;
    if a.len() > MAX_CVE_STATUS {
        return Err(ClaimError::Length {
            claim: C,
            len: a.len(),
        });
    }
    let mut seen = std::collections::HashSet::with_capacity(a.len());
    let mut out = Vec::with_capacity(a.len());
    for e in a {
        let [cve, component, status, detail, description] = as_array(e, C)? else {
            return Err(ClaimError::Type(C));
        };
        let status = u8::try_from(as_u64(status, C)?).map_err(|_| ClaimError::Type(C))?;
        if cve_status_name(status).is_none() {
            return Err(ClaimError::Type("cve-status status"));
        }
        let c = CveStatus {
            cve: as_text_max(cve, C, MAX_CVE_ID)?,
            component: as_text_max(component, C, MAX_CVE_COMPONENT)?,
            status,
            detail: as_text_max(detail, C, MAX_CVE_DETAIL)?,
            description: as_text_max(description, C, MAX_CVE_DESCRIPTION)?,
        };
        if !seen.insert((c.cve.clone(), c.component.clone())) {
            return Err(ClaimError::Dependency(
                "cve-status: one entry per (cve, component)",
            ));
        }
        out.push(c);
    }
    Ok(out)
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
            HOSTNAME => c.hostname = Some(as_text_max(v, "hostname", MAX_HOSTNAME)?),
            LISTENERS => c.listeners = parse_listeners(v)?,
            CVE_STATUS => c.cve_status = parse_cve_status(v)?,
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
