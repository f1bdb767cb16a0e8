//! Listing directories and walking trees inside the root, without following
//! symlinks out of it.

use super::{display_path, meta_of, DirEntry, EntryKind, FsError, Meta, RootFs};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

impl RootFs {
    /// Walks the tree below `start` depth-first without following symlinks,
    /// calling `visit(in_root_path, meta)` for every entry (symlinks included,
    /// described not followed). Directories named in `skip` are not entered.
    /// Stops after `max_entries` entries and returns whether it was cut short.
    /// Only real directories found under the resolved start are descended, so
    /// the walk cannot leave the root.
    pub fn walk(
        &self,
        start: &str,
        skip: &[&str],
        max_entries: usize,
        max_depth: usize,
        mut visit: impl FnMut(&str, &Meta),
    ) -> bool {
        let Ok(host) = self.resolve(Path::new(start)) else {
            return false;
        };
        let base = if start == "/" {
            String::new()
        } else {
            display_path(Path::new(start))
        };
        let mut stack: Vec<(PathBuf, String, usize)> = vec![(host, base, 0)];
        let mut n = 0usize;
        while let Some((hdir, rdir, depth)) = stack.pop() {
            let Ok(rd) = fs::read_dir(&hdir) else {
                continue;
            };
            for ent in rd.flatten() {
                n += 1;
                if n > max_entries {
                    return true;
                }
                let name = ent.file_name();
                let rpath = format!("{rdir}/{}", String::from_utf8_lossy(name.as_bytes()));
                if skip.contains(&rpath.as_str()) {
                    continue;
                }
                let Ok(md) = ent.metadata() else { continue };
                let m = meta_of(&md);
                visit(&rpath, &m);
                if m.kind == EntryKind::Dir && depth < max_depth {
                    stack.push((hdir.join(&name), rpath, depth + 1));
                }
            }
        }
        false
    }

    /// Lists a directory with each entry's own `lstat` metadata (symlinks are
    /// described, not followed). The directory is resolved once, so walks cost
    /// one `lstat` per entry.
    pub fn read_dir_meta(&self, path: impl AsRef<Path>) -> Result<Vec<(DirEntry, Meta)>, FsError> {
        let path = path.as_ref();
        let host = self.resolve(path)?;
        let rd = fs::read_dir(&host).map_err(|e| FsError::io(path, &e))?;
        let mut out = Vec::new();
        for ent in rd {
            let ent = ent.map_err(|e| FsError::io(path, &e))?;
            // DirEntry::metadata is an lstat relative to the opened directory.
            if let Ok(md) = ent.metadata() {
                let m = meta_of(&md);
                out.push((
                    DirEntry {
                        name: ent.file_name(),
                        kind: m.kind,
                    },
                    m,
                ));
            }
        }
        out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Ok(out)
    }

    /// Lists a directory, sorted by name; `.` and `..` are not returned.
    pub fn read_dir(&self, path: impl AsRef<Path>) -> Result<Vec<DirEntry>, FsError> {
        let path = path.as_ref();
        let host = self.resolve(path)?;
        let rd = fs::read_dir(&host).map_err(|e| FsError::io(path, &e))?;
        let mut out = Vec::new();
        for ent in rd {
            let ent = ent.map_err(|e| FsError::io(path, &e))?;
            let kind = match ent.file_type() {
                Ok(t) if t.is_symlink() => EntryKind::Symlink,
                Ok(t) if t.is_dir() => EntryKind::Dir,
                Ok(t) if t.is_file() => EntryKind::File,
                _ => EntryKind::Other,
            };
            out.push(DirEntry {
                name: ent.file_name(),
                kind,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}
/// Joins a directory listing entry to its directory, as an in-root path.
pub fn child(dir: impl AsRef<Path>, name: &OsStr) -> PathBuf {
    dir.as_ref().join(name)
}
