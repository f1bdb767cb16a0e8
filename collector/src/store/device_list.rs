//! The device list: one indexed query per page whatever the fleet size,
//! filtered by site, status, failing rule, open vulnerability, package,
//! silence, drift, key tier and a free search; and one device as a row.

use super::console::OPEN;
use super::{e, Result};
use rusqlite::types::Value as Sql;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

/// How the device list is filtered, sorted and paged (every field from the
/// page's URL; strings are matched as data, never as SQL).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceQuery {
    pub site: Option<String>,
    /// `pending`, `active`, `revoked`.
    pub status: Option<String>,
    /// Devices whose latest attestation fails this rule.
    pub rule: Option<String>,
    /// Devices on which this vulnerability (id or alias) is open.
    pub vuln: Option<String>,
    /// Devices with this package (binary or source name), optionally `name@version`.
    pub package: Option<String>,
    /// Only active devices whose last attestation is older than this time.
    pub silent_before: Option<i64>,
    pub drifting: bool,
    pub key_tier: Option<String>,
    /// Free search: hostname (substring, case-insensitive), kid or UEID (hex
    /// prefix), device id (`#12` or a number), package name.
    pub search: Option<String>,
    pub sort: Sort,
    pub descending: bool,
    pub offset: u64,
    pub limit: u64,
}

/// Sort keys of the device list (each with an index).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    #[default]
    Id,
    Hostname,
    Site,
    Status,
    LastSeen,
    Ceiling,
    Failing,
    Vulns,
}

impl Sort {
    pub const ALL: [(Sort, &'static str); 8] = [
        (Sort::Id, "id"),
        (Sort::Hostname, "hostname"),
        (Sort::Site, "site"),
        (Sort::Status, "status"),
        (Sort::LastSeen, "seen"),
        (Sort::Ceiling, "ceiling"),
        (Sort::Failing, "failing"),
        (Sort::Vulns, "vulns"),
    ];
    pub fn name(self) -> &'static str {
        Sort::ALL
            .iter()
            .find(|(s, _)| *s == self)
            .map(|(_, n)| *n)
            .unwrap_or("id")
    }
    pub fn parse(s: &str) -> Option<Sort> {
        Sort::ALL.iter().find(|(_, n)| *n == s).map(|(s, _)| *s)
    }
    fn column(self) -> &'static str {
        match self {
            Sort::Id => "d.id",
            Sort::Hostname => "d.hostname",
            Sort::Site => "d.site",
            Sort::Status => "d.status",
            Sort::LastSeen => "d.last_seen",
            Sort::Ceiling => "d.ceiling_min",
            Sort::Failing => "d.failing",
            Sort::Vulns => "d.vulns_open",
        }
    }
}

/// One row of the device list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    pub id: i64,
    pub hostname: Option<String>,
    pub site: String,
    pub status: String,
    pub kid: Vec<u8>,
    pub ueid: Vec<u8>,
    pub last_seen: Option<i64>,
    pub ceiling_min: Option<u8>,
    pub failing: u64,
    pub vulns_open: u64,
    pub drifting: bool,
    pub key_tier: Option<String>,
    pub enrolled_at: i64,
    /// The operator who approved the device, and when (console or CLI).
    pub approved_by: Option<String>,
    pub approved_at: Option<i64>,
}

/// The hex digits of `s` as a blob range `[lo, hi)` matching every blob
/// whose hex starts with them (an odd count covers both nibbles).
fn hex_range(s: &str) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    if s.len() < 4 || s.len() > 130 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let s = s.to_ascii_lowercase();
    let even = &s[..s.len() / 2 * 2];
    let mut lo = fieldattest_protocol::hex::unhex(even)?;
    let mut hi = lo.clone();
    if s.len() % 2 == 1 {
        let n = u8::from_str_radix(&s[s.len() - 1..], 16).ok()?;
        lo.push(n << 4);
        hi.push(n << 4 | 0x0f);
    }
    // The smallest blob greater than every blob with prefix `hi`.
    while let Some(last) = hi.pop() {
        if last != 0xff {
            hi.push(last + 1);
            return Some((lo, Some(hi)));
        }
    }
    Some((lo, None))
}

