//! The device list: one indexed query per page whatever the fleet size,
//! filtered by site, status, failing rule, open vulnerability, package,
//! silence, drift, key tier and a free search; and one device as a row.

use super::console::OPEN;
use super::sql::{first, ps, rows, Dialect, Row, Sql, P};
use super::{Result, StoreError};

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

/// A parameter of a device query, owned (the filter builds its values).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Arg {
    I(i64),
    T(String),
    B(Vec<u8>),
}

impl Arg {
    fn p(&self) -> P<'_> {
        match self {
            Arg::I(v) => P::I(*v),
            Arg::T(v) => P::T(v),
            Arg::B(v) => P::B(v),
        }
    }
}

/// The WHERE clause and its parameters for a device query.
fn filter(q: &DeviceQuery) -> (String, Vec<Arg>) {
    // `TRUE`: a condition both engines take (PostgreSQL refuses `1 AND ...`).
    let mut w: Vec<String> = vec!["TRUE".into()];
    let mut p: Vec<Arg> = Vec::new();
    let arg = |p: &mut Vec<Arg>, v: Arg| {
        p.push(v);
        format!("?{}", p.len())
    };
    if let Some(s) = &q.site {
        w.push(format!("d.site = {}", arg(&mut p, Arg::T(s.clone()))));
    }
    if let Some(s) = &q.status {
        w.push(format!("d.status = {}", arg(&mut p, Arg::T(s.clone()))));
    }
    if let Some(r) = &q.rule {
        w.push(format!(
            "d.id IN (SELECT device_id FROM latest_failing WHERE rule = {})",
            arg(&mut p, Arg::T(r.clone()))
        ));
    }
    if let Some(v) = &q.vuln {
        let a = arg(&mut p, Arg::T(v.clone()));
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
        let n = arg(&mut p, Arg::T(name.to_string()));
        let v = arg(&mut p, Arg::T(version.to_string()));
        w.push(format!(
            "d.pkgset IN (SELECT set_id FROM pkgset_items WHERE name = {n} AND ({v} = '' OR version = {v})
               UNION SELECT set_id FROM pkgset_items WHERE source = {n} AND ({v} = '' OR version = {v}))"
        ));
    }
    if let Some(t) = q.silent_before {
        w.push(format!(
            "d.status = 'active' AND COALESCE(d.last_seen, 0) < {}",
            arg(&mut p, Arg::I(t))
        ));
    }
    if q.drifting {
        w.push("d.drifting = 1".into());
    }
    if let Some(t) = &q.key_tier {
        w.push(format!("d.key_tier = {}", arg(&mut p, Arg::T(t.clone()))));
    }
    if let Some(s) = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let mut any: Vec<String> = Vec::new();
        let id = s.strip_prefix('#').unwrap_or(s);
        if let Ok(n) = id.parse::<i64>() {
            any.push(format!("d.id = {}", arg(&mut p, Arg::I(n))));
        }
        any.push(format!(
            "instr(lower(d.hostname), {}) > 0",
            arg(&mut p, Arg::T(s.to_lowercase()))
        ));
        if let Some((lo, hi)) = hex_range(s) {
            for col in ["d.kid", "d.ueid"] {
                let l = arg(&mut p, Arg::B(lo.clone()));
                match &hi {
                    Some(h) => {
                        let h = arg(&mut p, Arg::B(h.clone()));
                        any.push(format!("({col} >= {l} AND {col} < {h})"));
                    }
                    None => any.push(format!("{col} >= {l}")),
                }
            }
        }
        let n = arg(&mut p, Arg::T(s.to_string()));
        any.push(format!(
            "d.pkgset IN (SELECT set_id FROM pkgset_items WHERE name = {n} UNION SELECT set_id FROM pkgset_items WHERE source = {n})"
        ));
        w.push(format!("({})", any.join(" OR ")));
    }
    (w.join(" AND "), p)
}

