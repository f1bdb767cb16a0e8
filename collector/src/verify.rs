//! Verification of posted tokens in the profile's order, failing closed:
//! envelope and header → key lookup (known, approved, not revoked) → signature
//! and claims → binding (UEID of the kid's device) → freshness (session nonce
//! live and single use online; `cti` unseen and `seq` increasing always) →
//! storage. Every outcome, accepted or rejected, goes to the audit trail.
//!
//! Nothing the device says is taken on trust where the collector can check
//! it: the SL ceiling per FR is recomputed from the rule results and the rule
//! catalog ([`crate::ceiling`]; the claim is kept and a disagreement recorded); a
//! session is burnt only by a token that verifies, carries its nonce and
//! comes over the client certificate the session was opened with; a device
//! bound to a client certificate is held to it on every route; a UEID
//! already held by another device is refused at enrollment.

use crate::ceiling::{ceilings, held_catalogs};
use crate::store::{Attestation, Conflict, Device, SessionState, Store, StoreError};
use fieldattest_protocol::eat::{self, Claims};
use fieldattest_protocol::rejection::Rejection;
use fieldattest_protocol::token::{self, PublicKey, TokenError};

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
        StoreError::Unavailable(m) => reject(Rejection::Unavailable, format!("storage: {m}")),
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
    let seq =
        i64::try_from(claims.seq).map_err(|_| reject(Rejection::BadClaims, "seq out of range"))?;
    if let Some(below) = below.filter(|b| seq >= *b) {
        return Err(reject(
            Rejection::RetiredKey,
            format!("retired key: seq {seq} is at or after the rotation point {below}"),
        ));
    }
    // A duplicate cti is looked for only when the sequence number does not
    // advance (a token stored but not acknowledged, sent again, is named a
    // duplicate); a reused cti with a new sequence number is refused by the
    // store, which checks both inside its transaction.
    let gap = match device.last_seq {
        Some(last) if seq <= last => {
            if store.cti_seen(device.id, &claims.cti).map_err(from_store)? {
                return Err(from_store(StoreError::Conflict(Conflict::DuplicateCti)));
            }
            return Err(from_store(StoreError::Conflict(Conflict::SequenceReplay {
                seq,
                last,
            })));
        }
        Some(last) if seq > last + 1 => Some((last + 1, seq - 1)),
        _ => None,
    };
    let ceil = ceilings(&claims, held_catalogs(store)?.as_ref());
    // The image's CVE_STATUS and the listeners, row by row: they replace the
    // device's previous rows in the transaction that stores the token.
    let (cve_status, listeners) = crate::store::device_claims_of(&claims);
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
        hostname: claims.hostname.clone(),
        key_tier: Some(
            match claims.key_tier {
                1 => "tpm",
                2 => "pkcs11",
                3 => "software",
                _ => "unknown",
            }
            .to_string(),
        ),
        findings: claims
            .findings
            .iter()
            .map(|f| {
                (
                    f.rule.clone(),
                    f.subject.clone(),
                    f.path.clone(),
                    f.accepted.clone(),
                )
            })
            .collect(),
        sbom_digest: claims
            .sbom_digests
            .iter()
            .find(|(f, d)| f.starts_with("cyclonedx") && d.len() == 32)
            .map(|(_, d)| crate::hex(d)),
        cve_status,
        listeners,
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
    let token_id = store.store_attestation(a).map_err(from_store)?;
    // A package set never seen before is matched against the advisories
    // now; a failure leaves it for the next attestation or import (the
    // token is stored either way).
    if let Err(x) = crate::vuln::refresh(store, false) {
        let _ = store.audit(now, Some(&kid), Some(device.id), "vuln-match-failed", &x);
    }
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

/// Tag id (purl) and version of an evidence CoSWID.
fn coswid_tag(b: &[u8]) -> Option<String> {
    // Read in place (no decoded value per package of every token); the
    // same answer as decoding the tag (`cbor::map_text`'s differential test).
    fieldattest_protocol::cbor::map_text(b, 0, 8).map(str::to_string)
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
mod tests;
