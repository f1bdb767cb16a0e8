//! Key files: OpenSSH public keys and `authorized_keys` (via the `ssh-key`
//! crate), OpenSSH private keys (`openssh-key-v1`, via `ssh-key`), PEM private
//! keys (PKCS#1, SEC1, PKCS#8, encrypted or not), X.509 certificates, and
//! Dropbear's own private key format.
//!
//! Only public facts leave this module: algorithm, size, encrypted or not, and
//! the SHA-256 fingerprint of the *public* key (`SHA256:<base64>`, as
//! `ssh-keygen -l` prints it). Private key bytes are parsed in memory and dropped.

use base64ct::{Base64, Base64Unpadded, Encoding};
use sha2::{Digest, Sha256};
use ssh_key::public::KeyData;
use ssh_key::{HashAlg, PrivateKey, PublicKey};

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

/// Parses an OpenSSH public key line (`ssh-ed25519 AAAA... comment`).
pub fn parse_public(line: &str) -> Result<KeyInfo, String> {
    let k = PublicKey::from_openssh(line.trim()).map_err(|e| e.to_string())?;
    let (algorithm, bits) = info_from_keydata(k.key_data());
    Ok(KeyInfo {
        algorithm,
        bits,
        encrypted: false,
        fingerprint: Some(k.fingerprint(HashAlg::Sha256).to_string()),
        format: "openssh-public",
        kdf_rounds: None,
    })
}

/// One `authorized_keys` entry: line number, options, key facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedKey {
    pub line: u64,
    pub options: String,
    pub key: KeyInfo,
}

/// Parses `authorized_keys`; bad lines are returned as (line, message).
pub fn parse_authorized_keys(text: &str) -> (Vec<AuthorizedKey>, Vec<(u64, String)>) {
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i as u64 + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        match <ssh_key::authorized_keys::Entry as std::str::FromStr>::from_str(l) {
            Ok(e) => {
                let (algorithm, bits) = info_from_keydata(e.public_key().key_data());
                out.push(AuthorizedKey {
                    line,
                    options: e.config_opts().to_string(),
                    key: KeyInfo {
                        algorithm,
                        bits,
                        encrypted: false,
                        fingerprint: Some(e.public_key().fingerprint(HashAlg::Sha256).to_string()),
                        format: "authorized_keys",
                        kdf_rounds: None,
                    },
                });
            }
            Err(e) => errs.push((line, format!("not an authorized_keys entry: {e}"))),
        }
    }
    (out, errs)
}

/// Minimal DER reader: enough for PKCS#1/PKCS#8/SEC1 structure walking.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.0.split_first()?;
        let (&l0, rest) = rest.split_first()?;
        let (len, rest) = if l0 < 0x80 {
            (l0 as usize, rest)
        } else {
            let n = (l0 & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            (
                rest[..n].iter().fold(0usize, |a, &b| (a << 8) | b as usize),
                &rest[n..],
            )
        };
        if rest.len() < len {
            return None;
        }
        self.0 = &rest[len..];
        Some((tag, &rest[..len]))
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

/// RSA public facts from PKCS#1 `RSAPrivateKey` DER (version, n, e, ...).
fn rsa_pkcs1(der: &[u8]) -> Option<(u32, String)> {
    let mut outer = Der(der);
    let (0x30, seq) = outer.next()? else {
        return None;
    };
    let mut s = Der(seq);
    s.next()?; // version
    let (0x02, n) = s.next()? else { return None };
    let (0x02, e) = s.next()? else { return None };
    let mut blob = Vec::new();
    ssh_string(&mut blob, b"ssh-rsa");
    ssh_mpint(&mut blob, e);
    ssh_mpint(&mut blob, n);
    Some((bits_of(n), fp(&blob)))
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];

fn pem_body(text: &str, label: &str) -> Option<(Vec<u8>, bool)> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = text[start..].find(&end)? + start;
    let body = &text[start..stop];
    let encrypted_hdr = body.contains("Proc-Type: 4,ENCRYPTED");
    let b64: String = body
        .lines()
        .filter(|l| !l.contains(':'))
        .flat_map(|l| l.trim().chars())
        .collect();
    Base64::decode_vec(&b64).ok().map(|d| (d, encrypted_hdr))
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
    if let Some((der, enc)) = pem_body(&text, "EC PRIVATE KEY") {
        let curve = if der.windows(OID_P384.len()).any(|w| w == OID_P384) {
            "ecdsa-p384"
        } else if der.windows(OID_P256.len()).any(|w| w == OID_P256) {
            "ecdsa-p256"
        } else {
            "ecdsa"
        };
        let bits = match curve {
            "ecdsa-p256" => Some(256),
            "ecdsa-p384" => Some(384),
            _ => None,
        };
        return Ok(KeyInfo {
            algorithm: curve.into(),
            bits,
            encrypted: enc,
            fingerprint: None,
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
        let mut outer = Der(&der);
        let (0x30, seq) = outer.next().ok_or("malformed PKCS#8")? else {
            return Err("malformed PKCS#8".into());
        };
        let mut s = Der(seq);
        s.next().ok_or("malformed PKCS#8")?;
        let (_, alg) = s.next().ok_or("malformed PKCS#8")?;
        let (_, key) = s.next().ok_or("malformed PKCS#8")?;
        let mut a = Der(alg);
        let (_, oid) = a.next().ok_or("malformed PKCS#8")?;
        let params = a.next().map(|p| p.1).unwrap_or(&[]);
        let (algorithm, bits, fingerprint) = if oid == OID_RSA {
            let (b, f) = rsa_pkcs1(key).ok_or("malformed RSA key in PKCS#8")?;
            ("rsa".to_string(), Some(b), Some(f))
        } else if oid == OID_EC {
            if params == OID_P384 {
                ("ecdsa-p384".into(), Some(384), None)
            } else {
                ("ecdsa-p256".into(), Some(256), None)
            }
        } else if oid == OID_ED25519 {
            ("ed25519".into(), Some(256), None)
        } else {
            ("unknown".into(), None, None)
        };
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

/// Parses an X.509 certificate (PEM): its SHA-256 fingerprint.
pub fn parse_certificate(text: &str) -> Option<KeyInfo> {
    let (der, _) = pem_body(text, "CERTIFICATE")?;
    Some(KeyInfo {
        algorithm: "x509".into(),
        bits: None,
        encrypted: false,
        fingerprint: Some(fp(&der)),
        format: "pem-x509",
        kdf_rounds: None,
    })
}

/// Reader of SSH wire-format fields.
struct Wire<'a>(&'a [u8]);

impl<'a> Wire<'a> {
    fn string(&mut self) -> Result<&'a [u8], String> {
        if self.0.len() < 4 {
            return Err("truncated length".into());
        }
        let n = u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]]) as usize;
        if n > 16 * 1024 || self.0.len() < 4 + n {
            return Err(format!("field length {n} out of bounds"));
        }
        let s = &self.0[4..4 + n];
        self.0 = &self.0[4 + n..];
        Ok(s)
    }
}

