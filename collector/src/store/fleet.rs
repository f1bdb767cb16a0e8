//! Fleet queries over the maintained aggregates and each device's latest
//! attestation (never a scan of per-device rows).

use super::{e, Aggregates, Result, Snapshot, TokenRow};
use rusqlite::{Connection, OptionalExtension};

pub(super) fn latest_failures(c: &Connection, rule: Option<&str>) -> Result<Vec<(i64, String)>> {
    let mut st = c
        .prepare(
            "SELECT d.id, r.rule FROM devices d JOIN rule_results r ON r.token_id = d.latest_token
             WHERE r.result = 2 AND (?1 IS NULL OR r.rule = ?1) ORDER BY d.id, r.rule",
        )
        .map_err(e)?;
    let v = st
        .query_map([rule], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)?;
    Ok(v)
}

pub(super) fn shared_keys(c: &Connection) -> Result<Vec<(String, String, Vec<i64>)>> {
    let mut st = c
        .prepare("SELECT fingerprint, kind FROM agg_keys WHERE n > 1 ORDER BY fingerprint")
        .map_err(e)?;
    let fps: Vec<(String, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)?;
    let mut out = Vec::new();
    let mut ids = c.prepare_cached("SELECT DISTINCT k.device_id FROM key_prints k WHERE k.fingerprint = ?1 AND k.token_id = (SELECT latest_token FROM devices WHERE id = k.device_id) ORDER BY k.device_id").map_err(e)?;
    for (fp, kind) in fps {
        let v: Vec<i64> = ids
            .query_map([&fp], |r| r.get(0))
            .map_err(e)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(e)?;
        out.push((fp, kind, v));
    }
    Ok(out)
}

pub(super) fn last_two(c: &Connection, device_id: i64) -> Result<Vec<Snapshot>> {
    let mut st = c
        .prepare("SELECT id FROM tokens WHERE device_id = ?1 ORDER BY id DESC LIMIT 2")
        .map_err(e)?;
    let ids: Vec<i64> = st
        .query_map([device_id], |r| r.get(0))
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)?;
    let mut out = Vec::new();
    for id in ids {
        let pk: Vec<String> = c
            .prepare_cached(
                "SELECT i.purl FROM tokens t JOIN pkgset_items i ON i.set_id = t.pkgset WHERE t.id = ?1 ORDER BY i.purl",
            )
            .map_err(e)?
            .query_map([id], |r| r.get(0))
            .map_err(e)?
            .collect::<rusqlite::Result<Vec<String>>>()
            .map_err(e)?;
        let mut r = c
            .prepare_cached(
                "SELECT rule, result FROM rule_results WHERE token_id = ?1 ORDER BY rule",
            )
            .map_err(e)?;
        let rs: Vec<(String, u8)> = r
            .query_map([id], |x| Ok((x.get(0)?, x.get::<_, i64>(1)? as u8)))
            .map_err(e)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(e)?;
        out.push((pk, rs));
    }
    Ok(out)
}

pub(super) fn latest_packages(c: &Connection) -> Result<Vec<(i64, Vec<String>)>> {
    // Each package set once, however many devices run it.
    let mut st = c
        .prepare(
            "SELECT id, pkgset FROM devices WHERE status = 'active' AND latest_token IS NOT NULL ORDER BY id",
        )
        .map_err(e)?;
    let devices = st
        .query_map([], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?))
        })
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)?;
    let mut items = c
        .prepare_cached("SELECT purl FROM pkgset_items WHERE set_id = ?1 ORDER BY rowid")
        .map_err(e)?;
    let mut sets: std::collections::HashMap<i64, Vec<String>> = Default::default();
    let mut out = Vec::with_capacity(devices.len());
    for (d, set) in devices {
        let set = set.unwrap_or(-1);
        if let std::collections::hash_map::Entry::Vacant(v) = sets.entry(set) {
            let tags = items
                .query_map([set], |r| r.get(0))
                .map_err(e)?
                .collect::<rusqlite::Result<Vec<String>>>()
                .map_err(e)?;
            v.insert(tags);
        }
        out.push((d, sets[&set].clone()));
    }
    Ok(out)
}

pub(super) fn latest_token(c: &Connection, device_id: i64) -> Result<Option<TokenRow>> {
    c.query_row(
        "SELECT t.id, t.received_at, t.iat, t.seq, t.online, t.raw, t.sbom_digest
             FROM devices d JOIN tokens t ON t.id = d.latest_token WHERE d.id = ?1",
        [device_id],
        |r| {
            Ok(TokenRow {
                id: r.get(0)?,
                received_at: r.get(1)?,
                iat: r.get(2)?,
                seq: r.get(3)?,
                online: r.get::<_, i64>(4)? != 0,
                raw: r.get(5)?,
                sbom_digest: r.get(6)?,
            })
        },
    )
    .optional()
    .map_err(e)
}

pub(super) fn drifting(c: &Connection) -> Result<Vec<i64>> {
    let mut st = c
        .prepare("SELECT id FROM devices WHERE drifting = 1 AND status = 'active' ORDER BY id")
        .map_err(e)?;
    let v = st
        .query_map([], |r| r.get(0))
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<i64>>>()
        .map_err(e)?;
    Ok(v)
}

pub(super) fn aggregates(c: &Connection, silent_before: i64) -> Result<Aggregates> {
    let pairs = |sql: &str| -> Result<Vec<(String, u64)>> {
        let mut st = c.prepare(sql).map_err(e)?;
        let v = st
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(e)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(e)?;
        Ok(v)
    };
    let by_status = pairs("SELECT status, COUNT(*) FROM devices GROUP BY status ORDER BY status")?;
    let failing = pairs("SELECT rule, n FROM agg_failing WHERE n > 0 ORDER BY rule")?;
    let mut st = c
        .prepare("SELECT fr, sl, n FROM agg_ceiling WHERE n > 0 ORDER BY fr, sl")
        .map_err(e)?;
    let ceilings = st
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)? as u8,
                r.get::<_, i64>(2)? as u64,
            ))
        })
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)?;
    let silent: i64 = c
        .query_row("SELECT COUNT(*) FROM devices WHERE status = 'active' AND (last_seen IS NULL OR last_seen < ?1)", [silent_before], |r| r.get(0))
        .map_err(e)?;
    let mut st = c.prepare("SELECT id FROM devices WHERE status = 'active' AND COALESCE(last_seen, 0) < ?1 ORDER BY id LIMIT 100").map_err(e)?;
    let silent_ids = st
        .query_map([silent_before], |r| r.get(0))
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<i64>>>()
        .map_err(e)?;
    let drifting: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM devices WHERE drifting = 1 AND status = 'active'",
            [],
            |r| r.get(0),
        )
        .map_err(e)?;
    Ok(Aggregates {
        by_status,
        failing,
        ceilings,
        silent: silent as u64,
        silent_ids,
        drifting: drifting.max(0) as u64,
    })
}
