//! Store-and-forward spool (profile §9.2): one file per signed token,
//! `<seq>-<cti>-<k|r>.cwt` (`k` keep: its results or inventory changed; `r`
//! routine), written atomically (temp + fsync + rename + directory fsync)
//! *before* any delivery attempt and removed only after the collector's
//! receipt. Bounded by bytes and count: when full, the oldest routine tokens
//! go first, then the oldest kept ones; the newest token is always kept.
//! Tokens the collector refused move to `dead/` with the reason beside them.
//!
//! A crash leaves either no file or a whole one; stray temporary files from
//! an interrupted write are removed when the spool is opened.

use fieldattest_scan::state::write_atomic;
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub seq: u64,
    pub cti_hex: String,
    pub keep: bool,
    pub size: u64,
    pub path: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: u64,
    pub max_count: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 16 * 1024 * 1024,
            max_count: 1000,
        }
    }
}

pub struct Spool {
    dir: PathBuf,
    limits: Limits,
}

fn io(p: &Path, e: std::io::Error) -> String {
    format!("{}: {e}", p.display())
}

fn sync_dir(d: &Path) {
    if let Ok(f) = fs::File::open(d) {
        let _ = f.sync_all();
    }
}

fn parse_name(name: &str) -> Option<(u64, String, bool)> {
    let stem = name.strip_suffix(".cwt")?;
    let mut parts = stem.splitn(3, '-');
    let seq = parts.next()?.parse().ok()?;
    let cti = parts.next()?;
    let keep = match parts.next()? {
        "k" => true,
        "r" => false,
        _ => return None,
    };
    (!cti.is_empty() && cti.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| (seq, cti.to_string(), keep))
}

