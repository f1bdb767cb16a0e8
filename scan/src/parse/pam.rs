//! Linux-PAM configuration: `/etc/pam.d/<service>` lines
//! `type control module [args]` with `[...]` controls, `-type` (silent if the
//! module is missing) and `@include`.

use super::{content_lines, LineError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PamLine {
    pub line: u64,
    /// `auth`, `account`, `password`, `session`, or `@include`.
    pub kind: String,
    pub control: String,
    /// Module path as written (`pam_unix.so`, `/lib/security/pam_unix.so`) or the
    /// included file for `@include`.
    pub module: String,
    pub args: Vec<String>,
}

impl PamLine {
    /// Module basename without `.so` (`pam_unix`).
    pub fn module_name(&self) -> &str {
        let base = self.module.rsplit('/').next().unwrap_or(&self.module);
        base.strip_suffix(".so").unwrap_or(base)
    }
    /// Value of `key=value` argument.
    pub fn arg(&self, key: &str) -> Option<&str> {
        self.args
            .iter()
            .find_map(|a| a.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
    }
    pub fn has_arg(&self, flag: &str) -> bool {
        self.args.iter().any(|a| a == flag)
    }
}

/// Splits a line into whitespace-separated tokens, keeping `[...]` together.
fn tokens(l: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in l.chars() {
        match c {
            '[' => {
                depth += 1;
                cur.push(c);
            }
            ']' => {
                if depth == 0 {
                    return Err("unbalanced ']'".into());
                }
                depth -= 1;
                cur.push(c);
            }
            c if c.is_whitespace() && depth == 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if depth != 0 {
        return Err("unbalanced '['".into());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

pub fn parse(text: &str) -> (Vec<PamLine>, Vec<LineError>) {
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for (line, l) in content_lines(text) {
        let l = l.split(" #").next().unwrap_or(l);
        let t = match tokens(l) {
            Ok(t) => t,
            Err(m) => {
                errs.push(LineError::new(line, m));
                continue;
            }
        };
        if t[0] == "@include" {
            match t.get(1) {
                Some(f) => out.push(PamLine {
                    line,
                    kind: "@include".into(),
                    control: String::new(),
                    module: f.clone(),
                    args: Vec::new(),
                }),
                None => errs.push(LineError::new(line, "@include without a file")),
            }
            continue;
        }
        if t.len() < 3 {
            errs.push(LineError::new(
                line,
                "expected 'type control module [args]'",
            ));
            continue;
        }
        let kind = t[0].trim_start_matches('-').to_ascii_lowercase();
        if !matches!(kind.as_str(), "auth" | "account" | "password" | "session") {
            errs.push(LineError::new(line, format!("unknown PAM type {:?}", t[0])));
            continue;
        }
        out.push(PamLine {
            line,
            kind,
            control: t[1].clone(),
            module: t[2].clone(),
            args: t[3..].to_vec(),
        });
    }
    (out, errs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_debian_common_auth() {
        let (p, e) = parse("auth\t[success=1 default=ignore]\tpam_unix.so nullok\nauth requisite pam_deny.so\n@include common-account\n-session optional pam_systemd.so\npassword requisite pam_pwquality.so retry=3 minlen=14\n");
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(p.len(), 5);
        assert_eq!(p[0].control, "[success=1 default=ignore]");
        assert_eq!(p[0].module_name(), "pam_unix");
        assert!(p[0].has_arg("nullok"));
        assert_eq!(p[2].kind, "@include");
        assert_eq!(p[3].kind, "session");
        assert_eq!(p[4].arg("minlen"), Some("14"));
    }

    #[test]
    fn bad_lines() {
        let (_, e) = parse("auth [success=1 pam_unix.so\nfoo required pam_x.so\nauth\n");
        assert_eq!(e.iter().map(|e| e.line).collect::<Vec<_>>(), [1, 2, 3]);
    }
}
