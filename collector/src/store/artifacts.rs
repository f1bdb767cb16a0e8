//! Documents kept beside the attestations: SBOM bodies (by SHA-256, only
//! when an attestation references them) and imported rule catalogs.

use super::{e, Result};
use rusqlite::{params, Connection, OptionalExtension};

pub(super) fn sbom_referenced(c: &Connection, digest: &str) -> Result<bool> {
    Ok(c.query_row(
        "SELECT 1 FROM tokens WHERE sbom_digest = ?1 LIMIT 1",
        [digest],
        |_| Ok(()),
    )
    .optional()
    .map_err(e)?
    .is_some())
}

pub(super) fn sbom_exists(c: &Connection, digest: &str) -> Result<bool> {
    Ok(c.query_row(
        "SELECT 1 FROM sboms WHERE digest = ?1",
        [digest],
        |_| Ok(()),
    )
    .optional()
    .map_err(e)?
    .is_some())
}

pub(super) fn put_sbom(c: &Connection, digest: &str, body: &[u8], now: i64) -> Result<bool> {
    Ok(c.execute(
        "INSERT OR IGNORE INTO sboms (digest, body, received_at) VALUES (?1, ?2, ?3)",
        params![digest, body, now],
    )
    .map_err(e)?
        == 1)
}

pub(super) fn sbom_body(c: &Connection, digest: &str) -> Result<Option<Vec<u8>>> {
    c.query_row("SELECT body FROM sboms WHERE digest = ?1", [digest], |r| {
        r.get(0)
    })
    .optional()
    .map_err(e)
}

pub(super) fn put_catalog(c: &Connection, version: &str, body: &str, now: i64) -> Result<()> {
    c.execute(
        "INSERT OR REPLACE INTO catalogs (version, body, imported_at) VALUES (?1, ?2, ?3)",
        params![version, body, now],
    )
    .map_err(e)?;
    Ok(())
}

pub(super) fn catalogs(c: &Connection) -> Result<Vec<String>> {
    let mut st = c
        .prepare_cached("SELECT body FROM catalogs ORDER BY version")
        .map_err(e)?;
    let v = st
        .query_map([], |r| r.get(0))
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<String>>>()
        .map_err(e)?;
    Ok(v)
}
