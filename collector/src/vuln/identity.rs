//! The identities of an attested package: the (ecosystem, package,
//! version) keys its advisories are filed under, from its purl.
//!
//! - `pkg:deb` (Debian, Ubuntu) and `pkg:apk` (Alpine): the distribution's
//!   OSV ecosystem and the *source* package, which the purl carries in
//!   `upstream` (Syft's convention) when it differs.
//! - `pkg:rpm`: the OSV ecosystems of RPM distributions where they exist
//!   (`Red Hat:enterprise_linux:9::baseos` and its other repositories,
//!   `AlmaLinux:9`, `Rocky Linux:9`, `openSUSE:Leap 15.5`,
//!   `openSUSE:Tumbleweed`, `SUSE:Linux Enterprise Server 15 SP5`, …),
//!   keyed by binary and by source package, version `[epoch:]version-release`.
//! - a `cpe` qualifier (Yocto recipes, OpenWrt and binary-detected
//!   components, the kernel; ISSUE18 contract 1): one key per CPE, ecosystem
//!   `CPE`, name `vendor:product`, version the CPE's unless it is `*` or
//!   `-`, else the upstream part of the purl's version.
//!
//! Total: a hostile purl yields no key (or fewer), never a panic.

use super::osv::{pct_decode, purl_parts};

/// The ecosystem of CPE-keyed advisories (NVD, CVE 5).
pub const CPE: &str = "CPE";

/// At most this many CPEs are read from one purl.
const MAX_CPES: usize = 16;
/// Longest field (vendor, product, version) read from a CPE.
const MAX_FIELD: usize = 256;

/// (ecosystem, package, version) keys of a package's purl, without repeats.
pub fn package_keys(purl: &str) -> Vec<(String, String, String)> {
    let Some((ty, name, version, query)) = purl_parts(purl) else {
        return Vec::new();
    };
    let q = |key: &str| {
        query.split('&').find_map(|kv| match kv.split_once('=') {
            Some((k, v)) if k == key => Some(pct_decode(v)),
            _ => None,
        })
    };
    let version = pct_decode(version);
    let mut out: Vec<(String, String, String)> = Vec::new();
    let mut push = |k: (String, String, String)| {
        if !k.1.is_empty() && !k.2.is_empty() && !out.contains(&k) {
            out.push(k);
        }
    };
    match ty {
        "deb" | "apk" => {
            if let Some(k) = distro_key(ty, &name, &version, q("distro"), q("upstream")) {
                push(k);
            }
        }
        "rpm" => {
            let distro = q("distro").unwrap_or_default();
            let evr = match q("epoch").filter(|e| !e.is_empty() && e != "0") {
                Some(e) => format!("{e}:{version}"),
                None => version.clone(),
            };
            let source = q("upstream").and_then(|u| srpm_name(&u));
            for eco in rpm_ecosystems(&distro) {
                push((eco.clone(), name.clone(), evr.clone()));
                if let Some(s) = &source {
                    push((eco, s.clone(), evr.clone()));
                }
            }
        }
        _ => {}
    }
    if let Some(cpes) = q("cpe") {
        for cpe in split_unescaped(&cpes, ',').into_iter().take(MAX_CPES) {
            if let Some((vendor_product, v)) = cpe_key(cpe) {
                let v = v.unwrap_or_else(|| upstream_part(&version));
                push((CPE.to_string(), vendor_product, v));
            }
        }
    }
    out
}

/// The Debian/Ubuntu/Alpine key: `distro=debian-12` → `Debian:12`,
/// `ubuntu-22.04` → `Ubuntu:22.04`, `alpine-3.19.1` → `Alpine:v3.19`.
fn distro_key(
    ty: &str,
    name: &str,
    version: &str,
    distro: Option<String>,
    upstream: Option<String>,
) -> Option<(String, String, String)> {
    let (src, src_version) = match upstream
        .as_deref()
        .filter(|u| !u.is_empty())
        .map(|u| u.split_once('@').unwrap_or((u, "")))
    {
        Some((n, v)) => (n.to_string(), (!v.is_empty()).then(|| v.to_string())),
        None => (name.to_string(), None),
    };
    let version = src_version.unwrap_or_else(|| version.to_string());
    let d = distro?;
    let eco = if ty == "deb" {
        let (os, ver) = d.split_once('-').filter(|(_, v)| !v.is_empty())?;
        match os {
            "debian" => format!("Debian:{}", ver.split('.').next().unwrap_or(ver)),
            "ubuntu" => format!("Ubuntu:{ver}"),
            _ => return None,
        }
    } else {
        let ver = d.strip_prefix("alpine-").filter(|v| !v.is_empty())?;
        let mm: Vec<&str> = ver.split('.').take(2).collect();
        format!("Alpine:v{}", mm.join("."))
    };
    Some((eco, src, version))
}

