//! SPDX 2.3 JSON (`spdx-json`) of a CycloneDX SBOM.
//!
//! - One SPDX package per component, the operating system (CycloneDX
//!   `metadata.component`) first; the document DESCRIBES it, and it CONTAINS
//!   every software component; a hardware (`device`) component is described
//!   by the document directly.
//! - purl and every CPE as external references (`PACKAGE-MANAGER purl`,
//!   `SECURITY cpe23Type`), hashes as checksums in their own algorithm.
//! - Supplier and originator are organisations, as CycloneDX's supplier
//!   entity is (`Organization: name (email)`).
//! - `licenseDeclared` is the packager's expression; a license written as a
//!   plain name is NOASSERTION with the name in `licenseComments`;
//!   `licenseConcluded` is always NOASSERTION (nothing here concludes one).
//!   Each `LicenseRef-` gets its `hasExtractedLicensingInfos` entry.
//! - `dependsOn` → `DEPENDS_ON`; an entry without dependencies → DEPENDS_ON
//!   NONE (known to have none); each unresolved clause → DEPENDS_ON
//!   NOASSERTION with the clause as the comment. A component the graph does
//!   not list gets no DEPENDS_ON at all (unknown).

use super::{
    document, edges, id_safe, index, is_license_expression, license_refs, purpose, spdx_time, tool,
    Bom, Component, DeclaredLicense,
};
use serde_json::{json, Value};

/// An SPDX 2.3 actor of a component's supplier or publisher:
/// `Organization: name (email)` (parentheses and angle brackets dropped
/// from the parts: the actor syntax has no quoting).
fn actor(c: &Component, publisher: bool) -> Option<String> {
    let (name, mail) = c.party(publisher)?;
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, '(' | ')' | '<' | '>') && !c.is_control())
            .collect::<String>()
            .trim()
            .to_string()
    };
    let name = clean(&name);
    if name.is_empty() {
        return None;
    }
    Some(match mail.as_deref().map(clean).filter(|m| !m.is_empty()) {
        Some(m) => format!("Organization: {name} ({m})"),
        None => format!("Organization: {name}"),
    })
}

