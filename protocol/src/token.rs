//! The envelope: EAT claims in a CWT-tagged COSE_Sign1, `61(18([...]))`,
//! ES256 with a fixed 64-byte r‖s signature, protected header `{1: -7, 4: kid}`
//! where kid is the RFC 9679 SHA-256 COSE Key Thumbprint of the public key.
//!
//! [`verify`] follows PROFILE.md's order and fails closed with one error per
//! way a token can be wrong.

use crate::cbor::{self, CborError};
use crate::eat::{self, ClaimError, Claims};
use ciborium::value::Value;
use coset::{
    iana, AsCborValue, CoseSign1, CoseSign1Builder, HeaderBuilder, RegisteredLabelWithPrivate,
};

/// Tokens larger than this are rejected before decoding.
pub const MAX_TOKEN: usize = 256 * 1024;
/// Maximum CBOR nesting of a token.
pub const MAX_DEPTH: usize = 16;
pub const TAG_CWT: u64 = 61;
pub const TAG_SIGN1: u64 = 18;
/// Media type of a token.
pub const MEDIA_TYPE: &str = "application/eat+cwt; eat_profile=\"tag:fieldattest.org,2026:eat/v1\"";

/// A P-256 public key as an uncompressed SEC1 point (65 bytes, `04 || x || y`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey(pub Vec<u8>);

const SPKI_P256_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

impl PublicKey {
    pub fn from_sec1(b: &[u8]) -> Result<Self, String> {
        if b.len() != 65 || b[0] != 0x04 {
            return Err(format!(
                "not an uncompressed P-256 point ({} bytes)",
                b.len()
            ));
        }
        Ok(PublicKey(b.to_vec()))
    }

    /// SubjectPublicKeyInfo DER.
    pub fn to_spki_der(&self) -> Vec<u8> {
        let mut v = SPKI_P256_PREFIX.to_vec();
        v.extend_from_slice(&self.0);
        v
    }

    pub fn from_spki_der(der: &[u8]) -> Result<Self, String> {
        match der.strip_prefix(&SPKI_P256_PREFIX[..]) {
            Some(p) => Self::from_sec1(p),
            None => Err("not a P-256 SubjectPublicKeyInfo".into()),
        }
    }

    pub fn to_pem(&self) -> String {
        let b64 = base64(&self.to_spki_der());
        let mut s = String::from("-----BEGIN PUBLIC KEY-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            s.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            s.push('\n');
        }
        s.push_str("-----END PUBLIC KEY-----\n");
        s
    }

    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let start = pem
            .find("-----BEGIN PUBLIC KEY-----")
            .ok_or("no PUBLIC KEY PEM block")?
            + 26;
        let end = pem[start..]
            .find("-----END PUBLIC KEY-----")
            .ok_or("unterminated PEM block")?
            + start;
        let b64: String = pem[start..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        Self::from_spki_der(&unbase64(&b64).ok_or("bad base64 in PEM")?)
    }

