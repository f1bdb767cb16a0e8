//! NVD CVE API 2.0 records (`vulnerabilities[].cve`) as CPE advisories.
//!
//! Each `configurations[].nodes[].cpeMatch[]` with `vulnerable: true` gives
//! one range of its `vendor:product`: `versionStartIncluding` →
//! `introduced`, `versionStartExcluding` → `introduced_exclusive`,
//! `versionEndExcluding` → `fixed`, `versionEndIncluding` →
//! `last_affected`; a criterion naming one version (with its `update`,
//! e.g. OpenSSH `9.3` + `p1` → `9.3p1`) lists that version.
//!
//! Decisions: in an `AND` configuration ("running on/with"), the platform
//! nodes (`vulnerable: false`, e.g. an application on `o:linux:linux_kernel`)
//! are not required — the vulnerable CPE matches alone, as most tools do
//! (a device's platform is the device itself, and its OS CPE is often not
//! known); negated nodes are skipped. Criteria naming a `target_sw` (a
//! plugin for some host software: `…:jenkins:*:*`) are skipped, and so are
//! those whose version is NA (`-`): they cannot name an embedded
//! component's version. A `Rejected` record withdraws its CVE.

use super::{cpe_parts, english, is_cve, text, Import};
use crate::store::FeedRecord;
use crate::vuln::osv::{self, Advisory, Affected, Event, Range};
use serde_json::Value;
use std::collections::BTreeMap;

/// (type, vector) of every CVSS metric, v3.1/v3.0 first, then v4.0, then
/// v2; `Primary` before `Secondary` within a version.
pub(super) fn cvss(metrics: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (key, ty) in [
        ("cvssMetricV31", "CVSS_V3"),
        ("cvssMetricV30", "CVSS_V3"),
        ("cvssMetricV40", "CVSS_V4"),
        ("cvssMetricV2", "CVSS_V2"),
    ] {
        let mut ms: Vec<&Value> = metrics[key].as_array().into_iter().flatten().collect();
        ms.sort_by_key(|m| m["type"] != "Primary");
        for m in ms {
            if let Some(v) = text(&m["cvssData"]["vectorString"]) {
                if !out.iter().any(|(_, x)| *x == v) {
                    out.push((ty.to_string(), v));
                }
            }
        }
    }
    out
}

pub(super) fn record(imp: &mut Import, at: String, item: &Value) {
    match advisory(&item["cve"]) {
        Ok((adv, withdrawn)) => {
            let mut doc = osv::to_json(&adv);
            if withdrawn {
                doc["withdrawn"] = Value::String(adv.modified.clone());
            }
            imp.cpe_record(
                "nvd",
                at,
                FeedRecord {
                    id: adv.id,
                    modified: adv.modified,
                    raw: doc.to_string(),
                },
            );
        }
        Err(e) => imp.error(&at, e),
    }
}

/// The advisory of one `cve` object and whether it is rejected.
fn advisory(cve: &Value) -> Result<(Advisory, bool), String> {
    let id = text(&cve["id"]).ok_or("no cve.id")?;
    if !is_cve(&id) {
        return Err(format!("cve.id {id:?} is not a CVE id"));
    }
    let modified = text(&cve["lastModified"]).ok_or_else(|| format!("{id}: no lastModified"))?;
    let rejected = cve["vulnStatus"] == "Rejected";
    let mut by_name: BTreeMap<String, Affected> = BTreeMap::new();
    let confs = &cve["configurations"];
    if !confs.is_null() && !confs.is_array() {
        return Err(format!("{id}: configurations is not an array"));
    }
    for (ci, conf) in confs.as_array().into_iter().flatten().enumerate() {
        for (ni, node) in conf["nodes"].as_array().into_iter().flatten().enumerate() {
            if node["negate"] == true {
                continue;
            }
            for (mi, m) in node["cpeMatch"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                let here = || format!("{id}: configurations/{ci}/nodes/{ni}/cpeMatch/{mi}");
                let vulnerable = m["vulnerable"]
                    .as_bool()
                    .ok_or_else(|| format!("{}: no vulnerable flag", here()))?;
                if !vulnerable {
                    continue;
                }
                let criteria = m["criteria"]
                    .as_str()
                    .ok_or_else(|| format!("{}: no criteria", here()))?;
                let [_, vendor, product, version, update, target_sw] = cpe_parts(criteria)
                    .ok_or_else(|| {
                        format!("{}: criteria {criteria:?} is not a CPE 2.3 name", here())
                    })?;
                if !matches!(target_sw.as_str(), "*" | "-") || version == "-" {
                    continue;
                }
                let name = format!("{vendor}:{product}");
                let a = by_name.entry(name.clone()).or_insert_with(|| Affected {
                    ecosystem: "CPE".into(),
                    name,
                    ranges: Vec::new(),
                    versions: Vec::new(),
                    program_files: Vec::new(),
                });
                if version != "*" {
                    let v = match update.as_str() {
                        "*" | "-" => version,
                        u => format!("{version}{u}"),
                    };
                    if !a.versions.contains(&v) {
                        a.versions.push(v);
                    }
                    continue;
                }
                let bound = |k: &str| text(&m[k]);
                let mut events = vec![match (
                    bound("versionStartIncluding"),
                    bound("versionStartExcluding"),
                ) {
                    (Some(v), _) => Event::Introduced(v),
                    (None, Some(v)) => Event::IntroducedExclusive(v),
                    (None, None) => Event::Introduced("0".into()),
                }];
                if let Some(v) = bound("versionEndExcluding") {
                    events.push(Event::Fixed(v));
                } else if let Some(v) = bound("versionEndIncluding") {
                    events.push(Event::LastAffected(v));
                }
                let r = Range {
                    kind: "ECOSYSTEM".into(),
                    events,
                };
                if !a.ranges.contains(&r) {
                    a.ranges.push(r);
                }
            }
        }
    }
    let cvss = cvss(&cve["metrics"]);
    Ok((
        Advisory {
            summary: english(&cve["descriptions"]),
            aliases: Vec::new(),
            severity: cvss.first().cloned(),
            cvss,
            affected: by_name.into_values().collect(),
            id,
            modified,
        },
        rejected,
    ))
}
