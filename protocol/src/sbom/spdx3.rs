//! SPDX 3.0.1 JSON-LD (`spdx3`) of a CycloneDX SBOM: the same content as
//! [`super::spdx2`] in the 3.0 model.
//!
//! - One `CreationInfo` (blank node) shared by every element: created, the
//!   SBOM's authors (`Organization`, else the tool as `SoftwareAgent`) as
//!   `createdBy`, the tool (`Tool`) as `createdUsing`.
//! - `software_Package` per component: version, purl (`software_packageUrl`),
//!   CPEs (`externalIdentifier` `cpe23`), `suppliedBy`/`originatedBy` one
//!   `Organization` element per distinct entity (e-mail as an `email`
//!   identifier), hashes (`verifiedUsing`), purpose.
//! - Declared licenses as `simplelicensing_LicenseExpression` elements
//!   linked by `hasDeclaredLicense`; a license that is no expression is left
//!   out and named in the package's comment.
//! - Relationships: the operating system `contains` the software
//!   components; `dependsOn` per package (complete: the installed packages
//!   it depends on, or `NoneElement` when it has none; an unresolved clause
//!   makes it incomplete with a `NoAssertionElement` target).
//! - A `software_Sbom` (type analyzed) with the operating system as root
//!   element, inside the `SpdxDocument`.

use super::{
    document, edges, index, is_license_expression, purpose, spdx_time, tool, Bom, Component,
    DeclaredLicense,
};
use serde_json::{json, Value};
use std::collections::HashMap;

const CONTEXT: &str = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld";
const NONE_ELEMENT: &str = "https://spdx.org/rdf/3.0.1/terms/Core/NoneElement";
const NOASSERTION_ELEMENT: &str = "https://spdx.org/rdf/3.0.1/terms/Core/NoAssertionElement";
const CI: &str = "_:creationinfo";

/// `verifiedUsing` of a component: its hashes in SPDX 3 algorithms.
fn verified_using(c: &Component) -> Option<Value> {
    let hashes: Vec<Value> = c
        .spdx_hashes()
        .into_iter()
        .map(|h| json!({"type": "Hash", "algorithm": h.v3, "hashValue": h.hex}))
        .collect();
    (!hashes.is_empty()).then_some(Value::Array(hashes))
}

