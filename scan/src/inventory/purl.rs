//! Package URLs (package-url spec), written the way Syft writes them so that
//! downstream vulnerability matchers (Grype, OSV tooling, Dependency-Track)
//! recognise them. See ARCHITECTURE.md for the opkg decision.

use fieldattest_protocol::report::{OsInfo, Package, PackageSource};

/// Percent-encodes everything but unreserved characters and `:` (as Syft's
/// packageurl-go does: `+` → `%2B`, `@` → `%40`, `~` and `:` kept).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Builds `pkg:TYPE/NAMESPACE/NAME@VERSION?k=v&...` with qualifiers sorted by
/// key and empty values dropped.
pub fn build(
    ty: &str,
    namespace: Option<&str>,
    name: &str,
    version: &str,
    qualifiers: &[(&str, String)],
) -> String {
    let mut s = format!("pkg:{ty}/");
    if let Some(ns) = namespace.filter(|n| !n.is_empty()) {
        for seg in ns.split('/') {
            s.push_str(&encode(seg));
            s.push('/');
        }
    }
    s.push_str(&encode(name));
    if !version.is_empty() {
        s.push('@');
        s.push_str(&encode(version));
    }
    let mut q: Vec<&(&str, String)> = qualifiers.iter().filter(|(_, v)| !v.is_empty()).collect();
    q.sort_by(|a, b| a.0.cmp(b.0));
    for (i, (k, v)) in q.iter().enumerate() {
        s.push(if i == 0 { '?' } else { '&' });
        s.push_str(k);
        s.push('=');
        s.push_str(&encode(v));
    }
    s
}

/// `purl` with qualifier `key=value` added (encoded), the qualifiers kept
/// sorted by key; an existing `key` is replaced.
pub fn with_qualifier(purl: &str, key: &str, value: &str) -> String {
    let (head, subpath) = match purl.split_once('#') {
        Some((h, p)) => (h, Some(p)),
        None => (purl, None),
    };
    let (base, query) = head.split_once('?').unwrap_or((head, ""));
    let mut q: Vec<(String, String)> = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .filter_map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .filter(|(k, _)| k != key)
        .collect();
    q.push((key.to_string(), encode(value)));
    q.sort_by(|a, b| a.0.cmp(&b.0));
    let mut s = base.to_string();
    for (i, (k, v)) in q.iter().enumerate() {
        s.push(if i == 0 { '?' } else { '&' });
        s.push_str(k);
        s.push('=');
        s.push_str(v);
    }
    if let Some(p) = subpath {
        s.push('#');
        s.push_str(p);
    }
    s
}

/// The `distro` qualifier as Syft writes it: `ID-VERSION_ID` (`debian-12`),
/// `ID-BUILD_ID` without a VERSION_ID, the bare ID without either (Debian
/// testing/sid: `debian`; the codename is not used).
fn distro(os: &OsInfo) -> String {
    let id = os.id.as_deref().unwrap_or("");
    let v = os.version_id.as_ref().or(os.build_id.as_ref());
    match v {
        Some(v) if !id.is_empty() => format!("{id}-{v}"),
        Some(v) => v.clone(),
        None => id.to_string(),
    }
}

/// Whether the operating system is Debian or derived from it (`ID_LIKE`).
fn debian_like(os: &OsInfo) -> bool {
    os.id.as_deref() == Some("debian") || os.id_like.iter().any(|l| l == "debian")
}

