//! OSV advisories: parsing, each ecosystem's version ordering, the range
//! evaluation, and the (ecosystem, package, version) of an attested package
//! from its purl.
//!
//! CPE-based data (NVD, CVE JSON 5; `feeds`) is stored in the same shape:
//! ecosystem `CPE`, name `vendor:product`, ordered by upstream version
//! rules. Two extensions to OSV: the event `introduced_exclusive` (NVD's
//! `versionStartExcluding`) and ranges of type `CVE5`, whose events are a
//! CVE 5 `defaultStatus` and its `versions[]` entries in order (the first
//! entry containing the version decides, else the default status).

use super::version;
use serde_json::Value;
use std::cmp::Ordering;

/// One `affected[]` entry of an advisory.
#[derive(Debug, Clone, PartialEq)]
pub struct Affected {
    pub ecosystem: String,
    pub name: String,
    pub ranges: Vec<Range>,
    /// Explicitly listed affected versions.
    pub versions: Vec<String>,
    /// The source files the vulnerable code is in (CVE 5 `programFiles`,
    /// the Linux kernel CNA's: `fs/ext4/super.c`), written as
    /// `ecosystem_specific.program_files`; at most [`MAX_PROGRAM_FILES`].
    pub program_files: Vec<String>,
}

/// Program files kept per affected entry (longer paths are dropped).
pub const MAX_PROGRAM_FILES: usize = 256;
/// Longest program file path kept.
pub const MAX_PROGRAM_FILE: usize = 512;

/// The program files of a JSON array of strings, bounded.
pub fn program_files(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|f| !f.is_empty() && f.len() <= MAX_PROGRAM_FILE)
        .take(MAX_PROGRAM_FILES)
        .map(str::to_string)
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    /// `ECOSYSTEM`, `SEMVER`, `CVE5` (`GIT` ranges cannot be evaluated on versions).
    pub kind: String,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
    /// Affected strictly above the version (NVD `versionStartExcluding`).
    IntroducedExclusive(String),
    /// `CVE5` ranges: the status of versions no entry contains
    /// (`affected`, `unaffected`, `unknown`).
    DefaultStatus(String),
    /// `CVE5` ranges: one `versions[]` entry.
    Status(VersionStatus),
}

/// A CVE JSON 5 `versions[]` entry: `version` alone names one version;
/// with `less_than` / `less_than_or_equal` it is the range from `version`
/// (`0`: the beginning) to that bound, which may end in `*` (`6.1.*`:
/// every 6.1 release; `*`: no upper bound).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionStatus {
    pub version: String,
    pub less_than: Option<String>,
    pub less_than_or_equal: Option<String>,
    /// `affected`, `unaffected`, `unknown`.
    pub status: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Advisory {
    pub id: String,
    pub modified: String,
    pub summary: Option<String>,
    pub aliases: Vec<String>,
    /// (type, score) of the first `severity[]` entry, e.g. (`CVSS_V3`, vector).
    pub severity: Option<(String, String)>,
    /// Every (type, score) of `severity[]` (`CVSS_V3`, `CVSS_V4`…).
    pub cvss: Vec<(String, String)>,
    pub affected: Vec<Affected>,
}

