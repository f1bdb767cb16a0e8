//! Verification of posted tokens in the profile's order, failing closed:
//! envelope and header → key lookup (known, approved, not revoked) → signature
//! and claims → binding (UEID of the kid's device) → freshness (session nonce
//! live and single use online; `cti` unseen and `seq` increasing always) →
//! storage. Every outcome, accepted or rejected, goes to the audit trail.
//!
//! Nothing the device says is taken on trust where the collector can check
//! it: the SL ceiling per FR is recomputed from the rule results and the rule
//! catalog ([`ceilings`]; the claim is kept and a disagreement recorded); a
//! session is burnt only by a token that verifies, carries its nonce and
//! comes over the client certificate the session was opened with; a device
//! bound to a client certificate is held to it on every route; a UEID
//! already held by another device is refused at enrollment.

use crate::store::{Attestation, Conflict, Device, SessionState, Store, StoreError};
use fieldattest_protocol::catalog::{Catalog, Catalogs, Lookup};
use fieldattest_protocol::eat::{self, Claims};
use fieldattest_protocol::rejection::Rejection;
use fieldattest_protocol::token::{self, PublicKey, TokenError};
use std::collections::BTreeMap;

/// How a token arrived.
#[derive(Debug, Clone)]
pub enum Arrival<'a> {
    /// In answer to a session: its nonce must be in the token.
    Online {
        session: &'a str,
        /// SHA-256 (hex) of the mTLS client certificate, when the server uses mTLS.
        peer: Option<&'a str>,
    },
    /// Spooled or imported: freshness from `cti` and `seq`.
    Offline,
}

#[derive(Debug, Clone)]
pub struct Accepted {
    pub device: Device,
    pub token_id: i64,
    pub claims: Claims,
    /// Sequence numbers missing between the last accepted token and this one.
    pub gap: Option<(i64, i64)>,
}

/// A refusal: the protocol's reason (its code goes to the client; the
/// server maps it to an HTTP status) and a human text for the caller and the
/// audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: Rejection,
    pub reason: String,
}

pub(crate) fn reject(code: Rejection, reason: impl Into<String>) -> Refusal {
    Refusal {
        code,
        reason: reason.into(),
    }
}

/// A storage failure: a conflict is the client's refusal, anything else ours.
pub(crate) fn from_store(e: StoreError) -> Refusal {
    match e {
        StoreError::Conflict(c) => reject(
            match c {
                Conflict::DuplicateCti => Rejection::DuplicateCti,
                Conflict::SequenceReplay { .. } => Rejection::SequenceNotIncreasing,
                Conflict::KeyKnown => Rejection::KeyAlreadyKnown,
            },
            c.to_string(),
        ),
        other => reject(Rejection::Internal, format!("storage: {other}")),
    }
}

/// A token that does not parse or verify.
fn bad_token(e: TokenError) -> Refusal {
    reject(Rejection::of_token_error(&e), e.to_string())
}

/// Verifies and stores an attestation token (imports, tests: no requester).
pub fn accept(
    store: &dyn Store,
    body: &[u8],
    arrival: Arrival,
    now: i64,
) -> Result<Accepted, Refusal> {
    accept_from(store, body, arrival, &Requester::default(), now)
}

/// Who sent a request over the network: its address (audit coalescing) and
/// the SHA-256 (hex) of its client certificate (mTLS).
#[derive(Debug, Clone, Default)]
pub struct Requester {
    pub source: Option<String>,
    pub peer: Option<String>,
}

/// Verifies and stores an attestation token posted by `from`; a device bound
/// to a client certificate must come over it, online or spooled.
pub fn accept_from(
    store: &dyn Store,
    body: &[u8],
    arrival: Arrival,
    from: &Requester,
    now: i64,
) -> Result<Accepted, Refusal> {
    let mut kid_seen: Option<Vec<u8>> = None;
    let mut dev_seen: Option<i64> = None;
    let r = accept_inner(
        store,
        body,
        arrival,
        from,
        now,
        &mut kid_seen,
        &mut dev_seen,
    );
    // Accepted attestations are audited in the same transaction that stores them.
    if let Err(rj) = &r {
        store
            .audit_from(
                from.source.as_deref(),
                now,
                kid_seen.as_deref(),
                dev_seen,
                "rejected",
                &rj.reason,
            )
            .map_err(from_store)?;
    }
    r
}

