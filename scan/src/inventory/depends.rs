//! The dependency graph of a package database (ISSUE19): each package's
//! dependency clauses resolved to the installed packages — a clause's
//! first alternative that is installed, or provided by an installed package
//! — as the package manager reads them: dpkg and opkg `Pre-Depends` and
//! `Depends` (`a (>= 1) | b, c:any`) through `Provides`; apk `D:`
//! (`so:libc.musl-aarch64.so.1 cmd:sh pc:zlib>=1.2 !conflict`) through `p:`;
//! rpm `REQUIRENAME` through `PROVIDENAME` and, for file requirements
//! (`/bin/sh`), the file lists.
//! Clauses nothing installed satisfies are kept as `unresolved`. Pure;
//! bounded by the input (clauses and alternatives are split from the
//! field, each looked up in maps built once).

use fieldattest_protocol::report::{Package, PackageSource};
use std::collections::HashMap;

/// The name an alternative names: `libc6:any (>= 2.34) [amd64] <!nocheck>`
/// → `libc6` (the architecture qualifier, version, architecture and
/// profile restrictions dropped).
fn alt_name(alt: &str) -> &str {
    let n = alt.trim();
    let n = n.split([' ', '(', '[', '<', '\t']).next().unwrap_or("");
    n.split(':').next().unwrap_or("")
}

/// Parses a `Provides` field into the names provided.
pub fn provided_names(field: &str) -> Vec<String> {
    field
        .split(',')
        .map(alt_name)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

/// The name of an apk dependency or provide: `so:libz.so.1=1.3` → `so:libz.so.1`,
/// `pc:zlib>=1.2` → `pc:zlib`.
fn apk_name(t: &str) -> &str {
    t.split(['<', '>', '=', '~']).next().unwrap_or("")
}

/// Parses an apk `p:` line into the names provided.
pub fn apk_provided(field: &str) -> Vec<String> {
    field
        .split_whitespace()
        .map(apk_name)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

/// The fields dpkg and opkg control paragraphs share for the SBOM, set on
/// `pkg`: dependencies (`Pre-Depends` then `Depends`, joined), provides and
/// the maintainer.
pub fn control_fields<'a>(pkg: &mut Package, get: impl Fn(&str) -> Option<&'a str>) {
    let depends: Vec<&str> = ["Pre-Depends", "Depends"]
        .iter()
        .filter_map(|f| get(f))
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    pkg.depends = (!depends.is_empty()).then(|| depends.join(", "));
    pkg.provides = get("Provides").map(provided_names).unwrap_or_default();
    pkg.maintainer = get("Maintainer")
        .filter(|m| !m.is_empty())
        .map(str::to_string);
}

/// A dependency field's clauses: (the clause as written, its alternatives'
/// names). apk: one clause per word, conflicts (`!name`) skipped.
fn clauses(source: PackageSource, field: &str) -> Vec<(&str, Vec<&str>)> {
    match source {
        PackageSource::Apk => field
            .split_whitespace()
            .filter(|t| !t.starts_with('!'))
            .map(|t| (t, vec![apk_name(t)]))
            .collect(),
        PackageSource::Rpm => rpm_clauses(field).map(|(c, n)| (c, vec![n])).collect(),
        _ => field
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| (c, c.split('|').map(alt_name).collect()))
            .collect(),
    }
}

/// An rpm `depends` field's clauses (`name [op version]`, joined with ", "
/// by `rpm::to_package`) with the name each requires: everything before the
/// constraint (`libc.so.6(GLIBC_2.34)(64bit)`, `/bin/sh`); a rich dependency
/// (`(a or b)`) names nothing installed and stays unresolved.
pub fn rpm_clauses(field: &str) -> impl Iterator<Item = (&str, &str)> {
    field
        .split(", ")
        .filter(|c| !c.is_empty())
        .map(|c| (c, c.split(' ').next().unwrap_or(c)))
}

/// The package databases whose dependency graph is resolved (binaries
/// found outside any database have none: the SBOM leaves it unknown rather
/// than empty).
pub const RESOLVED: [PackageSource; 4] = [
    PackageSource::Dpkg,
    PackageSource::Opkg,
    PackageSource::Apk,
    PackageSource::Rpm,
];

/// The key other packages' `depends_on` use for `p`: its binary name
/// (`name:arch` for `Multi-Arch: same`), else its name.
pub fn key(p: &Package) -> &str {
    p.binary_name.as_deref().unwrap_or(&p.name)
}

