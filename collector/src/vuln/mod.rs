//! Vulnerability matching on attested inventories with OSV advisories
//! (https://ossf.github.io/osv-schema/) imported from files (air-gapped
//! sites): parsing, the ecosystem of an attested package (from its purl),
//! and the OSV range evaluation with each ecosystem's version ordering.

pub mod version;

use crate::store::{PutAdvisory, Store, VexEntry};
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
fn purl_parts(purl: &str) -> Option<(&str, String, &str, &str)> {
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
    fn accepted_findings_carry_into_the_vex_justification() {
        use crate::store::SqliteStore;
        use ciborium::value::Value as C;
        use fieldattest_protocol::eat::{Claims, FindingRef, CF_COSWID};
        use fieldattest_protocol::token::{self, PublicKey};
        use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
        let store = SqliteStore::memory().unwrap();
        let rng = ring::rand::SystemRandom::new();
        let p8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let kp =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, p8.as_ref(), &rng).unwrap();
        let pk = PublicKey::from_sec1(kp.public_key().as_ref()).unwrap();
        let ueid = vec![1u8; 33];
        let id = store
            .insert_device(&pk.kid(), &ueid, &pk.0, "plant", 0)
            .unwrap();
        store.set_status(id, "active").unwrap();
        let purl =
            "pkg:deb/debian/telnetd@0.17+2.4-2?arch=arm64&distro=debian-12&upstream=inetutils";
        let coswid = fieldattest_protocol::cbor::to_vec(&C::Map(vec![(
            C::Integer(0.into()),
            C::Text(purl.into()),
        )]));
        let claims = Claims {
            iat: 1,
            cti: vec![7; 16],
            ueid,
            intuse: 1,
            seq: 1,
            key_tier: 3,
            measurements: vec![(CF_COSWID, coswid)],
            findings: vec![FindingRef {
                rule: "services.telnet".into(),
                subject: "telnetd".into(),
                path: "/etc/inetd.conf".into(),
                accepted: Some("only on the isolated maintenance VLAN (SEC-9)".into()),
            }],
            ..Default::default()
        };
        let tok = token::sign(&claims, &pk.kid(), |tbs| {
            kp.sign(&rng, tbs)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| "sign")
        })
        .unwrap();
        crate::verify::accept(&store, &tok, crate::verify::Arrival::Offline, 10).unwrap();
        let adv = r#"{"id":"DEBIAN-CVE-2020-10188","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2020-10188"],
            "affected":[{"package":{"ecosystem":"Debian:12","name":"inetutils"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2:2.4-3"}]}]}]}"#;
        let mut rep = ImportReport::default();
        import_bytes(&store, "adv.json", adv.as_bytes(), 20, &mut rep);
        assert_eq!(rep.new, 1, "{rep:?}");
        let ms = matches(&store).unwrap();
        assert_eq!(ms.len(), 1);
        let v = ms[0].vex.as_ref().unwrap();
        assert_eq!(v.status, "not_affected");
        assert_eq!(
            v.justification.as_deref(),
            Some("protected_by_mitigating_control")
        );
        assert!(v.detail.as_deref().unwrap().contains("maintenance VLAN"));
        assert!(!ms[0].is_open());
        // An operator statement takes precedence over the device's acceptance.
        store
            .set_vex(&VexEntry {
                vuln: "DEBIAN-CVE-2020-10188".into(),
                device_id: Some(id),
                status: "affected".into(),
                justification: None,
                detail: None,
                at: 30,
            })
            .unwrap();
        assert!(matches(&store).unwrap()[0].is_open());
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

/// Counts of one `vulndb import`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub new: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// (file or `zip!entry`, reason) of advisories that were skipped.
    pub errors: Vec<(String, String)>,
}

/// Imports a file's bytes: a zip of OSV JSON files (as osv.dev publishes
/// per ecosystem), a JSON array of advisories, or one advisory.
pub fn import_bytes(store: &dyn Store, name: &str, bytes: &[u8], now: i64, rep: &mut ImportReport) {
    if bytes.starts_with(b"PK\x03\x04") {
        let mut z = match zip::ZipArchive::new(std::io::Cursor::new(bytes)) {
            Ok(z) => z,
            Err(e) => return rep.errors.push((name.into(), format!("zip: {e}"))),
        };
        for i in 0..z.len() {
            let mut f = match z.by_index(i) {
                Ok(f) => f,
                Err(e) => {
                    rep.errors
                        .push((format!("{name}!#{i}"), format!("zip: {e}")));
                    continue;
                }
            };
            let entry = format!("{name}!{}", f.name());
            if !f.name().ends_with(".json") {
                continue;
            }
            if f.size() > 16 * 1024 * 1024 {
                rep.errors.push((entry, "larger than 16 MiB".into()));
                continue;
            }
            let mut text = String::new();
            if let Err(e) = std::io::Read::read_to_string(&mut f, &mut text) {
                rep.errors.push((entry, e.to_string()));
                continue;
            }
            import_text(store, &entry, &text, now, rep);
        }
        return;
    }
    match std::str::from_utf8(bytes) {
        Ok(t) => import_text(store, name, t, now, rep),
        Err(_) => rep.errors.push((name.into(), "not UTF-8 JSON".into())),
    }
}

fn import_text(store: &dyn Store, origin: &str, text: &str, now: i64, rep: &mut ImportReport) {
    let docs: Vec<String> = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(a)) => a.iter().map(|v| v.to_string()).collect(),
        Ok(_) => vec![text.to_string()],
        Err(e) => return rep.errors.push((origin.into(), format!("JSON: {e}"))),
    };
    for d in docs {
        let adv = match parse(&d) {
            Ok(a) => a,
            Err(e) => {
                rep.errors.push((origin.into(), e));
                continue;
            }
        };
        let keys: Vec<(String, String)> = adv
            .affected
            .iter()
            .map(|a| (a.ecosystem.clone(), a.name.clone()))
            .collect();
        match store.put_advisory(&adv.id, &adv.modified, &keys, &d, origin, now) {
            Ok(PutAdvisory::New) => rep.new += 1,
            Ok(PutAdvisory::Updated) => rep.updated += 1,
            Ok(PutAdvisory::Unchanged) => rep.unchanged += 1,
            Err(e) => rep.errors.push((origin.into(), format!("storage: {e}"))),
        }
    }
}

