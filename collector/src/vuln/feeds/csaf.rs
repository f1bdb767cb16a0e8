//! Supplier VEX in CSAF 2.0 (`document.category` `csaf_vex`, or any CSAF
//! document with `product_status`): each product of a status list, resolved
//! through the product tree (full product names, branches, relationships
//! to their component) to its purl, else its CPE; the justification from
//! the `flags[]` label naming the product (or a group holding it), the
//! detail from the label and the `threats[]` impact / `remediations[]`
//! text for it. A product with neither purl nor CPE cannot be matched: it
//! is reported and its statements skipped.

use super::{epoch, justification, text, vex_rows, Import};
use crate::store::SupplierVex;
use serde_json::Value;
use std::collections::HashMap;

/// product_id → its purl or CPE.
fn identities(tree: &Value) -> HashMap<String, String> {
    fn ident(p: &Value) -> Option<String> {
        let h = &p["product_identification_helper"];
        text(&h["purl"])
            .or_else(|| h["purls"].as_array().and_then(|a| a.first()).and_then(text))
            .or_else(|| text(&h["cpe"]))
    }
    fn walk(branches: &Value, out: &mut HashMap<String, String>, depth: usize) {
        if depth > 32 {
            return;
        }
        for b in branches.as_array().into_iter().flatten() {
            let p = &b["product"];
            if let (Some(id), Some(i)) = (text(&p["product_id"]), ident(p)) {
                out.insert(id, i);
            }
            walk(&b["branches"], out, depth + 1);
        }
    }
    let mut out = HashMap::new();
    for p in tree["full_product_names"].as_array().into_iter().flatten() {
        if let (Some(id), Some(i)) = (text(&p["product_id"]), ident(p)) {
            out.insert(id, i);
        }
    }
    walk(&tree["branches"], &mut out, 0);
    // "component X default_component_of platform Y" is about X.
    for r in tree["relationships"].as_array().into_iter().flatten() {
        let p = &r["full_product_name"];
        let Some(id) = text(&p["product_id"]) else {
            continue;
        };
        let i =
            ident(p).or_else(|| text(&r["product_reference"]).and_then(|c| out.get(&c).cloned()));
        if let Some(i) = i {
            out.insert(id, i);
        }
    }
    out
}

/// Whether a flag / threat / remediation names the product (directly or by group).
fn names(x: &Value, product: &str, groups: &HashMap<String, Vec<String>>) -> bool {
    let listed = |k: &str| {
        x[k].as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    };
    listed("product_ids").any(|p| p == product)
        || listed("group_ids").any(|g| {
            groups
                .get(g)
                .is_some_and(|ps| ps.iter().any(|p| p == product))
        })
}

pub(super) fn import(imp: &mut Import, at: &str, doc: &Value) {
    let d = &doc["document"];
    let source = match (
        text(&d["publisher"]["namespace"]),
        text(&d["tracking"]["id"]),
    ) {
        (Some(ns), Some(id)) => format!("{ns}#{id}"),
        (None, Some(id)) => id,
        _ => imp.origin.clone(),
    };
    let date = text(&d["tracking"]["current_release_date"]);
    let when = date.as_deref().and_then(epoch).unwrap_or(imp.now);
    let ids = identities(&doc["product_tree"]);
    let groups: HashMap<String, Vec<String>> = doc["product_tree"]["product_groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| {
            let ps = g["product_ids"]
                .as_array()?
                .iter()
                .filter_map(text)
                .collect();
            Some((text(&g["group_id"])?, ps))
        })
        .collect();
    let mut rows = Vec::new();
    for (i, v) in doc["vulnerabilities"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let here = format!("{at}#/vulnerabilities/{i}");
        let Some(vuln) = text(&v["cve"]).or_else(|| {
            v["ids"]
                .as_array()
                .and_then(|a| a.first())
                .and_then(|x| text(&x["text"]))
        }) else {
            imp.error(&here, "no cve or ids".into());
            continue;
        };
        for (category, status) in [
            ("known_not_affected", "not_affected"),
            ("fixed", "fixed"),
            ("first_fixed", "fixed"),
            ("known_affected", "affected"),
            ("first_affected", "affected"),
            ("last_affected", "affected"),
            ("under_investigation", "under_investigation"),
        ] {
            for p in v["product_status"][category]
                .as_array()
                .into_iter()
                .flatten()
            {
                let Some(pid) = p.as_str() else {
                    imp.error(&here, format!("{category}: a product id is not a string"));
                    continue;
                };
                let Some(product) = ids.get(pid) else {
                    imp.error(
                        &here,
                        format!("{vuln}: product {pid:?} has no purl or cpe (statement skipped)"),
                    );
                    continue;
                };
                let label = v["flags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|f| names(f, pid, &groups))
                    .and_then(|f| text(&f["label"]));
                let said: Vec<String> = ["threats", "remediations"]
                    .iter()
                    .flat_map(|k| v[*k].as_array().into_iter().flatten())
                    .filter(|t| names(t, pid, &groups))
                    .filter(|t| t["category"] != "exploit_status" && t["category"] != "target_set")
                    .filter_map(|t| text(&t["details"]))
                    .collect();
                let mut detail: Vec<String> = label.iter().map(|l| format!("CSAF {l}")).collect();
                detail.extend(said);
                rows.push(SupplierVex {
                    vuln: vuln.clone(),
                    product: product.clone(),
                    status: status.into(),
                    justification: label.as_deref().and_then(justification).map(str::to_string),
                    detail: (!detail.is_empty()).then(|| detail.join("; ")),
                    source: source.clone(),
                    at: when,
                });
            }
        }
    }
    vex_rows(imp, at, &source, date.as_deref(), rows);
}
