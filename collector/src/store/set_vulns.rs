//! Vulnerability matches per package set (written by `vuln::refresh`),
//! the devices whose own statements differ from their set's, and a
//! device's open vulnerabilities.
//!
//! One statement text for both engines, except where SQLite gets a planner
//! hint PostgreSQL has no syntax for (`+status`, `INDEXED BY`, `CROSS
//! JOIN … ON` as a join order): those statements are written once as a
//! macro of the engine, their differences spelled in `spell!`.

use super::console::{cve_closes, recount_set, OPEN};
use super::sql::{first, ps, rows, transaction, Dialect, Row, Sql, P};
use super::{Result, StoreError};

/// Package sets whose vulnerabilities were not matched yet (or all) and
/// their package tags.
pub(super) fn pkgsets_to_match(db: &mut dyn Sql, all: bool) -> Result<Vec<(i64, Vec<String>)>> {
    // Called after every attestation with `all` false: the partial index
    // of unmatched sets answers it without reading the table.
    let ids = pkgsets_to_match_ids(db, all)?;
    pkgset_tags(db, ids)
}

/// The package tags of each set.
fn pkgset_tags(db: &mut dyn Sql, ids: Vec<i64>) -> Result<Vec<(i64, Vec<String>)>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let tags = rows(
            db,
            "SELECT purl FROM pkgset_items WHERE set_id = ?1 ORDER BY purl",
            ps![id],
            |r| r.text(0),
        )?;
        out.push((id, tags));
    }
    Ok(out)
}

/// Package sets to match again after an import that touched `keys`
/// ((ecosystem, name)): those holding one of them, those that had no data
/// for a touched ecosystem, and those never matched; with their tags.
pub(super) fn pkgsets_for_keys(
    db: &mut dyn Sql,
    keys: &[(String, String)],
) -> Result<Vec<(i64, Vec<String>)>> {
    let mut ids: std::collections::BTreeSet<i64> = std::collections::BTreeSet::new();
    let mut ecos: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for (eco, name) in keys {
        db.each(
            "SELECT set_id FROM pkgset_keys WHERE ecosystem = ?1 AND name = ?2",
            ps![eco, name],
            &mut |r| {
                ids.insert(r.i64(0)?);
                Ok(())
            },
        )?;
        ecos.insert(eco);
    }
    for eco in ecos {
        db.each(
            "SELECT set_id FROM pkgset_coverage WHERE instr(',' || nodata || ',', ',' || ?1 || ',') > 0",
            ps![eco],
            &mut |r| {
                ids.insert(r.i64(0)?);
                Ok(())
            },
        )?;
    }
    for id in pkgsets_to_match_ids(db, false)? {
        ids.insert(id);
    }
    pkgset_tags(db, ids.into_iter().collect())
}

fn pkgsets_to_match_ids(db: &mut dyn Sql, all: bool) -> Result<Vec<i64>> {
    let sql = if all {
        "SELECT id FROM pkgsets ORDER BY id"
    } else {
        "SELECT id FROM pkgsets WHERE matched = 0 ORDER BY id"
    };
    rows(db, sql, &[], |r| r.i64(0))
}

/// What this module's statements spell differently on each engine:
/// SQLite's planner hints, which PostgreSQL has no syntax for, and the
/// casts PostgreSQL needs to type a parameter it sees only in `?1 IS NULL`.
/// A statement is a macro of the engine (`sqlite`, `postgres`) built with
/// these; `by_dialect!` picks the engine's text.
macro_rules! spell {
    // `+status`: SQLite keeps to the covering index `devices_sets` rather
    // than the status indexes.
    (sqlite, plus) => {
        "+"
    };
    (postgres, plus) => {
        ""
    };
    (sqlite, site_is_null) => {
        "?1 IS NULL"
    };
    (postgres, site_is_null) => {
        "CAST(?1 AS TEXT) IS NULL"
    };
    // Matches in advisory order from the index, no sort.
    (sqlite, by_vuln) => {
        "INDEXED BY pkgset_vulns_vuln"
    };
    (postgres, by_vuln) => {
        ""
    };
    // The few excepted devices first, whatever the planner's statistics
    // say (stale ones after a bulk load made SQLite walk every active
    // device).
    (sqlite, excepted) => {
        "INDEXED BY devices_excepted"
    };
    (postgres, excepted) => {
        ""
    };
    // The few statements first, then their devices (SQLite's CROSS JOIN
    // keeps that order; the other way visits every active device).
    // PostgreSQL has no CROSS JOIN … ON.
    (sqlite, cross_join) => {
        "CROSS JOIN"
    };
    (postgres, cross_join) => {
        "JOIN"
    };
}

