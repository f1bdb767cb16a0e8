//! The claims of a device's latest attestation that matching and
//! prioritisation read row by row: the image's CVE_STATUS entries
//! (`device_cve_status`) and the listening sockets with their packages
//! (`device_listeners`). Replaced in the attestation's own transaction, so
//! they always describe the device's latest token; rewritten only when
//! they changed (a digest per device), so a fleet re-attesting the same
//! image does not rewrite thousands of rows per token.

use super::{e, Attestation, Result};
use fieldattest_protocol::eat;
use rusqlite::{params, params_from_iter, Connection, ToSql};

/// One CVE_STATUS entry of a device's image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCveStatus {
    pub vuln: String,
    /// The recipe (Yocto `PN`) the entry concerns.
    pub component: String,
    /// OE-core's mapped status: `Patched`, `Ignored`, `Unpatched`.
    pub status: String,
    /// The CVE_STATUS key (`fixed-version`, `not-applicable-config`, ...).
    pub detail: String,
    pub description: String,
}

/// A listening socket of a device and the package owning its process.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceListener {
    pub proto: String,
    pub addr: String,
    pub port: u16,
    pub process: Option<String>,
    pub package: Option<String>,
}

/// The rows of a verified claims set.
pub fn of_claims(c: &eat::Claims) -> (Vec<DeviceCveStatus>, Vec<DeviceListener>) {
    (
        c.cve_status
            .iter()
            .filter_map(|s| {
                Some(DeviceCveStatus {
                    vuln: s.cve.clone(),
                    component: s.component.clone(),
                    status: eat::cve_status_name(s.status)?.to_string(),
                    detail: s.detail.clone(),
                    description: s.description.clone(),
                })
            })
            .collect(),
        c.listeners
            .iter()
            .map(|l| DeviceListener {
                proto: l.proto.clone(),
                addr: l.addr.clone(),
                port: l.port,
                process: l.process.clone(),
                package: l.package.clone(),
            })
            .collect(),
    )
}

/// SHA-256 over the rows, each field preceded by its length (`u64::MAX`
/// for an absent one), so that no hostile text can move a field boundary.
fn digest<'a>(rows: impl Iterator<Item = Vec<Option<&'a str>>>) -> Vec<u8> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for r in rows {
        ctx.update(&(r.len() as u64).to_be_bytes());
        for f in r {
            match f {
                Some(f) => {
                    ctx.update(&(f.len() as u64).to_be_bytes());
                    ctx.update(f.as_bytes());
                }
                None => ctx.update(&u64::MAX.to_be_bytes()),
            }
        }
    }
    ctx.finish().as_ref().to_vec()
}

fn cve_digest(v: &[DeviceCveStatus]) -> Vec<u8> {
    digest(v.iter().map(|s| {
        vec![
            Some(s.vuln.as_str()),
            Some(&s.component),
            Some(&s.status),
            Some(&s.detail),
            Some(&s.description),
        ]
    }))
}

fn listeners_digest(v: &[DeviceListener]) -> Vec<u8> {
    let ports: Vec<String> = v.iter().map(|l| l.port.to_string()).collect();
    digest(v.iter().zip(&ports).map(|(l, port)| {
        vec![
            Some(l.proto.as_str()),
            Some(&l.addr),
            Some(port),
            l.process.as_deref(),
            l.package.as_deref(),
        ]
    }))
}

/// Replaces the device's rows with the attestation's, inside the caller's
/// transaction (the one that stores the token); a table whose rows did not
/// change is left as it is.
pub(super) fn replace(tx: &Connection, a: &Attestation) -> Result<()> {
    put(tx, a.device_id, &a.cve_status, &a.listeners)
}

