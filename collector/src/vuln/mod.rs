//! Vulnerability matching on attested inventories with advisories imported
//! from files (air-gapped sites): `osv` parses advisories (OSV,
//! https://ossf.github.io/osv-schema/, and CPE-keyed ones stored in the
//! same shape) and evaluates their ranges with each ecosystem's ordering
//! (`version`); `identity` maps a purl to the (ecosystem, package, version)
//! keys its advisories are filed under; this module imports advisories,
//! matches package sets and devices — every key of a component, with the
//! VEX statements that apply in their order of precedence (the operator's,
//! the supplier's, the image's CVE_STATUS, an accepted finding) — and
//! records what matching could not see (coverage); `risk` ranks matches;
//! `vex` renders statements as CycloneDX.

pub mod version;

use crate::store::{
    Coverage, DeviceCveStatus, SetMatch, SetVuln, Statement, Store, SupplierVex, VexEntry,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

pub mod feeds;
mod fleet;
pub mod identity;
mod osv;
pub mod risk;
mod vex;

pub use feeds::{import_bytes, import_file, ImportReport};
pub use fleet::{band, fleet_open, fleet_open_where, FleetFilter, FleetVuln};

pub use identity::package_keys;
use osv::purl_parts;
pub use osv::{
    component, evaluate, ordering, parse, to_json, Advisory, Affected, Event, Range, VersionStatus,
};
pub use vex::{cdx_state, vex_document, JUSTIFICATIONS};

/// One advisory hit on one package tag.
#[derive(Debug, Clone, PartialEq)]
struct Hit {
    vuln: String,
    aliases: Vec<String>,
    summary: Option<String>,
    severity: Option<(String, String)>,
    cvss: Vec<(String, String)>,
    purl: String,
    /// The binary package (the purl's name).
    binary: String,
    /// The component: the source package, or the recipe / package of a
    /// CPE-keyed match.
    component: String,
    ecosystem: String,
    version: String,
    fixed: Option<String>,
    supplier: Option<Statement>,
}

/// What matching reads once per run: the parsed advisories per key, the
/// ecosystems holding any advisory, the supplier's VEX statements.
struct Matcher<'a> {
    store: &'a dyn Store,
    cache: HashMap<(String, String), Vec<Advisory>>,
    ecosystems: HashSet<String>,
    supplier: Vec<SupplierVex>,
}

/// Unidentified components named in a coverage note before "+N more".
const NOTE_NAMES: usize = 20;

impl<'a> Matcher<'a> {
    fn new(store: &'a dyn Store) -> Result<Self, String> {
        Ok(Matcher {
            store,
            cache: HashMap::new(),
            ecosystems: store.advisory_ecosystems()?.into_iter().collect(),
            supplier: store.supplier_vex()?,
        })
    }

    /// The parsed advisories filed under (ecosystem, package).
    fn held(&mut self, eco: &str, name: &str) -> Result<&[Advisory], String> {
        let key = (eco.to_string(), name.to_string());
        if !self.cache.contains_key(&key) {
            let advs = self
                .store
                .advisories_for(eco, name)?
                .into_iter()
                .filter_map(|(_, raw)| parse(&raw).ok())
                .collect();
            self.cache.insert(key.clone(), advs);
        }
        Ok(self.cache.get(&key).map(Vec::as_slice).unwrap_or(&[]))
    }

    /// Every advisory hit on the tags, their coverage and their keys.
    fn tags(
        &mut self,
        tags: &[String],
    ) -> Result<(Vec<Hit>, Coverage, Vec<(String, String)>), String> {
        let mut hits = Vec::new();
        // (advisory, tag): one hit however many keys of the tag it names.
        let mut seen: HashSet<(String, String)> = HashSet::new();
        let mut keys_seen: BTreeSet<(String, String)> = BTreeSet::new();
        let mut cov = Coverage {
            total: tags.len() as u64,
            sets: 1,
            ..Default::default()
        };
        let mut unidentified: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut nodata: BTreeMap<String, u64> = BTreeMap::new();
        for purl in tags {
            let keys = package_keys(purl);
            if keys.is_empty() {
                cov.unidentified += 1;
                let (why, name) = identity::describe(purl);
                unidentified.entry(why).or_default().push(name);
                continue;
            }
            if !keys.iter().any(|k| self.ecosystems.contains(&k.0)) {
                cov.uncovered += 1;
                let ecos: BTreeSet<&str> = keys.iter().map(|k| k.0.as_str()).collect();
                for e in ecos {
                    *nodata.entry(e.to_string()).or_default() += 1;
                }
            }
            let (binary, _, source) = component(purl);
            for (eco, name, ver) in &keys {
                keys_seen.insert((eco.clone(), name.clone()));
                let comp = if eco == identity::CPE {
                    source.clone()
                } else {
                    name.clone()
                };
                let supplier = std::mem::take(&mut self.supplier);
                for adv in self.held(eco, name)? {
                    let Some(fixed) = adv
                        .affected
                        .iter()
                        .filter(|a| a.ecosystem == *eco && a.name == *name)
                        .find_map(|a| evaluate(a, ver))
                    else {
                        continue;
                    };
                    if !seen.insert((adv.id.clone(), purl.clone())) {
                        continue;
                    }
                    hits.push(Hit {
                        vuln: adv.id.clone(),
                        aliases: adv.aliases.clone(),
                        summary: adv.summary.clone(),
                        severity: adv.severity.clone(),
                        cvss: adv.cvss.clone(),
                        purl: purl.clone(),
                        binary: binary.clone(),
                        component: comp.clone(),
                        ecosystem: eco.clone(),
                        version: ver.clone(),
                        fixed,
                        supplier: supplier_statement(&supplier, adv, purl, eco, name, ver),
                    });
                }
                self.supplier = supplier;
            }
        }
        for (why, mut names) in unidentified {
            names.sort();
            names.dedup();
            let more = names.len().saturating_sub(NOTE_NAMES);
            names.truncate(NOTE_NAMES);
            let mut note = format!("{why} {}", names.join(", "));
            if more > 0 {
                note += &format!(" (+{more} more)");
            }
            cov.notes.push(note);
        }
        for (eco, n) in &nodata {
            cov.notes.push(format!(
                "{eco}: no advisories imported ({n} component{})",
                if *n == 1 { "" } else { "s" }
            ));
        }
        cov.nodata = nodata.into_keys().collect();
        Ok((hits, cov, keys_seen.into_iter().collect()))
    }
}

