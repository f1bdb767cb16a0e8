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

/// Minimal, bounded DER reader: enough for PKCS#1/PKCS#8/SEC1 structure
/// walking. Low-tag-number form only; definite lengths of at most 4 bytes
/// that fit in what is left (an indefinite or overlong length is an error).
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.0.split_first()?;
        if tag & 0x1f == 0x1f {
            return None;
        }
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

    /// The next element, which must have tag `want`.
    fn expect(&mut self, want: u8) -> Option<&'a [u8]> {
        match self.next()? {
            (t, v) if t == want => Some(v),
            _ => None,
        }
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
const OID_RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const OID_DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_X25519: &[u8] = &[0x2b, 0x65, 0x6e];
const OID_X448: &[u8] = &[0x2b, 0x65, 0x6f];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_ED448: &[u8] = &[0x2b, 0x65, 0x71];

/// Named curves (RFC 5480, SEC 2, RFC 5639, GM/T 0006): DER OID contents,
/// our algorithm name, key size, and the OpenSSH curve name where OpenSSH
/// has the curve (for the fingerprint).
const CURVES: &[(&[u8], &str, u32, Option<&str>)] = &[
    (
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
        "ecdsa-p256",
        256,
        Some("nistp256"),
    ),
    (
        &[0x2b, 0x81, 0x04, 0x00, 0x22],
        "ecdsa-p384",
        384,
        Some("nistp384"),
    ),
    (
        &[0x2b, 0x81, 0x04, 0x00, 0x23],
        "ecdsa-p521",
        521,
        Some("nistp521"),
    ),
    (
        &[0x2b, 0x81, 0x04, 0x00, 0x0a],
        "ecdsa-secp256k1",
        256,
        None,
    ),
    (
        &[0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07],
        "ecdsa-brainpoolP256r1",
        256,
        None,
    ),
    (
        &[0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0b],
        "ecdsa-brainpoolP384r1",
        384,
        None,
    ),
    (
        &[0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0d],
        "ecdsa-brainpoolP512r1",
        512,
        None,
    ),
    (&[0x2b, 0x81, 0x04, 0x00, 0x21], "ecdsa-p224", 224, None),
    (
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x01],
        "ecdsa-p192",
        192,
        None,
    ),
    (
        &[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d],
        "sm2",
        256,
        None,
    ),
];

/// A DER element: tag and contents.
type Tlv<'a> = (u8, &'a [u8]);

/// Algorithm, bits, SSH fingerprint of a key.
type Facts = (String, Option<u32>, Option<String>);

