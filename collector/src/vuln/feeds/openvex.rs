//! Supplier VEX in OpenVEX (v0.2.0; v0.0.x's plain-string `vulnerability`
//! too): each statement's products (their `@id` purl, else an identifier
//! purl / CPE) — or, when it lists them, the product's subcomponents, the
//! packages the statement is about.

use super::{epoch, justification, text, vex_rows, Import};
use crate::store::SupplierVex;
use serde_json::Value;

fn ident(p: &Value) -> Option<String> {
    text(&p["@id"])
        .filter(|i| i.starts_with("pkg:") || i.starts_with("cpe:"))
        .or_else(|| text(&p["identifiers"]["purl"]))
        .or_else(|| text(&p["identifiers"]["cpe23"]))
        .or_else(|| text(&p["identifiers"]["cpe22"]))
}

pub(super) fn import(imp: &mut Import, at: &str, doc: &Value) {
    let source = text(&doc["@id"]).unwrap_or_else(|| imp.origin.clone());
    let date = text(&doc["last_updated"]).or_else(|| text(&doc["timestamp"]));
    let doc_time = date.as_deref().and_then(epoch).unwrap_or(imp.now);
    let mut rows = Vec::new();
    for (i, s) in doc["statements"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let here = format!("{at}#/statements/{i}");
        let v = &s["vulnerability"];
        let Some(vuln) = text(&v["name"])
            .or_else(|| text(&v["@id"]))
            .or_else(|| text(v))
        else {
            imp.error(&here, "no vulnerability name".into());
            continue;
        };
        let Some(status) = text(&s["status"]).filter(|st| {
            ["not_affected", "affected", "fixed", "under_investigation"].contains(&st.as_str())
        }) else {
            imp.error(&here, format!("{vuln}: no or unknown status"));
            continue;
        };
        let label = text(&s["justification"]);
        let detail: Vec<String> = label
            .iter()
            .map(|l| format!("OpenVEX {l}"))
            .chain(
                ["impact_statement", "action_statement", "status_notes"]
                    .iter()
                    .filter_map(|k| text(&s[*k])),
            )
            .collect();
        let when = text(&s["timestamp"])
            .as_deref()
            .and_then(epoch)
            .unwrap_or(doc_time);
        let mut products = Vec::new();
        for (j, p) in s["products"].as_array().into_iter().flatten().enumerate() {
            let subs: Vec<&Value> = p["subcomponents"]
                .as_array()
                .into_iter()
                .flatten()
                .collect();
            let targets: Vec<&Value> = if subs.is_empty() { vec![p] } else { subs };
            for t in targets {
                match ident(t) {
                    Some(x) => products.push(x),
                    None => imp.error(
                        &format!("{here}/products/{j}"),
                        format!("{vuln}: a product without purl or cpe (skipped)"),
                    ),
                }
            }
        }
        for product in products {
            rows.push(SupplierVex {
                vuln: vuln.clone(),
                product,
                status: status.clone(),
                justification: label.as_deref().and_then(justification).map(str::to_string),
                detail: (!detail.is_empty()).then(|| detail.join("; ")),
                source: source.clone(),
                at: when,
            });
        }
    }
    vex_rows(imp, at, &source, date.as_deref(), rows);
}
