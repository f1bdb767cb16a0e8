//! What the operator console reads, kept so that a page costs the same for
//! ten devices or 100,000: per-device columns maintained by the write path
//! (failing rule count, lowest SL ceiling, open vulnerabilities, package
//! set, hostname and key tier claims, the last key change), package sets
//! shared by every token that attests the same inventory (a fleet runs a
//! handful of images, so vulnerability matching is per set, not per
//! device), each device's failing rules (`latest_failing`), the daily
//! posture, and collector-side acceptances. The device list is one indexed
//! query with bounded paging whatever the filter.

use super::sql::{first, ps, rows, transaction, Dialect, Lite, Sql, P};
use super::{e, Result, StoreError};
use rusqlite::Connection;

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
/// found by digest or created with its items. Replicas creating the same
/// set at once: the digest is unique, the loser's insert does nothing
/// (PostgreSQL waits for the winner's commit) and it reads the winner's id.
pub(super) fn pkgset(db: &mut dyn Sql, packages: &[String]) -> Result<i64> {
    let mut tags: Vec<&str> = packages.iter().map(String::as_str).collect();
    tags.sort_unstable();
    tags.dedup();
    let digest = super::writes::set_digest(tags.iter().map(|t| t.as_bytes()));
    let find = |db: &mut dyn Sql| {
        first(
            db,
            "SELECT id FROM pkgsets WHERE digest = ?1",
            ps![&digest],
            |r| r.i64(0),
        )
    };
    if let Some(id) = find(db)? {
        return Ok(id);
    }
    let Some(id) = first(
        db,
        "INSERT INTO pkgsets (digest, n) VALUES (?1, ?2) ON CONFLICT (digest) DO NOTHING RETURNING id",
        ps![&digest, tags.len() as i64],
        |r| r.i64(0),
    )?
    else {
        return find(db)?
            .ok_or_else(|| StoreError::Database("package set vanished while created".into()));
    };
    for t in tags {
        let (name, version, source) = crate::vuln::component(t);
        db.exec(
            "INSERT INTO pkgset_items (set_id, purl, name, version, source) VALUES (?1, ?2, ?3, ?4, ?5)",
            ps![id, t, name.as_str(), version.as_str(), source.as_str()],
        )?;
    }
    Ok(id)
}

/// After a device's latest token changed: its failing rules (rewritten
/// only when `rules_changed`: the token's result set differs from the
/// previous one's), failing count, lowest SL ceiling, package set, claims
/// and open vulnerabilities.
pub(super) fn refresh_device(
    db: &mut dyn Sql,
    device_id: i64,
    token_id: i64,
    rules_changed: bool,
) -> Result<()> {
    if rules_changed {
        db.exec(
            "DELETE FROM latest_failing WHERE device_id = ?1",
            ps![device_id],
        )?;
        db.exec(
            "INSERT INTO latest_failing (rule, device_id) SELECT rule, ?1 FROM rule_results WHERE token_id = ?2 AND result = 2 ON CONFLICT DO NOTHING",
            ps![device_id, token_id],
        )?;
    }
    db.exec(
        "UPDATE devices SET failing = (SELECT COUNT(*) FROM latest_failing WHERE device_id = ?1),
            ceiling_min = (SELECT MIN(sl) FROM ceilings WHERE token_id = ?2),
            pkgset = (SELECT pkgset FROM tokens WHERE id = ?2),
            hostname = (SELECT hostname FROM tokens WHERE id = ?2),
            key_tier = (SELECT key_tier FROM tokens WHERE id = ?2),
            excepted = CASE WHEN EXISTS (SELECT 1 FROM token_findings WHERE token_id = ?2 AND accepted IS NOT NULL)
                OR EXISTS (SELECT 1 FROM vex WHERE device_id = ?1)
                OR EXISTS (SELECT 1 FROM device_cve_status WHERE device_id = ?1) THEN 1 ELSE 0 END
         WHERE id = ?1",
        ps![device_id, token_id],
    )?;
    recount(db, Some(device_id), None)
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
        let set = pkgset(&mut Lite(c), &tags)?;
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
        refresh_device(&mut Lite(c), d, t, true)?;
    }
    Ok(())
}

/// Writes one day's posture metrics (replacing that day's earlier values),
/// then, on SQLite, refreshes the planner's statistics (`schema::optimize`;
/// PostgreSQL's autovacuum analyzes by itself).
pub(super) fn put_posture(db: &mut dyn Sql, day: i64, metrics: &[(String, u64)]) -> Result<()> {
    transaction(db, |db| {
        db.exec("DELETE FROM posture WHERE day = ?1", ps![day])?;
        for (m, n) in metrics {
            db.exec(
                "INSERT INTO posture (day, metric, n) VALUES (?1, ?2, ?3)",
                ps![day, m, (*n).min(i64::MAX as u64) as i64],
            )?;
        }
        Ok(())
    })?;
    if db.dialect() == Dialect::Sqlite {
        db.batch(super::schema::OPTIMIZE)?;
    }
    Ok(())
}

fn count(v: i64) -> u64 {
    v.max(0) as u64
}

