//! Package file integrity against Debian's `debsums` (ISSUE22, first
//! slice): generated dpkg trees with planted changes — content changed at
//! the same size, content changed with the mtime put back, files deleted,
//! names with spaces — and `verify_dpkg` must name exactly the files
//! `debsums -c --root` reports changed (stdout) and missing (stderr).
//! Needs `debsums`; under `CI=true` its absence is a failure, elsewhere the
//! test says so and returns.
#![cfg(feature = "integrity")]

use fieldattest_scan::integrity::{verify_dpkg, State};
use fieldattest_scan::root::RootFs;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// A small deterministic generator (xorshift), so a failure repeats.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn md5_hex(b: &[u8]) -> String {
    use md5::{Digest, Md5};
    fieldattest_protocol::hex::hex(&Md5::digest(b))
}

/// Writes `packages` packages of up to 12 files each, then plants changes;
/// returns the planted (changed, missing) paths.
fn tree(root: &Path, seed: u64, packages: usize) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut rng = Rng(seed);
    let info = root.join("var/lib/dpkg/info");
    std::fs::create_dir_all(&info).unwrap();
    let mut status = String::new();
    let mut all = Vec::new();
    for p in 0..packages {
        let name = format!("pkg{p}");
        status.push_str(&format!(
            "Package: {name}\nStatus: install ok installed\nPriority: optional\nVersion: 1.{p}\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: generated\n\n"
        ));
        let (mut sums, mut list) = (String::new(), String::new());
        for f in 0..=rng.below(12) {
            let rel = if rng.below(5) == 0 {
                format!("usr/share/{name}/file {f}.txt")
            } else {
                format!("usr/lib/{name}/f{f}")
            };
            let len = rng.below(200_000) as usize;
            let body: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let path = root.join(&rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &body).unwrap();
            sums.push_str(&format!("{}  {rel}\n", md5_hex(&body)));
            list.push_str(&format!("/{rel}\n"));
            all.push(rel);
        }
        std::fs::write(info.join(format!("{name}.md5sums")), sums).unwrap();
        std::fs::write(info.join(format!("{name}.list")), list).unwrap();
    }
    std::fs::write(root.join("var/lib/dpkg/status"), status).unwrap();
    let (mut changed, mut missing) = (BTreeSet::new(), BTreeSet::new());
    for rel in &all {
        let path = root.join(rel);
        match rng.below(10) {
            // Same size, one byte flipped (or a byte added to an empty file).
            0 => {
                let mut b = std::fs::read(&path).unwrap();
                match b.first_mut() {
                    Some(x) => *x ^= 0x5a,
                    None => b.push(1),
                }
                std::fs::write(&path, b).unwrap();
                changed.insert(format!("/{rel}"));
            }
            // Changed with its mtime put back (a size+mtime check would miss it).
            1 => {
                let m = std::fs::metadata(&path).unwrap().modified().unwrap();
                let mut b = std::fs::read(&path).unwrap();
                b.extend_from_slice(b"planted");
                std::fs::write(&path, b).unwrap();
                std::fs::File::options()
                    .write(true)
                    .open(&path)
                    .unwrap()
                    .set_modified(m)
                    .unwrap();
                changed.insert(format!("/{rel}"));
            }
            2 => {
                std::fs::remove_file(&path).unwrap();
                missing.insert(format!("/{rel}"));
            }
            _ => {}
        }
    }
    (changed, missing)
}

/// `debsums -c --root`'s (changed, missing) paths, as paths inside the tree.
fn debsums(root: &Path) -> Option<(BTreeSet<String>, BTreeSet<String>)> {
    let o = Command::new("debsums")
        .arg("-c")
        .arg(format!("--root={}", root.display()))
        .output()
        .ok()?;
    let prefix = root.display().to_string();
    let inside = |p: &str| p.strip_prefix(&prefix).unwrap_or(p).to_string();
    let changed = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(inside)
        .collect();
    let missing = String::from_utf8_lossy(&o.stderr)
        .split("debsums: missing file ")
        .skip(1)
        .filter_map(|m| m.rsplit_once(" (from ").map(|(p, _)| inside(p)))
        .collect();
    Some((changed, missing))
}

#[test]
fn changed_and_missing_files_agree_with_debsums() {
    if Command::new("debsums").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").is_err(),
            "debsums is missing (scripts/test installs it)"
        );
        eprintln!("debsums not installed: differential test not run");
        return;
    }
    for seed in [7u64, 1234, 99_991] {
        let t = tempfile::tempdir().unwrap();
        let (planted_changed, planted_missing) = tree(t.path(), seed, 40);
        let (d_changed, d_missing) = debsums(t.path()).unwrap();
        let v = verify_dpkg(&RootFs::new(t.path()).unwrap());
        let ours = |s: State| -> BTreeSet<String> {
            v.findings
                .iter()
                .filter(|f| f.state == s)
                .map(|f| f.path.clone())
                .collect()
        };
        assert_eq!(ours(State::Changed), d_changed, "changed, seed {seed}");
        assert_eq!(ours(State::Missing), d_missing, "missing, seed {seed}");
        // And both found what was planted (the test itself can fail).
        assert_eq!(d_changed, planted_changed, "seed {seed}");
        assert_eq!(d_missing, planted_missing, "seed {seed}");
        assert!(v.errors.is_empty(), "{:?}", v.errors);
        eprintln!(
            "seed {seed}: {} files checked, {} changed, {} missing — as debsums",
            v.checked,
            d_changed.len(),
            d_missing.len()
        );
    }
}
