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
mod tests {
    use super::super::devices::insert_device;
    use super::super::sql::cluster::on_both;
    use super::*;

    /// Five devices (ids `d[0..5]`, kid `[i, ab, cd]`, UEID `[01, i]`):
    /// sites, statuses, hostnames, tiers, counts, package sets, failing
    /// rules and vulnerabilities that the filters tell apart.
    fn fleet(db: &mut dyn Sql) -> Vec<i64> {
        // (site, status, hostname, tier, failing, ceiling, vulns, set, seen, drifting, excepted)
        #[allow(clippy::type_complexity)]
        let rows: [(
            &str,
            &str,
            Option<&str>,
            Option<&str>,
            i64,
            Option<i64>,
            i64,
            Option<i64>,
            Option<i64>,
            i64,
            i64,
        ); 5] = [
            (
                "a",
                "active",
                Some("PLC-00.line0"),
                Some("software"),
                2,
                Some(1),
                3,
                Some(7),
                Some(1000),
                0,
                0,
            ),
            (
                "a",
                "active",
                Some("PLC-01.line1"),
                Some("tpm"),
                0,
                Some(2),
                0,
                Some(8),
                Some(2000),
                1,
                0,
            ),
            (
                "b",
                "active",
                Some("plc-02.LINE0"),
                Some("software"),
                1,
                None,
                1,
                Some(7),
                None,
                0,
                1,
            ),
            ("b", "pending", None, None, 0, None, 0, None, None, 0, 0),
            (
                "a",
                "revoked",
                Some("\u{dc}nit-04"),
                Some("software"),
                0,
                None,
                0,
                Some(8),
                Some(500),
                0,
                0,
            ),
        ];
        for (set, items) in [
            (
                7,
                [("pkg:deb/debian/libssl3@3.0", "libssl3", "3.0", "openssl")],
            ),
            (8, [("pkg:deb/debian/tool@1.2", "tool", "1.2", "tool")]),
        ] {
            db.exec(
                "INSERT INTO pkgsets (id, digest, n) VALUES (?1, ?2, 1)",
                ps![set, vec![set as u8].as_slice()],
            )
            .unwrap();
            for (purl, name, version, source) in items {
                db.exec(
                    "INSERT INTO pkgset_items (set_id, purl, name, version, source) VALUES (?1, ?2, ?3, ?4, ?5)",
                    ps![set, purl, name, version, source],
                )
                .unwrap();
            }
        }
        let mut d = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            let i = i as u8;
            let id = insert_device(db, &[i, 0xab, 0xcd], &[0x01, i], b"pk", r.0, 1).unwrap();
            db.exec(
                "UPDATE devices SET status = ?1, hostname = ?2, key_tier = ?3, failing = ?4, ceiling_min = ?5,
                   vulns_open = ?6, pkgset = ?7, last_seen = ?8, drifting = ?9, excepted = ?10 WHERE id = ?11",
                ps![r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10, id],
            )
            .unwrap();
            d.push(id);
        }
        for (rule, dev) in [("r.a", d[0]), ("r.b", d[0]), ("r.a", d[2])] {
            db.exec(
                "INSERT INTO latest_failing (rule, device_id) VALUES (?1, ?2)",
                ps![rule, dev],
            )
            .unwrap();
        }
        for (set, vuln) in [(7, "CVE-1"), (7, "CVE-2"), (8, "CVE-3")] {
            db.exec(
                "INSERT INTO pkgset_vulns (set_id, vuln, component, ecosystem, packages, version, aliases)
                 VALUES (?1, ?2, 'openssl', 'Debian', 'libssl3,openssl', '3.0', ?3)",
                ps![set, vuln, if vuln == "CVE-1" { "DSA-1" } else { "" }],
            )
            .unwrap();
        }
        // CVE-3 closed for the fleet; CVE-2 closed by the excepted device's own statement.
        for (vuln, dev) in [("CVE-3", 0), ("CVE-2", d[2])] {
            db.exec(
                "INSERT INTO vex (vuln, device_id, status, at) VALUES (?1, ?2, 'not_affected', 1)",
                ps![vuln, dev],
            )
            .unwrap();
        }
        d
    }

    fn ids(db: &mut dyn Sql, q: DeviceQuery) -> (Vec<i64>, u64) {
        let q = DeviceQuery {
            limit: q.limit.max(100),
            ..q
        };
        let (rows, total) = device_list(db, &q).unwrap();
        (rows.iter().map(|r| r.id).collect(), total)
    }

    fn search(s: &str) -> DeviceQuery {
        DeviceQuery {
            search: Some(s.into()),
            ..Default::default()
        }
    }

    #[test]
    fn every_filter_and_the_search_on_both_engines() {
        on_both(|db| {
            let d = fleet(db);
            let q = DeviceQuery::default;
            let some = |s: &str| Some(s.to_string());
            assert_eq!(ids(db, q()), (d.clone(), 5));
            let site = DeviceQuery {
                site: some("a"),
                ..q()
            };
            assert_eq!(ids(db, site), (vec![d[0], d[1], d[4]], 3));
            let status = DeviceQuery {
                status: some("active"),
                ..q()
            };
            assert_eq!(ids(db, status).0, vec![d[0], d[1], d[2]]);
            let rule = |r: &str| DeviceQuery {
                rule: some(r),
                ..q()
            };
            assert_eq!(ids(db, rule("r.a")).0, vec![d[0], d[2]]);
            assert_eq!(ids(db, rule("r.b")).0, vec![d[0]]);
            assert_eq!(ids(db, rule("nothing")), (vec![], 0));
            // Vulnerabilities: by id or alias; the fleet's statement closes
            // CVE-3 on its sets, the excepted device's own closes CVE-2 on it.
            let vuln = |v: &str| DeviceQuery {
                vuln: some(v),
                ..q()
            };
            assert_eq!(ids(db, vuln("CVE-1")).0, vec![d[0], d[2]]);
            assert_eq!(ids(db, vuln("DSA-1")).0, vec![d[0], d[2]]);
            assert_eq!(ids(db, vuln("CVE-2")).0, vec![d[0]]);
            assert_eq!(ids(db, vuln("CVE-3")).0, Vec::<i64>::new());
            // Packages by binary, by source, with a version.
            let package = |p: &str| DeviceQuery {
                package: some(p),
                ..q()
            };
            assert_eq!(ids(db, package("libssl3")).0, vec![d[0], d[2]]);
            assert_eq!(ids(db, package("openssl")).0, vec![d[0], d[2]]);
            assert_eq!(ids(db, package("tool@1.2")).0, vec![d[1], d[4]]);
            assert_eq!(ids(db, package("tool@1.3")).0, Vec::<i64>::new());
            let silent = DeviceQuery {
                silent_before: Some(1500),
                ..q()
            };
            assert_eq!(ids(db, silent).0, vec![d[0], d[2]]);
            let drifting = DeviceQuery {
                drifting: true,
                ..q()
            };
            assert_eq!(ids(db, drifting).0, vec![d[1]]);
            let tier = DeviceQuery {
                key_tier: some("tpm"),
                ..q()
            };
            assert_eq!(ids(db, tier).0, vec![d[1]]);
            let both = DeviceQuery {
                site: some("b"),
                rule: some("r.a"),
                ..q()
            };
            assert_eq!(ids(db, both), (vec![d[2]], 1));
            // Search: hostname (ASCII case folded), #id, kid and UEID hex
            // prefixes (odd lengths too), package name.
            assert_eq!(ids(db, search("plc-0")).0, vec![d[0], d[1], d[2]]);
            assert_eq!(ids(db, search("LINE0")).0, vec![d[0], d[2]]);
            assert_eq!(ids(db, search("NIT-04")).0, vec![d[4]]);
            assert_eq!(ids(db, search(&format!("#{}", d[3]))).0, vec![d[3]]);
            assert_eq!(ids(db, search(&format!(" {} ", d[4]))).0, vec![d[4]]);
            assert_eq!(ids(db, search("02abcd")).0, vec![d[2]]);
            assert_eq!(ids(db, search("02ABC")).0, vec![d[2]]);
            assert_eq!(ids(db, search("0104")).0, vec![d[4]]);
            assert_eq!(ids(db, search("libssl3")).0, vec![d[0], d[2]]);
            assert_eq!(ids(db, search("openssl")).0, vec![d[0], d[2]]);
            assert_eq!(ids(db, search("   ")).1, 5, "a blank search is none");
            // Hostile filter values are data.
            let hostile = DeviceQuery {
                site: some("' OR 1=1 --"),
                ..q()
            };
            assert_eq!(ids(db, hostile).1, 0);
            assert_eq!(ids(db, search("%")).1, 0);
            assert_eq!(ids(db, search("_")).1, 0);
        });
    }

    #[test]
    fn sorting_paging_rows_approval_and_sites_on_both_engines() {
        on_both(|db| {
            let d = fleet(db);
            // Every sort, both directions, in pages of 2: each device once.
            for (sort, _) in Sort::ALL {
                for desc in [false, true] {
                    let mut seen = Vec::new();
                    let mut q = DeviceQuery {
                        sort,
                        descending: desc,
                        limit: 2,
                        ..Default::default()
                    };
                    loop {
                        let (rows, total) = device_list(db, &q).unwrap();
                        assert_eq!(total, 5);
                        if rows.is_empty() {
                            break;
                        }
                        seen.extend(rows.iter().map(|r| r.id));
                        q.offset += 2;
                    }
                    let mut sorted = seen.clone();
                    sorted.sort();
                    sorted.dedup();
                    assert_eq!(sorted, d, "{sort:?} {desc}: {seen:?}");
                }
            }
            let order = |db: &mut dyn Sql, sort: Sort, descending: bool| {
                ids(
                    db,
                    DeviceQuery {
                        sort,
                        descending,
                        ..Default::default()
                    },
                )
                .0
            };
            // Hostnames bytewise, NULL last whatever the direction.
            assert_eq!(
                order(db, Sort::Hostname, false),
                vec![d[0], d[1], d[2], d[4], d[3]]
            );
            assert_eq!(
                order(db, Sort::Hostname, true),
                vec![d[4], d[2], d[1], d[0], d[3]]
            );
            assert_eq!(
                order(db, Sort::Ceiling, false),
                vec![d[0], d[1], d[2], d[3], d[4]]
            );
            assert_eq!(
                order(db, Sort::Failing, true),
                vec![d[0], d[2], d[4], d[3], d[1]]
            );
            assert_eq!(
                order(db, Sort::Id, true),
                vec![d[4], d[3], d[2], d[1], d[0]]
            );
            assert_eq!(
                order(db, Sort::LastSeen, false),
                vec![d[4], d[0], d[1], d[2], d[3]]
            );
            let page = device_list(
                db,
                &DeviceQuery {
                    sort: Sort::Vulns,
                    descending: true,
                    limit: 1,
                    offset: 1,
                    ..Default::default()
                },
            )
            .unwrap();
            assert_eq!((page.0.len(), page.0[0].id, page.1), (1, d[2], 5));
            // Out-of-range bounds are clamped, never refused.
            let (rows, total) = device_list(
                db,
                &DeviceQuery {
                    limit: u64::MAX,
                    offset: u64::MAX,
                    ..Default::default()
                },
            )
            .unwrap();
            assert_eq!((rows.len(), total), (0, 5));

            let row0 = DeviceRow {
                id: d[0],
                hostname: Some("PLC-00.line0".into()),
                site: "a".into(),
                status: "active".into(),
                kid: vec![0, 0xab, 0xcd],
                ueid: vec![0x01, 0],
                last_seen: Some(1000),
                ceiling_min: Some(1),
                failing: 2,
                vulns_open: 3,
                drifting: false,
                key_tier: Some("software".into()),
                enrolled_at: 1,
                approved_by: None,
                approved_at: None,
            };
            assert_eq!(device_row(db, d[0]).unwrap(), Some(row0.clone()));
            let (rows, _) = device_list(db, &search("PLC-00")).unwrap();
            assert_eq!(rows, vec![row0.clone()]);
            set_approved(db, d[0], "operator alice", 42).unwrap();
            assert_eq!(
                device_row(db, d[0]).unwrap(),
                Some(DeviceRow {
                    approved_by: Some("operator alice".into()),
                    approved_at: Some(42),
                    ..row0
                })
            );
            let r3 = device_row(db, d[3]).unwrap().unwrap();
            assert_eq!(
                (
                    r3.hostname,
                    r3.ceiling_min,
                    r3.key_tier,
                    r3.last_seen,
                    r3.drifting
                ),
                (None, None, None, None, false)
            );
            assert!(device_row(db, d[1]).unwrap().unwrap().drifting);
            assert_eq!(device_row(db, 9999).unwrap(), None);

            let s = |a: &str, b: &str, n: u64| (a.to_string(), b.to_string(), n);
            assert_eq!(
                sites(db).unwrap(),
                vec![
                    s("a", "active", 2),
                    s("a", "revoked", 1),
                    s("b", "active", 1),
                    s("b", "pending", 1)
                ]
            );
        });
    }
}
