//! The image record the fieldattest Yocto class writes at build time
//! (Contract 2, ISSUE18): `/usr/share/fieldattest/cve-record.jsonl`, one JSON
//! object per installed recipe with its `CVE_PRODUCT`, `PV`/`CVE_VERSION`, the
//! packages it produced and its `CVE_STATUS` entries:
//!
//! ```json
//! {"pn":"openssl","pv":"3.0.2","cve_version":"3.0.2","cve_product":["openssl:openssl"],
//!  "packages":["openssl","libssl3"],"cve_status":[{"id":"CVE-2023-0464",
//!  "status":"Patched","detail":"backported-patch","description":"..."}]}
//! ```
//!
//! Hostile input: lines over 64 KiB, bad JSON, missing or oversized fields are
//! reported by line number and skipped; the rest still counts. Unknown keys
//! are ignored (a newer class may add some).

use super::cpe::{self, Product};
use crate::root::RootFs;
use fieldattest_protocol::report::{CveStatus, InventoryError, Package, PackageSource};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

pub const PATH: &str = "/usr/share/fieldattest/cve-record.jsonl";
/// Longest line read.
pub const MAX_LINE: usize = 64 * 1024;
/// Most records (recipes) read; later lines are reported once and ignored.
pub const MAX_RECORDS: usize = 16_384;
/// Largest file read.
pub const MAX_FILE: u64 = 64 * 1024 * 1024;
/// Longest recipe name, CVE id, status, detail; longer entries are refused.
const MAX_NAME: usize = 128;
const MAX_ID: usize = 64;

/// One recipe of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Recipe name (`PN`).
    pub pn: String,
    /// The version CVEs are checked against: `CVE_VERSION`, else `PV`, cut at
    /// `+git` as OE-core does. Empty when the record gives neither.
    pub version: String,
    /// `CVE_PRODUCT` words: `vendor:product` or a bare `product`.
    pub products: Vec<Product>,
    /// The packages the recipe produced (installed or not).
    pub packages: Vec<String>,
    pub cve_status: Vec<CveStatus>,
}

#[derive(Deserialize)]
struct Raw {
    pn: String,
    #[serde(default)]
    pv: Option<String>,
    #[serde(default)]
    cve_version: Option<String>,
    #[serde(default)]
    cve_product: Vec<String>,
    #[serde(default)]
    packages: Vec<String>,
    #[serde(default)]
    cve_status: Vec<CveStatus>,
}

fn check_record(raw: Raw) -> Result<Record, String> {
    let bad_name = |s: &str| s.is_empty() || s.len() > MAX_NAME || s.chars().any(char::is_control);
    if bad_name(&raw.pn) {
        return Err("pn is empty, too long or holds control characters".into());
    }
    let version = raw
        .cve_version
        .filter(|v| !v.is_empty())
        .or(raw.pv)
        .map(|v| cpe::yocto_version(&v).to_string())
        .unwrap_or_default();
    let mut products = Vec::new();
    for w in &raw.cve_product {
        // A CVE_PRODUCT value may hold several words in one string.
        for word in w.split_whitespace() {
            match Product::from_cve_product(word).filter(|p| p.cpe("1").is_some()) {
                Some(p) if !products.contains(&p) => products.push(p),
                Some(_) => {}
                None => return Err(format!("bad cve_product {word:?}")),
            }
        }
    }
    if let Some(p) = raw.packages.iter().find(|p| bad_name(p)) {
        return Err(format!("bad package name {p:?}"));
    }
    for s in &raw.cve_status {
        if s.id.is_empty()
            || s.id.len() > MAX_ID
            || s.status.len() > MAX_ID
            || s.detail.len() > MAX_ID
        {
            return Err(format!("bad cve_status entry {:?}", s.id));
        }
    }
    Ok(Record {
        pn: raw.pn,
        version,
        products,
        packages: raw.packages,
        cve_status: raw.cve_status,
    })
}

