//! Imported vulnerability data besides OSV advisories (issue 18): the
//! records of CPE-based feeds per source (`feed_records`: NVD and CVE 5,
//! merged into one advisory per CVE by the caller's merge function), the
//! CISA KEV catalog, FIRST EPSS scores, supplier VEX statements, and what
//! was imported from where (`feeds`).
//!
//! KEV and EPSS files are snapshots: an import replaces the table. A
//! supplier VEX document replaces the statements of the same document
//! (`source`). Every write of one call is one transaction.

use super::sql::{first, ps, rows, transaction, Row, Sql, P};
use super::{vulns, PutAdvisory, Result};
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
    db: &mut dyn Sql,
    kind: &str,
    source: &str,
    recs: &[FeedRecord],
    now: i64,
    merge: &MergeFn,
) -> Result<Vec<std::result::Result<PutAdvisory, String>>> {
    transaction(db, |db| {
        let mut out = Vec::with_capacity(recs.len());
        for r in recs {
            let old = first(
                db,
                "SELECT raw FROM feed_records WHERE id = ?1 AND kind = ?2",
                ps![&r.id, kind],
                |x| x.text(0),
            )?;
            if old.as_deref() == Some(r.raw.as_str()) {
                out.push(Ok(PutAdvisory::Unchanged));
                continue;
            }
            db.exec(
                "INSERT INTO feed_records (kind, id, modified, raw) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id, kind) DO UPDATE SET modified = excluded.modified, raw = excluded.raw",
                ps![kind, &r.id, &r.modified, &r.raw],
            )?;
            let parts = rows(
                db,
                "SELECT kind, raw FROM feed_records WHERE id = ?1 ORDER BY kind",
                ps![&r.id],
                |x| Ok((x.text(0)?, x.text(1)?)),
            )?;
            let held = first(
                db,
                "SELECT source FROM advisories WHERE id = ?1",
                ps![&r.id],
                |x| x.text(0),
            )?;
            if let Some(h) = held.as_deref().filter(|h| !h.starts_with("feeds:")) {
                out.push(Err(format!(
                    "{}: an OSV advisory with this id (from {h}) is kept; the {kind} record is stored but not matched",
                    r.id
                )));
                continue;
            }
            match merge(&parts) {
                Some(m) => vulns::write_advisory(
                    db,
                    &r.id,
                    &m.modified,
                    &m.keys,
                    &m.raw,
                    &format!("feeds:{source}"),
                    now,
                )?,
                None => {
                    db.exec(
                        "DELETE FROM advisory_packages WHERE advisory_id = ?1",
                        ps![&r.id],
                    )?;
                    db.exec(
                        "DELETE FROM advisories WHERE id = ?1 AND source LIKE 'feeds:%'",
                        ps![&r.id],
                    )?;
                }
            }
            out.push(Ok(if old.is_some() {
                PutAdvisory::Updated
            } else {
                PutAdvisory::New
            }));
        }
        Ok(out)
    })
}

/// Replaces the rows of `table` (keyed by `cve`) with `rows`: `read` loads
/// the old rows, `write` inserts or replaces one.
fn replace_snapshot<T: PartialEq>(
    db: &mut dyn Sql,
    table: &str,
    rows: &[(String, T)],
    read: fn(&mut dyn Sql) -> Result<HashMap<String, T>>,
    write: fn(&mut dyn Sql, &str, &T) -> Result<()>,
) -> Result<PutCounts> {
    let del = format!("DELETE FROM {table} WHERE cve = ?1");
    transaction(db, |db| {
        let mut old = read(db)?;
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
                    write(db, cve, v)?;
                }
            }
        }
        for cve in old.keys() {
            db.exec(&del, ps![cve])?;
        }
        n.removed = old.len();
        Ok(n)
    })
}

fn read_kev(db: &mut dyn Sql) -> Result<HashMap<String, Kev>> {
    let mut out = HashMap::new();
    db.each(
        "SELECT cve, added, ransomware, due FROM kev",
        &[],
        &mut |r| {
            out.insert(
                r.text(0)?,
                Kev {
                    added: r.text(1)?,
                    ransomware: r.i64(2)? != 0,
                    due: r.opt_text(3)?,
                },
            );
            Ok(())
        },
    )?;
    Ok(out)
}

fn write_kev(db: &mut dyn Sql, cve: &str, k: &Kev) -> Result<()> {
    db.exec(
        "INSERT INTO kev (cve, added, ransomware, due) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (cve) DO UPDATE SET added = excluded.added, ransomware = excluded.ransomware,
           due = excluded.due",
        ps![cve, &k.added, k.ransomware, k.due.as_deref()],
    )?;
    Ok(())
}

fn read_epss(db: &mut dyn Sql) -> Result<HashMap<String, Epss>> {
    let mut out = HashMap::new();
    db.each(
        "SELECT cve, score, percentile, date FROM epss",
        &[],
        &mut |r| {
            out.insert(
                r.text(0)?,
                Epss {
                    score: r.f64(1)?,
                    percentile: r.f64(2)?,
                    date: r.text(3)?,
                },
            );
            Ok(())
        },
    )?;
    Ok(out)
}

fn write_epss(db: &mut dyn Sql, cve: &str, x: &Epss) -> Result<()> {
    db.exec(
        "INSERT INTO epss (cve, score, percentile, date) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (cve) DO UPDATE SET score = excluded.score, percentile = excluded.percentile,
           date = excluded.date",
        ps![cve, x.score, x.percentile, &x.date],
    )?;
    Ok(())
}

