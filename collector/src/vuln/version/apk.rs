//! Alpine's orderings: ports of apk-tools 2.14's and apk-tools 3's
//! `src/version.c`, and the choice between them by release.

use std::cmp::Ordering;

/// apk-tools 2.14's version comparison (`apk version -t`, Alpine up to
/// 3.22), a port of its `src/version.c`: tokens `digit{.digit}…{letter}
/// {_suffix{#}}…{-r#}`; a component after a dot with leading zeros sorts
/// below one without (`1.004 < 1.01`, `1.00 < 1.0`); suffixes are matched
/// by prefix, `_alpha < _beta < _pre < _rc < (none)` and `_cvs < _svn <
/// _git < _hg < _p` after it; a version without `-rN` sorts before `-r0`.
/// Invalid versions compare as apk-tools compares them (never a panic);
/// `collector/tests/data/apk-version-pairs.tsv` holds apk-tools' verdicts.
pub fn apk_cmp(a: &str, b: &str) -> Ordering {
    apk214::compare(c_str(a), c_str(b))
}

/// apk-tools 3's version comparison (Alpine 3.23 and later), a port of its
/// `src/version.c`: as 2.14 but a component with a leading zero compares
/// as a string (`1.0 < 1.00`), suffixes must match exactly, `~hash` is
/// allowed before `-rN`, and an unknown token makes the rest unordered.
pub fn apk3_cmp(a: &str, b: &str) -> Ordering {
    apk3::compare(c_str(a), c_str(b))
}

/// The apk ordering of an OSV ecosystem (`Alpine:v3.19`): apk-tools 3 from
/// Alpine 3.23 and for `edge`, apk-tools 2.14 before (and when the release
/// is not said).
pub fn apk_ordering(ecosystem: &str) -> fn(&str, &str) -> Ordering {
    let release = ecosystem
        .split_once(':')
        .map(|(_, r)| r.trim_start_matches('v'));
    let v3 = match release {
        Some("edge") => true,
        Some(r) => {
            let mut it = r.split('.').map(|n| n.parse::<u32>().ok());
            matches!((it.next().flatten(), it.next().flatten()), (Some(maj), Some(min)) if maj > 3 || (maj == 3 && min >= 23))
        }
        None => false,
    };
    if v3 {
        apk3_cmp
    } else {
        apk_cmp
    }
}

/// The argument as apk-tools sees a C string: up to the first NUL.
fn c_str(v: &str) -> &[u8] {
    let b = v.as_bytes();
    &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
}

mod apk214 {
    use std::cmp::Ordering;

    // Token types, in apk-tools 2.14's order (INVALID = -1).
    const INVALID: i8 = -1;
    const DIGIT_OR_ZERO: i8 = 0;
    const DIGIT: i8 = 1;
    const LETTER: i8 = 2;
    const SUFFIX: i8 = 3;
    const SUFFIX_NO: i8 = 4;
    const REVISION_NO: i8 = 5;
    const END: i8 = 6;

    fn next_token(ty: &mut i8, b: &mut &[u8]) {
        let mut n = INVALID;
        if b.is_empty() {
            n = END;
        } else if (*ty == DIGIT || *ty == DIGIT_OR_ZERO) && b[0].is_ascii_lowercase() {
            n = LETTER;
        } else if *ty == LETTER && b[0].is_ascii_digit() {
            n = DIGIT;
        } else if *ty == SUFFIX && b[0].is_ascii_digit() {
            n = SUFFIX_NO;
        } else {
            match b[0] {
                b'.' => n = DIGIT_OR_ZERO,
                b'_' => n = SUFFIX,
                b'-' if b.len() > 1 && b[1] == b'r' => {
                    n = REVISION_NO;
                    *b = &b[1..];
                }
                _ => {}
            }
            *b = &b[1..];
        }
        if n < *ty
            && !((n == DIGIT_OR_ZERO && *ty == DIGIT)
                || (n == SUFFIX && *ty == SUFFIX_NO)
                || (n == DIGIT && *ty == LETTER))
        {
            n = INVALID;
        }
        *ty = n;
    }

