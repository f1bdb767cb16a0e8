//! Vulnerability data: OSV advisories keyed by (ecosystem, package) and the
//! operator's VEX statements. CPE-based advisories merged from NVD and
//! CVE 5 records (`feeds.rs`) are written here too, with the source
//! `feeds:FILE`.

use super::sql::{first, ps, rows, transaction, Sql};
use super::{PutAdvisory, Result, VexEntry};

pub(super) fn put_advisory(
    db: &mut dyn Sql,
    id: &str,
    modified: &str,
    keys: &[(String, String)],
    raw: &str,
    source: &str,
    now: i64,
) -> Result<PutAdvisory> {
    transaction(db, |db| {
        let old = first(
            db,
            "SELECT modified FROM advisories WHERE id = ?1",
            ps![id],
            |r| r.text(0),
        )?;
        if old.as_deref() == Some(modified) {
            return Ok(PutAdvisory::Unchanged);
        }
        write_advisory(db, id, modified, keys, raw, source, now)?;
        Ok(if old.is_some() {
            PutAdvisory::Updated
        } else {
            PutAdvisory::New
        })
    })
}

/// Replaces an advisory and its (ecosystem, package) keys.
pub(super) fn write_advisory(
    db: &mut dyn Sql,
    id: &str,
    modified: &str,
    keys: &[(String, String)],
    raw: &str,
    source: &str,
    now: i64,
) -> Result<()> {
    db.exec(
        "DELETE FROM advisory_packages WHERE advisory_id = ?1",
        ps![id],
    )?;
    db.exec(
        "INSERT INTO advisories (id, modified, imported_at, source, raw) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET modified = excluded.modified, imported_at = excluded.imported_at,
           source = excluded.source, raw = excluded.raw",
        ps![id, modified, now, source, raw],
    )?;
    for (eco, name) in keys {
        db.exec(
            "INSERT INTO advisory_packages (advisory_id, ecosystem, name) VALUES (?1, ?2, ?3)",
            ps![id, eco, name],
        )?;
    }
    Ok(())
}

pub(super) fn advisories_for(
    db: &mut dyn Sql,
    ecosystem: &str,
    name: &str,
) -> Result<Vec<(String, String)>> {
    rows(
        db,
        "SELECT DISTINCT a.id, a.raw FROM advisory_packages p JOIN advisories a ON a.id = p.advisory_id
         WHERE p.ecosystem = ?1 AND p.name = ?2 ORDER BY a.id",
        ps![ecosystem, name],
        |r| Ok((r.text(0)?, r.text(1)?)),
    )
}

pub(super) fn advisory_stats(db: &mut dyn Sql) -> Result<(u64, Option<i64>)> {
    Ok(first(
        db,
        "SELECT count(*), max(imported_at) FROM advisories",
        &[],
        |r| Ok((r.i64(0)?.max(0) as u64, r.opt_i64(1)?)),
    )?
    .unwrap_or((0, None)))
}

/// Records a VEX statement (replacing the same vulnerability and scope);
/// the devices it touches are recounted.
pub(super) fn set_vex(db: &mut dyn Sql, v: &VexEntry) -> Result<()> {
    db.exec(
        "INSERT INTO vex (vuln, device_id, status, justification, detail, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (vuln, device_id) DO UPDATE SET status = excluded.status,
           justification = excluded.justification, detail = excluded.detail, at = excluded.at",
        ps![&v.vuln, v.device_id.unwrap_or(0), &v.status, v.justification.as_deref(), v.detail.as_deref(), v.at],
    )?;
    if let Some(d) = v.device_id {
        db.exec("UPDATE devices SET excepted = 1 WHERE id = ?1", ps![d])?;
    }
    super::console::recount(db, v.device_id, Some(&v.vuln))
}

pub(super) fn vex_entries(db: &mut dyn Sql) -> Result<Vec<VexEntry>> {
    rows(
        db,
        "SELECT vuln, device_id, status, justification, detail, at FROM vex ORDER BY vuln, device_id",
        &[],
        |r| {
            let d = r.i64(1)?;
            Ok(VexEntry {
                vuln: r.text(0)?,
                device_id: (d != 0).then_some(d),
                status: r.text(2)?,
                justification: r.opt_text(3)?,
                detail: r.opt_text(4)?,
                at: r.i64(5)?,
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::super::devices::insert_device;
    use super::super::sql::cluster::on_both;
    use super::*;

    /// Advisories by key, and a VEX statement recounting a device's open
    /// vulnerabilities through the open-match expression (`console::OPEN`,
    /// `instr` included) on both engines.
    #[test]
    fn advisories_and_vex_recount_on_both_engines() {
        on_both(|db| {
            let keys = vec![("Debian".to_string(), "openssl".to_string())];
            assert_eq!(
                put_advisory(db, "DSA-1", "m1", &keys, "{}", "osv", 1).unwrap(),
                PutAdvisory::New
            );
            assert_eq!(
                put_advisory(db, "DSA-1", "m1", &keys, "{}", "osv", 2).unwrap(),
                PutAdvisory::Unchanged
            );
            assert_eq!(
                put_advisory(db, "DSA-1", "m2", &keys, "{\"x\":1}", "osv", 3).unwrap(),
                PutAdvisory::Updated
            );
            assert_eq!(
                advisories_for(db, "Debian", "openssl").unwrap(),
                vec![("DSA-1".to_string(), "{\"x\":1}".to_string())]
            );
            assert_eq!(advisory_stats(db).unwrap(), (1, Some(3)));
            // A device on a package set with two matches: two open, then
            // one closed by the operator's statement for the device.
            let d = insert_device(db, b"k", b"u", b"p", "x", 1).unwrap();
            db.exec(
                "INSERT INTO pkgsets (id, digest, n) VALUES (7, ?1, 1)",
                ps![b"d".as_slice()],
            )
            .unwrap();
            for v in ["CVE-1", "CVE-2"] {
                db.exec(
                    "INSERT INTO pkgset_vulns (set_id, vuln, component, ecosystem, packages, version, aliases)
                     VALUES (7, ?1, 'openssl', 'Debian', 'libssl3,openssl', '3.0', 'DSA-1')",
                    ps![v],
                )
                .unwrap();
            }
            db.exec(
                "UPDATE devices SET pkgset = 7, latest_token = NULL WHERE id = ?1",
                ps![d],
            )
            .unwrap();
            super::super::console::recount(db, Some(d), None).unwrap();
            let open = |db: &mut dyn Sql| {
                first(
                    db,
                    "SELECT vulns_open FROM devices WHERE id = ?1",
                    ps![d],
                    |r| r.i64(0),
                )
                .unwrap()
            };
            assert_eq!(open(db), Some(2));
            let v = VexEntry {
                vuln: "CVE-1".into(),
                device_id: Some(d),
                status: "not_affected".into(),
                justification: Some("code_not_reachable".into()),
                detail: None,
                at: 5,
            };
            set_vex(db, &v).unwrap();
            assert_eq!(open(db), Some(1));
            assert_eq!(vex_entries(db).unwrap(), vec![v]);
        });
    }
}
