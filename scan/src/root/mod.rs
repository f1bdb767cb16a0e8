//! Read-only, root-confined view of a filesystem: the only door through which the
//! scanning library reads files.
//!
//! Paths given to [`RootFs`] are interpreted inside the root, whatever they look
//! like (`/etc/shadow`, `etc/shadow`, `../../etc/shadow` all name the root's
//! `etc/shadow`). Resolution has chroot semantics without calling chroot:
//!
//! * every component is examined with `lstat`; a symlink is expanded by hand, an
//!   absolute target restarts from the root, and `..` never climbs above the root;
//! * at most [`MAX_SYMLINKS`] links are followed per lookup (loops end in an error);
//! * the final open uses `O_NOFOLLOW | O_NONBLOCK`, only regular files are read
//!   (a FIFO or device node planted in an image cannot block or feed the scanner),
//!   and files larger than the size limit are refused instead of read whole;
//! * names and contents are bytes: nothing here assumes UTF-8.
//!
//! Limitation (documented in ARCHITECTURE.md): a concurrent writer that swaps a
//! directory for a symlink between our `lstat` and `open` of a *non-final*
//! component could redirect one read. Images are static and the live root is `/`,
//! where escaping has no meaning, so this race is out of scope.
//!
//! Layout: `resolve` maps a path inside the root to a host path, `dir` lists
//! and walks directories, `error` names what went wrong; this file holds the
//! view itself and the reads.

mod dir;
mod error;
mod resolve;

pub use dir::child;
pub use error::{display_path, FsError, FsErrorKind};

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Symlinks followed per lookup before giving up (Linux uses 40 too).
pub const MAX_SYMLINKS: u32 = 40;
/// Default cap for files read whole.
pub const DEFAULT_MAX_FILE: u64 = 32 * 1024 * 1024;

/// Kind of a directory entry, from `lstat` (symlinks are not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: OsString,
    pub kind: EntryKind,
}

/// Metadata of a resolved path (symlinks followed inside the root).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub kind: EntryKind,
    pub size: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// A read-only, root-confined filesystem view.
#[derive(Debug, Clone)]
pub struct RootFs {
    root: PathBuf,
    max_file: u64,
}

impl RootFs {
    /// Opens `dir` as the root. It must exist and be a directory.
    pub fn new(dir: &Path) -> Result<Self, String> {
        let root = fs::canonicalize(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let md = fs::metadata(&root).map_err(|e| format!("{}: {e}", dir.display()))?;
        if !md.is_dir() {
            return Err(format!("{}: not a directory", dir.display()));
        }
        fs::read_dir(&root).map_err(|e| format!("{}: cannot list: {e}", dir.display()))?;
        Ok(RootFs {
            root,
            max_file: DEFAULT_MAX_FILE,
        })
    }

    /// Changes the cap for files read whole.
    pub fn with_max_file(mut self, bytes: u64) -> Self {
        self.max_file = bytes;
        self
    }

    pub fn max_file(&self) -> u64 {
        self.max_file
    }

    /// The canonical host directory of the root.
    pub fn host_root(&self) -> &Path {
        &self.root
    }

    /// True when the root is the running system's `/` (live mode).
    pub fn is_host_root(&self) -> bool {
        self.root == Path::new("/")
    }

    /// Metadata of `path`, following symlinks inside the root.
    pub fn metadata(&self, path: impl AsRef<Path>) -> Result<Meta, FsError> {
        let path = path.as_ref();
        let host = self.resolve(path)?;
        let md = fs::symlink_metadata(&host).map_err(|e| FsError::io(path, &e))?;
        Ok(meta_of(&md))
    }

    /// Metadata of `path` itself when it is a symlink (its parent is resolved).
    pub fn symlink_metadata(&self, path: impl AsRef<Path>) -> Result<Meta, FsError> {
        let path = path.as_ref();
        let host = self.resolve_parent(path)?;
        let md = fs::symlink_metadata(&host).map_err(|e| FsError::io(path, &e))?;
        Ok(meta_of(&md))
    }

    /// Target of the symlink `path` (as stored; not resolved).
    pub fn read_link(&self, path: impl AsRef<Path>) -> Result<PathBuf, FsError> {
        let path = path.as_ref();
        let host = self.resolve_parent(path)?;
        fs::read_link(&host).map_err(|e| FsError::io(path, &e))
    }

    /// The host path of a regular file inside the root, with every symlink
    /// resolved inside the root. Only for libraries that must open a path
    /// themselves (SQLite); they must open it read-only.
    pub fn host_path_of_file(&self, path: impl AsRef<Path>) -> Result<PathBuf, FsError> {
        let path = path.as_ref();
        let host = self.resolve(path)?;
        let md = fs::symlink_metadata(&host).map_err(|e| FsError::io(path, &e))?;
        if !md.is_file() {
            return Err(FsError::new(path, FsErrorKind::NotRegularFile));
        }
        Ok(host)
    }

    pub fn exists(&self, path: impl AsRef<Path>) -> bool {
        self.metadata(path).is_ok()
    }

    pub fn is_file(&self, path: impl AsRef<Path>) -> bool {
        matches!(self.metadata(path), Ok(m) if m.kind == EntryKind::File)
    }

    pub fn is_dir(&self, path: impl AsRef<Path>) -> bool {
        matches!(self.metadata(path), Ok(m) if m.kind == EntryKind::Dir)
    }

    /// Opens a regular file for streaming reads (no size limit applies; the caller
    /// bounds what it keeps).
    pub fn open(&self, path: impl AsRef<Path>) -> Result<(File, Meta), FsError> {
        let path = path.as_ref();
        let host = self.resolve(path)?;
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
            .open(&host)
            .map_err(|e| FsError::io(path, &e))?;
        let md = file.metadata().map_err(|e| FsError::io(path, &e))?;
        if !md.is_file() {
            return Err(FsError::new(path, FsErrorKind::NotRegularFile));
        }
        Ok((file, meta_of(&md)))
    }

    /// Reads a whole regular file, refusing files above the size limit.
    pub fn read(&self, path: impl AsRef<Path>) -> Result<Vec<u8>, FsError> {
        self.read_limited(path, self.max_file)
    }

    /// Reads a whole regular file, refusing files above `limit` bytes.
    pub fn read_limited(&self, path: impl AsRef<Path>, limit: u64) -> Result<Vec<u8>, FsError> {
        let path = path.as_ref();
        let (file, meta) = self.open(path)?;
        if meta.size > limit {
            return Err(FsError::new(
                path,
                FsErrorKind::TooLarge {
                    size: meta.size,
                    limit,
                },
            ));
        }
        // Files under /proc report size 0: read with a hard cap regardless.
        let mut buf = Vec::with_capacity(meta.size.min(limit) as usize);
        file.take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(|e| FsError::io(path, &e))?;
        if buf.len() as u64 > limit {
            return Err(FsError::new(
                path,
                FsErrorKind::TooLarge {
                    size: buf.len() as u64,
                    limit,
                },
            ));
        }
        Ok(buf)
    }
}

fn meta_of(md: &fs::Metadata) -> Meta {
    use std::os::unix::fs::MetadataExt;
    let ft = md.file_type();
    let kind = if ft.is_symlink() {
        EntryKind::Symlink
    } else if ft.is_dir() {
        EntryKind::Dir
    } else if ft.is_file() {
        EntryKind::File
    } else {
        EntryKind::Other
    };
    Meta {
        kind,
        size: md.len(),
        mode: md.mode(),
        uid: md.uid(),
        gid: md.gid(),
    }
}

#[cfg(test)]
mod tests;
