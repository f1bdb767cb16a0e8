//! The state directory the caller names (`/var/lib/fieldattest` on a device):
//! files the scans keep between runs. Every write goes to a temporary file in the same
//! directory, is fsynced, then renamed over the old one, and the directory is
//! fsynced: a crash leaves the old or the new file, never a torn one.

use std::fs;
use std::path::{Path, PathBuf};

/// Writes the state file `path` atomically with `mode` permissions (temp file,
/// fsync, rename, directory fsync; `fieldattest_protocol::fsio::replace_atomic`).
/// For files of the state directory only: outputs the user names (`--output`,
/// `--out`, `--sbom-out`) go through `fieldattest_protocol::fsio::write_output`,
/// which writes device nodes and FIFOs in place and follows symlinks.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    fieldattest_protocol::fsio::replace_atomic(path, data, mode, None)
}

/// Memo of the default-credential check: a device-local HMAC key and the
/// digests of hashes already fully checked.
pub struct CredMemo {
    pub key: Vec<u8>,
    pub digests: std::collections::HashSet<[u8; 32]>,
    key_path: PathBuf,
    memo_path: PathBuf,
}

use fieldattest_protocol::hex::{hex, unhex_array};

impl CredMemo {
    /// Loads (creating the key when absent) from `dir`.
    pub fn load(dir: &Path) -> Result<Self, String> {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let key_path = dir.join("cred-memo.key");
        let memo_path = dir.join("cred-memo");
        let key = match fs::read(&key_path) {
            Ok(k) if k.len() == 32 => k,
            Ok(_) => return Err(format!("{}: not a 32-byte key", key_path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut k = vec![0u8; 32];
                getrandom::getrandom(&mut k).map_err(|e| format!("no randomness: {e}"))?;
                write_atomic(&key_path, &k, 0o600)
                    .map_err(|e| format!("{}: {e}", key_path.display()))?;
                k
            }
            Err(e) => return Err(format!("{}: {e}", key_path.display())),
        };
        let digests = fs::read_to_string(&memo_path)
            .map(|t| t.lines().filter_map(unhex_array::<32>).collect())
            .unwrap_or_default();
        Ok(CredMemo {
            key,
            digests,
            key_path,
            memo_path,
        })
    }

    /// Replaces the memo with `digests` (only hashes still present on the device).
    pub fn save(&self, digests: &[[u8; 32]]) -> Result<(), String> {
        let mut text = String::new();
        for d in digests {
            text.push_str(&hex(d));
            text.push('\n');
        }
        let _ = &self.key_path;
        write_atomic(&self.memo_path, text.as_bytes(), 0o600)
            .map_err(|e| format!("{}: {e}", self.memo_path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memo_roundtrip_and_key_is_stable() {
        let d = tempfile::tempdir().unwrap();
        let m = CredMemo::load(d.path()).unwrap();
        assert_eq!(m.key.len(), 32);
        m.save(&[[7u8; 32]]).unwrap();
        let m2 = CredMemo::load(d.path()).unwrap();
        assert_eq!(m2.key, m.key);
        assert!(m2.digests.contains(&[7u8; 32]));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(d.path().join("cred-memo.key"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
        let leftovers = fs::read_dir(d.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains(".tmp")
            })
            .count();
        assert_eq!(leftovers, 0);
    }
}
