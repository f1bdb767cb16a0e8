//! Tokenising a line as sshd does: the keyword (`strdelim`) and its
//! arguments (`argv_split`).

const WS: &[u8] = b" \t\r\n";

fn skip_ws(s: &str) -> &str {
    s.trim_start_matches(|c: char| c.is_ascii() && WS.contains(&(c as u8)))
}

/// OpenSSH `strdelim`: the next token, split at whitespace, one `=`, or a
/// double-quoted run. Ok((token, rest)); rest None when the string ended;
/// Err when a quote is not closed.
pub(super) fn strdelim(s: &str) -> Result<(String, Option<&str>), ()> {
    let b = s.as_bytes();
    let Some(p) = b
        .iter()
        .position(|c| WS.contains(c) || *c == b'"' || *c == b'=')
    else {
        return Ok((s.to_string(), None));
    };
    if b[p] == b'"' {
        let after = &s[p + 1..];
        let q = after.find('"').ok_or(())?;
        let tok = format!("{}{}", &s[..p], &after[..q]);
        return Ok((tok, Some(skip_ws(&after[q + 1..]))));
    }
    let eq = b[p] == b'=';
    let mut r = skip_ws(&s[p + 1..]);
    if !eq {
        if let Some(x) = r.strip_prefix('=') {
            r = skip_ws(x);
        }
    }
    Ok((s[..p].to_string(), Some(r)))
}

/// OpenSSH `argv_split(s, …, terminate_on_comment = 1)`. None: unbalanced quotes.
pub fn argv_split(s: &str) -> Option<Vec<String>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b' ' || b[i] == b'\t' {
            i += 1;
            continue;
        }
        if b[i] == b'#' {
            break;
        }
        let mut arg = Vec::new();
        let mut quote = 0u8;
        while i < b.len() {
            let c = b[i];
            if c == b'\\' {
                match b.get(i + 1) {
                    Some(&n)
                        if n == b'\'' || n == b'"' || n == b'\\' || (quote == 0 && n == b' ') =>
                    {
                        i += 1;
                        arg.push(n);
                    }
                    _ => arg.push(c),
                }
            } else if quote == 0 && (c == b' ' || c == b'\t') {
                break;
            } else if quote == 0 && (c == b'"' || c == b'\'') {
                quote = c;
            } else if quote != 0 && c == quote {
                quote = 0;
            } else {
                arg.push(c);
            }
            i += 1;
        }
        if quote != 0 {
            return None;
        }
        out.push(String::from_utf8_lossy(&arg).into_owned());
    }
    Some(out)
}

/// Splits a configuration line into (keyword, rest) as sshd does; None for
/// blank lines, comments and lines sshd skips.
pub(super) fn keyword_split(raw: &str) -> Option<(String, &str)> {
    let l = raw.trim_start_matches([' ', '\t', '\r']);
    let mut end = l.len();
    while end > 1
        && matches!(
            l.as_bytes()[end - 1],
            b' ' | b'\t' | b'\r' | b'\n' | b'\x0c'
        )
    {
        end -= 1;
    }
    let l = &l[..end];
    if l.is_empty() {
        return None;
    }
    let (mut kw, mut rest) = strdelim(l).ok()?;
    if kw.is_empty() {
        (kw, rest) = strdelim(rest?).ok()?;
    }
    if kw.is_empty() || kw.starts_with('#') {
        return None;
    }
    Some((kw, rest.unwrap_or("")))
}
