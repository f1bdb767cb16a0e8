//! Package licenses: the package databases' license strings turned into SPDX
//! expressions where they are (or map onto) valid ones, and kept as plain
//! names otherwise — never a guessed identifier.
//!
//! Sources: opkg/Yocto `License:` (Yocto writes `&` for AND and `|` for OR and
//! still uses a few old names like `GPLv2`), rpm's license tag, apk's `L:`,
//! and for dpkg the machine-readable `usr/share/doc/<package>/copyright`
//! files (DEP-5), whose short names (`GPL-2+`, `Expat`) are mapped to SPDX.

use std::collections::HashSet;
use std::sync::OnceLock;

const IDS: &str = include_str!("../../data/spdx-ids.txt");

fn known() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        IDS.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect()
    })
}

/// Old Yocto, Debian and rpm names → SPDX identifiers.
const ALIASES: &[(&str, &str)] = &[
    ("GPLv2", "GPL-2.0-only"),
    ("GPLv2+", "GPL-2.0-or-later"),
    ("GPLv3", "GPL-3.0-only"),
    ("GPLv3+", "GPL-3.0-or-later"),
    ("LGPLv2", "LGPL-2.0-only"),
    ("LGPLv2+", "LGPL-2.0-or-later"),
    ("LGPLv2.1", "LGPL-2.1-only"),
    ("LGPLv2.1+", "LGPL-2.1-or-later"),
    ("LGPLv3", "LGPL-3.0-only"),
    ("LGPLv3+", "LGPL-3.0-or-later"),
    ("GPL-2", "GPL-2.0-only"),
    ("GPL-2+", "GPL-2.0-or-later"),
    ("GPL-3", "GPL-3.0-only"),
    ("GPL-3+", "GPL-3.0-or-later"),
    ("LGPL-2", "LGPL-2.0-only"),
    ("LGPL-2+", "LGPL-2.0-or-later"),
    ("LGPL-2.1", "LGPL-2.1-only"),
    ("LGPL-2.1+", "LGPL-2.1-or-later"),
    ("LGPL-3", "LGPL-3.0-only"),
    ("LGPL-3+", "LGPL-3.0-or-later"),
    ("GPL-2.0", "GPL-2.0-only"),
    ("GPL-2.0+", "GPL-2.0-or-later"),
    ("GPL-3.0", "GPL-3.0-only"),
    ("GPL-3.0+", "GPL-3.0-or-later"),
    ("Expat", "MIT"),
    ("BSD-2-clause", "BSD-2-Clause"),
    ("BSD-3-clause", "BSD-3-Clause"),
    ("BSD-4-clause", "BSD-4-Clause"),
    ("Apache-2", "Apache-2.0"),
    ("MPL-2", "MPL-2.0"),
    ("PSF", "PSF-2.0"),
    ("openssl", "OpenSSL"),
    ("zlib", "Zlib"),
    ("ISC-style", "ISC"),
];

/// A license of a package: the SPDX expression when one could be formed
/// from the source's text, and the text itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    pub expression: Option<String>,
    pub name: String,
}

fn map_id(tok: &str) -> Option<String> {
    if known().contains(tok) || tok.starts_with("LicenseRef-") {
        return Some(tok.to_string());
    }
    if let Some((_, id)) = ALIASES.iter().find(|(a, _)| *a == tok) {
        return Some((*id).to_string());
    }
    // Case-insensitive match on the SPDX list (`mit`, `apache-2.0`).
    known()
        .iter()
        .find(|k| k.eq_ignore_ascii_case(tok))
        .map(|k| k.to_string())
        .or_else(|| {
            // `ID+` (or later) on an identifier without its own -or-later form.
            let base = tok.strip_suffix('+')?;
            known().contains(base).then(|| format!("{base}+"))
        })
}

/// Parses `text` as a license expression (SPDX operators, or Yocto's `&`,
/// `|`, and `,` between alternatives as rpm sometimes writes), mapping each
/// identifier. `None` when any part is not a known identifier or the
/// structure is not an expression.
pub fn to_spdx(text: &str) -> Option<String> {
    let mut spaced = String::new();
    for c in text.trim().chars() {
        match c {
            '(' | ')' | '&' | '|' => {
                spaced.push(' ');
                spaced.push(c);
                spaced.push(' ');
            }
            _ => spaced.push(c),
        }
    }
    let toks: Vec<&str> = spaced.split_whitespace().collect();
    if toks.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    let mut depth = 0i32;
    // Expect an operand (id or '(') when true, an operator or ')' when false.
    let mut want_operand = true;
    let mut after_with = false;
    for t in toks {
        match t {
            "(" if want_operand => {
                depth += 1;
                out.push("(".to_string());
            }
            ")" if !want_operand && depth > 0 => {
                depth -= 1;
                out.push(")".to_string());
            }
            "AND" | "and" | "&" if !want_operand => {
                out.push("AND".into());
                want_operand = true;
            }
            "OR" | "or" | "|" if !want_operand => {
                out.push("OR".into());
                want_operand = true;
            }
            "WITH" | "with" if !want_operand && !after_with => {
                out.push("WITH".into());
                want_operand = true;
                after_with = true;
                continue;
            }
            id if want_operand => {
                out.push(map_id(id.trim_end_matches(','))?);
                want_operand = false;
            }
            _ => return None,
        }
        after_with = false;
    }
    (depth == 0 && !want_operand).then(|| out.join(" ").replace("( ", "(").replace(" )", ")"))
}

