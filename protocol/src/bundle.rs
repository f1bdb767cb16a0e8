//! The export bundle of the profile (§9.3) for air-gapped sites: three files
//! carried on removable media or through a data diode.
//! - `tokens.cborseq`: the tokens, a CBOR sequence (RFC 8742) of `61(18(...))`;
//! - `manifest.cbor`: what the bundle must contain (`[seq, cti, sha256(token)]`
//!   per token), the device's UEID and kid, and the export time;
//! - `manifest.cose`: `18([{1: -7, 4: kid}, {}, nil, sig])`, a COSE_Sign1 with
//!   the manifest as detached payload, signed by the device key.
//!
//! Each token is authentic on its own; the signed manifest adds completeness:
//! a token removed from (or added to) the bundle is detected.

use crate::cbor;
use crate::token::{self, PublicKey, TokenError};
use ciborium::value::Value;
use coset::CoseSign1Builder;

pub const TOKENS_FILE: &str = "tokens.cborseq";
pub const MANIFEST_FILE: &str = "manifest.cbor";
pub const MANIFEST_SIG_FILE: &str = "manifest.cose";
/// Identifies the manifest format (key 6).
pub const BUNDLE_PROFILE: &str = "tag:fieldattest.org,2026:bundle/v1";
/// Most tokens one bundle may hold.
pub const MAX_TOKENS: usize = 100_000;
/// Largest manifest accepted (about 100 bytes per entry).
pub const MAX_MANIFEST: usize = 16 * 1024 * 1024;

/// One token the bundle must contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    pub cti: Vec<u8>,
    pub sha256: Vec<u8>,
}

/// The completeness manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub ueid: Vec<u8>,
    pub kid: Vec<u8>,
    pub exported_at: i64,
    /// In sequence order.
    pub entries: Vec<Entry>,
}

fn int(i: i64) -> Value {
    Value::Integer(i.into())
}

fn sha256(b: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, b)
        .as_ref()
        .to_vec()
}

impl Manifest {
    /// Builds the manifest of `tokens` (each already a signed token whose
    /// seq and cti the caller knows).
    pub fn of(ueid: &[u8], kid: &[u8], exported_at: i64, tokens: &[(u64, Vec<u8>, &[u8])]) -> Self {
        let mut entries: Vec<Entry> = tokens
            .iter()
            .map(|(seq, cti, t)| Entry {
                seq: *seq,
                cti: cti.clone(),
                sha256: sha256(t),
            })
            .collect();
        entries.sort_by_key(|e| e.seq);
        Manifest {
            ueid: ueid.to_vec(),
            kid: kid.to_vec(),
            exported_at,
            entries,
        }
    }

    /// Deterministic CBOR: `{1: ueid, 2: kid, 3: exported_at, 4: [first, last],
    /// 5: [[seq, cti, sha256], ...], 6: profile}`.
    pub fn encode(&self) -> Vec<u8> {
        let first = self.entries.first().map(|e| e.seq).unwrap_or(0);
        let last = self.entries.last().map(|e| e.seq).unwrap_or(0);
        let v = Value::Map(vec![
            (int(1), Value::Bytes(self.ueid.clone())),
            (int(2), Value::Bytes(self.kid.clone())),
            (int(3), int(self.exported_at)),
            (
                int(4),
                Value::Array(vec![
                    Value::Integer(first.into()),
                    Value::Integer(last.into()),
                ]),
            ),
            (
                int(5),
                Value::Array(
                    self.entries
                        .iter()
                        .map(|e| {
                            Value::Array(vec![
                                Value::Integer(e.seq.into()),
                                Value::Bytes(e.cti.clone()),
                                Value::Bytes(e.sha256.clone()),
                            ])
                        })
                        .collect(),
                ),
            ),
            (int(6), Value::Text(BUNDLE_PROFILE.into())),
        ]);
        cbor::to_vec(&cbor::canonicalize(v))
    }

