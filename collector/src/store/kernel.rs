//! Kernel configurations and the Kbuild map (ISSUE18: kernel CVEs in code
//! not built): imported configurations by the SHA-256 of the file as a
//! device reports it (a `config.gz` is held under both its own digest and
//! that of its text), and the map of which source file is built under
//! which symbols (`vuln::kbuild`), replaced whole by each import.

use super::sql::{first, ps, rows, transaction, Sql};
use super::Result;

/// Stores a configuration's enabled symbols (newline-separated) under each
/// of `digests`; true when one of them was new or held other symbols.
pub(super) fn put_kernel_config(
    db: &mut dyn Sql,
    digests: &[String],
    symbols: &str,
    origin: &str,
    now: i64,
) -> Result<bool> {
    transaction(db, |db| {
        let mut changed = false;
        for d in digests {
            let held = first(
                db,
                "SELECT symbols FROM kernel_configs WHERE digest = ?1",
                ps![d],
                |r| r.text(0),
            )?;
            if held.as_deref() != Some(symbols) {
                changed = true;
                db.exec(
                    "INSERT INTO kernel_configs (digest, symbols, origin, imported_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (digest) DO UPDATE SET symbols = excluded.symbols, origin = excluded.origin,
                       imported_at = excluded.imported_at",
                    ps![d, symbols, origin, now],
                )?;
            }
        }
        Ok(changed)
    })
}

pub(super) fn kernel_config(db: &mut dyn Sql, digest: &str) -> Result<Option<String>> {
    first(
        db,
        "SELECT symbols FROM kernel_configs WHERE digest = ?1",
        ps![digest],
        |r| r.text(0),
    )
}

/// Replaces the Kbuild map whole (a stem listed twice: the last wins).
pub(super) fn put_kbuild(db: &mut dyn Sql, files: &[(String, Option<String>)]) -> Result<()> {
    transaction(db, |db| {
        db.exec("DELETE FROM kernel_files", &[])?;
        for (stem, conds) in files {
            db.exec(
                "INSERT INTO kernel_files (stem, conds) VALUES (?1, ?2)
                 ON CONFLICT (stem) DO UPDATE SET conds = excluded.conds",
                ps![stem, conds.as_deref()],
            )?;
        }
        Ok(())
    })
}

pub(super) fn kbuild_map(db: &mut dyn Sql) -> Result<Vec<(String, Option<String>)>> {
    rows(
        db,
        "SELECT stem, conds FROM kernel_files ORDER BY stem",
        &[],
        |r| Ok((r.text(0)?, r.opt_text(1)?)),
    )
}

#[cfg(test)]
mod tests {
    use super::super::sql::cluster::on_both;
    use super::*;

    #[test]
    fn configurations_and_the_kbuild_map_on_both_engines() {
        on_both(|db| {
            let d = vec!["aa".to_string(), "bb".to_string()];
            assert!(put_kernel_config(db, &d, "CONFIG_A\nCONFIG_B", "img", 1).unwrap());
            assert!(!put_kernel_config(db, &d, "CONFIG_A\nCONFIG_B", "img", 2).unwrap());
            assert!(put_kernel_config(db, &d[..1], "CONFIG_A", "img", 3).unwrap());
            assert_eq!(
                kernel_config(db, "aa").unwrap().as_deref(),
                Some("CONFIG_A")
            );
            assert_eq!(kernel_config(db, "cc").unwrap(), None);
            let files = vec![
                ("net/x".to_string(), Some("CONFIG_X".to_string())),
                ("fs/y".to_string(), None),
                ("net/x".to_string(), Some("CONFIG_Z".to_string())),
            ];
            put_kbuild(db, &files).unwrap();
            assert_eq!(
                kbuild_map(db).unwrap(),
                vec![
                    ("fs/y".to_string(), None),
                    ("net/x".to_string(), Some("CONFIG_Z".to_string()))
                ]
            );
        });
    }

    #[test]
    fn sboms_and_catalogs_on_both_engines() {
        use super::super::artifacts::*;
        on_both(|db| {
            assert!(put_sbom(db, "d1", b"{}", 1).unwrap());
            assert!(!put_sbom(db, "d1", b"{}", 2).unwrap());
            assert!(sbom_exists(db, "d1").unwrap());
            assert!(!sbom_referenced(db, "d1").unwrap());
            assert_eq!(sbom_body(db, "d1").unwrap(), Some(b"{}".to_vec()));
            put_catalog(db, "0.2.0", "b", 1).unwrap();
            put_catalog(db, "0.1.0", "a", 1).unwrap();
            put_catalog(db, "0.2.0", "c", 2).unwrap();
            assert_eq!(
                catalogs(db).unwrap(),
                vec!["a".to_string(), "c".to_string()]
            );
        });
    }
}