fn s(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// Parses one OSV advisory (JSON object).
pub fn parse(text: &str) -> Result<Advisory, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("JSON: {e}"))?;
    let id = s(&v["id"]).filter(|i| !i.is_empty()).ok_or("no id")?;
    let modified = s(&v["modified"]).ok_or_else(|| format!("{id}: no modified date"))?;
    let mut affected = Vec::new();
    for (i, a) in v["affected"].as_array().into_iter().flatten().enumerate() {
        let pkg = &a["package"];
        let (Some(ecosystem), Some(name)) = (s(&pkg["ecosystem"]), s(&pkg["name"])) else {
            return Err(format!(
                "{id}: affected[{i}] without package ecosystem and name"
            ));
        };
        let mut ranges = Vec::new();
        for (j, r) in a["ranges"].as_array().into_iter().flatten().enumerate() {
            let kind = s(&r["type"])
                .ok_or_else(|| format!("{id}: affected[{i}].ranges[{j}] without type"))?;
            let mut events = Vec::new();
            for e in r["events"].as_array().into_iter().flatten() {
                let o = e
                    .as_object()
                    .ok_or_else(|| format!("{id}: event is not an object"))?;
                let (k, val) = o
                    .iter()
                    .next()
                    .ok_or_else(|| format!("{id}: empty event"))?;
                if k == "status" {
                    let text = |f: &str| s(&val[f]);
                    events.push(Event::Status(VersionStatus {
                        version: text("version")
                            .ok_or_else(|| format!("{id}: status event without version"))?,
                        less_than: text("lessThan"),
                        less_than_or_equal: text("lessThanOrEqual"),
                        status: text("status")
                            .ok_or_else(|| format!("{id}: status event without status"))?,
                    }));
                    continue;
                }
                let val = val
                    .as_str()
                    .ok_or_else(|| format!("{id}: event {k} is not a string"))?
                    .to_string();
                events.push(match k.as_str() {
                    "introduced" => Event::Introduced(val),
                    "fixed" => Event::Fixed(val),
                    "last_affected" => Event::LastAffected(val),
                    "limit" => Event::Limit(val),
                    "introduced_exclusive" => Event::IntroducedExclusive(val),
                    "default_status" => Event::DefaultStatus(val),
                    other => return Err(format!("{id}: unknown event {other:?}")),
                });
            }
            ranges.push(Range { kind, events });
        }
        let versions = a["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(s)
            .collect();
        affected.push(Affected {
            program_files: program_files(&a["ecosystem_specific"]["program_files"]),
            ecosystem,
            name,
            ranges,
            versions,
        });
    }
    if affected.is_empty() {
        return Err(format!("{id}: no affected packages"));
    }
    let cvss: Vec<(String, String)> = v["severity"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| Some((s(&x["type"])?, s(&x["score"])?)))
        .collect();
    let severity = cvss.first().cloned();
    Ok(Advisory {
        aliases: v["aliases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(s)
            .collect(),
        summary: s(&v["summary"]),
        id,
        modified,
        severity,
        cvss,
        affected,
    })
}

fn event_json(e: &Event) -> Value {
    use serde_json::json;
    match e {
        Event::Introduced(v) => json!({ "introduced": v }),
        Event::Fixed(v) => json!({ "fixed": v }),
        Event::LastAffected(v) => json!({ "last_affected": v }),
        Event::Limit(v) => json!({ "limit": v }),
        Event::IntroducedExclusive(v) => json!({ "introduced_exclusive": v }),
        Event::DefaultStatus(v) => json!({ "default_status": v }),
        Event::Status(st) => {
            let mut o = serde_json::Map::new();
            o.insert("version".into(), json!(st.version));
            if let Some(l) = &st.less_than {
                o.insert("lessThan".into(), json!(l));
            }
            if let Some(l) = &st.less_than_or_equal {
                o.insert("lessThanOrEqual".into(), json!(l));
            }
            o.insert("status".into(), json!(st.status));
            json!({ "status": o })
        }
    }
}

/// The OSV JSON of an advisory, which [`parse`] reads back as the same value.
pub fn to_json(a: &Advisory) -> Value {
    use serde_json::json;
    let affected: Vec<Value> = a
        .affected
        .iter()
        .map(|x| {
            let ranges: Vec<Value> = x
                .ranges
                .iter()
                .map(|r| json!({"type": r.kind, "events": r.events.iter().map(event_json).collect::<Vec<_>>()}))
                .collect();
            let mut o = json!({"package": {"ecosystem": x.ecosystem, "name": x.name}, "ranges": ranges});
            if !x.versions.is_empty() {
                o["versions"] = json!(x.versions);
            }
            if !x.program_files.is_empty() {
                o["ecosystem_specific"] = json!({"program_files": x.program_files});
            }
            o
        })
        .collect();
    let mut o = json!({"id": a.id, "modified": a.modified, "affected": affected});
    if let Some(sm) = &a.summary {
        o["summary"] = json!(sm);
    }
    if !a.aliases.is_empty() {
        o["aliases"] = json!(a.aliases);
    }
    // `severity` is the first entry: kept first.
    let mut sev: Vec<&(String, String)> = a.severity.iter().collect();
    sev.extend(a.cvss.iter().filter(|c| Some(*c) != a.severity.as_ref()));
    if !sev.is_empty() {
        o["severity"] = json!(sev
            .iter()
            .map(|(t, v)| json!({"type": t, "score": v}))
            .collect::<Vec<_>>());
    }
    o
}

/// The version ordering of an OSV ecosystem (`Debian:12`, `Alpine:v3.19`).
pub fn ordering(ecosystem: &str) -> fn(&str, &str) -> Ordering {
    match ecosystem.split(':').next().unwrap_or("") {
        "Debian" | "Ubuntu" => version::dpkg_cmp,
        "Alpine" => version::apk_ordering(ecosystem),
        "Red Hat" | "AlmaLinux" | "Rocky Linux" | "openSUSE" | "SUSE" => version::rpm_cmp,
        "CPE" => version::cpe_cmp,
        _ => version::semver_cmp,
    }
}

/// Whether `version` is affected; `Some(fixed)` with the first fixed
/// version above it (if the advisory names one).
pub fn evaluate(a: &Affected, version: &str) -> Option<Option<String>> {
    let cmp = ordering(&a.ecosystem);
    if a.versions
        .iter()
        .any(|v| cmp(v, version) == Ordering::Equal)
    {
        return Some(None);
    }
    for r in a.ranges.iter().filter(|r| r.kind != "GIT") {
        if r.kind == "CVE5" {
            match cve5_status(&r.events, version, cmp) {
                Some(fixed) => return Some(fixed),
                None => continue,
            }
        }
        let key = |e: &Event| match e {
            Event::Introduced(v)
            | Event::Fixed(v)
            | Event::LastAffected(v)
            | Event::Limit(v)
            | Event::IntroducedExclusive(v)
            | Event::DefaultStatus(v) => v.clone(),
            Event::Status(st) => st.version.clone(),
        };
        let mut evs = r.events.clone();
        // "0" (introduced at the beginning) sorts first.
        evs.sort_by(|x, y| match (key(x).as_str(), key(y).as_str()) {
            ("0", "0") => Ordering::Equal,
            ("0", _) => Ordering::Less,
            (_, "0") => Ordering::Greater,
            (p, q) => cmp(p, q),
        });
        let mut affected = false;
        let mut fixed_above = None;
        for e in &evs {
            match e {
                Event::Introduced(v) if v == "0" || cmp(version, v) != Ordering::Less => {
                    affected = true
                }
                Event::IntroducedExclusive(v) if cmp(version, v) == Ordering::Greater => {
                    affected = true
                }
                Event::Fixed(v) if cmp(version, v) != Ordering::Less => affected = false,
                Event::Fixed(v) if affected && fixed_above.is_none() => {
                    fixed_above = Some(v.clone())
                }
                Event::LastAffected(v) if cmp(version, v) == Ordering::Greater => affected = false,
                Event::Limit(v) if cmp(version, v) != Ordering::Less => affected = false,
                _ => {}
            }
        }
        if affected {
            return Some(fixed_above);
        }
    }
    None
}

/// Whether `version` is at or below a CVE 5 upper bound: `*` bounds
/// nothing, `6.1.*` takes every 6.1 release (and everything before 6.1).
fn below(version: &str, bound: &str, inclusive: bool, cmp: fn(&str, &str) -> Ordering) -> bool {
    if bound == "*" {
        return true;
    }
    if let Some(prefix) = bound.strip_suffix(".*").or_else(|| bound.strip_suffix('*')) {
        let prefix = prefix.trim_end_matches('.');
        let within = version == prefix
            || version
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with(['.', '-', '+', '~', '_']));
        return if inclusive {
            within || cmp(version, prefix) == Ordering::Less
        } else {
            !within && cmp(version, prefix) == Ordering::Less
        };
    }
    match cmp(version, bound) {
        Ordering::Less => true,
        Ordering::Equal => inclusive,
        Ordering::Greater => false,
    }
}

