//! Parser for Debian-control-style paragraphs (deb822 / RFC 822 like), the format
//! of dpkg's and opkg's status databases.
//!
//! Zero-copy: field names and the first line of each value borrow from the input.
//! Continuation lines (starting with space or tab) are validated and skipped; the
//! fields the inventory needs are all single-line.

/// One paragraph: fields in file order, with the 1-based line where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paragraph<'a> {
    pub line: u64,
    pub fields: Vec<(&'a str, &'a str)>,
}

impl<'a> Paragraph<'a> {
    /// Value of the first field named `key` (case-insensitive, as in deb822).
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| *v)
    }
}

/// A malformed line. The paragraph holding it is dropped; parsing goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: u64,
    pub message: String,
}

/// Parses all paragraphs of `text`.
pub fn parse(text: &str) -> (Vec<Paragraph<'_>>, Vec<SyntaxError>) {
    let mut paras = Vec::new();
    let mut errors = Vec::new();
    let mut cur: Option<Paragraph> = None;
    let mut bad = false;
    for (idx, raw) in text.split('\n').enumerate() {
        let lineno = idx as u64 + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            if let Some(p) = cur.take() {
                if !bad {
                    paras.push(p);
                }
            }
            bad = false;
            continue;
        }
        if line.starts_with('#') && cur.is_none() {
            continue;
        }
        let para = cur.get_or_insert_with(|| Paragraph {
            line: lineno,
            fields: Vec::new(),
        });
        if line.starts_with(' ') || line.starts_with('\t') {
            if para.fields.is_empty() && !bad {
                errors.push(SyntaxError {
                    line: lineno,
                    message: "continuation line without a field before it".into(),
                });
                bad = true;
            }
            continue;
        }
        match line.split_once(':') {
            Some((k, v)) if !k.is_empty() && !k.contains(char::is_whitespace) => {
                para.fields.push((k, v.trim()));
            }
            _ => {
                if !bad {
                    errors.push(SyntaxError {
                        line: lineno,
                        message: format!("expected 'Field: value', found {:?}", truncate(line, 60)),
                    });
                }
                bad = true;
            }
        }
    }
    if let Some(p) = cur.take() {
        if !bad {
            paras.push(p);
        }
    }
    (paras, errors)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paragraphs_with_continuations() {
        let t = "Package: a\nVersion: 1\nDescription: x\n long\n .\n more\n\n\nPackage: b\r\nVersion: 2\r\n";
        let (p, e) = parse(t);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].get("package"), Some("a"));
        assert_eq!(p[0].get("Description"), Some("x"));
        assert_eq!(p[1].line, 9);
        assert_eq!(p[1].get("Version"), Some("2"));
        assert_eq!(p[1].get("Missing"), None);
    }

    #[test]
    fn bad_line_drops_only_its_paragraph_and_names_the_line() {
        let t = "Package: a\nVersion: 1\n\nPackage: b\nthis is garbage\nVersion: 2\n\nPackage: c\nVersion: 3\n";
        let (p, e) = parse(t);
        assert_eq!(
            p.iter()
                .map(|p| p.get("Package").unwrap())
                .collect::<Vec<_>>(),
            ["a", "c"]
        );
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].line, 5);
        assert!(e[0].message.contains("garbage"));
    }

    #[test]
    fn leading_continuation_is_an_error() {
        let (p, e) = parse(" orphan\nPackage: x\n");
        assert!(p.is_empty());
        assert_eq!(e[0].line, 1);
    }

    #[test]
    fn empty_input_is_empty() {
        let (p, e) = parse("");
        assert!(p.is_empty() && e.is_empty());
    }
}