/// Renders `b` as an SPDX 3.0.1 JSON-LD document.
pub fn render(b: &Bom) -> Result<String, String> {
    let created = spdx_time(b.metadata.timestamp.as_deref())?;
    let ix = index(b);
    let (doc_name, ns) = document(b, &ix);
    let mut graph: Vec<Value> = Vec::new();
    let mut elements: Vec<String> = Vec::new();
    let (tool_name, tool_version) = tool(b).unwrap_or(("unknown", ""));
    let tool_label = format!("{tool_name} {tool_version}").trim().to_string();
    let tool_id = format!("{ns}#tool");
    let mut created_by = Vec::new();
    for (i, a) in b.metadata.authors.iter().enumerate() {
        // An author named as the tool is the tool: the SoftwareAgent below.
        if let Some(n) = a
            .name
            .as_deref()
            .filter(|n| !n.trim().is_empty() && n.trim() != tool_name)
        {
            let id = format!("{ns}#author-{i}");
            graph.push(
                json!({"type": "Organization", "spdxId": id, "creationInfo": CI, "name": n.trim()}),
            );
            elements.push(id.clone());
            created_by.push(id);
        }
    }
    if created_by.is_empty() {
        let id = format!("{ns}#agent");
        graph.push(
            json!({"type": "SoftwareAgent", "spdxId": id, "creationInfo": CI, "name": tool_label}),
        );
        elements.push(id.clone());
        created_by.push(id);
    }
    graph.insert(
        0,
        json!({
            "type": "CreationInfo",
            "@id": CI,
            "specVersion": "3.0.1",
            "created": created,
            "createdBy": created_by,
            "createdUsing": [tool_id],
        }),
    );
    graph.push(json!({"type": "Tool", "spdxId": tool_id, "creationInfo": CI, "name": tool_label}));
    elements.push(tool_id);

    let ids: Vec<String> = (0..ix.items.len())
        .map(|i| format!("{ns}#package-{i}"))
        .collect();
    let mut orgs: HashMap<(String, Option<String>), String> = HashMap::new();
    let mut org_id = |graph: &mut Vec<Value>,
                      elements: &mut Vec<String>,
                      p: (String, Option<String>)| {
        let n = orgs.len();
        orgs.entry(p.clone())
            .or_insert_with(|| {
                let id = format!("{ns}#organization-{n}");
                let mut o = json!({"type": "Organization", "spdxId": id, "creationInfo": CI, "name": p.0});
                if let Some(m) = &p.1 {
                    o["externalIdentifier"] = json!([{"type": "ExternalIdentifier", "externalIdentifierType": "email", "identifier": m}]);
                }
                graph.push(o);
                elements.push(id.clone());
                id
            })
            .clone()
    };
    let mut licenses: HashMap<&str, String> = HashMap::new();
    let mut rels: Vec<Value> = Vec::new();
    let mut rel_n = 0usize;
    let mut rel = |from: &str,
                   ty: &str,
                   to: Vec<String>,
                   completeness: Option<&str>,
                   comment: Option<String>| {
        let mut r = json!({
            "type": "Relationship",
            "spdxId": format!("{ns}#relationship-{rel_n}"),
            "creationInfo": CI,
            "from": from,
            "relationshipType": ty,
            "to": to,
        });
        if let Some(c) = completeness {
            r["completeness"] = json!(c);
        }
        if let Some(c) = comment {
            r["comment"] = json!(c);
        }
        rel_n += 1;
        r
    };
    for (c, id) in ix.items.iter().zip(&ids) {
        let mut p = json!({
            "type": "software_Package",
            "spdxId": id,
            "creationInfo": CI,
            "name": c.name,
            "software_primaryPurpose": purpose(&c.kind).1,
        });
        if let Some(v) = c.version.as_deref().filter(|v| !v.is_empty()) {
            p["software_packageVersion"] = json!(v);
        }
        if let Some(pu) = c.purl.as_deref().filter(|p| p.starts_with("pkg:")) {
            p["software_packageUrl"] = json!(pu);
        }
        let cpes: Vec<Value> = c
            .cpes()
            .into_iter()
            .filter(|x| x.starts_with("cpe:2.3:") && !x.contains(char::is_whitespace))
            .map(|x| json!({"type": "ExternalIdentifier", "externalIdentifierType": "cpe23", "identifier": x}))
            .collect();
        if !cpes.is_empty() {
            p["externalIdentifier"] = Value::Array(cpes);
        }
        if let Some(s) = c.party(false) {
            p["suppliedBy"] = json!(org_id(&mut graph, &mut elements, s));
        }
        if let Some(s) = c.party(true) {
            p["originatedBy"] = json!([org_id(&mut graph, &mut elements, s)]);
        }
        if let Some(d) = &c.description {
            p["description"] = json!(d);
        }
        if let Some(v) = verified_using(c) {
            p["verifiedUsing"] = v;
        }
        if let Some(si) = c.source_info() {
            p["software_sourceInfo"] = json!(si);
        }
        match c.declared_license() {
            DeclaredLicense::Expression(e) if is_license_expression(e) => {
                let n = licenses.len();
                let lid = licenses
                    .entry(e)
                    .or_insert_with(|| {
                        let lid = format!("{ns}#license-{n}");
                        graph.push(json!({
                            "type": "simplelicensing_LicenseExpression",
                            "spdxId": lid,
                            "creationInfo": CI,
                            "simplelicensing_licenseExpression": e,
                        }));
                        elements.push(lid.clone());
                        lid
                    })
                    .clone();
                rels.push(rel(id, "hasDeclaredLicense", vec![lid], None, None));
            }
            DeclaredLicense::Expression(e) => {
                p["comment"] = json!(format!("license as recorded: {e}"));
            }
            DeclaredLicense::Names(n) => {
                p["comment"] = json!(format!("license as recorded: {}", n.join("; ")));
            }
            DeclaredLicense::None => {}
        }
        graph.push(p);
        elements.push(id.clone());
        // The package's files with their recorded digests; the package
        // contains them (the database's list: complete).
        let mut file_ids = Vec::new();
        for (k, f) in c.files().enumerate() {
            let fid = format!("{id}-file-{k}");
            let mut e = json!({
                "type": "software_File",
                "spdxId": fid,
                "creationInfo": CI,
                "name": f.name,
            });
            if let Some(v) = verified_using(f) {
                e["verifiedUsing"] = v;
            }
            graph.push(e);
            elements.push(fid.clone());
            file_ids.push(fid);
        }
        if !file_ids.is_empty() {
            rels.push(rel(id, "contains", file_ids, Some("complete"), None));
        }
    }
    if let Some(r) = ix.root {
        let contained: Vec<String> = ix
            .items
            .iter()
            .enumerate()
            .filter(|(i, c)| *i != r && c.kind != "device")
            .map(|(i, _)| ids[i].clone())
            .collect();
        if !contained.is_empty() {
            rels.push(rel(&ids[r], "contains", contained, Some("complete"), None));
        }
    }
    for e in edges(b, &ix) {
        let mut to: Vec<String> = e.to.iter().map(|&t| ids[t].clone()).collect();
        let from = &ids[e.from];
        if !e.unresolved.is_empty() {
            to.push(NOASSERTION_ELEMENT.into());
            let comment = format!("unresolved dependencies: {}", e.unresolved.join("; "));
            rels.push(rel(
                from,
                "dependsOn",
                to,
                Some("incomplete"),
                Some(comment),
            ));
        } else if to.is_empty() {
            rels.push(rel(
                from,
                "dependsOn",
                vec![NONE_ELEMENT.into()],
                Some("complete"),
                None,
            ));
        } else {
            rels.push(rel(from, "dependsOn", to, Some("complete"), None));
        }
    }
    for r in rels {
        if let Some(id) = r["spdxId"].as_str() {
            elements.push(id.to_string());
        }
        graph.push(r);
    }
    let root: Vec<String> = match ix.root {
        Some(r) => vec![ids[r].clone()],
        None => ids.clone(),
    };
    let sbom_id = format!("{ns}#sbom");
    let profiles = json!(["core", "software", "simpleLicensing"]);
    graph.push(json!({
        "type": "software_Sbom",
        "spdxId": sbom_id,
        "creationInfo": CI,
        "name": format!("SBOM of {doc_name}"),
        "software_sbomType": ["analyzed"],
        "profileConformance": profiles,
        "rootElement": root,
        "element": elements,
    }));
    elements.push(sbom_id.clone());
    graph.push(json!({
        "type": "SpdxDocument",
        "spdxId": format!("{ns}#document"),
        "creationInfo": CI,
        "name": doc_name,
        "profileConformance": profiles,
        "rootElement": [sbom_id],
        "element": elements,
    }));
    let doc = json!({"@context": CONTEXT, "@graph": graph});
    let mut s = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    s.push('\n');
    Ok(s)
}
