//! Key files: OpenSSH public keys and `authorized_keys` (via the `ssh-key`
//! crate), OpenSSH private keys (`openssh-key-v1`, via `ssh-key`), PEM private
//! keys (PKCS#1, SEC1, PKCS#8, encrypted or not), X.509 certificates, and
//! Dropbear's own private key format.
//!
//! Only public facts leave this module: algorithm, size, encrypted or not, and
//! the SHA-256 fingerprint of the *public* key (`SHA256:<base64>`, as
//! `ssh-keygen -l` prints it). Private key bytes are parsed in memory and dropped.
//!
//! Layout: `openssh` (public keys, `authorized_keys`), `pem` (PEM/DER private
//! keys and certificates), `dropbear`; [`parse_private`] tells the formats
//! apart.

mod dropbear;
mod openssh;
mod pem;

pub use dropbear::parse_dropbear;
pub use openssh::{parse_authorized_keys, parse_public, AuthorizedKey};
pub use pem::parse_certificate;

use base64ct::{Base64Unpadded, Encoding};
use pem::{ec_facts, pem_body, pkcs8, rsa_pkcs1, sec1};
use sha2::{Digest, Sha256};
use ssh_key::public::KeyData;
use ssh_key::{HashAlg, PrivateKey};

/// Public facts about a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// `rsa`, `dsa`, `ecdsa-p256`, `ed25519`, ... (`x509` for certificates).
    pub algorithm: String,
    pub bits: Option<u32>,
    pub encrypted: bool,
    /// `SHA256:...` of the public key (certificates: of the DER certificate).
    pub fingerprint: Option<String>,
    /// File format (`openssh`, `pem-pkcs1`, `pkcs8`, `dropbear`, ...).
    pub format: &'static str,
    /// OpenSSH KDF rounds (bcrypt) for encrypted openssh-key-v1 keys.
    pub kdf_rounds: Option<u32>,
}

fn fp(blob: &[u8]) -> String {
    format!(
        "SHA256:{}",
        Base64Unpadded::encode_string(&Sha256::digest(blob))
    )
}

fn bits_of(mpint_be: &[u8]) -> u32 {
    let b: &[u8] = {
        let mut s = mpint_be;
        while let [0, rest @ ..] = s {
            s = rest;
        }
        s
    };
    match b.first() {
        None => 0,
        Some(first) => (b.len() as u32 - 1) * 8 + (8 - first.leading_zeros()),
    }
}

fn info_from_keydata(k: &KeyData) -> (String, Option<u32>) {
    match k {
        KeyData::Rsa(r) => ("rsa".into(), Some(bits_of(r.n.as_bytes()))),
        KeyData::Dsa(d) => ("dsa".into(), Some(bits_of(d.p.as_bytes()))),
        KeyData::Ed25519(_) => ("ed25519".into(), Some(256)),
        KeyData::Ecdsa(e) => {
            let c = e.curve();
            let bits = match c.as_str() {
                "nistp256" => 256,
                "nistp384" => 384,
                _ => 521,
            };
            (
                format!("ecdsa-{}", c.as_str().trim_start_matches("nist")),
                Some(bits),
            )
        }
        KeyData::SkEd25519(_) => ("sk-ed25519".into(), Some(256)),
        KeyData::SkEcdsaSha2NistP256(_) => ("sk-ecdsa-p256".into(), Some(256)),
        other => (other.algorithm().as_str().to_string(), None),
    }
}