/// Dropbear's private key format (`dropbearkey -t ...`): SSH wire fields,
/// `string keytype` then the key: RSA `mpint e, n, d, p, q`; Ed25519
/// `string (32-byte seed || 32-byte public)`; ECDSA `string curve, string Q,
/// mpint d`; DSS `mpint p, q, g, y, x`. Dropbear keys are never encrypted.
pub fn parse_dropbear(bytes: &[u8]) -> Result<KeyInfo, String> {
    let mut w = Wire(bytes);
    let ty = w.string()?;
    let mut blob = Vec::new();
    ssh_string(&mut blob, ty);
    let (algorithm, bits) = match ty {
        b"ssh-rsa" => {
            let e = w.string()?;
            let n = w.string()?;
            blob.extend_from_slice(&(e.len() as u32).to_be_bytes());
            blob.extend_from_slice(e);
            blob.extend_from_slice(&(n.len() as u32).to_be_bytes());
            blob.extend_from_slice(n);
            w.string()?; // d: must be present in a private key file
            ("rsa".to_string(), bits_of(n))
        }
        b"ssh-ed25519" => {
            let k = w.string()?;
            if k.len() != 64 {
                return Err(format!("ed25519 key field of {} bytes, want 64", k.len()));
            }
            ssh_string(&mut blob, &k[32..]);
            ("ed25519".to_string(), 256)
        }
        t if t.starts_with(b"ecdsa-sha2-") => {
            let curve = w.string()?;
            let q = w.string()?;
            w.string()?; // d
            ssh_string(&mut blob, curve);
            ssh_string(&mut blob, q);
            let c = String::from_utf8_lossy(curve).into_owned();
            let bits = match c.as_str() {
                "nistp256" => 256,
                "nistp384" => 384,
                _ => 521,
            };
            (format!("ecdsa-{}", c.trim_start_matches("nist")), bits)
        }
        b"ssh-dss" => {
            let mut p = &[][..];
            for i in 0..4 {
                let f = w.string()?;
                if i == 0 {
                    p = f;
                }
                blob.extend_from_slice(&(f.len() as u32).to_be_bytes());
                blob.extend_from_slice(f);
            }
            w.string()?; // x
            ("dsa".to_string(), bits_of(p))
        }
        other => {
            return Err(format!(
                "unknown Dropbear key type {:?}",
                String::from_utf8_lossy(other)
            ))
        }
    };
    Ok(KeyInfo {
        algorithm,
        bits: Some(bits),
        encrypted: false,
        fingerprint: Some(fp(&blob)),
        format: "dropbear",
        kdf_rounds: None,
    })
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

    const VAGRANT: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ== vagrant insecure public key";

    #[test]
    fn vagrant_public_key_fingerprint_matches_ssh_keygen() {
        let k = parse_public(VAGRANT).unwrap();
        assert_eq!(k.algorithm, "rsa");
        assert_eq!(k.bits, Some(2048));
        assert_eq!(k.fingerprint.as_deref(), Some(KNOWN_COMPROMISED[0].0));
    }

    #[test]
    fn authorized_keys_with_options_and_garbage() {
        let t = format!("# c\ncommand=\"/bin/true\",no-pty {VAGRANT}\nnot a key\n");
        let (k, e) = parse_authorized_keys(&t);
        assert_eq!(k.len(), 1);
        assert_eq!(k[0].line, 2);
        assert!(k[0].options.contains("no-pty"));
        assert_eq!(e[0].0, 3);
    }

    #[test]
    fn der_and_bits() {
        assert_eq!(bits_of(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bits_of(&[0x01]), 1);
        assert_eq!(bits_of(&[]), 0);
        assert!(parse_private(b"garbage").is_err());
    }
}
