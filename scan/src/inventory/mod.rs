//! Software inventory. Each source has its own pure parser module; this module
//! finds the databases inside the root, feeds them to the parsers and merges
//! the results. A source that fails adds an [`InventoryError`] and the others
//! still report.
//!
//! The device's keys ([`keys`]), what it starts ([`services`]) and its
//! listening sockets ([`listeners`]) are read through the rules' scan context
//! ([`crate::rules::Ctx`]), which computes each once per scan for the rules and
//! the report alike.

pub mod apk;
pub mod binaries;
pub mod control;
pub mod copyright;
pub mod cpe;
pub mod depends;
pub mod dpkg;
#[cfg(feature = "sbom-files")]
pub mod files;
pub mod hardware;
pub mod kernel;
pub mod keys;
pub mod license;
pub mod listeners;
pub mod opkg;
pub mod os;
pub mod purl;
pub mod rpm;
pub mod services;
pub mod yocto_record;

use crate::root::{display_path, EntryKind, RootFs};
use fieldattest_protocol::report::{Device, Inventory, InventoryError, Package, PackageSource};
use std::path::Path;

/// Packages and errors from one source.
#[derive(Debug, Default)]
pub struct Found {
    pub packages: Vec<Package>,
    pub errors: Vec<InventoryError>,
}

impl Found {
    fn merge(&mut self, other: Found) {
        self.packages.extend(other.packages);
        self.errors.extend(other.errors);
    }
}

fn fs_error(source: &str, e: &crate::root::FsError) -> InventoryError {
    InventoryError {
        source: source.into(),
        path: e.path.clone(),
        line: None,
        message: e.to_string(),
    }
}

