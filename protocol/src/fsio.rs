//! Output files and standard streams, shared by the agent and the collector
//! binaries (the one part of this crate that does I/O).
//!
//! [`write_output`] is how every user-named output path is written
//! (`scan --output`, `attest --out`/`--sbom-out`, `export --out` files,
//! `rotate --out`, collector `report --output`):
//! - a path that does not exist, or an existing **regular file**, is replaced
//!   atomically: a temporary file in the same directory, fsync, rename, fsync
//!   of the directory. An existing file keeps its owner, group and mode (the
//!   temporary file gets them before the rename).
//! - a **symlink** is followed (chain of up to 40 links, relative targets
//!   resolved against the link's directory) and the rule above is applied to
//!   its final target: the link stays a link, the target gets the content. A
//!   dangling link creates its target.
//! - anything else that can be opened for writing — a character or block
//!   device (`/dev/null`, `/dev/ttyS0`), a FIFO or pipe (`/dev/stdout` on a
//!   pipe: a /proc link whose text is no path, so the type is taken from a
//!   stat through the links) — is opened and written **in place** (no
//!   create, no truncate, no rename), so the node stays what it was. A
//!   directory is an error.
//!
//! [`stdout`] writes everything to standard output and flushes it;
//! [`stdout_failed`] turns its error into the documented exit status: a
//! closed pipe (EPIPE; Rust ignores SIGPIPE, so it arrives as an error) ends
//! the command quietly with [`EXIT_BROKEN_PIPE`] (141, what a shell reports
//! for a writer killed by SIGPIPE); any other error (`/dev/full`: ENOSPC) is
//! reported on stderr and is [`EXIT_RUNTIME`] (3). [`stderr`] never panics
//! (unlike `eprintln!` on a closed or full stderr).

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Exit status when standard output is a closed pipe.
pub const EXIT_BROKEN_PIPE: u8 = 141;
/// Exit status of a runtime error (both binaries: "could not run").
pub const EXIT_RUNTIME: u8 = 3;

const MAX_LINKS: usize = 40;

/// What an output path turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Replaced (or created) atomically.
    Replaced,
    /// Opened and written in place (device node, FIFO).
    InPlace,
}

/// Follows symlinks from `path` to the final target: (target, its metadata
/// when it exists).
fn resolve(path: &Path) -> io::Result<(PathBuf, Option<Metadata>)> {
    let mut p = path.to_path_buf();
    for _ in 0..=MAX_LINKS {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let t = fs::read_link(&p)?;
                p = if t.is_absolute() {
                    t
                } else {
                    p.parent().unwrap_or(Path::new(".")).join(t)
                };
            }
            Ok(m) => return Ok((p, Some(m))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((p, None)),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// Writes `data` to the user-named output `path` by the rules of the module
/// documentation. `new_mode` is the mode of a file that did not exist (the
/// umask applies); an existing regular file keeps its own.
pub fn write_output(path: &Path, data: &[u8], new_mode: u32) -> io::Result<Written> {
    // stat through the links first: `/dev/stdout` is a /proc "magic" link
    // whose readlink text (`pipe:[123]`) is no path, yet opening it reaches
    // the pipe.
    match fs::metadata(path) {
        Ok(m) if m.file_type().is_file() => {
            let (target, meta) = resolve(path)?;
            match meta {
                Some(tm) if tm.file_type().is_file() => {
                    replace_atomic(&target, data, new_mode, Some(&tm))?
                }
                // A magic link to a file: its readlink text may not be a path.
                _ => replace_atomic(&fs::canonicalize(path)?, data, new_mode, Some(&m))?,
            }
            Ok(Written::Replaced)
        }
        Ok(m) if m.file_type().is_dir() => Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory",
        )),
        Ok(m) => {
            let mut f = OpenOptions::new().write(true).open(path)?;
            f.write_all(data)?;
            f.flush()?;
            // fsync of a pipe or /dev/null is EINVAL; only block devices
            // hold data worth syncing.
            if m.file_type().is_block_device() {
                f.sync_all()?;
            }
            Ok(Written::InPlace)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // A new file, or a dangling link: create the link's target.
            let (target, meta) = resolve(path)?;
            match meta {
                None => replace_atomic(&target, data, new_mode, None)?,
                Some(_) => return Err(e),
            }
            Ok(Written::Replaced)
        }
        Err(e) => Err(e),
    }
}

/// Temp file in the directory of `path`, fsync, rename over `path`, fsync of
/// the directory. With `old` (the metadata of the regular file being
/// replaced), the new file gets its owner, group and mode; else `new_mode`.
/// The temporary file is removed on error.
pub fn replace_atomic(
    path: &Path,
    data: &[u8],
    new_mode: u32,
    old: Option<&Metadata>,
) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    // A temporary file left by a crashed run with the same pid (pids repeat
    // across reboots of a device) is removed; O_EXCL then refuses a link.
    match fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let res = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(if old.is_some() { 0o600 } else { new_mode })
            .open(&tmp)?;
        if let Some(m) = old {
            keep_owner_and_mode(&f, m)?;
        }
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