/// One affected package on one device.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub device_id: i64,
    pub vuln: String,
    pub aliases: Vec<String>,
    pub summary: Option<String>,
    pub severity: Option<(String, String)>,
    pub purl: String,
    pub ecosystem: String,
    pub package: String,
    pub version: String,
    pub fixed: Option<String>,
    /// The operator's statement: device-specific, else fleet-wide.
    pub vex: Option<VexEntry>,
}

impl Match {
    /// Open: no VEX statement, or one saying affected / under investigation.
    pub fn is_open(&self) -> bool {
        self.vex
            .as_ref()
            .is_none_or(|v| matches!(v.status.as_str(), "affected" | "under_investigation"))
    }
}

/// Matches every active device's latest attested inventory against the
/// imported advisories.
pub fn matches(store: &dyn Store) -> Result<Vec<Match>, String> {
    use std::collections::HashMap;
    let vex = store.vex_entries()?;
    let mut cache: HashMap<(String, String), Vec<Advisory>> = HashMap::new();
    let mut out = Vec::new();
    for (device, purls) in store.latest_packages()? {
        // Compensating countermeasures the device reported as accepted findings.
        let accepted: Vec<fieldattest_protocol::eat::FindingRef> = store
            .latest_token(device)?
            .and_then(|t| {
                let (sign1, _) = fieldattest_protocol::token::parse(&t.raw).ok()?;
                fieldattest_protocol::eat::decode(sign1.payload.as_deref()?).ok()
            })
            .map(|c| {
                c.findings
                    .into_iter()
                    .filter(|f| f.accepted.is_some())
                    .collect()
            })
            .unwrap_or_default();
        for purl in purls {
            let Some((eco, name, ver)) = package_key(&purl) else {
                continue;
            };
            // The binary package name, which accepted findings may name.
            let binary = purl_parts(&purl).map(|p| p.1).unwrap_or_default();
            let key = (eco.clone(), name.clone());
            if !cache.contains_key(&key) {
                let advs = store
                    .advisories_for(&eco, &name)?
                    .into_iter()
                    .filter_map(|(_, raw)| parse(&raw).ok())
                    .collect();
                cache.insert(key.clone(), advs);
            }
            for adv in &cache[&key] {
                let hit = adv
                    .affected
                    .iter()
                    .filter(|a| a.ecosystem == eco && a.name == name)
                    .find_map(|a| evaluate(a, &ver));
                let Some(fixed) = hit else {
                    continue;
                };
                let v = vex
                    .iter()
                    .find(|v| v.vuln == adv.id && v.device_id == Some(device))
                    .or_else(|| {
                        vex.iter()
                            .find(|v| v.vuln == adv.id && v.device_id.is_none())
                    })
                    .cloned()
                    .or_else(|| {
                        // An accepted finding about this package or vulnerability
                        // carries its countermeasure into the VEX justification.
                        let f = accepted.iter().find(|f| {
                            [name.as_str(), binary.as_str(), adv.id.as_str()]
                                .contains(&f.subject.as_str())
                                || adv.aliases.contains(&f.subject)
                        })?;
                        Some(VexEntry {
                            vuln: adv.id.clone(),
                            device_id: Some(device),
                            status: "not_affected".into(),
                            justification: Some("protected_by_mitigating_control".into()),
                            detail: Some(format!(
                                "accepted finding {} ({}): {}",
                                f.rule,
                                f.subject,
                                f.accepted.as_deref().unwrap_or("")
                            )),
                            at: 0,
                        })
                    });
                out.push(Match {
                    device_id: device,
                    vuln: adv.id.clone(),
                    aliases: adv.aliases.clone(),
                    summary: adv.summary.clone(),
                    severity: adv.severity.clone(),
                    purl: purl.clone(),
                    ecosystem: eco.clone(),
                    package: name.clone(),
                    version: ver.clone(),
                    fixed,
                    vex: v,
                });
            }
        }
    }
    Ok(out)
}

