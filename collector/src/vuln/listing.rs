//! The `vulns` listing's rows: matches grouped by (device, advisory,
//! component), with every binary package and installed version of the group.

use super::osv::purl_parts;
use super::Match;
use std::collections::HashMap;

/// One row of the `vulns` listing: an advisory on a device for one
/// component, with every binary package of it that matched (glibc's
/// advisory is one row for libc6 and libc-bin, not two).
#[derive(Debug, Clone, PartialEq)]
pub struct Listed<'a> {
    /// The first match of the group (device, advisory, component, fix, VEX).
    pub first: &'a Match,
    /// Binary package names, sorted, without repeats.
    pub binaries: Vec<String>,
    /// Installed versions, sorted, without repeats (normally one).
    pub versions: Vec<String>,
}

/// Groups matches by (device, advisory, component), in the order of their
/// first match.
pub fn listing(ms: &[Match]) -> Vec<Listed<'_>> {
    let mut at: HashMap<(i64, &str, &str), usize> = HashMap::new();
    let mut out: Vec<Listed> = Vec::new();
    for m in ms {
        let key = (m.device_id, m.vuln.as_str(), m.package.as_str());
        let i = *at.entry(key).or_insert_with(|| {
            out.push(Listed {
                first: m,
                binaries: Vec::new(),
                versions: Vec::new(),
            });
            out.len() - 1
        });
        let l = &mut out[i];
        let binary = purl_parts(&m.purl)
            .map(|p| p.1)
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| m.package.clone());
        if !l.binaries.contains(&binary) {
            l.binaries.push(binary);
        }
        if !l.versions.contains(&m.version) {
            l.versions.push(m.version.clone());
        }
    }
    for l in &mut out {
        l.binaries.sort();
        l.versions.sort();
    }
    out
}
