//! Alpine apk database: `lib/apk/db/installed`.
//!
//! Records are separated by blank lines; each line is `K:value` with a one-letter
//! key (`P` name, `V` version, `A` arch, `o` origin, `L` license).

use super::Found;
use fieldattest_protocol::report::{InventoryError, Package, PackageSource};

pub const INSTALLED: &str = "/lib/apk/db/installed";

pub fn parse_installed(text: &str, path: &str) -> Found {
    let mut found = Found::default();
    let mut rec: Vec<(u8, &str)> = Vec::new();
    let mut start = 1u64;
    let mut bad = false;
    let flush = |rec: &mut Vec<(u8, &str)>, start: u64, bad: bool, found: &mut Found| {
        if !rec.is_empty() && !bad {
            let get = |k: u8| rec.iter().find(|(kk, _)| *kk == k).map(|(_, v)| *v);
            match (get(b'P'), get(b'V')) {
                (Some(n), Some(v)) => {
                    let mut p = Package::new(n, v, PackageSource::Apk, path);
                    p.arch = get(b'A').map(str::to_string);
                    p.source_package = get(b'o').map(str::to_string);
                    p.license = get(b'L').map(str::to_string);
                    p.depends = get(b'D')
                        .map(str::trim)
                        .filter(|d| !d.is_empty())
                        .map(str::to_string);
                    p.provides = get(b'p')
                        .map(super::depends::apk_provided)
                        .unwrap_or_default();
                    p.maintainer = get(b'm').filter(|m| !m.is_empty()).map(str::to_string);
                    #[cfg(feature = "sbom-files")]
                    {
                        p.files = super::files::apk_files(rec);
                    }
                    found.packages.push(p);
                }
                _ => found
                    .errors
                    .push(err(path, start, "record without P: or V: line".into())),
            }
        }
        rec.clear();
    };
    for (i, raw) in text.split('\n').enumerate() {
        let lineno = i as u64 + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.is_empty() {
            flush(&mut rec, start, bad, &mut found);
            bad = false;
            continue;
        }
        if rec.is_empty() && !bad {
            start = lineno;
        }
        let b = line.as_bytes();
        if b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphanumeric() {
            rec.push((b[0], &line[2..]));
        } else {
            if !bad {
                found.errors.push(err(
                    path,
                    lineno,
                    format!("expected 'K:value', found {line:?}"),
                ));
            }
            bad = true;
        }
    }
    flush(&mut rec, start, bad, &mut found);
    found
}

fn err(path: &str, line: u64, message: String) -> InventoryError {
    InventoryError {
        source: "apk".into(),
        path: path.into(),
        line: Some(line),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DB: &str = "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:aarch64\nS:383152\nI:622592\nT:the musl c library\nL:MIT\no:musl\nF:lib\nR:ld-musl-aarch64.so.1\n\nP:libcrypto3\nV:3.1.4-r1\nA:aarch64\nL:Apache-2.0\no:openssl\n";

    #[test]
    fn parses_records() {
        let f = parse_installed(DB, INSTALLED);
        assert!(f.errors.is_empty());
        assert_eq!(f.packages.len(), 2);
        assert_eq!(f.packages[0].name, "musl");
        assert_eq!(f.packages[0].version, "1.2.4-r2");
        assert_eq!(f.packages[0].arch.as_deref(), Some("aarch64"));
        assert_eq!(f.packages[1].source_package.as_deref(), Some("openssl"));
        assert_eq!(f.packages[1].license.as_deref(), Some("Apache-2.0"));
    }

    #[test]
    fn bad_record_named_by_line() {
        let f = parse_installed("P:a\nV:1\n\nP:b\ngarbage\n\nP:c\n", INSTALLED);
        assert_eq!(f.packages.len(), 1);
        assert_eq!(f.errors.len(), 2);
        assert_eq!(f.errors[0].line, Some(5));
        assert_eq!(f.errors[1].line, Some(7));
    }
}
