//! Vulnerability data: OSV advisories keyed by (ecosystem, package) and the
//! operator's VEX statements. CPE-based advisories merged from NVD and
//! CVE 5 records (`feeds.rs`) are written here too, with the source
//! `feeds:FILE`.

use super::{e, PutAdvisory, Result, VexEntry};
use rusqlite::{params, Connection, OptionalExtension};

pub(super) fn put_advisory(
    c: &mut Connection,
    id: &str,
    modified: &str,
    keys: &[(String, String)],
    raw: &str,
    source: &str,
    now: i64,
) -> Result<PutAdvisory> {
    let tx = c.transaction().map_err(e)?;
    let old: Option<String> = tx
        .query_row("SELECT modified FROM advisories WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()
        .map_err(e)?;
    if old.as_deref() == Some(modified) {
        return Ok(PutAdvisory::Unchanged);
    }
    write_advisory(&tx, id, modified, keys, raw, source, now)?;
    tx.commit().map_err(e)?;
    Ok(if old.is_some() {
        PutAdvisory::Updated
    } else {
        PutAdvisory::New
    })
}

/// Replaces an advisory and its (ecosystem, package) keys.
pub(super) fn write_advisory(
    tx: &Connection,
    id: &str,
    modified: &str,
    keys: &[(String, String)],
    raw: &str,
    source: &str,
    now: i64,
) -> Result<()> {
    tx.execute("DELETE FROM advisory_packages WHERE advisory_id = ?1", [id])
        .map_err(e)?;
    tx.execute(
        "INSERT OR REPLACE INTO advisories (id, modified, imported_at, source, raw) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, modified, now, source, raw],
    )
    .map_err(e)?;
    let mut st = tx
        .prepare_cached(
            "INSERT INTO advisory_packages (advisory_id, ecosystem, name) VALUES (?1, ?2, ?3)",
        )
        .map_err(e)?;
    for (eco, name) in keys {
        st.execute(params![id, eco, name]).map_err(e)?;
    }
    Ok(())
}

pub(super) fn advisories_for(
    c: &Connection,
    ecosystem: &str,
    name: &str,
) -> Result<Vec<(String, String)>> {
    let mut st = c
        .prepare_cached(
            "SELECT DISTINCT a.id, a.raw FROM advisory_packages p JOIN advisories a ON a.id = p.advisory_id
             WHERE p.ecosystem = ?1 AND p.name = ?2 ORDER BY a.id",
        )
        .map_err(e)?;
    let rows = st
        .query_map(params![ecosystem, name], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(e)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(e)
}

pub(super) fn advisory_stats(c: &Connection) -> Result<(u64, Option<i64>)> {
    c.query_row(
        "SELECT count(*), max(imported_at) FROM advisories",
        [],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
    )
    .map_err(e)
}

pub(super) fn set_vex(c: &Connection, v: &VexEntry) -> Result<()> {
    c
        .execute(
            "INSERT OR REPLACE INTO vex (vuln, device_id, status, justification, detail, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![v.vuln, v.device_id.unwrap_or(0), v.status, v.justification, v.detail, v.at],
        )
        .map_err(e)?;
    if let Some(d) = v.device_id {
        c.execute("UPDATE devices SET excepted = 1 WHERE id = ?1", [d])
            .map_err(e)?;
    }
    super::console::recount(c, v.device_id, Some(&v.vuln))
}

pub(super) fn vex_entries(c: &Connection) -> Result<Vec<VexEntry>> {
    let mut st = c
        .prepare("SELECT vuln, device_id, status, justification, detail, at FROM vex ORDER BY vuln, device_id")
        .map_err(e)?;
    let rows = st
        .query_map([], |r| {
            let d: i64 = r.get(1)?;
            Ok(VexEntry {
                vuln: r.get(0)?,
                device_id: (d != 0).then_some(d),
                status: r.get(2)?,
                justification: r.get(3)?,
                detail: r.get(4)?,
                at: r.get(5)?,
            })
        })
        .map_err(e)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(e)
}
