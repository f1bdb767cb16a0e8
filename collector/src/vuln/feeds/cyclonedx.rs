//! Supplier VEX in CycloneDX (1.4–1.6): each vulnerability's `analysis`
//! for each `affects[].ref`, resolved through the BOM's components
//! (nested ones too) by `bom-ref` to a purl, else a CPE; a BOM-Link
//! (`urn:cdx:…#ref`) by its fragment; a ref that is itself a purl as it
//! is. States: `not_affected`/`false_positive` → not_affected,
//! `resolved`/`resolved_with_pedigree` → fixed, `exploitable` → affected,
//! `in_triage` → under_investigation.

use super::{epoch, text, vex_rows, Import};
use crate::store::SupplierVex;
use serde_json::Value;
use std::collections::HashMap;

fn refs(components: &Value, out: &mut HashMap<String, String>, depth: usize) {
    if depth > 32 {
        return;
    }
    for c in components.as_array().into_iter().flatten() {
        if let (Some(r), Some(id)) = (
            text(&c["bom-ref"]),
            text(&c["purl"]).or_else(|| text(&c["cpe"])),
        ) {
            out.insert(r, id);
        }
        refs(&c["components"], out, depth + 1);
    }
}

pub(super) fn import(imp: &mut Import, at: &str, doc: &Value) {
    let source = text(&doc["serialNumber"]).unwrap_or_else(|| imp.origin.clone());
    let date = text(&doc["metadata"]["timestamp"]);
    let doc_time = date.as_deref().and_then(epoch).unwrap_or(imp.now);
    let mut by_ref = HashMap::new();
    refs(&doc["components"], &mut by_ref, 0);
    refs(
        &serde_json::json!([doc["metadata"]["component"]]),
        &mut by_ref,
        0,
    );
    let mut rows = Vec::new();
    for (i, v) in doc["vulnerabilities"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let here = format!("{at}#/vulnerabilities/{i}");
        let Some(vuln) = text(&v["id"]) else {
            imp.error(&here, "no id".into());
            continue;
        };
        let a = &v["analysis"];
        let Some(state) = text(&a["state"]) else {
            // Not a VEX statement: a plain vulnerability listing.
            continue;
        };
        let status = match state.as_str() {
            "not_affected" | "false_positive" => "not_affected",
            "resolved" | "resolved_with_pedigree" => "fixed",
            "exploitable" => "affected",
            "in_triage" => "under_investigation",
            other => {
                imp.error(&here, format!("{vuln}: unknown analysis state {other:?}"));
                continue;
            }
        };
        let just =
            text(&a["justification"]).filter(|j| crate::vuln::JUSTIFICATIONS.contains(&j.as_str()));
        let mut detail: Vec<String> = text(&a["detail"]).into_iter().collect();
        let responses: Vec<String> = a["response"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(text)
            .collect();
        if !responses.is_empty() {
            detail.push(format!("response: {}", responses.join(", ")));
        }
        if state == "false_positive" {
            detail.insert(0, "CycloneDX false_positive".into());
        }
        let when = text(&a["lastUpdated"])
            .or_else(|| text(&v["updated"]))
            .as_deref()
            .and_then(epoch)
            .unwrap_or(doc_time);
        for (j, aff) in v["affects"].as_array().into_iter().flatten().enumerate() {
            let Some(r) = text(&aff["ref"]) else {
                imp.error(&format!("{here}/affects/{j}"), format!("{vuln}: no ref"));
                continue;
            };
            let key = r.rsplit_once('#').map_or(r.as_str(), |(_, f)| f);
            let product = by_ref
                .get(key)
                .cloned()
                .or_else(|| r.starts_with("pkg:").then(|| r.clone()));
            let Some(product) = product else {
                imp.error(
                    &format!("{here}/affects/{j}"),
                    format!("{vuln}: ref {r:?} names no component with a purl or cpe (skipped)"),
                );
                continue;
            };
            rows.push(SupplierVex {
                vuln: vuln.clone(),
                product,
                status: status.into(),
                justification: just.clone(),
                detail: (!detail.is_empty()).then(|| detail.join("; ")),
                source: source.clone(),
                at: when,
            });
        }
    }
    vex_rows(imp, at, &source, date.as_deref(), rows);
}
