//! The CISA Known Exploited Vulnerabilities catalog (JSON): one entry per
//! CVE with the date it was added, the remediation due date and whether
//! it is known to be used in ransomware campaigns. A catalog replaces the
//! previous one.

use super::{is_cve, text, Import};
use crate::store::Kev;
use serde_json::Value;

fn date(v: &Value) -> Option<String> {
    let d = text(v)?;
    let ok = d.len() >= 10
        && d.as_bytes()[..10].iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    ok.then(|| d[..10].to_string())
}

pub(super) fn import(imp: &mut Import, at: &str, doc: &Value) {
    let mut entries: Vec<(String, Kev)> = Vec::new();
    for (i, e) in doc["vulnerabilities"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let here = format!("{at}#/vulnerabilities/{i}");
        let Some(cve) = text(&e["cveID"]).filter(|c| is_cve(c)) else {
            imp.error(&here, "no CVE id in cveID".into());
            continue;
        };
        let Some(added) = date(&e["dateAdded"]) else {
            imp.error(&here, format!("{cve}: no dateAdded (YYYY-MM-DD)"));
            continue;
        };
        if entries.iter().any(|(c, _)| *c == cve) {
            imp.error(&here, format!("{cve}: listed twice (the first kept)"));
            continue;
        }
        entries.push((
            cve,
            Kev {
                added,
                ransomware: e["knownRansomwareCampaignUse"]
                    .as_str()
                    .is_some_and(|k| k.eq_ignore_ascii_case("known")),
                due: date(&e["dueDate"]),
            },
        ));
    }
    let released = date(&doc["dateReleased"])
        .or_else(|| text(&doc["catalogVersion"]).map(|v| v.replace('.', "-")));
    match imp.store.put_kev(&entries) {
        Ok(n) => imp.counts("kev", n, released.as_deref()),
        Err(e) => imp.error(at, format!("storage: {e}")),
    }
}
