//! CVE JSON 5 records (cvelistV5, the Linux kernel CNA's vulns.git) as CPE
//! advisories with `CVE5` ranges: each `affected[]` entry's
//! `defaultStatus` and its `versions[]` in order (evaluated in `osv`).
//!
//! The `vendor:product` of an entry: its `cpes[]` when it has them, the
//! Linux kernel CNA's `Linux`/`Linux` → `linux:linux_kernel`, else vendor
//! and product lower case with spaces as `_` (the NVD spelling for most
//! products). Entries naming a package (`collectionURL` + `packageName`)
//! are not CPE data and are skipped. Version entries of type `git` and
//! entries whose versions are commit hashes (the kernel CNA's first block,
//! early 2024 records' `custom` short hashes) cannot be ordered on releases
//! and are dropped; an entry left with nothing evaluable is dropped. `changes[]`
//! is not read. The CNA's entries come first; an ADP's (CISA's
//! vulnrichment) only for a vendor:product the CNA does not name. An
//! entry's `programFiles` (the kernel CNA's source files) are kept: the
//! collector tells from them which kernel CVEs concern code not built. CVSS
//! vectors: the CNA's, then each ADP's. A `REJECTED` record withdraws the
//! CVE.

use super::{cpe_parts, english, is_cve, text, Import};
use crate::store::FeedRecord;
use crate::vuln::osv::{self, Advisory, Affected, Event, Range, VersionStatus};
use serde_json::Value;

pub(super) fn record(imp: &mut Import, at: String, v: &Value) {
    match advisory(v) {
        Ok((adv, withdrawn)) => {
            let mut doc = osv::to_json(&adv);
            if withdrawn {
                doc["withdrawn"] = Value::String(adv.modified.clone());
            }
            imp.cpe_record(
                "cve5",
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

/// A commit hash rather than a release: hex, 7 characters or more, with a
/// letter (all-digit strings are dates or numbers) or 40 long.
fn is_commit(v: &str) -> bool {
    v.len() >= 7
        && v.bytes().all(|b| b.is_ascii_hexdigit())
        && (v.len() >= 40 || v.bytes().any(|b| b.is_ascii_alphabetic()))
}

/// The `vendor:product` names of an `affected[]` entry.
fn names(a: &Value) -> Vec<String> {
    let mut out: Vec<String> = a["cpes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str().and_then(cpe_parts))
        .map(|p| format!("{}:{}", p[1], p[2]))
        .collect();
    if out.is_empty() {
        let norm = |v: &Value| {
            text(v).map(|s| {
                s.to_lowercase()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join("_")
            })
        };
        if let (Some(vendor), Some(product)) = (norm(&a["vendor"]), norm(&a["product"])) {
            if vendor != "n/a" && product != "n/a" {
                out.push(if vendor == "linux" && product == "linux" {
                    crate::vuln::kernel_config::KERNEL_PRODUCT.to_string()
                } else {
                    format!("{vendor}:{product}")
                });
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The `CVE5` range of an `affected[]` entry; `None` when nothing in it
/// can be evaluated on a release (then NVD's criteria stay in force).
fn range(a: &Value, here: &str) -> Result<Option<Range>, String> {
    let default = text(&a["defaultStatus"]).unwrap_or_else(|| "unknown".into());
    let mut events = vec![Event::DefaultStatus(default.clone())];
    let versions = &a["versions"];
    if !versions.is_null() && !versions.is_array() {
        return Err(format!("{here}/versions is not an array"));
    }
    for (i, x) in versions.as_array().into_iter().flatten().enumerate() {
        let version =
            text(&x["version"]).ok_or_else(|| format!("{here}/versions/{i}: no version"))?;
        let status = text(&x["status"]).ok_or_else(|| format!("{here}/versions/{i}: no status"))?;
        if !matches!(status.as_str(), "affected" | "unaffected" | "unknown") {
            return Err(format!("{here}/versions/{i}: unknown status {status:?}"));
        }
        let less_than = text(&x["lessThan"]);
        let less_than_or_equal = text(&x["lessThanOrEqual"]);
        // `n/a`, `unspecified`: a lone one names nothing; as a range start
        // it is the beginning.
        let bounded = less_than.is_some() || less_than_or_equal.is_some();
        let version = match version.starts_with(|c: char| c.is_ascii_digit()) {
            true => version,
            false if bounded => "0".into(),
            false => continue,
        };
        let git = x["versionType"] == "git";
        if git
            || [
                Some(&version),
                less_than.as_ref(),
                less_than_or_equal.as_ref(),
            ]
            .into_iter()
            .flatten()
            .any(|v| is_commit(v))
        {
            continue;
        }
        events.push(Event::Status(VersionStatus {
            version,
            less_than,
            less_than_or_equal,
            status,
        }));
    }
    let evaluable = events.len() > 1 || default == "affected";
    Ok(evaluable.then(|| Range {
        kind: "CVE5".into(),
        events,
    }))
}

fn advisory(v: &Value) -> Result<(Advisory, bool), String> {
    let meta = &v["cveMetadata"];
    let id = text(&meta["cveId"])
        .or_else(|| text(&meta["cveID"]))
        .ok_or("no cveMetadata.cveId")?;
    if !is_cve(&id) {
        return Err(format!("cveMetadata.cveId {id:?} is not a CVE id"));
    }
    let modified = text(&meta["dateUpdated"])
        .or_else(|| text(&meta["datePublished"]))
        .unwrap_or_default();
    let rejected = meta["state"] == "REJECTED";
    let cna = &v["containers"]["cna"];
    if !rejected && !cna.is_object() {
        return Err(format!("{id}: no containers.cna"));
    }
    let adps: Vec<&Value> = v["containers"]["adp"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let mut affected: Vec<Affected> = Vec::new();
    for (c, container) in std::iter::once(cna).chain(adps.iter().copied()).enumerate() {
        let named_before: Vec<String> = affected.iter().map(|a| a.name.clone()).collect();
        let list = &container["affected"];
        if !list.is_null() && !list.is_array() {
            return Err(format!("{id}: affected is not an array"));
        }
        for (i, a) in list.as_array().into_iter().flatten().enumerate() {
            let here = if c == 0 {
                format!("{id}: containers/cna/affected/{i}")
            } else {
                format!("{id}: containers/adp/{}/affected/{i}", c - 1)
            };
            let Some(r) = range(a, &here)? else {
                continue;
            };
            for name in names(a) {
                if c > 0 && named_before.contains(&name) {
                    continue;
                }
                affected.push(Affected {
                    ecosystem: "CPE".into(),
                    name,
                    ranges: vec![r.clone()],
                    versions: Vec::new(),
                    program_files: osv::program_files(&a["programFiles"]),
                });
            }
        }
    }
    let mut cvss: Vec<(String, String)> = Vec::new();
    for container in std::iter::once(cna).chain(adps.iter().copied()) {
        for m in container["metrics"].as_array().into_iter().flatten() {
            for (key, ty) in [
                ("cvssV3_1", "CVSS_V3"),
                ("cvssV3_0", "CVSS_V3"),
                ("cvssV4_0", "CVSS_V4"),
                ("cvssV2_0", "CVSS_V2"),
            ] {
                if let Some(vec) = text(&m[key]["vectorString"]) {
                    if !cvss.iter().any(|(_, x)| *x == vec) {
                        cvss.push((ty.to_string(), vec));
                    }
                }
            }
        }
    }
    Ok((
        Advisory {
            summary: english(&cna["descriptions"]),
            aliases: Vec::new(),
            severity: cvss.first().cloned(),
            cvss,
            affected,
            id,
            modified,
        },
        rejected,
    ))
}