/// Our VEX status of a supplier's (OpenVEX, CSAF, CycloneDX names).
fn vex_status(s: &str) -> Option<&'static str> {
    Some(match s.to_ascii_lowercase().as_str() {
        "not_affected" | "known_not_affected" | "false_positive" => "not_affected",
        "affected" | "known_affected" | "exploitable" => "affected",
        "fixed" | "first_fixed" | "resolved" | "resolved_with_pedigree" => "fixed",
        "under_investigation" | "in_triage" => "under_investigation",
        _ => return None,
    })
}

/// Whether a supplier's product (a purl, with or without version, or a
/// CPE) names this package.
fn product_matches(product: &str, purl: &str, eco: &str, key: &str, version: &str) -> bool {
    let product = product.trim();
    if let Some(rest) = product.strip_prefix("pkg:") {
        let Some((ty, name, ver, _)) = purl_parts(purl) else {
            return false;
        };
        let path = rest.split(['?', '#']).next().unwrap_or("");
        let (path, pver) = match path.rsplit_once('@') {
            Some((p, v)) => (p, Some(osv::pct_decode(v))),
            None => (path, None),
        };
        let Some((pty, pns_name)) = path.split_once('/') else {
            return false;
        };
        let pname = osv::pct_decode(pns_name.rsplit('/').next().unwrap_or(""));
        let names_it = pty == ty && (pname == name || pname == component(purl).2);
        return names_it && pver.is_none_or(|v| v == osv::pct_decode(ver));
    }
    match identity::cpe_key(product) {
        Some((vp, v)) => {
            eco == identity::CPE
                && vp == key
                && v.is_none_or(|v| version::cpe_cmp(&v, version).is_eq())
        }
        None => false,
    }
}

/// The supplier's statement on `adv` for this package: the latest one
/// naming the advisory (or an alias) and the product.
fn supplier_statement(
    all: &[SupplierVex],
    adv: &Advisory,
    purl: &str,
    eco: &str,
    key: &str,
    version: &str,
) -> Option<Statement> {
    all.iter()
        .filter(|s| s.vuln == adv.id || adv.aliases.contains(&s.vuln))
        .filter(|s| vex_status(&s.status).is_some())
        .filter(|s| product_matches(&s.product, purl, eco, key, version))
        .max_by_key(|s| s.at)
        .map(|s| Statement {
            status: vex_status(&s.status).unwrap_or("affected").to_string(),
            justification: s.justification.clone(),
            detail: s.detail.clone(),
            source: format!("supplier: {}", s.source),
        })
}

