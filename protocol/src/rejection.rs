//! Why a collector refuses a request: one variant per reason, each with a
//! stable string code carried in the collector's JSON error body
//! (`{"error": "<human reason>", "code": "<code>"}`). Clients decide on the
//! code, never on the human text, which may change. The HTTP status is the
//! collector's business (its server maps each variant to one); the codes are
//! the contract.
//!
//! *Invariant:* a code, once published, keeps its meaning; new reasons get
//! new variants and codes.

use crate::token::TokenError;

/// A refusal reason of the collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// The body is not a well-formed token (envelope, CBOR, header, tag).
    Malformed,
    /// The body (or SBOM) exceeds the collector's limit.
    TooLarge,
    /// The `Content-Type` is not the one the endpoint takes.
    WrongMediaType,
    /// The request is not what the endpoint takes (path, parameters).
    BadRequest,
    /// The signature does not verify with the key of the kid.
    BadSignature,
    /// The claims set is missing, malformed or out of range.
    BadClaims,
    /// The token's intended use (`intuse`) is not the endpoint's.
    WrongIntendedUse,
    /// The kid is no enrolled device's key.
    UnknownDevice,
    /// The device is enrolled but not approved yet.
    Pending,
    /// The device was revoked.
    Revoked,
    /// The token's UEID is not the one enrolled for its kid.
    UeidMismatch,
    /// The mTLS client certificate is not the one bound to the device.
    ClientCertificateMismatch,
    /// No such session.
    UnknownSession,
    /// The session expired before the token arrived.
    SessionExpired,
    /// The token does not carry the session's nonce.
    WrongNonce,
    /// The session (its nonce) was already used.
    NonceReplayed,
    /// A token with this `cti` was already received from the device.
    DuplicateCti,
    /// `seq` is not above the device's last accepted sequence number.
    SequenceNotIncreasing,
    /// Signed by a key retired by rotation, at or after the rotation point.
    RetiredKey,
    /// The enrollment secret is missing, invalid, expired or already used.
    BadEnrollmentSecret,
    /// The enrollment token is not acceptable (no key in `cnf`, kid not its thumbprint).
    BadEnrollment,
    /// The key is already enrolled.
    AlreadyEnrolled,
    /// The rotation request is not acceptable (shape, key in `cnf`, same key).
    BadRotation,
    /// The new key's proof of possession does not match the rotation token.
    BadProofOfPossession,
    /// The key a rotation moves to is already known.
    KeyAlreadyKnown,
    /// The export bundle's manifest or its signature is not acceptable.
    BadManifest,
    /// The export bundle does not hold exactly the tokens its manifest lists.
    IncompleteBundle,
    /// The body's SHA-256 differs from the digest it is stored under.
    DigestMismatch,
    /// The SBOM is not referenced by any stored attestation.
    NotReferenced,
    /// What was asked for does not exist.
    NotFound,
    /// The collector failed (storage, a task); retry later.
    Internal,
    /// The UEID of an enrollment token is already held by another device.
    UeidInUse,
    /// A limit of the collector is reached (connections, sessions, request
    /// rate, SBOM memory); retry later.
    Busy,
    /// The request (headers and body) did not arrive within the collector's deadline.
    Timeout,
    /// A stored document (a device's SBOM) cannot be converted to the
    /// format asked for.
    Unconvertible,
    /// The collector's database cannot be reached (restarting, failing
    /// over); nothing was stored, retry later.
    Unavailable,
}

impl Rejection {
    /// Every reason, in declaration order.
    pub const ALL: [Rejection; 36] = [
        Rejection::Malformed,
        Rejection::TooLarge,
        Rejection::WrongMediaType,
        Rejection::BadRequest,
        Rejection::BadSignature,
        Rejection::BadClaims,
        Rejection::WrongIntendedUse,
        Rejection::UnknownDevice,
        Rejection::Pending,
        Rejection::Revoked,
        Rejection::UeidMismatch,
        Rejection::ClientCertificateMismatch,
        Rejection::UnknownSession,
        Rejection::SessionExpired,
        Rejection::WrongNonce,
        Rejection::NonceReplayed,
        Rejection::DuplicateCti,
        Rejection::SequenceNotIncreasing,
        Rejection::RetiredKey,
        Rejection::BadEnrollmentSecret,
        Rejection::BadEnrollment,
        Rejection::AlreadyEnrolled,
        Rejection::BadRotation,
        Rejection::BadProofOfPossession,
        Rejection::KeyAlreadyKnown,
        Rejection::BadManifest,
        Rejection::IncompleteBundle,
        Rejection::DigestMismatch,
        Rejection::NotReferenced,
        Rejection::NotFound,
        Rejection::Internal,
        Rejection::UeidInUse,
        Rejection::Busy,
        Rejection::Timeout,
        Rejection::Unconvertible,
        Rejection::Unavailable,
    ];