fn accept_inner(
    store: &dyn Store,
    body: &[u8],
    arrival: Arrival,
    from: &Requester,
    now: i64,
    kid_seen: &mut Option<Vec<u8>>,
    dev_seen: &mut Option<i64>,
) -> Result<Accepted, Refusal> {
    let (sign1, kid) = token::parse(body).map_err(bad_token)?;
    *kid_seen = Some(kid.clone());
    let (device, below) = lookup_key(store, &kid)?;
    *dev_seen = Some(device.id);
    check_active(&device)?;
    let key = PublicKey::from_sec1(&device.pubkey).map_err(stored_key)?;
    let claims = token::verify_parsed(&sign1, &kid, &key).map_err(bad_token)?;
    if claims.intuse != 1 {
        return Err(reject(
            Rejection::WrongIntendedUse,
            "intended use is not 'generic' (enrollment tokens go to /enroll)",
        ));
    }
    if claims.ueid != device.ueid {
        return Err(reject(
            Rejection::UeidMismatch,
            "UEID does not match the device enrolled for this kid",
        ));
    }
    let peer = match arrival {
        Arrival::Online { peer, .. } => peer.or(from.peer.as_deref()),
        Arrival::Offline => from.peer.as_deref(),
    };
    check_peer(store, device.id, peer)?;
    if let Arrival::Online { session, .. } = arrival {
        check_session(store, session, claims.nonce.as_ref(), peer, now)?;
    }
    if store.cti_seen(device.id, &claims.cti).map_err(from_store)? {
        return Err(from_store(StoreError::Conflict(Conflict::DuplicateCti)));
    }
    let seq =
        i64::try_from(claims.seq).map_err(|_| reject(Rejection::BadClaims, "seq out of range"))?;
    if let Some(below) = below.filter(|b| seq >= *b) {
        return Err(reject(
            Rejection::RetiredKey,
            format!("retired key: seq {seq} is at or after the rotation point {below}"),
        ));
    }
    let gap = match device.last_seq {
        Some(last) if seq <= last => {
            return Err(from_store(StoreError::Conflict(Conflict::SequenceReplay {
                seq,
                last,
            })))
        }
        Some(last) if seq > last + 1 => Some((last + 1, seq - 1)),
        _ => None,
    };
    let ceil = ceilings(&claims, held_catalogs(store)?.as_ref());
    let a = Attestation {
        device_id: device.id,
        received_at: now,
        iat: claims.iat,
        seq,
        cti: claims.cti.clone(),
        raw: body.to_vec(),
        online: matches!(arrival, Arrival::Online { .. }),
        results: claims
            .measres
            .iter()
            .flat_map(|(_, r)| r.iter().cloned())
            .collect(),
        packages: claims
            .measurements
            .iter()
            .filter(|(cf, _)| *cf == eat::CF_COSWID)
            .filter_map(|(_, b)| coswid_tag(b))
            .collect(),
        keys: claims
            .key_fingerprints
            .iter()
            .map(|k| (k.kind.clone(), k.path.clone(), k.fingerprint.clone()))
            .collect(),
        sl_ceiling: ceil.effective.into_iter().collect(),
        ceiling_dispute: ceil.dispute.clone(),
        kid: kid.clone(),
        sbom_digest: claims
            .sbom_digests
            .iter()
            .find(|(f, d)| f.starts_with("cyclonedx") && d.len() == 32)
            .map(|(_, d)| crate::hex(d)),
        audit_reason: format!(
            "seq {seq}{}{}",
            gap.map(|(f, t)| format!("; missing seq {f}..{t}"))
                .unwrap_or_default(),
            ceil.dispute
                .as_ref()
                .map(|d| format!("; SL ceiling claim disagrees: {d}"))
                .unwrap_or_default()
        ),
    };
    // The store re-checks cti and seq inside its transaction (concurrent
    // posts of one device) and writes the audit entry with the attestation.
    let token_id = store.store_attestation(&a).map_err(from_store)?;
    Ok(Accepted {
        device,
        token_id,
        claims,
        gap,
    })
}

/// A stored public key that does not decode: the database, not the client.
fn stored_key(e: String) -> Refusal {
    reject(Rejection::Internal, format!("storage: stored key: {e}"))
}

