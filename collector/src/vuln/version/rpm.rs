//! RPM's ordering: a port of rpm's `rpmvercmp` (rpmio/rpmvercmp.c) and of
//! the EVR comparison around it (`rpmverParse`, `rpmverCmp`), which
//! `rpm.vercmp()` and OSV's RPM ecosystems (Red Hat, AlmaLinux, Rocky
//! Linux, openSUSE, SUSE) use. `collector/tests/data/rpm-version-pairs.tsv`
//! holds rpm's own verdicts (`scripts/gen-rpm-version-pairs.py`).

use std::cmp::Ordering;

/// `rpmvercmp(a, b)`: alphanumeric segments, separators skipped; `~`
/// sorts before everything (even the end), `^` after the end but before
/// any further segment; numbers compare by value (longer wins after
/// leading zeros), a number beats letters; the side with something left
/// over wins. Bytes as rpm sees a C string: up to the first NUL.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    vercmp(c_str(a), c_str(b))
}

fn vercmp(a: &[u8], b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut i, mut j) = (0usize, 0usize);
    let at = |s: &[u8], k: usize| s.get(k).copied().unwrap_or(0);
    let sep = |c: u8| c != 0 && !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    while at(a, i) != 0 || at(b, j) != 0 {
        while sep(at(a, i)) {
            i += 1;
        }
        while sep(at(b, j)) {
            j += 1;
        }
        let (x, y) = (at(a, i), at(b, j));
        if x == b'~' || y == b'~' {
            if x != b'~' {
                return Ordering::Greater;
            }
            if y != b'~' {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if x == b'^' || y == b'^' {
            if x == 0 {
                return Ordering::Less;
            }
            if y == 0 {
                return Ordering::Greater;
            }
            if x != b'^' {
                return Ordering::Greater;
            }
            if y != b'^' {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if x == 0 || y == 0 {
            break;
        }
        let isnum = x.is_ascii_digit();
        let class = |c: u8| {
            if isnum {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let (mut e1, mut e2) = (i, j);
        while class(at(a, e1)) {
            e1 += 1;
        }
        while class(at(b, e2)) {
            e2 += 1;
        }
        if e2 == j {
            return if isnum {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (mut s1, mut s2) = (&a[i..e1], &b[j..e2]);
        if isnum {
            while s1.first() == Some(&b'0') {
                s1 = &s1[1..];
            }
            while s2.first() == Some(&b'0') {
                s2 = &s2[1..];
            }
            match s1.len().cmp(&s2.len()) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        match s1.cmp(s2) {
            Ordering::Equal => {}
            o => return o,
        }
        i = e1;
        j = e2;
    }
    match (at(a, i), at(b, j)) {
        (0, 0) => Ordering::Equal,
        (0, _) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

/// `[epoch:]version[-release]` as rpm parses it: the epoch is the leading
/// digits when a `:` follows them, the release what follows the last `-`
/// after it.
fn evr(v: &[u8]) -> (&[u8], &[u8], Option<&[u8]>) {
    let digits = v.iter().take_while(|c| c.is_ascii_digit()).count();
    let (epoch, rest) = if v.get(digits) == Some(&b':') {
        let e = &v[..digits];
        (if e.is_empty() { &b"0"[..] } else { e }, &v[digits + 1..])
    } else {
        (&b"0"[..], v)
    };
    match rest.iter().rposition(|&c| c == b'-') {
        Some(k) => (epoch, &rest[..k], Some(&rest[k + 1..])),
        None => (epoch, rest, None),
    }
}

/// RPM's EVR comparison (rpm 4.18's `rpmverCmp`, what `rpm.vercmp()`
/// answers): epochs (missing = 0), versions, then releases — a version
/// with a release (even an empty one) above the same version without.
pub fn rpm_cmp(a: &str, b: &str) -> Ordering {
    let (ea, va, ra) = evr(c_str(a));
    let (eb, vb, rb) = evr(c_str(b));
    vercmp(ea, eb)
        .then_with(|| vercmp(va, vb))
        .then_with(|| match (ra, rb) {
            (Some(x), Some(y)) => vercmp(x, y),
            (a, b) => a.is_some().cmp(&b.is_some()),
        })
}

fn c_str(v: &str) -> &[u8] {
    let b = v.as_bytes();
    &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
}
