//! dpkg database: `var/lib/dpkg/status` and the one-file-per-package
//! `var/lib/dpkg/status.d/` layout of distroless images.

use super::{control, Found};
use fieldattest_protocol::report::{InventoryError, Package, PackageSource};

pub const STATUS: &str = "/var/lib/dpkg/status";
pub const STATUS_D: &str = "/var/lib/dpkg/status.d";

/// Parses a dpkg status file. A paragraph is kept when its `Status`
/// (`<want> <flag> <state>`) says the package's files are on disk: states
/// `installed`, `triggers-pending`, `triggers-awaited`, `half-configured`,
/// `unpacked` and `half-installed`, whatever the want (`hold`, `deinstall`…)
/// and flag (`reinstreq`). `dpkg-query -W` lists these and also
/// `config-files` (only conffiles left: not inventoried); `not-installed`
/// is listed by neither. A state other than `installed` is reported in the
/// package's `state`. With `require_status` a paragraph must have a
/// `Status`; `status.d/` entries (distroless) pass `false`: most have none
/// and are installed, but one that has a `Status` is held to it.
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
        let state = match p.get("Status") {
            Some(s) => match parse_status_field(s) {
                Ok(Some(state)) => state,
                Ok(None) => continue,
                Err(msg) => {
                    found.errors.push(err(path, p.line, &msg));
                    continue;
                }
            },
            None if require_status => {
                found
                    .errors
                    .push(err(path, p.line, "paragraph without a Status field"));
                continue;
            }
            None => "installed",
        };
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
        pkg.state = (state != "installed").then(|| state.to_string());
        super::depends::control_fields(&mut pkg, |f| p.get(f));
        found.packages.push(pkg);
    }
    found
}

/// The package states whose files are on disk (dpkg's `stat` values from
/// `half-installed` up).
pub const ON_DISK_STATES: [&str; 6] = [
    "half-installed",
    "unpacked",
    "half-configured",
    "triggers-awaited",
    "triggers-pending",
    "installed",
];

/// `Status: <want> <flag> <state>` → `Some(state)` when the package's files
/// are on disk, `None` when not (`not-installed`, `config-files`), an error
/// for a value dpkg would reject.
fn parse_status_field(status: &str) -> Result<Option<&'static str>, String> {
    const WANTS: [&str; 5] = ["unknown", "install", "hold", "deinstall", "purge"];
    const FLAGS: [&str; 2] = ["ok", "reinstreq"];
    let w: Vec<&str> = status.split_whitespace().collect();
    let [want, flag, state] = w[..] else {
        return Err(format!(
            "Status {:?}: expected '<want> <flag> <state>'",
            truncate(status, 60)
        ));
    };
    if !WANTS.contains(&want) {
        return Err(format!("Status: unknown want {:?}", truncate(want, 30)));
    }
    if !FLAGS.contains(&flag) {
        return Err(format!("Status: unknown flag {:?}", truncate(flag, 30)));
    }
    match state {
        "not-installed" | "config-files" => Ok(None),
        s => match ON_DISK_STATES.iter().find(|k| **k == s) {
            Some(k) => Ok(Some(k)),
            None => Err(format!("Status: unknown state {:?}", truncate(s, 30))),
        },
    }
}

fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Files of `status.d/` that are package control files. Next to them sit
/// dpkg "info" files (`<pkg>.md5sums`, maintainer scripts…), which are not
/// read: a script could hold text that looks like a paragraph.
pub fn is_status_d_control(name: &str) -> bool {
    const INFO: [&str; 14] = [
        "md5sums",
        "preinst",
        "postinst",
        "prerm",
        "postrm",
        "conffiles",
        "config",
        "templates",
        "triggers",
        "shlibs",
        "symbols",
        "list",
        "clilibs",
        "control",
    ];
    if name.is_empty() || name.starts_with('.') {
        return false;
    }
    match name.rsplit_once('.') {
        Some((_, ext)) => !INFO.contains(&ext),
        None => true,
    }
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
        assert_eq!(names, ["libc6", "bsdutils", "held", "half"]);
        assert_eq!(f.packages[0].state, None);
        assert_eq!(f.packages[3].state.as_deref(), Some("half-installed"));
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
    fn status_d_entry_with_a_status_is_held_to_it() {
        let path = "/var/lib/dpkg/status.d/gone";
        let f = parse_status(
            "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n",
            path,
            false,
        );
        assert!(f.packages.is_empty() && f.errors.is_empty(), "{f:?}");
        let f = parse_status(
            "Package: half\nStatus: install ok half-configured\nVersion: 2\n",
            path,
            false,
        );
        assert_eq!(f.packages[0].state.as_deref(), Some("half-configured"));
    }

    #[test]
    fn every_want_flag_state_combination() {
        for want in ["unknown", "install", "hold", "deinstall", "purge"] {
            for flag in ["ok", "reinstreq"] {
                for state in ["not-installed", "config-files"]
                    .iter()
                    .chain(&ON_DISK_STATES)
                {
                    let t = format!("Package: p\nStatus: {want} {flag} {state}\nVersion: 1\n");
                    let f = parse_status(&t, STATUS, true);
                    assert!(f.errors.is_empty(), "{t}: {:?}", f.errors);
                    let on_disk = ON_DISK_STATES.contains(state);
                    assert_eq!(f.packages.len(), usize::from(on_disk), "{t}");
                    if on_disk {
                        let want_state = (*state != "installed").then_some(*state);
                        assert_eq!(f.packages[0].state.as_deref(), want_state);
                    }
                }
            }
        }
    }

    #[test]
    fn malformed_status_values_are_errors_with_the_line() {
        for bad in [
            "install ok",
            "install ok installed extra",
            "instal ok installed",
            "install okay installed",
            "install ok installd",
            "",
        ] {
            let t = format!("Package: a\nStatus: install ok installed\nVersion: 1\n\nPackage: p\nStatus: {bad}\nVersion: 1\n");
            let f = parse_status(&t, STATUS, true);
            assert_eq!(f.errors.len(), 1, "{bad:?}: {:?}", f.errors);
            assert_eq!(f.errors[0].line, Some(5));
            assert_eq!(f.packages.len(), 1);
            assert!(f.errors[0].message.contains("Status"));
        }
    }

    #[test]
    fn only_control_files_of_status_d_are_read() {
        for name in ["tzdata", "libc6", "python3.11", "libgtk2.0-0", "base-files"] {
            assert!(is_status_d_control(name), "{name}");
        }
        for name in [
            "tzdata.md5sums",
            "tzdata.preinst",
            "tzdata.postinst",
            "tzdata.prerm",
            "tzdata.postrm",
            "tzdata.conffiles",
            "tzdata.triggers",
            "libc6.shlibs",
            "libc6.symbols",
            "tzdata.list",
            ".hidden",
            "",
        ] {
            assert!(!is_status_d_control(name), "{name}");
        }
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
