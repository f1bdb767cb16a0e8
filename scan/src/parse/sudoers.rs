//! sudoers(5): logical lines (backslash continuation), `Defaults`, aliases,
//! user specifications, and the include directives (`#include`, `@include`,
//! `#includedir`, `@includedir`), resolved by the caller.

use super::LineError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Defaults {
        scope: String,
        params: String,
    },
    Alias {
        kind: String,
        body: String,
    },
    Include {
        path: String,
        dir: bool,
    },
    /// `who hosts = (runas) TAG: cmds, ...`
    Spec {
        who: String,
        rest: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub line: u64,
    pub entry: Entry,
}

/// Parses one sudoers file.
pub fn parse(text: &str) -> (Vec<Line>, Vec<LineError>) {
    let mut out = Vec::new();
    let mut errs = Vec::new();
    let mut buf = String::new();
    let mut start = 0u64;
    for (i, raw) in text.split('\n').enumerate() {
        let lineno = i as u64 + 1;
        let l = raw.strip_suffix('\r').unwrap_or(raw);
        if buf.is_empty() {
            start = lineno;
        }
        if let Some(c) = l.strip_suffix('\\') {
            buf.push_str(c);
            buf.push(' ');
            continue;
        }
        buf.push_str(l);
        let logical = std::mem::take(&mut buf);
        let t = logical.trim();
        if t.is_empty() {
            continue;
        }
        for (prefix, dir) in [
            ("#includedir", true),
            ("@includedir", true),
            ("#include", false),
            ("@include", false),
        ] {
            if let Some(p) = t.strip_prefix(prefix) {
                if p.starts_with(char::is_whitespace) {
                    out.push(Line {
                        line: start,
                        entry: Entry::Include {
                            path: p.trim().trim_matches('"').to_string(),
                            dir,
                        },
                    });
                }
            }
        }
        if t.starts_with('#') || t.starts_with('@') {
            continue;
        }
        let mut w = t.splitn(2, char::is_whitespace);
        let first = w.next().unwrap_or("");
        let rest = w.next().unwrap_or("").trim().to_string();
        if let Some(scope) = first.strip_prefix("Defaults") {
            out.push(Line {
                line: start,
                entry: Entry::Defaults {
                    scope: scope.to_string(),
                    params: rest,
                },
            });
        } else if matches!(
            first,
            "User_Alias" | "Runas_Alias" | "Host_Alias" | "Cmnd_Alias" | "Cmd_Alias"
        ) {
            out.push(Line {
                line: start,
                entry: Entry::Alias {
                    kind: first.into(),
                    body: rest,
                },
            });
        } else if rest.contains('=') {
            out.push(Line {
                line: start,
                entry: Entry::Spec {
                    who: first.to_string(),
                    rest,
                },
            });
        } else {
            errs.push(LineError::new(
                start,
                format!("not a sudoers entry: {:?}", truncate(t)),
            ));
        }
    }
    (out, errs)
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

/// The command lists of a spec's right-hand side with their tags:
/// `ALL = (root) NOPASSWD: /bin/x, PASSWD: /bin/y` → [("NOPASSWD", "/bin/x"), ("PASSWD", "/bin/y")].
/// Tags carry over to later commands, as in sudo.
pub fn commands(rest: &str) -> Vec<(Vec<String>, String, Option<String>)> {
    let rhs = rest.split_once('=').map(|(_, r)| r).unwrap_or(rest);
    let mut out = Vec::new();
    let mut tags: Vec<String> = Vec::new();
    let mut runas: Option<String> = None;
    for part in rhs.split(',') {
        let mut p = part.trim();
        if p.starts_with('(') {
            if let Some(end) = p.find(')') {
                runas = Some(p[1..end].to_string());
                p = p[end + 1..].trim();
            }
        }
        while let Some((tag, rest)) = p.split_once(':') {
            let tag = tag.trim();
            if !tag.is_empty() && tag.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                tags.retain(|t| !opposite(t, tag));
                tags.push(tag.to_string());
                p = rest.trim();
            } else {
                break;
            }
        }
        if !p.is_empty() {
            out.push((tags.clone(), p.to_string(), runas.clone()));
        }
    }
    out
}

fn opposite(a: &str, b: &str) -> bool {
    a == b || a.trim_start_matches("NO") == b.trim_start_matches("NO")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entries_and_continuations() {
        let t = "Defaults\tenv_reset\nDefaults:op !authenticate\n# comment\n@includedir /etc/sudoers.d\n#includedir /etc/sudoers.d\nCmnd_Alias PLC = /usr/bin/plcctl, \\\n   /usr/bin/plcdump\n%sudo\tALL=(ALL:ALL) ALL\nop ALL = (root) NOPASSWD: /usr/bin/plcctl, PASSWD: /bin/sh\ngarbage\n";
        let (l, e) = parse(t);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].line, 10);
        assert!(
            matches!(&l[1].entry, Entry::Defaults { scope, params } if scope == ":op" && params == "!authenticate")
        );
        assert!(matches!(&l[2].entry, Entry::Include { dir: true, .. }));
        assert!(matches!(&l[4].entry, Entry::Alias { .. }));
        assert_eq!(l[4].line, 6);
        let Entry::Spec { who, rest } = &l[6].entry else {
            panic!()
        };
        assert_eq!(who, "op");
        let c = commands(rest);
        assert_eq!(c[0].0, ["NOPASSWD"]);
        assert_eq!(c[1].0, ["PASSWD"]);
        assert_eq!(c[1].1, "/bin/sh");
        assert_eq!(c[0].2.as_deref(), Some("root"));
    }
}