pub(super) fn put(
    tx: &Connection,
    device_id: i64,
    cve: &[DeviceCveStatus],
    listeners: &[DeviceListener],
) -> Result<()> {
    let (old_cve, old_listeners): (Option<Vec<u8>>, Option<Vec<u8>>) = tx
        .prepare_cached("SELECT cve_status_digest, listeners_digest FROM devices WHERE id = ?1")
        .map_err(e)?
        .query_row([device_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(e)?;
    let new_cve = cve_digest(cve);
    if old_cve.as_deref() != Some(new_cve.as_slice()) {
        // The claim has one entry per (cve, component); OR IGNORE keeps a
        // hand-made token's repeat from failing the attestation.
        rewrite(
            tx,
            device_id,
            "device_cve_status",
            "INSERT OR IGNORE INTO device_cve_status (device_id, vuln, component, status, detail, description) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            cve,
            |s| [&s.vuln, &s.component, &s.status, &s.detail, &s.description],
        )?;
    }
    let new_listeners = listeners_digest(listeners);
    if old_listeners.as_deref() != Some(new_listeners.as_slice()) {
        rewrite(
            tx,
            device_id,
            "device_listeners",
            "INSERT INTO device_listeners (device_id, proto, addr, port, process, package) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            listeners,
            |l| [&l.proto, &l.addr, &l.port, &l.process, &l.package],
        )?;
    }
    tx.prepare_cached(
        "UPDATE devices SET cve_status_digest = ?1, listeners_digest = ?2 WHERE id = ?3",
    )
    .map_err(e)?
    .execute(params![new_cve, new_listeners, device_id])
    .map_err(e)?;
    Ok(())
}

/// Deletes the device's rows of `table` and inserts `rows` through `insert`
/// (the device, then the five values `values` gives).
fn rewrite<T>(
    tx: &Connection,
    device_id: i64,
    table: &str,
    insert: &str,
    rows: &[T],
    values: impl Fn(&T) -> [&dyn ToSql; 5],
) -> Result<()> {
    tx.prepare_cached(&format!("DELETE FROM {table} WHERE device_id = ?1"))
        .map_err(e)?
        .execute([device_id])
        .map_err(e)?;
    let mut st = tx.prepare_cached(insert).map_err(e)?;
    for r in rows {
        let v = values(r);
        st.execute(params_from_iter(
            std::iter::once(&device_id as &dyn ToSql).chain(v),
        ))
        .map_err(e)?;
    }
    Ok(())
}

/// Fills the tables for devices whose latest token was stored before the
/// migration that adds them: the stored token is decoded again (it was
/// verified when it arrived). A token that no longer decodes leaves the
/// device without rows until its next attestation.
pub(super) fn backfill(c: &Connection) -> Result<()> {
    let latest: Vec<(i64, Vec<u8>)> = c
        .prepare(
            "SELECT d.id, t.raw FROM devices d JOIN tokens t ON t.id = d.latest_token ORDER BY d.id",
        )
        .map_err(e)?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(e)?
        .collect::<rusqlite::Result<_>>()
        .map_err(e)?;
    for (device, raw) in latest {
        let Ok((sign1, _)) = fieldattest_protocol::token::parse(&raw) else {
            continue;
        };
        let Ok(claims) = eat::decode(sign1.payload.as_deref().unwrap_or_default()) else {
            continue;
        };
        let (cve, listeners) = of_claims(&claims);
        put(c, device, &cve, &listeners)?;
    }
    Ok(())
}

fn cve_row(r: &rusqlite::Row, at: usize) -> rusqlite::Result<DeviceCveStatus> {
    Ok(DeviceCveStatus {
        vuln: r.get(at)?,
        component: r.get(at + 1)?,
        status: r.get(at + 2)?,
        detail: r.get(at + 3)?,
        description: r.get(at + 4)?,
    })
}

fn listener_row(r: &rusqlite::Row, at: usize) -> rusqlite::Result<DeviceListener> {
    Ok(DeviceListener {
        proto: r.get(at)?,
        addr: r.get(at + 1)?,
        port: r.get(at + 2)?,
        process: r.get(at + 3)?,
        package: r.get(at + 4)?,
    })
}

const CVE_COLS: &str = "vuln, component, status, detail, description";
const LISTENER_COLS: &str = "proto, addr, port, process, package";

/// The rows of `sql`, each mapped by `f`.
fn query<T>(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    c.prepare_cached(sql)
        .map_err(e)?
        .query_map(params, f)
        .map_err(e)?
        .collect::<rusqlite::Result<_>>()
        .map_err(e)
}

/// The CVE_STATUS entries of a device's latest attestation, by component and CVE.
pub(super) fn device_cve_status(
    c: &mut Connection,
    device_id: i64,
) -> Result<Vec<DeviceCveStatus>> {
    let sql = format!(
        "SELECT {CVE_COLS} FROM device_cve_status WHERE device_id = ?1 ORDER BY component, vuln"
    );
    query(c, &sql, [device_id], |r| cve_row(r, 0))
}

/// Every device's CVE_STATUS entries (for matching), by device.
pub(super) fn cve_status_all(c: &mut Connection) -> Result<Vec<(i64, DeviceCveStatus)>> {
    let sql = format!(
        "SELECT device_id, {CVE_COLS} FROM device_cve_status ORDER BY device_id, component, vuln"
    );
    query(c, &sql, [], |r| Ok((r.get(0)?, cve_row(r, 1)?)))
}

/// The listeners of a device's latest attestation, by port.
pub(super) fn device_listeners(c: &mut Connection, device_id: i64) -> Result<Vec<DeviceListener>> {
    let sql = format!(
        "SELECT {LISTENER_COLS} FROM device_listeners WHERE device_id = ?1 ORDER BY port, proto, addr"
    );
    query(c, &sql, [device_id], |r| listener_row(r, 0))
}

/// Devices that listen alike: (package set, listeners digest, one device,
/// how many).
pub type ListeningGroup = (i64, Vec<u8>, i64, u64);

/// Active devices with a package set and recorded listeners, of a site or
/// all, grouped by package set and listeners digest (devices with equal
/// digests listen alike): (package set, digest, one device, how many).
pub(super) fn listening_groups(
    c: &mut Connection,
    site: Option<&str>,
) -> Result<Vec<ListeningGroup>> {
    query(
        c,
        // `+status`: read through the covering index `devices_sets`.
        "SELECT pkgset, listeners_digest, MIN(id), COUNT(*) FROM devices
          WHERE pkgset IS NOT NULL AND +status = 'active' AND listeners_digest IS NOT NULL
            AND (?1 IS NULL OR site = ?1)
          GROUP BY pkgset, listeners_digest",
        [site],
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get::<_, i64>(3)?.max(0) as u64,
            ))
        },
    )
}

/// A device's package set and listeners digest (when it has both).
pub(super) fn listening_of(c: &mut Connection, device: i64) -> Result<Option<(i64, Vec<u8>)>> {
    Ok(query(
        c,
        "SELECT pkgset, listeners_digest FROM devices
          WHERE id = ?1 AND pkgset IS NOT NULL AND listeners_digest IS NOT NULL",
        [device],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?
    .pop())
}