impl Spool {
    /// Opens (creating, 0700) the spool directory and removes temporary
    /// files left by an interrupted write.
    pub fn open(dir: &Path, limits: Limits) -> Result<Self, String> {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir.join("dead"))
            .map_err(|e| io(dir, e))?;
        for e in fs::read_dir(dir).map_err(|e| io(dir, e))?.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with('.') && n.contains(".tmp") {
                let _ = fs::remove_file(e.path());
            }
        }
        Ok(Spool {
            dir: dir.to_path_buf(),
            limits,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Tokens waiting for delivery, oldest (lowest seq) first.
    pub fn pending(&self) -> Result<Vec<Item>, String> {
        let mut v = Vec::new();
        for e in fs::read_dir(&self.dir)
            .map_err(|e| io(&self.dir, e))?
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some((seq, cti_hex, keep)) = parse_name(&name) else {
                continue;
            };
            let size = e.metadata().map(|m| m.len()).unwrap_or(0);
            v.push(Item {
                seq,
                cti_hex,
                keep,
                size,
                path: e.path(),
            });
        }
        v.sort_by_key(|i| i.seq);
        Ok(v)
    }

    /// Spools a signed token (durably, before any delivery), then enforces
    /// the limits. Returns the items dropped to make room.
    pub fn put(&self, seq: u64, cti: &[u8], token: &[u8], keep: bool) -> Result<Vec<Item>, String> {
        let name = format!(
            "{seq:020}-{}-{}.cwt",
            crate::hex(cti),
            if keep { "k" } else { "r" }
        );
        let p = self.dir.join(name);
        write_atomic(&p, token, 0o600).map_err(|e| io(&p, e))?;
        self.enforce(seq)
    }

    /// Drops the oldest routine tokens, then the oldest kept ones, until
    /// the spool fits its limits; never the token `newest`.
    fn enforce(&self, newest: u64) -> Result<Vec<Item>, String> {
        let items = self.pending()?;
        let mut bytes: u64 = items.iter().map(|i| i.size).sum();
        let mut count = items.len();
        let over = |b: u64, c: usize| b > self.limits.max_bytes || c > self.limits.max_count;
        let mut dropped = Vec::new();
        let order = items
            .iter()
            .filter(|i| !i.keep)
            .chain(items.iter().filter(|i| i.keep))
            .filter(|i| i.seq != newest);
        for i in order {
            if !over(bytes, count) {
                break;
            }
            fs::remove_file(&i.path).map_err(|e| io(&i.path, e))?;
            bytes -= i.size;
            count -= 1;
            dropped.push(i.clone());
        }
        if !dropped.is_empty() {
            sync_dir(&self.dir);
        }
        Ok(dropped)
    }

    pub fn read(&self, item: &Item) -> Result<Vec<u8>, String> {
        fs::read(&item.path).map_err(|e| io(&item.path, e))
    }

    /// Removes a delivered token (after the collector's receipt).
    pub fn remove(&self, item: &Item) -> Result<(), String> {
        match fs::remove_file(&item.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&item.path, e)),
        }
        sync_dir(&self.dir);
        Ok(())
    }

    /// Moves a token the collector refused to `dead/`, with the reason in a
    /// `.reason` file beside it; it is not retried.
    pub fn dead_letter(&self, item: &Item, reason: &str) -> Result<(), String> {
        let dead = self.dir.join("dead");
        let name = item.path.file_name().unwrap_or_default();
        let reason_path = dead.join(format!("{}.reason", name.to_string_lossy()));
        write_atomic(&reason_path, format!("{reason}\n").as_bytes(), 0o600)
            .map_err(|e| io(&reason_path, e))?;
        fs::rename(&item.path, dead.join(name)).map_err(|e| io(&item.path, e))?;
        sync_dir(&dead);
        sync_dir(&self.dir);
        Ok(())
    }

    /// Tokens in the dead-letter area with their reasons.
    pub fn dead(&self) -> Result<Vec<(String, String)>, String> {
        let dead = self.dir.join("dead");
        let mut v: Vec<(String, String)> = fs::read_dir(&dead)
            .map_err(|e| io(&dead, e))?
            .flatten()
            .filter_map(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                parse_name(&n)?;
                let r = fs::read_to_string(dead.join(format!("{n}.reason"))).unwrap_or_default();
                Some((n, r.trim().to_string()))
            })
            .collect();
        v.sort();
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spool(d: &Path, max_bytes: u64, max_count: usize) -> Spool {
        Spool::open(
            d,
            Limits {
                max_bytes,
                max_count,
            },
        )
        .unwrap()
    }

    #[test]
    fn put_list_remove_in_sequence_order() {
        let d = tempfile::tempdir().unwrap();
        let s = spool(d.path(), 1 << 20, 100);
        for seq in [3u64, 1, 2] {
            assert!(s
                .put(seq, &[seq as u8; 16], b"tok", false)
                .unwrap()
                .is_empty());
        }
        let p = s.pending().unwrap();
        assert_eq!(p.iter().map(|i| i.seq).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(s.read(&p[0]).unwrap(), b"tok");
        s.remove(&p[0]).unwrap();
        s.remove(&p[0]).unwrap(); // idempotent
        assert_eq!(s.pending().unwrap().len(), 2);
    }

    #[test]
    fn full_spool_drops_oldest_routine_first_then_oldest_kept() {
        let d = tempfile::tempdir().unwrap();
        let s = spool(d.path(), 1 << 20, 3);
        s.put(1, &[1; 16], b"a", true).unwrap();
        s.put(2, &[2; 16], b"b", false).unwrap();
        s.put(3, &[3; 16], b"c", false).unwrap();
        let dropped = s.put(4, &[4; 16], b"d", false).unwrap();
        assert_eq!(dropped.iter().map(|i| i.seq).collect::<Vec<_>>(), [2]);
        let dropped = s.put(5, &[5; 16], b"e", true).unwrap();
        assert_eq!(dropped.iter().map(|i| i.seq).collect::<Vec<_>>(), [3]);
        let dropped = s.put(6, &[6; 16], b"f", true).unwrap();
        assert_eq!(dropped.iter().map(|i| i.seq).collect::<Vec<_>>(), [4]);
        // Only kept tokens left: the oldest of them goes.
        let dropped = s.put(7, &[7; 16], b"g", true).unwrap();
        assert_eq!(dropped.iter().map(|i| i.seq).collect::<Vec<_>>(), [1]);
        let left: Vec<u64> = s.pending().unwrap().iter().map(|i| i.seq).collect();
        assert_eq!(left, [5, 6, 7]);
    }

    #[test]
    fn byte_limit_never_drops_the_newest() {
        let d = tempfile::tempdir().unwrap();
        let s = spool(d.path(), 10, 100);
        s.put(1, &[1; 16], &[0; 8], false).unwrap();
        let dropped = s.put(2, &[2; 16], &[0; 30], false).unwrap();
        assert_eq!(dropped.len(), 1);
        assert_eq!(s.pending().unwrap()[0].seq, 2);
    }

    #[test]
    fn dead_letters_keep_their_reason_and_temp_files_are_cleaned() {
        let d = tempfile::tempdir().unwrap();
        let s = spool(d.path(), 1 << 20, 100);
        s.put(9, &[9; 16], b"x", false).unwrap();
        let it = s.pending().unwrap().remove(0);
        s.dead_letter(&it, "403 device revoked").unwrap();
        assert!(s.pending().unwrap().is_empty());
        let dead = s.dead().unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].1, "403 device revoked");
        fs::write(
            d.path().join(".00000000000000000010-aa-r.cwt.tmp77"),
            b"half",
        )
        .unwrap();
        fs::write(d.path().join("README"), b"not a token").unwrap();
        let s = spool(d.path(), 1 << 20, 100);
        assert!(s.pending().unwrap().is_empty());
        assert!(!d
            .path()
            .join(".00000000000000000010-aa-r.cwt.tmp77")
            .exists());
    }
}
