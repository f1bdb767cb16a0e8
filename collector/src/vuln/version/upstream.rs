//! Upstream versions as Yocto's CVE check orders them: a port of OE-core's
//! `oe.cve_check.Version` (meta/lib/oe/cve_check.py), used for the `CPE`
//! ecosystem (NVD / CVE 5 ranges against a recipe's `PV` or a CPE's
//! version). `collector/tests/data/yocto-version-pairs.tsv` holds OE-core's
//! own verdicts (`scripts/gen-yocto-version-pairs.py`).
//!
//! A version is `[r][v]release[patch][pre]rest`: `release` digits joined by
//! `.` or `-` (trailing zero components dropped: `1.0 == 1`), an optional
//! pre-release `rc`/`alpha`/`beta`/`pre`/`preview`/`dev` with an optional
//! number (before the release; the label itself is not compared, so
//! `1.0alpha1 == 1.0rc1`; without a number it sorts below any numbered
//! one), and anything else ignored (`+git…`, `p1` in the default mode).
//! The `patch` mode (`CVE_VERSION_SUFFIX = "patch"`) compares `p1`/`patch1`
//! suffixes, the `alphabetical` mode a letter suffix (`1.1.1k`).

use std::cmp::Ordering;

/// `CVE_VERSION_SUFFIX`: how a suffix after the release is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suffix {
    /// The default: no suffix is compared.
    None,
    /// `1.0b < 1.0r` (a letter right after the release).
    Alphabetical,
    /// `1.0p1 < 1.0p2` (`p` or `patch` and a number).
    Patch,
}

/// A parsed version: the comparison key of OE-core's `_cmpkey`.
#[derive(Debug, Clone, PartialEq)]
struct Key<'a> {
    /// Release components, digits without leading zeros, trailing zero
    /// components dropped.
    release: Vec<&'a [u8]>,
    /// The patch suffix, upper case (empty when none or not compared).
    patch: Vec<u8>,
    /// +inf without pre-release, the pre-release number, -inf without one.
    pre: f64,
}

fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

fn digits(s: &[u8], mut i: usize) -> usize {
    while at(s, i).is_ascii_digit() {
        i += 1;
    }
    i
}

/// Python's `\s` on ASCII text (and the other whitespace we may meet).
fn space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

const PRE: [&[u8]; 6] = [b"rc", b"alpha", b"beta", b"pre", b"preview", b"dev"];

/// Whether `s[i..]` starts with `word`, ASCII case-insensitively.
fn word_at(s: &[u8], i: usize, word: &[u8]) -> bool {
    s.get(i..i + word.len())
        .is_some_and(|w| w.eq_ignore_ascii_case(word))
}

fn is_sep(c: u8) -> bool {
    matches!(c, b'-' | b'_' | b'.')
}

/// The pre-release group at `i`: `[-_.]?(rc|alpha|…)[-_.]?([0-9]+)?`, as
/// Python's backtracking regex takes it; (end, number digits).
fn pre_at(s: &[u8], i: usize) -> Option<(usize, Option<&[u8]>)> {
    let starts: &[usize] = if is_sep(at(s, i)) { &[1, 0] } else { &[0] };
    for &skip in starts {
        let k = i + skip;
        // The first alternative that matches, as Python's regex takes it.
        let Some(w) = PRE.iter().find(|w| word_at(s, k, w)) else {
            continue;
        };
        let k = k + w.len();
        // `[-_.]?` then `([0-9]+)?`: a separator is taken only when
        // digits follow (else the regex gives the separator back).
        if is_sep(at(s, k)) && at(s, k + 1).is_ascii_digit() {
            let e = digits(s, k + 1);
            return Some((e, Some(&s[k + 1..e])));
        }
        if at(s, k).is_ascii_digit() {
            let e = digits(s, k);
            return Some((e, Some(&s[k..e])));
        }
        return Some((k, None));
    }
    None
}

/// Parses `v` as OE-core does; `None` where it raises "Invalid version".
fn parse(v: &str, suffix: Suffix) -> Option<Key<'_>> {
    // `^\s*` … `(.*)?\s*$`: `.` stops at a newline, `$` also matches
    // before a final newline.
    let v = v.trim_start_matches(space);
    let s = v.as_bytes();
    let mut i = 0;
    if matches!(at(s, i), b'r' | b'R') {
        i += 1;
    }
    if matches!(at(s, i), b'v' | b'V') {
        i += 1;
    }
    // Backtracking over the optional prefix letters cannot put a digit here.
    if !at(s, i).is_ascii_digit() {
        return None;
    }
    let mut release = Vec::new();
    loop {
        let e = digits(s, i);
        release.push(&s[i..e]);
        i = e;
        if matches!(at(s, i), b'.' | b'-') && at(s, i + 1).is_ascii_digit() {
            i += 1;
        } else {
            break;
        }
    }
    let mut patch = Vec::new();
    match suffix {
        Suffix::None => {}
        Suffix::Alphabetical => {
            // `[-_.]?([a-z])`
            let k = if is_sep(at(s, i)) && at(s, i + 1).is_ascii_alphabetic() {
                i + 1
            } else {
                i
            };
            if at(s, k).is_ascii_alphabetic() {
                patch = vec![at(s, k).to_ascii_uppercase()];
                i = k + 1;
            }
        }
        Suffix::Patch => {
            // `[-_.]?(p|patch)([0-9]+)`
            let k = if is_sep(at(s, i)) { i + 1 } else { i };
            for (k, w) in [(k, &b"patch"[..]), (k, b"p"), (i, b"patch"), (i, b"p")] {
                if word_at(s, k, w) && at(s, k + w.len()).is_ascii_digit() {
                    let e = digits(s, k + w.len());
                    patch = s[k + w.len()..e].to_vec();
                    i = e;
                    break;
                }
            }
        }
    }
    let pre = match pre_at(s, i) {
        None => f64::INFINITY,
        Some((_, Some(n))) => std::str::from_utf8(n)
            .ok()
            .and_then(|n| n.parse::<f64>().ok())
            .unwrap_or(f64::INFINITY),
        Some((_, None)) => f64::NEG_INFINITY,
    };
    // The rest, `(.*)?\s*$`: anything up to a newline that only
    // whitespace (or a single final newline) may follow.
    let rest = &v[i..];
    if let Some(nl) = rest.find('\n') {
        if !rest[nl..].chars().all(space) {
            return None;
        }
    }
    let mut release: Vec<&[u8]> = release
        .into_iter()
        .map(|d| {
            let z = d.iter().take_while(|&&c| c == b'0').count();
            &d[z..]
        })
        .collect();
    while release.last().is_some_and(|d| d.is_empty()) {
        release.pop();
    }
    Some(Key {
        release,
        patch,
        pre,
    })
}

