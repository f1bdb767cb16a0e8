//! Kernel CVEs in code that is not built (ISSUE18): a kernel component
//! whose purl names its build configuration (`kconfig=sha256:…`, from the
//! agent), an imported configuration with that digest (`vulndb import`),
//! the Kbuild map of the kernel tree (`vulndb kbuild`) and the CVE's
//! program files (the kernel CNA's `programFiles`): when the map says that
//! every one of those files is not built with the configuration's symbols,
//! the match carries a statement `not_affected` /
//! `vulnerable_code_not_present` naming the file and the symbols it needs
//! (source `kernel configuration`) — closed like any statement, listed
//! with `vulns --all` or `--not-built`. Anything unknown (a header, a file
//! the map does not understand, no configuration, no map) leaves the
//! match open, and the set's coverage says why.

use super::kbuild::{self, Map};
use super::osv::pct_decode;
use crate::store::{Statement, Store};
use std::collections::{HashMap, HashSet};

/// The source of the statements this module makes.
pub const SOURCE: &str = "kernel configuration";

/// The kernel's CPE `vendor:product`.
pub const KERNEL_PRODUCT: &str = "linux:linux_kernel";

/// The (ecosystem, name) key advisories of the kernel are filed under: the
/// package sets holding it are matched again when a configuration or the
/// Kbuild map is imported.
pub fn kernel_key() -> (String, String) {
    (super::identity::CPE.to_string(), KERNEL_PRODUCT.to_string())
}

/// The configuration digest (hex SHA-256) a purl names in its `kconfig`
/// qualifier, when well formed.
pub fn kconfig_of(purl: &str) -> Option<String> {
    let query = purl.split('#').next()?.split_once('?')?.1;
    query.split('&').find_map(|kv| {
        let v = pct_decode(kv.strip_prefix("kconfig=")?);
        let hex = v.strip_prefix("sha256:")?;
        (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| hex.to_ascii_lowercase())
    })
}

/// What deciding needs, read once per matching run and only when a kernel
/// with a configuration is met.
#[derive(Debug, Default)]
pub(super) struct KernelView {
    /// The Kbuild map: not read yet (`None`), none imported (`Some(None)`).
    map: Option<Option<Map>>,
    /// Configurations by digest: their enabled symbols, `None` not imported.
    configs: HashMap<String, Option<HashSet<String>>>,
}

impl KernelView {
    fn map(&mut self, store: &dyn Store) -> Result<Option<&Map>, String> {
        if self.map.is_none() {
            let rows = store.kbuild_map()?;
            self.map = Some((!rows.is_empty()).then(|| kbuild::from_rows(rows)));
        }
        Ok(self.map.as_ref().and_then(Option::as_ref))
    }

    fn config(
        &mut self,
        store: &dyn Store,
        digest: &str,
    ) -> Result<Option<&HashSet<String>>, String> {
        if !self.configs.contains_key(digest) {
            let symbols = store
                .kernel_config(digest)?
                .map(|s| s.lines().map(str::to_string).collect::<HashSet<_>>());
            self.configs.insert(digest.to_string(), symbols);
        }
        Ok(self.configs.get(digest).and_then(Option::as_ref))
    }