/// Gives the open temporary file `f` the owner, group and mode of `old`.
/// Changing the owner needs privilege: without it the owner stays ours (as
/// with any editor's save) but the group is kept when we belong to it, and
/// the mode always. chmod comes after chown, which clears set-id bits.
fn keep_owner_and_mode(f: &File, old: &Metadata) -> io::Result<()> {
    let mine = f.metadata()?;
    if (mine.uid(), mine.gid()) != (old.uid(), old.gid())
        && std::os::unix::fs::fchown(f, Some(old.uid()), Some(old.gid())).is_err()
    {
        let _ = std::os::unix::fs::fchown(f, None, Some(old.gid()));
    }
    f.set_permissions(fs::Permissions::from_mode(old.mode() & 0o7777))
}

/// Writes all of `data` to standard output and flushes it.
pub fn stdout(data: &[u8]) -> io::Result<()> {
    let mut so = io::stdout().lock();
    so.write_all(data)?;
    so.flush()
}

/// Writes to standard error, ignoring errors (a closed or full stderr must
/// not turn a message into a panic).
pub fn stderr(msg: &str) {
    let mut se = io::stderr().lock();
    let _ = se.write_all(msg.as_bytes());
    let _ = se.flush();
}

/// An I/O error without Rust's " (os error N)" suffix, for people.
pub fn describe(e: &io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s,
    }
}

/// The exit status for an error from [`stdout`]: EPIPE is quiet and
/// [`EXIT_BROKEN_PIPE`]; anything else prints `PROG: cannot write to stdout:
/// REASON` on stderr and is [`EXIT_RUNTIME`].
pub fn stdout_failed(prog: &str, e: &io::Error) -> u8 {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return EXIT_BROKEN_PIPE;
    }
    stderr(&format!(
        "{prog}: cannot write to stdout: {}\n",
        describe(e)
    ));
    EXIT_RUNTIME
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("fsio-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn new_file_regular_file_and_symlink() {
        let d = tmpdir("basic");
        let p = d.join("out");
        assert_eq!(write_output(&p, b"one", 0o640).unwrap(), Written::Replaced);
        assert_eq!(fs::read(&p).unwrap(), b"one");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o604)).unwrap();
        write_output(&p, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o7777, 0o604);
        // Relative symlink chain: link2 -> link1 -> out.
        std::os::unix::fs::symlink("out", d.join("link1")).unwrap();
        std::os::unix::fs::symlink("link1", d.join("link2")).unwrap();
        write_output(&d.join("link2"), b"three", 0o600).unwrap();
        assert!(fs::symlink_metadata(d.join("link2"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&p).unwrap(), b"three");
        // A dangling link creates its target.
        std::os::unix::fs::symlink("made", d.join("dangling")).unwrap();
        write_output(&d.join("dangling"), b"four", 0o600).unwrap();
        assert_eq!(fs::read(d.join("made")).unwrap(), b"four");
        // A loop is an error, not a hang.
        std::os::unix::fs::symlink("loop-b", d.join("loop-a")).unwrap();
        std::os::unix::fs::symlink("loop-a", d.join("loop-b")).unwrap();
        assert!(write_output(&d.join("loop-a"), b"x", 0o600).is_err());
        assert!(write_output(&d, b"x", 0o600).is_err(), "a directory");
        let leftovers = fs::read_dir(&d)
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
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn dev_null_is_written_in_place() {
        let before = fs::symlink_metadata("/dev/null").unwrap();
        assert_eq!(
            write_output(Path::new("/dev/null"), b"x", 0o644).unwrap(),
            Written::InPlace
        );
        let after = fs::symlink_metadata("/dev/null").unwrap();
        assert!(after.file_type().is_char_device());
        assert_eq!((before.ino(), before.rdev()), (after.ino(), after.rdev()));
    }

    #[test]
    fn a_pipe_through_proc_self_fd_is_written_in_place() {
        use std::io::Read;
        use std::os::fd::AsRawFd;
        let mut cat = std::process::Command::new("cat")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let w = cat.stdin.take().unwrap();
        let p = PathBuf::from(format!("/proc/self/fd/{}", w.as_raw_fd()));
        assert_eq!(
            write_output(&p, b"through the pipe", 0o644).unwrap(),
            Written::InPlace
        );
        drop(w);
        let mut got = String::new();
        cat.stdout.take().unwrap().read_to_string(&mut got).unwrap();
        cat.wait().unwrap();
        assert_eq!(got, "through the pipe");
    }

    #[test]
    fn describe_drops_the_os_error_number() {
        let e = io::Error::from_raw_os_error(28);
        assert_eq!(describe(&e), "No space left on device");
        assert_eq!(describe(&io::Error::other("plain")), "plain");
    }
}