/// The device a kid belongs to, with that key's public key in `pubkey`:
/// the current key, or a key retired by rotation together with its rotation
/// point (it only vouches for sequence numbers below it).
pub fn lookup_key(store: &dyn Store, kid: &[u8]) -> Result<(Device, Option<i64>), Refusal> {
    if let Some(d) = store.device_by_kid(kid).map_err(from_store)? {
        return Ok((d, None));
    }
    let (dev, pubkey, below) = store
        .retired_key(kid)
        .map_err(from_store)?
        .ok_or_else(|| reject(Rejection::UnknownDevice, "unknown kid: device not enrolled"))?;
    let mut d = store
        .device(dev)
        .map_err(from_store)?
        .ok_or_else(|| from_store(StoreError::NotFound("device of a retired key".into())))?;
    d.kid = kid.to_vec();
    d.pubkey = pubkey;
    Ok((d, Some(below)))
}

/// mTLS binding: when the connection has a client certificate and the
/// device has one bound (at enrollment), they must be the same.
fn check_peer(store: &dyn Store, device_id: i64, peer: Option<&str>) -> Result<(), Refusal> {
    let Some(peer) = peer else {
        return Ok(());
    };
    match store.tls_binding(device_id).map_err(from_store)? {
        Some(bound) if bound != peer => Err(reject(
            Rejection::ClientCertificateMismatch,
            "client certificate does not belong to this device",
        )),
        _ => Ok(()),
    }
}

/// Only approved, unrevoked devices may attest, rotate or import.
pub fn check_active(d: &Device) -> Result<(), Refusal> {
    match d.status.as_str() {
        "active" => Ok(()),
        "revoked" => Err(reject(Rejection::Revoked, "device revoked")),
        other => Err(reject(
            Rejection::Pending,
            format!("device {other}: not approved yet"),
        )),
    }
}

/// Checks the session without burning it — it must be live, carry the
/// token's nonce and have been opened over the same client certificate, if
/// it was opened over one — and only then burns it (atomically: of two
/// racing posts one wins). A foreign or garbage token leaves it usable.
fn check_session(
    store: &dyn Store,
    session: &str,
    nonce: Option<&Vec<u8>>,
    peer: Option<&str>,
    now: i64,
) -> Result<(), Refusal> {
    let state = |s: SessionState| match s {
        SessionState::Live(n) if Some(&n) == nonce => Ok(()),
        SessionState::Live(_) => Err(reject(
            Rejection::WrongNonce,
            "wrong nonce for this session",
        )),
        SessionState::Used => Err(reject(
            Rejection::NonceReplayed,
            "nonce replayed: session already used",
        )),
        SessionState::Expired => Err(reject(Rejection::SessionExpired, "session expired")),
        SessionState::Unknown => Err(reject(Rejection::UnknownSession, "unknown session")),
    };
    let (peeked, bound) = store.peek_session(session, now).map_err(from_store)?;
    state(peeked)?;
    if bound.is_some() && bound.as_deref() != peer {
        return Err(reject(
            Rejection::ClientCertificateMismatch,
            "session opened over another client certificate",
        ));
    }
    state(store.take_session(session, now).map_err(from_store)?)
}

/// The agent version named in the token (`submods["agent"]`).
pub fn agent_version(c: &Claims) -> Option<String> {
    c.submods
        .iter()
        .find(|(name, _)| name == "agent")
        .and_then(|(_, s)| s.sw.as_ref())
        .map(|sw| sw.version.clone())
}

/// The catalogs shipped with this build (parsed once) plus those imported
/// into the store (re-checked: the database is not trusted).
pub fn held_catalogs(store: &dyn Store) -> Result<std::borrow::Cow<'static, Catalogs>, Refusal> {
    static SHIPPED: std::sync::OnceLock<Catalogs> = std::sync::OnceLock::new();
    let shipped = SHIPPED.get_or_init(Catalogs::shipped);
    let imported = store.catalogs().map_err(from_store)?;
    if imported.is_empty() {
        return Ok(std::borrow::Cow::Borrowed(shipped));
    }
    let mut c = shipped.clone();
    for text in imported {
        if let Ok(cat) = Catalog::parse(&text) {
            c.insert(cat);
        }
    }
    Ok(std::borrow::Cow::Owned(c))
}

