//! Vulnerability matches per package set (written by `vuln::refresh`),
//! the devices whose own statements differ from their set's, and a
//! device's open vulnerabilities.

use super::console::{cve_closes, recount_set, OPEN};
use super::{e, Result, StoreError};
use rusqlite::{params, Connection};

/// Package sets whose vulnerabilities were not matched yet (or all) and
/// their package tags.
pub(super) fn pkgsets_to_match(c: &Connection, all: bool) -> Result<Vec<(i64, Vec<String>)>> {
    // Called after every attestation with `all` false: the partial index
    // of unmatched sets answers it without reading the table.
    let ids = pkgsets_to_match_ids(c, all)?;
    pkgset_tags(c, ids)
}

/// The package tags of each set.
fn pkgset_tags(c: &Connection, ids: Vec<i64>) -> Result<Vec<(i64, Vec<String>)>> {
    let mut st = c
        .prepare_cached("SELECT purl FROM pkgset_items WHERE set_id = ?1 ORDER BY purl")
        .map_err(e)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let tags = st
            .query_map([id], |r| r.get(0))
            .map_err(e)?
            .collect::<rusqlite::Result<Vec<String>>>()
            .map_err(e)?;
        out.push((id, tags));
    }
    Ok(out)
}

/// Package sets to match again after an import that touched `keys`
/// ((ecosystem, name)): those holding one of them, those that had no data
/// for a touched ecosystem, and those never matched; with their tags.
pub(super) fn pkgsets_for_keys(
    c: &Connection,
    keys: &[(String, String)],
) -> Result<Vec<(i64, Vec<String>)>> {
    let mut ids: std::collections::BTreeSet<i64> = std::collections::BTreeSet::new();
    let mut by_key = c
        .prepare_cached("SELECT set_id FROM pkgset_keys WHERE ecosystem = ?1 AND name = ?2")
        .map_err(e)?;
    let mut by_eco = c
        .prepare_cached(
            "SELECT set_id FROM pkgset_coverage WHERE instr(',' || nodata || ',', ',' || ?1 || ',') > 0",
        )
        .map_err(e)?;
    let mut ecos: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for (eco, name) in keys {
        for id in by_key
            .query_map(params![eco, name], |r| r.get(0))
            .map_err(e)?
        {
            ids.insert(id.map_err(e)?);
        }
        ecos.insert(eco);
    }
    for eco in ecos {
        for id in by_eco.query_map([eco], |r| r.get(0)).map_err(e)? {
            ids.insert(id.map_err(e)?);
        }
    }
    for id in pkgsets_to_match_ids(c, false)? {
        ids.insert(id);
    }
    pkgset_tags(c, ids.into_iter().collect())
}

fn pkgsets_to_match_ids(c: &Connection, all: bool) -> Result<Vec<i64>> {
    let sql = if all {
        "SELECT id FROM pkgsets ORDER BY id"
    } else {
        "SELECT id FROM pkgsets WHERE matched = 0 ORDER BY id"
    };
    let v = c
        .prepare_cached(sql)
        .map_err(e)?
        .query_map([], |r| r.get(0))
        .map_err(e)?
        .collect::<rusqlite::Result<_>>()
        .map_err(e)?;
    Ok(v)
}

/// Active devices per package set, of one site or all.
pub(super) fn set_counts(c: &Connection, site: Option<&str>) -> Result<Vec<(i64, u64)>> {
    let v = c
        .prepare_cached(
            // `+status`: read through the covering index `devices_sets`.
            "SELECT pkgset, COUNT(*) FROM devices WHERE pkgset IS NOT NULL AND +status = 'active'
               AND (?1 IS NULL OR site = ?1) GROUP BY pkgset",
        )
        .map_err(e)?
        .query_map([site], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64))
        })
        .map_err(e)?
        .collect::<rusqlite::Result<_>>()
        .map_err(e)?;
    Ok(v)
}

