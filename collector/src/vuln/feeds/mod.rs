//! Offline import of vulnerability data, every format recognised by its
//! content (never by its file name):
//!
//! - OSV advisories (one, a JSON array, or osv.dev's per-ecosystem zip);
//! - NVD CVE API 2.0 JSON (`nvd`): `vulnerabilities[].cve`, streamed, so a
//!   yearly feed is never held whole;
//! - CVE JSON 5 records (`cve5`): one, a JSON array, or a cvelistV5 zip;
//! - the CISA KEV catalog (`kev`), FIRST EPSS CSV (`epss`, also gzip);
//! - supplier VEX: CSAF 2.0 (`csaf`), OpenVEX (`openvex`), CycloneDX
//!   (`cyclonedx`).
//!
//! NVD and CVE 5 records become OSV-shaped advisories with ecosystem `CPE`
//! and name `vendor:product` (see `osv`), stored per feed and merged per
//! CVE ([`merge`]): for one (CVE, vendor:product) a CVE 5 record's
//! evaluable versions win over NVD's match criteria, whatever the import
//! order. Imports are idempotent (a record equal to the stored one counts
//! as unchanged); a malformed record is reported with its file and
//! position (JSON pointer, array index or CSV line) and skipped, the rest
//! goes on. Sizes are bounded: 16 MiB per zip entry, 4 GiB of
//! decompressed gzip, 256 MiB for a document held whole (every format but
//! NVD's streamed `vulnerabilities[]` and top-level arrays of records).

mod csaf;
mod cve5;
mod cyclonedx;
mod epss;
mod kev;
mod nvd;
mod openvex;
mod status;
mod stream;

pub use status::{feed_status, stale_feeds, FeedStatus, DEFAULT_MAX_AGE};

use crate::store::{Feed, FeedRecord, Merged, PutAdvisory, PutCounts, Store};
use serde_json::{json, Value};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Seek};
use std::rc::Rc;

/// Largest zip entry read.
pub const MAX_ZIP_ENTRY: u64 = 16 * 1024 * 1024;
/// Largest decompressed gzip stream, and largest JSON file.
pub const MAX_STREAM: u64 = 4 * 1024 * 1024 * 1024;
/// Largest JSON document held whole.
pub const MAX_HELD: u64 = 256 * 1024 * 1024;
/// Records stored per transaction.
const BATCH: usize = 1000;

/// Counts of one `vulndb import`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub new: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// (file, `file!entry`, `file#/json/pointer` or `file:line`, reason) of
    /// what was skipped.
    pub errors: Vec<(String, String)>,
    /// (ecosystem, name) keys of new and updated advisories: what
    /// [`super::refresh_keys`] matches again.
    pub touched: std::collections::BTreeSet<(String, String)>,
    /// Supplier VEX statements changed: matches carry them, so every
    /// package set is matched again.
    pub statements_changed: bool,
}

/// Imports a file's bytes (see the module documentation for the formats).
pub fn import_bytes(store: &dyn Store, name: &str, bytes: &[u8], now: i64, rep: &mut ImportReport) {
    import_reader(store, name, std::io::Cursor::new(bytes), now, rep)
}

/// Imports a file, reading it as a stream (an NVD yearly feed is not held
/// in memory whole).
pub fn import_file(store: &dyn Store, path: &str, now: i64, rep: &mut ImportReport) {
    match std::fs::File::open(path) {
        Ok(f) => import_reader(store, path, f, now, rep),
        Err(e) => rep.errors.push((path.into(), e.to_string())),
    }
}