/// The FR a requirement id belongs to (`CR 1.1`, `EDR 2.4 RE 1` → `FR1`, `FR2`).
fn fr_of(req: &str) -> Option<String> {
    let mut w = req.split_whitespace();
    if !matches!(w.next()?, "CR" | "EDR" | "HDR" | "NDR" | "SAR") {
        return None;
    }
    let n: u8 = w.next()?.split('.').next()?.parse().ok()?;
    (1..=7).contains(&n).then(|| format!("FR{n}"))
}

/// SL ceilings of one attestation: the device's claim, the collector's own
/// computation, the value to use and the disagreement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ceilings {
    pub claimed: BTreeMap<String, u8>,
    /// Computed from the rule results and the catalog, for the FRs with at
    /// least one known rule that passed or failed.
    pub computed: BTreeMap<String, u8>,
    /// The computed ceiling where there is one, else the claim (an FR whose
    /// rules no held catalog knows cannot be checked).
    pub effective: BTreeMap<String, u8>,
    /// The FRs where the claim differs from the computation, as text.
    pub dispute: Option<String>,
}

/// Computes the SL ceiling per FR with the agent's semantics (`summarize` in
/// `scan/src/report.rs`): each FR with a rule that passed or failed starts
/// at 4; a failing rule lowers the ceiling of the FR of each of its
/// requirements to that requirement's lowest SL minus one. Rule metadata
/// comes from the catalog of the agent version that signed the token (or
/// the newest catalog knowing the rule); unknown rules do not count.
pub fn ceilings(claims: &Claims, cats: &Catalogs) -> Ceilings {
    let version = agent_version(claims);
    let mut computed: BTreeMap<String, u8> = BTreeMap::new();
    for (rule, code) in claims.measres.iter().flat_map(|(_, r)| r.iter()) {
        if *code != eat::RESULT_PASS && *code != eat::RESULT_FAIL {
            continue;
        }
        let meta = match cats.lookup(version.as_deref(), rule) {
            Lookup::Exact(m) | Lookup::OtherVersion { meta: m, .. } => m,
            Lookup::Unknown => continue,
        };
        for req in &meta.requirements {
            let Some(fr) = fr_of(&req.id) else { continue };
            let e = computed.entry(fr).or_insert(4);
            if *code == eat::RESULT_FAIL {
                *e = (*e).min(req.min_sl.saturating_sub(1));
            }
        }
    }
    let claimed: BTreeMap<String, u8> = claims.sl_ceiling.iter().cloned().collect();
    let mut effective = claimed.clone();
    effective.extend(computed.iter().map(|(k, v)| (k.clone(), *v)));
    let diffs: Vec<String> = computed
        .iter()
        .filter(|(fr, c)| claimed.get(*fr) != Some(c))
        .map(|(fr, c)| match claimed.get(fr) {
            Some(d) => format!("{fr}: device claims {d}, computed {c}"),
            None => format!("{fr}: device claims none, computed {c}"),
        })
        .collect();
    Ceilings {
        claimed,
        computed,
        effective,
        dispute: (!diffs.is_empty()).then(|| diffs.join("; ")),
    }
}

/// Tag id (purl) and version of an evidence CoSWID.
fn coswid_tag(b: &[u8]) -> Option<String> {
    let v = fieldattest_protocol::cbor::from_slice(b, 8).ok()?;
    let ciborium::value::Value::Map(m) = v else {
        return None;
    };
    m.iter()
        .find(|(k, _)| k.as_integer() == Some(0.into()))
        .and_then(|(_, v)| v.as_text().map(str::to_string))
}

