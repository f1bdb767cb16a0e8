//! Imported vulnerability data besides OSV advisories (issue 18): the
//! records of CPE-based feeds per source (`feed_records`: NVD and CVE 5,
//! merged into one advisory per CVE by the caller's merge function), the
//! CISA KEV catalog, FIRST EPSS scores, supplier VEX statements, and what
//! was imported from where (`feeds`).
//!
//! KEV and EPSS files are snapshots: an import replaces the table. A
//! supplier VEX document replaces the statements of the same document
//! (`source`). Every write of one call is one transaction.

use super::{e, vulns, PutAdvisory, Result};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;

/// One record of a CPE-based feed: its OSV-shaped JSON (`raw`) as the feed
/// said it, before merging with other feeds' records of the same id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRecord {
    pub id: String,
    pub modified: String,
    pub raw: String,
}

/// The advisory merged from every feed's record of one id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub modified: String,
    pub keys: Vec<(String, String)>,
    pub raw: String,
}

/// Merges the (kind, raw) records of one id; `None`: no advisory (withdrawn
/// or nothing evaluable).
pub type MergeFn = dyn Fn(&[(String, String)]) -> Option<Merged>;

/// A CISA KEV entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kev {
    /// `dateAdded` (YYYY-MM-DD).
    pub added: String,
    /// `knownRansomwareCampaignUse` is `Known`.
    pub ransomware: bool,
    /// `dueDate` (YYYY-MM-DD).
    pub due: Option<String>,
}

/// A FIRST EPSS score.
#[derive(Debug, Clone, PartialEq)]
pub struct Epss {
    pub score: f64,
    pub percentile: f64,
    /// The file's `score_date` (YYYY-MM-DD).
    pub date: String,
}

/// A supplier's VEX statement (CSAF 2.0, OpenVEX, CycloneDX).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplierVex {
    pub vuln: String,
    /// A purl (with or without version) or a CPE 2.3 formatted string.
    pub product: String,
    /// `not_affected`, `affected`, `fixed`, `under_investigation`.
    pub status: String,
    /// A CycloneDX justification (`code_not_present`, …).
    pub justification: Option<String>,
    /// The document's own words: its label or justification, impact or
    /// action statement.
    pub detail: Option<String>,
    /// The document: CSAF `publisher.namespace#tracking.id`, OpenVEX `@id`,
    /// CycloneDX `serialNumber`, else the file name.
    pub source: String,
    /// The statement's (or document's) time, Unix seconds.
    pub at: i64,
}

/// What one import of one file of one feed held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    /// `osv`, `nvd`, `cve5`, `kev`, `epss`, `vex`.
    pub kind: String,
    /// The file name.
    pub origin: String,
    pub records: u64,
    pub imported_at: i64,
    /// The data's own date: NVD the envelope's `timestamp` or the newest
    /// `lastModified` (the later), CVE 5 the newest `dateUpdated`, KEV
    /// `dateReleased`, EPSS `score_date`, OSV the newest `modified`, VEX
    /// the document's date.
    pub data_date: Option<String>,
}

/// Counts of a snapshot write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PutCounts {
    pub new: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Rows of the previous snapshot the new one no longer has.
    pub removed: usize,
}

