//! PEM private keys (PKCS#1, SEC1, PKCS#8, encrypted or not) and X.509
//! certificates: a minimal, bounded DER reader and the named-curve table.

use super::{bits_of, fp, ssh_mpint, ssh_string, KeyInfo};
use base64ct::{Base64, Encoding};

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

/// RSA public facts from PKCS#1 `RSAPrivateKey` DER (version, n, e, ...).
pub(super) fn rsa_pkcs1(der: &[u8]) -> Option<(u32, String)> {
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
pub(super) fn ec_facts(params: Option<Tlv>, point: Option<&[u8]>) -> Result<Facts, String> {
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
pub(super) fn sec1(der: &[u8]) -> Option<(Option<Tlv<'_>>, Option<&[u8]>)> {
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
pub(super) fn pkcs8(der: &[u8]) -> Result<Facts, String> {
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

pub(super) fn pem_body(text: &str, label: &str) -> Option<(Vec<u8>, bool)> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::keys::parse_private;
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
}