/// Dotted form of DER OID contents (`1.3.132.0.10`); `None` when malformed
/// (empty, an arc over 64 bits, a last arc cut off).
fn oid_dotted(oid: &[u8]) -> Option<String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut cur: u64 = 0;
    let mut pending = false;
    for &b in oid {
        if cur > (u64::MAX >> 7) {
            return None;
        }
        cur = (cur << 7) | u64::from(b & 0x7f);
        pending = b & 0x80 != 0;
        if !pending {
            if arcs.is_empty() {
                let first = (cur / 40).min(2);
                arcs.push(first);
                arcs.push(cur - first * 40);
            } else {
                arcs.push(cur);
            }
            cur = 0;
        }
    }
    if pending || arcs.is_empty() {
        return None;
    }
    Some(
        arcs.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// The EC key facts of a curve parameter (`ECParameters`: a namedCurve OID,
/// or explicit parameters), with the public point when known: algorithm,
/// bits, and the SSH fingerprint (OpenSSH's curves only).
fn ec_facts(params: Option<Tlv>, point: Option<&[u8]>) -> Result<Facts, String> {
    let oid = match params {
        Some((0x06, oid)) => oid,
        Some((0x30, _)) => return Ok(("ecdsa-unknown:explicit-parameters".into(), None, None)),
        Some((0x05, _)) | None => return Err("EC key without curve parameters".into()),
        Some((t, _)) => return Err(format!("EC curve parameters of unexpected type 0x{t:02x}")),
    };
    let Some(&(_, name, bits, ssh)) = CURVES.iter().find(|c| c.0 == oid) else {
        let dotted = oid_dotted(oid).ok_or("malformed EC curve OID")?;
        return Ok((format!("ecdsa-unknown:{dotted}"), None, None));
    };
    let fingerprint = match (ssh, point) {
        (Some(curve), Some(q)) if q.first() == Some(&0x04) => {
            let mut blob = Vec::new();
            ssh_string(&mut blob, format!("ecdsa-sha2-{curve}").as_bytes());
            ssh_string(&mut blob, curve.as_bytes());
            ssh_string(&mut blob, q);
            Some(fp(&blob))
        }
        _ => None,
    };
    Ok((name.to_string(), Some(bits), fingerprint))
}

/// SEC1 `ECPrivateKey`: SEQUENCE { INTEGER 1, OCTET STRING d,
/// [0] ECParameters OPTIONAL, [1] BIT STRING publicKey OPTIONAL }: the
/// curve parameters (the TLV inside `[0]`) and the public point.
fn sec1(der: &[u8]) -> Option<(Option<Tlv<'_>>, Option<&[u8]>)> {
    let seq = Der(der).expect(0x30)?;
    let mut s = Der(seq);
    if s.expect(0x02)? != [1] {
        return None;
    }
    s.expect(0x04)?;
    let (mut params, mut point) = (None, None);
    while let Some((tag, v)) = s.next() {
        match tag {
            0xa0 => params = Some(Der(v).next()?),
            0xa1 => {
                // BIT STRING: unused-bits count (0), then the point.
                let bits = Der(v).expect(0x03)?;
                match bits.split_first() {
                    Some((0, q)) => point = Some(q),
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
    Some((params, point))
}

/// PKCS#8 `PrivateKeyInfo` / `OneAsymmetricKey` (RFC 5958): SEQUENCE {
/// INTEGER version, AlgorithmIdentifier SEQUENCE { OID, parameters ANY
/// OPTIONAL }, OCTET STRING privateKey, … }: algorithm, bits, fingerprint.
fn pkcs8(der: &[u8]) -> Result<Facts, String> {
    const BAD: &str = "malformed PKCS#8";
    let seq = Der(der).expect(0x30).ok_or(BAD)?;
    let mut s = Der(seq);
    match s.expect(0x02).ok_or(BAD)? {
        [0] | [1] => {}
        _ => return Err("PKCS#8 version other than 0 or 1".into()),
    }
    let alg = s.expect(0x30).ok_or(BAD)?;
    let key = s.expect(0x04).ok_or(BAD)?;
    let mut a = Der(alg);
    let oid = a.expect(0x06).ok_or(BAD)?;
    let params = a.next();
    Ok(match oid {
        o if o == OID_RSA || o == OID_RSA_PSS => {
            let (b, f) = rsa_pkcs1(key).ok_or("malformed RSA key in PKCS#8")?;
            ("rsa".to_string(), Some(b), Some(f))
        }
        o if o == OID_EC => {
            let (inner, point) = sec1(key).ok_or("malformed EC key in PKCS#8")?;
            // The AlgorithmIdentifier names the curve; SEC1's own [0] is
            // optional inside PKCS#8 and must agree when present.
            if let (Some(outer), Some(inner)) = (params, inner) {
                if outer != inner {
                    return Err("PKCS#8 EC key with two different curves".into());
                }
            }
            ec_facts(params.or(inner), point)?
        }
        o if o == OID_ED25519 => ("ed25519".into(), Some(256), None),
        o if o == OID_ED448 => ("ed448".into(), Some(456), None),
        o if o == OID_X25519 => ("x25519".into(), Some(255), None),
        o if o == OID_X448 => ("x448".into(), Some(448), None),
        o if o == OID_DSA => ("dsa".into(), None, None),
        o => (
            format!(
                "unknown:{}",
                oid_dotted(o).ok_or("malformed PKCS#8 algorithm OID")?
            ),
            None,
            None,
        ),
    })
}

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

    use std::process::Command;

    fn run(cmd: &mut Command) -> std::process::Output {
        let out = cmd.output().unwrap_or_else(|e| {
            panic!(
                "this test needs {:?} (Debian packages openssl, openssh-client): {e}",
                cmd.get_program()
            )
        });
        assert!(
            out.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Real keys from `openssl genpkey -algorithm EC -pkeyopt
    /// ec_paramgen_curve:<curve>` (PKCS#8), the same key as SEC1 (`openssl
    /// ec`), and with explicit parameters: curve, size, and for OpenSSH's
    /// curves the fingerprint `ssh-keygen -l` prints for the same file.
    #[test]
    fn ec_curves_of_real_openssl_keys() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let curves = [
            ("P-256", "ecdsa-p256", Some(256), true),
            ("P-384", "ecdsa-p384", Some(384), true),
            ("P-521", "ecdsa-p521", Some(521), true),
            ("secp256k1", "ecdsa-secp256k1", Some(256), false),
            ("brainpoolP256r1", "ecdsa-brainpoolP256r1", Some(256), false),
            ("brainpoolP384r1", "ecdsa-brainpoolP384r1", Some(384), false),
            ("brainpoolP512r1", "ecdsa-brainpoolP512r1", Some(512), false),
            ("P-224", "ecdsa-p224", Some(224), false),
            ("P-192", "ecdsa-p192", Some(192), false),
            ("SM2", "sm2", Some(256), false),
            // Not in our table: said to be unknown, with its OID.
            (
                "prime239v1",
                "ecdsa-unknown:1.2.840.10045.3.1.4",
                None,
                false,
            ),
        ];
        for (curve, algorithm, bits, openssh) in curves {
            let p8 = dir.path().join(format!("{curve}.p8.pem"));
            let sec1 = dir.path().join(format!("{curve}.sec1.pem"));
            let explicit = dir.path().join(format!("{curve}.explicit.pem"));
            run(Command::new("openssl")
                .args(["genpkey", "-algorithm", "EC", "-pkeyopt"])
                .arg(format!("ec_paramgen_curve:{curve}"))
                .arg("-out")
                .arg(&p8));
            run(Command::new("openssl")
                .args(["ec", "-in"])
                .arg(&p8)
                .arg("-out")
                .arg(&sec1));
            run(Command::new("openssl")
                .args(["ec", "-param_enc", "explicit", "-in"])
                .arg(&p8)
                .arg("-out")
                .arg(&explicit));
            let k8 = parse_private(&std::fs::read(&p8).unwrap()).expect(curve);
            assert_eq!(
                (k8.algorithm.as_str(), k8.bits, k8.format),
                (algorithm, bits, "pkcs8"),
                "{curve}"
            );
            let k1 = parse_private(&std::fs::read(&sec1).unwrap()).expect(curve);
            assert_eq!(
                (k1.algorithm.as_str(), k1.bits, k1.format),
                (algorithm, bits, "pem-sec1"),
                "{curve}"
            );
            let ke = parse_private(&std::fs::read(&explicit).unwrap()).expect(curve);
            assert_eq!(ke.algorithm, "ecdsa-unknown:explicit-parameters", "{curve}");
            if openssh {
                std::fs::set_permissions(&p8, std::fs::Permissions::from_mode(0o600)).unwrap();
                let out = run(Command::new("ssh-keygen")
                    .args(["-l", "-E", "sha256", "-f"])
                    .arg(&p8));
                let line = String::from_utf8_lossy(&out.stdout).into_owned();
                let want = line.split_whitespace().nth(1).unwrap().to_string();
                assert_eq!(
                    k8.fingerprint.as_deref(),
                    Some(want.as_str()),
                    "{curve}: {line}"
                );
                assert_eq!(k1.fingerprint, k8.fingerprint, "{curve}");
            } else {
                assert_eq!(k8.fingerprint, None, "{curve}");
            }
        }
    }

    fn pem(label: &str, der: &[u8]) -> Vec<u8> {
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            Base64::encode_string(der)
        )
        .into_bytes()
    }

    /// DER of a PKCS#8 EC key on `curve` (OID contents), hand-built.
    fn p8_ec(curve: &[u8]) -> Vec<u8> {
        fn tlv(tag: u8, v: &[u8]) -> Vec<u8> {
            let mut o = vec![tag, v.len() as u8];
            o.extend_from_slice(v);
            o
        }
        let alg = [tlv(0x06, OID_EC), tlv(0x06, curve)].concat();
        let ec = tlv(0x30, &[tlv(0x02, &[1]), tlv(0x04, &[7; 32])].concat());
        tlv(
            0x30,
            &[tlv(0x02, &[0]), tlv(0x30, &alg), tlv(0x04, &ec)].concat(),
        )
    }

    #[test]
    fn curve_found_by_parsing_not_by_substring() {
        // P-384's OID *inside* another OID is not P-384.
        let k = parse_private(&pem(
            "PRIVATE KEY",
            &p8_ec(&[0x2b, 0x81, 0x04, 0x00, 0x22, 0x01]),
        ))
        .unwrap();
        assert_eq!(k.algorithm, "ecdsa-unknown:1.3.132.0.34.1");
        assert_eq!(k.bits, None);
        let k =
            parse_private(&pem("PRIVATE KEY", &p8_ec(&[0x2b, 0x81, 0x04, 0x00, 0x23]))).unwrap();
        assert_eq!((k.algorithm.as_str(), k.bits), ("ecdsa-p521", Some(521)));
        assert_eq!(
            oid_dotted(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]).as_deref(),
            Some("1.2.840.10045.2.1")
        );
        assert_eq!(oid_dotted(&[0x88, 0x37]).as_deref(), Some("2.999"));
        assert_eq!(oid_dotted(&[0x2b, 0x81]), None);
        assert_eq!(oid_dotted(&[0xff; 12]), None);
    }

    /// Truncations, bad lengths and bit flips of a valid key: an error or a
    /// result, never a panic; the obviously broken ones are errors.
    #[test]
    fn malformed_der_is_an_error_never_a_panic() {
        let good = p8_ec(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
        assert_eq!(
            parse_private(&pem("PRIVATE KEY", &good)).unwrap().algorithm,
            "ecdsa-p256"
        );
        for n in 0..good.len() {
            assert!(
                parse_private(&pem("PRIVATE KEY", &good[..n])).is_err(),
                "truncated to {n}"
            );
        }
        for i in 0..good.len() {
            for v in [0x00, 0x7f, 0x80, 0x81, 0x84, 0x85, 0xff] {
                let mut d = good.clone();
                d[i] = v;
                let _ = parse_private(&pem("PRIVATE KEY", &d));
                let _ = parse_private(&pem("EC PRIVATE KEY", &d[2..]));
            }
        }
        for bad in [
            &[0x30, 0x80, 0x00, 0x00][..],             // indefinite length
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff][..], // length past the end
            &[0x30, 0x85, 1, 0, 0, 0, 0][..],          // 5 length bytes
            &[0x3f, 0x01, 0x00][..],                   // high tag number
            &[0x30, 0x03, 0x02, 0x01, 0x05][..],       // version 5, nothing else
        ] {
            assert!(
                parse_private(&pem("PRIVATE KEY", bad)).is_err(),
                "{bad:02x?}"
            );
            assert!(
                parse_private(&pem("EC PRIVATE KEY", bad)).is_err(),
                "{bad:02x?}"
            );
        }
        // SEC1 without curve parameters is reported as such.
        let e = parse_private(&pem(
            "EC PRIVATE KEY",
            &[0x30, 0x06, 0x02, 0x01, 0x01, 0x04, 0x01, 0x07],
        ))
        .unwrap_err();
        assert!(e.contains("curve"), "{e}");
    }

    #[test]
    fn der_and_bits() {
        assert_eq!(bits_of(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bits_of(&[0x01]), 1);
        assert_eq!(bits_of(&[]), 0);
        assert!(parse_private(b"garbage").is_err());
    }
}