/// Red Hat's OSV ecosystems name the repository; a package is in one of
/// these (its advisories are matched under each, repeats merged).
const RHEL_REPOS: [&str; 4] = ["baseos", "appstream", "crb", "supplementary"];

/// The OSV ecosystems of an RPM distribution (`distro=ID-VERSION_ID`):
/// none for distributions OSV does not cover (Fedora, CentOS, Yocto's
/// `poky`…), which coverage reports.
fn rpm_ecosystems(distro: &str) -> Vec<String> {
    // IDs with a dash of their own (opensuse-leap) before the version.
    let (id, ver) = match distro.rsplit_once('-') {
        Some((id, v)) if v.starts_with(|c: char| c.is_ascii_digit()) => (id, v),
        _ => (distro, ""),
    };
    let major = ver.split('.').next().unwrap_or("");
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match id {
        "rhel" if numeric(major) => RHEL_REPOS
            .iter()
            .map(|r| format!("Red Hat:enterprise_linux:{major}::{r}"))
            .collect(),
        "almalinux" if numeric(major) => vec![format!("AlmaLinux:{major}")],
        "rocky" if numeric(major) => vec![format!("Rocky Linux:{major}")],
        "opensuse-leap" if !ver.is_empty() => vec![format!("openSUSE:Leap {ver}")],
        "opensuse-tumbleweed" | "opensuse" => vec!["openSUSE:Tumbleweed".to_string()],
        "sles" | "sled" | "sle-micro" if numeric(major) => {
            let product = match id {
                "sles" => "Linux Enterprise Server",
                "sled" => "Linux Enterprise Desktop",
                _ => "Linux Enterprise Micro",
            };
            let sp = ver.split('.').nth(1).filter(|s| numeric(s) && *s != "0");
            vec![match (id, sp) {
                ("sle-micro", _) => format!("SUSE:{product} {ver}"),
                (_, Some(sp)) => format!("SUSE:{product} {major} SP{sp}"),
                (_, None) => format!("SUSE:{product} {major}"),
            }]
        }
        _ => Vec::new(),
    }
}

/// The source package of `name-version-release.src.rpm`.
fn srpm_name(upstream: &str) -> Option<String> {
    let base = upstream.strip_suffix(".src.rpm").unwrap_or(upstream);
    let (nv, _release) = base.rsplit_once('-')?;
    let (n, _version) = nv.rsplit_once('-')?;
    (!n.is_empty()).then(|| n.to_string())
}

/// `s` split at each `sep` not escaped by a backslash.
fn split_unescaped(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut escaped) = (0, false);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            out.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&s[start..]);
    out
}

/// A CPE 2.3 field without its escapes, lower case.
fn unescape(f: &str) -> String {
    let mut out = String::with_capacity(f.len());
    let mut escaped = false;
    for c in f.chars() {
        if !escaped && c == '\\' {
            escaped = true;
            continue;
        }
        escaped = false;
        out.extend(c.to_lowercase());
    }
    out
}

/// (`vendor:product`, version unless `*`/`-`) of a CPE 2.3 formatted
/// string (NISTIR 7695 §6.2); `None` for anything else.
pub fn cpe_key(cpe: &str) -> Option<(String, Option<String>)> {
    let f = split_unescaped(cpe.trim(), ':');
    if f.len() != 13 || f[0] != "cpe" || f[1] != "2.3" || !matches!(f[2], "a" | "o" | "h" | "*") {
        return None;
    }
    let (vendor, product, version) = (unescape(f[3]), unescape(f[4]), unescape(f[5]));
    let field_ok = |x: &str| !x.is_empty() && x.len() <= MAX_FIELD && x != "-";
    if !field_ok(&vendor) || !field_ok(&product) || product == "*" || version.len() > MAX_FIELD {
        return None;
    }
    let version = (!matches!(version.as_str(), "*" | "-" | "")).then_some(version);
    Some((format!("{vendor}:{product}"), version))
}

/// The upstream part of a package version: without an epoch (`1:`) and
/// without a packaging revision (`-r0` of Yocto, `-6` of OpenWrt: `-r`
/// and digits, or at most three digits).
pub fn upstream_part(version: &str) -> String {
    let v = match version.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => version,
    };
    if let Some((up, rev)) = v.rsplit_once('-') {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let revision = rev
            .strip_prefix('r')
            .map(|n| n.split('.').all(digits))
            .unwrap_or(false)
            || (digits(rev) && rev.len() <= 3);
        if revision && !up.is_empty() {
            return up.to_string();
        }
    }
    v.to_string()
}