/// The VEX statement of an image's CVE_STATUS entry (ISSUE18): `Patched`
/// → fixed (CycloneDX `resolved`); `Ignored` as not applicable to the
/// configuration / platform, or with an incorrect CPE → not_affected
/// (requires_configuration / requires_environment / code_not_present);
/// anything else (`Unpatched`, disputed, upstream-wontfix) leaves the
/// vulnerability open: `None`. The store's `OPEN` decides the same.
pub fn cve_status_vex(status: &str, detail: &str) -> Option<(&'static str, Option<&'static str>)> {
    match status {
        "Patched" | "1" => Some(("fixed", None)),
        "Ignored" | "2" => match detail {
            "not-applicable-config" => Some(("not_affected", Some("requires_configuration"))),
            "not-applicable-platform" => Some(("not_affected", Some("requires_environment"))),
            "cpe-incorrect" => Some(("not_affected", Some("code_not_present"))),
            _ => None,
        },
        _ => None,
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
    /// Every (type, vector) the advisory gives.
    pub cvss: Vec<(String, String)>,
    pub purl: String,
    pub ecosystem: String,
    /// The component: source package, or recipe / package (CPE matches).
    pub package: String,
    pub version: String,
    pub fixed: Option<String>,
    /// The statement that decides: the operator's (device-specific, else
    /// fleet-wide), the supplier's, the image's CVE_STATUS, an accepted
    /// finding — the first there is.
    pub vex: Option<VexEntry>,
    /// Where `vex` comes from: `operator`, `supplier: …`, `image
    /// CVE_STATUS`, `accepted finding`.
    pub vex_source: Option<String>,
    /// The image's CVE_STATUS entry when it leaves the vulnerability open
    /// (`Unpatched`, `Ignored (disputed)`…): shown, not closing.
    pub image_status: Option<String>,
}

impl Match {
    /// Open: no VEX statement, or one saying affected / under investigation.
    pub fn is_open(&self) -> bool {
        self.vex
            .as_ref()
            .is_none_or(|v| matches!(v.status.as_str(), "affected" | "under_investigation"))
    }

    /// The CVE ids of the match (its id and aliases).
    pub fn cves(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.vuln.as_str())
            .chain(self.aliases.iter().map(String::as_str))
            .filter(|a| a.starts_with("CVE-"))
    }
}

/// The accepted findings of a device's latest attestation.
fn accepted_findings(
    store: &dyn Store,
    device: i64,
) -> Result<Vec<fieldattest_protocol::eat::FindingRef>, String> {
    Ok(store
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
        .unwrap_or_default())
}

/// Whether a device CVE_STATUS entry concerns this hit.
fn concerns(s: &DeviceCveStatus, h: &Hit) -> bool {
    (s.vuln == h.vuln || h.aliases.contains(&s.vuln))
        && (s.component == h.component || s.component == h.binary)
}

/// Matches every active device's latest attested inventory against the
/// imported advisories, with the statement deciding each match.
pub fn matches(store: &dyn Store) -> Result<Vec<Match>, String> {
    let vex = store.vex_entries()?;
    let mut cve: HashMap<i64, Vec<DeviceCveStatus>> = HashMap::new();
    for (d, s) in store.cve_status_all()? {
        cve.entry(d).or_default().push(s);
    }
    let mut m = Matcher::new(store)?;
    // Devices of one image share their inventory: matched once.
    let mut done: HashMap<Vec<String>, std::rc::Rc<Vec<Hit>>> = HashMap::new();
    let mut out = Vec::new();
    for (device, mut purls) in store.latest_packages()? {
        purls.sort();
        purls.dedup();
        let hits = match done.get(&purls) {
            Some(h) => h.clone(),
            None => {
                let h = std::rc::Rc::new(m.tags(&purls)?.0);
                done.insert(purls, h.clone());
                h
            }
        };
        if hits.is_empty() {
            continue;
        }
        let accepted = accepted_findings(store, device)?;
        let statuses = cve.get(&device).map(Vec::as_slice).unwrap_or(&[]);
        for h in hits.iter() {
            let operator = vex
                .iter()
                .find(|v| v.vuln == h.vuln && v.device_id == Some(device))
                .or_else(|| {
                    vex.iter()
                        .find(|v| v.vuln == h.vuln && v.device_id.is_none())
                })
                .cloned();
            let entry = |s: &Statement| VexEntry {
                vuln: h.vuln.clone(),
                device_id: Some(device),
                status: s.status.clone(),
                justification: s.justification.clone(),
                detail: s.detail.clone(),
                at: 0,
            };
            let image = statuses.iter().find(|s| concerns(s, h));
            let image_closes = image.and_then(|s| {
                let (status, j) = cve_status_vex(&s.status, &s.detail)?;
                Some(Statement {
                    status: status.into(),
                    justification: j.map(str::to_string),
                    detail: Some(format!("{} ({}): {}", s.status, s.detail, s.description)),
                    source: "image CVE_STATUS".into(),
                })
            });
            // An accepted finding about this package or vulnerability
            // carries its countermeasure into the VEX justification.
            let acceptance = accepted
                .iter()
                .find(|f| {
                    [h.component.as_str(), h.binary.as_str(), h.vuln.as_str()]
                        .contains(&f.subject.as_str())
                        || h.aliases.contains(&f.subject)
                })
                .map(|f| Statement {
                    status: "not_affected".into(),
                    justification: Some("protected_by_mitigating_control".into()),
                    detail: Some(format!(
                        "accepted finding {} ({}): {}",
                        f.rule,
                        f.subject,
                        f.accepted.as_deref().unwrap_or("")
                    )),
                    source: "accepted finding".into(),
                });
            let (v, source) = match operator {
                Some(o) => (Some(o), Some("operator".to_string())),
                None => match h.supplier.clone().or(image_closes).or(acceptance) {
                    Some(s) => (Some(entry(&s)), Some(s.source)),
                    None => (None, None),
                },
            };
            out.push(Match {
                device_id: device,
                vuln: h.vuln.clone(),
                aliases: h.aliases.clone(),
                summary: h.summary.clone(),
                severity: h.severity.clone(),
                cvss: h.cvss.clone(),
                purl: h.purl.clone(),
                ecosystem: h.ecosystem.clone(),
                package: h.component.clone(),
                version: h.version.clone(),
                fixed: h.fixed.clone(),
                vex: v,
                vex_source: source,
                image_status: image
                    .filter(|s| cve_status_vex(&s.status, &s.detail).is_none())
                    .map(|s| format!("{} ({})", s.status, s.detail)),
            });
        }
    }
    Ok(out)
}