    /// Strict decoding: every key present with its type, entries in strictly
    /// increasing sequence order, range matching the entries.
    pub fn decode(b: &[u8]) -> Result<Self, String> {
        if b.len() > MAX_MANIFEST {
            return Err(format!("manifest of {} bytes is too large", b.len()));
        }
        let v = cbor::from_slice(b, 8).map_err(|e| format!("manifest: {e}"))?;
        let Value::Map(m) = v else {
            return Err("manifest is not a map".into());
        };
        let get = |k: i64| {
            m.iter()
                .find(|(key, _)| key.as_integer() == Some(k.into()))
                .map(|(_, v)| v)
                .ok_or_else(|| format!("manifest: key {k} missing"))
        };
        let bytes = |k: i64| {
            get(k)?
                .as_bytes()
                .cloned()
                .ok_or_else(|| format!("manifest: key {k} is not a byte string"))
        };
        let uint = |v: &Value, what: &str| {
            v.as_integer()
                .and_then(|i| u64::try_from(i).ok())
                .ok_or_else(|| format!("manifest: {what} is not an unsigned integer"))
        };
        if get(6)?.as_text() != Some(BUNDLE_PROFILE) {
            return Err(format!("manifest: profile is not {BUNDLE_PROFILE}"));
        }
        let exported_at = get(3)?
            .as_integer()
            .and_then(|i| i64::try_from(i).ok())
            .ok_or("manifest: export time is not an integer")?;
        let mut entries = Vec::new();
        for (i, e) in get(5)?
            .as_array()
            .ok_or("manifest: entries are not an array")?
            .iter()
            .enumerate()
        {
            let a = e
                .as_array()
                .filter(|a| a.len() == 3)
                .ok_or_else(|| format!("manifest: entry {i} is not [seq, cti, sha256]"))?;
            let seq = uint(&a[0], "seq")?;
            let cti = a[1].as_bytes().filter(|c| !c.is_empty() && c.len() <= 64);
            let sha = a[2].as_bytes().filter(|d| d.len() == 32);
            let (Some(cti), Some(sha)) = (cti, sha) else {
                return Err(format!(
                    "manifest: entry {i} (seq {seq}) has a bad cti or digest"
                ));
            };
            if entries.last().is_some_and(|p: &Entry| p.seq >= seq) {
                return Err(format!("manifest: entry {i} (seq {seq}) out of order"));
            }
            entries.push(Entry {
                seq,
                cti: cti.clone(),
                sha256: sha.clone(),
            });
        }
        if entries.len() > MAX_TOKENS {
            return Err(format!("manifest lists more than {MAX_TOKENS} tokens"));
        }
        let range = get(4)?
            .as_array()
            .filter(|r| r.len() == 2)
            .ok_or("manifest: range is not [first, last]")?;
        let (first, last) = (uint(&range[0], "first")?, uint(&range[1], "last")?);
        let want = (
            entries.first().map(|e| e.seq).unwrap_or(0),
            entries.last().map(|e| e.seq).unwrap_or(0),
        );
        if (first, last) != want {
            return Err("manifest: range does not match the entries".into());
        }
        Ok(Manifest {
            ueid: bytes(1)?,
            kid: bytes(2)?,
            exported_at,
            entries,
        })
    }
}

/// Signs the encoded manifest (detached payload) with the device key.
pub fn sign_manifest<E>(
    manifest: &[u8],
    kid: &[u8],
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<Vec<u8>, E> {
    let sign1 = CoseSign1Builder::new()
        .protected(token::protected_header(kid))
        .try_create_detached_signature(manifest, b"", sign)?
        .build();
    Ok(token::encode_tagged(sign1, false))
}

/// The kid that signed a manifest (header checks of the token envelope; the
/// signature is not checked yet).
pub fn manifest_kid(cose: &[u8]) -> Result<Vec<u8>, TokenError> {
    token::parse(cose).map(|(_, kid)| kid)
}

/// Verifies the manifest signature with `key` and decodes the manifest.
pub fn verify_manifest(cose: &[u8], manifest: &[u8], key: &PublicKey) -> Result<Manifest, String> {
    let (sign1, kid) = token::parse(cose).map_err(|e| format!("manifest signature: {e}"))?;
    if kid != key.kid() {
        return Err("manifest signature: kid does not match the key".into());
    }
    if sign1.payload.is_some() {
        return Err("manifest signature: payload must be detached".into());
    }
    if sign1.signature.len() != 64 {
        return Err("manifest signature: not a 64-byte r||s signature".into());
    }
    let pk =
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, &key.0);
    sign1
        .verify_detached_signature(manifest, b"", |sig, tbs| pk.verify(tbs, sig))
        .map_err(|_| "manifest signature does not verify".to_string())?;
    let m = Manifest::decode(manifest)?;
    if m.kid != kid {
        return Err("manifest names another kid than the one that signed it".into());
    }
    Ok(m)
}