/// Whether a purl names a package whose advisories come through CPEs (a
/// `cpe` qualifier) — the wording of coverage notes.
pub fn describe(purl: &str) -> (String, String) {
    let Some((ty, name, _, query)) = purl_parts(purl) else {
        return ("package".into(), purl.chars().take(64).collect());
    };
    let distro = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("distro="))
        .map(pct_decode);
    let kind = match (ty, distro) {
        ("yocto", _) => "no CPE for recipe".to_string(),
        ("generic", _) => "no CPE for package".to_string(),
        ("deb" | "apk" | "rpm", Some(d)) => format!("no advisory source for {d} package"),
        (t, _) => format!("no advisory source for {t} package"),
    };
    (kind, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(e: &str, n: &str, v: &str) -> (String, String, String) {
        (e.into(), n.into(), v.into())
    }

    #[test]
    fn distribution_keys_as_before() {
        assert_eq!(
            package_keys("pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=arm64&distro=debian-12&upstream=openssl"),
            vec![k("Debian:12", "openssl", "3.0.11-1~deb12u2")]
        );
        assert_eq!(
            package_keys(
                "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib"
            ),
            vec![k("Debian:12", "zlib", "1:1.2.13.dfsg-1")]
        );
        assert_eq!(
            package_keys("pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=arm64&distro=debian-12&upstream=glibc%402.36-9%2Bdeb12u4"),
            vec![k("Debian:12", "glibc", "2.36-9+deb12u4")]
        );
        assert_eq!(
            package_keys("pkg:deb/ubuntu/libfoo1@1.2-3?distro=ubuntu-24.04&upstream=foo%401.2-3"),
            vec![k("Ubuntu:24.04", "foo", "1.2-3")]
        );
        assert_eq!(
            package_keys("pkg:apk/alpine/libcrypto3@3.1.4-r1?arch=aarch64&distro=alpine-3.19.1&upstream=openssl"),
            vec![k("Alpine:v3.19", "openssl", "3.1.4-r1")]
        );
        // No distro, an unknown one, or no CPE: no key.
        assert!(package_keys("pkg:deb/debian/x@1?arch=amd64").is_empty());
        assert!(package_keys("pkg:deb/devuan/x@1?distro=devuan-5").is_empty());
        assert!(package_keys("pkg:yocto/busybox@1.36.1?arch=cortexa53").is_empty());
    }

    #[test]
    fn rpm_distributions_map_to_their_osv_ecosystems() {
        let keys = package_keys("pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rhel-9.3&epoch=1&upstream=openssl-3.0.7-27.el9.src.rpm");
        assert_eq!(keys.len(), 8, "{keys:?}");
        assert!(keys.contains(&k(
            "Red Hat:enterprise_linux:9::baseos",
            "openssl-libs",
            "1:3.0.7-27.el9"
        )));
        assert!(keys.contains(&k(
            "Red Hat:enterprise_linux:9::appstream",
            "openssl",
            "1:3.0.7-27.el9"
        )));
        assert_eq!(
            package_keys("pkg:rpm/almalinux/bash@5.1.8-9.el9?distro=almalinux-9.4&epoch=0"),
            vec![k("AlmaLinux:9", "bash", "5.1.8-9.el9")]
        );
        assert_eq!(
            package_keys("pkg:rpm/rocky/bash@5.1.8-9.el9?distro=rocky-9.4"),
            vec![k("Rocky Linux:9", "bash", "5.1.8-9.el9")]
        );
        assert_eq!(
            package_keys("pkg:rpm/opensuse/curl@8.0.1-150400.5.41.1?distro=opensuse-leap-15.5"),
            vec![k("openSUSE:Leap 15.5", "curl", "8.0.1-150400.5.41.1")]
        );
        assert_eq!(
            package_keys("pkg:rpm/opensuse/curl@8.9.1-1.1?distro=opensuse-tumbleweed-20240801"),
            vec![k("openSUSE:Tumbleweed", "curl", "8.9.1-1.1")]
        );
        assert_eq!(
            package_keys("pkg:rpm/sles/curl@8.0.1-1?distro=sles-15.5")[0].0,
            "SUSE:Linux Enterprise Server 15 SP5"
        );
        assert_eq!(
            package_keys("pkg:rpm/sles/curl@8.0.1-1?distro=sles-15")[0].0,
            "SUSE:Linux Enterprise Server 15"
        );
        // Fedora and Yocto's rpm images: no OSV ecosystem.
        assert!(package_keys("pkg:rpm/fedora/bash@5.2-1.fc39?distro=fedora-39").is_empty());
        assert!(package_keys("pkg:rpm/poky/busybox@1.36.1-r0?arch=cortexa53&distro=poky-5.0.4&epoch=1&upstream=busybox-1.36.1-r0.src.rpm").is_empty());
    }

    #[test]
    fn cpe_qualifier_gives_one_key_per_cpe() {
        // As scan's purl::encode writes it: ',' and '*' percent-encoded.
        let enc = |s: &str| {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b".-_~:".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        };
        let cpes = "cpe:2.3:a:openssl:openssl:3.0.2:*:*:*:*:*:*:*,cpe:2.3:a:openssl:libcrypto:*:*:*:*:*:*:*:*";
        let purl = format!("pkg:yocto/openssl@3.0.2?arch=cortexa53&cpe={}", enc(cpes));
        assert_eq!(
            package_keys(&purl),
            vec![
                k(CPE, "openssl:openssl", "3.0.2"),
                k(CPE, "openssl:libcrypto", "3.0.2")
            ]
        );
        // The kernel component (contract 1).
        let purl = format!(
            "pkg:generic/linux@6.1.95?cpe={}",
            enc("cpe:2.3:o:linux:linux_kernel:6.1.95:*:*:*:*:*:*:*")
        );
        assert_eq!(
            package_keys(&purl),
            vec![k(CPE, "linux:linux_kernel", "6.1.95")]
        );
        // Version '-' or '*': the purl's upstream version (OpenWrt's -6 dropped).
        let purl = format!(
            "pkg:generic/dropbear@2022.82-6?distro=openwrt-23.05.3&cpe={}",
            enc("cpe:2.3:a:dropbear_ssh_project:dropbear_ssh:-:*:*:*:*:*:*:*")
        );
        assert_eq!(
            package_keys(&purl),
            vec![k(CPE, "dropbear_ssh_project:dropbear_ssh", "2022.82")]
        );
        // Escaped characters in fields; vendor `*` (CVE_PRODUCT without vendor).
        let purl = format!(
            "pkg:yocto/busybox@1.36.1?cpe={}",
            enc(r"cpe:2.3:a:*:busy\:box:1.36.1:*:*:*:*:*:*:*")
        );
        assert_eq!(package_keys(&purl), vec![k(CPE, "*:busy:box", "1.36.1")]);
    }

    #[test]
    fn upstream_part_drops_epoch_and_packaging_revision() {
        assert_eq!(upstream_part("1.36.1-r0"), "1.36.1");
        assert_eq!(upstream_part("2022.82-6"), "2022.82");
        assert_eq!(upstream_part("1:2.66-4"), "2.66");
        assert_eq!(upstream_part("1.2-20200910"), "1.2-20200910");
        assert_eq!(upstream_part("6.1.95"), "6.1.95");
        assert_eq!(upstream_part("-1"), "-1");
    }

    #[test]
    fn hostile_purls_yield_no_key_and_never_panic() {
        for p in [
            "",
            "pkg:",
            "pkg:/@",
            "pkg:a/b@%",
            "pkg:yocto/x@1?cpe=",
            "pkg:yocto/x@1?cpe=cpe:2.3:a",
            "pkg:yocto/x@1?cpe=cpe%3A2.3%3Aa%3A%3A%3A%3A%3A%3A%3A%3A%3A%3A",
            "pkg:yocto/x@1?cpe=cpe:2.3:a:v:p:1:*:*:*:*:*:*:*:extra",
            "pkg:yocto/x@1?cpe=cpe:2.3:q:v:p:1:*:*:*:*:*:*:*",
            "pkg:yocto/x@1?cpe=\\",
            "pkg:yocto/x@?cpe=cpe:2.3:a:v:p:-:*:*:*:*:*:*:*",
            "pkg:rpm/x/y@1?distro=rhel-&epoch=%ff",
            "pkg:rpm/x/y@1?distro=-9",
            "pkg:rpm/x/y@1?distro=sles-x.1",
            "pkg:deb/debian/x@1?distro=debian-",
            "pkg:x/%e9@1?upstream=",
        ] {
            let keys = package_keys(p);
            assert!(keys.is_empty(), "{p}: {keys:?}");
        }
        let many = format!(
            "pkg:yocto/x@1?cpe={}",
            vec!["cpe:2.3:a:v:p:1:*:*:*:*:*:*:*"; 100]
                .iter()
                .enumerate()
                .map(|(i, c)| c.replace(":p:", &format!(":p{i}:")))
                .collect::<Vec<_>>()
                .join("%2C")
        );
        assert_eq!(package_keys(&many).len(), MAX_CPES);
    }
}