/// Enrollment (profile §11.3): the body is an enrollment token (`intuse` 2)
/// carrying the device key in `cnf`, signed by that key, answering a session
/// nonce; the operator's one-time secret comes in the Authorization header.
/// Software-key devices start `pending`.
pub fn enroll(
    store: &dyn Store,
    secret: &[u8],
    body: &[u8],
    session: &str,
    from: &Requester,
    now: i64,
) -> Result<Device, Refusal> {
    let peer = from.peer.as_deref();
    let mut kid_seen = None;
    let r = (|| {
        let (sign1, kid) = token::parse(body).map_err(bad_token)?;
        kid_seen = Some(kid.clone());
        // The key comes from the token itself; verify with it (proof of possession).
        let unverified = eat::decode(sign1.payload.as_deref().unwrap_or_default())
            .map_err(|e| reject(Rejection::BadClaims, e.to_string()))?;
        let cnf = unverified
            .cnf
            .ok_or_else(|| reject(Rejection::BadEnrollment, "enrollment token without cnf key"))?;
        let key = PublicKey::from_sec1(&cnf).map_err(|e| reject(Rejection::BadEnrollment, e))?;
        if key.kid() != kid {
            return Err(reject(
                Rejection::BadEnrollment,
                "kid is not the thumbprint of the cnf key",
            ));
        }
        let claims = token::verify_parsed(&sign1, &kid, &key).map_err(bad_token)?;
        if claims.intuse != 2 {
            return Err(reject(
                Rejection::WrongIntendedUse,
                "not an enrollment token (intuse must be 2)",
            ));
        }
        check_session(store, session, claims.nonce.as_ref(), peer, now)?;
        if store.device_by_kid(&kid).map_err(from_store)?.is_some() {
            return Err(reject(Rejection::AlreadyEnrolled, "key already enrolled"));
        }
        if let Some(other) = store.device_by_ueid(&claims.ueid).map_err(from_store)? {
            return Err(reject(
                Rejection::UeidInUse,
                format!("UEID already held by device {}", other.id),
            ));
        }
        let hash = ring::digest::digest(&ring::digest::SHA256, secret);
        let site = store
            .take_enroll_token(hash.as_ref(), now)
            .map_err(from_store)?
            .ok_or_else(|| {
                reject(
                    Rejection::BadEnrollmentSecret,
                    "enrollment secret invalid, expired or already used",
                )
            })?;
        let id = store
            .insert_device(&kid, &claims.ueid, &key.0, &site, now)
            .map_err(from_store)?;
        if let Some(p) = peer {
            // mTLS: bind the client certificate used at enrollment to the device.
            store.set_tls_binding(id, p).map_err(from_store)?;
        }
        store
            .device(id)
            .map_err(from_store)?
            .ok_or_else(|| from_store(StoreError::NotFound(format!("device {id}"))))
    })();
    let (outcome, reason, dev) = match &r {
        Ok(d) => (
            "enrolled",
            format!("site {}; pending approval", d.site),
            Some(d.id),
        ),
        Err(rj) => ("enroll-rejected", rj.reason.clone(), None),
    };
    store
        .audit_from(
            from.source.as_deref(),
            now,
            kid_seen.as_deref(),
            dev,
            outcome,
            &reason,
        )
        .map_err(from_store)?;
    r
}

/// `intuse` of the rotation token signed by the old key (EAT "provisioning").
pub const INTUSE_ROTATION: u8 = 3;
/// `intuse` of the new key's proof of possession (EAT "proof of possession").
pub const INTUSE_POP: u8 = 5;

