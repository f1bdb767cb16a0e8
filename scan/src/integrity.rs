//! Package file integrity (ISSUE22, first slice: dpkg; work in progress,
//! not yet a rule): every file a dpkg `var/lib/dpkg/info/<pkg>.md5sums`
//! lists is hashed and compared with the MD5 dpkg recorded at install —
//! the files `debsums -c` reports as changed, and those it reports missing
//! ([`verify_dpkg`]); and the configuration files with the MD5 the
//! `Conffiles` field of `var/lib/dpkg/status` records, as `debsums -ce`
//! checks them ([`verify_dpkg_conffiles`]). Not yet: debsums' exception
//! for a file a `Replaces` package ships with the found digest, and its
//! skipping of a conffile no package's file list names (an obsolete one).
//!
//! Read-only over the root view; memory bounded by one read buffer
//! ([`BUF`]) and one md5sums list ([`crate::inventory::files::MAX_LIST`]);
//! a list that cannot be read or a line that does not parse is reported
//! with its path (and line) and the rest goes on.

use crate::inventory::files::{parse_md5sums, MAX_LIST};
use crate::root::{FsError, FsErrorKind, RootFs};
use fieldattest_protocol::hex::hex;
use md5::{Digest, Md5};
use std::io::Read;

/// The read buffer of one file's hash.
pub const BUF: usize = 64 << 10;

/// What is wrong with a listed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Its content's digest differs from the recorded one.
    Changed,
    /// It is not there (or not a regular file).
    Missing,
    /// It could not be read (the reason).
    Unreadable(String),
}

/// One listed file that does not match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The package (the md5sums file's name, `<name>[:<arch>]`).
    pub package: String,
    /// Its path in the tree (`/usr/bin/x`).
    pub path: String,
    pub state: State,
}

/// The outcome of a verification.
#[derive(Debug, Default)]
pub struct Verified {
    /// Files hashed and compared.
    pub checked: u64,
    /// Files that differ, are missing or unreadable, in package then list order.
    pub findings: Vec<Finding>,
    /// Lists that could not be read or lines that do not parse: (path, line, message).
    pub errors: Vec<(String, Option<u64>, String)>,
}

impl Verified {
    /// Hashes `path` (through `buf`) and compares it with `want` (hex
    /// MD5): counted, and a finding of `package` unless it matches.
    fn check(&mut self, root: &RootFs, buf: &mut [u8], package: &str, path: String, want: &str) {
        self.checked += 1;
        let state = match md5_of(root, &path, buf) {
            Ok(d) if hex(&d) == want => return,
            Ok(_) => State::Changed,
            Err(x) if is_missing(&x) => State::Missing,
            Err(x) => State::Unreadable(x.to_string()),
        };
        self.findings.push(Finding {
            package: package.to_string(),
            path,
            state,
        });
    }
}

