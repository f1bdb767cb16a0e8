//! Software identified from binaries, for images without a package database
//! (Buildroot, hand-made firmware): BusyBox, glibc or musl, OpenSSL, OpenSSH,
//! Dropbear and the kernel. Versions are read from the strings compiled into
//! the files, streamed with bounded memory.

use super::Found;
use crate::root::{EntryKind, RootFs};
use fieldattest_protocol::report::{InventoryError, Package, PackageSource};
use std::io::Read;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// Longest string run kept; longer runs are cut (version strings are short).
const MAX_RUN: usize = 256;
/// Shortest run reported, as `strings(1)`.
const MIN_RUN: usize = 4;
/// Bytes scanned per file at most.
const MAX_SCAN: u64 = 64 * 1024 * 1024;

/// Calls `f` with each printable ASCII run (at least 4 bytes) of `r`, until `f`
/// breaks or the input ends. Memory use is bounded by `MAX_RUN` plus a buffer.
pub fn for_each_string<R: Read, T>(
    mut r: R,
    mut f: impl FnMut(&str) -> ControlFlow<T>,
) -> std::io::Result<Option<T>> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut run: Vec<u8> = Vec::with_capacity(MAX_RUN);
    let mut overflow = false;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        for &b in &buf[..n] {
            if (0x20..0x7f).contains(&b) || b == b'\t' {
                if run.len() < MAX_RUN {
                    run.push(b);
                } else {
                    overflow = true;
                }
            } else {
                if run.len() >= MIN_RUN && !overflow {
                    // Only printable ASCII was pushed: always valid UTF-8.
                    if let ControlFlow::Break(t) = f(std::str::from_utf8(&run).unwrap_or_default())
                    {
                        return Ok(Some(t));
                    }
                }
                run.clear();
                overflow = false;
            }
        }
    }
    if run.len() >= MIN_RUN && !overflow {
        if let ControlFlow::Break(t) = f(std::str::from_utf8(&run).unwrap_or_default()) {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

/// What a probe looks for in one string; returns the version.
pub type Matcher = fn(&str) -> Option<String>;

fn is_version_like(v: &str) -> bool {
    v.starts_with(|c: char| c.is_ascii_digit())
        && v.contains('.')
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' || c == '+')
}

/// `BusyBox v1.36.1 (2024-01-01 00:00:00 UTC)` → `1.36.1`.
pub fn match_busybox(s: &str) -> Option<String> {
    let i = s.find("BusyBox v")?;
    let v = s[i + 9..].split_whitespace().next()?;
    is_version_like(v).then(|| v.to_string())
}

/// `GNU C Library (Debian GLIBC 2.36-9) stable release version 2.36.` → `2.36`.
pub fn match_glibc(s: &str) -> Option<String> {
    if !s.starts_with("GNU C Library") {
        return None;
    }
    let i = s.find("release version ")?;
    let v = s[i + 16..]
        .split(|c: char| c == ',' || c.is_whitespace())
        .next()?;
    let v = v.trim_end_matches('.');
    is_version_like(v).then(|| v.to_string())
}

/// musl keeps its version as a bare `1.2.4` string.
pub fn match_musl(s: &str) -> Option<String> {
    let mut parts = s.split('.');
    let ok = s.starts_with("1.")
        && s.len() <= 12
        && parts.clone().count() == 3
        && parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    ok.then(|| s.to_string())
}

/// `OpenSSL 3.0.15 3 Sep 2024` → `3.0.15`; `OpenSSL 1.1.1w  11 Sep 2023` → `1.1.1w`.
pub fn match_openssl(s: &str) -> Option<String> {
    let rest = s.strip_prefix("OpenSSL ")?;
    let mut w = rest.split_whitespace();
    let v = w.next()?;
    // A date follows the version in the real banner; it tells it from messages.
    let day = w.next()?;
    let ok =
        is_version_like(v) && v.split('.').count() == 3 && day.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| v.to_string())
}

/// `OpenSSH_9.2p1 Debian-2+deb12u3` → `9.2p1` (compat patterns with `*` are skipped).
pub fn match_openssh(s: &str) -> Option<String> {
    let rest = s.strip_prefix("OpenSSH_")?;
    let v = rest.split_whitespace().next()?;
    let ok = is_version_like(v) && !v.contains('*') && !rest.contains(['*', ',']);
    ok.then(|| v.to_string())
}

/// `SSH-2.0-dropbear_2022.83` → `2022.83`.
pub fn match_dropbear(s: &str) -> Option<String> {
    let i = s.find("SSH-2.0-dropbear_")?;
    let v = s[i + 17..].split_whitespace().next()?;
    is_version_like(v).then(|| v.to_string())
}

/// One thing to identify: candidate files (directories are searched for names
/// starting with a prefix) and the matcher.
struct Probe {
    name: &'static str,
    files: &'static [&'static str],
    lib_prefixes: &'static [&'static str],
    matcher: Matcher,
}

const LIB_DIRS: [&str; 4] = ["/lib", "/lib64", "/usr/lib", "/usr/lib64"];