/// The purl of a package found on a device with identity `os`. `None` for
/// a dpkg package when the system is not known to be Debian or a Debian
/// derivative (no os-release, or another `ID` without `ID_LIKE=debian`):
/// its namespace would be a guess, and Syft writes no purl either.
///
/// Components no distribution's advisories cover (Yocto and other opkg
/// packages, binary-detected ones, the kernel component) carry their CPEs in
/// the `cpe` qualifier, joined with `,` (Contract 1, ISSUE18); dpkg, apk and
/// rpm purls do not (their advisories know the backports a CPE match ignores).
pub fn for_package(p: &Package, os: &OsInfo) -> Option<String> {
    let arch = p.arch.clone().unwrap_or_default();
    let cpe = p.cpe.join(",");
    let id = os.id.as_deref().map(str::to_ascii_lowercase);
    Some(match p.source {
        PackageSource::Dpkg => {
            if !debian_like(os) {
                return None;
            }
            let upstream = match (&p.source_package, &p.source_version) {
                (Some(s), Some(v)) => format!("{s}@{v}"),
                (Some(s), None) => s.clone(),
                _ => String::new(),
            };
            build(
                "deb",
                id.as_deref(),
                &p.name,
                &p.version,
                &[
                    ("arch", arch),
                    ("distro", distro(os)),
                    ("upstream", upstream),
                ],
            )
        }
        PackageSource::Apk => {
            let upstream = p
                .source_package
                .clone()
                .filter(|o| *o != p.name)
                .unwrap_or_default();
            build(
                "apk",
                Some(id.as_deref().unwrap_or("alpine")),
                &p.name,
                &p.version,
                &[
                    ("arch", arch),
                    ("distro", distro(os)),
                    ("upstream", upstream),
                ],
            )
        }
        PackageSource::Rpm => {
            let (epoch, version) = match p.version.split_once(':') {
                Some((e, v)) if e.bytes().all(|b| b.is_ascii_digit()) => (e.to_string(), v),
                _ => (String::new(), p.version.as_str()),
            };
            build(
                "rpm",
                id.as_deref(),
                &p.name,
                version,
                &[
                    ("arch", arch),
                    ("distro", distro(os)),
                    ("epoch", epoch),
                    ("upstream", p.source_package.clone().unwrap_or_default()),
                ],
            )
        }
        PackageSource::Opkg => match (&p.source_package, &p.source_version) {
            // Built by Yocto: the recipe identifies the software, as in
            // OE-core's SPDX output (`pkg:yocto/...`).
            (Some(recipe), Some(pv)) => {
                build("yocto", None, recipe, pv, &[("arch", arch), ("cpe", cpe)])
            }
            _ => build(
                "generic",
                None,
                &p.name,
                &p.version,
                &[("arch", arch), ("cpe", cpe), ("distro", distro(os))],
            ),
        },
        PackageSource::Binary => build("generic", None, &p.name, &p.version, &[("cpe", cpe)]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(source: PackageSource, name: &str, version: &str, arch: Option<&str>) -> Package {
        let mut p = Package::new(name, version, source, "/x");
        p.arch = arch.map(str::to_string);
        p
    }

    fn debian() -> OsInfo {
        OsInfo {
            id: Some("debian".into()),
            version_id: Some("12".into()),
            ..Default::default()
        }
    }

    #[test]
    fn deb_matches_syft() {
        // Strings as Syft 1.18 writes them for a bookworm rootfs.
        let mut p = pkg(
            PackageSource::Dpkg,
            "libcap2",
            "1:2.66-4+deb12u3+b1",
            Some("amd64"),
        );
        p.source_package = Some("libcap2".into());
        p.source_version = Some("1:2.66-4+deb12u3".into());
        assert_eq!(
            for_package(&p, &debian()).unwrap(),
            "pkg:deb/debian/libcap2@1:2.66-4%2Bdeb12u3%2Bb1?arch=amd64&distro=debian-12&upstream=libcap2%401:2.66-4%2Bdeb12u3"
        );
        let mut p = pkg(
            PackageSource::Dpkg,
            "libsystemd0",
            "252.39-1~deb12u2",
            Some("amd64"),
        );
        p.source_package = Some("systemd".into());
        assert_eq!(
            for_package(&p, &debian()).unwrap(),
            "pkg:deb/debian/libsystemd0@252.39-1~deb12u2?arch=amd64&distro=debian-12&upstream=systemd"
        );
    }

    #[test]
    fn apk_rpm_yocto_generic() {
        let alpine = OsInfo {
            id: Some("alpine".into()),
            version_id: Some("3.19.1".into()),
            ..Default::default()
        };
        let mut p = pkg(
            PackageSource::Apk,
            "libcrypto3",
            "3.1.4-r5",
            Some("aarch64"),
        );
        p.source_package = Some("openssl".into());
        assert_eq!(
            for_package(&p, &alpine).unwrap(),
            "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=aarch64&distro=alpine-3.19.1&upstream=openssl"
        );
        let poky = OsInfo {
            id: Some("poky".into()),
            version_id: Some("5.0.4".into()),
            ..Default::default()
        };
        let mut p = pkg(
            PackageSource::Rpm,
            "busybox",
            "1:1.36.1-r0",
            Some("cortexa53"),
        );
        p.source_package = Some("busybox-1.36.1-r0.src.rpm".into());
        assert_eq!(
            for_package(&p, &poky).unwrap(),
            "pkg:rpm/poky/busybox@1.36.1-r0?arch=cortexa53&distro=poky-5.0.4&epoch=1&upstream=busybox-1.36.1-r0.src.rpm"
        );
        let mut p = pkg(
            PackageSource::Opkg,
            "libc6",
            "2.39+git0-r0",
            Some("cortexa53"),
        );
        p.source_package = Some("glibc".into());
        p.source_version = Some("2.39+git0".into());
        assert_eq!(
            for_package(&p, &poky).unwrap(),
            "pkg:yocto/glibc@2.39%2Bgit0?arch=cortexa53"
        );
        let openwrt = OsInfo {
            id: Some("openwrt".into()),
            version_id: Some("23.05.3".into()),
            ..Default::default()
        };
        let p = pkg(
            PackageSource::Opkg,
            "dropbear",
            "2022.82-6",
            Some("aarch64_cortex-a53"),
        );
        let u = for_package(&p, &openwrt).unwrap();
        assert_eq!(
            u,
            "pkg:generic/dropbear@2022.82-6?arch=aarch64_cortex-a53&distro=openwrt-23.05.3"
        );
        assert!(!u.starts_with("pkg:deb"));
        let p = pkg(PackageSource::Binary, "busybox", "1.36.1", None);
        assert_eq!(
            for_package(&p, &OsInfo::default()).unwrap(),
            "pkg:generic/busybox@1.36.1"
        );
    }

    /// Syft 1.18 (`syft scan dir:TREE -o json`) on a tree with one dpkg
    /// package: no os-release → empty purl; `ID=poky` → empty purl;
    /// Debian sid (no VERSION_ID) → `distro=debian`; with a BUILD_ID →
    /// `distro=debian-<BUILD_ID>`; Ubuntu (ID_LIKE=debian) keeps its id.
    #[test]
    fn deb_without_a_known_debian_os_has_no_purl_and_sid_is_bare() {
        let mut p = pkg(PackageSource::Dpkg, "libfoo1", "1.2-3+b1", Some("amd64"));
        p.source_package = Some("foo".into());
        p.source_version = Some("1.2-3".into());
        assert_eq!(for_package(&p, &OsInfo::default()), None);
        let poky = OsInfo {
            id: Some("poky".into()),
            version_id: Some("5.0.4".into()),
            ..Default::default()
        };
        assert_eq!(for_package(&p, &poky), None);
        let mut sid = OsInfo {
            id: Some("debian".into()),
            version_codename: Some("trixie".into()),
            ..Default::default()
        };
        assert_eq!(
            for_package(&p, &sid).unwrap(),
            "pkg:deb/debian/libfoo1@1.2-3%2Bb1?arch=amd64&distro=debian&upstream=foo%401.2-3"
        );
        sid.build_id = Some("20240101".into());
        assert_eq!(
            for_package(&p, &sid).unwrap(),
            "pkg:deb/debian/libfoo1@1.2-3%2Bb1?arch=amd64&distro=debian-20240101&upstream=foo%401.2-3"
        );
        let ubuntu = OsInfo {
            id: Some("ubuntu".into()),
            id_like: vec!["debian".into()],
            version_id: Some("24.04".into()),
            ..Default::default()
        };
        assert_eq!(
            for_package(&p, &ubuntu).unwrap(),
            "pkg:deb/ubuntu/libfoo1@1.2-3%2Bb1?arch=amd64&distro=ubuntu-24.04&upstream=foo%401.2-3"
        );
    }

    #[test]
    fn cpe_qualifier_only_outside_distributions() {
        let c = "cpe:2.3:o:linux:linux_kernel:6.1.95:*:*:*:*:*:*:*".to_string();
        let mut k = pkg(PackageSource::Binary, "linux", "6.1.95", Some("x86_64"));
        k.cpe = vec![c.clone()];
        assert_eq!(
            for_package(&k, &OsInfo::default()).unwrap(),
            "pkg:generic/linux@6.1.95?cpe=cpe:2.3:o:linux:linux_kernel:6.1.95:%2A:%2A:%2A:%2A:%2A:%2A:%2A"
        );
        let mut y = pkg(PackageSource::Opkg, "curl", "8.7.1-r0", Some("cortexa53"));
        y.source_package = Some("curl".into());
        y.source_version = Some("8.7.1".into());
        y.cpe = vec![
            "cpe:2.3:*:haxx:curl:8.7.1:*:*:*:*:*:*:*".into(),
            "cpe:2.3:*:haxx:libcurl:8.7.1:*:*:*:*:*:*:*".into(),
        ];
        let u = for_package(&y, &OsInfo::default()).unwrap();
        assert!(
            u.starts_with("pkg:yocto/curl@8.7.1?arch=cortexa53&cpe=cpe:2.3:%2A:haxx:curl:8.7.1:"),
            "{u}"
        );
        assert!(u.contains("%2Ccpe:2.3:%2A:haxx:libcurl:8.7.1:"), "{u}");
        let mut o = pkg(PackageSource::Opkg, "dropbear", "2022.82-5", None);
        o.cpe = vec!["cpe:2.3:a:dropbear_ssh_project:dropbear_ssh:2022.82:*:*:*:*:*:*:*".into()];
        let u = for_package(&o, &OsInfo::default()).unwrap();
        assert!(
            u.starts_with("pkg:generic/dropbear@2022.82-5?cpe=cpe:2.3:a:dropbear_ssh_project:"),
            "{u}"
        );
        // Distributions: the CPE is not in the purl.
        for src in [PackageSource::Dpkg, PackageSource::Apk, PackageSource::Rpm] {
            let mut d = pkg(src, "openssl", "3.0.15-1", Some("amd64"));
            d.cpe = vec![c.clone()];
            let os = OsInfo {
                id: Some("debian".into()),
                ..Default::default()
            };
            let u = for_package(&d, &os).unwrap();
            assert!(!u.contains("cpe"), "{u}");
        }
        // A quoted character in a CPE is percent-encoded in the purl.
        let mut q = pkg(PackageSource::Binary, "x", "1", None);
        q.cpe = vec![r"cpe:2.3:*:*:sdbus-c\+\+:1:*:*:*:*:*:*:*".into()];
        assert!(for_package(&q, &OsInfo::default())
            .unwrap()
            .contains("sdbus-c%5C%2B%5C%2B"));
    }

    #[test]
    fn encoding() {
        assert_eq!(encode("libstdc++6"), "libstdc%2B%2B6");
        assert_eq!(encode("a b/c@d"), "a%20b%2Fc%40d");
    }

    #[test]
    fn a_qualifier_is_added_in_key_order_and_replaces_its_namesake() {
        assert_eq!(
            with_qualifier(
                "pkg:generic/linux@6.1.95?cpe=cpe:2.3:o:linux",
                "kconfig",
                "sha256:ab"
            ),
            "pkg:generic/linux@6.1.95?cpe=cpe:2.3:o:linux&kconfig=sha256:ab"
        );
        assert_eq!(
            with_qualifier("pkg:generic/linux@6.1.95", "kconfig", "sha256:ab"),
            "pkg:generic/linux@6.1.95?kconfig=sha256:ab"
        );
        assert_eq!(
            with_qualifier(
                "pkg:opkg/kernel@6.1?z=1&kconfig=old&arch=a#sub",
                "kconfig",
                "n w"
            ),
            "pkg:opkg/kernel@6.1?arch=a&kconfig=n%20w&z=1#sub"
        );
    }
}
