//! What the operator console reads, kept so that a page costs the same for
//! ten devices or 100,000: per-device columns maintained by the write path
//! (failing rule count, lowest SL ceiling, open vulnerabilities, package
//! set, hostname and key tier claims, the last key change), package sets
//! shared by every token that attests the same inventory (a fleet runs a
//! handful of images, so vulnerability matching is per set, not per
//! device), each device's failing rules (`latest_failing`), the daily
//! posture, and collector-side acceptances. The device list is one indexed
//! query with bounded paging whatever the filter.

use super::sql::{Lite, Sql, P};
use super::{e, Result};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

/// Device CVE_STATUS rows (alias `s`) that close a vulnerability (ISSUE18:
/// `Patched`; `Ignored` as not applicable to the configuration or the
/// platform, or with an incorrect CPE); `vuln::cve_status_vex` in Rust.
macro_rules! cve_closes {
    () => {
        "(CAST(s.status AS TEXT) IN ('Patched', '1') OR (CAST(s.status AS TEXT) IN ('Ignored', '2')
          AND s.detail IN ('not-applicable-config', 'not-applicable-platform', 'cpe-incorrect')))"
    };
}
pub(super) use cve_closes;

/// Whether vulnerability `pv` is open on device `d`: the first statement
/// of the operator's for the device, the operator's for the fleet, the
/// supplier's (kept on the match), the image's CVE_STATUS where it closes
/// the vulnerability (`cve_closes!`), and the device's latest attestation
/// accepting a finding about it (its id, an alias, its source package or
/// one of its binary packages) leaves it affected or under investigation
/// (no statement: affected). `vuln::Match::is_open` and `vuln::fleet_open`
/// decide the same way.
pub(super) const OPEN: &str = concat!(
    "COALESCE((SELECT x.status FROM vex x WHERE x.vuln = pv.vuln AND x.device_id = d.id),
        (SELECT x.status FROM vex x WHERE x.vuln = pv.vuln AND x.device_id = 0),
        pv.supplier_status,
        (SELECT CASE WHEN CAST(s.status AS TEXT) IN ('Patched', '1') THEN 'fixed' ELSE 'not_affected' END
         FROM device_cve_status s WHERE s.device_id = d.id
          AND (s.vuln = pv.vuln OR instr(',' || pv.aliases || ',', ',' || s.vuln || ',') > 0)
          AND (s.component = pv.component OR instr(',' || pv.packages || ',', ',' || s.component || ',') > 0)
          AND ",
    cve_closes!(),
    " LIMIT 1),
        (SELECT 'not_affected' FROM token_findings f WHERE f.token_id = d.latest_token AND f.accepted IS NOT NULL
         AND (f.subject IN (pv.vuln, pv.component)
          OR instr(',' || pv.packages || ',', ',' || f.subject || ',') > 0
          OR instr(',' || pv.aliases || ',', ',' || f.subject || ',') > 0) LIMIT 1),
        'affected') IN ('affected', 'under_investigation')"
);