/// Resolves the `depends` of every package of `source` among `packages`
/// into `depends_on` and `unresolved`.
pub fn resolve(packages: &mut [Package], source: PackageSource) {
    // name → installed packages of that name; provided name → providers.
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    let mut providers: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, p) in packages
        .iter()
        .enumerate()
        .filter(|(_, p)| p.source == source)
    {
        by_name.entry(p.name.clone()).or_default().push(i);
        for n in &p.provides {
            providers.entry(n.clone()).or_default().push(i);
        }
    }
    // The candidate of a list best for a depender of `arch`: the same
    // architecture, else `all`, else the first.
    let pick = |c: &[usize], arch: Option<&str>, pk: &[Package]| -> Option<usize> {
        c.iter()
            .copied()
            .find(|&i| pk[i].arch.as_deref() == arch)
            .or_else(|| {
                c.iter()
                    .copied()
                    .find(|&i| pk[i].arch.as_deref() == Some("all"))
            })
            .or_else(|| c.first().copied())
    };
    let mut out: Vec<(usize, Vec<String>, Vec<String>)> = Vec::new();
    for (i, p) in packages
        .iter()
        .enumerate()
        .filter(|(_, p)| p.source == source)
    {
        let Some(field) = &p.depends else { continue };
        let (mut on, mut unresolved) = (Vec::new(), Vec::new());
        for (clause, alts) in clauses(source, field) {
            let found = alts.into_iter().find_map(|n| {
                by_name
                    .get(n)
                    .and_then(|c| pick(c, p.arch.as_deref(), packages))
                    .or_else(|| {
                        providers
                            .get(n)
                            .and_then(|c| pick(c, p.arch.as_deref(), packages))
                    })
            });
            match found {
                Some(j) if j == i => {}
                Some(j) => {
                    let k = key(&packages[j]).to_string();
                    if !on.contains(&k) {
                        on.push(k);
                    }
                }
                None => unresolved.push(clause.to_string()),
            }
        }
        out.push((i, on, unresolved));
    }
    for (i, on, unresolved) in out {
        packages[i].depends_on = on;
        packages[i].unresolved = unresolved;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg_of(
        source: PackageSource,
        name: &str,
        arch: &str,
        depends: Option<&str>,
        provides: Vec<String>,
    ) -> Package {
        let mut p = Package::new(name, "1", source, "/db");
        p.arch = Some(arch.into());
        p.depends = depends.map(str::to_string);
        p.provides = provides;
        p
    }

    fn pkg(name: &str, arch: &str, depends: Option<&str>, provides: &[&str]) -> Package {
        let provides = provides.iter().map(|s| s.to_string()).collect();
        pkg_of(PackageSource::Dpkg, name, arch, depends, provides)
    }

    #[test]
    fn clauses_resolve_to_installed_or_provided_packages() {
        let mut ps = vec![
            pkg("app", "arm64", Some("libc6 (>= 2.34), mail-transport-agent | exim4, awk:any, python3:any (>= 3.11~) [arm64] <!nocheck>, app, libgone (>= 1) | libalsogone"), &[]),
            pkg("libc6", "arm64", None, &[]),
            pkg("postfix", "arm64", None, &["mail-transport-agent", "default-mta (= 1)"]),
            pkg("mawk", "arm64", Some("libc6"), &["awk"]),
            pkg("python3", "all", None, &[]),
        ];
        ps[1].binary_name = Some("libc6:arm64".into());
        resolve(&mut ps, PackageSource::Dpkg);
        assert_eq!(
            ps[0].depends_on,
            ["libc6:arm64", "postfix", "mawk", "python3"]
        );
        assert_eq!(ps[0].unresolved, ["libgone (>= 1) | libalsogone"]);
        assert_eq!(ps[3].depends_on, ["libc6:arm64"]);
        assert!(ps[1].depends_on.is_empty() && ps[1].unresolved.is_empty());
        assert_eq!(
            provided_names("mail-transport-agent, default-mta (= 1.2)"),
            ["mail-transport-agent", "default-mta"]
        );
    }

    #[test]
    fn the_same_architecture_is_preferred_and_hostile_fields_end() {
        let mut ps = vec![
            pkg("tool", "arm64", Some("libx"), &[]),
            pkg("libx", "armhf", None, &[]),
            pkg("libx", "arm64", None, &[]),
            pkg("odd", "arm64", Some(",,|, | ,(,[,<,:,  ,"), &[]),
        ];
        ps[1].binary_name = Some("libx:armhf".into());
        ps[2].binary_name = Some("libx:arm64".into());
        resolve(&mut ps, PackageSource::Dpkg);
        assert_eq!(ps[0].depends_on, ["libx:arm64"]);
        assert!(ps[3].depends_on.is_empty());
    }

    #[test]
    fn apk_words_resolve_through_provides() {
        let apk = |name: &str, d: Option<&str>, p: &str| {
            pkg_of(PackageSource::Apk, name, "aarch64", d, apk_provided(p))
        };
        let mut ps = vec![
            apk("curl", Some("ca-certificates-bundle so:libc.musl-aarch64.so.1 so:libcurl.so.4 pc:zlib>=1.2 !curl-doc so:libgone.so.9"), "cmd:curl=8.5.0-r0"),
            apk("musl", None, "so:libc.musl-aarch64.so.1=1"),
            apk("libcurl", Some("so:libc.musl-aarch64.so.1"), "so:libcurl.so.4=4.8.0"),
            apk("ca-certificates-bundle", None, ""),
            apk("zlib-dev", None, "pc:zlib=1.3.1"),
        ];
        resolve(&mut ps, PackageSource::Apk);
        assert_eq!(
            ps[0].depends_on,
            ["ca-certificates-bundle", "musl", "libcurl", "zlib-dev"]
        );
        assert_eq!(ps[0].unresolved, ["so:libgone.so.9"]);
        assert_eq!(ps[2].depends_on, ["musl"]);
    }
}