/// The text of statement macro `$sql` for `$db`'s engine.
macro_rules! by_dialect {
    ($db:expr, $sql:ident) => {
        match $db.dialect() {
            Dialect::Sqlite => $sql!(sqlite),
            Dialect::Postgres => $sql!(postgres),
        }
    };
}

/// The active devices with a package set, of one site (`?1`) or all.
macro_rules! active_with_set {
    ($d:ident) => {
        concat!(
            "pkgset IS NOT NULL AND ",
            spell!($d, plus),
            "status = 'active' AND (",
            spell!($d, site_is_null),
            " OR site = ?1)"
        )
    };
}

macro_rules! set_counts_sql {
    ($d:ident) => {
        concat!(
            "SELECT pkgset, COUNT(*) FROM devices WHERE ",
            active_with_set!($d),
            " GROUP BY pkgset"
        )
    };
}

/// Active devices per package set, of one site or all.
pub(super) fn set_counts(db: &mut dyn Sql, site: Option<&str>) -> Result<Vec<(i64, u64)>> {
    let sql = by_dialect!(db, set_counts_sql);
    rows(db, sql, ps![site], |r| {
        Ok((r.i64(0)?, r.i64(1)?.max(0) as u64))
    })
}

macro_rules! device_sets_sql {
    ($d:ident) => {
        concat!(
            "SELECT id, pkgset FROM devices WHERE ",
            active_with_set!($d)
        )
    };
}

/// (device, package set) of the active devices, of one site or all.
pub(super) fn device_sets(db: &mut dyn Sql, site: Option<&str>) -> Result<Vec<(i64, i64)>> {
    let sql = by_dialect!(db, device_sets_sql);
    rows(db, sql, ps![site], |r| Ok((r.i64(0)?, r.i64(1)?)))
}

/// Ecosystems of the imported advisories.
pub(super) fn advisory_ecosystems(db: &mut dyn Sql) -> Result<Vec<String>> {
    rows(
        db,
        "SELECT DISTINCT ecosystem FROM advisory_packages",
        &[],
        |r| r.text(0),
    )
}

macro_rules! fleet_coverage_sql {
    ($d:ident) => {
        concat!(
            "SELECT total, unidentified, uncovered, nodata, notes FROM pkgset_coverage
             WHERE set_id IN (SELECT pkgset FROM devices WHERE pkgset IS NOT NULL AND ",
            spell!($d, plus),
            "status = 'active')"
        )
    };
}

/// The coverage of a device's package set, or (`None`) of every package
/// set an active device runs, summed.
pub(super) fn coverage(db: &mut dyn Sql, device: Option<i64>) -> Result<Coverage> {
    let one = ps![device];
    let (sql, p): (&str, &[P]) = match device {
        Some(_) => (
            "SELECT total, unidentified, uncovered, nodata, notes FROM pkgset_coverage
             WHERE set_id = (SELECT pkgset FROM devices WHERE id = ?1)",
            one,
        ),
        None => (by_dialect!(db, fleet_coverage_sql), &[]),
    };
    let mut out = Coverage::default();
    let u = |x: i64| x.max(0) as u64;
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    db.each(sql, p, &mut |r| {
        let (t, un, uc, nodata, notes) = (r.i64(0)?, r.i64(1)?, r.i64(2)?, r.text(3)?, r.text(4)?);
        out.sets += 1;
        out.total += u(t);
        out.unidentified += u(un);
        out.uncovered += u(uc);
        for x in nodata.split(',').filter(|x| !x.is_empty()) {
            if !out.nodata.iter().any(|y| y == x) {
                out.nodata.push(x.to_string());
            }
        }
        for x in notes.split('\n').filter(|x| !x.is_empty()) {
            if seen.insert(x.to_string()) {
                out.notes.push(x.to_string());
            }
        }
        Ok(())
    })?;
    out.nodata.sort();
    Ok(out)
}

/// One vulnerability on a package set, grouped by source component.
#[derive(Debug, Clone, PartialEq)]
pub struct SetVuln {
    pub vuln: String,
    pub component: String,
    pub ecosystem: String,
    /// Binary package names, sorted, comma-separated.
    pub packages: String,
    pub version: String,
    pub fixed: Option<String>,
    /// Comma-separated aliases.
    pub aliases: String,
    pub summary: Option<String>,
    /// The advisory's severity text (a CVSS vector or a label).
    pub severity: Option<String>,
    /// A numeric score when one can be derived (CVSS base score).
    pub score: Option<f64>,
    /// Every CVSS vector of the advisory, `TYPE VECTOR` per line.
    pub cvss: String,
    /// The supplier's VEX statement on this component, if one applies.
    pub supplier: Option<Statement>,
}

/// A VEX statement and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `not_affected`, `affected`, `fixed`, `under_investigation`.
    pub status: String,
    pub justification: Option<String>,
    pub detail: Option<String>,
    /// `operator`, `supplier: …`, `image CVE_STATUS`, `accepted finding`.
    pub source: String,
}