/// One page of the device list and the number of devices the filter matches.
pub(super) fn device_list(db: &mut dyn Sql, q: &DeviceQuery) -> Result<(Vec<DeviceRow>, u64)> {
    let (wh, mut args) = filter(q);
    let total = {
        let p: Vec<P> = args.iter().map(Arg::p).collect();
        first(
            db,
            &format!("SELECT COUNT(*) FROM devices d WHERE {wh}"),
            &p,
            |r| r.i64(0),
        )?
        .ok_or_else(|| StoreError::Database("COUNT returned no row".into()))?
    };
    let dir = if q.descending { "DESC" } else { "ASC" };
    // NULLs (never attested) last whatever the direction.
    let col = q.sort.column();
    let (limit, offset) = (q.limit.clamp(1, 500), q.offset.min(i64::MAX as u64));
    // SQLite: the page in the text (its planner reads a literal LIMIT; the
    // statement cache is a bounded LRU). PostgreSQL keeps every prepared
    // statement per connection: the page as parameters, so that paging
    // does not add one statement per offset.
    let page = match db.dialect() {
        Dialect::Sqlite => format!("LIMIT {limit} OFFSET {offset}"),
        Dialect::Postgres => {
            args.push(Arg::I(limit as i64));
            args.push(Arg::I(offset as i64));
            format!("LIMIT ?{} OFFSET ?{}", args.len() - 1, args.len())
        }
    };
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM devices d WHERE {wh} ORDER BY {col} IS NULL, {col} {dir}, d.id {dir} {page}"
    );
    let p: Vec<P> = args.iter().map(Arg::p).collect();
    let rows = rows(db, &sql, &p, row)?;
    Ok((rows, total.max(0) as u64))
}

/// The columns [`row`] reads.
const ROW_COLUMNS: &str =
    "d.id, d.hostname, d.site, d.status, d.kid, d.ueid, d.last_seen, d.ceiling_min, d.failing,
    d.vulns_open, d.drifting, d.key_tier, d.enrolled_at, d.approved_by, d.approved_at";

fn row(r: &dyn Row) -> Result<DeviceRow> {
    Ok(DeviceRow {
        id: r.i64(0)?,
        hostname: r.opt_text(1)?,
        site: r.text(2)?,
        status: r.text(3)?,
        kid: r.blob(4)?,
        ueid: r.blob(5)?,
        last_seen: r.opt_i64(6)?,
        ceiling_min: r.opt_i64(7)?.map(|v| v.clamp(0, 255) as u8),
        failing: r.i64(8)?.max(0) as u64,
        vulns_open: r.i64(9)?.max(0) as u64,
        drifting: r.i64(10)? != 0,
        key_tier: r.opt_text(11)?,
        enrolled_at: r.i64(12)?,
        approved_by: r.opt_text(13)?,
        approved_at: r.opt_i64(14)?,
    })
}

/// One device as a list row.
pub(super) fn device_row(db: &mut dyn Sql, id: i64) -> Result<Option<DeviceRow>> {
    first(
        db,
        &format!("SELECT {ROW_COLUMNS} FROM devices d WHERE d.id = ?1"),
        ps![id],
        row,
    )
}

/// Records who approved a device and when.
pub(super) fn set_approved(db: &mut dyn Sql, id: i64, by: &str, at: i64) -> Result<()> {
    db.exec(
        "UPDATE devices SET approved_by = ?1, approved_at = ?2 WHERE id = ?3",
        ps![by, at, id],
    )?;
    Ok(())
}

/// Devices per (site, status), by site (`ORDER BY` the grouping's own
/// order on SQLite, read through `devices_site`; PostgreSQL may group by
/// hash, and callers rely on a site's rows being adjacent).
pub(super) fn sites(db: &mut dyn Sql) -> Result<Vec<(String, String, u64)>> {
    rows(
        db,
        "SELECT site, status, COUNT(*) FROM devices GROUP BY site, status ORDER BY site, status",
        &[],
        |r| Ok((r.text(0)?, r.text(1)?, r.i64(2)?.max(0) as u64)),
    )
}

#[cfg(test)]
#[path = "device_list_tests.rs"]
mod tests;
