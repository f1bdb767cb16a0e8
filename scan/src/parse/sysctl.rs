//! `sysctl.conf(5)` / `sysctl.d(5)`: `key = value` lines, `;` or `#` comments,
//! a leading `-` ignores failures. Keys use `.` or `/` as separator.

use super::LineError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub line: u64,
    pub key: String,
    pub value: String,
}

/// Normalises `kernel/yama/ptrace_scope` to `kernel.yama.ptrace_scope`.
pub fn normalize_key(k: &str) -> String {
    let k = k.trim().trim_start_matches('-');
    if k.contains('/') {
        k.replace('/', ".")
    } else {
        k.to_string()
    }
}

pub fn parse(text: &str) -> (Vec<Assignment>, Vec<LineError>) {
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = i as u64 + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        match l.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => out.push(Assignment {
                line,
                key: normalize_key(k),
                value: v.split_whitespace().collect::<Vec<_>>().join(" "),
            }),
            _ => errs.push(LineError::new(
                line,
                format!("expected 'key = value', found {l:?}"),
            )),
        }
    }
    (out, errs)
}

/// Order in which systemd-sysctl and procps read the directories: a file name
/// in an earlier directory masks the same name in later ones; the remaining
/// files are applied in lexicographic order of their names; `/etc/sysctl.conf`
/// last.
pub const SYSCTL_DIRS: [&str; 5] = [
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms() {
        let (a, e) = parse("# c\n; c\nkernel.kptr_restrict = 2\nkernel/yama/ptrace_scope=1\n-net.ipv4.ip_forward = 0\nbroken\n");
        assert_eq!(a.len(), 3);
        assert_eq!(a[1].key, "kernel.yama.ptrace_scope");
        assert_eq!(a[2].key, "net.ipv4.ip_forward");
        assert_eq!(e[0].line, 6);
    }
}
