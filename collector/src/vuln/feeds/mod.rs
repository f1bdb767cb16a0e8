//! Offline import of vulnerability data, every format recognised by its
//! content (never by its file name):
//!
//! - OSV advisories (one, a JSON array, or osv.dev's per-ecosystem zip);
//! - NVD CVE API 2.0 JSON (`nvd`): `vulnerabilities[].cve`, streamed, so a
//!   yearly feed is never held whole;
//! - CVE JSON 5 records (`cve5`): one, a JSON array, or a cvelistV5 zip;
//! - the CISA KEV catalog (`kev`), FIRST EPSS CSV (`epss`, also gzip);
//! - supplier VEX: CSAF 2.0 (`csaf`), OpenVEX (`openvex`), CycloneDX
//!   (`cyclonedx`);
//! - kernel configurations (`kconfig`: a `.config`, or a device's
//!   `/proc/config.gz`), by digest (`kconfig.rs`).
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
mod fields;
mod kconfig;
mod kev;
mod nvd;
mod openvex;
mod status;
mod stream;

pub use fields::merge;
use fields::{cpe_parts, english, epoch, is_cve, justification, text, vex_rows};
pub use status::{feed_status, is_build_data, FeedStatus, DEFAULT_MAX_AGE};

use crate::store::{Feed, FeedRecord, PutAdvisory, PutCounts, Store};
use serde_json::Value;
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
    let gz = magic[..n].starts_with(&[0x1f, 0x8b]);
    if kconfig::import(&mut imp, name, &mut r, gz) {
        // A kernel configuration (plain or gzip), imported whole.
    } else if magic[..n].starts_with(b"PK\x03\x04") {
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
                "not a known format (JSON: OSV, NVD 2.0, CVE 5, KEV, CSAF, OpenVEX, CycloneDX; CSV: EPSS; kernel .config)"
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

#[cfg(test)]
mod exploit_vex_tests;
#[cfg(test)]
mod tests;
