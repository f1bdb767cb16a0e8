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

mod listing;
mod supplier;
use supplier::supplier_statement;
pub mod version;
pub use listing::{listing, Listed};

use crate::store::{
    Coverage, DeviceCveStatus, SetMatch, SetVuln, Statement, Store, SupplierVex, VexEntry,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

pub mod feeds;
mod fleet;
pub mod fleet_cache;
pub mod identity;
pub mod kbuild;
pub mod kernel_config;
mod osv;
pub mod risk;
mod vex;

pub use feeds::{import_bytes, import_file, ImportReport};
pub use fleet::{band, fleet_open, fleet_open_where, FleetFilter, FleetVuln};
pub use fleet_cache::FleetCache;

pub use identity::package_keys;
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

/// A set's hits, its coverage and the (ecosystem, name) keys of its packages.
type Tagged = (Vec<Hit>, Coverage, Vec<(String, String)>);

/// What matching reads once per run: the parsed advisories per key, the
/// ecosystems holding any advisory, the supplier's VEX statements.
struct Matcher<'a> {
    store: &'a dyn Store,
    cache: HashMap<(String, String), Vec<Advisory>>,
    /// Advisories held in `cache`; past [`MAX_CACHED`] it is emptied.
    cached: usize,
    ecosystems: HashSet<String>,
    supplier: Vec<SupplierVex>,
    /// Kernel configurations and the Kbuild map, read when first needed.
    kernel: kernel_config::KernelView,
}

/// Parsed advisories a run keeps for the next package sets at most (a
/// re-match of every set against 250,000 records must not hold them all).
const MAX_CACHED: usize = 20_000;
/// Package sets matched before their rows are written (and dropped).
const SETS_PER_WRITE: usize = 64;

/// Unidentified components named in a coverage note before "+N more".
const NOTE_NAMES: usize = 20;

impl<'a> Matcher<'a> {
    fn new(store: &'a dyn Store) -> Result<Self, String> {
        Ok(Matcher {
            store,
            cache: HashMap::new(),
            cached: 0,
            ecosystems: store.advisory_ecosystems()?.into_iter().collect(),
            supplier: store.supplier_vex()?,
            kernel: Default::default(),
        })
    }

    /// The parsed advisories filed under (ecosystem, package).
    fn held(&mut self, eco: &str, name: &str) -> Result<&[Advisory], String> {
        let key = (eco.to_string(), name.to_string());
        if !self.cache.contains_key(&key) {
            let advs: Vec<Advisory> = self
                .store
                .advisories_for(eco, name)?
                .into_iter()
                .filter_map(|(_, raw)| parse(&raw).ok())
                .collect();
            if self.cached + advs.len() > MAX_CACHED {
                self.cache.clear();
                self.cached = 0;
            }
            self.cached += advs.len();
            self.cache.insert(key.clone(), advs);
        }
        Ok(self.cache.get(&key).map(Vec::as_slice).unwrap_or(&[]))
    }

    /// Every advisory hit on the tags, their coverage and their keys.
    fn tags(&mut self, tags: &[String]) -> Result<Tagged, String> {
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
        // Packages of the kernel (by its CPE) with the configuration they
        // name: the one naming it decides the coverage note.
        let mut kernel_purls: Vec<(&String, Option<String>)> = Vec::new();
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
            let kconfig = kernel_config::kconfig_of(purl);
            let store = self.store;
            let mut kernel = std::mem::take(&mut self.kernel);
            if keys
                .iter()
                .any(|(e, n, _)| e == identity::CPE && n == kernel_config::KERNEL_PRODUCT)
            {
                kernel_purls.push((purl, kconfig.clone()));
            }
            for (eco, name, ver) in &keys {
                keys_seen.insert((eco.clone(), name.clone()));
                let comp = if eco == identity::CPE {
                    source.clone()
                } else {
                    name.clone()
                };
                let supplier = std::mem::take(&mut self.supplier);
                for adv in self.held(eco, name)? {
                    let Some((hit, fixed)) = adv
                        .affected
                        .iter()
                        .filter(|a| a.ecosystem == *eco && a.name == *name)
                        .find_map(|a| evaluate(a, ver).map(|f| (a, f)))
                    else {
                        continue;
                    };
                    if !seen.insert((adv.id.clone(), purl.clone())) {
                        continue;
                    }
                    // The supplier's word first, else the kernel's build.
                    let statement = match supplier_statement(&supplier, adv, purl, eco, name, ver) {
                        Some(st) => Some(st),
                        None => match &kconfig {
                            Some(d) => kernel.statement(store, d, &hit.program_files)?,
                            None => None,
                        },
                    };
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
                        supplier: statement,
                    });
                }
                self.supplier = supplier;
            }
            self.kernel = kernel;
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
        let image = kernel_purls
            .iter()
            .find(|(_, d)| d.is_some())
            .or(kernel_purls.first());
        if let Some((_, d)) = image {
            if let Some(n) = self.kernel.note(self.store, d.as_deref())? {
                cov.notes.push(n);
            }
        }
        cov.nodata = nodata.into_keys().collect();
        Ok((hits, cov, keys_seen.into_iter().collect()))
    }
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
    // Nothing to match (every attestation of a known image): no matcher,
    // whose construction reads the supplier VEX, KEV and EPSS tables.
    if sets.is_empty() {
        return Ok(0);
    }
    let mut m = Matcher::new(store)?;
    let n = sets.len();
    let mut out = Vec::with_capacity(n.min(SETS_PER_WRITE));
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
        if out.len() == SETS_PER_WRITE {
            store.put_set_vulns(&out)?;
            out.clear();
        }
    }
    if !out.is_empty() {
        store.put_set_vulns(&out)?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests;