/// The license of a package from its database string.
pub fn from_text(text: &str) -> Option<License> {
    let name = text.trim();
    if name.is_empty() {
        return None;
    }
    Some(License {
        expression: to_spdx(name),
        name: name.to_string(),
    })
}

/// Licenses named in a machine-readable Debian copyright file (DEP-5):
/// the `License:` first lines of every paragraph, de-duplicated, joined with
/// AND. `None` for free-form copyright files (no `Format:` header).
pub fn from_dep5(text: &str) -> Option<License> {
    let first = text.lines().find(|l| !l.trim().is_empty())?;
    if !(first.starts_with("Format:") && first.contains("copyright-format")) {
        return None;
    }
    let mut seen: Vec<String> = Vec::new();
    for l in text.lines() {
        if let Some(v) = l.strip_prefix("License:") {
            let v = v.trim();
            if !v.is_empty() && !seen.iter().any(|s| s == v) {
                seen.push(v.to_string());
            }
        }
    }
    if seen.is_empty() {
        return None;
    }
    // Each paragraph's license may itself be an expression (`GPL-2+ or Artistic`).
    let parts: Vec<Option<String>> = seen.iter().map(|s| to_spdx(s)).collect();
    let expression = parts.iter().all(Option::is_some).then(|| {
        let e: Vec<String> = parts
            .into_iter()
            .flatten()
            .map(|p| {
                if p.contains(' ') && seen.len() > 1 {
                    format!("({p})")
                } else {
                    p
                }
            })
            .collect();
        e.join(" AND ")
    });
    Some(License {
        expression,
        name: seen.join(" AND "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spdx_expressions_and_yocto_operators() {
        assert_eq!(to_spdx("MIT").as_deref(), Some("MIT"));
        assert_eq!(
            to_spdx("GPL-2.0-only & LGPL-2.1-or-later").as_deref(),
            Some("GPL-2.0-only AND LGPL-2.1-or-later")
        );
        assert_eq!(
            to_spdx("GPLv2+ | BSD-3-Clause").as_deref(),
            Some("GPL-2.0-or-later OR BSD-3-Clause")
        );
        assert_eq!(
            to_spdx("(MIT OR Apache-2.0) AND Unicode-3.0").as_deref(),
            Some("(MIT OR Apache-2.0) AND Unicode-3.0")
        );
        assert_eq!(
            to_spdx("GPL-2.0-or-later WITH Linux-syscall-note").as_deref(),
            Some("GPL-2.0-or-later WITH Linux-syscall-note")
        );
        assert_eq!(to_spdx("apache-2.0").as_deref(), Some("Apache-2.0"));
        assert_eq!(
            to_spdx("LicenseRef-Vendor").as_deref(),
            Some("LicenseRef-Vendor")
        );
        // Not SPDX: kept as a name only.
        assert_eq!(to_spdx("Proprietary"), None);
        assert_eq!(to_spdx("GPL and stuff"), None);
        assert_eq!(to_spdx("MIT AND"), None);
        assert_eq!(to_spdx("(MIT"), None);
        assert_eq!(to_spdx(""), None);
        let l = from_text("CLOSED").unwrap();
        assert_eq!((l.expression, l.name.as_str()), (None, "CLOSED"));
    }

    #[test]
    fn dep5_copyright_files() {
        let dep5 = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
Upstream-Name: zlib\n\nFiles: *\nCopyright: 1995-2013 Jean-loup Gailly\nLicense: Zlib\n\n\
Files: debian/*\nLicense: GPL-2+\n\nLicense: GPL-2+\n This program is free software...\n";
        let l = from_dep5(dep5).unwrap();
        assert_eq!(l.expression.as_deref(), Some("Zlib AND GPL-2.0-or-later"));
        assert_eq!(l.name, "Zlib AND GPL-2+");
        let alt = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-1+ or Artistic\n\nFiles: x\nLicense: public-domain\n";
        let l = from_dep5(alt).unwrap();
        assert_eq!(l.expression, None, "public-domain is not SPDX");
        assert_eq!(l.name, "GPL-1+ or Artistic AND public-domain");
        assert_eq!(
            from_dep5("This is the Debian prepackaged version of foo.\n"),
            None
        );
    }
}
