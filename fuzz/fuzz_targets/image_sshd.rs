//! Fuzz target: an image's `sshd_config` and everything it includes, then the
//! algorithm lists the rules compute from it, within the linear budget of
//! `budget.rs`.
//!
//! Input: NUL-separated chunks. The first is `/etc/ssh/sshd_config`; each
//! further chunk is `PATH\nCONTENT`, a file served to `Include` (a relative
//! PATH is taken under `/etc/ssh/`), so include globs, nesting and Match scope
//! across files are reached.
//!
//! `fuzz/run-all.sh` runs it; by hand:
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run image_sshd fuzz/corpus/image_sshd fuzz/seeds/image_sshd`
#![no_main]

use fieldattest_scan::parse::sshd::{self, Files};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

#[path = "budget.rs"]
mod budget;

const MAIN: &str = "/etc/ssh/sshd_config";

struct Mem(BTreeMap<String, String>);

impl Files for Mem {
    fn list(&self, dir: &str) -> Vec<String> {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        self.0
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter(|r| !r.is_empty() && !r.contains('/'))
            .map(str::to_string)
            .collect()
    }
    fn read(&self, path: &str) -> Option<Result<String, String>> {
        self.0.get(path).cloned().map(Ok)
    }
}

fuzz_target!(|data: &[u8]| {
    let text = budget::text(data);
    let mut chunks = text.split('\0');
    let main = chunks.next().unwrap_or("").to_string();
    let mut files = BTreeMap::new();
    for c in chunks {
        let (p, body) = c.split_once('\n').unwrap_or((c, ""));
        let p = if p.starts_with('/') {
            p.to_string()
        } else {
            format!("/etc/ssh/{p}")
        };
        files.insert(p, body.to_string());
    }
    files.insert(MAIN.to_string(), main.clone());
    let mem = Mem(files);
    let (cfg, _errs) = budget::check("sshd::parse", data.len(), || sshd::parse(&mem, MAIN, &main));
    let _ = budget::check("sshd::effective+values", data.len(), || {
        // What the rules compute from it: the effective configuration (global
        // pass, and a connection matching some User/Group/Host/Address
        // criteria), each Match block's guard and reachability, every
        // setting's typed value, and the algorithm lists applied to each
        // version's defaults (the `-pattern` removal globs are where scanned
        // content meets the matcher).
        let version = sshd::openssh_version(main.lines().next().unwrap_or(""));
        let conn = sshd::Conn {
            user: Some("root".into()),
            groups: vec!["root".into(), "wheel".into()],
            host: Some("gw.plant.example".into()),
            addr: Some("10.1.2.3".into()),
            laddr: Some("192.168.0.1".into()),
            lport: Some(22),
            rdomain: None,
        };
        let mut n = 0usize;
        for v in [version, Some((9, 2)), Some((7, 4)), Some((6, 6))] {
            let d = sshd::Defaults::openssh(v);
            for c in [None, Some(&conn)] {
                let eff = cfg.effective(c, &d);
                for (_, r) in eff.iter() {
                    n += r.value.list().len()
                        + r.from.len()
                        + usize::from(r.value.flag() == Some(true));
                }
            }
        }
        for b in 0..cfg.matches.len() {
            n += cfg.guard(b).len() + usize::from(cfg.reachable(b));
        }
        for (_, s) in cfg.ordered() {
            let _ = sshd::parse_value(sshd::canonical(&s.key), &s.args);
            for v in [version, Some((9, 2)), Some((7, 4)), Some((6, 6))] {
                if let Some(d) = sshd::default_for(sshd::canonical(&s.key), v) {
                    n += sshd::algorithm_list(&s.value, d).len();
                }
            }
            let _ = cfg.get(&s.key);
        }
        n
    });
});