/// Stores feed records (one transaction); for each changed record the
/// merged advisory of its id is written (source `feeds:SOURCE`) or, when
/// the merge yields none, a feed-made advisory of that id is deleted. An id
/// held by an OSV advisory imported from elsewhere is left to it (the
/// record's result is an error naming it).
pub(super) fn put_feed_records(
    c: &mut Connection,
    kind: &str,
    source: &str,
    recs: &[FeedRecord],
    now: i64,
    merge: &MergeFn,
) -> Result<Vec<std::result::Result<PutAdvisory, String>>> {
    let tx = c.transaction().map_err(e)?;
    let mut out = Vec::with_capacity(recs.len());
    for r in recs {
        let old: Option<String> = tx
            .prepare_cached("SELECT raw FROM feed_records WHERE id = ?1 AND kind = ?2")
            .map_err(e)?
            .query_row(params![r.id, kind], |x| x.get(0))
            .optional()
            .map_err(e)?;
        if old.as_deref() == Some(r.raw.as_str()) {
            out.push(Ok(PutAdvisory::Unchanged));
            continue;
        }
        tx.prepare_cached(
            "INSERT OR REPLACE INTO feed_records (kind, id, modified, raw) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(e)?
        .execute(params![kind, r.id, r.modified, r.raw])
        .map_err(e)?;
        let parts: Vec<(String, String)> = tx
            .prepare_cached("SELECT kind, raw FROM feed_records WHERE id = ?1 ORDER BY kind")
            .map_err(e)?
            .query_map([&r.id], |x| Ok((x.get(0)?, x.get(1)?)))
            .map_err(e)?
            .collect::<rusqlite::Result<_>>()
            .map_err(e)?;
        let held: Option<String> = tx
            .prepare_cached("SELECT source FROM advisories WHERE id = ?1")
            .map_err(e)?
            .query_row([&r.id], |x| x.get(0))
            .optional()
            .map_err(e)?;
        if let Some(h) = held.as_deref().filter(|h| !h.starts_with("feeds:")) {
            out.push(Err(format!(
                "{}: an OSV advisory with this id (from {h}) is kept; the {kind} record is stored but not matched",
                r.id
            )));
            continue;
        }
        match merge(&parts) {
            Some(m) => vulns::write_advisory(
                &mut super::sql::Lite(&tx),
                &r.id,
                &m.modified,
                &m.keys,
                &m.raw,
                &format!("feeds:{source}"),
                now,
            )?,
            None => {
                tx.execute(
                    "DELETE FROM advisory_packages WHERE advisory_id = ?1",
                    [&r.id],
                )
                .map_err(e)?;
                tx.execute(
                    "DELETE FROM advisories WHERE id = ?1 AND source LIKE 'feeds:%'",
                    [&r.id],
                )
                .map_err(e)?;
            }
        }
        out.push(Ok(if old.is_some() {
            PutAdvisory::Updated
        } else {
            PutAdvisory::New
        }));
    }
    tx.commit().map_err(e)?;
    Ok(out)
}

/// Replaces the rows of `table` (keyed by `cve`) with `rows`: `read` loads
/// the old rows, `write` inserts or replaces one.
fn replace_snapshot<T: PartialEq>(
    c: &mut Connection,
    table: &str,
    rows: &[(String, T)],
    read: fn(&Connection) -> Result<HashMap<String, T>>,
    write: fn(&Connection, &str, &T) -> rusqlite::Result<usize>,
) -> Result<PutCounts> {
    let tx = c.transaction().map_err(e)?;
    let mut old = read(&tx)?;
    let mut n = PutCounts::default();
    for (cve, v) in rows {
        match old.remove(cve) {
            Some(o) if o == *v => n.unchanged += 1,
            prev => {
                if prev.is_some() {
                    n.updated += 1
                } else {
                    n.new += 1
                }
                write(&tx, cve, v).map_err(e)?;
            }
        }
    }
    {
        let mut del = tx
            .prepare(&format!("DELETE FROM {table} WHERE cve = ?1"))
            .map_err(e)?;
        for cve in old.keys() {
            del.execute([cve]).map_err(e)?;
        }
    }
    n.removed = old.len();
    tx.commit().map_err(e)?;
    Ok(n)
}

fn read_kev(c: &Connection) -> Result<HashMap<String, Kev>> {
    let mut st = c
        .prepare("SELECT cve, added, ransomware, due FROM kev")
        .map_err(e)?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Kev {
                    added: r.get(1)?,
                    ransomware: r.get::<_, i64>(2)? != 0,
                    due: r.get(3)?,
                },
            ))
        })
        .map_err(e)?;
    rows.collect::<rusqlite::Result<_>>().map_err(e)
}

fn write_kev(c: &Connection, cve: &str, k: &Kev) -> rusqlite::Result<usize> {
    c.prepare_cached(
        "INSERT OR REPLACE INTO kev (cve, added, ransomware, due) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![cve, k.added, k.ransomware as i64, k.due])
}

fn read_epss(c: &Connection) -> Result<HashMap<String, Epss>> {
    let mut st = c
        .prepare("SELECT cve, score, percentile, date FROM epss")
        .map_err(e)?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Epss {
                    score: r.get(1)?,
                    percentile: r.get(2)?,
                    date: r.get(3)?,
                },
            ))
        })
        .map_err(e)?;
    rows.collect::<rusqlite::Result<_>>().map_err(e)
}