/// What a package set's matching could and could not see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Components (package tags) of the set(s).
    pub total: u64,
    /// Components with no identity: no CPE, no advisory source.
    pub unidentified: u64,
    /// Identified components none of whose ecosystems has imported data.
    pub uncovered: u64,
    /// Ecosystems the set uses that had no imported advisory.
    pub nodata: Vec<String>,
    /// Why, for people: "no CPE for recipe plc-runtime",
    /// "Alpine:v3.19: no advisories imported (12 components)".
    pub notes: Vec<String>,
    /// Package sets counted (1 for a device).
    pub sets: u64,
}

impl Coverage {
    /// Components whose vulnerabilities cannot be known.
    pub fn not_covered(&self) -> u64 {
        self.unidentified + self.uncovered
    }

    /// A vulnerability count with its coverage, never a bare zero:
    /// "0 open (14 of 212 components not covered)".
    pub fn count(&self, open: u64) -> String {
        if self.total == 0 && self.sets == 0 {
            return format!("{open} open (no inventory matched yet)");
        }
        match self.not_covered() {
            0 => format!("{open} open (all {} components covered)", self.total),
            n => format!("{open} open ({n} of {} components not covered)", self.total),
        }
    }
}

/// The result of matching one package set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetMatch {
    pub set: i64,
    pub vulns: Vec<SetVuln>,
    pub coverage: Coverage,
    /// (ecosystem, name) keys of its packages (an import re-matches the
    /// sets holding what it touched).
    pub keys: Vec<(String, String)>,
}

/// Replaces the matches, keys and coverage of several package sets and
/// recounts the devices' open vulnerabilities, in one transaction.
/// Setting each set's `matched` bumps the fleet view's generation (the
/// `fleet_gen_pkgsets_matched` trigger, on both engines): this is the only
/// writer of `pkgset_vulns`.
pub(super) fn put_set_vulns(db: &mut dyn Sql, sets: &[SetMatch]) -> Result<()> {
    transaction(db, |db| {
        for m in sets {
            let set = m.set;
            db.exec("DELETE FROM pkgset_vulns WHERE set_id = ?1", ps![set])?;
            db.exec("DELETE FROM pkgset_keys WHERE set_id = ?1", ps![set])?;
            for (eco, name) in &m.keys {
                db.exec(
                    "INSERT INTO pkgset_keys (set_id, ecosystem, name) VALUES (?1, ?2, ?3)
                     ON CONFLICT (ecosystem, name, set_id) DO NOTHING",
                    ps![set, eco, name],
                )?;
            }
            let n = |x: u64| x.min(i64::MAX as u64) as i64;
            let c = &m.coverage;
            db.exec(
                "INSERT INTO pkgset_coverage (set_id, total, unidentified, uncovered, nodata, notes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (set_id) DO UPDATE SET total = excluded.total, unidentified = excluded.unidentified,
                   uncovered = excluded.uncovered, nodata = excluded.nodata, notes = excluded.notes",
                ps![
                    set,
                    n(c.total),
                    n(c.unidentified),
                    n(c.uncovered),
                    &c.nodata.join(","),
                    &c.notes.join("\n")
                ],
            )?;
            for v in &m.vulns {
                let sup = v.supplier.as_ref();
                db.exec(
                    "INSERT INTO pkgset_vulns (set_id, vuln, component, ecosystem, packages, version, fixed, aliases, summary, severity, score,
                        cvss, supplier_status, supplier_justification, supplier_detail, supplier_source)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                     ON CONFLICT (set_id, vuln, component) DO UPDATE SET ecosystem = excluded.ecosystem,
                       packages = excluded.packages, version = excluded.version, fixed = excluded.fixed,
                       aliases = excluded.aliases, summary = excluded.summary, severity = excluded.severity,
                       score = excluded.score, cvss = excluded.cvss, supplier_status = excluded.supplier_status,
                       supplier_justification = excluded.supplier_justification,
                       supplier_detail = excluded.supplier_detail, supplier_source = excluded.supplier_source",
                    ps![
                        set,
                        &v.vuln,
                        &v.component,
                        &v.ecosystem,
                        &v.packages,
                        &v.version,
                        v.fixed.as_deref(),
                        &v.aliases,
                        v.summary.as_deref(),
                        v.severity.as_deref(),
                        v.score,
                        &v.cvss,
                        sup.map(|x| x.status.as_str()),
                        sup.and_then(|x| x.justification.as_deref()),
                        sup.and_then(|x| x.detail.as_deref()),
                        sup.map(|x| x.source.as_str()),
                    ],
                )?;
            }
            db.exec("UPDATE pkgsets SET matched = 1 WHERE id = ?1", ps![set])?;
            recount_set(db, set)?;
        }
        Ok(())
    })
}

