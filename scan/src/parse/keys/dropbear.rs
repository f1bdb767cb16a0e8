//! Dropbear's own private key format (`dropbearkey`).

use super::{bits_of, fp, ssh_string, KeyInfo};

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