/// Renders `b` as an SPDX 2.3 JSON document.
pub fn render(b: &Bom) -> Result<String, String> {
    let created = spdx_time(b.metadata.timestamp.as_deref())?;
    let ix = index(b);
    let (doc_name, ns) = document(b, &ix);
    let ids: Vec<String> = ix
        .items
        .iter()
        .enumerate()
        .map(|(i, c)| format!("SPDXRef-Package-{i}-{}", id_safe(&c.name, 64)))
        .collect();
    let mut extracted: Vec<String> = Vec::new();
    let mut extracted_seen = std::collections::HashSet::new();
    let mut packages = Vec::with_capacity(ix.items.len());
    for (c, id) in ix.items.iter().zip(&ids) {
        let mut p = json!({
            "SPDXID": id,
            "name": c.name,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "primaryPackagePurpose": purpose(&c.kind).0,
        });
        if let Some(v) = c.version.as_deref().filter(|v| !v.is_empty()) {
            p["versionInfo"] = json!(v);
        }
        if let Some(s) = actor(c, false) {
            p["supplier"] = json!(s);
        }
        if let Some(s) = actor(c, true) {
            p["originator"] = json!(s);
        }
        if let Some(d) = &c.description {
            p["description"] = json!(d);
        }
        match c.declared_license() {
            DeclaredLicense::Expression(e) if is_license_expression(e) => {
                p["licenseDeclared"] = json!(e);
                for r in license_refs(e) {
                    if extracted_seen.insert(r) {
                        extracted.push(r.to_string());
                    }
                }
            }
            DeclaredLicense::Expression(e) => {
                p["licenseDeclared"] = json!("NOASSERTION");
                p["licenseComments"] = json!(format!("license as recorded: {e}"));
            }
            DeclaredLicense::Names(n) => {
                p["licenseDeclared"] = json!("NOASSERTION");
                p["licenseComments"] = json!(format!("license as recorded: {}", n.join("; ")));
            }
            DeclaredLicense::None => p["licenseDeclared"] = json!("NOASSERTION"),
        }
        let mut refs = Vec::new();
        if let Some(pu) = c.purl.as_deref().filter(|p| p.starts_with("pkg:")) {
            refs.push(json!({"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": pu}));
        }
        for cpe in c.cpes() {
            if cpe.starts_with("cpe:2.3:") && !cpe.contains(char::is_whitespace) {
                refs.push(json!({"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": cpe}));
            }
        }
        if !refs.is_empty() {
            p["externalRefs"] = Value::Array(refs);
        }
        let sums: Vec<Value> = c
            .spdx_hashes()
            .into_iter()
            .map(|h| json!({"algorithm": h.v2, "checksumValue": h.hex}))
            .collect();
        if !sums.is_empty() {
            p["checksums"] = Value::Array(sums);
        }
        // SPDX 2.3 files need a SHA-1; what package databases record is
        // mostly MD5 (dpkg) or SHA-256 (rpm): the files stay in the
        // CycloneDX and SPDX 3 documents, and the package says so.
        let files = c.files().count();
        if files > 0 {
            p["comment"] = json!(format!(
                "{files} files with the digests the package database records are listed in the \
                 CycloneDX and SPDX 3 renderings of this SBOM (SPDX 2.3 files need a SHA-1)"
            ));
        }
        if let Some(si) = c.source_info() {
            p["sourceInfo"] = json!(si);
        }
        packages.push(p);
    }

    let rel = |a: &str, ty: &str, b: &str| json!({"spdxElementId": a, "relationshipType": ty, "relatedSpdxElement": b});
    let mut rels = Vec::new();
    for (i, c) in ix.items.iter().enumerate() {
        match ix.root {
            Some(r) if i == r => rels.push(rel("SPDXRef-DOCUMENT", "DESCRIBES", &ids[i])),
            Some(r) if c.kind != "device" => rels.push(rel(&ids[r], "CONTAINS", &ids[i])),
            _ => rels.push(rel("SPDXRef-DOCUMENT", "DESCRIBES", &ids[i])),
        }
    }
    for e in edges(b, &ix) {
        for &t in &e.to {
            rels.push(rel(&ids[e.from], "DEPENDS_ON", &ids[t]));
        }
        for u in &e.unresolved {
            let mut r = rel(&ids[e.from], "DEPENDS_ON", "NOASSERTION");
            r["comment"] = json!(format!("unresolved dependency: {u}"));
            rels.push(r);
        }
        if e.to.is_empty() && e.unresolved.is_empty() {
            rels.push(rel(&ids[e.from], "DEPENDS_ON", "NONE"));
        }
    }

    let (tool_name, tool_version) = tool(b).unwrap_or(("unknown", ""));
    let tool_actor = if tool_version.is_empty() {
        format!("Tool: {tool_name}")
    } else {
        format!("Tool: {tool_name}-{tool_version}")
    };
    let mut creators = vec![tool_actor];
    // An author named as the tool is the tool (already a creator).
    for a in &b.metadata.authors {
        if let Some(n) = a.name.as_deref().filter(|n| n.trim() != tool_name) {
            let n: String = n
                .chars()
                .filter(|c| !matches!(c, '(' | ')') && !c.is_control())
                .collect();
            if !n.trim().is_empty() {
                creators.push(format!("Organization: {}", n.trim()));
            }
        }
    }
    let mut doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": doc_name,
        "documentNamespace": ns,
        "creationInfo": {
            "created": created,
            "creators": creators,
            "licenseListVersion": "3.25",
        },
        "packages": packages,
        "relationships": rels,
    });
    if !extracted.is_empty() {
        doc["hasExtractedLicensingInfos"] = Value::Array(
            extracted
                .iter()
                .map(|r| json!({
                    "licenseId": r,
                    "extractedText": "The package database names this license; its text is not recorded.",
                    "name": r.trim_start_matches("LicenseRef-"),
                }))
                .collect(),
        );
    }
    let mut s = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    s.push('\n');
    Ok(s)
}