    /// The stable code (lower-case, hyphenated).
    pub const fn code(self) -> &'static str {
        match self {
            Rejection::Malformed => "malformed",
            Rejection::TooLarge => "too-large",
            Rejection::WrongMediaType => "wrong-media-type",
            Rejection::BadRequest => "bad-request",
            Rejection::BadSignature => "bad-signature",
            Rejection::BadClaims => "bad-claims",
            Rejection::WrongIntendedUse => "wrong-intended-use",
            Rejection::UnknownDevice => "unknown-device",
            Rejection::Pending => "pending",
            Rejection::Revoked => "revoked",
            Rejection::UeidMismatch => "ueid-mismatch",
            Rejection::ClientCertificateMismatch => "client-certificate-mismatch",
            Rejection::UnknownSession => "unknown-session",
            Rejection::SessionExpired => "session-expired",
            Rejection::WrongNonce => "wrong-nonce",
            Rejection::NonceReplayed => "nonce-replayed",
            Rejection::DuplicateCti => "duplicate-cti",
            Rejection::SequenceNotIncreasing => "sequence-not-increasing",
            Rejection::RetiredKey => "retired-key",
            Rejection::BadEnrollmentSecret => "bad-enrollment-secret",
            Rejection::BadEnrollment => "bad-enrollment",
            Rejection::AlreadyEnrolled => "already-enrolled",
            Rejection::BadRotation => "bad-rotation",
            Rejection::BadProofOfPossession => "bad-proof-of-possession",
            Rejection::KeyAlreadyKnown => "key-already-known",
            Rejection::BadManifest => "bad-manifest",
            Rejection::IncompleteBundle => "incomplete-bundle",
            Rejection::DigestMismatch => "digest-mismatch",
            Rejection::NotReferenced => "not-referenced",
            Rejection::NotFound => "not-found",
            Rejection::Internal => "internal",
            Rejection::UeidInUse => "ueid-in-use",
            Rejection::Busy => "busy",
            Rejection::Timeout => "timeout",
            Rejection::Unconvertible => "unconvertible",
            Rejection::Unavailable => "unavailable",
        }
    }

    /// The reason of a code; `None` for a code this version does not know.
    pub fn from_code(code: &str) -> Option<Rejection> {
        Rejection::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The reason for a token that fails to parse or verify.
    pub fn of_token_error(e: &TokenError) -> Rejection {
        match e {
            TokenError::TooLarge(_) => Rejection::TooLarge,
            TokenError::SignatureEncoding(_) | TokenError::BadSignature => Rejection::BadSignature,
            TokenError::Claims(_) | TokenError::PayloadMissing => Rejection::BadClaims,
            TokenError::Cbor(_)
            | TokenError::Untagged
            | TokenError::WrongTag(_)
            | TokenError::NotSign1(_)
            | TokenError::ProtectedHeader(_)
            | TokenError::AlgMissing
            | TokenError::AlgNotAllowed(_)
            | TokenError::AlgInUnprotected
            | TokenError::UnknownCritical
            | TokenError::KidMissing
            | TokenError::WrongKid => Rejection::Malformed,
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_stable_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for r in Rejection::ALL {
            let c = r.code();
            assert!(seen.insert(c), "{c} twice");
            assert!(
                c.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{c}"
            );
            assert_eq!(Rejection::from_code(c), Some(r));
            assert_eq!(r.to_string(), c);
        }
        // Published codes clients match on (the agent daemon: duplicate-cti).
        assert_eq!(Rejection::DuplicateCti.code(), "duplicate-cti");
        assert_eq!(
            Rejection::SequenceNotIncreasing.code(),
            "sequence-not-increasing"
        );
        assert_eq!(Rejection::from_code("duplicate cti"), None);
        assert_eq!(Rejection::from_code(""), None);
    }

    #[test]
    fn token_errors_map_to_their_reason() {
        assert_eq!(
            Rejection::of_token_error(&TokenError::TooLarge(1)),
            Rejection::TooLarge
        );
        assert_eq!(
            Rejection::of_token_error(&TokenError::BadSignature),
            Rejection::BadSignature
        );
        assert_eq!(
            Rejection::of_token_error(&TokenError::Untagged),
            Rejection::Malformed
        );
        assert_eq!(
            Rejection::of_token_error(&TokenError::PayloadMissing),
            Rejection::BadClaims
        );
    }
}
