//! The claims of a device's latest attestation that matching and
//! prioritisation read row by row: the image's CVE_STATUS entries
//! (`device_cve_status`) and the listening sockets with their packages
//! (`device_listeners`). Replaced in the attestation's own transaction, so
//! they always describe the device's latest token; rewritten only when
//! they changed (a digest per device), so a fleet re-attesting the same
//! image does not rewrite thousands of rows per token.

use super::sql::{first, ps, rows, Dialect, Row, Sql, P};
use super::{Attestation, Result, StoreError};
use fieldattest_protocol::eat;

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
pub(super) fn replace(tx: &mut dyn Sql, a: &Attestation) -> Result<()> {
    put(tx, a.device_id, &a.cve_status, &a.listeners)
}

pub(super) fn put(
    tx: &mut dyn Sql,
    device_id: i64,
    cve: &[DeviceCveStatus],
    listeners: &[DeviceListener],
) -> Result<()> {
    let (old_cve, old_listeners) = first(
        tx,
        "SELECT cve_status_digest, listeners_digest FROM devices WHERE id = ?1",
        ps![device_id],
        |r| Ok((r.opt_blob(0)?, r.opt_blob(1)?)),
    )?
    .ok_or_else(|| StoreError::NotFound(format!("device {device_id}")))?;
    let new_cve = cve_digest(cve);
    if old_cve.as_deref() != Some(new_cve.as_slice()) {
        // The claim has one entry per (cve, component); DO NOTHING keeps a
        // hand-made token's repeat from failing the attestation.
        rewrite(
            tx,
            device_id,
            "device_cve_status",
            "INSERT INTO device_cve_status (device_id, vuln, component, status, detail, description) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT DO NOTHING",
            cve,
            |s| {
                [
                    P::from(&s.vuln),
                    P::from(&s.component),
                    P::from(&s.status),
                    P::from(&s.detail),
                    P::from(&s.description),
                ]
            },
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
            |l| {
                [
                    P::from(&l.proto),
                    P::from(&l.addr),
                    P::I(i64::from(l.port)),
                    P::from(l.process.as_deref()),
                    P::from(l.package.as_deref()),
                ]
            },
        )?;
    }
    tx.exec(
        "UPDATE devices SET cve_status_digest = ?1, listeners_digest = ?2 WHERE id = ?3",
        ps![&new_cve, &new_listeners, device_id],
    )?;
    Ok(())
}

/// Deletes the device's rows of `table` and inserts `rows` through `insert`
/// (the device, then the five values `values` gives).
fn rewrite<T>(
    tx: &mut dyn Sql,
    device_id: i64,
    table: &str,
    insert: &str,
    rows: &[T],
    values: impl for<'r> Fn(&'r T) -> [P<'r>; 5],
) -> Result<()> {
    tx.exec(
        &format!("DELETE FROM {table} WHERE device_id = ?1"),
        ps![device_id],
    )?;
    for r in rows {
        let [a, b, c, d, e] = values(r);
        tx.exec(insert, &[P::I(device_id), a, b, c, d, e])?;
    }
    Ok(())
}

/// Fills the tables for devices whose latest token was stored before the
/// migration that adds them: the stored token is decoded again (it was
/// verified when it arrived). A token that no longer decodes leaves the
/// device without rows until its next attestation.
pub(super) fn backfill(db: &mut dyn Sql) -> Result<()> {
    let latest = rows(
        db,
        "SELECT d.id, t.raw FROM devices d JOIN tokens t ON t.id = d.latest_token ORDER BY d.id",
        &[],
        |r| Ok((r.i64(0)?, r.blob(1)?)),
    )?;
    for (device, raw) in latest {
        let Ok((sign1, _)) = fieldattest_protocol::token::parse(&raw) else {
            continue;
        };
        let Ok(claims) = eat::decode(sign1.payload.as_deref().unwrap_or_default()) else {
            continue;
        };
        let (cve, listeners) = of_claims(&claims);
        put(db, device, &cve, &listeners)?;
    }
    Ok(())
}

fn cve_row(r: &dyn Row, at: usize) -> Result<DeviceCveStatus> {
    Ok(DeviceCveStatus {
        vuln: r.text(at)?,
        component: r.text(at + 1)?,
        status: r.text(at + 2)?,
        detail: r.text(at + 3)?,
        description: r.text(at + 4)?,
    })
}