/// One row of the `vulns` listing: an advisory on a device for one source
/// package, with every binary package of that source it matched (glibc's
/// advisory is one row for libc6 and libc-bin, not two).
#[derive(Debug, Clone, PartialEq)]
pub struct Listed<'a> {
    /// The first match of the group (device, advisory, source, fix, VEX).
    pub first: &'a Match,
    /// Binary package names, sorted, without repeats.
    pub binaries: Vec<String>,
    /// Installed versions, sorted, without repeats (normally one).
    pub versions: Vec<String>,
}

/// Groups matches by (device, advisory, ecosystem, source package), in the
/// order of their first match.
pub fn listing(ms: &[Match]) -> Vec<Listed<'_>> {
    use std::collections::HashMap;
    let mut at: HashMap<(i64, &str, &str, &str), usize> = HashMap::new();
    let mut out: Vec<Listed> = Vec::new();
    for m in ms {
        let key = (
            m.device_id,
            m.vuln.as_str(),
            m.ecosystem.as_str(),
            m.package.as_str(),
        );
        let i = *at.entry(key).or_insert_with(|| {
            out.push(Listed {
                first: m,
                binaries: Vec::new(),
                versions: Vec::new(),
            });
            out.len() - 1
        });
        let l = &mut out[i];
        let binary = purl_parts(&m.purl)
            .map(|p| p.1)
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| m.package.clone());
        if !l.binaries.contains(&binary) {
            l.binaries.push(binary);
        }
        if !l.versions.contains(&m.version) {
            l.versions.push(m.version.clone());
        }
    }
    for l in &mut out {
        l.binaries.sort();
        l.versions.sort();
    }
    out
}