fn cmp_keys(a: &Key, b: &Key) -> Ordering {
    let num = |x: &[u8], y: &[u8]| x.len().cmp(&y.len()).then_with(|| x.cmp(y));
    for k in 0..a.release.len().max(b.release.len()) {
        match (a.release.get(k), b.release.get(k)) {
            (Some(x), Some(y)) => match num(x, y) {
                Ordering::Equal => {}
                o => return o,
            },
            (Some(_), None) => return Ordering::Greater,
            (None, Some(_)) => return Ordering::Less,
            (None, None) => {}
        }
    }
    a.patch
        .cmp(&b.patch)
        .then_with(|| a.pre.partial_cmp(&b.pre).unwrap_or(Ordering::Equal))
}

/// Whether OE-core accepts `v` in mode `suffix`.
#[cfg(test)]
pub(super) fn parses(v: &str, suffix: Suffix) -> bool {
    parse(v, suffix).is_some()
}

/// Whether OE-core accepts `v` as a version (in the default mode).
pub fn upstream_valid(v: &str) -> bool {
    parse(v, Suffix::None).is_some()
}

/// OE-core's `Version(a, suffix)` against `Version(b, suffix)`. A version
/// OE-core rejects sorts below every valid one, invalid ones by their text
/// (OE-core skips the comparison; an order is still needed, never a panic).
pub fn upstream_cmp_with(a: &str, b: &str, suffix: Suffix) -> Ordering {
    match (parse(a, suffix), parse(b, suffix)) {
        (Some(x), Some(y)) => cmp_keys(&x, &y),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => a.cmp(b),
    }
}

/// OE-core's default ordering (`CVE_VERSION_SUFFIX = ""`): the ordering of
/// the `CPE` ecosystem.
pub fn upstream_cmp(a: &str, b: &str) -> Ordering {
    upstream_cmp_with(a, b, Suffix::None)
}

/// The suffix mode two versions' own shapes call for: `patch` when either
/// carries `p<N>`/`patch<N>` right after its release (`9.3p1`), else
/// `alphabetical` when either carries one letter there and nothing more
/// (`1.1.1w`), else the default. OE-core needs the recipe to say so
/// (`CVE_VERSION_SUFFIX`); a CPE range from NVD says nothing, and treating
/// `9.3p1 == 9.3p2` (the default) would report a fixed OpenSSH as affected.
pub fn suffix_of(a: &str, b: &str) -> Suffix {
    let shape = |v: &str| -> Suffix {
        let s = v.trim_start_matches(space).as_bytes();
        let mut i = 0;
        while matches!(at(s, i), b'r' | b'R' | b'v' | b'V') && i < 2 {
            i += 1;
        }
        if !at(s, i).is_ascii_digit() {
            return Suffix::None;
        }
        while at(s, i).is_ascii_digit()
            || (matches!(at(s, i), b'.' | b'-') && at(s, i + 1).is_ascii_digit())
        {
            i += 1;
        }
        let k = if is_sep(at(s, i)) { i + 1 } else { i };
        for w in [&b"patch"[..], b"p"] {
            if word_at(s, k, w) && at(s, k + w.len()).is_ascii_digit() {
                return Suffix::Patch;
            }
        }
        if at(s, i).is_ascii_alphabetic() && !at(s, i + 1).is_ascii_alphanumeric() {
            return Suffix::Alphabetical;
        }
        Suffix::None
    };
    match (shape(a), shape(b)) {
        (Suffix::Patch, _) | (_, Suffix::Patch) => Suffix::Patch,
        (Suffix::Alphabetical, _) | (_, Suffix::Alphabetical) => Suffix::Alphabetical,
        _ => Suffix::None,
    }
}

/// The ordering of the `CPE` ecosystem: OE-core's, in the suffix mode the
/// two versions' shapes call for ([`suffix_of`]).
pub fn cpe_cmp(a: &str, b: &str) -> Ordering {
    upstream_cmp_with(a, b, suffix_of(a, b))
}