/// A numeric score for an advisory's severity: the CVSS base score of a
/// v3 or v4 vector, a number as given, else a label's usual value
/// (critical 9.5, high 8, medium/moderate 5.5, low 2.5).
pub fn score(severity: &(String, String)) -> Option<f64> {
    let (kind, text) = severity;
    if let Some(c) = risk::cvss_score(kind, text) {
        return Some(c.score);
    }
    if text.starts_with("CVSS:") {
        return None;
    }
    if let Ok(n) = text.trim().parse::<f64>() {
        return (0.0..=10.0).contains(&n).then_some(n);
    }
    match text.to_ascii_lowercase().as_str() {
        "critical" => Some(9.5),
        "high" | "important" => Some(8.0),
        "medium" | "moderate" => Some(5.5),
        "low" | "negligible" => Some(2.5),
        _ => None,
    }
}

/// Matches package sets against the imported advisories — those never
/// matched, or (`all`, after an import) every one — and stores one row per
/// (advisory, component) with its binary packages, the keys and the
/// coverage of each set, so the console reads matches without matching
/// per device. Returns the sets matched.
pub fn refresh(store: &dyn Store, all: bool) -> Result<usize, String> {
    match_sets(store, store.pkgsets_to_match(all)?)
}

/// Matches again, after an import, the package sets holding one of the
/// (ecosystem, name) `keys` it touched, those that had no data for one of
/// its ecosystems, and those never matched. Returns the sets matched.
pub fn refresh_keys(store: &dyn Store, keys: &[(String, String)]) -> Result<usize, String> {
    match_sets(store, store.pkgsets_for_keys(keys)?)
}

fn match_sets(store: &dyn Store, sets: Vec<(i64, Vec<String>)>) -> Result<usize, String> {
    let mut m = Matcher::new(store)?;
    let mut out = Vec::with_capacity(sets.len());
    for (set, tags) in sets {
        let (hits, coverage, keys) = m.tags(&tags)?;
        // One row per (advisory, component), with its binary packages.
        let mut rows: BTreeMap<(String, String), (SetVuln, Vec<String>)> = BTreeMap::new();
        for h in hits {
            let row = rows
                .entry((h.vuln.clone(), h.component.clone()))
                .or_insert_with(|| {
                    (
                        SetVuln {
                            vuln: h.vuln.clone(),
                            component: h.component.clone(),
                            ecosystem: h.ecosystem.clone(),
                            packages: String::new(),
                            version: h.version.clone(),
                            fixed: h.fixed.clone(),
                            aliases: h.aliases.join(","),
                            summary: h.summary.clone(),
                            severity: h.severity.as_ref().map(|s| s.1.clone()),
                            score: h.severity.as_ref().and_then(score),
                            cvss: h
                                .cvss
                                .iter()
                                .map(|(t, v)| format!("{t} {v}"))
                                .collect::<Vec<_>>()
                                .join("\n"),
                            supplier: h.supplier.clone(),
                        },
                        Vec::new(),
                    )
                });
            if row.0.supplier.is_none() {
                row.0.supplier = h.supplier;
            }
            if !row.1.contains(&h.binary) {
                row.1.push(h.binary);
            }
        }
        let vulns = rows
            .into_values()
            .map(|(mut v, mut bins)| {
                bins.sort();
                v.packages = bins.join(",");
                v
            })
            .collect();
        out.push(SetMatch {
            set,
            vulns,
            coverage,
            keys,
        });
    }
    let n = out.len();
    for chunk in out.chunks(64) {
        store.put_set_vulns(chunk)?;
    }
    Ok(n)
}

/// One row of the `vulns` listing: an advisory on a device for one
/// component, with every binary package of it that matched (glibc's
/// advisory is one row for libc6 and libc-bin, not two).
#[derive(Debug, Clone, PartialEq)]
pub struct Listed<'a> {
    /// The first match of the group (device, advisory, component, fix, VEX).
    pub first: &'a Match,
    /// Binary package names, sorted, without repeats.
    pub binaries: Vec<String>,
    /// Installed versions, sorted, without repeats (normally one).
    pub versions: Vec<String>,
}