/// Posture metrics from day `from` on: (day, metric, value), by day.
pub(super) fn posture(
    db: &mut dyn Sql,
    from: i64,
    prefix: &str,
) -> Result<Vec<(i64, String, u64)>> {
    rows(
        db,
        "SELECT day, metric, n FROM posture WHERE day >= ?1 AND substr(metric, 1, length(?2)) = ?2 ORDER BY day, metric",
        ps![from, prefix],
        |r| Ok((r.i64(0)?, r.text(1)?, count(r.i64(2)?))),
    )
}

pub(super) fn posture_day(db: &mut dyn Sql, day: i64, prefix: &str) -> Result<Vec<(String, u64)>> {
    rows(
        db,
        "SELECT metric, n FROM posture WHERE day = ?1 AND metric >= ?2 AND substr(metric, 1, length(?2)) = ?2 ORDER BY metric",
        ps![day, prefix],
        |r| Ok((r.text(0)?, count(r.i64(1)?))),
    )
}

pub(super) fn posture_count(db: &mut dyn Sql, day: i64, prefix: &str) -> Result<(u64, u64)> {
    Ok(first(
        db,
        "SELECT COUNT(*), CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM posture
          WHERE day = ?1 AND metric >= ?2 AND substr(metric, 1, length(?2)) = ?2",
        ps![day, prefix],
        |r| Ok((count(r.i64(0)?), count(r.i64(1)?))),
    )?
    .unwrap_or((0, 0)))
}

pub(super) fn posture_of(
    db: &mut dyn Sql,
    from: i64,
    to: i64,
    names: &[String],
) -> Result<Vec<(i64, String, u64)>> {
    let mut out = Vec::new();
    for d in from..=to.min(from.saturating_add(366)) {
        for m in names {
            if let Some(n) = first(
                db,
                "SELECT n FROM posture WHERE day = ?1 AND metric = ?2",
                ps![d, m],
                |r| r.i64(0),
            )? {
                out.push((d, m.clone(), count(n)));
            }
        }
    }
    Ok(out)
}

/// Counts for "what changed since" `t`: (active devices that went silent
/// between `t - silent_after` and now - silent_after, drifting devices that
/// attested since `t`, devices whose keys changed since `t`, key rotations).
pub(super) fn changes(db: &mut dyn Sql, t: i64, now: i64, silent_after: i64) -> Result<[u64; 4]> {
    let mut n = |sql: &str, p: &[P]| -> Result<u64> {
        Ok(first(db, sql, p, |r| r.i64(0))?.map_or(0, count))
    };
    Ok([
        n(
            "SELECT COUNT(*) FROM devices WHERE status = 'active' AND last_seen >= ?1 AND last_seen < ?2",
            ps![t - silent_after, now - silent_after],
        )?,
        n(
            "SELECT COUNT(*) FROM devices WHERE drifting = 1 AND status = 'active' AND last_seen >= ?1",
            ps![t],
        )?,
        n("SELECT COUNT(*) FROM devices WHERE keys_changed >= ?1", ps![t])?,
        n("SELECT COUNT(*) FROM retired_keys WHERE rotated_at >= ?1", ps![t])?,
    ])
}

/// A device's stored attestations, newest first: (token id, received, seq, iat, online).
pub(super) fn history(
    db: &mut dyn Sql,
    device: i64,
    limit: i64,
) -> Result<Vec<super::HistoryEntry>> {
    rows(
        db,
        "SELECT id, received_at, seq, iat, online FROM tokens WHERE device_id = ?1 ORDER BY id DESC LIMIT ?2",
        ps![device, limit],
        |r| Ok((r.i64(0)?, r.i64(1)?, r.i64(2)?, r.i64(3)?, r.i64(4)? != 0)),
    )
}

/// One stored attestation of a device in full: raw token, package tags,
/// rule results, key prints (kind, path, fingerprint).
pub(super) fn token_detail(
    db: &mut dyn Sql,
    device: i64,
    token: i64,
) -> Result<Option<super::TokenDetail>> {
    let Some((raw, set, received_at, seq)) = first(
        db,
        "SELECT raw, pkgset, received_at, seq FROM tokens WHERE id = ?1 AND device_id = ?2",
        ps![token, device],
        |r| Ok((r.blob(0)?, r.opt_i64(1)?, r.i64(2)?, r.i64(3)?)),
    )?
    else {
        return Ok(None);
    };
    let packages = rows(
        db,
        "SELECT purl FROM pkgset_items WHERE set_id = ?1 ORDER BY purl",
        ps![set.unwrap_or(-1)],
        |r| r.text(0),
    )?;
    let results = rows(
        db,
        "SELECT rule, result FROM rule_results WHERE token_id = ?1 ORDER BY rule",
        ps![token],
        |r| Ok((r.text(0)?, r.i64(1)?.clamp(0, 255) as u8)),
    )?;
    let keys = rows(
        db,
        "SELECT kind, path, fingerprint FROM key_prints WHERE token_id = ?1 ORDER BY kind, path",
        ps![token],
        |r| Ok((r.text(0)?, r.text(1)?, r.text(2)?)),
    )?;
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