fn write_epss(c: &Connection, cve: &str, x: &Epss) -> rusqlite::Result<usize> {
    c.prepare_cached(
        "INSERT OR REPLACE INTO epss (cve, score, percentile, date) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![cve, x.score, x.percentile, x.date])
}

/// Replaces the KEV catalog.
pub(super) fn put_kev(c: &mut Connection, entries: &[(String, Kev)]) -> Result<PutCounts> {
    replace_snapshot(c, "kev", entries, read_kev, write_kev)
}

pub(super) fn kev(c: &mut Connection, cve: &str) -> Result<Option<Kev>> {
    c.query_row(
        "SELECT added, ransomware, due FROM kev WHERE cve = ?1",
        [cve],
        |r| {
            Ok(Kev {
                added: r.get(0)?,
                ransomware: r.get::<_, i64>(1)? != 0,
                due: r.get(2)?,
            })
        },
    )
    .optional()
    .map_err(e)
}

pub(super) fn kev_all(c: &mut Connection) -> Result<HashMap<String, Kev>> {
    read_kev(c)
}

/// Replaces the EPSS scores.
pub(super) fn put_epss(c: &mut Connection, rows: &[(String, Epss)]) -> Result<PutCounts> {
    replace_snapshot(c, "epss", rows, read_epss, write_epss)
}

pub(super) fn epss_all(c: &mut Connection) -> Result<HashMap<String, Epss>> {
    read_epss(c)
}

/// Replaces the statements of one supplier document.
pub(super) fn put_supplier_vex(
    c: &mut Connection,
    source: &str,
    rows: &[SupplierVex],
) -> Result<PutCounts> {
    let tx = c.transaction().map_err(e)?;
    let mut old: HashMap<(String, String), SupplierVex> = HashMap::new();
    for v in supplier_vex_where(&tx, Some(source))? {
        old.insert((v.vuln.clone(), v.product.clone()), v);
    }
    let mut n = PutCounts::default();
    for v in rows {
        match old.remove(&(v.vuln.clone(), v.product.clone())) {
            Some(o) if o == *v => n.unchanged += 1,
            prev => {
                if prev.is_some() {
                    n.updated += 1
                } else {
                    n.new += 1
                }
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO supplier_vex (source, vuln, product, status, justification, detail, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(e)?
                .execute(params![
                    source,
                    v.vuln,
                    v.product,
                    v.status,
                    v.justification,
                    v.detail,
                    v.at
                ])
                .map_err(e)?;
            }
        }
    }
    for (vuln, product) in old.keys() {
        tx.execute(
            "DELETE FROM supplier_vex WHERE source = ?1 AND vuln = ?2 AND product = ?3",
            params![source, vuln, product],
        )
        .map_err(e)?;
    }
    n.removed = old.len();
    tx.commit().map_err(e)?;
    Ok(n)
}

fn supplier_vex_where(c: &Connection, source: Option<&str>) -> Result<Vec<SupplierVex>> {
    let mut st = c
        .prepare(
            "SELECT vuln, product, status, justification, detail, source, at FROM supplier_vex
             WHERE ?1 IS NULL OR source = ?1 ORDER BY vuln, product, source",
        )
        .map_err(e)?;
    let rows = st
        .query_map([source], |r| {
            Ok(SupplierVex {
                vuln: r.get(0)?,
                product: r.get(1)?,
                status: r.get(2)?,
                justification: r.get(3)?,
                detail: r.get(4)?,
                source: r.get(5)?,
                at: r.get(6)?,
            })
        })
        .map_err(e)?;
    rows.collect::<rusqlite::Result<_>>().map_err(e)
}

pub(super) fn supplier_vex(c: &mut Connection) -> Result<Vec<SupplierVex>> {
    supplier_vex_where(c, None)
}

/// Records (replaces) what an import of `origin` held of a feed.
pub(super) fn put_feed(c: &mut Connection, f: &Feed) -> Result<()> {
    c.execute(
        "INSERT OR REPLACE INTO feeds (kind, origin, records, imported_at, data_date) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![f.kind, f.origin, f.records as i64, f.imported_at, f.data_date],
    )
    .map_err(e)?;
    Ok(())
}

pub(super) fn feeds(c: &mut Connection) -> Result<Vec<Feed>> {
    let mut st = c
        .prepare(
            "SELECT kind, origin, records, imported_at, data_date FROM feeds ORDER BY kind, origin",
        )
        .map_err(e)?;
    let rows = st
        .query_map([], |r| {
            Ok(Feed {
                kind: r.get(0)?,
                origin: r.get(1)?,
                records: r.get::<_, i64>(2)?.max(0) as u64,
                imported_at: r.get(3)?,
                data_date: r.get(4)?,
            })
        })
        .map_err(e)?;
    rows.collect::<rusqlite::Result<_>>().map_err(e)
}
