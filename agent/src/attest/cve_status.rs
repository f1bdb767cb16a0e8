//! The `cve-status` claim: the image's recorded CVE_STATUS (Yocto class,
//! read into the report's packages), one entry per (CVE, recipe), fitted
//! into what the token has room for.

use fieldattest_protocol::eat::{self, CveStatus};
use fieldattest_protocol::report::Report;
use std::collections::HashSet;

/// The entries of the report's packages: the component is the package's
/// recipe (`source_package`), else its name; one entry per (cve,
/// component), sorted; statuses other than OE-core's three are left out.
pub fn entries(rep: &Report) -> Vec<CveStatus> {
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut out = Vec::new();
    let mut packages: Vec<_> = rep.inventory.packages.iter().collect();
    // Deterministic whichever order the databases were read in.
    packages.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    for p in packages {
        let component = p.source_package.as_deref().unwrap_or(&p.name);
        for s in &p.cve_status {
            let Some(e) =
                eat::CveStatus::bounded(&s.id, component, &s.status, &s.detail, &s.description)
            else {
                continue;
            };
            if seen.insert((e.cve.clone(), e.component.clone())) {
                out.push(e);
            }
        }
    }
    out.sort_by(|a, b| (&a.component, &a.cve).cmp(&(&b.component, &b.cve)));
    out
}

/// What [`fit`] had to leave out to stay within its budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cut {
    /// Entries whose description was emptied.
    pub descriptions: usize,
    /// Entries left out.
    pub entries: usize,
}