/// Matches the tokens of `tokens.cborseq` against the manifest: every listed
/// token present exactly once, nothing unlisted. Returns the tokens in
/// manifest (sequence) order.
pub fn check_complete<'a>(m: &Manifest, seq: &'a [u8]) -> Result<Vec<&'a [u8]>, String> {
    let items = cbor::split_sequence(seq, token::MAX_DEPTH, MAX_TOKENS)
        .map_err(|e| format!("{TOKENS_FILE}: {e}"))?;
    let mut slots: Vec<Option<&[u8]>> = vec![None; m.entries.len()];
    for (i, t) in items.iter().enumerate() {
        let d = sha256(t);
        let pos = m
            .entries
            .iter()
            .position(|e| e.sha256 == d)
            .ok_or_else(|| format!("{TOKENS_FILE}: token {i} is not listed in the manifest"))?;
        if slots[pos].replace(t).is_some() {
            return Err(format!("{TOKENS_FILE}: token {i} appears twice"));
        }
    }
    let missing: Vec<String> = m
        .entries
        .iter()
        .zip(&slots)
        .filter(|(_, s)| s.is_none())
        .map(|(e, _)| e.seq.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "incomplete bundle: token(s) with seq {} listed in the manifest but missing",
            missing.join(", ")
        ));
    }
    Ok(slots.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

    fn key() -> (EcdsaKeyPair, PublicKey) {
        let rng = SystemRandom::new();
        let p8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let kp =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, p8.as_ref(), &rng).unwrap();
        let pk = PublicKey::from_sec1(kp.public_key().as_ref()).unwrap();
        (kp, pk)
    }

    fn bundle(kp: &EcdsaKeyPair, pk: &PublicKey) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let toks: Vec<Vec<u8>> = (0..3u8).map(|i| vec![0x43, i, i, i]).collect();
        let list: Vec<(u64, Vec<u8>, &[u8])> = toks
            .iter()
            .enumerate()
            .map(|(i, t)| (i as u64 + 5, vec![i as u8 + 1; 16], t.as_slice()))
            .collect();
        let m = Manifest::of(&[1; 33], &pk.kid(), 1_700_000_000, &list).encode();
        let rng = SystemRandom::new();
        let sig = sign_manifest(&m, &pk.kid(), |tbs| {
            kp.sign(&rng, tbs).map(|s| s.as_ref().to_vec())
        })
        .unwrap();
        (toks.concat(), m, sig)
    }

    #[test]
    fn round_trip_and_completeness() {
        let (kp, pk) = key();
        let (seq, m, sig) = bundle(&kp, &pk);
        assert_eq!(manifest_kid(&sig).unwrap(), pk.kid());
        let man = verify_manifest(&sig, &m, &pk).unwrap();
        assert_eq!(
            man.entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [5, 6, 7]
        );
        assert_eq!(check_complete(&man, &seq).unwrap().len(), 3);
        // A removed token is detected, and named by its seq.
        let e = check_complete(&man, &seq[4..]).unwrap_err();
        assert!(e.contains("seq 5") && e.contains("missing"), "{e}");
        // An added or doubled token is detected.
        let mut more = seq.clone();
        more.extend_from_slice(&seq[..4]);
        assert!(check_complete(&man, &more).unwrap_err().contains("twice"));
        let mut other = seq.clone();
        other.extend_from_slice(&[0x41, 9]);
        assert!(check_complete(&man, &other)
            .unwrap_err()
            .contains("not listed"));
    }

    #[test]
    fn tampered_manifest_or_wrong_key_fails() {
        let (kp, pk) = key();
        let (_, m, sig) = bundle(&kp, &pk);
        let mut bad = m.clone();
        let n = bad.len();
        bad[n - 40] ^= 1;
        assert!(verify_manifest(&sig, &bad, &pk)
            .unwrap_err()
            .contains("does not verify"));
        let (_, other) = key();
        assert!(verify_manifest(&sig, &m, &other)
            .unwrap_err()
            .contains("kid does not match"));
        let mut badsig = sig.clone();
        let n = badsig.len();
        badsig[n - 1] ^= 1;
        assert!(verify_manifest(&badsig, &m, &pk).is_err());
    }

    #[test]
    fn decode_is_strict() {
        let mk = |entries: Vec<Entry>| Manifest {
            ueid: vec![1; 33],
            kid: vec![2; 32],
            exported_at: 1,
            entries,
        };
        let e = |seq| Entry {
            seq,
            cti: vec![seq as u8; 16],
            sha256: vec![0; 32],
        };
        let ok = mk(vec![e(1), e(3)]);
        assert_eq!(Manifest::decode(&ok.encode()).unwrap(), ok);
        let unordered = mk(vec![e(3), e(1)]).encode();
        assert!(Manifest::decode(&unordered)
            .unwrap_err()
            .contains("out of order"));
        assert!(Manifest::decode(&[0xa0]).unwrap_err().contains("missing"));
        assert!(Manifest::decode(&[0x01]).unwrap_err().contains("not a map"));
    }
}