fn import_reader<R: Read + Seek>(
    store: &dyn Store,
    name: &str,
    mut r: R,
    now: i64,
    rep: &mut ImportReport,
) {
    let origin = name.rsplit('/').next().unwrap_or(name).to_string();
    let mut imp = Import {
        store,
        origin,
        now,
        rep,
        tally: BTreeMap::new(),
        pending: Vec::new(),
        streamed: Rc::new(Cell::new(false)),
    };
    let mut magic = [0u8; 4];
    let n = read_full(&mut r, &mut magic);
    if r.seek(std::io::SeekFrom::Start(0)).is_err() {
        return imp.error(name, "cannot rewind".into());
    }
    if magic[..n].starts_with(b"PK\x03\x04") {
        imp.zip(name, r);
    } else if magic[..n].starts_with(&[0x1f, 0x8b]) {
        let gz = flate2::read::MultiGzDecoder::new(BufReader::new(r));
        imp.text(name, BufReader::new(Bounded::new(gz, MAX_STREAM)));
    } else {
        imp.text(name, BufReader::new(r));
    }
    imp.finish();
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n
}

/// A reader failing once more than `left` bytes were read (a bounded
/// gzip stream), counting what it read.
struct Bounded<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R> Bounded<R> {
    fn new(inner: R, limit: u64) -> Self {
        Bounded {
            inner,
            left: limit,
            limit,
        }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(std::io::Error::other(format!(
                "larger than {} MiB",
                self.limit >> 20
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// A JSON reader that refuses more than [`MAX_HELD`] bytes until a record
/// was streamed (a document held whole is bounded; a stream of records is
/// bounded by [`MAX_STREAM`]).
struct Held<R> {
    inner: R,
    read: u64,
    streamed: Rc<Cell<bool>>,
}

impl<R: Read> Read for Held<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > MAX_STREAM || (self.read > MAX_HELD && !self.streamed.get()) {
            return Err(std::io::Error::other(format!(
                "larger than {} MiB held whole",
                (if self.streamed.get() {
                    MAX_STREAM
                } else {
                    MAX_HELD
                }) >> 20
            )));
        }
        Ok(n)
    }
}

/// One file's import in progress.
pub(super) struct Import<'a> {
    store: &'a dyn Store,
    /// The file name, the origin of its feed rows.
    origin: String,
    now: i64,
    rep: &'a mut ImportReport,
    /// Per feed kind: records taken and the newest data date.
    tally: BTreeMap<&'static str, (u64, Option<String>)>,
    /// CPE-based records waiting for their batch: (kind, position, record).
    pending: Vec<(&'static str, String, FeedRecord)>,
    /// Whether a record was streamed (lifts the held-document bound).
    streamed: Rc<Cell<bool>>,
}

impl Import<'_> {
    fn error(&mut self, at: &str, why: String) {
        self.rep.errors.push((at.to_string(), why));
    }

    /// Counts a record of `kind` taken, with its data date.
    fn took(&mut self, kind: &'static str, date: Option<&str>) {
        let t = self.tally.entry(kind).or_insert((0, None));
        t.0 += 1;
        if let Some(d) = date.filter(|d| !d.is_empty()) {
            if t.1.as_deref().is_none_or(|o| o < d) {
                t.1 = Some(d.to_string());
            }
        }
    }

    fn counts(&mut self, kind: &'static str, n: PutCounts, date: Option<&str>) {
        self.rep.new += n.new;
        self.rep.updated += n.updated;
        self.rep.unchanged += n.unchanged;
        let t = self.tally.entry(kind).or_insert((0, None));
        t.0 += (n.new + n.updated + n.unchanged) as u64;
        if let Some(d) = date.filter(|d| !d.is_empty()) {
            t.1 = Some(d.to_string());
        }
    }

    fn outcome(&mut self, r: PutAdvisory, keys: impl IntoIterator<Item = (String, String)>) {
        match r {
            PutAdvisory::New => self.rep.new += 1,
            PutAdvisory::Updated => self.rep.updated += 1,
            PutAdvisory::Unchanged => return self.rep.unchanged += 1,
        }
        self.rep.touched.extend(keys);
    }

    /// Queues a CPE-based record (stored by batches).
    fn cpe_record(&mut self, kind: &'static str, at: String, rec: FeedRecord) {
        self.pending.push((kind, at, rec));
        if self.pending.len() >= BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        for kind in ["nvd", "cve5"] {
            let (ats, recs): (Vec<String>, Vec<FeedRecord>) = pending
                .iter()
                .filter(|p| p.0 == kind)
                .map(|p| (p.1.clone(), p.2.clone()))
                .unzip();
            if recs.is_empty() {
                continue;
            }
            match self
                .store
                .put_feed_records(kind, &self.origin, &recs, self.now, &merge)
            {
                Ok(res) => {
                    for ((at, rec), r) in ats.iter().zip(&recs).zip(res) {
                        match r {
                            Ok(o) => {
                                let keys = super::parse(&rec.raw)
                                    .map(|a| {
                                        a.affected
                                            .into_iter()
                                            .map(|x| (x.ecosystem, x.name))
                                            .collect::<Vec<_>>()
                                    })
                                    .unwrap_or_default();
                                self.outcome(o, keys);
                                self.took(kind, Some(&rec.modified));
                            }
                            Err(e) => self.error(at, e),
                        }
                    }
                }
                Err(e) => {
                    for at in ats {
                        self.error(&at, format!("storage: {e}"));
                    }
                }
            }
        }
    }

    fn finish(mut self) {
        self.flush();
        for (kind, (records, date)) in std::mem::take(&mut self.tally) {
            let f = Feed {
                kind: kind.into(),
                origin: self.origin.clone(),
                records,
                imported_at: self.now,
                data_date: date,
            };
            if let Err(e) = self.store.put_feed(&f) {
                let origin = self.origin.clone();
                self.error(&origin, format!("storage: {e}"));
            }
        }
    }

    fn zip<R: Read + Seek>(&mut self, name: &str, r: R) {
        let mut z = match zip::ZipArchive::new(r) {
            Ok(z) => z,
            Err(e) => return self.error(name, format!("zip: {e}")),
        };
        for i in 0..z.len() {
            let mut f = match z.by_index(i) {
                Ok(f) => f,
                Err(e) => {
                    self.error(&format!("{name}!#{i}"), format!("zip: {e}"));
                    continue;
                }
            };
            let entry = format!("{name}!{}", f.name());
            let base = f.name().rsplit('/').next().unwrap_or("");
            // cvelistV5's change logs beside the records.
            if !f.name().ends_with(".json") || base == "delta.json" || base == "deltaLog.json" {
                continue;
            }
            if f.size() > MAX_ZIP_ENTRY {
                self.error(&entry, format!("larger than {} MiB", MAX_ZIP_ENTRY >> 20));
                continue;
            }
            let mut bytes = Vec::new();
            if let Err(e) = (&mut f).take(MAX_ZIP_ENTRY + 1).read_to_end(&mut bytes) {
                self.error(&entry, e.to_string());
                continue;
            }
            if bytes.len() as u64 > MAX_ZIP_ENTRY {
                self.error(&entry, format!("larger than {} MiB", MAX_ZIP_ENTRY >> 20));
                continue;
            }
            drop(f);
            self.json(&entry, bytes.as_slice());
        }
    }

    /// A text stream: JSON, or EPSS CSV.
    fn text<R: BufRead>(&mut self, name: &str, mut r: R) {
        let head = match r.fill_buf() {
            Ok(h) => h,
            Err(e) => return self.error(name, e.to_string()),
        };
        let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
        let first = head.iter().find(|b| !b.is_ascii_whitespace());
        match first {
            Some(b'{') | Some(b'[') => self.json(name, r),
            _ if epss::looks_like(head) => epss::import(self, name, r),
            None => self.error(name, "empty file".into()),
            _ => self.error(
                name,
                "not a known format (JSON: OSV, NVD 2.0, CVE 5, KEV, CSAF, OpenVEX, CycloneDX; CSV: EPSS)"
                    .into(),
            ),
        }
    }

    /// A JSON document or stream of records.
    fn json<R: Read>(&mut self, at: &str, r: R) {
        self.streamed.set(false);
        let held = Held {
            inner: r,
            read: 0,
            streamed: self.streamed.clone(),
        };
        let streamed = self.streamed.clone();
        let doc = stream::read(held, &mut |w, v| match w {
            stream::Where::Top(i) => {
                streamed.set(true);
                self.record(&format!("{at}#/{i}"), v);
                Ok(None)
            }
            stream::Where::Vulns(i) if v.get("cve").is_some_and(Value::is_object) => {
                streamed.set(true);
                nvd::record(self, format!("{at}#/vulnerabilities/{i}"), &v);
                Ok(None)
            }
            stream::Where::Vulns(i) if streamed.get() => {
                self.error(
                    &format!("{at}#/vulnerabilities/{i}"),
                    "not an NVD record (no cve object)".into(),
                );
                Ok(None)
            }
            stream::Where::Vulns(_) => Ok(Some(v)),
        });
        match doc {
            Ok(stream::Doc::Array) => {}
            Ok(stream::Doc::Object(m)) => self.document(at, m),
            Err(e) => self.error(at, format!("JSON: {e}")),
        }
    }

    /// One record of a stream (an array element): OSV, CVE 5 or NVD.
    fn record(&mut self, at: &str, v: Value) {
        if v.get("cveMetadata").is_some() || v["dataType"] == "CVE_RECORD" {
            cve5::record(self, at.to_string(), &v)
        } else if v.get("cve").is_some_and(Value::is_object) {
            nvd::record(self, at.to_string(), &v)
        } else if v.get("id").is_some() && v.get("modified").is_some() {
            self.osv(at, v.to_string())
        } else {
            self.error(at, "not an OSV, CVE 5 or NVD record".into())
        }
    }

    /// A whole JSON object.
    fn document(&mut self, at: &str, m: serde_json::Map<String, Value>) {
        let v = Value::Object(m);
        let has = |k: &str| v.get(k).is_some();
        if has("cveMetadata") || v["dataType"] == "CVE_RECORD" {
            cve5::record(self, at.to_string(), &v)
        } else if v["bomFormat"] == "CycloneDX" {
            cyclonedx::import(self, at, &v)
        } else if v["document"]["category"]
            .as_str()
            .is_some_and(|c| c.starts_with("csaf_"))
        {
            csaf::import(self, at, &v)
        } else if v["@context"]
            .as_str()
            .is_some_and(|c| c.contains("openvex"))
        {
            openvex::import(self, at, &v)
        } else if has("catalogVersion")
            || v["vulnerabilities"]
                .as_array()
                .and_then(|a| a.first())
                .is_some_and(|e| e.get("cveID").is_some())
        {
            kev::import(self, at, &v)
        } else if v["format"] == "NVD_CVE" || has("totalResults") {
            let left = v["vulnerabilities"].as_array().map_or(0, Vec::len);
            if left > 0 {
                self.error(
                    at,
                    format!("{left} vulnerabilities[] entries without a cve object"),
                );
            }
            // An empty NVD page still says how fresh the data is.
            let date = v["timestamp"].as_str().unwrap_or("").to_string();
            self.tally.entry("nvd").or_insert((0, Some(date)));
        } else if has("id") && has("modified") {
            self.osv(at, v.to_string())
        } else {
            self.error(
                at,
                "not a known format (OSV, NVD 2.0, CVE 5, KEV, CSAF, OpenVEX, CycloneDX)".into(),
            )
        }
    }

    /// An OSV advisory, stored as given.
    fn osv(&mut self, at: &str, text: String) {
        let adv = match super::parse(&text) {
            Ok(a) => a,
            Err(e) => return self.error(at, e),
        };
        let keys: Vec<(String, String)> = adv
            .affected
            .iter()
            .map(|a| (a.ecosystem.clone(), a.name.clone()))
            .collect();
        match self.store.put_advisory(
            &adv.id,
            &adv.modified,
            &keys,
            &text,
            at.split('#').next().unwrap_or(at),
            self.now,
        ) {
            Ok(o) => {
                self.outcome(o, keys);
                self.took("osv", Some(&adv.modified));
            }
            Err(e) => self.error(at, format!("storage: {e}")),
        }
    }
}

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
    status::day(t)
}

/// Stores a supplier VEX document's statements.
pub(super) fn vex_rows(
    imp: &mut Import,
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

#[cfg(test)]
mod tests;