/// Replaces the KEV catalog.
pub(super) fn put_kev(db: &mut dyn Sql, entries: &[(String, Kev)]) -> Result<PutCounts> {
    replace_snapshot(db, "kev", entries, read_kev, write_kev)
}

pub(super) fn kev(db: &mut dyn Sql, cve: &str) -> Result<Option<Kev>> {
    first(
        db,
        "SELECT added, ransomware, due FROM kev WHERE cve = ?1",
        ps![cve],
        |r| {
            Ok(Kev {
                added: r.text(0)?,
                ransomware: r.i64(1)? != 0,
                due: r.opt_text(2)?,
            })
        },
    )
}

pub(super) fn kev_all(db: &mut dyn Sql) -> Result<HashMap<String, Kev>> {
    read_kev(db)
}

/// Replaces the EPSS scores.
pub(super) fn put_epss(db: &mut dyn Sql, rows: &[(String, Epss)]) -> Result<PutCounts> {
    replace_snapshot(db, "epss", rows, read_epss, write_epss)
}

pub(super) fn epss_all(db: &mut dyn Sql) -> Result<HashMap<String, Epss>> {
    read_epss(db)
}

/// Replaces the statements of one supplier document.
pub(super) fn put_supplier_vex(
    db: &mut dyn Sql,
    source: &str,
    statements: &[SupplierVex],
) -> Result<PutCounts> {
    transaction(db, |db| {
        let mut old: HashMap<(String, String), SupplierVex> = HashMap::new();
        for v in supplier_vex_where(db, Some(source))? {
            old.insert((v.vuln.clone(), v.product.clone()), v);
        }
        let mut n = PutCounts::default();
        for v in statements {
            match old.remove(&(v.vuln.clone(), v.product.clone())) {
                Some(o) if o == *v => n.unchanged += 1,
                prev => {
                    if prev.is_some() {
                        n.updated += 1
                    } else {
                        n.new += 1
                    }
                    db.exec(
                        "INSERT INTO supplier_vex (source, vuln, product, status, justification, detail, at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                         ON CONFLICT (source, vuln, product) DO UPDATE SET status = excluded.status,
                           justification = excluded.justification, detail = excluded.detail, at = excluded.at",
                        ps![
                            source,
                            &v.vuln,
                            &v.product,
                            &v.status,
                            v.justification.as_deref(),
                            v.detail.as_deref(),
                            v.at
                        ],
                    )?;
                }
            }
        }
        for (vuln, product) in old.keys() {
            db.exec(
                "DELETE FROM supplier_vex WHERE source = ?1 AND vuln = ?2 AND product = ?3",
                ps![source, vuln, product],
            )?;
        }
        n.removed = old.len();
        Ok(n)
    })
}

/// The statements of one document, or (`None`) of all. (Two statements
/// rather than `?1 IS NULL OR source = ?1`: PostgreSQL cannot type a
/// parameter it first meets in `IS NULL`, and the one document's read
/// keeps to the primary key on both engines.)
fn supplier_vex_where(db: &mut dyn Sql, source: Option<&str>) -> Result<Vec<SupplierVex>> {
    let one = ps![source];
    let (sql, p): (&str, &[P]) = match source {
        Some(_) => (
            "SELECT vuln, product, status, justification, detail, source, at FROM supplier_vex
             WHERE source = ?1 ORDER BY vuln, product, source",
            one,
        ),
        None => (
            "SELECT vuln, product, status, justification, detail, source, at FROM supplier_vex
             ORDER BY vuln, product, source",
            &[],
        ),
    };
    rows(db, sql, p, |r| {
        Ok(SupplierVex {
            vuln: r.text(0)?,
            product: r.text(1)?,
            status: r.text(2)?,
            justification: r.opt_text(3)?,
            detail: r.opt_text(4)?,
            source: r.text(5)?,
            at: r.i64(6)?,
        })
    })
}

pub(super) fn supplier_vex(db: &mut dyn Sql) -> Result<Vec<SupplierVex>> {
    supplier_vex_where(db, None)
}

/// Records (replaces) what an import of `origin` held of a feed.
pub(super) fn put_feed(db: &mut dyn Sql, f: &Feed) -> Result<()> {
    db.exec(
        "INSERT INTO feeds (kind, origin, records, imported_at, data_date) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (kind, origin) DO UPDATE SET records = excluded.records,
           imported_at = excluded.imported_at, data_date = excluded.data_date",
        ps![&f.kind, &f.origin, f.records as i64, f.imported_at, f.data_date.as_deref()],
    )?;
    Ok(())
}

pub(super) fn feeds(db: &mut dyn Sql) -> Result<Vec<Feed>> {
    rows(
        db,
        "SELECT kind, origin, records, imported_at, data_date FROM feeds ORDER BY kind, origin",
        &[],
        |r: &dyn Row| {
            Ok(Feed {
                kind: r.text(0)?,
                origin: r.text(1)?,
                records: r.i64(2)?.max(0) as u64,
                imported_at: r.i64(3)?,
                data_date: r.opt_text(4)?,
            })
        },
    )
}

#[cfg(test)]
#[path = "feeds_tests.rs"]
mod tests;