/// The WHERE clause and its parameters for a device query.
fn filter(q: &DeviceQuery) -> (String, Vec<Sql>) {
    let mut w: Vec<String> = vec!["1".into()];
    let mut p: Vec<Sql> = Vec::new();
    let arg = |p: &mut Vec<Sql>, v: Sql| {
        p.push(v);
        format!("?{}", p.len())
    };
    if let Some(s) = &q.site {
        w.push(format!("d.site = {}", arg(&mut p, Sql::Text(s.clone()))));
    }
    if let Some(s) = &q.status {
        w.push(format!("d.status = {}", arg(&mut p, Sql::Text(s.clone()))));
    }
    if let Some(r) = &q.rule {
        w.push(format!(
            "d.id IN (SELECT device_id FROM latest_failing WHERE rule = {})",
            arg(&mut p, Sql::Text(r.clone()))
        ));
    }
    if let Some(v) = &q.vuln {
        let a = arg(&mut p, Sql::Text(v.clone()));
        // Devices without statements of their own (`excepted = 0`) follow
        // their package set, the fleet's VEX and the supplier's: found through the few
        // sets, by index. The others are checked one by one with `OPEN`.
        let hit =
            format!("(pv.vuln = {a} OR instr(',' || pv.aliases || ',', ',' || {a} || ',') > 0)");
        w.push(format!(
            "d.id IN (SELECT x.id FROM devices x WHERE x.excepted = 0 AND x.pkgset IN (
                SELECT pv.set_id FROM pkgset_vulns pv WHERE {hit}
                  AND COALESCE((SELECT v.status FROM vex v WHERE v.vuln = pv.vuln AND v.device_id = 0),
                      pv.supplier_status, 'affected')
                      IN ('affected', 'under_investigation'))
              UNION ALL
              SELECT d.id FROM devices d WHERE d.excepted = 1
                AND EXISTS (SELECT 1 FROM pkgset_vulns pv WHERE pv.set_id = d.pkgset AND {hit} AND {OPEN}))"
        ));
    }
    if let Some(pk) = &q.package {
        let (name, version) = pk.split_once('@').unwrap_or((pk, ""));
        let n = arg(&mut p, Sql::Text(name.to_string()));
        let v = arg(&mut p, Sql::Text(version.to_string()));
        w.push(format!(
            "d.pkgset IN (SELECT set_id FROM pkgset_items WHERE name = {n} AND ({v} = '' OR version = {v})
               UNION SELECT set_id FROM pkgset_items WHERE source = {n} AND ({v} = '' OR version = {v}))"
        ));
    }
    if let Some(t) = q.silent_before {
        w.push(format!(
            "d.status = 'active' AND COALESCE(d.last_seen, 0) < {}",
            arg(&mut p, Sql::Integer(t))
        ));
    }
    if q.drifting {
        w.push("d.drifting = 1".into());
    }
    if let Some(t) = &q.key_tier {
        w.push(format!(
            "d.key_tier = {}",
            arg(&mut p, Sql::Text(t.clone()))
        ));
    }
    if let Some(s) = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let mut any: Vec<String> = Vec::new();
        let id = s.strip_prefix('#').unwrap_or(s);
        if let Ok(n) = id.parse::<i64>() {
            any.push(format!("d.id = {}", arg(&mut p, Sql::Integer(n))));
        }
        any.push(format!(
            "instr(lower(d.hostname), {}) > 0",
            arg(&mut p, Sql::Text(s.to_lowercase()))
        ));
        if let Some((lo, hi)) = hex_range(s) {
            for col in ["d.kid", "d.ueid"] {
                let l = arg(&mut p, Sql::Blob(lo.clone()));
                match &hi {
                    Some(h) => {
                        let h = arg(&mut p, Sql::Blob(h.clone()));
                        any.push(format!("({col} >= {l} AND {col} < {h})"));
                    }
                    None => any.push(format!("{col} >= {l}")),
                }
            }
        }
        let n = arg(&mut p, Sql::Text(s.to_string()));
        any.push(format!(
            "d.pkgset IN (SELECT set_id FROM pkgset_items WHERE name = {n} UNION SELECT set_id FROM pkgset_items WHERE source = {n})"
        ));
        w.push(format!("({})", any.join(" OR ")));
    }
    (w.join(" AND "), p)
}

