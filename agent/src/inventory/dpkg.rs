//! dpkg database: `var/lib/dpkg/status` and the one-file-per-package
//! `var/lib/dpkg/status.d/` layout of distroless images.

use super::{control, Found};
use fieldattest_protocol::report::{InventoryError, Package, PackageSource};

pub const STATUS: &str = "/var/lib/dpkg/status";
pub const STATUS_D: &str = "/var/lib/dpkg/status.d";

/// Parses a dpkg status file. With `require_status`, only paragraphs whose
/// `Status` is `<want> ok installed` are kept (this includes `hold` and
/// `deinstall` wants: the files are still on disk, as `dpkg-query -W` shows);
/// `status.d` files carry no `Status` and pass `false`.
pub fn parse_status(text: &str, path: &str, require_status: bool) -> Found {
    let (paras, errs) = control::parse(text);
    let mut found = Found::default();
    for e in errs {
        found.errors.push(InventoryError {
            source: "dpkg".into(),
            path: path.into(),
            line: Some(e.line),
            message: e.message,
        });
    }
    for p in paras {
        if require_status {
            match p.get("Status") {
                Some(s) if is_installed(s) => {}
                Some(_) => continue,
                None => {
                    found
                        .errors
                        .push(err(path, p.line, "paragraph without a Status field"));
                    continue;
                }
            }
        }
        let (Some(name), Some(version)) = (p.get("Package"), p.get("Version")) else {
            found.errors.push(err(
                path,
                p.line,
                "installed package without Package or Version field",
            ));
            continue;
        };
        let arch = p.get("Architecture").filter(|a| !a.is_empty());
        let multi_arch = p.get("Multi-Arch").map(str::to_string);
        let binary_name = match (multi_arch.as_deref(), arch) {
            (Some("same"), Some(a)) => Some(format!("{name}:{a}")),
            _ => None,
        };
        let (source_package, source_version) = match p.get("Source") {
            Some(s) => split_source(s),
            None => (None, None),
        };
        let mut pkg = Package::new(name, version, PackageSource::Dpkg, path);
        pkg.arch = arch.map(str::to_string);
        pkg.binary_name = binary_name;
        pkg.multi_arch = multi_arch;
        pkg.source_package = source_package;
        pkg.source_version = source_version;
        found.packages.push(pkg);
    }
    found
}

fn is_installed(status: &str) -> bool {
    let mut w = status.split_whitespace();
    let (_want, flag, state) = (w.next(), w.next(), w.next());
    flag == Some("ok") && state == Some("installed")
}

/// `glibc (2.36-9)` → (`glibc`, `2.36-9`).
pub fn split_source(s: &str) -> (Option<String>, Option<String>) {
    let s = s.trim();
    match s.split_once('(') {
        Some((n, v)) => (
            Some(n.trim().to_string()).filter(|n| !n.is_empty()),
            Some(v.trim_end_matches(')').trim().to_string()).filter(|v| !v.is_empty()),
        ),
        None => (Some(s.to_string()).filter(|n| !n.is_empty()), None),
    }
}

fn err(path: &str, line: u64, msg: &str) -> InventoryError {
    InventoryError {
        source: "dpkg".into(),
        path: path.into(),
        line: Some(line),
        message: msg.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS_TEXT: &str = "\
Package: libc6
Status: install ok installed
Priority: optional
Multi-Arch: same
Architecture: arm64
Source: glibc
Version: 2.36-9+deb12u7
Description: GNU C Library
 Contains the standard libraries.

Package: bsdutils
Status: install ok installed
Architecture: arm64
Multi-Arch: foreign
Source: util-linux (2.38.1-5+deb12u1)
Version: 1:2.38.1-5+deb12u1

Package: removed-pkg
Status: deinstall ok config-files
Architecture: arm64
Version: 1.0

Package: purged
Status: purge ok not-installed
Architecture: arm64

Package: held
Status: hold ok installed
Architecture: all
Version: 3~rc1

Package: half
Status: install reinstreq half-installed
Architecture: arm64
Version: 2
";

    #[test]
    fn keeps_only_installed_with_epoch_source_and_multiarch() {
        let f = parse_status(STATUS_TEXT, STATUS, true);
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        let names: Vec<_> = f.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["libc6", "bsdutils", "held"]);
        let libc = &f.packages[0];
        assert_eq!(libc.version, "2.36-9+deb12u7");
        assert_eq!(libc.arch.as_deref(), Some("arm64"));
        assert_eq!(libc.binary_name.as_deref(), Some("libc6:arm64"));
        assert_eq!(libc.source_package.as_deref(), Some("glibc"));
        assert_eq!(libc.source_version, None);
        let bsd = &f.packages[1];
        assert_eq!(bsd.version, "1:2.38.1-5+deb12u1");
        assert_eq!(bsd.binary_name, None);
        assert_eq!(bsd.multi_arch.as_deref(), Some("foreign"));
        assert_eq!(bsd.source_package.as_deref(), Some("util-linux"));
        assert_eq!(bsd.source_version.as_deref(), Some("2.38.1-5+deb12u1"));
        assert_eq!(f.packages[2].arch.as_deref(), Some("all"));
    }

    #[test]
    fn malformed_paragraph_is_reported_with_line_and_others_survive() {
        let t = "Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n\nPackage: b\nStatus install ok installed\nVersion: 2\n\nPackage: c\nStatus: install ok installed\nArchitecture: amd64\n";
        let f = parse_status(t, STATUS, true);
        assert_eq!(f.packages.len(), 1);
        assert_eq!(f.errors.len(), 2);
        assert_eq!(f.errors[0].line, Some(7));
        assert_eq!(f.errors[0].path, STATUS);
        assert_eq!(f.errors[1].line, Some(10));
        assert!(f.errors[1].message.contains("Version"));
    }

    #[test]
    fn status_d_entries_need_no_status_field() {
        let f = parse_status(
            "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n",
            "/var/lib/dpkg/status.d/tzdata",
            false,
        );
        assert_eq!(f.packages.len(), 1);
        let f = parse_status("Package: tzdata\nVersion: 1\n", STATUS, true);
        assert!(f.packages.is_empty());
        assert_eq!(f.errors.len(), 1);
    }

    #[test]
    fn split_source_forms() {
        assert_eq!(split_source("glibc"), (Some("glibc".into()), None));
        assert_eq!(
            split_source("gcc-12 (12.2.0-14)"),
            (Some("gcc-12".into()), Some("12.2.0-14".into()))
        );
    }
}