/// The package set of a token's package tags (sorted, repeats dropped):
/// found by digest or created with its items.
pub(super) fn pkgset(tx: &Connection, packages: &[String]) -> Result<i64> {
    let mut tags: Vec<&str> = packages.iter().map(String::as_str).collect();
    tags.sort_unstable();
    tags.dedup();
    let digest = super::writes::set_digest(tags.iter().map(|t| t.as_bytes()));
    let digest = digest.as_slice();
    if let Some(id) = tx
        .prepare_cached("SELECT id FROM pkgsets WHERE digest = ?1")
        .map_err(e)?
        .query_row([digest], |r| r.get(0))
        .optional()
        .map_err(e)?
    {
        return Ok(id);
    }
    tx.prepare_cached("INSERT INTO pkgsets (digest, n) VALUES (?1, ?2)")
        .map_err(e)?
        .execute(params![digest, tags.len() as i64])
        .map_err(e)?;
    let id = tx.last_insert_rowid();
    let mut st = tx
        .prepare_cached(
            "INSERT INTO pkgset_items (set_id, purl, name, version, source) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(e)?;
    for t in tags {
        let (name, version, source) = crate::vuln::component(t);
        st.execute(params![id, t, name, version, source])
            .map_err(e)?;
    }
    Ok(id)
}

/// After a device's latest token changed: its failing rules (rewritten
/// only when `rules_changed`: the token's result set differs from the
/// previous one's), failing count, lowest SL ceiling, package set, claims
/// and open vulnerabilities.
pub(super) fn refresh_device(
    tx: &Connection,
    device_id: i64,
    token_id: i64,
    rules_changed: bool,
) -> Result<()> {
    if rules_changed {
        tx.prepare_cached("DELETE FROM latest_failing WHERE device_id = ?1")
            .map_err(e)?
            .execute([device_id])
            .map_err(e)?;
        tx.prepare_cached("INSERT OR IGNORE INTO latest_failing (rule, device_id) SELECT rule, ?1 FROM rule_results WHERE token_id = ?2 AND result = 2")
            .map_err(e)?
            .execute([device_id, token_id])
            .map_err(e)?;
    }
    tx.prepare_cached(
        "UPDATE devices SET failing = (SELECT COUNT(*) FROM latest_failing WHERE device_id = ?1),
            ceiling_min = (SELECT MIN(sl) FROM ceilings WHERE token_id = ?2),
            pkgset = (SELECT pkgset FROM tokens WHERE id = ?2),
            hostname = (SELECT hostname FROM tokens WHERE id = ?2),
            key_tier = (SELECT key_tier FROM tokens WHERE id = ?2),
            excepted = EXISTS (SELECT 1 FROM token_findings WHERE token_id = ?2 AND accepted IS NOT NULL)
                OR EXISTS (SELECT 1 FROM vex WHERE device_id = ?1)
                OR EXISTS (SELECT 1 FROM device_cve_status WHERE device_id = ?1)
         WHERE id = ?1",
    )
    .map_err(e)?
    .execute([device_id, token_id])
    .map_err(e)?;
    recount(&mut Lite(tx), Some(device_id), None)
}

/// Recomputes `vulns_open` of the devices on package set `set`, of one
/// device, of the devices a vulnerability touches, or (all `None`) of every
/// device with a package set.
pub(super) fn recount(db: &mut dyn Sql, device: Option<i64>, vuln: Option<&str>) -> Result<()> {
    recount_where(db, None, device, vuln)
}

/// [`recount`] of the devices on one package set.
pub(super) fn recount_set(db: &mut dyn Sql, set: i64) -> Result<()> {
    recount_where(db, Some(set), None, None)
}

fn recount_where(
    db: &mut dyn Sql,
    set: Option<i64>,
    device: Option<i64>,
    vuln: Option<&str>,
) -> Result<()> {
    // Each condition only when given, so the planner uses the primary key
    // or the package-set index instead of scanning every device; the
    // parameters numbered in the order the conditions come.
    let mut w = vec!["d.pkgset IS NOT NULL".to_string()];
    let mut p: Vec<P> = Vec::new();
    if let Some(d) = device {
        p.push(P::I(d));
        w.push(format!("d.id = ?{}", p.len()));
    }
    if let Some(v) = vuln {
        p.push(P::T(v));
        w.push(format!(
            "d.pkgset IN (SELECT set_id FROM pkgset_vulns WHERE vuln = ?{})",
            p.len()
        ));
    }
    if let Some(s) = set {
        p.push(P::I(s));
        w.push(format!("d.pkgset = ?{}", p.len()));
    }
    let sql = format!(
        "UPDATE devices AS d SET vulns_open = (SELECT COUNT(*) FROM pkgset_vulns pv WHERE pv.set_id = d.pkgset AND {OPEN})
         WHERE {}",
        w.join(" AND ")
    );
    db.exec(&sql, &p)?;
    Ok(())
}

/// Fills what the console migration added for rows written before it:
/// package sets of every token (their `packages` text cleared), each
/// device's failing rules and columns. Claims the store never kept
/// (hostname, key tier) come with the device's next attestation.
pub(super) fn backfill(c: &Connection) -> Result<()> {
    let tokens: Vec<(i64, String)> = c
        .prepare("SELECT id, packages FROM tokens WHERE pkgset IS NULL ORDER BY id")
        .map_err(e)?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(e)?
        .collect::<rusqlite::Result<_>>()
        .map_err(e)?;
    for (id, text) in tokens {
        let tags: Vec<String> = text
            .split('\n')
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        let set = pkgset(c, &tags)?;
        c.execute(
            "UPDATE tokens SET pkgset = ?1, packages = '' WHERE id = ?2",
            [set, id],
        )
        .map_err(e)?;
    }
    let devices: Vec<(i64, i64)> = c
        .prepare("SELECT id, latest_token FROM devices WHERE latest_token IS NOT NULL")
        .map_err(e)?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(e)?
        .collect::<rusqlite::Result<_>>()
        .map_err(e)?;
    for (d, t) in devices {
        refresh_device(c, d, t, true)?;
    }
    Ok(())
}

/// Writes one day's posture metrics (replacing that day's earlier values),
/// then refreshes the planner's statistics (`schema::optimize`).
pub(super) fn put_posture(c: &mut Connection, day: i64, metrics: &[(String, u64)]) -> Result<()> {
    put_posture_rows(c, day, metrics)?;
    super::schema::optimize(c)
}

fn put_posture_rows(c: &mut Connection, day: i64, metrics: &[(String, u64)]) -> Result<()> {
    let tx = c.transaction().map_err(e)?;
    tx.execute("DELETE FROM posture WHERE day = ?1", [day])
        .map_err(e)?;
    {
        let mut st = tx
            .prepare_cached("INSERT INTO posture (day, metric, n) VALUES (?1, ?2, ?3)")
            .map_err(e)?;
        for (m, n) in metrics {
            st.execute(params![day, m, (*n).min(i64::MAX as u64) as i64])
                .map_err(e)?;
        }
    }
    tx.commit().map_err(e)
}

/// Posture metrics from day `from` on: (day, metric, value), by day.
pub(super) fn posture(c: &Connection, from: i64, prefix: &str) -> Result<Vec<(i64, String, u64)>> {
    let mut st = c
        .prepare_cached(
            "SELECT day, metric, n FROM posture WHERE day >= ?1 AND substr(metric, 1, length(?2)) = ?2 ORDER BY day, metric",
        )
        .map_err(e)?;
    let v = st
        .query_map(params![from, prefix], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?.max(0) as u64))
        })
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)?;
    Ok(v)
}