/// Fits the entries into `budget` bytes of encoded claim (key and array
/// header included) and the claim's [`eat::MAX_CVE_STATUS`] entries. When
/// they do not fit: descriptions go first (of
/// `Patched` entries, then of all), then `Patched` entries (a version
/// comparison closes most of them), then whatever exceeds the budget —
/// `Ignored` and `Unpatched` entries (not derivable elsewhere) are the last
/// to go.
pub fn fit(mut v: Vec<CveStatus>, budget: usize) -> (Vec<CveStatus>, Cut) {
    // Key -65547 (5 bytes), array header (at most 3 bytes below 65536).
    const HEAD: usize = 8;
    let mut cut = Cut::default();
    let size = |v: &[CveStatus]| HEAD + v.iter().map(CveStatus::encoded_len).sum::<usize>();
    let count_ok = v.len() <= eat::MAX_CVE_STATUS;
    if v.is_empty() || (count_ok && size(&v) <= budget) {
        return (v, cut);
    }
    for only_patched in [true, false] {
        for e in v
            .iter_mut()
            .filter(|e| !only_patched || e.status == eat::CVE_PATCHED)
        {
            if !e.description.is_empty() {
                e.description.clear();
                cut.descriptions += 1;
            }
        }
        if count_ok && size(&v) <= budget {
            return (v, cut);
        }
    }
    // Keep the rarer statuses first, then in the order given.
    v.sort_by_key(|e| e.status == eat::CVE_PATCHED);
    let mut total = HEAD;
    let keep = v
        .iter()
        .take(eat::MAX_CVE_STATUS)
        .take_while(|e| {
            total += e.encoded_len();
            total <= budget
        })
        .count();
    cut.entries = v.len() - keep;
    v.truncate(keep);
    v.sort_by(|a, b| (&a.component, &a.cve).cmp(&(&b.component, &b.cve)));
    (v, cut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldattest_protocol::report::{self, Package, PackageSource};

    fn st(id: &str, status: &str, detail: &str, description: &str) -> report::CveStatus {
        report::CveStatus {
            id: id.into(),
            status: status.into(),
            detail: detail.into(),
            description: description.into(),
        }
    }

    fn pkg(name: &str, recipe: Option<&str>, cve: Vec<report::CveStatus>) -> Package {
        let mut p = Package::new(name, "1.0-r0", PackageSource::Opkg, "/var/lib/opkg/status");
        p.source_package = recipe.map(str::to_string);
        p.cve_status = cve;
        p
    }

    fn report_of(packages: Vec<Package>) -> Report {
        let d = tempfile::tempdir().unwrap();
        let root = fieldattest_scan::root::RootFs::new(d.path()).unwrap();
        let mut r = fieldattest_scan::scan(&root, &fieldattest_scan::ScanOptions::new("/img", 2));
        r.inventory.packages = packages;
        r
    }

    #[test]
    fn one_entry_per_cve_and_recipe_named_by_the_recipe() {
        let patched = st(
            "CVE-2023-0464",
            "Patched",
            "backported-patch",
            "CVE-2023-0464.patch",
        );
        let rep = report_of(vec![
            // Two packages of the openssl recipe carry the same record.
            pkg("libssl3", Some("openssl"), vec![patched.clone()]),
            pkg("openssl", Some("openssl"), vec![patched.clone()]),
            // No recipe known: the package's name.
            pkg(
                "busybox",
                None,
                vec![st("CVE-2022-48174", "Unpatched", "", "")],
            ),
            // Not one of OE-core's statuses: left out.
            pkg(
                "zlib",
                Some("zlib"),
                vec![st("CVE-2018-25032", "Fixed", "", "")],
            ),
            pkg(
                "coreutils",
                Some("coreutils"),
                vec![st("CVE-2016-2781", "Ignored", "disputed", "chroot")],
            ),
        ]);
        let e = entries(&rep);
        let got: Vec<(&str, &str, u8, &str)> = e
            .iter()
            .map(|e| {
                (
                    e.component.as_str(),
                    e.cve.as_str(),
                    e.status,
                    e.detail.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("busybox", "CVE-2022-48174", 3, ""),
                ("coreutils", "CVE-2016-2781", 2, "disputed"),
                ("openssl", "CVE-2023-0464", 1, "backported-patch"),
            ]
        );
        assert_eq!(e[2].description, "CVE-2023-0464.patch");
    }

    fn many(n: usize) -> Vec<CveStatus> {
        (0..n)
            .map(|i| {
                let status = ["Patched", "Ignored", "Unpatched"][i % 3];
                CveStatus::bounded(
                    &format!("CVE-2024-{i:05}"),
                    "linux-yocto",
                    status,
                    "fixed-version",
                    "Fixed from version 6.1.20",
                )
                .unwrap()
            })
            .collect()
    }

    #[test]
    fn fitting_drops_descriptions_then_patched_entries_then_the_rest() {
        let v = many(30);
        let full: usize = 8 + v.iter().map(CveStatus::encoded_len).sum::<usize>();
        // Room for all: unchanged.
        assert_eq!(fit(v.clone(), full), (v.clone(), Cut::default()));
        // One byte short: the Patched entries' descriptions go (10 of 30).
        let (f, cut) = fit(v.clone(), full - 1);
        assert_eq!(
            cut,
            Cut {
                descriptions: 10,
                entries: 0
            }
        );
        assert_eq!(f.len(), 30);
        assert!(f
            .iter()
            .all(|e| (e.status == eat::CVE_PATCHED) == e.description.is_empty()));
        // Room for the entries without any description.
        let bare: usize = 8 + f
            .iter()
            .map(|e| {
                let mut e = e.clone();
                e.description.clear();
                e.encoded_len()
            })
            .sum::<usize>();
        let (f, cut) = fit(v.clone(), bare);
        assert_eq!(
            cut,
            Cut {
                descriptions: 30,
                entries: 0
            }
        );
        assert!(f.iter().all(|e| e.description.is_empty()));
        // Less: Patched entries are left out first, the others kept, sorted.
        let (f, cut) = fit(v.clone(), bare - 1);
        assert_eq!(cut.entries, 1);
        assert_eq!(f.len(), 29);
        assert_eq!(
            f.iter().filter(|e| e.status != eat::CVE_PATCHED).count(),
            20
        );
        assert!(f.windows(2).all(|w| w[0].cve < w[1].cve));
        let (f, cut) = fit(v.clone(), 8 + f[0].encoded_len() * 20 + 3);
        assert_eq!((f.len(), cut.entries), (20, 10));
        assert!(f.iter().all(|e| e.status != eat::CVE_PATCHED));
        // More entries than the claim allows: the Patched ones go first.
        let mut v = many(eat::MAX_CVE_STATUS + 2);
        v[1].status = eat::CVE_UNPATCHED;
        let (f, cut) = fit(v, usize::MAX);
        assert_eq!((f.len(), cut.entries), (eat::MAX_CVE_STATUS, 2));
        assert!(f.iter().all(|e| e.description.is_empty()));
        assert!(f.iter().any(|e| e.cve == "CVE-2024-00001"));
        let v = many(30);
        // No room at all.
        let (f, cut) = fit(v, 0);
        assert_eq!((f.len(), cut.entries), (0, 30));
    }
}