fn ssh_string(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

fn ssh_mpint(out: &mut Vec<u8>, b: &[u8]) {
    let mut s = b;
    while let [0, rest @ ..] = s {
        s = rest;
    }
    if s.first().map(|&f| f & 0x80 != 0).unwrap_or(false) {
        let mut v = vec![0u8];
        v.extend_from_slice(s);
        ssh_string(out, &v);
    } else {
        ssh_string(out, s);
    }
}

/// Parses a private key file in any supported format.
pub fn parse_private(bytes: &[u8]) -> Result<KeyInfo, String> {
    let text = String::from_utf8_lossy(bytes);
    if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") {
        let k =
            PrivateKey::from_openssh(text.trim()).map_err(|e| format!("openssh-key-v1: {e}"))?;
        let (algorithm, bits) = info_from_keydata(k.public_key().key_data());
        let kdf_rounds = match k.kdf() {
            ssh_key::Kdf::Bcrypt { rounds, .. } => Some(*rounds),
            _ => None,
        };
        return Ok(KeyInfo {
            algorithm,
            bits,
            encrypted: k.is_encrypted(),
            fingerprint: Some(k.public_key().fingerprint(HashAlg::Sha256).to_string()),
            format: "openssh",
            kdf_rounds,
        });
    }
    if let Some((der, enc)) = pem_body(&text, "RSA PRIVATE KEY") {
        let (bits, fingerprint) = if enc {
            (None, None)
        } else {
            rsa_pkcs1(&der)
                .map(|(b, f)| (Some(b), Some(f)))
                .ok_or("malformed PKCS#1 RSA key")?
        };
        return Ok(KeyInfo {
            algorithm: "rsa".into(),
            bits,
            encrypted: enc,
            fingerprint,
            format: "pem-pkcs1",
            kdf_rounds: None,
        });
    }
    if let Some((_, enc)) = pem_body(&text, "DSA PRIVATE KEY") {
        return Ok(KeyInfo {
            algorithm: "dsa".into(),
            bits: None,
            encrypted: enc,
            fingerprint: None,
            format: "pem-dsa",
            kdf_rounds: None,
        });
    }
    // OpenSSL writes SM2 keys in SEC1 form under their own label.
    if let Some((der, enc)) =
        pem_body(&text, "EC PRIVATE KEY").or_else(|| pem_body(&text, "SM2 PRIVATE KEY"))
    {
        // An encrypted (Proc-Type) body cannot be read; the curve is inside.
        let (algorithm, bits, fingerprint) = if enc {
            ("ecdsa".to_string(), None, None)
        } else {
            let (params, point) = sec1(&der).ok_or("malformed SEC1 EC key")?;
            ec_facts(params, point)?
        };
        return Ok(KeyInfo {
            algorithm,
            bits,
            encrypted: enc,
            fingerprint,
            format: "pem-sec1",
            kdf_rounds: None,
        });
    }
    if pem_body(&text, "ENCRYPTED PRIVATE KEY").is_some() {
        return Ok(KeyInfo {
            algorithm: "unknown".into(),
            bits: None,
            encrypted: true,
            fingerprint: None,
            format: "pkcs8-encrypted",
            kdf_rounds: None,
        });
    }
    if let Some((der, _)) = pem_body(&text, "PRIVATE KEY") {
        let (algorithm, bits, fingerprint) = pkcs8(&der)?;
        return Ok(KeyInfo {
            algorithm,
            bits,
            encrypted: false,
            fingerprint,
            format: "pkcs8",
            kdf_rounds: None,
        });
    }
    if bytes.len() > 8 && !text.contains("-----BEGIN") {
        return parse_dropbear(bytes);
    }
    Err("not a recognised private key format".into())
}

/// Publicly known compromised keys (private half published): SHA-256
/// fingerprints with their source. Extend by adding a line; see ARCHITECTURE.md.
pub const KNOWN_COMPROMISED: &[(&str, &str)] = &[(
    "SHA256:1M4RzhMyWuFS/86uPY/ce2prh/dVTHW7iD2RhpquOZA",
    "Vagrant insecure key pair (RSA, hashicorp/vagrant keys/vagrant)",
)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_and_bits() {
        assert_eq!(bits_of(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bits_of(&[0x01]), 1);
        assert_eq!(bits_of(&[]), 0);
        assert!(parse_private(b"garbage").is_err());
    }
}
