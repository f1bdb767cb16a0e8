//! Read-only, root-confined view of a filesystem: the only door through which the
//! agent reads files.
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

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

/// Symlinks followed per lookup before giving up (Linux uses 40 too).
pub const MAX_SYMLINKS: u32 = 40;
/// Default cap for files read whole.
pub const DEFAULT_MAX_FILE: u64 = 32 * 1024 * 1024;

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
    fn new(path: &Path, kind: FsErrorKind) -> Self {
        FsError {
            path: display_path(path),
            kind,
        }
    }
    fn io(path: &Path, e: &io::Error) -> Self {
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

    /// Resolves `path` inside the root to a host path free of symlinks.
    fn resolve(&self, path: &Path) -> Result<PathBuf, FsError> {
        let mut pending: Vec<OsString> = Vec::new();
        push_components(&mut pending, path);
        let mut resolved: Vec<OsString> = Vec::new();
        let mut links = 0u32;
        let mut host = self.root.clone();
        while let Some(name) = pending.pop() {
            if name == ".." {
                if resolved.pop().is_some() {
                    host.pop();
                }
                continue;
            }
            host.push(&name);
            let md = match fs::symlink_metadata(&host) {
                Ok(md) => md,
                Err(e) => {
                    resolved.push(name);
                    return Err(FsError::io(&join_rel(&resolved, &pending), &e));
                }
            };
            if md.file_type().is_symlink() {
                links += 1;
                if links > MAX_SYMLINKS {
                    resolved.push(name);
                    return Err(FsError::new(
                        &join_rel(&resolved, &pending),
                        FsErrorKind::SymlinkLoop,
                    ));
                }
                let target = fs::read_link(&host).map_err(|e| FsError::io(path, &e))?;
                host.pop();
                if target.is_absolute() {
                    resolved.clear();
                    host = self.root.clone();
                }
                push_components(&mut pending, &target);
            } else {
                if !md.is_dir() && !pending.is_empty() {
                    resolved.push(name);
                    return Err(FsError::new(
                        &join_rel(&resolved, &pending),
                        FsErrorKind::NotADirectory,
                    ));
                }
                resolved.push(name);
            }
        }
        Ok(host)
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

    fn resolve_parent(&self, path: &Path) -> Result<PathBuf, FsError> {
        let mut comps: Vec<OsString> = Vec::new();
        push_components(&mut comps, path);
        comps.reverse();
        // `..` as the last component would name a directory, never a link.
        let last = match comps.last() {
            Some(l) if l != ".." => comps.pop().unwrap_or_default(),
            _ => return self.resolve(path),
        };
        let parent: PathBuf = comps.iter().collect();
        let mut host = self.resolve(&parent)?;
        host.push(last);
        Ok(host)
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

/// Pushes the normal and `..` components of `p` onto `stack` so that popping
/// yields them in order.
fn push_components(stack: &mut Vec<OsString>, p: &Path) {
    let comps: Vec<OsString> = p
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect();
    stack.extend(comps.into_iter().rev());
}

fn join_rel(resolved: &[OsString], pending: &[OsString]) -> PathBuf {
    let mut p: PathBuf = resolved.iter().collect();
    for c in pending.iter().rev() {
        p.push(c);
    }
    p
}

/// Joins a directory listing entry to its directory, as an in-root path.
pub fn child(dir: impl AsRef<Path>, name: &OsStr) -> PathBuf {
    dir.as_ref().join(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    struct Fixture {
        _outer: tempfile::TempDir,
        root: PathBuf,
        outside: PathBuf,
    }

    /// An outer dir holding `root/` and a secret file next to it.
    fn fixture() -> Fixture {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("root");
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::write(root.join("etc/passwd"), b"root:x:0:0::/root:/bin/sh\n").unwrap();
        let outside = outer.path().join("secret");
        fs::write(&outside, b"HOST SECRET").unwrap();
        Fixture {
            root,
            outside,
            _outer: outer,
        }
    }

    #[test]
    fn absolute_symlink_resolves_inside_root() {
        let f = fixture();
        fs::write(f.root.join("etc/shadow.real"), b"inside").unwrap();
        // Points at the host's /etc/shadow; inside the root it must mean root/etc/shadow.real.
        symlink("/etc/shadow.real", f.root.join("etc/shadow")).unwrap();
        let r = RootFs::new(&f.root).unwrap();
        assert_eq!(r.read("/etc/shadow").unwrap(), b"inside");
    }

    #[test]
    fn absolute_symlink_to_host_file_is_not_followed_to_host() {
        let f = fixture();
        // The host path exists on the host but not inside the root.
        symlink(&f.outside, f.root.join("etc/shadow")).unwrap();
        let r = RootFs::new(&f.root).unwrap();
        let err = r.read("etc/shadow").unwrap_err();
        assert_eq!(err.kind, FsErrorKind::NotFound, "{err}");
        // And the host's real /etc/shadow is never reachable either.
        symlink("/etc/shadow", f.root.join("etc/shadow2")).unwrap();
        assert!(r.read("etc/shadow2").unwrap_err().is_not_found());
    }

    #[test]
    fn dotdot_symlink_cannot_climb_above_root() {
        let f = fixture();
        symlink("../../../../etc", f.root.join("etc/x")).unwrap();
        symlink("../secret", f.root.join("up")).unwrap();
        let r = RootFs::new(&f.root).unwrap();
        // etc/x -> ../../../../etc clamps at the root: it is the root's etc.
        assert_eq!(
            r.read("etc/x/passwd").unwrap(),
            b"root:x:0:0::/root:/bin/sh\n"
        );
        // up -> ../secret would be the outer secret; clamped it is root/secret (absent).
        assert!(r.read("up").unwrap_err().is_not_found());
        // Plain `..` in the requested path clamps too.
        assert_eq!(
            r.read("../../../etc/passwd").unwrap(),
            b"root:x:0:0::/root:/bin/sh\n"
        );
        assert!(r.read("../secret").unwrap_err().is_not_found());
    }

    #[test]
    fn symlinked_directory_to_host_root_is_confined() {
        let f = fixture();
        symlink("/", f.root.join("hostroot")).unwrap();
        let r = RootFs::new(&f.root).unwrap();
        assert_eq!(
            r.read("hostroot/etc/passwd").unwrap(),
            b"root:x:0:0::/root:/bin/sh\n"
        );
        let names: Vec<_> = r
            .read_dir("hostroot")
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(
            names,
            vec![OsString::from("etc"), OsString::from("hostroot")]
        );
    }

    #[test]
    fn link_loops_end_in_an_error() {
        let f = fixture();
        symlink("b", f.root.join("a")).unwrap();
        symlink("a", f.root.join("b")).unwrap();
        symlink("self", f.root.join("self")).unwrap();
        let r = RootFs::new(&f.root).unwrap();
        assert_eq!(r.read("a").unwrap_err().kind, FsErrorKind::SymlinkLoop);
        assert_eq!(r.read("self/x").unwrap_err().kind, FsErrorKind::SymlinkLoop);
        assert!(r
            .read("a")
            .unwrap_err()
            .to_string()
            .contains("symbolic links"));
    }

    #[test]
    fn chain_of_forty_links_resolves_and_forty_one_fails() {
        let f = fixture();
        fs::write(f.root.join("target"), b"t").unwrap();
        let mut prev = "target".to_string();
        for i in 0..41 {
            let name = format!("l{i}");
            symlink(&prev, f.root.join(&name)).unwrap();
            prev = name;
        }
        let r = RootFs::new(&f.root).unwrap();
        assert_eq!(r.read("l39").unwrap(), b"t");
        assert_eq!(r.read("l40").unwrap_err().kind, FsErrorKind::SymlinkLoop);
    }

    #[test]
    fn files_above_the_limit_are_refused() {
        let f = fixture();
        fs::write(f.root.join("big"), vec![b'x'; 4097]).unwrap();
        let r = RootFs::new(&f.root).unwrap().with_max_file(4096);
        let err = r.read("big").unwrap_err();
        assert_eq!(
            err.kind,
            FsErrorKind::TooLarge {
                size: 4097,
                limit: 4096
            }
        );
        assert!(err.to_string().starts_with("/big: 4097 bytes"));
        assert_eq!(r.read_limited("big", 5000).unwrap().len(), 4097);
    }

    #[test]
    fn fifo_and_directories_are_not_read() {
        let f = fixture();
        let fifo = f.root.join("fifo");
        let st = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(st.success());
        let r = RootFs::new(&f.root).unwrap();
        assert_eq!(
            r.read("fifo").unwrap_err().kind,
            FsErrorKind::NotRegularFile
        );
        assert_eq!(r.read("etc").unwrap_err().kind, FsErrorKind::NotRegularFile);
    }

    #[test]
    fn non_utf8_names_and_contents_do_not_panic() {
        let f = fixture();
        let name = OsStr::from_bytes(b"bad\xff\xfename");
        fs::write(f.root.join("etc").join(name), b"\xff\x00\xfe").unwrap();
        let r = RootFs::new(&f.root).unwrap();
        let ents = r.read_dir("/etc").unwrap();
        assert!(ents.iter().any(|e| e.name == name));
        assert_eq!(
            r.read(Path::new("etc").join(name)).unwrap(),
            b"\xff\x00\xfe"
        );
        let err = r.read(Path::new("etc").join(name).join("x")).unwrap_err();
        assert_eq!(err.kind, FsErrorKind::NotADirectory);
        assert!(
            err.path.starts_with("/etc/bad\u{fffd}\u{fffd}name"),
            "{}",
            err.path
        );
    }

    #[test]
    fn missing_root_and_file_root_are_clear_errors() {
        let f = fixture();
        let e = RootFs::new(&f.root.join("nope")).unwrap_err();
        assert!(e.contains("nope"), "{e}");
        let e = RootFs::new(&f.root.join("etc/passwd")).unwrap_err();
        assert!(e.contains("not a directory"), "{e}");
    }

    #[test]
    fn symlink_metadata_and_read_link_see_the_link_itself() {
        let f = fixture();
        symlink("/etc/passwd", f.root.join("etc/pw")).unwrap();
        let r = RootFs::new(&f.root).unwrap();
        assert_eq!(
            r.symlink_metadata("etc/pw").unwrap().kind,
            EntryKind::Symlink
        );
        assert_eq!(r.metadata("etc/pw").unwrap().kind, EntryKind::File);
        assert_eq!(r.read_link("etc/pw").unwrap(), PathBuf::from("/etc/passwd"));
    }

    #[test]
    fn walk_never_follows_links_out_and_is_bounded() {
        let f = fixture();
        std::fs::create_dir_all(f.outside.parent().unwrap().join("hostdir")).unwrap();
        std::fs::write(f.outside.parent().unwrap().join("hostdir/leak"), b"x").unwrap();
        symlink(
            f.outside.parent().unwrap().join("hostdir"),
            f.root.join("etc/out"),
        )
        .unwrap();
        fs::create_dir_all(f.root.join("proc/1")).unwrap();
        let r = RootFs::new(&f.root).unwrap();
        let mut seen = Vec::new();
        let cut = r.walk("/", &["/proc"], 100, 10, |p, m| {
            seen.push((p.to_string(), m.kind))
        });
        assert!(!cut);
        assert!(seen.contains(&("/etc/out".to_string(), EntryKind::Symlink)));
        assert!(
            !seen
                .iter()
                .any(|(p, _)| p.contains("leak") || p.starts_with("/proc/")),
            "{seen:?}"
        );
        let mut n = 0;
        assert!(r.walk("/", &[], 2, 10, |_, _| n += 1));
        assert_eq!(n, 2);
    }

    #[test]
    fn display_path_is_in_root_absolute() {
        assert_eq!(display_path(Path::new("etc/shadow")), "/etc/shadow");
        assert_eq!(
            display_path(Path::new("/var/lib/dpkg/status")),
            "/var/lib/dpkg/status"
        );
        assert_eq!(display_path(Path::new("")), "/");
    }
}