macro_rules! each_set_vuln_sql {
    ($d:ident) => {
        concat!(
            "SELECT set_id, vuln, component, ecosystem, packages, version, fixed, aliases, summary, severity, score,
                cvss, supplier_status, supplier_justification, supplier_detail, supplier_source
             FROM pkgset_vulns ",
            spell!($d, by_vuln),
            " ORDER BY vuln"
        )
    };
}

/// Every (package set, vulnerability) match on `db`, in vulnerability order
/// (SQLite: the `pkgset_vulns_vuln` index, no sort), each passed to `f`.
pub(super) fn each_set_vuln(
    db: &mut dyn Sql,
    f: &mut dyn FnMut(i64, SetVuln) -> std::result::Result<(), String>,
) -> Result<()> {
    let sql = by_dialect!(db, each_set_vuln_sql);
    db.each(sql, &[], &mut |r| {
        f(r.i64(0)?, set_vuln(r, 1)?).map_err(StoreError::Database)
    })
}

/// The fleet view's generation (`fleet_gen`, bumped by triggers).
pub(super) fn fleet_generation(db: &mut dyn Sql) -> Result<u64> {
    let n = first(db, "SELECT n FROM fleet_gen WHERE id = 1", &[], |r| {
        r.i64(0)
    })?
    .ok_or_else(|| StoreError::Database("fleet_gen has no row".into()))?;
    Ok(n.max(0) as u64)
}

macro_rules! excepted_findings_sql {
    ($d:ident) => {
        concat!(
            "SELECT d.id, d.pkgset, f.subject, d.site FROM devices d ",
            spell!($d, excepted),
            " JOIN token_findings f ON f.token_id = d.latest_token
             WHERE d.excepted = 1 AND d.status = 'active' AND d.pkgset IS NOT NULL AND f.accepted IS NOT NULL"
        )
    };
}

macro_rules! device_vex_sql {
    ($d:ident) => {
        concat!(
            "SELECT d.id, d.pkgset, x.vuln, x.status, d.site FROM vex x ",
            spell!($d, cross_join),
            " devices d ON x.device_id = d.id
             WHERE d.status = 'active' AND d.pkgset IS NOT NULL"
        )
    };
}

macro_rules! device_cve_status_sql {
    ($d:ident) => {
        concat!(
            "SELECT d.id, d.pkgset, s.vuln, s.component,
                CASE WHEN CAST(s.status AS TEXT) IN ('Patched', '1') THEN 'fixed' ELSE 'not_affected' END, d.site
             FROM device_cve_status s ",
            spell!($d, cross_join),
            " devices d ON s.device_id = d.id
             WHERE d.status = 'active' AND d.pkgset IS NOT NULL AND ",
            cve_closes!()
        )
    };
}

/// Active devices whose latest attestation closes some vulnerability
/// itself (an accepted finding, its image's CVE_STATUS) or that carry a
/// device-specific VEX statement.
pub(super) fn vuln_exceptions(db: &mut dyn Sql) -> Result<Vec<VulnException>> {
    let findings = by_dialect!(db, excepted_findings_sql);
    let vex = by_dialect!(db, device_vex_sql);
    let cve_status = by_dialect!(db, device_cve_status_sql);
    let mut out: std::collections::BTreeMap<i64, VulnException> = Default::default();
    db.each(findings, &[], &mut |r| {
        let subject = r.text(2)?;
        exception(&mut out, r, 3)?.accepted.push(subject);
        Ok(())
    })?;
    db.each(vex, &[], &mut |r| {
        let v = (r.text(2)?, r.text(3)?);
        exception(&mut out, r, 4)?.vex.push(v);
        Ok(())
    })?;
    db.each(cve_status, &[], &mut |r| {
        let closed = (r.text(2)?, r.text(3)?, r.text(4)?);
        exception(&mut out, r, 5)?.cve_status.push(closed);
        Ok(())
    })?;
    Ok(out.into_values().collect())
}