pub(super) fn posture_day(c: &Connection, day: i64, prefix: &str) -> Result<Vec<(String, u64)>> {
    let mut st = c
        .prepare_cached(
            "SELECT metric, n FROM posture WHERE day = ?1 AND metric >= ?2 AND substr(metric, 1, length(?2)) = ?2 ORDER BY metric",
        )
        .map_err(e)?;
    let v = st
        .query_map(params![day, prefix], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64))
        })
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)?;
    Ok(v)
}

pub(super) fn posture_count(c: &Connection, day: i64, prefix: &str) -> Result<(u64, u64)> {
    c.prepare_cached(
        "SELECT COUNT(*), COALESCE(SUM(n), 0) FROM posture
          WHERE day = ?1 AND metric >= ?2 AND substr(metric, 1, length(?2)) = ?2",
    )
    .map_err(e)?
    .query_row(params![day, prefix], |r| {
        Ok((
            r.get::<_, i64>(0)?.max(0) as u64,
            r.get::<_, i64>(1)?.max(0) as u64,
        ))
    })
    .map_err(e)
}

pub(super) fn posture_of(
    c: &Connection,
    from: i64,
    to: i64,
    names: &[String],
) -> Result<Vec<(i64, String, u64)>> {
    let mut st = c
        .prepare_cached("SELECT n FROM posture WHERE day = ?1 AND metric = ?2")
        .map_err(e)?;
    let mut out = Vec::new();
    for d in from..=to.min(from.saturating_add(366)) {
        for m in names {
            let n: Option<i64> = st
                .query_row(params![d, m], |r| r.get(0))
                .optional()
                .map_err(e)?;
            if let Some(n) = n {
                out.push((d, m.clone(), n.max(0) as u64));
            }
        }
    }
    Ok(out)
}