/// Groups matches by (device, advisory, component), in the order of their
/// first match.
pub fn listing(ms: &[Match]) -> Vec<Listed<'_>> {
    let mut at: HashMap<(i64, &str, &str), usize> = HashMap::new();
    let mut out: Vec<Listed> = Vec::new();
    for m in ms {
        let key = (m.device_id, m.vuln.as_str(), m.package.as_str());
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::store::{DeviceCveStatus, DeviceListener, SqliteStore};
    use fieldattest_protocol::eat::FindingRef;

    /// A new active device of `site` attesting `purls` and `findings`.
    fn attest(store: &SqliteStore, site: &str, purls: &[&str], findings: Vec<FindingRef>) -> i64 {
        use ciborium::value::Value as C;
        use fieldattest_protocol::eat::{Claims, CF_COSWID};
        use fieldattest_protocol::token::{self, PublicKey};
        use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
        let rng = ring::rand::SystemRandom::new();
        let p8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let kp =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, p8.as_ref(), &rng).unwrap();
        let pk = PublicKey::from_sec1(kp.public_key().as_ref()).unwrap();
        let mut ueid = vec![1u8];
        ueid.extend(pk.kid().iter().cycle().take(32));
        let id = store
            .insert_device(&pk.kid(), &ueid, &pk.0, site, 0)
            .unwrap();
        store.set_status(id, "active").unwrap();
        let measurements = purls
            .iter()
            .map(|purl| {
                (
                    CF_COSWID,
                    fieldattest_protocol::cbor::to_vec(&C::Map(vec![(
                        C::Integer(0.into()),
                        C::Text(purl.to_string()),
                    )])),
                )
            })
            .collect();
        let claims = Claims {
            iat: 1,
            cti: vec![7; 16],
            ueid,
            intuse: 1,
            seq: 1,
            key_tier: 3,
            measurements,
            findings,
            ..Default::default()
        };
        let tok = token::sign(&claims, &pk.kid(), |tbs| {
            kp.sign(&rng, tbs)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| "sign")
        })
        .unwrap();
        crate::verify::accept(store, &tok, crate::verify::Arrival::Offline, 10).unwrap();
        id
    }

    #[test]
    fn accepted_findings_carry_into_the_vex_justification() {
        let store = SqliteStore::memory().unwrap();
        let purl =
            "pkg:deb/debian/telnetd@0.17+2.4-2?arch=arm64&distro=debian-12&upstream=inetutils";
        let id = attest(
            &store,
            "plant",
            &[purl],
            vec![FindingRef {
                rule: "services.telnet".into(),
                subject: "telnetd".into(),
                path: "/etc/inetd.conf".into(),
                accepted: Some("only on the isolated maintenance VLAN (SEC-9)".into()),
            }],
        );
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

    /// `purl::encode` of scan: a qualifier value as the agent writes it.
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b".-_~:".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    fn cpe_adv(id: &str, product: &str, events: &str) -> String {
        format!(
            r#"{{"id":"{id}","modified":"2024-01-01T00:00:00Z",
              "severity":[{{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}},
                          {{"type":"CVSS_V4","score":"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}}],
              "affected":[{{"package":{{"ecosystem":"CPE","name":"{product}"}},"ranges":[{events}]}}]}}"#
        )
    }

    /// Imports advisories as `vulndb import` does: what they touch is
    /// matched again; (report, sets matched).
    fn import(store: &SqliteStore, docs: &[String]) -> (ImportReport, usize) {
        let mut rep = ImportReport::default();
        let text = format!("[{}]", docs.join(","));
        import_bytes(store, "t.json", text.as_bytes(), 20, &mut rep);
        assert!(rep.errors.is_empty(), "{rep:?}");
        let touched: Vec<(String, String)> = rep.touched.iter().cloned().collect();
        let n = refresh_keys(store, &touched).unwrap();
        (rep, n)
    }

    fn cve(id: &str, comp: &str, status: &str, detail: &str) -> DeviceCveStatus {
        DeviceCveStatus {
            vuln: id.into(),
            component: comp.into(),
            status: status.into(),
            detail: detail.into(),
            description: "from the recipe".into(),
        }
    }

    /// (vuln, component) open on a device, by `matches` (the `vulns`
    /// command) — checked equal to the store's (`OPEN`, the console) and to
    /// the fleet view's count.
    fn open_on(store: &SqliteStore, device: i64) -> Vec<(String, String)> {
        let mut by_matches: Vec<(String, String)> = matches(store)
            .unwrap()
            .into_iter()
            .filter(|m| m.device_id == device && m.is_open())
            .map(|m| (m.vuln, m.package))
            .collect();
        by_matches.sort();
        by_matches.dedup();
        let mut by_sql: Vec<(String, String)> = store
            .device_vulns(device)
            .unwrap()
            .into_iter()
            .map(|v| (v.vuln, v.component))
            .collect();
        by_sql.sort();
        assert_eq!(by_matches, by_sql, "vulns and the console disagree");
        let row = store.device_row(device).unwrap().unwrap();
        assert_eq!(row.vulns_open as usize, by_sql.len(), "the device's count");
        by_matches
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn yocto_components_match_cpe_advisories_with_cve_status_as_vex() {
        let store = SqliteStore::memory().unwrap();
        let ssl = format!(
            "pkg:yocto/openssl@3.0.2?arch=cortexa53&cpe={}",
            enc("cpe:2.3:a:openssl:openssl:3.0.2:*:*:*:*:*:*:*")
        );
        let kernel = format!(
            "pkg:generic/linux@6.1.95?cpe={}",
            enc("cpe:2.3:o:linux:linux_kernel:6.1.95:*:*:*:*:*:*:*")
        );
        let plc = "pkg:yocto/plc-runtime@2.1?arch=cortexa53";
        let d = attest(&store, "plant", &[&ssl, &kernel, plc], vec![]);
        import(
            &store,
            &[
                // Fires: 3.0.2 in [3.0.0, 3.0.9).
                cpe_adv(
                    "CVE-2023-0464",
                    "openssl:openssl",
                    r#"{"type":"ECOSYSTEM","events":[{"introduced":"3.0.0"},{"fixed":"3.0.9"}]}"#,
                ),
                // Does not fire: fixed before.
                cpe_adv(
                    "CVE-2021-3711",
                    "openssl:openssl",
                    r#"{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.1.1l"}]}"#,
                ),
                // Kernel, fixed in the device's stable branch (6.1.90) and in mainline 6.9: not reported.
                cpe_adv(
                    "CVE-2024-1111",
                    "linux:linux_kernel",
                    r#"{"type":"ECOSYSTEM","events":[{"introduced":"6.1"},{"fixed":"6.1.90"}]},{"type":"ECOSYSTEM","events":[{"introduced":"6.2"},{"fixed":"6.9"}]}"#,
                ),
                // Kernel, fixed in 6.1.100: reported.
                cpe_adv(
                    "CVE-2024-2222",
                    "linux:linux_kernel",
                    r#"{"type":"ECOSYSTEM","events":[{"introduced":"6.1"},{"fixed":"6.1.100"}]}"#,
                ),
                // Kernel, 6.1.95-rc1 < 6.1.95 last affected: not reported.
                cpe_adv(
                    "CVE-2024-3333",
                    "linux:linux_kernel",
                    r#"{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"last_affected":"6.1.95-rc1"}]}"#,
                ),
            ],
        );
        assert_eq!(
            open_on(&store, d),
            pairs(&[("CVE-2023-0464", "openssl"), ("CVE-2024-2222", "linux")])
        );
        let ms = matches(&store).unwrap();
        let m = ms.iter().find(|m| m.vuln == "CVE-2023-0464").unwrap();
        assert_eq!(
            (m.ecosystem.as_str(), m.fixed.as_deref()),
            ("CPE", Some("3.0.9"))
        );
        assert_eq!(m.cvss.len(), 2, "every vector kept");
        // Coverage: plc-runtime has no CPE; the rest is covered.
        let cov = store.coverage(Some(d)).unwrap();
        assert_eq!((cov.total, cov.unidentified, cov.uncovered), (3, 1, 0));
        assert_eq!(cov.notes, vec!["no CPE for recipe plc-runtime".to_string()]);
        assert_eq!(cov.count(2), "2 open (1 of 3 components not covered)");
        // The image's CVE_STATUS: Patched closes (resolved), Unpatched stays
        // open with its detail, Ignored as not applicable closes.
        store.put_claims_for_test(
            d,
            &[
                cve("CVE-2023-0464", "openssl", "Patched", "backported-patch"),
                cve(
                    "CVE-2024-2222",
                    "linux-yocto",
                    "Unpatched",
                    "upstream-wontfix",
                ),
                cve("CVE-2024-2222", "linux", "Ignored", "disputed"),
            ],
            &[],
        );
        refresh(&store, true).unwrap();
        assert_eq!(open_on(&store, d), pairs(&[("CVE-2024-2222", "linux")]));
        let ms = matches(&store).unwrap();
        let closed = ms.iter().find(|m| m.vuln == "CVE-2023-0464").unwrap();
        assert_eq!(closed.vex.as_ref().unwrap().status, "fixed");
        assert_eq!(closed.vex_source.as_deref(), Some("image CVE_STATUS"));
        assert_eq!(cdx_state("fixed"), Some("resolved"));
        let open = ms.iter().find(|m| m.vuln == "CVE-2024-2222").unwrap();
        assert_eq!(open.image_status.as_deref(), Some("Ignored (disputed)"));
        store.put_claims_for_test(
            d,
            &[
                cve("CVE-2023-0464", "openssl", "Patched", "backported-patch"),
                cve("CVE-2024-2222", "linux", "Ignored", "not-applicable-config"),
            ],
            &[],
        );
        refresh(&store, true).unwrap();
        assert!(open_on(&store, d).is_empty());
        let ms = matches(&store).unwrap();
        let cfg = ms.iter().find(|m| m.vuln == "CVE-2024-2222").unwrap();
        let v = cfg.vex.as_ref().unwrap();
        assert_eq!(
            (v.status.as_str(), v.justification.as_deref()),
            ("not_affected", Some("requires_configuration"))
        );
        assert!(fleet_open(&store).unwrap().is_empty());
        // The operator's statement wins over the image's.
        store
            .set_vex(&VexEntry {
                vuln: "CVE-2023-0464".into(),
                device_id: None,
                status: "affected".into(),
                justification: None,
                detail: None,
                at: 30,
            })
            .unwrap();
        assert_eq!(open_on(&store, d), pairs(&[("CVE-2023-0464", "openssl")]));
        let f = fleet_open(&store).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].vuln.as_str(), f[0].devices), ("CVE-2023-0464", 1));
        let o = matches(&store)
            .unwrap()
            .into_iter()
            .find(|m| m.vuln == "CVE-2023-0464")
            .unwrap();
        assert_eq!(o.vex_source.as_deref(), Some("operator"));
    }

    #[test]
    fn cve_status_mapping() {
        assert_eq!(
            cve_status_vex("Patched", "fixed-version"),
            Some(("fixed", None))
        );
        assert_eq!(
            cve_status_vex("Patched", "cpe-stable-backport"),
            Some(("fixed", None))
        );
        assert_eq!(
            cve_status_vex("Ignored", "not-applicable-platform"),
            Some(("not_affected", Some("requires_environment")))
        );
        assert_eq!(
            cve_status_vex("Ignored", "cpe-incorrect"),
            Some(("not_affected", Some("code_not_present")))
        );
        for (s, d) in [
            ("Ignored", "disputed"),
            ("Ignored", "upstream-wontfix"),
            ("Unpatched", "vulnerable-investigating"),
            ("Ignored", "something-new"),
            ("patched", "fixed-version"),
            ("", ""),
        ] {
            assert_eq!(cve_status_vex(s, d), None, "{s} {d}");
        }
    }

    #[test]
    fn supplier_statements_name_their_product() {
        let adv = parse(&cpe_adv(
            "CVE-2024-9",
            "openssl:openssl",
            r#"{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}"#,
        ))
        .unwrap();
        let sv = |product: &str, status: &str, at: i64| SupplierVex {
            vuln: "CVE-2024-9".into(),
            product: product.into(),
            status: status.into(),
            justification: Some("component_not_present".into()),
            detail: None,
            source: "acme-csaf.json".into(),
            at,
        };
        let yocto = "pkg:yocto/openssl@3.0.2?arch=x";
        let cpe = |all: &[SupplierVex]| {
            supplier_statement(all, &adv, yocto, "CPE", "openssl:openssl", "3.0.2")
        };
        // CPE product, with the version or without.
        let s = cpe(&[sv(
            "cpe:2.3:a:openssl:openssl:3.0.2:*:*:*:*:*:*:*",
            "known_not_affected",
            1,
        )])
        .unwrap();
        assert_eq!(
            (s.status.as_str(), s.source.as_str()),
            ("not_affected", "supplier: acme-csaf.json")
        );
        assert!(cpe(&[sv("cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*", "fixed", 1)]).is_some());
        assert!(cpe(&[sv(
            "cpe:2.3:a:openssl:openssl:3.0.3:*:*:*:*:*:*:*",
            "fixed",
            1
        )])
        .is_none());
        assert!(cpe(&[sv(
            "cpe:2.3:a:other:openssl:3.0.2:*:*:*:*:*:*:*",
            "fixed",
            1
        )])
        .is_none());
        // A purl product, with or without version.
        assert!(cpe(&[sv("pkg:yocto/openssl", "not_affected", 1)]).is_some());
        assert!(cpe(&[sv("pkg:yocto/openssl@3.0.2", "not_affected", 1)]).is_some());
        assert!(cpe(&[sv("pkg:yocto/openssl@3.0.1", "not_affected", 1)]).is_none());
        assert!(cpe(&[sv("pkg:deb/debian/openssl", "not_affected", 1)]).is_none());
        // Another vulnerability, an unknown status: nothing; the latest wins.
        let mut other = sv("pkg:yocto/openssl", "not_affected", 1);
        other.vuln = "CVE-2024-8".into();
        assert!(cpe(&[other]).is_none());
        assert!(cpe(&[sv("pkg:yocto/openssl", "maybe", 1)]).is_none());
        let s = cpe(&[
            sv("pkg:yocto/openssl", "not_affected", 5),
            sv("pkg:yocto/openssl", "affected", 9),
            sv("pkg:yocto/openssl", "fixed", 2),
        ])
        .unwrap();
        assert_eq!(s.status, "affected");
        // A Debian binary package named by its source.
        let deb = "pkg:deb/debian/libssl3@3.0.11-1?distro=debian-12&upstream=openssl";
        assert!(supplier_statement(
            &[sv("pkg:deb/debian/openssl@3.0.11-1", "not_affected", 1)],
            &adv,
            deb,
            "Debian:12",
            "openssl",
            "3.0.11-1"
        )
        .is_some());
    }

    #[test]
    fn an_import_rematches_the_sets_it_touches_and_coverage_follows() {
        let store = SqliteStore::memory().unwrap();
        let alpine = "pkg:apk/alpine/busybox@1.36.1-r15?arch=aarch64&distro=alpine-3.19.1";
        let deb =
            "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib";
        let a = attest(&store, "north", &[alpine], vec![]);
        let b = attest(&store, "south", &[deb], vec![]);
        let (_, n) = import(
            &store,
            &[r#"{"id":"DEBIAN-CVE-2023-45853","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:12","name":"zlib"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:1.2.13.dfsg-1+deb12u1"}]}]}]}"#.to_string()],
        );
        // Matched at attestation (nothing imported then); the import
        // matches the Debian set again, not the Alpine one.
        assert_eq!(n, 1);
        let ca = store.coverage(Some(a)).unwrap();
        assert_eq!((ca.total, ca.uncovered), (1, 1));
        assert_eq!(
            ca.notes,
            vec!["Alpine:v3.19: no advisories imported (1 component)".to_string()]
        );
        assert_eq!(ca.count(0), "0 open (1 of 1 components not covered)");
        assert_eq!(open_on(&store, b).len(), 1);
        // The fleet: both sets, one component of two not covered.
        let fleet = store.coverage(None).unwrap();
        assert_eq!((fleet.sets, fleet.total, fleet.not_covered()), (2, 2, 1));
        // A Debian advisory for another package re-matches nothing.
        let (rep, n) = import(
            &store,
            &[r#"{"id":"DEBIAN-CVE-2024-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:12","name":"curl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}"#.to_string()],
        );
        let touched: Vec<(String, String)> = rep.touched.into_iter().collect();
        assert_eq!(touched, vec![("Debian:12".to_string(), "curl".to_string())]);
        assert_eq!(n, 0);
        // The first Alpine advisory (for another package) re-matches the
        // Alpine set, which is covered from then on; one for busybox fires.
        let (_, n) = import(
            &store,
            &[r#"{"id":"ALPINE-CVE-2023-42363","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Alpine:v3.19","name":"busybox"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1.36.0-r0"},{"last_affected":"1.36.1-r15"}]}]}]}"#.to_string()],
        );
        assert_eq!(n, 1);
        let ca = store.coverage(Some(a)).unwrap();
        assert_eq!(ca.not_covered(), 0);
        assert_eq!(ca.count(1), "1 open (all 1 components covered)");
        assert_eq!(
            open_on(&store, a),
            pairs(&[("ALPINE-CVE-2023-42363", "busybox")])
        );
        // The site filter of the fleet view.
        let north = fleet_open_where(
            &store,
            &FleetFilter {
                site: Some("north".into()),
            },
        )
        .unwrap();
        assert_eq!(
            north.iter().map(|v| v.vuln.as_str()).collect::<Vec<_>>(),
            vec!["ALPINE-CVE-2023-42363"]
        );
        assert_eq!(fleet_open(&store).unwrap().len(), 2);
    }

    #[test]
    fn the_fleet_view_counts_reachable_devices() {
        let store = SqliteStore::memory().unwrap();
        let ssh = format!(
            "pkg:yocto/openssh@9.6p1?cpe={}",
            enc("cpe:2.3:a:openbsd:openssh:9.6:p1:*:*:*:*:*:*")
        );
        let a = attest(&store, "x", &[&ssh], vec![]);
        let b = attest(&store, "x", &[&ssh], vec![]);
        let _c = attest(&store, "x", &[&ssh], vec![]);
        import(
            &store,
            &[cpe_adv(
                "CVE-2024-6387",
                "openbsd:openssh",
                r#"{"type":"ECOSYSTEM","events":[{"introduced":"8.5"},{"fixed":"9.8"}]}"#,
            )],
        );
        let l = |addr: &str| DeviceListener {
            proto: "tcp".into(),
            addr: addr.into(),
            port: 22,
            process: Some("sshd".into()),
            package: Some("openssh-sshd".into()),
        };
        store.put_claims_for_test(a, &[], &[l("0.0.0.0")]);
        store.put_claims_for_test(b, &[], &[l("127.0.0.1")]);
        let f = fleet_open(&store).unwrap();
        assert_eq!((f[0].devices, f[0].reachable), (3, 1));
        assert_eq!(
            f[0].risk.reach.evidence(),
            ["tcp/0.0.0.0:22 (sshd)".to_string()]
        );
        assert!(
            f[0].risk
                .reason()
                .starts_with("listening tcp/0.0.0.0:22 (sshd) · CVSS 9.8 (v3.1)"),
            "{}",
            f[0].risk.reason()
        );
    }
}
