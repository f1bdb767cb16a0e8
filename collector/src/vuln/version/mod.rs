//! Version orderings of the ecosystems whose advisories we match:
//! Debian (dpkg: epoch, upstream, revision; `~` sorts before everything),
//! Alpine (apk-tools: numeric components, letter, `_alpha`… suffixes,
//! `-rN`), RPM (`rpm`: rpm's `rpmvercmp` on epoch, version, release),
//! upstream versions as Yocto's CVE check reads them (`upstream`: the `CPE`
//! ecosystem) and SemVer 2.0 (pre-releases before the release).

use std::cmp::Ordering;

mod apk;
mod rpm;
mod upstream;

pub use apk::{apk3_cmp, apk_cmp, apk_ordering};
pub use rpm::{rpm_cmp, rpmvercmp};
pub use upstream::{cpe_cmp, suffix_of, upstream_cmp, upstream_cmp_with, upstream_valid, Suffix};

/// dpkg's comparison of two non-digit runs: letters before non-letters,
/// `~` before anything, even the end of the string.
fn dpkg_order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => c as i32,
        Some(c) => c as i32 + 256,
    }
}

fn dpkg_verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let mut first_diff = 0;
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = dpkg_order(a.get(i).copied());
            let bc = dpkg_order(b.get(j).copied());
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
            if first_diff == 0 {
                first_diff = a[i] as i32 - b[j] as i32;
            }
            i += 1;
            j += 1;
        }
        if i < a.len() && a[i].is_ascii_digit() {
            return Ordering::Greater;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != 0 {
            return first_diff.cmp(&0);
        }
    }
    Ordering::Equal
}

/// Debian version comparison (deb-version(7)): `[epoch:]upstream[-revision]`.
pub fn dpkg_cmp(a: &str, b: &str) -> Ordering {
    fn split(v: &str) -> (u64, &str, &str) {
        // dpkg reads the epoch with strtol(3): an optional sign, then digits
        // (`+1:2` has epoch 1, `-0:2` epoch 0).
        let epoch_of = |e: &str| -> Option<u64> {
            let (negative, digits) = match e.as_bytes().first() {
                Some(b'+') => (false, &e[1..]),
                Some(b'-') => (true, &e[1..]),
                _ => (false, e),
            };
            if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let n = digits.parse().unwrap_or(u64::MAX);
            (!negative || n == 0).then_some(n)
        };
        let (epoch, rest) = match v.split_once(':') {
            Some((e, r)) => match epoch_of(e) {
                Some(n) => (n, r),
                None => (0, v),
            },
            None => (0, v),
        };
        match rest.rsplit_once('-') {
            Some((u, r)) => (epoch, u, r),
            None => (epoch, rest, ""),
        }
    }
    let (ea, ua, ra) = split(a.trim());
    let (eb, ub, rb) = split(b.trim());
    ea.cmp(&eb)
        .then_with(|| dpkg_verrevcmp(ua, ub))
        .then_with(|| dpkg_verrevcmp(ra, rb))
}