    fn get_token(ty: &mut i8, b: &mut &[u8]) -> i64 {
        const PRE: [&[u8]; 4] = [b"alpha", b"beta", b"pre", b"rc"];
        const POST: [&[u8]; 5] = [b"cvs", b"svn", b"git", b"hg", b"p"];
        if b.is_empty() {
            *ty = END;
            return 0;
        }
        let mut i = 0usize;
        let mut nt = INVALID;
        let v: i64;
        match *ty {
            DIGIT_OR_ZERO if b[0] == b'0' => {
                // Leading zeros: one less per further zero, then the rest
                // of the component from its last zero on.
                while i + 1 < b.len() && b[i + 1] == b'0' {
                    i += 1;
                }
                nt = DIGIT;
                v = -(i as i64);
            }
            DIGIT_OR_ZERO | DIGIT | SUFFIX_NO | REVISION_NO => {
                let mut n = 0i64;
                while i < b.len() && b[i].is_ascii_digit() {
                    n = n.wrapping_mul(10).wrapping_add(i64::from(b[i] - b'0'));
                    i += 1;
                }
                if i >= 18 {
                    *ty = INVALID;
                    return -1;
                }
                v = n;
            }
            LETTER => {
                v = i64::from(b[0]);
                i = 1;
            }
            SUFFIX => {
                if let Some(k) = PRE.iter().position(|s| b.starts_with(s)) {
                    i = PRE[k].len();
                    v = k as i64 - PRE.len() as i64;
                } else if let Some(k) = POST.iter().position(|s| b.starts_with(s)) {
                    i = POST[k].len();
                    v = k as i64;
                } else {
                    *ty = INVALID;
                    return -1;
                }
            }
            _ => {
                *ty = INVALID;
                return -1;
            }
        }
        *b = &b[i..];
        if b.is_empty() {
            *ty = END;
        } else if nt != INVALID {
            *ty = nt;
        } else {
            next_token(ty, b);
        }
        v
    }

    pub(super) fn compare(mut a: &[u8], mut b: &[u8]) -> Ordering {
        let (mut at, mut bt) = (DIGIT, DIGIT);
        let (mut av, mut bv) = (0i64, 0i64);
        while at == bt && at != END && at != INVALID && av == bv {
            av = get_token(&mut at, &mut a);
            bv = get_token(&mut bt, &mut b);
        }
        if av != bv {
            return av.cmp(&bv);
        }
        if at == bt {
            return Ordering::Equal;
        }
        // Equal so far: the longer version is greater unless what follows
        // is a pre-release suffix.
        let mut tt = at;
        if at == SUFFIX && get_token(&mut tt, &mut a) < 0 {
            return Ordering::Less;
        }
        tt = bt;
        if bt == SUFFIX && get_token(&mut tt, &mut b) < 0 {
            return Ordering::Greater;
        }
        bt.cmp(&at)
    }
}

mod apk3 {
    use std::cmp::Ordering;

    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Tok {
        InitialDigit,
        Digit,
        Letter,
        Suffix,
        SuffixNo,
        CommitHash,
        RevisionNo,
        End,
        Invalid,
    }

    // Suffix values: invalid 0, alpha 1 … rc 4, none 5, cvs 6 … p 10.
    const SUFFIX_NONE: u8 = 5;

    fn suffix_value(s: &[u8]) -> u8 {
        const ALL: [&[u8]; 11] = [
            b"", b"alpha", b"beta", b"pre", b"rc", b"", b"cvs", b"svn", b"git", b"hg", b"p",
        ];
        match ALL.iter().position(|x| !x.is_empty() && *x == s) {
            Some(k) => k as u8,
            None => 0,
        }
    }

