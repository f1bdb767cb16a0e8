//! Device identity and attestation key (profile §11): a P-256 signing key and
//! a random UEID created on first use in the state directory (0600, written
//! atomically), and a persisted monotonic sequence counter per key.
//!
//! A corrupt or truncated key file is an error, never silently replaced: the
//! collector knows the device by this key.

use fieldattest_protocol::token::PublicKey;
use fieldattest_scan::state::write_atomic;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use std::fs;
use std::path::{Path, PathBuf};

/// Where a key lives; the claim value of `key-tier`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyTier {
    Tpm = 1,
    Pkcs11 = 2,
    Software = 3,
}

/// A signer of ES256 tokens. Software keys implement it today; TPM 2.0
/// (tss-esapi) and PKCS#11 (cryptoki) backends slot in here.
pub trait Signer {
    fn public_key(&self) -> PublicKey;
    fn tier(&self) -> KeyTier;
    /// Returns the 64-byte r‖s signature of `tbs`.
    fn sign(&self, tbs: &[u8]) -> Result<Vec<u8>, String>;
}

pub struct SoftwareKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl Signer for SoftwareKey {
    fn public_key(&self) -> PublicKey {
        PublicKey(self.pair.public_key().as_ref().to_vec())
    }
    fn tier(&self) -> KeyTier {
        KeyTier::Software
    }
    fn sign(&self, tbs: &[u8]) -> Result<Vec<u8>, String> {
        self.pair
            .sign(&self.rng, tbs)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| "ECDSA signing failed".to_string())
    }
}

/// The device identity stored in the state directory.
pub struct Identity {
    pub dir: PathBuf,
    pub key: SoftwareKey,
    pub ueid: Vec<u8>,
}

const KEY_FILE: &str = "attest-key.p8";
/// The key being rotated to (profile §11.4), until the collector confirms.
const NEXT_KEY_FILE: &str = "attest-key.next.p8";
const UEID_FILE: &str = "ueid";

use fieldattest_protocol::hex::hex;

/// Loads a PKCS#8 P-256 key, creating it (0600, atomically) when absent.
fn load_or_create_key(kp: &Path, rng: &SystemRandom) -> Result<EcdsaKeyPair, String> {
    let pkcs8 = match fs::read(kp) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, rng)
                .map_err(|_| "key generation failed".to_string())?;
            write_atomic(kp, doc.as_ref(), 0o600).map_err(|e| format!("{}: {e}", kp.display()))?;
            doc.as_ref().to_vec()
        }
        Err(e) => return Err(format!("{}: {e}", kp.display())),
    };
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8, rng)
        .map_err(|_| format!("{}: corrupt or truncated attestation key (not replaced; restore it or re-enroll the device)", kp.display()))
}