/// Parses the record text: the records and `(line, message)` for each line
/// skipped. A recipe listed twice keeps its first line.
pub fn parse(text: &str) -> (Vec<Record>, Vec<(u64, String)>) {
    let mut records: Vec<Record> = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for (i, line) in text.split('\n').enumerate() {
        let n = i as u64 + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        if records.len() >= MAX_RECORDS {
            errors.push((
                n,
                format!("more than {MAX_RECORDS} records; the rest is ignored"),
            ));
            break;
        }
        if line.len() > MAX_LINE {
            errors.push((n, format!("line longer than {MAX_LINE} bytes")));
            continue;
        }
        let rec = serde_json::from_str::<Raw>(line)
            .map_err(|e| e.to_string())
            .and_then(check_record);
        match rec {
            Ok(r) if seen.contains(&r.pn) => {
                errors.push((n, format!("recipe {} listed twice", r.pn)))
            }
            Ok(r) => {
                seen.insert(r.pn.clone());
                records.push(r);
            }
            Err(m) => errors.push((n, m)),
        }
    }
    (records, errors)
}

/// Reads the record from the image; absent file: nothing, no error.
pub fn read_detailed(root: &RootFs) -> (Vec<Record>, Vec<InventoryError>) {
    let err = |line: Option<u64>, message: String| InventoryError {
        source: "cve-record".into(),
        path: PATH.into(),
        line,
        message,
    };
    match root.read_limited(PATH, MAX_FILE) {
        Ok(b) => {
            let (records, errs) = parse(&String::from_utf8_lossy(&b));
            (
                records,
                errs.into_iter().map(|(l, m)| err(Some(l), m)).collect(),
            )
        }
        Err(e) if e.is_not_found() => (Vec::new(), Vec::new()),
        Err(e) => (Vec::new(), vec![err(None, e.to_string())]),
    }
}

/// Contract 2: the records and the errors as `path:line: message` text.
pub fn read(root: &RootFs) -> (Vec<Record>, Vec<String>) {
    let (records, errors) = read_detailed(root);
    let errors = errors
        .into_iter()
        .map(|e| match e.line {
            Some(l) => format!("{}:{l}: {}", e.path, e.message),
            None => format!("{}: {}", e.path, e.message),
        })
        .collect();
    (records, errors)
}

/// Applies the records to the packages they list (by package name; an opkg
/// package whose recipe, `source_package`, is the record's `pn` matches too).
/// The record's CPEs replace any table's: an empty `cve_product` leaves the
/// package without CPE (OE-core's `CVE_PRODUCT = ""`). The recipe's
/// `cve_status` lands on one package of the recipe only — the package named
/// like the recipe, else the first installed one the record lists, else the
/// first matching one — so that a kernel recipe's thousands of statuses are
/// not copied onto each of its hundreds of module packages. Returns the
/// number of packages matched.
pub fn apply(packages: &mut [Package], records: &[Record]) -> usize {
    let mut by_package: HashMap<&str, usize> = HashMap::new();
    let mut by_pn: HashMap<&str, usize> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        by_pn.entry(r.pn.as_str()).or_insert(i);
        for p in &r.packages {
            by_package.entry(p.as_str()).or_insert(i);
        }
    }
    let mut matched = 0;
    // record index -> (rank, package index) of the package carrying cve_status
    let mut carrier: HashMap<usize, (usize, usize)> = HashMap::new();
    for (pi, p) in packages.iter_mut().enumerate() {
        let by_recipe = match (p.source, &p.source_package) {
            (PackageSource::Opkg, Some(s)) => by_pn.get(s.as_str()).copied(),
            _ => None,
        };
        let Some(ri) = by_package.get(p.name.as_str()).copied().or(by_recipe) else {
            continue;
        };
        let r = &records[ri];
        matched += 1;
        p.cpe = if r.version.is_empty() {
            Vec::new()
        } else {
            cpe::cpes(&r.products, &r.version)
        };
        let rank = if p.name == r.pn {
            0
        } else {
            1 + r
                .packages
                .iter()
                .position(|n| *n == p.name)
                .unwrap_or(r.packages.len())
        };
        let e = carrier.entry(ri).or_insert((rank, pi));
        if rank < e.0 {
            *e = (rank, pi);
        }
    }
    for (ri, (_, pi)) in carrier {
        packages[pi].cve_status = records[ri].cve_status.clone();
    }
    matched
}

#[cfg(test)]
#[path = "yocto_record_tests.rs"]
mod tests;
