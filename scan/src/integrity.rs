//! Package file integrity (ISSUE22, first slice: dpkg; work in progress,
//! not yet a rule): every file a dpkg `var/lib/dpkg/info/<pkg>.md5sums`
//! lists is hashed and compared with the MD5 dpkg recorded at install —
//! the files `debsums -c` reports as changed, and those it reports missing.
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

/// MD5 of a regular file in the tree, read in [`BUF`]-sized pieces.
pub fn md5_of(root: &RootFs, path: &str) -> Result<[u8; 16], FsError> {
    let (mut file, _) = root.open(path)?;
    let mut h = Md5::new();
    let mut buf = vec![0u8; BUF];
    loop {
        let n = file
            .read(&mut buf)
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
            let state = match md5_of(root, &f.path) {
                Ok(d) if hex(&d) == f.hex => {
                    out.checked += 1;
                    continue;
                }
                Ok(_) => State::Changed,
                Err(x) if is_missing(&x) => State::Missing,
                Err(x) => State::Unreadable(x.to_string()),
            };
            out.checked += 1;
            out.findings.push(Finding {
                package: package.to_string(),
                path: f.path,
                state,
            });
        }
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
    fn md5_of_known_content() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("a"), b"abc").unwrap();
        let root = RootFs::new(t.path()).unwrap();
        assert_eq!(
            hex(&md5_of(&root, "/a").unwrap()),
            "900150983cd24fb0d6963f7d28e17f72"
        );
    }
}