/// The exception of the row's device (columns: device, package set, and
/// its site at `site`).
fn exception<'a>(
    out: &'a mut std::collections::BTreeMap<i64, VulnException>,
    r: &dyn Row,
    site: usize,
) -> Result<&'a mut VulnException> {
    let (d, set) = (r.i64(0)?, r.i64(1)?);
    let site = r.text(site)?;
    Ok(out
        .entry(d)
        .or_insert_with(|| VulnException::new(d, set, site)))
}

/// A device whose open vulnerabilities differ from its package set's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VulnException {
    pub device_id: i64,
    pub pkgset: i64,
    pub site: String,
    /// Subjects of findings the device accepted.
    pub accepted: Vec<String>,
    /// Device-specific VEX statements: (vulnerability, status).
    pub vex: Vec<(String, String)>,
    /// The image's CVE_STATUS entries that close a vulnerability:
    /// (vulnerability, component, `fixed` or `not_affected`).
    pub cve_status: Vec<(String, String, String)>,
}

impl VulnException {
    fn new(device_id: i64, pkgset: i64, site: String) -> Self {
        VulnException {
            device_id,
            pkgset,
            site,
            accepted: Vec::new(),
            vex: Vec::new(),
            cve_status: Vec::new(),
        }
    }
}

/// A device's open vulnerabilities on its latest attestation.
pub(super) fn device_vulns(db: &mut dyn Sql, device: i64) -> Result<Vec<SetVuln>> {
    let sql = format!(
        "SELECT pv.vuln, pv.component, pv.ecosystem, pv.packages, pv.version, pv.fixed, pv.aliases, pv.summary,
                pv.severity, pv.score, pv.cvss, pv.supplier_status, pv.supplier_justification, pv.supplier_detail,
                pv.supplier_source
         FROM devices d JOIN pkgset_vulns pv ON pv.set_id = d.pkgset WHERE d.id = ?1 AND {OPEN}
         ORDER BY pv.score IS NULL, pv.score DESC, pv.vuln, pv.component"
    );
    rows(db, &sql, ps![device], |r| set_vuln(r, 0))
}

/// The device's matches closed by a statement of `source` (e.g. the kernel
/// configuration's "code not built"), by advisory.
pub(super) fn device_closed_by(
    db: &mut dyn Sql,
    device: i64,
    source: &str,
) -> Result<Vec<SetVuln>> {
    rows(
        db,
        "SELECT pv.vuln, pv.component, pv.ecosystem, pv.packages, pv.version, pv.fixed, pv.aliases, pv.summary,
                pv.severity, pv.score, pv.cvss, pv.supplier_status, pv.supplier_justification, pv.supplier_detail,
                pv.supplier_source
         FROM devices d JOIN pkgset_vulns pv ON pv.set_id = d.pkgset
         WHERE d.id = ?1 AND pv.supplier_source = ?2 ORDER BY pv.vuln, pv.component",
        ps![device, source],
        |r| set_vuln(r, 0),
    )
}

/// A [`SetVuln`] from the columns vuln … supplier_source starting at `at`.
fn set_vuln(r: &dyn Row, at: usize) -> Result<SetVuln> {
    Ok(SetVuln {
        vuln: r.text(at)?,
        component: r.text(at + 1)?,
        ecosystem: r.text(at + 2)?,
        packages: r.text(at + 3)?,
        version: r.text(at + 4)?,
        fixed: r.opt_text(at + 5)?,
        aliases: r.text(at + 6)?,
        summary: r.opt_text(at + 7)?,
        severity: r.opt_text(at + 8)?,
        score: r.opt_f64(at + 9)?,
        cvss: r.text(at + 10)?,
        supplier: match r.opt_text(at + 11)? {
            Some(status) => Some(Statement {
                status,
                justification: r.opt_text(at + 12)?,
                detail: r.opt_text(at + 13)?,
                source: r.opt_text(at + 14)?.unwrap_or_default(),
            }),
            None => None,
        },
    })
}

#[cfg(test)]
#[path = "set_vulns_tests.rs"]
mod tests;
