//! Documents kept beside the attestations: SBOM bodies (by SHA-256, only
//! when an attestation references them) and imported rule catalogs.

use super::sql::{first, ps, rows, Sql};
use super::Result;

pub(super) fn sbom_referenced(db: &mut dyn Sql, digest: &str) -> Result<bool> {
    Ok(first(
        db,
        "SELECT 1 FROM tokens WHERE sbom_digest = ?1 LIMIT 1",
        ps![digest],
        |_| Ok(()),
    )?
    .is_some())
}

pub(super) fn sbom_exists(db: &mut dyn Sql, digest: &str) -> Result<bool> {
    Ok(first(
        db,
        "SELECT 1 FROM sboms WHERE digest = ?1",
        ps![digest],
        |_| Ok(()),
    )?
    .is_some())
}

/// Stores an SBOM body; false when it was already there.
pub(super) fn put_sbom(db: &mut dyn Sql, digest: &str, body: &[u8], now: i64) -> Result<bool> {
    Ok(db.exec(
        "INSERT INTO sboms (digest, body, received_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        ps![digest, body, now],
    )? == 1)
}

pub(super) fn sbom_body(db: &mut dyn Sql, digest: &str) -> Result<Option<Vec<u8>>> {
    first(
        db,
        "SELECT body FROM sboms WHERE digest = ?1",
        ps![digest],
        |r| r.blob(0),
    )
}

/// Stores an imported catalog, replacing the same version.
pub(super) fn put_catalog(db: &mut dyn Sql, version: &str, body: &str, now: i64) -> Result<()> {
    db.exec(
        "INSERT INTO catalogs (version, body, imported_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (version) DO UPDATE SET body = excluded.body, imported_at = excluded.imported_at",
        ps![version, body, now],
    )?;
    Ok(())
}

pub(super) fn catalogs(db: &mut dyn Sql) -> Result<Vec<String>> {
    rows(db, "SELECT body FROM catalogs ORDER BY version", &[], |r| {
        r.text(0)
    })
}
