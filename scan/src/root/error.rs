//! Errors about paths inside the root, named as seen inside it.

use super::MAX_SYMLINKS;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};
use std::{fmt, io};

/// Why a path inside the root could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsErrorKind {
    NotFound,
    NotADirectory,
    NotRegularFile,
    TooLarge { size: u64, limit: u64 },
    SymlinkLoop,
    PermissionDenied,
    Io(String),
}

/// An error about a path, named as seen inside the root (`/etc/shadow`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsError {
    pub path: String,
    pub kind: FsErrorKind,
}

impl FsError {
    pub(super) fn new(path: &Path, kind: FsErrorKind) -> Self {
        FsError {
            path: display_path(path),
            kind,
        }
    }
    pub(crate) fn io(path: &Path, e: &io::Error) -> Self {
        let kind = match e.kind() {
            io::ErrorKind::NotFound => FsErrorKind::NotFound,
            io::ErrorKind::PermissionDenied => FsErrorKind::PermissionDenied,
            _ if e.raw_os_error() == Some(libc::ELOOP) => FsErrorKind::SymlinkLoop,
            _ if e.raw_os_error() == Some(libc::ENOTDIR) => FsErrorKind::NotADirectory,
            _ => FsErrorKind::Io(e.to_string()),
        };
        FsError::new(path, kind)
    }
    pub fn is_not_found(&self) -> bool {
        self.kind == FsErrorKind::NotFound
    }
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            FsErrorKind::NotFound => write!(f, "{}: not found", self.path),
            FsErrorKind::NotADirectory => {
                write!(f, "{}: a path component is not a directory", self.path)
            }
            FsErrorKind::NotRegularFile => write!(f, "{}: not a regular file", self.path),
            FsErrorKind::TooLarge { size, limit } => write!(
                f,
                "{}: {size} bytes exceeds the {limit}-byte limit for files read whole; not read",
                self.path
            ),
            FsErrorKind::SymlinkLoop => write!(
                f,
                "{}: more than {MAX_SYMLINKS} symbolic links (loop?)",
                self.path
            ),
            FsErrorKind::PermissionDenied => write!(f, "{}: permission denied", self.path),
            FsErrorKind::Io(m) => write!(f, "{}: {m}", self.path),
        }
    }
}

impl std::error::Error for FsError {}

/// The in-root absolute form of a path, lossily made printable.
pub fn display_path(p: &Path) -> String {
    let mut out = String::from("/");
    let mut first = true;
    for c in p.components() {
        if let Component::Normal(n) = c {
            if !first {
                out.push('/');
            }
            out.push_str(&String::from_utf8_lossy(n.as_bytes()));
            first = false;
        }
    }
    out
}
