//! Debian version ordering against dpkg itself: a few thousand real-shaped
//! and mutated version pairs (epochs, `~`, `+`, `.`, letters, leading
//! zeros, revisions), each compared by `dpkg --compare-versions` and by
//! `dpkg_cmp`. Pairs dpkg rejects as an error (exit 2: empty revision, a
//! non-numeric epoch…) are counted apart; those dpkg only warns about are
//! compared. The Alpine ordering is checked against apk-tools' verdicts in
//! the collector's unit tests (committed table, apk-tools is not packaged
//! in Debian).
//!
//! A fixed seed list plus one random seed per run (printed; set
//! `FIELDATTEST_DPKG_SEED` to replay).

use fieldattest_collector::vuln::version::dpkg_cmp;
use std::cmp::Ordering;
use std::process::{Command, Stdio};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn number(r: &mut Rng) -> String {
    match r.below(10) {
        0..=5 => r.below(20).to_string(),
        6 => format!("0{}", r.below(10)),
        7 => r.below(10_000).to_string(),
        8 => r.pick(&["20230101", "20240229", "1", "0"]).to_string(),
        _ => format!("00{}", r.below(100)),
    }
}

/// A Debian-shaped version: `[epoch:]upstream[-revision]`.
fn version(r: &mut Rng) -> String {
    let mut v = String::new();
    if r.chance(15) {
        v += &format!("{}:", r.pick(&["0", "1", "2", "3", "10", "01", "+1"]));
    }
    v += &number(r);
    for _ in 0..r.below(4) {
        v += r.pick(&[".", ".", ".", "+", "~", "."]);
        if r.chance(20) {
            v += r.pick(&["dfsg", "ds", "rc", "beta", "git", "a", "b", "really", "svn"]);
        }
        v += &number(r);
    }
    if r.chance(10) {
        v += r.pick(&[
            "a", "b", "z", "~rc1", "~beta2", "+dfsg", "~", "~~", "+b1", ".dfsg",
        ]);
    }
    if r.chance(80) {
        v.push('-');
        v += r.pick(&[
            "1",
            "2",
            "10",
            "0ubuntu1",
            "1+deb12u1",
            "1+deb12u12",
            "9+deb12u4",
            "1~bpo12+1",
            "1~deb12u2",
            "1.1",
            "3build2",
            "0.1",
            "1+b2",
            "2~exp1",
        ]);
    }
    v
}

fn mutate(r: &mut Rng, v: &str) -> String {
    const ALPHABET: &[&str] = &[
        "0", "1", "9", ".", "+", "~", "-", ":", "a", "b", "z", "A", "0", "~~",
    ];
    let mut v: Vec<char> = v.chars().collect();
    for _ in 0..=r.below(2) {
        let pos = r.below(v.len() + 1);
        match r.below(6) {
            0 if !v.is_empty() => {
                let i = r.below(v.len());
                v[i] = match v[i].to_digit(10) {
                    Some(d) => char::from_digit((d + 1) % 10, 10).unwrap_or('0'),
                    None => r.pick(ALPHABET).chars().next().unwrap_or('a'),
                };
            }
            1 => {
                for (k, c) in r.pick(ALPHABET).chars().enumerate() {
                    v.insert(pos + k, c);
                }
            }
            2 if !v.is_empty() => {
                v.remove(r.below(v.len()));
            }
            3 => v.insert(pos, '0'),
            4 => v.truncate(pos.max(1)),
            _ => {
                let tail = r.pick(&["~", "+b1", "-1", "~rc1", ".0", "a"]);
                v.extend(tail.chars());
            }
        }
    }
    v.into_iter().collect()
}

/// dpkg's verdict: `Some(order)`, or `None` when dpkg rejects a version.
fn dpkg_verdict(a: &str, b: &str) -> Option<Ordering> {
    let run = |op: &str| {
        Command::new("dpkg")
            .args(["--compare-versions", a, op, b])
            .stderr(Stdio::null())
            .status()
            .expect("dpkg is needed for this test (Debian's dpkg package)")
            .code()
    };
    match run("lt") {
        Some(0) => Some(Ordering::Less),
        Some(1) => match run("eq") {
            Some(0) => Some(Ordering::Equal),
            Some(1) => Some(Ordering::Greater),
            _ => None,
        },
        _ => None,
    }
}

fn pairs(seed: u64, n: usize) -> Vec<(String, String)> {
    let mut r = Rng(seed | 1);
    let base: Vec<String> = (0..n / 2).map(|_| version(&mut r)).collect();
    let mut out = Vec::new();
    while out.len() < n {
        let a = base[r.below(base.len())].clone();
        let (a, b) = match r.below(10) {
            0..=4 => {
                let b = mutate(&mut r, &a);
                (a, b)
            }
            5 | 6 => (a, base[r.below(base.len())].clone()),
            7 | 8 => (mutate(&mut r, &a), mutate(&mut r, &a)),
            _ => (a, version(&mut r)),
        };
        // A leading '-' would be taken for an option by dpkg.
        if a.starts_with('-') || b.starts_with('-') || a.is_empty() || b.is_empty() {
            continue;
        }
        out.push((a, b));
    }
    out
}

#[test]
fn dpkg_ordering_agrees_with_dpkg_compare_versions() {
    let random = std::env::var("FIELDATTEST_DPKG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    eprintln!("dpkg ordering: random seed {random} (FIELDATTEST_DPKG_SEED={random} replays it)");
    let fixed: Vec<(String, String)> = [
        ("1.0", "1.0"),
        ("1.0~rc1", "1.0"),
        ("1.0~~", "1.0~"),
        ("1:0.1", "2.0"),
        ("0:1.0", "1.0"),
        ("1.002", "1.2"),
        ("1.0a", "1.0"),
        ("1.0a", "1.0.1"),
        ("1:1:1", "1:1"),
        ("1.0-1-2", "1.0-1"),
        ("a1", "1"),
        ("1_0", "1"),
        ("2.36-9+deb12u4", "2.36-9+deb12u10"),
        ("1.2.13.dfsg-1", "1.2.13.dfsg-1+deb12u1"),
        ("3.0.11-1~deb12u2", "3.0.11-1"),
        ("1.0+", "1.0"),
        ("1.0", "1.0."),
        ("010", "10"),
        ("1:06-10", "+1:06-10"),
        ("+0:1.0", "1.0"),
        ("+2:1", "1:9"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let mut all = fixed;
    all.extend(pairs(0x5eed_0001, 1500));
    all.extend(pairs(random, 1500));
    let start = std::time::Instant::now();
    let (mut compared, mut rejected, mut bad) = (0, 0, Vec::new());
    for (a, b) in &all {
        let Some(want) = dpkg_verdict(a, b) else {
            rejected += 1;
            continue;
        };
        compared += 1;
        let got = dpkg_cmp(a, b);
        if got != want {
            bad.push(format!("{a:?} vs {b:?}: dpkg {want:?}, ours {got:?}"));
        }
        // Antisymmetry, which dpkg's verdict implies.
        if dpkg_cmp(b, a) != want.reverse() {
            bad.push(format!("{b:?} vs {a:?}: ours not the reverse of {want:?}"));
        }
    }
    eprintln!(
        "dpkg pairs: {} generated, {compared} compared with dpkg --compare-versions, {rejected} rejected by dpkg, {} disagreements, {:.1} s",
        all.len(),
        bad.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(compared >= 2500, "too few comparable pairs: {compared}");
    assert!(
        bad.is_empty(),
        "{} disagreements (seed {random}):\n{}",
        bad.len(),
        bad.join("\n")
    );
}