/// Whether a CVE 5 entry contains `version`.
fn contains(st: &VersionStatus, version: &str, cmp: fn(&str, &str) -> Ordering) -> bool {
    let from = st.version == "0" || cmp(version, &st.version) != Ordering::Less;
    match (&st.less_than, &st.less_than_or_equal) {
        (Some(b), _) => from && below(version, b, false, cmp),
        (None, Some(b)) => from && below(version, b, true, cmp),
        (None, None) => cmp(version, &st.version) == Ordering::Equal,
    }
}

/// A `CVE5` range: `Some(fixed)` when the first entry containing `version`
/// (else the default status) says `affected`; `fixed` is the bound of that
/// entry when it is a plain `lessThan` version, else the lowest start of an
/// `unaffected` range above `version` (a kernel 6.1.80 gets 6.1.90, the
/// stable release with the fix, not the mainline 6.9).
fn cve5_status(
    events: &[Event],
    version: &str,
    cmp: fn(&str, &str) -> Ordering,
) -> Option<Option<String>> {
    let entries = events.iter().filter_map(|e| match e {
        Event::Status(st) => Some(st),
        _ => None,
    });
    let default = events.iter().find_map(|e| match e {
        Event::DefaultStatus(d) => Some(d.as_str()),
        _ => None,
    });
    let hit = entries.clone().find(|st| contains(st, version, cmp));
    let status = hit.map(|st| st.status.as_str()).or(default)?;
    if status != "affected" {
        return None;
    }
    if let Some(b) = hit
        .and_then(|st| st.less_than.as_ref())
        .filter(|b| !b.contains('*'))
    {
        return Some(Some(b.clone()));
    }
    let fixed = entries
        .filter(|st| {
            st.status == "unaffected"
                && (st.less_than.is_some() || st.less_than_or_equal.is_some())
                && st.version != "0"
                && cmp(&st.version, version) == Ordering::Greater
        })
        .map(|st| st.version.as_str())
        .min_by(|a, b| cmp(a, b))
        .map(str::to_string);
    Some(fixed)
}