fn listener_row(r: &dyn Row, at: usize) -> Result<DeviceListener> {
    let port = r.i64(at + 2)?;
    Ok(DeviceListener {
        proto: r.text(at)?,
        addr: r.text(at + 1)?,
        port: u16::try_from(port)
            .map_err(|_| StoreError::Database(format!("listener port {port} out of range")))?,
        process: r.opt_text(at + 3)?,
        package: r.opt_text(at + 4)?,
    })
}

const CVE_COLS: &str = "vuln, component, status, detail, description";
const LISTENER_COLS: &str = "proto, addr, port, process, package";

/// The CVE_STATUS entries of a device's latest attestation, by component and CVE.
pub(super) fn device_cve_status(db: &mut dyn Sql, device_id: i64) -> Result<Vec<DeviceCveStatus>> {
    rows(
        db,
        &format!(
            "SELECT {CVE_COLS} FROM device_cve_status WHERE device_id = ?1 ORDER BY component, vuln"
        ),
        ps![device_id],
        |r| cve_row(r, 0),
    )
}

/// Every device's CVE_STATUS entries (for matching), by device.
pub(super) fn cve_status_all(db: &mut dyn Sql) -> Result<Vec<(i64, DeviceCveStatus)>> {
    rows(
        db,
        &format!(
            "SELECT device_id, {CVE_COLS} FROM device_cve_status ORDER BY device_id, component, vuln"
        ),
        &[],
        |r| Ok((r.i64(0)?, cve_row(r, 1)?)),
    )
}

/// The listeners of a device's latest attestation, by port.
pub(super) fn device_listeners(db: &mut dyn Sql, device_id: i64) -> Result<Vec<DeviceListener>> {
    rows(
        db,
        &format!(
            "SELECT {LISTENER_COLS} FROM device_listeners WHERE device_id = ?1 ORDER BY port, proto, addr"
        ),
        ps![device_id],
        |r| listener_row(r, 0),
    )
}

/// Devices that listen alike: (package set, listeners digest, one device,
/// how many).
pub type ListeningGroup = (i64, Vec<u8>, i64, u64);

/// Active devices with a package set and recorded listeners, of a site or
/// all, grouped by package set and listeners digest (devices with equal
/// digests listen alike): (package set, digest, one device, how many).
pub(super) fn listening_groups(
    db: &mut dyn Sql,
    site: Option<&str>,
) -> Result<Vec<ListeningGroup>> {
    let sql = match db.dialect() {
        // `+status`: read through the covering index `devices_sets` (a
        // SQLite planner hint; PostgreSQL has no unary plus on text, and
        // needs the type of `?1`, which `IS NULL` does not give).
        Dialect::Sqlite => {
            "SELECT pkgset, listeners_digest, MIN(id), COUNT(*) FROM devices
          WHERE pkgset IS NOT NULL AND +status = 'active' AND listeners_digest IS NOT NULL
            AND (?1 IS NULL OR site = ?1)
          GROUP BY pkgset, listeners_digest"
        }
        Dialect::Postgres => {
            "SELECT pkgset, listeners_digest, MIN(id), COUNT(*) FROM devices
          WHERE pkgset IS NOT NULL AND status = 'active' AND listeners_digest IS NOT NULL
            AND (CAST(?1 AS TEXT) IS NULL OR site = ?1)
          GROUP BY pkgset, listeners_digest"
        }
    };
    rows(db, sql, ps![site], |r| {
        Ok((r.i64(0)?, r.blob(1)?, r.i64(2)?, r.i64(3)?.max(0) as u64))
    })
}

