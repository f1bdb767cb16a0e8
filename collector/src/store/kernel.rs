//! Kernel configurations and the Kbuild map (ISSUE18: kernel CVEs in code
//! not built): imported configurations by the SHA-256 of the file as a
//! device reports it (a `config.gz` is held under both its own digest and
//! that of its text), and the map of which source file is built under
//! which symbols (`vuln::kbuild`), replaced whole by each import.

use super::{e, Result};
use rusqlite::{params, Connection, OptionalExtension};

/// Stores a configuration's enabled symbols (newline-separated) under each
/// of `digests`; true when one of them was new or held other symbols.
pub(super) fn put_kernel_config(
    c: &mut Connection,
    digests: &[String],
    symbols: &str,
    origin: &str,
    now: i64,
) -> Result<bool> {
    let tx = c.transaction().map_err(e)?;
    let mut changed = false;
    for d in digests {
        let held: Option<String> = tx
            .query_row(
                "SELECT symbols FROM kernel_configs WHERE digest = ?1",
                [d],
                |r| r.get(0),
            )
            .optional()
            .map_err(e)?;
        if held.as_deref() != Some(symbols) {
            changed = true;
            tx.execute(
                "INSERT OR REPLACE INTO kernel_configs (digest, symbols, origin, imported_at) VALUES (?1, ?2, ?3, ?4)",
                params![d, symbols, origin, now],
            )
            .map_err(e)?;
        }
    }
    tx.commit().map_err(e)?;
    Ok(changed)
}

/// The enabled symbols of the configuration with this digest.
pub(super) fn kernel_config(c: &mut Connection, digest: &str) -> Result<Option<String>> {
    c.prepare_cached("SELECT symbols FROM kernel_configs WHERE digest = ?1")
        .map_err(e)?
        .query_row([digest], |r| r.get(0))
        .optional()
        .map_err(e)
}

/// Replaces the Kbuild map: (source stem, conditions — alternatives
/// joined by `|`, symbols by `&`, "" for always — or `None` unknown).
pub(super) fn put_kbuild(c: &mut Connection, files: &[(String, Option<String>)]) -> Result<()> {
    let tx = c.transaction().map_err(e)?;
    tx.execute("DELETE FROM kernel_files", []).map_err(e)?;
    {
        let mut st = tx
            .prepare("INSERT OR REPLACE INTO kernel_files (stem, conds) VALUES (?1, ?2)")
            .map_err(e)?;
        for (stem, conds) in files {
            st.execute(params![stem, conds]).map_err(e)?;
        }
    }
    tx.commit().map_err(e)
}

/// The whole Kbuild map, as [`put_kbuild`] stored it.
pub(super) fn kbuild_map(c: &mut Connection) -> Result<Vec<(String, Option<String>)>> {
    let mut st = c
        .prepare("SELECT stem, conds FROM kernel_files")
        .map_err(e)?;
    let v = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(e)?
        .collect::<rusqlite::Result<_>>()
        .map_err(e)?;
    Ok(v)
}
