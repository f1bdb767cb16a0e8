//! Package file integrity against Debian's `debsums` (ISSUE22, first
//! slice): generated dpkg trees with planted changes — content changed at
//! the same size, content changed with the mtime put back, files deleted,
//! names with spaces — and `verify_dpkg` must name exactly the files
//! `debsums -c --root` reports changed (stdout) and missing (stderr);
//! `verify_dpkg_conffiles` the conffiles `debsums -ce --root` reports.
//! Needs `debsums`; under `CI=true` its absence is a failure, elsewhere the
//! test says so and returns.
#![cfg(feature = "integrity")]

use fieldattest_scan::integrity::{verify_dpkg, verify_dpkg_conffiles, State, Verified};
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

/// What was planted: changed and missing files, then conffiles.
#[derive(Default)]
struct Planted {
    changed: BTreeSet<String>,
    missing: BTreeSet<String>,
    conf_changed: BTreeSet<String>,
    conf_missing: BTreeSet<String>,
}

/// Plants a change (or not) in the file at `rel`: same size with a byte
/// flipped, changed with its mtime put back, deleted, or left; the sets
/// the file belongs to after it.
fn plant(
    rng: &mut Rng,
    root: &Path,
    rel: &str,
    changed: &mut BTreeSet<String>,
    missing: &mut BTreeSet<String>,
) {
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

/// Writes a package's file at `rel` and names it in the package's file
/// list; its MD5 (hex).
fn install(root: &Path, rel: &str, body: &[u8], list: &mut String) -> String {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, body).unwrap();
    list.push_str(&format!("/{rel}\n"));
    md5_hex(body)
}

/// Writes `packages` packages of up to 12 files and up to 2 conffiles
/// each, then plants changes; returns what was planted.
fn tree(root: &Path, seed: u64, packages: usize) -> Planted {
    let mut rng = Rng(seed);
    let info = root.join("var/lib/dpkg/info");
    std::fs::create_dir_all(&info).unwrap();
    let mut status = String::new();
    let (mut all, mut confs_all) = (Vec::new(), Vec::new());
    for p in 0..packages {
        let name = format!("pkg{p}");
        status.push_str(&format!(
            "Package: {name}\nStatus: install ok installed\nPriority: optional\nVersion: 1.{p}\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: generated\n"
        ));
        // dpkg's file list names the conffiles too (debsums checks only
        // the conffiles `dpkg-query -S` finds in a list).
        let (mut sums, mut list) = (String::new(), String::new());
        let confs = rng.below(3);
        if confs > 0 {
            status.push_str("Conffiles:\n");
        }
        for c in 0..confs {
            let rel = format!("etc/{name}/c{c}.conf");
            let body = format!("setting = {}\n", rng.next()).into_bytes();
            status.push_str(&format!(
                " /{rel} {}\n",
                install(root, &rel, &body, &mut list)
            ));
            confs_all.push(rel);
        }
        status.push('\n');
        for f in 0..=rng.below(12) {
            let rel = if rng.below(5) == 0 {
                format!("usr/share/{name}/file {f}.txt")
            } else {
                format!("usr/lib/{name}/f{f}")
            };
            let len = rng.below(200_000) as usize;
            let body: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            sums.push_str(&format!(
                "{}  {rel}\n",
                install(root, &rel, &body, &mut list)
            ));
            all.push(rel);
        }
        std::fs::write(info.join(format!("{name}.md5sums")), sums).unwrap();
        std::fs::write(info.join(format!("{name}.list")), list).unwrap();
    }
    std::fs::write(root.join("var/lib/dpkg/status"), status).unwrap();
    let mut p = Planted::default();
    for rel in &all {
        plant(&mut rng, root, rel, &mut p.changed, &mut p.missing);
    }
    for rel in &confs_all {
        plant(
            &mut rng,
            root,
            rel,
            &mut p.conf_changed,
            &mut p.conf_missing,
        );
    }
    p
}

/// `debsums <flag> --root`'s (changed, missing) paths, as paths inside the tree.
fn debsums(root: &Path, flag: &str) -> Option<(BTreeSet<String>, BTreeSet<String>)> {
    let o = Command::new("debsums")
        .arg(flag)
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
    // Changed and missing paths of a verification.
    let split = |v: &Verified| -> (BTreeSet<String>, BTreeSet<String>) {
        let of = |s: State| {
            v.findings
                .iter()
                .filter(|f| f.state == s)
                .map(|f| f.path.clone())
                .collect()
        };
        (of(State::Changed), of(State::Missing))
    };
    for seed in [7u64, 1234, 99_991] {
        let t = tempfile::tempdir().unwrap();
        let planted = tree(t.path(), seed, 40);
        let root = RootFs::new(t.path()).unwrap();
        for (what, flag, v, want) in [
            (
                "files",
                "-c",
                verify_dpkg(&root),
                (&planted.changed, &planted.missing),
            ),
            (
                "conffiles",
                "-ce",
                verify_dpkg_conffiles(&root),
                (&planted.conf_changed, &planted.conf_missing),
            ),
        ] {
            let theirs = debsums(t.path(), flag).unwrap();
            assert_eq!(split(&v), theirs, "{what}, seed {seed}: (changed, missing)");
            // And both found what was planted (the test itself can fail).
            assert_eq!((&theirs.0, &theirs.1), want, "{what}, seed {seed}");
            assert!(v.errors.is_empty(), "{:?}", v.errors);
            eprintln!(
                "seed {seed}: {} {what} checked, {} changed, {} missing — as debsums {flag}",
                v.checked,
                theirs.0.len(),
                theirs.1.len()
            );
        }
    }
}
