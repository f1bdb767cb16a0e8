//! VEX: the CycloneDX analysis states and justifications, and the CycloneDX
//! 1.6 VEX document of a set of matches.

use super::Match;
use serde_json::Value;

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