/// CycloneDX `analysis.justification` values (1.6).
pub const JUSTIFICATIONS: &[&str] = &[
    "code_not_present",
    "code_not_reachable",
    "requires_configuration",
    "requires_dependency",
    "requires_environment",
    "protected_by_compiler",
    "protected_at_runtime",
    "protected_at_perimeter",
    "protected_by_mitigating_control",
];

/// Our VEX statuses (OpenVEX / CSAF names) → CycloneDX `analysis.state`.
pub fn cdx_state(status: &str) -> Option<&'static str> {
    Some(match status {
        "not_affected" => "not_affected",
        "affected" => "exploitable",
        "fixed" => "resolved",
        "under_investigation" => "in_triage",
        _ => return None,
    })
}

fn cvss_method(kind: &str, score: &str) -> &'static str {
    match kind {
        "CVSS_V2" => "CVSSv2",
        "CVSS_V4" => "CVSSv4",
        "CVSS_V3" if score.starts_with("CVSS:3.1") => "CVSSv31",
        "CVSS_V3" => "CVSSv3",
        _ => "other",
    }
}

/// A CycloneDX 1.6 VEX document for the matches of one device (or the
/// fleet): each affected package as a component, each vulnerability with
/// its rating, the operator's analysis (state, justification, detail) and
/// the components it affects.
pub fn vex_document(matches: &[Match], serial: &str, timestamp: &str) -> Value {
    use serde_json::json;
    use std::collections::BTreeMap;
    let mut components: BTreeMap<String, Value> = BTreeMap::new();
    let mut vulns: BTreeMap<String, (Value, Vec<Value>)> = BTreeMap::new();
    for m in matches {
        let cref = format!("device-{}:{}", m.device_id, m.purl);
        components.entry(cref.clone()).or_insert_with(|| {
            json!({"type": "library", "bom-ref": cref, "name": m.package, "version": m.version, "purl": m.purl,
                   "properties": [{"name": "fieldattest:device", "value": m.device_id.to_string()}]})
        });
        let entry = vulns.entry(m.vuln.clone()).or_insert_with(|| {
            let mut v = json!({
                "bom-ref": format!("vuln:{}", m.vuln),
                "id": m.vuln,
                "source": {"name": "OSV", "url": format!("https://osv.dev/vulnerability/{}", m.vuln)},
            });
            if let Some(sm) = &m.summary {
                v["description"] = json!(sm);
            }
            if !m.aliases.is_empty() {
                v["references"] = Value::Array(
                    m.aliases
                        .iter()
                        .map(|a| json!({"id": a, "source": {"name": if a.starts_with("CVE-") {"NVD"} else {"OSV"}}}))
                        .collect(),
                );
            }
            if let Some((kind, score)) = &m.severity {
                v["ratings"] = json!([{"method": cvss_method(kind, score), "vector": score}]);
            }
            let mut analysis = json!({"state": "in_triage"});
            if let Some(x) = &m.vex {
                analysis["state"] = json!(cdx_state(&x.status).unwrap_or("in_triage"));
                if let Some(j) = &x.justification {
                    analysis["justification"] = json!(j);
                }
                if let Some(d) = &x.detail {
                    analysis["detail"] = json!(d);
                }
            }
            v["analysis"] = analysis;
            (v, Vec::new())
        });
        let status = match m.vex.as_ref().map(|v| v.status.as_str()) {
            Some("not_affected") | Some("fixed") => "unaffected",
            Some("under_investigation") => "unknown",
            _ => "affected",
        };
        entry
            .1
            .push(json!({"ref": cref, "versions": [{"version": m.version, "status": status}]}));
    }
    let vulnerabilities: Vec<Value> = vulns
        .into_values()
        .map(|(mut v, affects)| {
            v["affects"] = Value::Array(affects);
            v
        })
        .collect();
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial,
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": {"components": [{"type": "application", "name": "fieldattest-collector", "version": env!("CARGO_PKG_VERSION")}]},
        },
        "components": components.into_values().collect::<Vec<_>>(),
        "vulnerabilities": vulnerabilities,
    })
}