    /// The statement closing a CVE whose vulnerable code is in `files` on
    /// a kernel built with configuration `digest`: when every file is
    /// known not to be built.
    pub fn statement(
        &mut self,
        store: &dyn Store,
        digest: &str,
        files: &[String],
    ) -> Result<Option<Statement>, String> {
        if files.is_empty() {
            return Ok(None);
        }
        let Some(enabled) = self.config(store, digest)?.cloned() else {
            return Ok(None);
        };
        let Some(map) = self.map(store)? else {
            return Ok(None);
        };
        if !files
            .iter()
            .all(|f| kbuild::built(map, f, &enabled) == Some(false))
        {
            return Ok(None);
        }
        // The first file and what it lacks, for people.
        let f = &files[0];
        let needs: Vec<String> = kbuild::source_stem(f)
            .and_then(|stem| map.files.get(stem))
            .and_then(|alts| alts.iter().min_by_key(|a| a.len()))
            .map(|alt| {
                alt.iter()
                    .filter(|s| !enabled.contains(*s))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let more = if files.len() > 1 {
            format!(
                " (and {} more file{})",
                files.len() - 1,
                if files.len() > 2 { "s" } else { "" }
            )
        } else {
            String::new()
        };
        Ok(Some(Statement {
            status: "not_affected".into(),
            justification: Some("vulnerable_code_not_present".into()),
            detail: Some(format!(
                "{f}{more} not built: needs {} (configuration sha256:{})",
                needs.join(" and "),
                &digest[..12.min(digest.len())]
            )),
            source: SOURCE.into(),
        }))
    }

    /// Why a kernel naming configuration `digest` (from its purl's
    /// `kconfig`, `None` when it names none) cannot be checked against it,
    /// if it cannot.
    pub fn note(
        &mut self,
        store: &dyn Store,
        digest: Option<&str>,
    ) -> Result<Option<String>, String> {
        let Some(d) = digest else {
            return Ok(Some(
                "kernel: no build configuration reported (kernel CVEs are not checked against it)"
                    .into(),
            ));
        };
        if self.config(store, d)?.is_none() {
            return Ok(Some(format!(
                "kernel: configuration sha256:{} not imported (vulndb import the kernel's .config or config.gz; kernel CVEs are not checked against it)",
                &d[..12]
            )));
        }
        if self.map(store)?.is_none() {
            return Ok(Some(
                "kernel: no Kbuild map imported (vulndb kbuild; kernel CVEs are not checked against the configuration)".into(),
            ));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    const D: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    #[test]
    fn the_digest_comes_from_the_kconfig_qualifier_only_when_well_formed() {
        let p = format!(
            "pkg:generic/linux@6.1.95?cpe=x&kconfig=sha256%3A{}",
            D.to_uppercase()
        );
        assert_eq!(kconfig_of(&p).as_deref(), Some(D));
        assert_eq!(
            kconfig_of(&format!("pkg:generic/linux@6.1?kconfig=sha256:{D}#x")).as_deref(),
            Some(D)
        );
        for bad in [
            "pkg:generic/linux@6.1".to_string(),
            "pkg:generic/linux@6.1?kconfig=sha256:abc".into(),
            format!("pkg:generic/linux@6.1?kconfig=md5:{D}"),
            format!("pkg:generic/linux@6.1?xkconfig=sha256:{D}"),
            format!("pkg:generic/linux@6.1?kconfig=sha256:{}", "g".repeat(64)),
        ] {
            assert_eq!(kconfig_of(&bad), None, "{bad}");
        }
    }

    #[test]
    fn closed_only_when_every_file_is_known_not_built() {
        let s = SqliteStore::memory().unwrap();
        let mut k = KernelView::default();
        let files = |f: &[&str]| f.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        // Nothing imported: open, and the notes say why.
        let p = format!("pkg:generic/linux@6.6.52?kconfig=sha256:{D}");
        assert_eq!(
            k.statement(&s, D, &files(&["drivers/nfc/core.c"])).unwrap(),
            None
        );
        assert!(k
            .note(&s, kconfig_of(&p).as_deref())
            .unwrap()
            .unwrap()
            .contains("not imported"));
        assert!(k
            .note(&s, kconfig_of("pkg:generic/linux@6.6.52").as_deref())
            .unwrap()
            .unwrap()
            .contains("no build configuration"));
        s.put_kernel_config(&[D.into()], "CONFIG_EXT4_FS\nCONFIG_NET", "c", 1)
            .unwrap();
        let mut k = KernelView::default();
        assert!(k
            .note(&s, kconfig_of(&p).as_deref())
            .unwrap()
            .unwrap()
            .contains("no Kbuild map"));
        let m = kbuild::build(&[
            ("".into(), "obj-y += fs/ drivers/\n".into()),
            ("fs".into(), "obj-$(CONFIG_EXT4_FS) += ext4/\n".into()),
            (
                "fs/ext4".into(),
                "obj-$(CONFIG_EXT4_FS) += super.o\n".into(),
            ),
            ("drivers".into(), "obj-$(CONFIG_NFC) += nfc/\n".into()),
            (
                "drivers/nfc".into(),
                "obj-$(CONFIG_NFC) += core.o\nobj-$(CONFIG_NFC_DIGITAL) += digital.o\n".into(),
            ),
        ]);
        s.put_kbuild(&kbuild::to_rows(&m)).unwrap();
        let mut k = KernelView::default();
        assert_eq!(k.note(&s, kconfig_of(&p).as_deref()).unwrap(), None);
        let st = k
            .statement(
                &s,
                D,
                &files(&["drivers/nfc/core.c", "drivers/nfc/digital.c"]),
            )
            .unwrap()
            .unwrap();
        assert_eq!(st.status, "not_affected");
        assert_eq!(
            st.justification.as_deref(),
            Some("vulnerable_code_not_present")
        );
        assert_eq!(
            st.detail.as_deref(),
            Some("drivers/nfc/core.c (and 1 more file) not built: needs CONFIG_NFC (configuration sha256:aaaaaaaaaaaa)")
        );
        assert_eq!(st.source, SOURCE);
        // Built, partly built, a header, an unknown file, no files: open.
        for f in [
            &["fs/ext4/super.c"][..],
            &["drivers/nfc/core.c", "fs/ext4/super.c"],
            &["drivers/nfc/core.h"],
            &["mm/mmap.c"],
            &[],
        ] {
            assert_eq!(k.statement(&s, D, &files(f)).unwrap(), None, "{f:?}");
        }
        // Another configuration, not imported: open.
        assert_eq!(
            k.statement(&s, &"b".repeat(64), &files(&["drivers/nfc/core.c"]))
                .unwrap(),
            None
        );
    }
}