/// Counts for "what changed since" `t`: (active devices that went silent
/// between `t - silent_after` and now - silent_after, drifting devices that
/// attested since `t`, devices whose keys changed since `t`, key rotations).
pub(super) fn changes(c: &Connection, t: i64, now: i64, silent_after: i64) -> Result<[u64; 4]> {
    let n = |sql: &str, p: &[i64]| -> Result<u64> {
        c.prepare_cached(sql)
            .map_err(e)?
            .query_row(params_from_iter(p.iter()), |r| r.get::<_, i64>(0))
            .map(|v| v.max(0) as u64)
            .map_err(e)
    };
    Ok([
        n(
            "SELECT COUNT(*) FROM devices WHERE status = 'active' AND last_seen >= ?1 AND last_seen < ?2",
            &[t - silent_after, now - silent_after],
        )?,
        n(
            "SELECT COUNT(*) FROM devices WHERE drifting = 1 AND status = 'active' AND last_seen >= ?1",
            &[t],
        )?,
        n(
            "SELECT COUNT(*) FROM devices WHERE keys_changed >= ?1",
            &[t],
        )?,
        n("SELECT COUNT(*) FROM retired_keys WHERE rotated_at >= ?1", &[t])?,
    ])
}

/// A device's stored attestations, newest first: (token id, received, seq, iat, online).
pub(super) fn history(c: &Connection, device: i64, limit: i64) -> Result<Vec<super::HistoryEntry>> {
    let mut st = c
        .prepare_cached(
            "SELECT id, received_at, seq, iat, online FROM tokens WHERE device_id = ?1 ORDER BY id DESC LIMIT ?2",
        )
        .map_err(e)?;
    let v = st
        .query_map(params![device, limit], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get::<_, i64>(4)? != 0,
            ))
        })
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)?;
    Ok(v)
}

/// One stored attestation of a device in full: raw token, package tags,
/// rule results, key prints (kind, path, fingerprint).
pub(super) fn token_detail(
    c: &Connection,
    device: i64,
    token: i64,
) -> Result<Option<super::TokenDetail>> {
    let Some((raw, set, received_at, seq)) = c
        .query_row(
            "SELECT raw, pkgset, received_at, seq FROM tokens WHERE id = ?1 AND device_id = ?2",
            [token, device],
            |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get(2)?,
                    r.get(3)?,
                ))
            },
        )
        .optional()
        .map_err(e)?
    else {
        return Ok(None);
    };
    let packages: Vec<String> = c
        .prepare_cached("SELECT purl FROM pkgset_items WHERE set_id = ?1 ORDER BY purl")
        .map_err(e)?
        .query_map([set.unwrap_or(-1)], |r| r.get(0))
        .map_err(e)?
        .collect::<rusqlite::Result<_>>()
        .map_err(e)?;
    let results: Vec<(String, u8)> = c
        .prepare_cached("SELECT rule, result FROM rule_results WHERE token_id = ?1 ORDER BY rule")
        .map_err(e)?
        .query_map([token], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)?.clamp(0, 255) as u8))
        })
        .map_err(e)?
        .collect::<rusqlite::Result<_>>()
        .map_err(e)?;
    let keys: Vec<(String, String, String)> = c
        .prepare_cached("SELECT kind, path, fingerprint FROM key_prints WHERE token_id = ?1 ORDER BY kind, path")
        .map_err(e)?
        .query_map([token], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(e)?
        .collect::<rusqlite::Result<_>>()
        .map_err(e)?;
    Ok(Some(super::TokenDetail {
        id: token,
        received_at,
        seq,
        raw,
        packages,
        results,
        keys,
    }))
}

/// A stored attestation in a device's history: (token id, received at,
/// seq, iat, online).
pub type HistoryEntry = (i64, i64, i64, i64, bool);

/// One stored attestation in full (the device page's diff).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenDetail {
    pub id: i64,
    pub received_at: i64,
    pub seq: i64,
    pub raw: Vec<u8>,
    /// Package tags, sorted.
    pub packages: Vec<String>,
    /// (rule, result code), sorted by rule.
    pub results: Vec<(String, u8)>,
    /// (kind, path, fingerprint).
    pub keys: Vec<(String, String, String)>,
}