/// (binary name, version, source package) of an attested package tag: a
/// purl's decoded name and version and its `upstream` source (else the
/// name); any other tag (`kind:name@version`) split at its last `@`. Total:
/// a hostile tag yields some strings, never a panic.
pub fn component(tag: &str) -> (String, String, String) {
    if let Some((_, name, version, query)) = purl_parts(tag) {
        let source = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("upstream="))
            .map(|u| {
                let u = pct_decode(u);
                u.split('@').next().unwrap_or("").to_string()
            })
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| name.clone());
        return (name, pct_decode(version), source);
    }
    let (name, version) = tag.rsplit_once('@').unwrap_or((tag, ""));
    let name = name.rsplit(':').next().unwrap_or(name).to_string();
    (name.clone(), version.to_string(), name)
}

/// (type, decoded name, raw version, raw qualifiers) of a purl.
pub(super) fn purl_parts(purl: &str) -> Option<(&str, String, &str, &str)> {
    let rest = purl.strip_prefix("pkg:")?;
    let (ty, rest) = rest.split_once('/')?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (ns_name, version) = path.rsplit_once('@')?;
    Some((ty, pct_decode(ns_name.rsplit('/').next()?), version, query))
}

pub(super) fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        // Bytes, not `&str` slices: a device-controlled purl may put a
        // multi-byte character right after '%'.
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
#[path = "osv_tests.rs"]
mod tests;