/// Reads `path` as text for `source`; `None` when absent, an error when unreadable.
fn read_text(
    root: &RootFs,
    source: &str,
    path: &str,
    errors: &mut Vec<InventoryError>,
) -> Option<String> {
    match root.read(path) {
        Ok(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        Err(e) if e.is_not_found() => None,
        Err(e) => {
            errors.push(fs_error(source, &e));
            None
        }
    }
}

fn collect_dpkg(root: &RootFs, dbs: &mut Vec<String>) -> Found {
    let mut f = Found::default();
    if let Some(text) = read_text(root, "dpkg", dpkg::STATUS, &mut f.errors) {
        dbs.push(dpkg::STATUS.into());
        f.merge(dpkg::parse_status(&text, dpkg::STATUS, true));
    }

    if let Ok(ents) = root.read_dir(dpkg::STATUS_D) {
        dbs.push(dpkg::STATUS_D.into());
        for e in ents {
            let name = e.name.to_string_lossy();
            if !dpkg::is_status_d_control(&name) || e.kind == EntryKind::Dir {
                continue;
            }
            let path = display_path(&Path::new(dpkg::STATUS_D).join(&e.name));
            if let Some(text) = read_text(root, "dpkg", &path, &mut f.errors) {
                f.merge(dpkg::parse_status(&text, &path, false));
            }
        }
    }
    #[cfg(feature = "sbom-files")]
    files::read_dpkg(root, &mut f);
    f
}

fn collect_opkg(root: &RootFs, dbs: &mut Vec<String>) -> Found {
    let mut f = Found::default();
    let mut candidates: Vec<String> = Vec::new();
    let mut confs: Vec<String> = vec!["/etc/opkg.conf".into()];
    if let Ok(ents) = root.read_dir("/etc/opkg") {
        for e in ents {
            if e.name.to_string_lossy().ends_with(".conf") {
                confs.push(display_path(&Path::new("/etc/opkg").join(&e.name)));
            }
        }
    }
    for c in &confs {
        if let Some(text) = read_text(root, "opkg", c, &mut f.errors) {
            candidates.extend(opkg::status_paths_from_conf(&text));
        }
    }
    candidates.extend(opkg::DEFAULT_STATUS.iter().map(|s| s.to_string()));
    // The same file may be reachable under two names (usr/lib -> var/lib links).
    let mut seen = Vec::new();
    for path in candidates {
        let host = match root.host_path_of_file(&path) {
            Ok(h) => h,
            Err(e) if e.is_not_found() => continue,
            Err(e) => {
                f.errors.push(fs_error("opkg", &e));
                continue;
            }
        };
        if seen.contains(&host) {
            continue;
        }
        seen.push(host);
        if let Some(text) = read_text(root, "opkg", &path, &mut f.errors) {
            dbs.push(path.clone());
            let mut found = opkg::parse_status(&text, &path);
            let info_dir = Path::new(&path).parent().map(|p| p.join("info"));
            if let Some(info) = info_dir {
                for p in &mut found.packages {
                    let ctl = info.join(format!("{}.control", p.name));
                    if let Ok(b) = root.read_limited(&ctl, 1024 * 1024) {
                        opkg::apply_control(p, &String::from_utf8_lossy(&b));
                    }
                }
            }
            f.merge(found);
        }
    }
    f
}

fn collect_apk(root: &RootFs, dbs: &mut Vec<String>) -> Found {
    let mut f = Found::default();
    if let Some(text) = read_text(root, "apk", apk::INSTALLED, &mut f.errors) {
        dbs.push(apk::INSTALLED.into());
        f.merge(apk::parse_installed(&text, apk::INSTALLED));
    }
    f
}

fn collect_rpm(root: &RootFs, dbs: &mut Vec<String>) -> Found {
    let mut f = Found::default();
    for path in rpm::DB_PATHS {
        if !root.is_file(path) {
            continue;
        }
        dbs.push(path.into());
        read_rpm_db(root, path, &mut f);
        return f;
    }
    for path in rpm::BDB_PATHS {
        if root.is_file(path) {
            dbs.push(path.into());
            f.errors.push(InventoryError {
                source: "rpm".into(),
                path: path.into(),
                line: None,
                message: "Berkeley DB rpm database is not supported (rpm >= 4.16 sqlite databases are); rpm packages not listed".into(),
            });
        }
    }
    f
}

#[cfg(feature = "rpm-sqlite")]
fn read_rpm_db(root: &RootFs, path: &str, f: &mut Found) {
    let host = match root.host_path_of_file(path) {
        Ok(h) => h,
        Err(e) => return f.errors.push(fs_error("rpm", &e)),
    };
    match rpm::read_sqlite(&host) {
        Ok(rows) => {
            let err = |hnum: i64, m: String| InventoryError {
                source: "rpm".into(),
                path: path.into(),
                line: None,
                message: format!("header #{hnum}: {m}"),
            };
            let mut parsed = Vec::new();
            for (hnum, blob) in &rows {
                match rpm::parse_header(blob) {
                    Ok(h) => {
                        if let Some(p) = rpm::to_package(h, path) {
                            parsed.push((p, *hnum, blob));
                        }
                    }
                    Err(m) => f.errors.push(err(*hnum, m)),
                }
            }
            // File requirements (`/bin/sh`) are provided by the package
            // owning the file: the files that are required, looked up in
            // each header's file list.
            let wanted: std::collections::HashSet<String> = parsed
                .iter()
                .filter_map(|(p, _, _)| p.depends.as_deref())
                .flat_map(depends::rpm_clauses)
                .filter(|(_, name)| name.starts_with('/'))
                .map(|(_, name)| name.to_string())
                .collect();
            for (mut p, hnum, blob) in parsed {
                if !wanted.is_empty() {
                    match rpm::files_in(blob, &wanted) {
                        Ok(files) => p.provides.extend(files),
                        Err(m) => f.errors.push(err(hnum, m)),
                    }
                }
                #[cfg(feature = "sbom-files")]
                match rpm::file_hashes(blob) {
                    Ok(files) => p.files = files,
                    Err(m) => f.errors.push(err(hnum, m)),
                }
                f.packages.push(p);
            }
        }
        Err(m) => f.errors.push(InventoryError {
            source: "rpm".into(),
            path: path.into(),
            line: None,
            message: format!("cannot read rpm database: {m}"),
        }),
    }
}

#[cfg(not(feature = "rpm-sqlite"))]
fn read_rpm_db(_root: &RootFs, path: &str, f: &mut Found) {
    f.errors.push(InventoryError {
        source: "rpm".into(),
        path: path.into(),
        line: None,
        message: "rpm database found but this build has no SQLite support (build with --features rpm-sqlite); rpm packages not listed".into(),
    });
}

/// Everything the inventory knows about a root.
pub struct Collected {
    pub device: Device,
    pub inventory: Inventory,
}

/// Collects device identity and software inventory. `live` enables `/proc`.
pub fn collect(root: &RootFs, live: bool) -> Collected {
    collect_with(root, live, &hardware::Options::default())
}

/// [`collect`] with the hardware options (identifier salt, opt-in to clear
/// MAC addresses and serial numbers).
pub fn collect_with(root: &RootFs, live: bool, hw: &hardware::Options) -> Collected {
    let mut errors = Vec::new();
    let os = os::read_os(root, &mut errors);
    let mut kernel = os::read_kernel(root, live);
    kernel.config = kernel::config(root, live, &kernel);
    let hostname = os::read_hostname(root, live);
    let mut dbs = Vec::new();
    let mut all = Found::default();
    all.merge(collect_dpkg(root, &mut dbs));
    all.merge(collect_opkg(root, &mut dbs));
    all.merge(collect_apk(root, &mut dbs));
    all.merge(collect_rpm(root, &mut dbs));
    if dbs.is_empty() {
        all.merge(binaries::identify(root));
    }
    if let Some(k) = kernel::component(root, live, &kernel, &all.packages) {
        all.packages.push(k);
    }
    // Identity: the tables' CPEs, then the image record's, which win.
    for p in &mut all.packages {
        p.cpe = cpe::for_package(p);
        if p.cpe.is_empty() && p.source == PackageSource::Opkg && p.name == "libc" {
            // OpenWrt's `libc` is musl, glibc or uClibc-ng: its file list says which.
            let list = Path::new(&p.path).with_file_name("info/libc.list");
            if let Ok(b) = root.read_limited(&list, 1 << 20) {
                p.cpe = cpe::for_libc(p, &String::from_utf8_lossy(&b));
            }
        }
    }
    let (records, record_errors) = yocto_record::read_detailed(root);
    yocto_record::apply(&mut all.packages, &records);
    all.errors.extend(record_errors);
    for p in &mut all.packages {
        p.purl = purl::for_package(p, &os);
        if p.source == PackageSource::Dpkg && p.license.is_none() {
            // Machine-readable copyright file of the binary package.
            let path = format!("/usr/share/doc/{}/copyright", p.name);
            if let Ok(b) = root.read_limited(&path, 1 << 20) {
                let text = String::from_utf8_lossy(&b);
                // DEP-5, else the common-licenses references of a free-form file.
                let found = license::from_dep5(&text).or_else(|| copyright::from_free_form(&text));
                if let Some(l) = found {
                    p.license = Some(l.name);
                    p.license_expression = l.expression;
                }
            }
        } else if let Some(l) = p.license.as_deref().and_then(license::from_text) {
            p.license_expression = l.expression;
        }
    }
    // The dependency graph (ISSUE19): each database's clauses to its
    // installed packages.
    for db in depends::RESOLVED {
        depends::resolve(&mut all.packages, db);
    }
    // The kernel image's purl names its build configuration by digest: the
    // collector decides from it which kernel CVEs concern code not built.
    if let Some(c) = &kernel.config {
        let digest = format!("sha256:{}", c.sha256);
        for p in all
            .packages
            .iter_mut()
            .filter(|p| kernel::is_kernel_image(p))
        {
            if let Some(u) = &p.purl {
                p.purl = Some(purl::with_qualifier(u, "kconfig", &digest));
            }
        }
    }
    all.packages.sort_by(|a, b| {
        (a.name.as_str(), a.arch.as_deref(), a.source).cmp(&(
            b.name.as_str(),
            b.arch.as_deref(),
            b.source,
        ))
    });
    errors.extend(all.errors);
    let (hardware, hw_errors) = hardware::collect(root, hw);
    errors.extend(hw_errors);
    let kernel_modules = if live {
        root.read("/proc/modules")
            .map(|b| os::parse_proc_modules(&String::from_utf8_lossy(&b)))
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    Collected {
        device: Device {
            hostname,
            os,
            kernel,
        },
        inventory: Inventory {
            packages: all.packages,
            keys: Vec::new(),
            kernel_modules,
            listening: Vec::new(),
            databases: dbs,
            errors,
            hardware,
        },
    }
}
