//! `Include` expansion: glob(3) over the root-confined view, as sshd calls it
//! (sorted, no `~`, dot files only for patterns starting with `.`).

use super::matching::{match_toks, Tok};
use super::MAX_FILES;

/// Compiles one glob(3) path segment (`*`, `?`, `[...]`, `\` escapes).
fn glob_toks(seg: &str) -> Vec<Tok> {
    let b = seg.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'*' => out.push(Tok::Star),
            b'?' => out.push(Tok::Any),
            b'\\' if i + 1 < b.len() => {
                i += 1;
                out.push(Tok::Lit(b[i]));
            }
            b'[' => match bracket(&b[i + 1..]) {
                Some((t, n)) => {
                    out.push(t);
                    i += n;
                }
                None => out.push(Tok::Lit(b'[')),
            },
            c => out.push(Tok::Lit(c)),
        }
        i += 1;
    }
    out
}

/// A bracket expression after `[`: the token and the bytes used (to `]`).
fn bracket(b: &[u8]) -> Option<(Tok, usize)> {
    let mut i = 0;
    let neg = matches!(b.first(), Some(b'!') | Some(b'^'));
    if neg {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *b.get(i)?;
        if c == b']' && !first {
            return Some((Tok::Class(neg, ranges), i + 1));
        }
        first = false;
        if c == b'[' && b.get(i + 1) == Some(&b':') {
            let rest = &b[i + 2..];
            let end = rest.windows(2).position(|w| w == b":]")?;
            let class = &rest[..end];
            let add: &[(u8, u8)] = match class {
                b"alpha" => &[(b'a', b'z'), (b'A', b'Z')],
                b"digit" => &[(b'0', b'9')],
                b"alnum" => &[(b'a', b'z'), (b'A', b'Z'), (b'0', b'9')],
                b"lower" => &[(b'a', b'z')],
                b"upper" => &[(b'A', b'Z')],
                b"space" => &[(b' ', b' '), (b'\t', b'\r')],
                b"xdigit" => &[(b'0', b'9'), (b'a', b'f'), (b'A', b'F')],
                b"punct" => &[(b'!', b'/'), (b':', b'@'), (b'[', b'`'), (b'{', b'~')],
                _ => return None,
            };
            ranges.extend_from_slice(add);
            i += 2 + end + 2;
            continue;
        }
        let (lo, n) = if c == b'\\' {
            (*b.get(i + 1)?, 2)
        } else {
            (c, 1)
        };
        i += n;
        if b.get(i) == Some(&b'-') && b.get(i + 1).is_some_and(|c| *c != b']') {
            let c2 = b[i + 1];
            let (hi, n2) = if c2 == b'\\' {
                (*b.get(i + 2)?, 2)
            } else {
                (c2, 1)
            };
            i += 1 + n2;
            ranges.push((lo, hi));
        } else {
            ranges.push((lo, lo));
        }
    }
}

fn has_magic(seg: &str) -> bool {
    seg.contains(['*', '?', '['])
}

fn unescape(seg: &str) -> String {
    let mut out = String::new();
    let mut esc = false;
    for c in seg.chars() {
        if c == '\\' && !esc {
            esc = true;
            continue;
        }
        esc = false;
        out.push(c);
    }
    out
}

/// Whether glob(3) matches `name` against one pattern segment: wildcards
/// never match a leading `.`.
pub fn glob_segment(seg: &str, name: &str) -> bool {
    segment_match(&glob_toks(seg), name)
}

fn segment_match(toks: &[Tok], name: &str) -> bool {
    if name.starts_with('.') && toks.first() != Some(&Tok::Lit(b'.')) {
        return false;
    }
    match_toks(toks, name.as_bytes())
}

/// Expands an absolute glob(3) pattern through `files`, sorted. At most
/// `*lists` more directory listings (decremented); matches beyond
/// [`MAX_FILES`] are dropped (the caller then reports too many files).
pub(super) fn glob_paths(files: &dyn Files, pattern: &str, lists: &mut usize) -> Vec<String> {
    let mut bases = vec![String::new()];
    let segs: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    for seg in segs {
        let mut next = Vec::new();
        let toks = glob_toks(seg);
        for b in &bases {
            if has_magic(seg) {
                if *lists == 0 {
                    break;
                }
                *lists -= 1;
                let dir = if b.is_empty() { "/" } else { b.as_str() };
                let mut names = files.list(dir);
                names.retain(|n| segment_match(&toks, n));
                next.extend(names.into_iter().map(|n| format!("{b}/{n}")));
            } else {
                next.push(format!("{b}/{}", unescape(seg)));
            }
            if next.len() > MAX_FILES {
                next.truncate(MAX_FILES + 1);
                break;
            }
        }
        bases = next;
    }
    bases.sort();
    bases
}

/// Access to files for `Include`: list a directory (file names), read a file.
pub trait Files {
    fn list(&self, dir: &str) -> Vec<String>;
    fn read(&self, path: &str) -> Option<Result<String, String>>;
}