/// One page of the device list and the number of devices the filter matches.
pub(super) fn device_list(c: &Connection, q: &DeviceQuery) -> Result<(Vec<DeviceRow>, u64)> {
    let (wh, p) = filter(q);
    let total: i64 = c
        .prepare_cached(&format!("SELECT COUNT(*) FROM devices d WHERE {wh}"))
        .map_err(e)?
        .query_row(params_from_iter(p.iter()), |r| r.get(0))
        .map_err(e)?;
    let dir = if q.descending { "DESC" } else { "ASC" };
    // NULLs (never attested) last whatever the direction.
    let col = q.sort.column();
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM devices d WHERE {wh} ORDER BY {col} IS NULL, {col} {dir}, d.id {dir} LIMIT {} OFFSET {}",
        q.limit.clamp(1, 500),
        q.offset.min(i64::MAX as u64)
    );
    let mut st = c.prepare_cached(&sql).map_err(e)?;
    let rows = st
        .query_map(params_from_iter(p.iter()), row)
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)?;
    Ok((rows, total.max(0) as u64))
}

/// The columns [`row`] reads.
const ROW_COLUMNS: &str =
    "d.id, d.hostname, d.site, d.status, d.kid, d.ueid, d.last_seen, d.ceiling_min, d.failing,
    d.vulns_open, d.drifting, d.key_tier, d.enrolled_at, d.approved_by, d.approved_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRow> {
    Ok(DeviceRow {
        id: r.get(0)?,
        hostname: r.get(1)?,
        site: r.get(2)?,
        status: r.get(3)?,
        kid: r.get(4)?,
        ueid: r.get(5)?,
        last_seen: r.get(6)?,
        ceiling_min: r.get::<_, Option<i64>>(7)?.map(|v| v.clamp(0, 255) as u8),
        failing: r.get::<_, i64>(8)?.max(0) as u64,
        vulns_open: r.get::<_, i64>(9)?.max(0) as u64,
        drifting: r.get::<_, i64>(10)? != 0,
        key_tier: r.get(11)?,
        enrolled_at: r.get(12)?,
        approved_by: r.get(13)?,
        approved_at: r.get(14)?,
    })
}

/// One device as a list row.
pub(super) fn device_row(c: &Connection, id: i64) -> Result<Option<DeviceRow>> {
    c.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM devices d WHERE d.id = ?1"
    ))
    .map_err(e)?
    .query_row([id], row)
    .optional()
    .map_err(e)
}

/// Records who approved a device and when.
pub(super) fn set_approved(c: &Connection, id: i64, by: &str, at: i64) -> Result<()> {
    c.execute(
        "UPDATE devices SET approved_by = ?1, approved_at = ?2 WHERE id = ?3",
        params![by, at, id],
    )
    .map_err(e)?;
    Ok(())
}

/// Devices per (site, status), largest sites first.
pub(super) fn sites(c: &Connection) -> Result<Vec<(String, String, u64)>> {
    let mut st = c
        .prepare("SELECT site, status, COUNT(*) FROM devices GROUP BY site, status")
        .map_err(e)?;
    let v = st
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?.max(0) as u64))
        })
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)?;
    Ok(v)
}
