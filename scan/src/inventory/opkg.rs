//! opkg database (Yocto `package_ipk` images, OpenWrt).
//!
//! The status file is found at `var/lib/opkg/status` or `usr/lib/opkg/status`,
//! or where `option status_file` / `option lists_dir` in `/etc/opkg.conf` or
//! `/etc/opkg/*.conf` put it. opkg's status file does not keep the recipe
//! name; Yocto's per-package control file (`<info_dir>/<pkg>.control`) does, in
//! its `OE:` field, and that is what makes the `pkg:yocto` purl correct.

use super::{control, Found};
use fieldattest_protocol::report::{InventoryError, Package, PackageSource};

/// Default status file locations, in order of preference.
pub const DEFAULT_STATUS: [&str; 2] = ["/var/lib/opkg/status", "/usr/lib/opkg/status"];

/// Status-file candidates named by an opkg configuration file.
pub fn status_paths_from_conf(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut w = line.split_whitespace();
        if w.next() != Some("option") {
            continue;
        }
        match (w.next(), w.next()) {
            (Some("status_file"), Some(p)) => out.push(p.to_string()),
            (Some("lists_dir"), Some(p)) => {
                // `lists_dir ext /var/opkg-lists` (OpenWrt) has a type word first.
                let p = if p == "ext" { w.next().unwrap_or(p) } else { p };
                if let Some((parent, _)) = p.trim_end_matches('/').rsplit_once('/') {
                    let parent = if parent.is_empty() { "" } else { parent };
                    out.push(format!("{parent}/status"));
                }
            }
            _ => {}
        }
    }
    out
}

/// Parses an opkg status file; keeps `<want> <flag> installed` entries.
pub fn parse_status(text: &str, path: &str) -> Found {
    let (paras, errs) = control::parse(text);
    let mut found = Found::default();
    for e in errs {
        found.errors.push(err(path, e.line, e.message));
    }
    for p in paras {
        let installed = p
            .get("Status")
            .map(|s| s.split_whitespace().nth(2) == Some("installed"))
            .unwrap_or(false);
        if !installed {
            continue;
        }
        let (Some(name), Some(version)) = (p.get("Package"), p.get("Version")) else {
            found.errors.push(err(
                path,
                p.line,
                "installed package without Package or Version field".into(),
            ));
            continue;
        };
        let mut pkg = Package::new(name, version, PackageSource::Opkg, path);
        pkg.arch = p
            .get("Architecture")
            .filter(|a| !a.is_empty())
            .map(str::to_string);
        // Usually only in the package's control file (see apply_control).
        pkg.license = p
            .get("License")
            .filter(|l| !l.is_empty())
            .map(str::to_string);
        super::depends::control_fields(&mut pkg, |f| p.get(f));
        found.packages.push(pkg);
    }
    found
}

/// Fields of a package's own control file that the status file lacks:
/// the Yocto recipe (`OE:`) and `License:`.
pub fn apply_control(pkg: &mut Package, control_text: &str) {
    let (paras, _) = control::parse(control_text);
    if let Some(p) = paras.first() {
        if let Some(oe) = p.get("OE").filter(|v| !v.is_empty()) {
            pkg.source_package = Some(oe.to_string());
            pkg.source_version = Some(yocto_pv(&pkg.version).to_string());
        }
        if let Some(l) = p.get("License").filter(|v| !v.is_empty()) {
            pkg.license = Some(l.to_string());
        }
    }
}

/// Yocto package version `[epoch:]PV-PR` → `PV`.
pub fn yocto_pv(version: &str) -> &str {
    let v = version.split_once(':').map(|(_, r)| r).unwrap_or(version);
    match v.rsplit_once('-') {
        Some((pv, pr))
            if pr.starts_with('r') && pr[1..].starts_with(|c: char| c.is_ascii_digit()) =>
        {
            pv
        }
        _ => v,
    }
}

fn err(path: &str, line: u64, message: String) -> InventoryError {
    InventoryError {
        source: "opkg".into(),
        path: path.into(),
        line: Some(line),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_yocto_status() {
        let t = "Package: busybox\nVersion: 1.36.1-r0\nDepends: libc6 (>= 2.39)\nStatus: install user installed\nArchitecture: cortexa53\nInstalled-Time: 1700000000\n\nPackage: gone\nVersion: 1\nStatus: deinstall ok not-installed\nArchitecture: all\n\nPackage: libc6\nVersion: 2.39+git0+abc-r0\nStatus: install ok installed\nArchitecture: cortexa53\n";
        let f = parse_status(t, "/var/lib/opkg/status");
        assert!(f.errors.is_empty());
        let names: Vec<_> = f
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            names,
            [("busybox", "1.36.1-r0"), ("libc6", "2.39+git0+abc-r0")]
        );
        assert_eq!(f.packages[0].arch.as_deref(), Some("cortexa53"));
        assert_eq!(f.packages[0].source, PackageSource::Opkg);
        // Its dependencies, resolved to the installed libc6.
        assert_eq!(f.packages[0].depends.as_deref(), Some("libc6 (>= 2.39)"));
        let mut ps = f.packages;
        crate::inventory::depends::resolve(&mut ps, PackageSource::Opkg);
        assert_eq!(ps[0].depends_on, ["libc6"]);
        assert!(ps[0].unresolved.is_empty());
    }

    #[test]
    fn control_file_gives_recipe_and_license() {
        let mut p = parse_status(
            "Package: libc6\nVersion: 2.39+git0-r0\nStatus: install ok installed\nArchitecture: cortexa53\n",
            "/var/lib/opkg/status",
        )
        .packages
        .remove(0);
        apply_control(&mut p, "Package: libc6\nVersion: 2.39+git0-r0\nLicense: GPL-2.0-only & LGPL-2.1-or-later\nOE: glibc\nSource: glibc_2.39.bb\n");
        assert_eq!(p.source_package.as_deref(), Some("glibc"));
        assert_eq!(p.source_version.as_deref(), Some("2.39+git0"));
        assert_eq!(
            p.license.as_deref(),
            Some("GPL-2.0-only & LGPL-2.1-or-later")
        );
    }

    #[test]
    fn conf_overrides() {
        let c = "src/gz base http://x\ndest root /\noption lists_dir ext /var/opkg-lists\noption status_file /data/opkg/status\noption lists_dir /srv/opkg/lists\n";
        assert_eq!(
            status_paths_from_conf(c),
            ["/var/status", "/data/opkg/status", "/srv/opkg/status"]
        );
    }

    #[test]
    fn pv_strips_epoch_and_pr() {
        assert_eq!(yocto_pv("1.36.1-r0"), "1.36.1");
        assert_eq!(yocto_pv("1:2.3-r12"), "2.3");
        assert_eq!(yocto_pv("2.0-beta"), "2.0-beta");
    }

    #[test]
    fn garbage_is_an_error_with_line() {
        let f = parse_status(
            "Package: a\nnot a field\nStatus: install ok installed\nVersion: 1\n",
            "/usr/lib/opkg/status",
        );
        assert!(f.packages.is_empty());
        assert_eq!(f.errors[0].line, Some(2));
        assert_eq!(f.errors[0].source, "opkg");
    }
}
