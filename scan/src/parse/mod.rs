//! Parsers of configuration files the rules read. Each takes text and returns
//! typed values plus (line, message) errors; none does I/O.

pub mod accounts;
pub mod keys;
pub mod pam;
pub mod services;
pub mod sshd;
pub mod sudoers;
pub mod sysctl;

/// A line that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub message: String,
}

impl LineError {
    pub fn new(line: u64, message: impl Into<String>) -> Self {
        LineError {
            line,
            message: message.into(),
        }
    }
}

/// Iterates `(1-based line number, line)` over lines that are not blank and not
/// `#` comments, with trailing `\r` removed.
pub fn content_lines(text: &str) -> impl Iterator<Item = (u64, &str)> {
    text.split('\n').enumerate().filter_map(|(i, l)| {
        let l = l.strip_suffix('\r').unwrap_or(l);
        let t = l.trim();
        (!t.is_empty() && !t.starts_with('#')).then_some((i as u64 + 1, l))
    })
}
