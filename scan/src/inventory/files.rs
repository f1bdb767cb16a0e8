//! The files of each package with the digest its database records
//! (ISSUE19, feature `sbom-files`): dpkg `var/lib/dpkg/info/<pkg>.md5sums`
//! (MD5), apk `F:`/`R:`/`Z:` (`Q1` = SHA-1, `Q2` = SHA-256, base64), rpm
//! `FILEDIGESTS` by `FILEDIGESTALGO` (`rpm::file_hashes`). An algorithm is
//! recorded as what it is — an MD5 is never presented as a SHA-256. For the
//! SBOM only (nested `file` components); not part of the report.
//!
//! Pure parsers plus one reader over the root view; bounded: a file list
//! of at most [`MAX_LIST`] bytes, lines that are not `<hex>  <path>`
//! reported by line and skipped.

use super::Found;
use crate::root::RootFs;
use fieldattest_protocol::report::{FileHash, InventoryError, PackageSource};

/// Largest md5sums file read (bytes).
pub const MAX_LIST: u64 = 8 << 20;

/// Parses a dpkg `md5sums` file: `<32 hex>  <path relative to />` per line.
/// Returns the files and (line, message) for each line that is not one.
pub fn parse_md5sums(text: &str) -> (Vec<FileHash>, Vec<(u64, String)>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let ok = line.split_once("  ").filter(|(h, p)| {
            h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()) && !p.is_empty()
        });
        match ok {
            Some((h, p)) => {
                let path = format!("/{}", p.trim_start_matches('/'));
                // A path listed twice is one file (its first digest).
                if seen.insert(path.clone()) {
                    files.push(FileHash {
                        path,
                        alg: "MD5",
                        hex: h.to_ascii_lowercase(),
                    });
                }
            }
            None => errors.push((
                i as u64 + 1,
                "expected '<32 hex digits>  <path>'".to_string(),
            )),
        }
    }
    (files, errors)
}

/// An apk checksum (`Q1` + base64 SHA-1, `Q2` + base64 SHA-256) as
/// (algorithm, hex); anything else (the old hex MD5 form included) → None.
pub fn apk_checksum(z: &str) -> Option<(&'static str, String)> {
    use base64ct::{Base64, Encoding};
    let (alg, len, b64) = match z.get(..2)? {
        "Q1" => ("SHA-1", 20, &z[2..]),
        "Q2" => ("SHA-256", 32, &z[2..]),
        _ => return None,
    };
    let raw = Base64::decode_vec(b64).ok()?;
    (raw.len() == len).then(|| (alg, fieldattest_protocol::hex::hex(&raw)))
}

/// The files of an apk record from its lines in order: `F:` sets the
/// directory, `R:` names a file in it, the `Z:` after an `R:` is that
/// file's checksum.
pub fn apk_files(rec: &[(u8, &str)]) -> Vec<FileHash> {
    let mut out = Vec::new();
    let mut dir = "";
    let mut file: Option<String> = None;
    for (k, v) in rec {
        match k {
            b'F' => {
                dir = v;
                file = None;
            }
            b'R' => file = Some(format!("/{}/{}", dir.trim_matches('/'), v).replace("//", "/")),
            b'Z' => {
                if let (Some(path), Some((alg, hex))) = (file.take(), apk_checksum(v)) {
                    out.push(FileHash { path, alg, hex });
                }
            }
            _ => {}
        }
    }
    out
}

/// Sets the files of every dpkg package from its `md5sums` (Multi-Arch
/// `same` packages: `<name>:<arch>.md5sums`); a package without one has no
/// files recorded (dpkg writes none for packages without files).
pub fn read_dpkg(root: &RootFs, f: &mut Found) {
    for p in f
        .packages
        .iter_mut()
        .filter(|p| p.source == PackageSource::Dpkg)
    {
        let key = p.binary_name.as_deref().unwrap_or(&p.name);
        let path = format!("/var/lib/dpkg/info/{key}.md5sums");
        let Ok(bytes) = root.read_limited(&path, MAX_LIST) else {
            continue;
        };
        let (files, errors) = parse_md5sums(&String::from_utf8_lossy(&bytes));
        p.files = files;
        for (line, message) in errors.into_iter().take(16) {
            f.errors.push(InventoryError {
                source: "dpkg".into(),
                path: path.clone(),
                line: Some(line),
                message,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5sums_lines_and_errors() {
        let (f, e) = parse_md5sums(
            "d41d8cd98f00b204e9800998ecf8427e  usr/bin/true\nnot a line\n\
             0123456789ABCDEF0123456789abcdef  usr/share/doc/x y/z\nabc  short\n",
        );
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].path, "/usr/bin/true");
        assert_eq!(f[0].alg, "MD5");
        assert_eq!(f[1].hex, "0123456789abcdef0123456789abcdef");
        assert_eq!(f[1].path, "/usr/share/doc/x y/z");
        assert_eq!(e.iter().map(|x| x.0).collect::<Vec<_>>(), [2, 4]);
    }

    #[test]
    fn apk_checksums_keep_their_algorithm() {
        // SHA-1 of the empty string, as apk writes it.
        assert_eq!(
            apk_checksum("Q12jmj7l5rSw0yVb/vlWAYkK/YBwk="),
            Some(("SHA-1", "da39a3ee5e6b4b0d3255bfef95601890afd80709".into()))
        );
        assert_eq!(
            apk_checksum("Q247DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
            Some((
                "SHA-256",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into()
            ))
        );
        assert_eq!(apk_checksum("Q1short"), None);
        assert_eq!(apk_checksum("d41d8cd98f00b204e9800998ecf8427e"), None);
        let rec = [
            (b'P', "musl"),
            (b'F', "lib"),
            (b'R', "ld-musl-aarch64.so.1"),
            (b'a', "0:0:755"),
            (b'Z', "Q12jmj7l5rSw0yVb/vlWAYkK/YBwk="),
            (b'R', "no-checksum"),
            (b'F', "usr/lib"),
            (b'R', "libc.so"),
            (b'Z', "Q12jmj7l5rSw0yVb/vlWAYkK/YBwk="),
        ];
        let files = apk_files(&rec);
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["/lib/ld-musl-aarch64.so.1", "/usr/lib/libc.so"]);
    }
}