    struct State<'a> {
        token: Tok,
        suffix: u8,
        number: u64,
        value: &'a [u8],
    }

    fn parse_digits<'a>(t: &mut State<'a>, b: &mut &'a [u8]) {
        let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
        t.number = b[..n].iter().fold(0u64, |acc, &c| {
            acc.wrapping_mul(10).wrapping_add(u64::from(c - b'0'))
        });
        t.value = &b[..n];
        *b = &b[n..];
        if n == 0 {
            t.token = Tok::Invalid;
        }
    }

    fn first<'a>(b: &mut &'a [u8]) -> State<'a> {
        let mut t = State {
            token: Tok::InitialDigit,
            suffix: 0,
            number: 0,
            value: &[],
        };
        parse_digits(&mut t, b);
        t
    }

    fn span<'a>(b: &mut &'a [u8], f: impl Fn(u8) -> bool) -> &'a [u8] {
        let n = b.iter().take_while(|&&c| f(c)).count();
        let (l, r) = b.split_at(n);
        *b = r;
        l
    }

    fn next<'a>(t: &mut State<'a>, b: &mut &'a [u8]) {
        let Some(&c) = b.first() else {
            t.token = Tok::End;
            return;
        };
        t.token = match c {
            b'a'..=b'z' if t.token <= Tok::Digit => {
                t.value = &b[..1];
                *b = &b[1..];
                Tok::Letter
            }
            b'.' | b'0'..=b'9' => {
                if c == b'.' {
                    if t.token > Tok::Digit {
                        t.token = Tok::Invalid;
                        return;
                    }
                    *b = &b[1..];
                }
                t.token = match t.token {
                    Tok::InitialDigit | Tok::Digit => Tok::Digit,
                    Tok::Suffix => Tok::SuffixNo,
                    _ => {
                        t.token = Tok::Invalid;
                        return;
                    }
                };
                parse_digits(t, b);
                return;
            }
            b'_' if t.token <= Tok::SuffixNo => {
                *b = &b[1..];
                t.value = span(b, |c| c.is_ascii_lowercase());
                t.suffix = suffix_value(t.value);
                if t.suffix == 0 {
                    Tok::Invalid
                } else {
                    Tok::Suffix
                }
            }
            b'~' if t.token < Tok::CommitHash => {
                *b = &b[1..];
                t.value = span(b, |c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
                if t.value.is_empty() {
                    Tok::Invalid
                } else {
                    Tok::CommitHash
                }
            }
            b'-' if t.token < Tok::RevisionNo => {
                if !b.starts_with(b"-r") {
                    t.token = Tok::Invalid;
                    return;
                }
                *b = &b[2..];
                t.token = Tok::RevisionNo;
                parse_digits(t, b);
                return;
            }
            _ => Tok::Invalid,
        };
    }

    fn token_cmp(ta: &State, tb: &State) -> Ordering {
        match ta.token {
            Tok::Digit if ta.value.first() == Some(&b'0') || tb.value.first() == Some(&b'0') => {
                ta.value.cmp(tb.value)
            }
            Tok::Digit | Tok::InitialDigit | Tok::SuffixNo | Tok::RevisionNo => {
                ta.number.cmp(&tb.number)
            }
            Tok::Letter => ta.value.first().cmp(&tb.value.first()),
            Tok::Suffix => ta.suffix.cmp(&tb.suffix),
            _ => ta.value.cmp(tb.value),
        }
    }

    pub(super) fn compare(mut a: &[u8], mut b: &[u8]) -> Ordering {
        let mut ta = first(&mut a);
        let mut tb = first(&mut b);
        while ta.token == tb.token && ta.token < Tok::End {
            let r = token_cmp(&ta, &tb);
            if r != Ordering::Equal {
                return r;
            }
            next(&mut ta, &mut a);
            next(&mut tb, &mut b);
        }
        if ta.token == tb.token {
            return Ordering::Equal;
        }
        if ta.token == Tok::Suffix && ta.suffix < SUFFIX_NONE {
            return Ordering::Less;
        }
        if tb.token == Tok::Suffix && tb.suffix < SUFFIX_NONE {
            return Ordering::Greater;
        }
        tb.token.cmp(&ta.token)
    }
}
