//! The fields every feed reads the same way: CSAF/OpenVEX justifications,
//! timestamps, supplier VEX rows, English descriptions, CVE ids, CPE names
//! (split with their escapes), and the merge of one CVE's records from
//! several feeds ([`merge`]).

use crate::store::Merged;
use serde_json::{json, Value};

/// The CycloneDX justification of a CSAF flag label / OpenVEX
/// justification (the crosswalk of `docs/vulnerability-data.md` §6; a
/// CycloneDX value is kept as it is).
pub(super) fn justification(label: &str) -> Option<&'static str> {
    Some(match label {
        "component_not_present" => "requires_dependency",
        "vulnerable_code_not_present" => "code_not_present",
        "vulnerable_code_not_in_execute_path" => "code_not_reachable",
        "vulnerable_code_cannot_be_controlled_by_adversary" => "requires_configuration",
        "inline_mitigations_already_exist" => "protected_by_mitigating_control",
        other => {
            return crate::vuln::JUSTIFICATIONS
                .iter()
                .copied()
                .find(|j| *j == other)
        }
    })
}

/// Unix seconds of an RFC 3339 date-time (or a plain date), `None` when
/// unreadable.
pub(super) fn epoch(t: &str) -> Option<i64> {
    let t = t.trim();
    if let Ok(st) = humantime::parse_rfc3339_weak(t.trim_end_matches('Z')) {
        return st
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs() as i64);
    }
    super::status::day(t)
}

/// Stores a supplier VEX document's statements.
pub(super) fn vex_rows(
    imp: &mut super::Import,
    at: &str,
    source: &str,
    date: Option<&str>,
    rows: Vec<crate::store::SupplierVex>,
) {
    let mut uniq: Vec<crate::store::SupplierVex> = Vec::with_capacity(rows.len());
    for r in rows {
        // One statement per (vulnerability, product): the first stands.
        if !uniq
            .iter()
            .any(|u| u.vuln == r.vuln && u.product == r.product)
        {
            uniq.push(r);
        }
    }
    match imp.store.put_supplier_vex(source, &uniq) {
        Ok(n) => {
            imp.rep.statements_changed |= n.new + n.updated > 0;
            imp.counts("vex", n, date)
        }
        Err(e) => imp.error(at, format!("storage: {e}")),
    }
}

/// A string field.
pub(super) fn text(v: &Value) -> Option<String> {
    v.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The English description of a CVE (NVD `descriptions[]`, CVE 5 the same).
pub(super) fn english(descriptions: &Value) -> Option<String> {
    let all = descriptions.as_array()?;
    all.iter()
        .find(|d| d["lang"].as_str().is_some_and(|l| l.starts_with("en")))
        .or(all.first())
        .and_then(|d| text(&d["value"]))
}

/// Whether an id looks like a CVE id.
pub(super) fn is_cve(id: &str) -> bool {
    let mut p = id.splitn(3, '-');
    p.next() == Some("CVE")
        && p.next()
            .is_some_and(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
        && p.next()
            .is_some_and(|n| n.len() >= 4 && n.len() <= 12 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A CPE's parts: (part, vendor, product, version, update, target_sw), the
/// vendor and product lower case. CPE 2.3 formatted strings (escapes kept)
/// and CPE 2.2 URIs (`cpe:/a:vendor:product:version`).
pub(super) fn cpe_parts(cpe: &str) -> Option<[String; 6]> {
    let fields: Vec<String> = if let Some(rest) = cpe.strip_prefix("cpe:2.3:") {
        let mut out = vec![String::new()];
        let mut esc = false;
        for ch in rest.chars() {
            match ch {
                ':' if !esc => out.push(String::new()),
                _ => {
                    esc = ch == '\\' && !esc;
                    out.last_mut()?.push(ch);
                }
            }
        }
        if out.len() != 11 {
            return None;
        }
        out
    } else if let Some(rest) = cpe.strip_prefix("cpe:/") {
        let mut out: Vec<String> = rest.split(':').map(str::to_string).collect();
        if out.len() < 3 {
            return None;
        }
        out.resize(11, "*".into());
        for f in &mut out {
            if f.is_empty() {
                *f = "*".into();
            }
        }
        out
    } else {
        return None;
    };
    if !["a", "o", "h"].contains(&fields[0].as_str())
        || fields[1].is_empty()
        || fields[2].is_empty()
        || fields[1] == "*"
        || fields[2] == "*"
    {
        return None;
    }
    Some([
        fields[0].clone(),
        fields[1].to_lowercase(),
        fields[2].to_lowercase(),
        fields[3].clone(),
        fields[4].clone(),
        fields[8].clone(),
    ])
}

/// Merges the records of one CVE from each feed (`(kind, raw)`, raw being
/// the OSV-shaped JSON the feed modules write): a withdrawn (rejected)
/// record withdraws the CVE; CVE 5's entries for a `vendor:product` replace
/// NVD's for the same one (NVD often lists only mainline ranges for a
/// kernel CVE the CNA's record resolves per stable branch); CVSS vectors of
/// both, NVD's first; the CNA's description first.
pub fn merge(parts: &[(String, String)]) -> Option<Merged> {
    let docs: Vec<(&str, Value)> = parts
        .iter()
        .filter_map(|(k, raw)| Some((k.as_str(), serde_json::from_str(raw).ok()?)))
        .collect();
    if docs.iter().any(|(_, d)| d.get("withdrawn").is_some()) {
        return None;
    }
    fn of_kind<'a>(docs: &'a [(&str, Value)], kind: &'a str) -> impl Iterator<Item = &'a Value> {
        docs.iter().filter(move |(k, _)| *k == kind).map(|(_, d)| d)
    }
    let of = |kind: &'static str| of_kind(&docs, kind);
    let name = |a: &Value| a["package"]["name"].as_str().unwrap_or("").to_string();
    let mut affected: Vec<Value> = Vec::new();
    for d in of("cve5") {
        affected.extend(d["affected"].as_array().into_iter().flatten().cloned());
    }
    let taken: std::collections::HashSet<String> = affected.iter().map(name).collect();
    for d in of("nvd") {
        affected.extend(
            d["affected"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|a| !taken.contains(&name(a)))
                .cloned(),
        );
    }
    if affected.is_empty() {
        return None;
    }
    let mut severity: Vec<Value> = Vec::new();
    for d in of("nvd").chain(of("cve5")) {
        for s in d["severity"].as_array().into_iter().flatten() {
            if !severity.iter().any(|x| x["score"] == s["score"]) {
                severity.push(s.clone());
            }
        }
    }
    let summary = of("cve5")
        .chain(of("nvd"))
        .find_map(|d| d["summary"].as_str())
        .map(str::to_string);
    let modified = docs
        .iter()
        .filter_map(|(_, d)| d["modified"].as_str())
        .max()
        .unwrap_or("")
        .to_string();
    let id = docs.iter().find_map(|(_, d)| d["id"].as_str())?.to_string();
    let mut keys: Vec<(String, String)> = affected
        .iter()
        .map(|a| ("CPE".to_string(), name(a)))
        .collect();
    keys.sort();
    keys.dedup();
    let sources: Vec<&str> = docs.iter().map(|(k, _)| *k).collect();
    let mut doc = json!({"id": id, "modified": modified, "affected": affected,
        "database_specific": {"sources": sources}});
    if let Some(s) = summary {
        doc["summary"] = json!(s);
    }
    if !severity.is_empty() {
        doc["severity"] = json!(severity);
    }
    Some(Merged {
        modified,
        keys,
        raw: doc.to_string(),
    })
}