const PROBES: &[Probe] = &[
    Probe {
        name: "busybox",
        files: &[
            "/bin/busybox",
            "/usr/bin/busybox",
            "/sbin/busybox",
            "/usr/sbin/busybox",
            "/bin/busybox.nosuid",
            "/bin/busybox.suid",
        ],
        lib_prefixes: &[],
        matcher: match_busybox,
    },
    Probe {
        name: "glibc",
        files: &[],
        lib_prefixes: &["libc.so.6", "libc-2."],
        matcher: match_glibc,
    },
    Probe {
        name: "musl",
        files: &[],
        lib_prefixes: &["ld-musl-", "libc.musl-"],
        matcher: match_musl,
    },
    Probe {
        name: "openssl",
        files: &["/usr/bin/openssl", "/bin/openssl"],
        lib_prefixes: &["libcrypto.so", "libssl.so"],
        matcher: match_openssl,
    },
    Probe {
        name: "openssh",
        files: &[
            "/usr/sbin/sshd",
            "/sbin/sshd",
            "/usr/bin/ssh",
            "/usr/libexec/sshd-session",
        ],
        lib_prefixes: &[],
        matcher: match_openssh,
    },
    Probe {
        name: "dropbear",
        files: &[
            "/usr/sbin/dropbear",
            "/usr/bin/dropbearmulti",
            "/usr/sbin/dropbearmulti",
            "/sbin/dropbear",
        ],
        lib_prefixes: &[],
        matcher: match_dropbear,
    },
];

/// Library files in the standard and multiarch directories whose names start
/// with one of `prefixes`, in a stable order.
fn library_candidates(root: &RootFs, prefixes: &[&str]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for d in LIB_DIRS {
        dirs.push(PathBuf::from(d));
        if let Ok(ents) = root.read_dir(d) {
            for e in ents {
                let n = e.name.to_string_lossy();
                if (e.kind == EntryKind::Dir || e.kind == EntryKind::Symlink)
                    && n.contains("-linux-")
                {
                    dirs.push(Path::new(d).join(&e.name));
                }
            }
        }
    }
    let mut out = Vec::new();
    for d in dirs {
        let Ok(ents) = root.read_dir(&d) else {
            continue;
        };
        for e in ents {
            let n = e.name.to_string_lossy();
            if prefixes.iter().any(|p| n.starts_with(p)) && !n.ends_with(".hmac") {
                let p = d.join(&e.name);
                if root.is_file(&p) && !out.contains(&p) {
                    out.push(p);
                }
            }
        }
    }
    out
}

/// Identifies software from binaries. Files that exist but cannot be read are
/// reported; files that are absent are not.
pub fn identify(root: &RootFs) -> Found {
    let mut found = Found::default();
    for probe in PROBES {
        let mut candidates: Vec<PathBuf> = probe
            .files
            .iter()
            .map(PathBuf::from)
            .filter(|p| root.is_file(p))
            .collect();
        candidates.extend(library_candidates(root, probe.lib_prefixes));
        for path in candidates {
            let shown = crate::root::display_path(&path);
            let hit = root
                .open(&path)
                .map_err(|e| e.to_string())
                .and_then(|(f, _)| {
                    for_each_string(f.take(MAX_SCAN), |s| match (probe.matcher)(s) {
                        Some(v) => ControlFlow::Break(v),
                        None => ControlFlow::Continue(()),
                    })
                    .map_err(|e| format!("{shown}: {e}"))
                });
            match hit {
                Ok(Some(version)) => {
                    found.packages.push(Package::new(
                        probe.name,
                        version,
                        PackageSource::Binary,
                        shown,
                    ));
                    break;
                }
                Ok(None) => {}
                Err(message) => found.errors.push(InventoryError {
                    source: "binary".into(),
                    path: shown,
                    line: None,
                    message,
                }),
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_split_on_non_printables_and_bounded() {
        let mut data = b"\x00\x01abc\x00abcd\x7fhello world\xff".to_vec();
        data.extend(vec![b'x'; 1000]);
        data.push(0);
        let mut seen = Vec::new();
        let r: Option<()> = for_each_string(&data[..], |s| {
            seen.push(s.to_string());
            ControlFlow::Continue(())
        })
        .unwrap();
        assert!(r.is_none());
        assert_eq!(seen, ["abcd", "hello world"]);
    }

    #[test]
    fn matchers_take_real_banners() {
        assert_eq!(
            match_busybox("BusyBox v1.36.1 (2024-03-22 12:00:00 UTC)").as_deref(),
            Some("1.36.1")
        );
        assert_eq!(
            match_busybox("BusyBox is copyrighted by many authors"),
            None
        );
        assert_eq!(
            match_glibc("GNU C Library (Debian GLIBC 2.36-9+deb12u7) stable release version 2.36.")
                .as_deref(),
            Some("2.36")
        );
        assert_eq!(
            match_glibc("GNU C Library (GNU libc) release release version 2.39").as_deref(),
            Some("2.39")
        );
        assert_eq!(match_musl("1.2.4").as_deref(), Some("1.2.4"));
        assert_eq!(match_musl("1.2"), None);
        assert_eq!(match_musl("2.36.0"), None);
        assert_eq!(
            match_openssl("OpenSSL 3.0.15 3 Sep 2024").as_deref(),
            Some("3.0.15")
        );
        assert_eq!(
            match_openssl("OpenSSL 1.1.1w  11 Sep 2023").as_deref(),
            Some("1.1.1w")
        );
        assert_eq!(match_openssl("OpenSSL X509 error"), None);
        assert_eq!(match_openssl("OpenSSL 3.0 compatible"), None);
        assert_eq!(
            match_openssh("OpenSSH_9.2p1 Debian-2+deb12u3").as_deref(),
            Some("9.2p1")
        );
        assert_eq!(match_openssh("OpenSSH_9.6"), Some("9.6".into()));
        assert_eq!(match_openssh("OpenSSH_2.3.0*,OpenSSH_2.5*"), None);
        assert_eq!(match_openssh("OpenSSH_7.4*"), None);
        assert_eq!(
            match_dropbear("SSH-2.0-dropbear_2022.83").as_deref(),
            Some("2022.83")
        );
    }
}