    /// RFC 9679 COSE Key Thumbprint (SHA-256) of the EC2 key: the digest of
    /// the deterministic map `{1: 2, -1: 1, -2: x, -3: y}`.
    pub fn kid(&self) -> Vec<u8> {
        let m = Value::Map(vec![
            (Value::Integer(1.into()), Value::Integer(2.into())),
            (Value::Integer((-1).into()), Value::Integer(1.into())),
            (
                Value::Integer((-2).into()),
                Value::Bytes(self.0[1..33].to_vec()),
            ),
            (
                Value::Integer((-3).into()),
                Value::Bytes(self.0[33..65].to_vec()),
            ),
        ]);
        ring::digest::digest(&ring::digest::SHA256, &cbor::to_vec(&m))
            .as_ref()
            .to_vec()
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(data: &[u8]) -> String {
    let mut s = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                s.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn unbase64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for ch in s.bytes().filter(|&b| b != b'=') {
        let v = B64.iter().position(|&c| c == ch)? as u32;
        buf = buf << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    Some(out)
}

/// Signs claims: `sign` receives the COSE to-be-signed bytes and returns the
/// 64-byte r‖s ES256 signature (software key, TPM or PKCS#11 behind it).
pub fn sign<E>(
    claims: &Claims,
    kid: &[u8],
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<Vec<u8>, E> {
    let sign1 = CoseSign1Builder::new()
        .protected(protected_header(kid))
        .payload(claims.encode())
        .try_create_signature(b"", sign)?
        .build();
    Ok(encode_tagged(sign1, true))
}

/// The profile's protected header: `{1: -7, 4: kid}`.
pub(crate) fn protected_header(kid: &[u8]) -> coset::Header {
    HeaderBuilder::new()
        .algorithm(iana::Algorithm::ES256)
        .key_id(kid.to_vec())
        .build()
}

/// `18(COSE_Sign1)`, inside `61(...)` when `cwt`.
pub(crate) fn encode_tagged(sign1: CoseSign1, cwt: bool) -> Vec<u8> {
    let inner = Value::Tag(
        TAG_SIGN1,
        Box::new(sign1.to_cbor_value().unwrap_or(Value::Null)),
    );
    cbor::to_vec(&if cwt {
        Value::Tag(TAG_CWT, Box::new(inner))
    } else {
        inner
    })
}

/// Every way a token can be refused, in verification order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    TooLarge(usize),
    Cbor(CborError),
    Untagged,
    WrongTag(u64),
    NotSign1(String),
    ProtectedHeader(String),
    AlgMissing,
    AlgNotAllowed(String),
    AlgInUnprotected,
    UnknownCritical,
    KidMissing,
    WrongKid,
    SignatureEncoding(usize),
    BadSignature,
    PayloadMissing,
    Claims(ClaimError),
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::TooLarge(n) => write!(f, "token of {n} bytes exceeds {MAX_TOKEN}"),
            TokenError::Cbor(e) => write!(f, "{e}"),
            TokenError::Untagged => write!(f, "untagged COSE_Sign1 (want 61(18(...)) or 18(...))"),
            TokenError::WrongTag(t) => write!(f, "unexpected CBOR tag {t}"),
            TokenError::NotSign1(m) => write!(f, "not a COSE_Sign1: {m}"),
            TokenError::ProtectedHeader(m) => write!(f, "protected header: {m}"),
            TokenError::AlgMissing => write!(f, "no alg in the protected header"),
            TokenError::AlgNotAllowed(a) => write!(f, "algorithm {a} not allowed (ES256 only)"),
            TokenError::AlgInUnprotected => write!(f, "alg in the unprotected header"),
            TokenError::UnknownCritical => write!(f, "unknown critical header parameter"),
            TokenError::KidMissing => write!(f, "no kid in the protected header"),
            TokenError::WrongKid => write!(f, "kid does not match the verification key"),
            TokenError::SignatureEncoding(n) => write!(
                f,
                "signature is {n} bytes, want 64-byte r||s (DER is not allowed)"
            ),
            TokenError::BadSignature => write!(f, "signature does not verify"),
            TokenError::PayloadMissing => write!(f, "detached or missing payload"),
            TokenError::Claims(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for TokenError {}

/// Parses the envelope without verifying: returns the COSE_Sign1 and the kid.
pub fn parse(token: &[u8]) -> Result<(CoseSign1, Vec<u8>), TokenError> {
    if token.len() > MAX_TOKEN {
        return Err(TokenError::TooLarge(token.len()));
    }
    let v = cbor::from_slice(token, MAX_DEPTH).map_err(TokenError::Cbor)?;
    let inner = match v {
        Value::Tag(TAG_CWT, b) => match *b {
            Value::Tag(TAG_SIGN1, s) => *s,
            Value::Tag(t, _) => return Err(TokenError::WrongTag(t)),
            _ => return Err(TokenError::Untagged),
        },
        Value::Tag(TAG_SIGN1, s) => *s,
        Value::Tag(t, _) => return Err(TokenError::WrongTag(t)),
        _ => return Err(TokenError::Untagged),
    };
    let sign1 =
        CoseSign1::from_cbor_value(inner).map_err(|e| TokenError::NotSign1(e.to_string()))?;
    let p = &sign1.protected.header;
    if sign1.unprotected.alg.is_some() {
        return Err(TokenError::AlgInUnprotected);
    }
    match &p.alg {
        None => return Err(TokenError::AlgMissing),
        Some(RegisteredLabelWithPrivate::Assigned(iana::Algorithm::ES256)) => {}
        Some(other) => return Err(TokenError::AlgNotAllowed(format!("{other:?}"))),
    }
    // We understand alg and kid; any other critical label is unknown.
    if p.crit.iter().any(|c| {
        !matches!(
            c,
            RegisteredLabelWithPrivate::Assigned(iana::HeaderParameter::Alg)
                | RegisteredLabelWithPrivate::Assigned(iana::HeaderParameter::Kid)
        )
    }) {
        return Err(TokenError::UnknownCritical);
    }
    // Our tokens carry kid in the protected header; generic CWT encoders (python
    // cwt) put it in the unprotected one. The kid only selects the key: the
    // signature check binds the token to that key either way.
    let kid = if !p.key_id.is_empty() {
        p.key_id.clone()
    } else {
        sign1.unprotected.key_id.clone()
    };
    if kid.is_empty() {
        return Err(TokenError::KidMissing);
    }
    Ok((sign1, kid))
}

/// Verifies a token with `key` and returns its claims.
pub fn verify(token: &[u8], key: &PublicKey) -> Result<Claims, TokenError> {
    let (sign1, kid) = parse(token)?;
    verify_parsed(&sign1, &kid, key)
}

/// Verifies an envelope already checked by [`parse`] (avoids decoding twice).
pub fn verify_parsed(sign1: &CoseSign1, kid: &[u8], key: &PublicKey) -> Result<Claims, TokenError> {
    if kid != key.kid() {
        return Err(TokenError::WrongKid);
    }
    if sign1.signature.len() != 64 {
        return Err(TokenError::SignatureEncoding(sign1.signature.len()));
    }
    let payload = sign1.payload.as_ref().ok_or(TokenError::PayloadMissing)?;
    let pk =
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, &key.0);
    sign1
        .verify_signature(b"", |sig, tbs| pk.verify(tbs, sig))
        .map_err(|_| TokenError::BadSignature)?;
    eat::decode(payload).map_err(TokenError::Claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{
        EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256_SHA256_FIXED_SIGNING,
    };

    fn keypair() -> (EcdsaKeyPair, PublicKey) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let pk = PublicKey::from_sec1(kp.public_key().as_ref()).unwrap();
        (kp, pk)
    }

    fn token(kp: &EcdsaKeyPair, pk: &PublicKey) -> Vec<u8> {
        let rng = SystemRandom::new();
        sign(&crate::eat::tests::sample(), &pk.kid(), |tbs| {
            kp.sign(&rng, tbs).map(|s| s.as_ref().to_vec())
        })
        .unwrap()
    }

    #[test]
    fn sign_verify_roundtrip_and_pem() {
        let (kp, pk) = token_key();
        let t = token(&kp, &pk);
        assert_eq!(&t[..3], &[0xd8, 0x3d, 0xd2], "61(18(...))");
        assert_eq!(verify(&t, &pk).unwrap(), crate::eat::tests::sample());
        // A bare 18(...) is accepted too.
        assert_eq!(verify(&t[2..], &pk).unwrap().seq, 1042);
        assert_eq!(PublicKey::from_pem(&pk.to_pem()).unwrap(), pk);
        assert_eq!(pk.kid().len(), 32);
    }

    fn token_key() -> (EcdsaKeyPair, PublicKey) {
        keypair()
    }

    #[test]
    fn each_defect_has_its_own_error() {
        let (kp, pk) = keypair();
        let t = token(&kp, &pk);
        // Untagged.
        assert_eq!(verify(&t[3..], &pk), Err(TokenError::Untagged));
        // Wrong key (kid mismatch).
        let (_, other) = keypair();
        assert_eq!(verify(&t, &other), Err(TokenError::WrongKid));
        // Flipped payload bit and flipped signature bit.
        let (sign1, _) = parse(&t).unwrap();
        let mut s = sign1.clone();
        let mut p = s.payload.clone().unwrap();
        let n = p.len();
        p[n - 1] ^= 1;
        s.payload = Some(p);
        let rewrap = |s: CoseSign1| {
            cbor::to_vec(&Value::Tag(
                61,
                Box::new(Value::Tag(18, Box::new(s.to_cbor_value().unwrap()))),
            ))
        };
        assert_eq!(verify(&rewrap(s), &pk), Err(TokenError::BadSignature));
        let mut s = sign1.clone();
        s.signature[10] ^= 0x80;
        assert_eq!(verify(&rewrap(s), &pk), Err(TokenError::BadSignature));
        // DER signature.
        let rng = SystemRandom::new();
        let mut s = sign1.clone();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let der_kp =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
                .unwrap();
        s.signature = der_kp
            .sign(&rng, &s.tbs_data(b""))
            .unwrap()
            .as_ref()
            .to_vec();
        assert!(matches!(
            verify(&rewrap(s), &pk),
            Err(TokenError::SignatureEncoding(70..=72))
        ));
        // alg only in the unprotected header.
        let mut s = sign1.clone();
        s.unprotected.alg = s.protected.header.alg.clone();
        assert_eq!(verify(&rewrap(s), &pk), Err(TokenError::AlgInUnprotected));
        // Oversize and nesting bomb.
        assert!(matches!(
            verify(&vec![0u8; MAX_TOKEN + 1], &pk),
            Err(TokenError::TooLarge(_))
        ));
        let mut bomb = vec![0xd8, 0x3d, 0xd2];
        bomb.extend(vec![0x81; 10_000]);
        bomb.push(0x00);
        assert_eq!(
            verify(&bomb, &pk),
            Err(TokenError::Cbor(CborError::TooDeep(MAX_DEPTH)))
        );
        // Another tag.
        assert_eq!(
            verify(&cbor::to_vec(&Value::Tag(17, Box::new(Value::Null))), &pk),
            Err(TokenError::WrongTag(17))
        );
    }
}