/// (device, package set) of the active devices, of one site or all.
pub(super) fn device_sets(c: &Connection, site: Option<&str>) -> Result<Vec<(i64, i64)>> {
    let v = c
        .prepare_cached(
            "SELECT id, pkgset FROM devices WHERE pkgset IS NOT NULL AND +status = 'active'
               AND (?1 IS NULL OR site = ?1)",
        )
        .map_err(e)?
        .query_map([site], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(e)?
        .collect::<rusqlite::Result<_>>()
        .map_err(e)?;
    Ok(v)
}

/// Ecosystems of the imported advisories.
pub(super) fn advisory_ecosystems(c: &Connection) -> Result<Vec<String>> {
    let v = c
        .prepare_cached("SELECT DISTINCT ecosystem FROM advisory_packages")
        .map_err(e)?
        .query_map([], |r| r.get(0))
        .map_err(e)?
        .collect::<rusqlite::Result<_>>()
        .map_err(e)?;
    Ok(v)
}

/// The coverage of a device's package set, or (`None`) of every package
/// set an active device runs, summed.
pub(super) fn coverage(c: &Connection, device: Option<i64>) -> Result<Coverage> {
    let sql = match device {
        Some(_) => "SELECT total, unidentified, uncovered, nodata, notes FROM pkgset_coverage
                    WHERE set_id = (SELECT pkgset FROM devices WHERE id = ?1)",
        None => "SELECT total, unidentified, uncovered, nodata, notes FROM pkgset_coverage
                 WHERE set_id IN (SELECT pkgset FROM devices WHERE pkgset IS NOT NULL AND +status = 'active')
                   AND ?1 IS NULL",
    };
    let mut st = c.prepare_cached(sql).map_err(e)?;
    let rows = st
        .query_map([device], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .map_err(e)?;
    let mut out = Coverage::default();
    let u = |x: i64| x.max(0) as u64;
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for r in rows {
        let (t, un, uc, nodata, notes) = r.map_err(e)?;
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
    }
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
/// `fleet_gen_pkgsets_matched` trigger): this is the only writer of
/// `pkgset_vulns`.
pub(super) fn put_set_vulns(c: &mut Connection, sets: &[SetMatch]) -> Result<()> {
    let tx = c.transaction().map_err(e)?;
    {
        let mut del = tx
            .prepare_cached("DELETE FROM pkgset_vulns WHERE set_id = ?1")
            .map_err(e)?;
        let mut ins = tx
            .prepare_cached(
                "INSERT OR REPLACE INTO pkgset_vulns (set_id, vuln, component, ecosystem, packages, version, fixed, aliases, summary, severity, score,
                    cvss, supplier_status, supplier_justification, supplier_detail, supplier_source)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )
            .map_err(e)?;
        let mut done = tx
            .prepare_cached("UPDATE pkgsets SET matched = 1 WHERE id = ?1")
            .map_err(e)?;
        let mut del_keys = tx
            .prepare_cached("DELETE FROM pkgset_keys WHERE set_id = ?1")
            .map_err(e)?;
        let mut ins_key = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO pkgset_keys (set_id, ecosystem, name) VALUES (?1, ?2, ?3)",
            )
            .map_err(e)?;
        let mut cov = tx
            .prepare_cached(
                "INSERT OR REPLACE INTO pkgset_coverage (set_id, total, unidentified, uncovered, nodata, notes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(e)?;
        for m in sets {
            let (set, rows) = (&m.set, &m.vulns);
            del.execute([set]).map_err(e)?;
            del_keys.execute([set]).map_err(e)?;
            for (eco, name) in &m.keys {
                ins_key.execute(params![set, eco, name]).map_err(e)?;
            }
            let n = |x: u64| x.min(i64::MAX as u64) as i64;
            let c = &m.coverage;
            cov.execute(params![
                set,
                n(c.total),
                n(c.unidentified),
                n(c.uncovered),
                c.nodata.join(","),
                c.notes.join("\n")
            ])
            .map_err(e)?;
            for v in rows {
                let sup = v.supplier.as_ref();
                ins.execute(params![
                    set,
                    v.vuln,
                    v.component,
                    v.ecosystem,
                    v.packages,
                    v.version,
                    v.fixed,
                    v.aliases,
                    v.summary,
                    v.severity,
                    v.score,
                    v.cvss,
                    sup.map(|x| &x.status),
                    sup.and_then(|x| x.justification.as_ref()),
                    sup.and_then(|x| x.detail.as_ref()),
                    sup.map(|x| &x.source),
                ])
                .map_err(e)?;
            }
            done.execute([set]).map_err(e)?;
            recount_set(&mut super::sql::Lite(&tx), *set)?;
        }
    }
    tx.commit().map_err(e)
}

/// Every (package set, vulnerability) match on `c`, in vulnerability order
/// (the `pkgset_vulns_vuln` index: no sort), each passed to `f`.
pub(super) fn each_set_vuln(
    c: &Connection,
    f: &mut dyn FnMut(i64, SetVuln) -> std::result::Result<(), String>,
) -> Result<()> {
    let mut st = c
        .prepare(
            "SELECT set_id, vuln, component, ecosystem, packages, version, fixed, aliases, summary, severity, score,
                cvss, supplier_status, supplier_justification, supplier_detail, supplier_source
             FROM pkgset_vulns INDEXED BY pkgset_vulns_vuln ORDER BY vuln",
        )
        .map_err(e)?;
    let mut rows = st.query([]).map_err(e)?;
    while let Some(r) = rows.next().map_err(e)? {
        f(r.get(0).map_err(e)?, set_vuln(r, 1).map_err(e)?).map_err(StoreError::Database)?;
    }
    Ok(())
}

/// The fleet view's generation (`fleet_gen`, bumped by triggers).
pub(super) fn fleet_generation(c: &Connection) -> Result<u64> {
    let n: i64 = c
        .prepare_cached("SELECT n FROM fleet_gen WHERE id = 1")
        .map_err(e)?
        .query_row([], |r| r.get(0))
        .map_err(e)?;
    Ok(n.max(0) as u64)
}

/// Active devices whose latest attestation closes some vulnerability
/// itself (an accepted finding, its image's CVE_STATUS) or that carry a
/// device-specific VEX statement.
pub(super) fn vuln_exceptions(c: &Connection) -> Result<Vec<VulnException>> {
    let mut out: std::collections::BTreeMap<i64, VulnException> = Default::default();
    let mut st = c
        .prepare(
            // The few excepted devices first, whatever the planner's
            // statistics say (stale ones after a bulk load made it walk
            // every active device).
            "SELECT d.id, d.pkgset, f.subject, d.site FROM devices d INDEXED BY devices_excepted
               JOIN token_findings f ON f.token_id = d.latest_token
             WHERE d.excepted = 1 AND d.status = 'active' AND d.pkgset IS NOT NULL AND f.accepted IS NOT NULL",
        )
        .map_err(e)?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .map_err(e)?;
    for r in rows {
        let (d, set, subject, site) = r.map_err(e)?;
        let x = out
            .entry(d)
            .or_insert_with(|| VulnException::new(d, set, site));
        x.accepted.push(subject);
    }
    let mut st = c
        .prepare(
            // The few statements first, then their devices (CROSS JOIN keeps
            // that order; the other way visits every active device).
            "SELECT d.id, d.pkgset, x.vuln, x.status, d.site FROM vex x CROSS JOIN devices d ON x.device_id = d.id
             WHERE d.status = 'active' AND d.pkgset IS NOT NULL",
        )
        .map_err(e)?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .map_err(e)?;
    for r in rows {
        let (d, set, vuln, status, site) = r.map_err(e)?;
        let x = out
            .entry(d)
            .or_insert_with(|| VulnException::new(d, set, site));
        x.vex.push((vuln, status));
    }
    let sql = format!(
        "SELECT d.id, d.pkgset, s.vuln, s.component,
                CASE WHEN CAST(s.status AS TEXT) IN ('Patched', '1') THEN 'fixed' ELSE 'not_affected' END, d.site
         FROM device_cve_status s CROSS JOIN devices d ON s.device_id = d.id
         WHERE d.status = 'active' AND d.pkgset IS NOT NULL AND {}",
        cve_closes!()
    );
    let mut st = c.prepare(&sql).map_err(e)?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                (r.get(2)?, r.get(3)?, r.get(4)?),
                r.get::<_, String>(5)?,
            ))
        })
        .map_err(e)?;
    for r in rows {
        let (d, set, closed, site) = r.map_err(e)?;
        let x = out
            .entry(d)
            .or_insert_with(|| VulnException::new(d, set, site));
        x.cve_status.push(closed);
    }
    Ok(out.into_values().collect())
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
pub(super) fn device_vulns(c: &Connection, device: i64) -> Result<Vec<SetVuln>> {
    let sql = format!(
        "SELECT pv.vuln, pv.component, pv.ecosystem, pv.packages, pv.version, pv.fixed, pv.aliases, pv.summary,
                pv.severity, pv.score, pv.cvss, pv.supplier_status, pv.supplier_justification, pv.supplier_detail,
                pv.supplier_source
         FROM devices d JOIN pkgset_vulns pv ON pv.set_id = d.pkgset WHERE d.id = ?1 AND {OPEN}
         ORDER BY pv.score IS NULL, pv.score DESC, pv.vuln, pv.component"
    );
    let mut st = c.prepare_cached(&sql).map_err(e)?;
    let v = st
        .query_map([device], |r| set_vuln(r, 0))
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)?;
    Ok(v)
}

