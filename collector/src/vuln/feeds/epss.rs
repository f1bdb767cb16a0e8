//! FIRST EPSS scores (CSV, optionally gzip): a first line
//! `#model_version:…,score_date:…`, the header `cve,epss,percentile`, one
//! row per CVE. A file replaces the previous scores. Lines are bounded
//! (4 KiB); a bad row is reported by line number and skipped.

use super::{is_cve, Import};
use crate::store::Epss;
use std::io::{BufRead, Read};

const MAX_LINE: u64 = 4096;

/// Whether the start of a file is EPSS CSV.
pub(super) fn looks_like(head: &[u8]) -> bool {
    head.starts_with(b"#model_version") || head.starts_with(b"cve,epss")
}

/// The next line (without its end), `Err` when longer than `MAX_LINE` (the
/// rest of it is skipped); `None` at the end.
fn line<R: BufRead>(r: &mut R, buf: &mut Vec<u8>) -> Option<Result<(), String>> {
    buf.clear();
    match Read::take(&mut *r, MAX_LINE).read_until(b'\n', buf) {
        Ok(0) => return None,
        Ok(_) => {}
        Err(e) => return Some(Err(e.to_string())),
    }
    if buf.last() != Some(&b'\n') && buf.len() as u64 >= MAX_LINE {
        let mut rest = Vec::new();
        loop {
            rest.clear();
            match Read::take(&mut *r, MAX_LINE).read_until(b'\n', &mut rest) {
                Ok(0) => break,
                Ok(_) if rest.last() == Some(&b'\n') => break,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        return Some(Err(format!("longer than {MAX_LINE} bytes")));
    }
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
    Some(Ok(()))
}

pub(super) fn import<R: BufRead>(imp: &mut Import, name: &str, mut r: R) {
    let mut buf = Vec::new();
    let mut rows: Vec<(String, Epss)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut date = String::new();
    let mut header = false;
    let mut n = 0usize;
    while let Some(l) = line(&mut r, &mut buf) {
        n += 1;
        let here = format!("{name}:{n}");
        if let Err(e) = l {
            imp.error(&here, e);
            continue;
        }
        let Ok(text) = std::str::from_utf8(&buf) else {
            imp.error(&here, "not UTF-8".into());
            continue;
        };
        if let Some(meta) = text.strip_prefix('#') {
            for kv in meta.split(',') {
                if let Some(d) = kv.trim().strip_prefix("score_date:") {
                    date = d.trim().chars().take(10).collect();
                }
            }
            continue;
        }
        if !header {
            if text.trim() != "cve,epss,percentile" {
                imp.error(&here, "expected the header cve,epss,percentile".into());
                return;
            }
            header = true;
            continue;
        }
        if text.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = text.split(',').map(str::trim).collect();
        let num = |s: &str| s.parse::<f64>().ok().filter(|x| (0.0..=1.0).contains(x));
        match f.as_slice() {
            [cve, score, pct] if is_cve(cve) => match (num(score), num(pct)) {
                (Some(score), Some(percentile)) => {
                    if !seen.insert(cve.to_string()) {
                        imp.error(&here, format!("{cve}: listed twice (the first kept)"));
                        continue;
                    }
                    rows.push((
                        cve.to_string(),
                        Epss {
                            score,
                            percentile,
                            date: date.clone(),
                        },
                    ))
                }
                _ => imp.error(&here, "epss and percentile must be numbers in 0..1".into()),
            },
            _ => imp.error(&here, "expected CVE-ID,epss,percentile".into()),
        }
    }
    if !header {
        return imp.error(name, "no cve,epss,percentile header".into());
    }
    match imp.store.put_epss(&rows) {
        Ok(c) => imp.counts("epss", c, Some(&date)),
        Err(e) => imp.error(name, format!("storage: {e}")),
    }
}
