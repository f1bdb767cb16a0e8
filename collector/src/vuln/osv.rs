//! OSV advisories: parsing, each ecosystem's version ordering, the range
//! evaluation, and the (ecosystem, package, version) of an attested package
//! from its purl.

use super::version;
use serde_json::Value;
use std::cmp::Ordering;

/// One `affected[]` entry of an advisory.
#[derive(Debug, Clone, PartialEq)]
pub struct Affected {
    pub ecosystem: String,
    pub name: String,
    pub ranges: Vec<Range>,
    /// Explicitly listed affected versions.
    pub versions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    /// `ECOSYSTEM`, `SEMVER` (`GIT` ranges cannot be evaluated on versions).
    pub kind: String,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Advisory {
    pub id: String,
    pub modified: String,
    pub summary: Option<String>,
    pub aliases: Vec<String>,
    /// (type, score) of the first `severity[]` entry, e.g. (`CVSS_V3`, vector).
    pub severity: Option<(String, String)>,
    pub affected: Vec<Affected>,
}

fn s(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// Parses one OSV advisory (JSON object).
pub fn parse(text: &str) -> Result<Advisory, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("JSON: {e}"))?;
    let id = s(&v["id"]).filter(|i| !i.is_empty()).ok_or("no id")?;
    let modified = s(&v["modified"]).ok_or_else(|| format!("{id}: no modified date"))?;
    let mut affected = Vec::new();
    for (i, a) in v["affected"].as_array().into_iter().flatten().enumerate() {
        let pkg = &a["package"];
        let (Some(ecosystem), Some(name)) = (s(&pkg["ecosystem"]), s(&pkg["name"])) else {
            return Err(format!(
                "{id}: affected[{i}] without package ecosystem and name"
            ));
        };
        let mut ranges = Vec::new();
        for (j, r) in a["ranges"].as_array().into_iter().flatten().enumerate() {
            let kind = s(&r["type"])
                .ok_or_else(|| format!("{id}: affected[{i}].ranges[{j}] without type"))?;
            let mut events = Vec::new();
            for e in r["events"].as_array().into_iter().flatten() {
                let o = e
                    .as_object()
                    .ok_or_else(|| format!("{id}: event is not an object"))?;
                let (k, val) = o
                    .iter()
                    .next()
                    .ok_or_else(|| format!("{id}: empty event"))?;
                let val = val
                    .as_str()
                    .ok_or_else(|| format!("{id}: event {k} is not a string"))?
                    .to_string();
                events.push(match k.as_str() {
                    "introduced" => Event::Introduced(val),
                    "fixed" => Event::Fixed(val),
                    "last_affected" => Event::LastAffected(val),
                    "limit" => Event::Limit(val),
                    other => return Err(format!("{id}: unknown event {other:?}")),
                });
            }
            ranges.push(Range { kind, events });
        }
        let versions = a["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(s)
            .collect();
        affected.push(Affected {
            ecosystem,
            name,
            ranges,
            versions,
        });
    }
    if affected.is_empty() {
        return Err(format!("{id}: no affected packages"));
    }
    let severity = v["severity"]
        .as_array()
        .and_then(|a| a.first())
        .and_then(|x| Some((s(&x["type"])?, s(&x["score"])?)));
    Ok(Advisory {
        aliases: v["aliases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(s)
            .collect(),
        summary: s(&v["summary"]),
        id,
        modified,
        severity,
        affected,
    })
}

/// The version ordering of an OSV ecosystem (`Debian:12`, `Alpine:v3.19`).
pub fn ordering(ecosystem: &str) -> fn(&str, &str) -> Ordering {
    match ecosystem.split(':').next().unwrap_or("") {
        "Debian" | "Ubuntu" => version::dpkg_cmp,
        "Alpine" => version::apk_ordering(ecosystem),
        _ => version::semver_cmp,
    }
}

/// Whether `version` is affected; `Some(fixed)` with the first fixed
/// version above it (if the advisory names one).
pub fn evaluate(a: &Affected, version: &str) -> Option<Option<String>> {
    let cmp = ordering(&a.ecosystem);
    if a.versions
        .iter()
        .any(|v| cmp(v, version) == Ordering::Equal)
    {
        return Some(None);
    }
    for r in a.ranges.iter().filter(|r| r.kind != "GIT") {
        let key = |e: &Event| match e {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => {
                v.clone()
            }
        };
        let mut evs = r.events.clone();
        // "0" (introduced at the beginning) sorts first.
        evs.sort_by(|x, y| match (key(x).as_str(), key(y).as_str()) {
            ("0", "0") => Ordering::Equal,
            ("0", _) => Ordering::Less,
            (_, "0") => Ordering::Greater,
            (p, q) => cmp(p, q),
        });
        let mut affected = false;
        let mut fixed_above = None;
        for e in &evs {
            match e {
                Event::Introduced(v) if v == "0" || cmp(version, v) != Ordering::Less => {
                    affected = true
                }
                Event::Fixed(v) if cmp(version, v) != Ordering::Less => affected = false,
                Event::Fixed(v) if affected && fixed_above.is_none() => {
                    fixed_above = Some(v.clone())
                }
                Event::LastAffected(v) if cmp(version, v) == Ordering::Greater => affected = false,
                Event::Limit(v) if cmp(version, v) != Ordering::Less => affected = false,
                _ => {}
            }
        }
        if affected {
            return Some(fixed_above);
        }
    }
    None
}

/// (OSV ecosystem, package name, version) of an attested package, from its
/// purl: Debian and Alpine advisories are keyed by *source* package, which
/// the purl carries in `upstream` (Syft's convention) when it differs.
pub fn package_key(purl: &str) -> Option<(String, String, String)> {
    let (ty, name, version, query) = purl_parts(purl)?;
    let mut distro = None;
    let mut upstream = None;
    for kv in query.split('&') {
        match kv.split_once('=') {
            Some(("distro", d)) => distro = Some(pct_decode(d)),
            Some(("upstream", u)) => upstream = Some(pct_decode(u)),
            _ => {}
        }
    }
    let version = pct_decode(version);
    let (src, src_version) = match upstream
        .as_deref()
        .map(|u| u.split_once('@').unwrap_or((u, "")))
    {
        Some((n, v)) => (n.to_string(), (!v.is_empty()).then(|| v.to_string())),
        None => (name, None),
    };
    let version = src_version.unwrap_or(version);
    match ty {
        "deb" => {
            // distro=debian-12 → Debian:12
            let d = distro?;
            let (os, ver) = d.split_once('-')?;
            let eco = match os {
                "debian" => format!("Debian:{}", ver.split('.').next().unwrap_or(ver)),
                "ubuntu" => format!("Ubuntu:{ver}"),
                _ => return None,
            };
            Some((eco, src, version))
        }
        "apk" => {
            // distro=alpine-3.19.1 → Alpine:v3.19
            let d = distro?;
            let ver = d.strip_prefix("alpine-")?;
            let mm: Vec<&str> = ver.split('.').take(2).collect();
            Some((format!("Alpine:v{}", mm.join(".")), src, version))
        }
        _ => None,
    }
}

/// (type, decoded name, raw version, raw qualifiers) of a purl.
pub(super) fn purl_parts(purl: &str) -> Option<(&str, String, &str, &str)> {
    let rest = purl.strip_prefix("pkg:")?;
    let (ty, rest) = rest.split_once('/')?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (ns_name, version) = path.rsplit_once('@')?;
    Some((ty, pct_decode(ns_name.rsplit('/').next()?), version, query))
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        // Bytes, not `&str` slices: a device-controlled purl may put a
        // multi-byte character right after '%'.
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pct_decode_hostile_never_panics() {
        assert_eq!(pct_decode("a%2Bb"), "a+b");
        assert_eq!(pct_decode("%aé"), "%aé");
        assert_eq!(pct_decode("%é1"), "%é1");
        assert_eq!(pct_decode("x%"), "x%");
        assert_eq!(pct_decode("x%4"), "x%4");
        assert_eq!(pct_decode("%zz%41"), "%zzA");
    }

    fn aff(eco: &str, events: &[(&str, &str)]) -> Affected {
        Affected {
            ecosystem: eco.into(),
            name: "x".into(),
            versions: vec![],
            ranges: vec![Range {
                kind: "ECOSYSTEM".into(),
                events: events
                    .iter()
                    .map(|(k, v)| match *k {
                        "introduced" => Event::Introduced(v.to_string()),
                        "fixed" => Event::Fixed(v.to_string()),
                        "last_affected" => Event::LastAffected(v.to_string()),
                        _ => Event::Limit(v.to_string()),
                    })
                    .collect(),
            }],
        }
    }

    #[test]
    fn range_shapes() {
        let a = aff(
            "Debian:12",
            &[("introduced", "0"), ("fixed", "1:1.2.13.dfsg-1+deb12u1")],
        );
        assert_eq!(
            evaluate(&a, "1:1.2.13.dfsg-1"),
            Some(Some("1:1.2.13.dfsg-1+deb12u1".into()))
        );
        assert_eq!(evaluate(&a, "1:1.2.13.dfsg-1+deb12u1"), None);
        assert_eq!(
            evaluate(&a, "1.3"),
            Some(Some("1:1.2.13.dfsg-1+deb12u1".into())),
            "epoch 0 < 1"
        );
        let la = aff(
            "Alpine:v3.19",
            &[("introduced", "3.1.0-r0"), ("last_affected", "3.1.4-r3")],
        );
        assert_eq!(evaluate(&la, "3.1.4-r3"), Some(None));
        assert_eq!(evaluate(&la, "3.1.4-r4"), None);
        assert_eq!(evaluate(&la, "3.0.9-r0"), None);
        // Two ranges: 1.x fixed in 1.4, 2.x fixed in 2.1.
        let mut two = aff("Debian:12", &[("introduced", "1.0"), ("fixed", "1.4")]);
        two.ranges.push(
            aff("Debian:12", &[("introduced", "2.0"), ("fixed", "2.1")])
                .ranges
                .remove(0),
        );
        assert!(evaluate(&two, "1.3").is_some());
        assert!(evaluate(&two, "1.5").is_none());
        assert_eq!(evaluate(&two, "2.0~rc1"), None, "~ sorts before 2.0");
        assert_eq!(evaluate(&two, "2.0.5"), Some(Some("2.1".into())));
    }

    #[test]
    fn purl_keys() {
        assert_eq!(
            package_key("pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=arm64&distro=debian-12&upstream=openssl"),
            Some(("Debian:12".into(), "openssl".into(), "3.0.11-1~deb12u2".into()))
        );
        assert_eq!(
            package_key(
                "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib"
            ),
            Some(("Debian:12".into(), "zlib".into(), "1:1.2.13.dfsg-1".into()))
        );
        assert_eq!(
            package_key("pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=arm64&distro=debian-12&upstream=glibc%402.36-9%2Bdeb12u4"),
            Some(("Debian:12".into(), "glibc".into(), "2.36-9+deb12u4".into()))
        );
        assert_eq!(
            package_key("pkg:apk/alpine/libcrypto3@3.1.4-r1?arch=aarch64&distro=alpine-3.19.1&upstream=openssl"),
            Some(("Alpine:v3.19".into(), "openssl".into(), "3.1.4-r1".into()))
        );
        assert_eq!(package_key("pkg:yocto/busybox@1.36.1?arch=cortexa53"), None);
    }
}