/// The device's matches closed by a statement of `source` (e.g. the kernel
/// configuration's "code not built"), by advisory.
pub(super) fn device_closed_by(c: &Connection, device: i64, source: &str) -> Result<Vec<SetVuln>> {
    let mut st = c
        .prepare_cached(
            "SELECT pv.vuln, pv.component, pv.ecosystem, pv.packages, pv.version, pv.fixed, pv.aliases, pv.summary,
                    pv.severity, pv.score, pv.cvss, pv.supplier_status, pv.supplier_justification, pv.supplier_detail,
                    pv.supplier_source
             FROM devices d JOIN pkgset_vulns pv ON pv.set_id = d.pkgset
             WHERE d.id = ?1 AND pv.supplier_source = ?2 ORDER BY pv.vuln, pv.component",
        )
        .map_err(e)?;
    let v = st
        .query_map(params![device, source], |r| set_vuln(r, 0))
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)?;
    Ok(v)
}

/// A [`SetVuln`] from the columns vuln … score starting at `at`.
fn set_vuln(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<SetVuln> {
    Ok(SetVuln {
        vuln: r.get(at)?,
        component: r.get(at + 1)?,
        ecosystem: r.get(at + 2)?,
        packages: r.get(at + 3)?,
        version: r.get(at + 4)?,
        fixed: r.get(at + 5)?,
        aliases: r.get(at + 6)?,
        summary: r.get(at + 7)?,
        severity: r.get(at + 8)?,
        score: r.get(at + 9)?,
        cvss: r.get(at + 10)?,
        supplier: match r.get::<_, Option<String>>(at + 11)? {
            Some(status) => Some(Statement {
                status,
                justification: r.get(at + 12)?,
                detail: r.get(at + 13)?,
                source: r.get::<_, Option<String>>(at + 14)?.unwrap_or_default(),
            }),
            None => None,
        },
    })
}

#[cfg(test)]
impl super::SqliteStore {
    /// Test fixtures: a device's contract-3 claims, as stored on arrival.
    pub(crate) fn put_claims_for_test(
        &self,
        device: i64,
        cve: &[super::DeviceCveStatus],
        listeners: &[super::DeviceListener],
    ) {
        // The attestation path's own writer (rows and digests).
        super::device_claims::put(&mut super::sql::Lite(&self.c()), device, cve, listeners)
            .unwrap();
    }
}