/// MD5 of a regular file in the tree, read in pieces through `buf` (one
/// buffer of [`BUF`] bytes serves a whole verification).
pub fn md5_of(root: &RootFs, path: &str, buf: &mut [u8]) -> Result<[u8; 16], FsError> {
    let (mut file, _) = root.open(path)?;
    let mut h = Md5::new();
    loop {
        let n = file
            .read(buf)
            .map_err(|e| FsError::io(std::path::Path::new(path), &e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

/// Verifies every package's files against its md5sums.
pub fn verify_dpkg(root: &RootFs) -> Verified {
    let mut out = Verified::default();
    let mut buf = vec![0u8; BUF];
    let dir = "/var/lib/dpkg/info";
    let Ok(entries) = root.read_dir(dir) else {
        return out;
    };
    for e in entries {
        let name = e.name.to_string_lossy().into_owned();
        let Some(package) = name.strip_suffix(".md5sums") else {
            continue;
        };
        let list = format!("{dir}/{name}");
        let text = match root.read_limited(&list, MAX_LIST) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(x) => {
                out.errors.push((list, None, x.to_string()));
                continue;
            }
        };
        let (files, errors) = parse_md5sums(&text);
        for (line, message) in errors {
            out.errors.push((list.clone(), Some(line), message));
        }
        for f in files {
            out.check(root, &mut buf, package, f.path, &f.hex);
        }
    }
    out
}

/// The conffiles of the installed packages in a dpkg status text, as
/// debsums reads them: (package, path, md5) for each `Conffiles` line
/// ` /<path without blanks> <hex md5> [flag]` of a package whose `Status`
/// ends in `installed` or `half-configured`; lines flagged
/// `remove-on-upgrade` and placeholders such as `newconffile` are skipped.
/// Bounded by the text: one pass over its lines.
pub fn dpkg_conffiles(status: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    // The paragraph being read: package, its status, its conffile lines.
    let mut package = String::new();
    let mut installed = false;
    let mut entries: Vec<(String, String)> = Vec::new();
    let mut in_conffiles = false;
    // A blank line ends a paragraph (and one is added after the last).
    for line in status.lines().chain(std::iter::once("")) {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            if installed && !package.is_empty() {
                out.extend(
                    entries
                        .drain(..)
                        .map(|(path, md5)| (package.clone(), path, md5)),
                );
            }
            entries.clear();
            package.clear();
            installed = false;
            in_conffiles = false;
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if in_conffiles {
                if let Some(e) = conffile_line(line) {
                    entries.push(e);
                }
            }
            continue;
        }
        in_conffiles = false;
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if key.eq_ignore_ascii_case("Package") {
            package = value.to_string();
        } else if key.eq_ignore_ascii_case("Status") {
            installed = value.ends_with(" installed") || value.ends_with(" half-configured");
        } else if key.eq_ignore_ascii_case("Conffiles") {
            in_conffiles = true;
        }
    }
    out
}

/// One `Conffiles` line: (path, md5), or None when skipped.
fn conffile_line(line: &str) -> Option<(String, String)> {
    if line.trim_end().ends_with(" remove-on-upgrade") {
        return None;
    }
    let mut w = line.split_whitespace();
    let path = w.next()?.strip_prefix('/')?;
    let md5 = w.next()?;
    let hex_prefix = md5
        .bytes()
        .take_while(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        .count();
    // debsums takes the leading lowercase hex digits; nothing is a placeholder.
    (hex_prefix > 0 && !path.is_empty())
        .then(|| (format!("/{path}"), md5[..hex_prefix].to_string()))
}

/// Verifies the installed packages' conffiles against the digests of
/// `var/lib/dpkg/status`.
pub fn verify_dpkg_conffiles(root: &RootFs) -> Verified {
    let mut out = Verified::default();
    let path = crate::inventory::dpkg::STATUS;
    let text = match root.read(path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(x) => {
            out.errors.push((path.to_string(), None, x.to_string()));
            return out;
        }
    };
    let mut buf = vec![0u8; BUF];
    for (package, file, md5) in dpkg_conffiles(&text) {
        out.check(root, &mut buf, &package, file, &md5);
    }
    out
}

fn is_missing(e: &FsError) -> bool {
    matches!(e.kind, FsErrorKind::NotFound | FsErrorKind::NotRegularFile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conffiles_of_installed_packages_as_debsums_reads_them() {
        let status = "Package: a\nStatus: install ok installed\nConffiles:\n /etc/a.conf 0123abcd\n /etc/gone.conf 99ff remove-on-upgrade\n /etc/new.conf newconffile\n /etc/old.conf 77aa obsolete\nVersion: 1\n\n\
             Package: b\nStatus: deinstall ok config-files\nConffiles:\n /etc/b.conf 1111\n\n\
             Package: c\nConffiles:\n /etc/c.conf 2222\nStatus: install ok half-configured\n";
        let got = dpkg_conffiles(status);
        let want = [
            ("a", "/etc/a.conf", "0123abcd"),
            ("a", "/etc/old.conf", "77aa"),
            ("c", "/etc/c.conf", "2222"),
        ];
        assert_eq!(
            got,
            want.map(|(p, f, m)| (p.to_string(), f.to_string(), m.to_string()))
        );
    }

    #[test]
    fn md5_of_known_content() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("a"), b"abc").unwrap();
        let root = RootFs::new(t.path()).unwrap();
        assert_eq!(
            hex(&md5_of(&root, "/a", &mut [0; 7]).unwrap()),
            "900150983cd24fb0d6963f7d28e17f72"
        );
    }
}