impl Identity {
    /// Loads the identity, creating key and UEID on first use.
    pub fn load_or_create(dir: &Path) -> Result<Self, String> {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let rng = SystemRandom::new();
        let pair = load_or_create_key(&dir.join(KEY_FILE), &rng)?;
        let up = dir.join(UEID_FILE);
        let ueid = match fs::read(&up) {
            Ok(b) if b.len() == 33 && b[0] == 0x01 => b,
            Ok(_) => return Err(format!("{}: corrupt UEID (not replaced)", up.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut u = vec![0x01u8; 33];
                rng.fill(&mut u[1..])
                    .map_err(|_| "no randomness".to_string())?;
                write_atomic(&up, &u, 0o600).map_err(|e| format!("{}: {e}", up.display()))?;
                u
            }
            Err(e) => return Err(format!("{}: {e}", up.display())),
        };
        Ok(Identity {
            dir: dir.to_path_buf(),
            key: SoftwareKey { pair, rng },
            ueid,
        })
    }

    pub fn kid(&self) -> Vec<u8> {
        self.key.public_key().kid()
    }

    fn seq_path(&self, kid: &[u8]) -> PathBuf {
        self.dir.join(format!("seq-{}", &hex(kid)[..16]))
    }

    fn read_seq(p: &Path) -> Result<u64, String> {
        match fs::read_to_string(p) {
            Ok(t) => t
                .trim()
                .parse::<u64>()
                .map_err(|_| format!("{}: corrupt sequence counter (not reset)", p.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(format!("{}: {e}", p.display())),
        }
    }

    /// The key being rotated to, created on first call and kept (0600) until
    /// [`Identity::commit_rotation`], so a retried rotation offers the same key.
    pub fn next_key(&self) -> Result<SoftwareKey, String> {
        let rng = SystemRandom::new();
        let pair = load_or_create_key(&self.dir.join(NEXT_KEY_FILE), &rng)?;
        Ok(SoftwareKey { pair, rng })
    }

    /// Makes the rotated-to key current once the collector has accepted the
    /// rotation: the new key's sequence counter continues from the old one
    /// (written first), then the key file is atomically renamed over the old
    /// key. A crash in between leaves the old key current and the rotation
    /// repeatable; the old private key is gone afterwards.
    pub fn commit_rotation(&mut self) -> Result<(), String> {
        let next = self.dir.join(NEXT_KEY_FILE);
        let new = self.next_key()?;
        let cur = Self::read_seq(&self.seq_path(&self.kid()))?;
        let np = self.seq_path(&new.public_key().kid());
        if Self::read_seq(&np)? < cur {
            write_atomic(&np, format!("{cur}\n").as_bytes(), 0o600)
                .map_err(|e| format!("{}: {e}", np.display()))?;
        }
        let kp = self.dir.join(KEY_FILE);
        fs::rename(&next, &kp).map_err(|e| format!("{}: {e}", kp.display()))?;
        if let Ok(d) = fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        self.key = new;
        Ok(())
    }

    /// Reserves the next sequence number: the counter file is advanced and
    /// fsynced *before* the number is used, so a crash can skip a number but
    /// never repeat one.
    pub fn next_seq(&self) -> Result<u64, String> {
        let p = self.seq_path(&self.kid());
        let cur = Self::read_seq(&p)?;
        let next = cur.checked_add(1).ok_or("sequence counter exhausted")?;
        write_atomic(&p, format!("{next}\n").as_bytes(), 0o600)
            .map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(next)
    }

    /// Boot counter: advanced (and persisted atomically) when the kernel's
    /// boot id differs from the one recorded at the previous attestation.
    pub fn bootcount(&self, boot_id: &[u8]) -> Result<u64, String> {
        let p = self.dir.join("bootcount");
        let (count, last) = match fs::read_to_string(&p) {
            Ok(t) => {
                let mut w = t.split_whitespace();
                let c = w
                    .next()
                    .and_then(|c| c.parse::<u64>().ok())
                    .ok_or_else(|| format!("{}: corrupt boot counter (not reset)", p.display()))?;
                (c, w.next().unwrap_or("").to_string())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (0, String::new()),
            Err(e) => return Err(format!("{}: {e}", p.display())),
        };
        let id = hex(boot_id);
        if id == last {
            return Ok(count);
        }
        let next = count + 1;
        write_atomic(&p, format!("{next} {id}\n").as_bytes(), 0o600)
            .map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(next)
    }

    pub fn random(&self, n: usize) -> Result<Vec<u8>, String> {
        let mut v = vec![0u8; n];
        self.key
            .rng
            .fill(&mut v)
            .map_err(|_| "no randomness".to_string())?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn created_once_with_0600_and_stable() {
        let d = tempfile::tempdir().unwrap();
        let a = Identity::load_or_create(d.path()).unwrap();
        let b = Identity::load_or_create(d.path()).unwrap();
        assert_eq!(a.kid(), b.kid());
        assert_eq!(a.ueid, b.ueid);
        assert_eq!(a.ueid.len(), 33);
        for f in [KEY_FILE, UEID_FILE] {
            assert_eq!(
                fs::metadata(d.path().join(f)).unwrap().permissions().mode() & 0o777,
                0o600,
                "{f}"
            );
        }
    }

    #[test]
    fn corrupt_key_is_refused_not_replaced() {
        let d = tempfile::tempdir().unwrap();
        let a = Identity::load_or_create(d.path()).unwrap();
        let good = fs::read(d.path().join(KEY_FILE)).unwrap();
        fs::write(d.path().join(KEY_FILE), &good[..good.len() / 2]).unwrap();
        let e = Identity::load_or_create(d.path()).err().unwrap();
        assert!(e.contains("corrupt or truncated"), "{e}");
        assert_eq!(
            fs::read(d.path().join(KEY_FILE)).unwrap(),
            &good[..good.len() / 2],
            "not replaced"
        );
        fs::write(d.path().join(KEY_FILE), &good).unwrap();
        assert_eq!(Identity::load_or_create(d.path()).unwrap().kid(), a.kid());
    }

    #[test]
    fn interrupted_write_leaves_the_old_key() {
        // A crash between writing the temporary file and the rename leaves a
        // stray temp file; the key itself is the old one.
        let d = tempfile::tempdir().unwrap();
        let a = Identity::load_or_create(d.path()).unwrap();
        fs::write(d.path().join(format!(".{KEY_FILE}.tmp999")), b"half a key").unwrap();
        assert_eq!(Identity::load_or_create(d.path()).unwrap().kid(), a.kid());
    }

    #[test]
    fn rotation_keeps_the_sequence_and_replaces_the_key() {
        let d = tempfile::tempdir().unwrap();
        let mut id = Identity::load_or_create(d.path()).unwrap();
        let old = id.kid();
        for _ in 0..4 {
            id.next_seq().unwrap();
        }
        let next = id.next_key().unwrap().public_key().kid();
        assert_eq!(
            id.next_key().unwrap().public_key().kid(),
            next,
            "stable until committed"
        );
        assert_ne!(next, old);
        // Not committed yet: a reload still has the old key.
        assert_eq!(Identity::load_or_create(d.path()).unwrap().kid(), old);
        id.commit_rotation().unwrap();
        assert_eq!(id.kid(), next);
        assert_eq!(id.next_seq().unwrap(), 5, "sequence continues across keys");
        let again = Identity::load_or_create(d.path()).unwrap();
        assert_eq!(again.kid(), next);
        assert!(!d.path().join(NEXT_KEY_FILE).exists());
    }

    #[test]
    fn bootcount_moves_only_with_the_boot_id() {
        let d = tempfile::tempdir().unwrap();
        let id = Identity::load_or_create(d.path()).unwrap();
        assert_eq!(id.bootcount(b"boot-a").unwrap(), 1);
        assert_eq!(id.bootcount(b"boot-a").unwrap(), 1);
        assert_eq!(id.bootcount(b"boot-b").unwrap(), 2);
        assert_eq!(
            Identity::load_or_create(d.path())
                .unwrap()
                .bootcount(b"boot-b")
                .unwrap(),
            2
        );
    }

    #[test]
    fn sequence_never_repeats_across_restarts() {
        let d = tempfile::tempdir().unwrap();
        let mut seen = Vec::new();
        for _ in 0..3 {
            let id = Identity::load_or_create(d.path()).unwrap();
            for _ in 0..5 {
                seen.push(id.next_seq().unwrap());
            }
        }
        let mut s = seen.clone();
        s.dedup();
        assert_eq!(s.len(), 15);
        assert!(seen.windows(2).all(|w| w[0] < w[1]));
        let id = Identity::load_or_create(d.path()).unwrap();
        let p = fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("seq-"))
            .unwrap();
        fs::write(&p, b"garbage").unwrap();
        assert!(id
            .next_seq()
            .unwrap_err()
            .contains("corrupt sequence counter"));
    }
}