/// Key rotation (profile §11.4). The body is a CBOR sequence of two tokens
/// answering one session nonce: the first signed by the device's current key
/// (`intuse` 3) carrying the new key in `cnf`, the second signed by the new
/// key (`intuse` 5, same `cnf`, nonce and UEID) proving possession. The old
/// key is then retired: it still verifies spooled tokens whose `seq` is below
/// the rotation token's, and nothing newer.
pub fn rotate(
    store: &dyn Store,
    body: &[u8],
    session: &str,
    from: &Requester,
    now: i64,
) -> Result<(Device, Vec<u8>, i64), Refusal> {
    let peer = from.peer.as_deref();
    let mut kid_seen = None;
    let mut dev_seen = None;
    let r = (|| {
        let items = fieldattest_protocol::cbor::split_sequence(body, token::MAX_DEPTH, 2)
            .map_err(|e| reject(Rejection::Malformed, format!("rotation body: {e}")))?;
        let [old_tok, new_tok] = items[..] else {
            return Err(reject(
                Rejection::BadRotation,
                "rotation body must hold exactly two tokens",
            ));
        };
        let (sign1, kid) = token::parse(old_tok).map_err(bad_token)?;
        kid_seen = Some(kid.clone());
        let device = store
            .device_by_kid(&kid)
            .map_err(from_store)?
            .ok_or_else(|| {
                reject(
                    Rejection::UnknownDevice,
                    "unknown kid: not a device's current key",
                )
            })?;
        dev_seen = Some(device.id);
        check_active(&device)?;
        let key = PublicKey::from_sec1(&device.pubkey).map_err(stored_key)?;
        let c1 = token::verify_parsed(&sign1, &kid, &key).map_err(bad_token)?;
        if c1.intuse != INTUSE_ROTATION {
            return Err(reject(
                Rejection::WrongIntendedUse,
                "first token is not a rotation token (intuse 3)",
            ));
        }
        if c1.ueid != device.ueid {
            return Err(reject(
                Rejection::UeidMismatch,
                "UEID does not match the device enrolled for this kid",
            ));
        }
        check_peer(store, device.id, peer)?;
        let new_key = c1
            .cnf
            .as_deref()
            .ok_or_else(|| {
                reject(
                    Rejection::BadRotation,
                    "rotation token without the new key in cnf",
                )
            })
            .and_then(|k| PublicKey::from_sec1(k).map_err(|e| reject(Rejection::BadRotation, e)))?;
        if new_key == key {
            return Err(reject(Rejection::BadRotation, "rotation to the same key"));
        }
        let (sign2, kid2) = token::parse(new_tok).map_err(bad_token)?;
        if kid2 != new_key.kid() {
            return Err(reject(
                Rejection::BadProofOfPossession,
                "second token is not signed by the new key",
            ));
        }
        let c2 = token::verify_parsed(&sign2, &kid2, &new_key).map_err(|e| {
            reject(
                Rejection::BadProofOfPossession,
                format!("proof of possession: {e}"),
            )
        })?;
        if c2.intuse != INTUSE_POP || c2.cnf != c1.cnf || c2.nonce != c1.nonce || c2.ueid != c1.ueid
        {
            return Err(reject(
                Rejection::BadProofOfPossession,
                "proof of possession does not match the rotation token (intuse 5, same cnf, nonce and UEID)",
            ));
        }
        let seq =
            i64::try_from(c1.seq).map_err(|_| reject(Rejection::BadClaims, "seq out of range"))?;
        if let Some(last) = device.last_seq.filter(|l| seq <= *l) {
            return Err(from_store(StoreError::Conflict(Conflict::SequenceReplay {
                seq,
                last,
            })));
        }
        check_session(store, session, c1.nonce.as_ref(), peer, now)?;
        store
            .rotate_key(device.id, &kid2, &new_key.0, seq, now)
            .map_err(from_store)?;
        Ok((device, kid2, seq))
    })();
    let (outcome, reason) = match &r {
        Ok((d, new, seq)) => (
            "rotated",
            format!(
                "key {} -> {}; the old key verifies seq below {seq} only",
                &crate::hex(&d.kid)[..16],
                &crate::hex(new)[..16],
            ),
        ),
        Err(rj) => ("rotate-rejected", rj.reason.clone()),
    };
    store
        .audit_from(
            from.source.as_deref(),
            now,
            kid_seen.as_deref(),
            dev_seen,
            outcome,
            &reason,
        )
        .map_err(from_store)?;
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;
    use fieldattest_protocol::catalog::RuleMeta;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

    struct Dev {
        key: EcdsaKeyPair,
        kid: Vec<u8>,
        ueid: Vec<u8>,
    }

    fn device(store: &SqliteStore, status: &str) -> Dev {
        let rng = SystemRandom::new();
        let p8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, p8.as_ref(), &rng).unwrap();
        let pk = PublicKey(key.public_key().as_ref().to_vec());
        let ueid = [vec![1u8], crate::random(32)].concat();
        let id = store
            .insert_device(&pk.kid(), &ueid, &pk.0, "t", 0)
            .unwrap();
        store.set_status(id, status).unwrap();
        Dev {
            key,
            kid: pk.kid(),
            ueid,
        }
    }

    fn token(d: &Dev, seq: u64, cti: u8) -> Vec<u8> {
        let c = Claims {
            iat: 1,
            cti: vec![cti; 16],
            ueid: d.ueid.clone(),
            intuse: 1,
            seq,
            ..Default::default()
        };
        token::sign(&c, &d.kid, |tbs| {
            d.key
                .sign(&SystemRandom::new(), tbs)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| "sign")
        })
        .unwrap()
    }

    fn code(r: Result<Accepted, Refusal>) -> Rejection {
        r.map(|_| ()).unwrap_err().code
    }

    #[test]
    fn each_refusal_gets_its_code_and_is_audited() {
        let s = SqliteStore::memory().unwrap();
        let d = device(&s, "active");
        let off = || Arrival::Offline;
        assert_eq!(code(accept(&s, b"garbage", off(), 5)), Rejection::Malformed);
        assert!(accept(&s, &token(&d, 5, 1), off(), 5).is_ok());
        assert_eq!(
            code(accept(&s, &token(&d, 6, 1), off(), 5)),
            Rejection::DuplicateCti
        );
        assert_eq!(
            code(accept(&s, &token(&d, 5, 2), off(), 5)),
            Rejection::SequenceNotIncreasing
        );
        let mut bad = token(&d, 7, 3);
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(code(accept(&s, &bad, off(), 5)), Rejection::BadSignature);
        let online = Arrival::Online {
            session: "nope",
            peer: None,
        };
        assert_eq!(
            code(accept(&s, &token(&d, 8, 4), online, 5)),
            Rejection::UnknownSession
        );
        let p = device(&s, "pending");
        assert_eq!(
            code(accept(&s, &token(&p, 1, 1), off(), 5)),
            Rejection::Pending
        );
        let r = device(&s, "revoked");
        assert_eq!(
            code(accept(&s, &token(&r, 1, 1), off(), 5)),
            Rejection::Revoked
        );
        let stranger = device(&SqliteStore::memory().unwrap(), "active");
        assert_eq!(
            code(accept(&s, &token(&stranger, 1, 1), off(), 5)),
            Rejection::UnknownDevice
        );
        let audit = s.audit_log(100).unwrap();
        let rejected: Vec<&str> = audit
            .iter()
            .filter(|e| e.outcome == "rejected")
            .map(|e| e.reason.as_str())
            .collect();
        assert_eq!(rejected.len(), 8, "{rejected:?}");
        assert!(rejected.contains(&"duplicate cti: token already received"));
        assert!(rejected.contains(&"sequence replay: seq 5 <= last accepted 5"));
    }

    #[test]
    fn store_conflicts_become_client_refusals_and_the_rest_internal() {
        let c = |x| from_store(StoreError::Conflict(x)).code;
        assert_eq!(c(Conflict::DuplicateCti), Rejection::DuplicateCti);
        assert_eq!(
            c(Conflict::SequenceReplay { seq: 1, last: 2 }),
            Rejection::SequenceNotIncreasing
        );
        assert_eq!(c(Conflict::KeyKnown), Rejection::KeyAlreadyKnown);
        let r = from_store(StoreError::Database("disk I/O error".into()));
        assert_eq!(r.code, Rejection::Internal);
        assert_eq!(r.reason, "storage: database: disk I/O error");
    }

    fn signed(d: &Dev, c: &Claims) -> Vec<u8> {
        token::sign(c, &d.kid, |tbs| {
            d.key
                .sign(&SystemRandom::new(), tbs)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| "sign")
        })
        .unwrap()
    }

    #[test]
    fn a_foreign_or_garbage_token_does_not_burn_a_session() {
        let s = SqliteStore::memory().unwrap();
        let a = device(&s, "active");
        let b = device(&s, "active");
        s.create_session("sb", b"nonce-of-b", 100).unwrap();
        let online = || Arrival::Online {
            session: "sb",
            peer: None,
        };
        assert_eq!(
            code(accept(&s, b"garbage", online(), 5)),
            Rejection::Malformed
        );
        let mut foreign = Claims {
            iat: 1,
            cti: vec![9; 16],
            ueid: a.ueid.clone(),
            intuse: 1,
            seq: 1,
            nonce: Some(b"nonce-of-a".to_vec()),
            ..Default::default()
        };
        assert_eq!(
            code(accept(&s, &signed(&a, &foreign), online(), 5)),
            Rejection::WrongNonce
        );
        foreign.nonce = Some(b"nonce-of-b".to_vec());
        let mut forged = signed(&a, &foreign);
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert_eq!(
            code(accept(&s, &forged, online(), 5)),
            Rejection::BadSignature
        );
        let mine = Claims {
            ueid: b.ueid.clone(),
            nonce: Some(b"nonce-of-b".to_vec()),
            ..foreign.clone()
        };
        assert!(
            accept(&s, &signed(&b, &mine), online(), 5).is_ok(),
            "B's session still usable"
        );
        // A session opened over a client certificate is only burnt over it.
        s.open_session(
            &crate::store::NewSession {
                id: "sc".into(),
                nonce: b"nonce-of-c".to_vec(),
                expires: 100,
                now: 5,
                source: None,
                peer: Some("cert-b".into()),
            },
            crate::store::SessionCaps {
                total: 10,
                per_source: 10,
            },
        )
        .unwrap();
        let c = Claims {
            cti: vec![8; 16],
            seq: 2,
            nonce: Some(b"nonce-of-c".to_vec()),
            ..mine
        };
        let over = |peer| Arrival::Online {
            session: "sc",
            peer,
        };
        assert_eq!(
            code(accept(&s, &signed(&b, &c), over(Some("cert-x")), 5)),
            Rejection::ClientCertificateMismatch
        );
        assert!(accept(&s, &signed(&b, &c), over(Some("cert-b")), 5).is_ok());
    }

    #[test]
    fn the_sl_ceiling_is_computed_from_results_and_catalog_and_a_false_claim_flagged() {
        let cats = Catalogs::shipped();
        let cat = cats.get(cats.versions()[0]).unwrap().clone();
        // Three failing rules filed under FR1 requirements.
        let fr1: Vec<&RuleMeta> = cat
            .rules
            .iter()
            .filter(|r| {
                r.requirements
                    .iter()
                    .any(|q| fr_of(&q.id).as_deref() == Some("FR1"))
            })
            .take(3)
            .collect();
        assert_eq!(fr1.len(), 3);
        let expect = fr1
            .iter()
            .flat_map(|r| r.requirements.iter())
            .filter(|q| fr_of(&q.id).as_deref() == Some("FR1"))
            .map(|q| q.min_sl - 1)
            .min()
            .unwrap();
        let c = Claims {
            measres: vec![(
                "x".into(),
                fr1.iter()
                    .map(|r| (r.id.clone(), eat::RESULT_FAIL))
                    .collect(),
            )],
            sl_ceiling: vec![("FR1".into(), 4)],
            ..Default::default()
        };
        let ce = ceilings(&c, &cats);
        assert_eq!(ce.claimed.get("FR1"), Some(&4));
        assert_eq!(ce.computed.get("FR1"), Some(&expect));
        assert_eq!(ce.effective.get("FR1"), Some(&expect));
        assert!(expect < 2, "three failing FR1 rules cannot meet SL 2");
        assert!(ce.dispute.unwrap().contains("FR1: device claims 4"));
        // An honest claim of passing rules agrees.
        let honest = Claims {
            measres: vec![(
                "x".into(),
                fr1.iter()
                    .map(|r| (r.id.clone(), eat::RESULT_PASS))
                    .collect(),
            )],
            ..c
        };
        let ce = ceilings(
            &Claims {
                sl_ceiling: ceilings(&honest, &cats).computed.into_iter().collect(),
                ..honest.clone()
            },
            &cats,
        );
        assert_eq!(ce.dispute, None);
        assert_eq!(ce.computed.get("FR1"), Some(&4));
    }

    #[test]
    fn a_ueid_held_by_another_device_is_refused_at_enrollment() {
        let s = SqliteStore::memory().unwrap();
        let held = device(&s, "active");
        let rng = SystemRandom::new();
        let p8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, p8.as_ref(), &rng).unwrap();
        let pk = PublicKey(key.public_key().as_ref().to_vec());
        let d = Dev {
            key,
            kid: pk.kid(),
            ueid: held.ueid.clone(),
        };
        s.create_session("e", b"nonce-of-e", 100).unwrap();
        s.create_enroll_token(
            &ring::digest::digest(&ring::digest::SHA256, b"sec")
                .as_ref()
                .to_vec(),
            "p",
            100,
        )
        .unwrap();
        let c = Claims {
            iat: 1,
            cti: vec![1; 16],
            ueid: held.ueid.clone(),
            intuse: 2,
            nonce: Some(b"nonce-of-e".to_vec()),
            cnf: Some(pk.0.clone()),
            ..Default::default()
        };
        let r = enroll(&s, b"sec", &signed(&d, &c), "e", &Requester::default(), 5);
        assert_eq!(r.unwrap_err().code, Rejection::UeidInUse);
        assert_eq!(s.devices().unwrap().len(), 1);
    }
}
