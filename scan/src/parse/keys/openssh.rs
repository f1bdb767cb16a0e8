//! OpenSSH public keys and `authorized_keys` lines (via the `ssh-key` crate).

use super::{info_from_keydata, KeyInfo};
use ssh_key::{HashAlg, PublicKey};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::keys::KNOWN_COMPROMISED;

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
}