/// A device's package set and listeners digest (when it has both).
pub(super) fn listening_of(db: &mut dyn Sql, device: i64) -> Result<Option<(i64, Vec<u8>)>> {
    first(
        db,
        "SELECT pkgset, listeners_digest FROM devices
          WHERE id = ?1 AND pkgset IS NOT NULL AND listeners_digest IS NOT NULL",
        ps![device],
        |r| Ok((r.i64(0)?, r.blob(1)?)),
    )
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::devices::insert_device;
    use super::super::sql::cluster::on_both;
    use super::*;

    fn cve(vuln: &str, component: &str, status: &str, detail: &str) -> DeviceCveStatus {
        DeviceCveStatus {
            vuln: vuln.into(),
            component: component.into(),
            status: status.into(),
            detail: detail.into(),
            description: format!("why {vuln}"),
        }
    }

    fn listener(proto: &str, port: u16, package: Option<&str>) -> DeviceListener {
        DeviceListener {
            proto: proto.into(),
            addr: "0.0.0.0".into(),
            port,
            process: package.map(|p| format!("{p} (pid 1)")),
            package: package.map(str::to_string),
        }
    }

    /// An attestation of `device` carrying only these claims (seq 1).
    pub(in crate::store) fn attestation(
        device: i64,
        cve_status: Vec<DeviceCveStatus>,
        listeners: Vec<DeviceListener>,
    ) -> Attestation {
        Attestation {
            device_id: device,
            received_at: 1,
            iat: 1,
            seq: 1,
            cti: vec![1; 16],
            raw: vec![],
            online: true,
            results: vec![],
            packages: vec![],
            keys: vec![],
            sl_ceiling: vec![],
            kid: vec![],
            audit_reason: String::new(),
            sbom_digest: None,
            ceiling_dispute: None,
            hostname: None,
            key_tier: None,
            findings: vec![],
            cve_status,
            listeners,
        }
    }

    #[test]
    fn claims_are_stored_read_and_rewritten_only_when_they_change() {
        on_both(|db| {
            let d1 = insert_device(db, b"k1", b"u1", b"p", "a", 1).unwrap();
            let d2 = insert_device(db, b"k2", b"u2", b"p", "b", 1).unwrap();
            let d3 = insert_device(db, b"k3", b"u3", b"p", "a", 1).unwrap();
            let c = vec![
                cve("CVE-2", "openssl", "Patched", "backported-patch"),
                cve("CVE-1", "openssl", "Ignored", "not-applicable-config"),
                cve("CVE-9", "busybox", "Unpatched", ""),
                // A hand-made repeat of (cve, component) is dropped, not refused.
                cve("CVE-9", "busybox", "Patched", "again"),
            ];
            let l = vec![
                listener("udp", 161, None),
                listener("tcp", 502, Some("plc-runtime")),
                listener("tcp", 22, Some("openssh")),
            ];
            put(db, d1, &c, &l).unwrap();
            assert_eq!(
                device_cve_status(db, d1).unwrap(),
                vec![c[2].clone(), c[1].clone(), c[0].clone()]
            );
            assert_eq!(
                device_listeners(db, d1).unwrap(),
                vec![l[2].clone(), l[0].clone(), l[1].clone()]
            );
            assert_eq!(device_cve_status(db, d2).unwrap(), vec![]);
            assert_eq!(device_listeners(db, d2).unwrap(), vec![]);
            // Through the attestation path's entry point.
            replace(db, &attestation(d2, vec![c[0].clone()], l.clone())).unwrap();
            assert_eq!(
                cve_status_all(db).unwrap(),
                vec![
                    (d1, c[2].clone()),
                    (d1, c[1].clone()),
                    (d1, c[0].clone()),
                    (d2, c[0].clone())
                ]
            );
            assert_eq!(device_listeners(db, d2).unwrap().len(), 3);
            // The same claims again: the rows are left as they are (a row
            // removed behind the store's back stays removed) ...
            db.exec(
                "DELETE FROM device_listeners WHERE device_id = ?1 AND port = 22",
                ps![d1],
            )
            .unwrap();
            put(db, d1, &c, &l).unwrap();
            assert_eq!(device_listeners(db, d1).unwrap().len(), 2);
            // ... other claims replace them, each table on its own.
            let l2 = vec![listener("tcp", 443, Some("lighttpd"))];
            replace(db, &attestation(d1, c.clone(), l2.clone())).unwrap();
            assert_eq!(device_listeners(db, d1).unwrap(), l2);
            assert_eq!(device_cve_status(db, d1).unwrap().len(), 3);
            replace(db, &attestation(d1, vec![], l2.clone())).unwrap();
            assert_eq!(device_cve_status(db, d1).unwrap(), vec![]);
            assert_eq!(device_listeners(db, d1).unwrap(), l2);
            assert!(put(db, 9999, &c, &l).is_err(), "no such device");

            // Listening groups: active devices with a package set and
            // listeners, by (set, digest), of a site or all.
            assert_eq!(listening_of(db, d1).unwrap(), None, "no package set yet");
            replace(db, &attestation(d3, vec![], l.clone())).unwrap();
            db.exec(
                "UPDATE devices SET status = 'active', pkgset = 7 WHERE id IN (?1, ?2, ?3)",
                ps![d1, d2, d3],
            )
            .unwrap();
            let (dl, dl2) = (listeners_digest(&l), listeners_digest(&l2));
            assert_eq!(listening_of(db, d1).unwrap(), Some((7, dl2.clone())));
            assert_eq!(listening_of(db, d3).unwrap(), Some((7, dl.clone())));
            assert_eq!(listening_of(db, 9999).unwrap(), None);
            let mut all = listening_groups(db, None).unwrap();
            all.sort();
            let mut want = vec![(7, dl.clone(), d2, 2), (7, dl2.clone(), d1, 1)];
            want.sort();
            assert_eq!(all, want);
            let mut a = listening_groups(db, Some("a")).unwrap();
            a.sort();
            let mut want = vec![(7, dl.clone(), d3, 1), (7, dl2, d1, 1)];
            want.sort();
            assert_eq!(a, want);
            assert_eq!(listening_groups(db, Some("nowhere")).unwrap(), vec![]);
            db.exec(
                "UPDATE devices SET status = 'revoked' WHERE id = ?1",
                ps![d2],
            )
            .unwrap();
            assert_eq!(
                listening_groups(db, Some("b")).unwrap(),
                vec![],
                "active devices only"
            );
        });
    }

    /// A token as a device signs it (the signature is not checked here).
    fn raw_token(
        seq: u64,
        cve: &[(&str, &str, &str, &str)],
        listeners: &[(u16, Option<&str>)],
    ) -> Vec<u8> {
        let c = eat::Claims {
            iat: 1,
            cti: vec![seq as u8; 16],
            ueid: [vec![1], vec![7; 16]].concat(),
            intuse: 1,
            seq,
            cve_status: cve
                .iter()
                .map(|(id, comp, st, detail)| {
                    eat::CveStatus::bounded(id, comp, st, detail, &format!("why {id}")).unwrap()
                })
                .collect(),
            listeners: listeners
                .iter()
                .map(|(port, pkg)| {
                    eat::Listener::bounded(
                        "tcp",
                        "0.0.0.0",
                        *port,
                        pkg.map(|p| format!("{p} (pid 1)")).as_deref(),
                    )
                    .with_package(*pkg)
                })
                .collect(),
            ..Default::default()
        };
        fieldattest_protocol::token::sign(&c, b"kid", |_| Ok::<_, ()>(vec![0; 64])).unwrap()
    }

    #[test]
    fn backfill_decodes_each_devices_latest_token() {
        on_both(|db| {
            let d1 = insert_device(db, b"k1", b"u1", b"p", "a", 1).unwrap();
            let d2 = insert_device(db, b"k2", b"u2", b"p", "a", 1).unwrap();
            let d3 = insert_device(db, b"k3", b"u3", b"p", "a", 1).unwrap();
            let tokens = [
                (
                    d1,
                    1,
                    raw_token(1, &[("CVE-1", "coreutils", "Ignored", "disputed")], &[]),
                ),
                (
                    d1,
                    2,
                    raw_token(
                        2,
                        &[("CVE-2", "openssl", "Patched", "backported-patch")],
                        &[(443, Some("lighttpd"))],
                    ),
                ),
                (d2, 1, b"not a token".to_vec()),
            ];
            for (device, seq, raw) in &tokens {
                let t = first(
                    db,
                    "INSERT INTO tokens (device_id, received_at, iat, seq, cti, raw, online) VALUES (?1, 1, 1, ?2, ?3, ?4, 0) RETURNING id",
                    ps![*device, *seq, vec![*seq as u8].as_slice(), raw],
                    |r| r.i64(0),
                )
                .unwrap()
                .unwrap();
                db.exec(
                    "UPDATE devices SET latest_token = ?1 WHERE id = ?2",
                    ps![t, *device],
                )
                .unwrap();
            }
            backfill(db).unwrap();
            // Only the latest token counts; one that no longer decodes, and
            // a device without a token, leave no rows.
            assert_eq!(
                cve_status_all(db).unwrap(),
                vec![(d1, cve("CVE-2", "openssl", "Patched", "backported-patch"))]
            );
            assert_eq!(
                device_listeners(db, d1).unwrap(),
                vec![listener("tcp", 443, Some("lighttpd"))]
            );
            assert_eq!(device_listeners(db, d2).unwrap(), vec![]);
            assert_eq!(device_listeners(db, d3).unwrap(), vec![]);
            // of_claims, as the backfill read them.
            let (sign1, _) = fieldattest_protocol::token::parse(&tokens[1].2).unwrap();
            let claims = eat::decode(sign1.payload.as_deref().unwrap()).unwrap();
            let (c, l) = of_claims(&claims);
            assert_eq!(c, device_cve_status(db, d1).unwrap());
            assert_eq!(l, device_listeners(db, d1).unwrap());
        });
    }
}