/// SemVer 2.0 precedence (build metadata ignored); a leading `v` is allowed.
pub fn semver_cmp(a: &str, b: &str) -> Ordering {
    fn parse(v: &str) -> (Vec<u64>, Option<Vec<String>>) {
        let v = v.trim().trim_start_matches('v');
        let v = v.split('+').next().unwrap_or("");
        let (core, pre) = match v.split_once('-') {
            Some((c, p)) => (c, Some(p.split('.').map(str::to_string).collect())),
            None => (v, None),
        };
        (
            core.split('.').map(|n| n.parse().unwrap_or(0)).collect(),
            pre,
        )
    }
    let (ca, pa) = parse(a);
    let (cb, pb) = parse(b);
    for k in 0..3 {
        let (x, y) = (
            ca.get(k).copied().unwrap_or(0),
            cb.get(k).copied().unwrap_or(0),
        );
        if x != y {
            return x.cmp(&y);
        }
    }
    match (pa, pb) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => {
            for k in 0..x.len().max(y.len()) {
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => {
                        let o = match (p.parse::<u64>(), q.parse::<u64>()) {
                            (Ok(m), Ok(n)) => m.cmp(&n),
                            (Ok(_), Err(_)) => Ordering::Less,
                            (Err(_), Ok(_)) => Ordering::Greater,
                            _ => p.cmp(q),
                        };
                        if o != Ordering::Equal {
                            return o;
                        }
                    }
                    (Some(_), None) => return Ordering::Greater,
                    (None, Some(_)) => return Ordering::Less,
                    (None, None) => {}
                }
            }
            Ordering::Equal
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn debian_orderings() {
        // From deb-version(7) and dpkg's own test suite.
        for (a, b, o) in [
            ("1.0", "1.0", Equal),
            ("1.0-1", "1.0-2", Less),
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1-1", "1.0-1", Less),
            ("1.0~~", "1.0~", Less),
            ("1.0~", "1.0", Less),
            ("1.0", "1.0+b1", Less),
            ("1:0.1", "2.0", Greater),
            ("0:1.0", "1.0", Equal),
            ("1.2.13.dfsg-1", "1.2.13.dfsg-1+deb12u1", Less),
            ("2.36-9+deb12u4", "2.36-9+deb12u10", Less),
            ("1.0a", "1.0", Greater),
            ("1.0a", "1.0.1", Less),
            ("7.88.1-10+deb12u5", "7.88.1-10+deb12u12", Less),
            ("1:1.2.13.dfsg-1", "1.3", Greater),
            ("3.0.11-1~deb12u2", "3.0.11-1", Less),
            ("10", "9", Greater),
            ("1.002", "1.2", Equal),
        ] {
            assert_eq!(dpkg_cmp(a, b), o, "{a} vs {b}");
            assert_eq!(dpkg_cmp(b, a), o.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn alpine_orderings() {
        for (a, b, o) in [
            ("1.2.3-r0", "1.2.3-r1", Less),
            ("1.2.3_rc1-r0", "1.2.3-r0", Less),
            ("1.2.3_alpha", "1.2.3_beta", Less),
            ("1.2.3_p1-r0", "1.2.3-r5", Greater),
            ("1.2.10-r0", "1.2.9-r0", Greater),
            ("3.1.4a-r0", "3.1.4-r0", Greater),
            ("1.36.1-r15", "1.36.1-r20", Less),
            ("2.0", "2.0.1", Less),
            ("3.0.13-r0", "3.0.13-r0", Equal),
            // The cases apk-tools decides differently from a naive reading.
            ("1.004-r0", "1.01-r0", Less),
            ("1.0", "1.0-r0", Less),
            ("1.0_rc", "1.0_rc0", Less),
            ("1.0_rc1-r0", "1.0-r0", Less),
        ] {
            for cmp in [apk_cmp, apk3_cmp] {
                assert_eq!(cmp(a, b), o, "{a} vs {b}");
                assert_eq!(cmp(b, a), o.reverse(), "{b} vs {a}");
            }
        }
        // Where 2.14 and 3.x differ: leading zeros, `~hash`.
        assert_eq!(apk_cmp("1.0", "1.00"), Greater);
        assert_eq!(apk3_cmp("1.0", "1.00"), Less);
        assert_eq!(apk_ordering("Alpine:v3.19")("1.0", "1.00"), Greater);
        assert_eq!(apk_ordering("Alpine:v3.23")("1.0", "1.00"), Less);
        assert_eq!(apk_ordering("Alpine:v4.0")("1.0", "1.00"), Less);
        assert_eq!(apk_ordering("Alpine")("1.0", "1.00"), Greater);
    }

    /// Every pair of the table generated from apk-tools' own C code by
    /// scripts/gen-apk-version-pairs.py: both orderings agree with the
    /// version of apk-tools they port, invalid versions included.
    #[test]
    fn alpine_orderings_agree_with_apk_tools() {
        let table = include_str!("../../../tests/data/apk-version-pairs.tsv");
        let op = |o: Ordering| match o {
            Less => "<",
            Equal => "=",
            Greater => ">",
        };
        let (mut pairs, mut valid, mut bad) = (0, [0, 0], Vec::new());
        for line in table.lines().filter(|l| !l.starts_with('#')) {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 6, "malformed table line {line:?}");
            let (a, b) = (f[0], f[1]);
            pairs += 1;
            for (k, (cmp, want, validity)) in [
                (apk_cmp as fn(&str, &str) -> Ordering, f[2], f[3]),
                (apk3_cmp, f[4], f[5]),
            ]
            .into_iter()
            .enumerate()
            {
                if validity == "11" {
                    valid[k] += 1;
                }
                let got = op(cmp(a, b));
                if got != want {
                    bad.push(format!(
                        "apk{}: {a:?} vs {b:?}: apk-tools {want}, ours {got}",
                        ["2.14", "3"][k]
                    ));
                }
            }
        }
        eprintln!(
            "apk pairs: {pairs} (both valid: {} for 2.14, {} for 3.x), disagreements: {}",
            valid[0],
            valid[1],
            bad.len()
        );
        assert!(pairs >= 5000, "table too small: {pairs}");
        assert!(
            bad.is_empty(),
            "{} disagreements:\n{}",
            bad.len(),
            bad.join("\n")
        );
    }

    /// Hostile versions (advisories and package databases are input):
    /// random strings over the version alphabet, huge numbers, long runs —
    /// every ordering answers without a panic, and in linear time.
    #[test]
    fn hostile_versions_never_panic() {
        let alphabet = b"0123456789._-~:+rpabcfgz\0A\xff";
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let mut v = |n: u64| -> String {
                let len = (next() % n) as usize;
                let bytes: Vec<u8> = (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect();
                String::from_utf8_lossy(&bytes).into_owned()
            };
            let (a, b) = (v(16), v(16));
            for cmp in [
                apk_cmp,
                apk3_cmp,
                dpkg_cmp,
                semver_cmp,
                rpm_cmp,
                upstream_cmp,
            ] {
                let _ = cmp(&a, &b);
            }
            for m in [Suffix::Alphabetical, Suffix::Patch] {
                let _ = upstream_cmp_with(&a, &b, m);
            }
        }
        let long = format!("1.{}", "9".repeat(1 << 20));
        let zeros = format!("1.{}1", "0".repeat(1 << 20));
        for cmp in [
            apk_cmp,
            apk3_cmp,
            dpkg_cmp,
            semver_cmp,
            rpm_cmp,
            upstream_cmp,
        ] {
            let _ = cmp(&long, &zeros);
            assert_eq!(cmp(&long, &long), std::cmp::Ordering::Equal);
        }
        // Overflowing components: apk-tools 2.14 calls 18+ digits invalid.
        assert_eq!(apk_cmp("123456789012345678", "1"), Less);
        assert_eq!(apk3_cmp("99999999999999999999", "1"), Greater);
    }

    /// Every pair of the table generated from rpm itself by
    /// scripts/gen-rpm-version-pairs.py (`rpm.vercmp`, rpm 4.18).
    #[test]
    fn rpm_orderings_agree_with_rpm() {
        let table = include_str!("../../../tests/data/rpm-version-pairs.tsv");
        let (mut pairs, mut bad) = (0, Vec::new());
        for line in table.lines().filter(|l| !l.starts_with('#')) {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 3, "malformed table line {line:?}");
            pairs += 1;
            let got = op(rpm_cmp(f[0], f[1]));
            if got != f[2] {
                bad.push(format!(
                    "{:?} vs {:?}: rpm {}, ours {got}",
                    f[0], f[1], f[2]
                ));
            }
        }
        eprintln!("rpm pairs: {pairs}, disagreements: {}", bad.len());
        assert!(pairs >= 5000, "table too small: {pairs}");
        assert!(
            bad.is_empty(),
            "{} disagreements:\n{}",
            bad.len(),
            bad.join("\n")
        );
        for (a, b, o) in [
            ("1.0~rc1", "1.0", Less),
            ("1.0^git1", "1.0", Greater),
            ("1.0^git1", "1.0.1", Less),
            ("3.0.7-27.el9", "3.0.7-24.el9", Greater),
            ("1:1.0", "2.0", Greater),
        ] {
            assert_eq!(rpm_cmp(a, b), o, "{a} vs {b}");
        }
    }

    fn op(o: Ordering) -> &'static str {
        match o {
            Less => "<",
            Equal => "=",
            Greater => ">",
        }
    }

    /// Every pair of the table generated from OE-core's own
    /// `oe.cve_check.Version` by scripts/gen-yocto-version-pairs.py, in its
    /// three modes; versions OE-core rejects (`!`) are rejected here too.
    #[test]
    fn upstream_orderings_agree_with_oe_core() {
        let table = include_str!("../../../tests/data/yocto-version-pairs.tsv");
        let unesc = |s: &str| {
            s.replace("\\n", "\n")
                .replace("\\t", "\t")
                .replace("\\\\", "\\")
        };
        let (mut pairs, mut invalid, mut bad) = (0, 0, Vec::new());
        for line in table.lines().filter(|l| !l.starts_with('#')) {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 5, "malformed table line {line:?}");
            let (a, b) = (unesc(f[0]), unesc(f[1]));
            pairs += 1;
            for (m, want) in [Suffix::None, Suffix::Alphabetical, Suffix::Patch]
                .into_iter()
                .zip(&f[2..])
            {
                let got = if upstream::parses(&a, m) && upstream::parses(&b, m) {
                    op(upstream_cmp_with(&a, &b, m))
                } else {
                    "!"
                };
                if *want == "!" {
                    invalid += 1;
                }
                if got != *want {
                    bad.push(format!("{m:?}: {a:?} vs {b:?}: OE-core {want}, ours {got}"));
                }
            }
        }
        eprintln!(
            "upstream pairs: {pairs} (rejected: {invalid}), disagreements: {}",
            bad.len()
        );
        assert!(pairs >= 5000, "table too small: {pairs}");
        assert!(
            invalid > 0 && invalid < pairs,
            "rejections {invalid} of {pairs}"
        );
        assert!(
            bad.is_empty(),
            "{} disagreements:\n{}",
            bad.len(),
            bad.join("\n")
        );
        // The cases matching depends on.
        for (a, b, o) in [
            ("6.1.95", "6.1.90", Greater),
            ("3.0.2", "3.0.13", Less),
            ("1.0-rc1", "1.0", Less),
            ("1.2.3+gitAUTOINC+abc", "1.2.3", Equal),
            ("2.36", "2.36.0", Equal),
        ] {
            assert_eq!(upstream_cmp(a, b), o, "{a} vs {b}");
        }
        assert_eq!(upstream_cmp_with("9.6p1", "9.6p2", Suffix::Patch), Less);
        assert_eq!(
            upstream_cmp_with("1.1.1k", "1.1.1l", Suffix::Alphabetical),
            Less
        );
        // A rejected version sorts below every valid one.
        assert_eq!(upstream_cmp("abc", "0"), Less);
        assert!(!upstream_valid("git") && upstream_valid("v1.2"));
    }

    #[test]
    fn semver_orderings() {
        for (a, b, o) in [
            ("1.0.0-alpha", "1.0.0-alpha.1", Less),
            ("1.0.0-alpha.1", "1.0.0-alpha.beta", Less),
            ("1.0.0-beta.2", "1.0.0-beta.11", Less),
            ("1.0.0-rc.1", "1.0.0", Less),
            ("v2.1.0", "2.0.9", Greater),
            ("1.0.0+build.5", "1.0.0", Equal),
        ] {
            assert_eq!(semver_cmp(a, b), o, "{a} vs {b}");
        }
    }
}
