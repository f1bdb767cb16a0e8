//! Version orderings of the ecosystems whose advisories we match:
//! Debian (dpkg: epoch, upstream, revision; `~` sorts before everything),
//! Alpine (apk-tools: numeric components, letter, `_alpha`… suffixes,
//! `-rN`), and SemVer 2.0 (pre-releases before the release).

use std::cmp::Ordering;

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
        let (epoch, rest) = match v.split_once(':') {
            Some((e, r)) if e.bytes().all(|c| c.is_ascii_digit()) && !e.is_empty() => {
                (e.parse().unwrap_or(0), r)
            }
            _ => (0, v),
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

/// apk-tools version comparison (`apk version -t`): dotted numbers, an
/// optional letter, suffixes `_alpha < _beta < _pre < _rc < (none) < _cvs <
/// _svn < _git < _hg < _p`, then `-rN`.
pub fn apk_cmp(a: &str, b: &str) -> Ordering {
    fn suffix_rank(s: &str) -> i32 {
        match s {
            "alpha" => -4,
            "beta" => -3,
            "pre" => -2,
            "rc" => -1,
            "cvs" => 1,
            "svn" => 2,
            "git" => 3,
            "hg" => 4,
            "p" => 5,
            _ => 0,
        }
    }
    // (numbers, letter, suffixes [(rank, n)], revision)
    fn parse(v: &str) -> (Vec<u64>, u8, Vec<(i32, u64)>, u64) {
        let v = v.trim();
        let (main, rev) = match v.rsplit_once("-r") {
            Some((m, r)) if r.bytes().all(|c| c.is_ascii_digit()) && !r.is_empty() => {
                (m, r.parse().unwrap_or(0))
            }
            _ => (v, 0),
        };
        let mut parts = main.split('_');
        let head = parts.next().unwrap_or("");
        let mut nums = Vec::new();
        let mut letter = 0u8;
        for (i, seg) in head.split('.').enumerate() {
            let digits: String = seg.chars().take_while(|c| c.is_ascii_digit()).collect();
            nums.push(digits.parse().unwrap_or(0));
            let rest = &seg[digits.len()..];
            if let Some(l) = rest.bytes().next() {
                if i == head.split('.').count() - 1 {
                    letter = l;
                }
            }
        }
        let suffixes = parts
            .map(|s| {
                let name: String = s.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
                let n = s[name.len()..].parse().unwrap_or(0);
                (suffix_rank(&name), n)
            })
            .collect();
        (nums, letter, suffixes, rev)
    }
    let (na, la, sa, ra) = parse(a);
    let (nb, lb, sb, rb) = parse(b);
    for k in 0..na.len().max(nb.len()) {
        match (na.get(k), nb.get(k)) {
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            (Some(_), None) => return Ordering::Greater,
            (None, Some(_)) => return Ordering::Less,
            _ => {}
        }
    }
    la.cmp(&lb)
        .then_with(|| {
            for k in 0..sa.len().max(sb.len()) {
                let x = sa.get(k).copied().unwrap_or((0, 0));
                let y = sb.get(k).copied().unwrap_or((0, 0));
                if x != y {
                    return x.cmp(&y);
                }
            }
            Ordering::Equal
        })
        .then_with(|| ra.cmp(&rb))
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
        ] {
            assert_eq!(apk_cmp(a, b), o, "{a} vs {b}");
            assert_eq!(apk_cmp(b, a), o.reverse(), "{b} vs {a}");
        }
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
