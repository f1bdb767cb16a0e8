//! Licenses of free-form Debian copyright files (ISSUE19): only the
//! references to the licenses Debian ships in `/usr/share/common-licenses/`
//! (Policy §12.5), each mapped to an SPDX identifier when the text says
//! which version and whether later versions apply — never a guess.
//!
//! For each reference `/usr/share/common-licenses/NAME`, its section — the
//! text after the previous reference up to it, where the license header it
//! completes is — is read:
//! - a versioned file (`GPL-2`, `LGPL-2.1`, `GFDL-1.3`) is `-or-later` when
//!   that text says "any later version", `-only` when it names that version
//!   and nothing of later ones, unknown otherwise;
//! - an unversioned one (`GPL`, `LGPL`, `GFDL`) takes the one version
//!   number the text names ("version 2", "version 2.1"); none or several:
//!   unknown;
//! - `Apache-2.0`, `MPL-1.1`, `MPL-2.0`, `CC0-1.0` are what they say;
//!   `Artistic` is Perl's (`Artistic-1.0-Perl`, the file's own preamble);
//!   `BSD` is not mapped (packages point at it for variants of it).
//!
//! The expression is every reference's identifier joined with AND, only
//! when every reference is known; the names referenced are kept either way.

use super::license::License;

const PREFIX: &str = "/usr/share/common-licenses/";

/// Most references read from one file (the rest is ignored).
const MAX_REFS: usize = 64;

/// The licenses a free-form copyright file references; `None` when it
/// references none.
pub fn from_free_form(text: &str) -> Option<License> {
    let flat = flatten(text);
    let lower = flat.to_ascii_lowercase();
    let mut names: Vec<String> = Vec::new();
    let mut ids: Vec<Option<String>> = Vec::new();
    // Each reference's section: the text after the previous reference up
    // to this one (the license header the reference completes).
    let mut section_start = 0;
    let mut from = 0;
    while let Some(at) = flat[from..].find(PREFIX).map(|i| i + from) {
        let name_at = at + PREFIX.len();
        let name: String = flat[name_at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '+'))
            .collect();
        let name = name.trim_end_matches('.').to_string();
        from = name_at + name.len();
        if name.is_empty() {
            continue;
        }
        let section = &lower[section_start..at];
        section_start = from;
        if names.contains(&name) {
            continue;
        }
        if names.len() >= MAX_REFS {
            break;
        }
        ids.push(identifier(&name, section));
        names.push(name);
    }
    if names.is_empty() {
        return None;
    }
    let expression = ids.iter().all(Option::is_some).then(|| {
        let mut seen: Vec<String> = Vec::new();
        for id in ids.into_iter().flatten() {
            if !seen.contains(&id) {
                seen.push(id);
            }
        }
        seen.join(" AND ")
    });
    Some(License {
        expression,
        name: names.join(" AND "),
    })
}

/// The text with its lines trimmed (comment stars and hashes too) and
/// joined by single spaces.
fn flatten(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let l = line.trim().trim_start_matches(['*', '#']).trim();
        if l.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(l);
    }
    out
}

/// The SPDX identifier of a common-licenses file name in its context.
fn identifier(name: &str, context: &str) -> Option<String> {
    let fixed = match name {
        "Apache-2.0" | "MPL-1.1" | "MPL-2.0" | "CC0-1.0" => Some(name),
        "Artistic" => Some("Artistic-1.0-Perl"),
        _ => None,
    };
    if let Some(f) = fixed {
        return Some(f.to_string());
    }
    let (family, version) = match name.split_once('-') {
        Some((f, v)) => (f, Some(v)),
        None => (name, None),
    };
    let versions: &[&str] = match family {
        "GPL" => &["1", "2", "3"],
        "LGPL" => &["2", "2.1", "3"],
        "GFDL" => &["1.2", "1.3"],
        _ => return None,
    };
    let version = match version {
        Some(v) if versions.contains(&v) => v.to_string(),
        Some(_) => return None,
        None => only_version(context, versions)?,
    };
    // "any later version": or-later. The version named and nothing said of
    // later ones: that version only (GPL-2 §9, GPL-3 §14). Anything else
    // (no version named: "any version ever published") is unknown.
    let later = if context.contains("any later version") {
        "or-later"
    } else if !context.contains("later")
        && only_version(context, versions).as_deref() == Some(version.as_str())
    {
        "only"
    } else {
        return None;
    };
    // SPDX writes the whole-number versions with `.0`.
    let v = if version.contains('.') {
        version
    } else {
        format!("{version}.0")
    };
    Some(format!("{family}-{v}-{later}"))
}

/// The one version of `versions` the context names as "version N"; none
/// or several → None.
fn only_version(context: &str, versions: &[&str]) -> Option<String> {
    let mut found: Vec<&str> = Vec::new();
    let mut rest = context;
    while let Some(at) = rest.find("version ") {
        rest = &rest[at + 8..];
        let v: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let v = v.trim_end_matches('.');
        if let Some(known) = versions.iter().find(|k| **k == v) {
            if !found.contains(known) {
                found.push(known);
            }
        }
    }
    match found.as_slice() {
        [one] => Some(one.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(text: &str) -> Option<String> {
        from_free_form(text).and_then(|l| l.expression)
    }

    #[test]
    fn versioned_references_with_and_without_later_versions() {
        // libselinux1: "version 2." and the GPL-2 file.
        let t = "This library is distributed under the terms of the GNU General Public License,\n version 2.\n\nOn Debian systems, the complete text of the GNU General\nPublic License can be found in `/usr/share/common-licenses/GPL-2'.\n";
        assert_eq!(expr(t).as_deref(), Some("GPL-2.0-only"));
        // libc6: LGPL 2.1 or later.
        let t = "    The GNU C Library is free software; you can redistribute it and/or\n    modify it under the terms of the GNU Lesser General Public\n    License as published by the Free Software Foundation; either\n    version 2.1 of the License, or (at your option) any later version.\n\nOn Debian systems, the complete text of the GNU Library\nGeneral Public License can be found in `/usr/share/common-licenses/LGPL-2.1'.\n";
        assert_eq!(expr(t).as_deref(), Some("LGPL-2.1-or-later"));
    }

    #[test]
    fn unversioned_references_take_the_one_version_named() {
        // base-files: the GPL file, "either version 2 ... any later version".
        let t = "This program is free software; you can redistribute it and/or modify\nit under the terms of the GNU General Public License as published by\nthe Free Software Foundation; either version 2 of the License, or\n(at your option) any later version.\n\nOn Debian systems, the complete text of the GNU General\nPublic License can be found in `/usr/share/common-licenses/GPL'.\n";
        assert_eq!(expr(t).as_deref(), Some("GPL-2.0-or-later"));
        // Two versions named: unknown, the name kept.
        let t = "Parts are under version 2, others under version 3, of the GPL.\n\nSee /usr/share/common-licenses/GPL.\n";
        let l = from_free_form(t).unwrap();
        assert_eq!((l.expression, l.name.as_str()), (None, "GPL"));
        // No version at all: unknown.
        assert_eq!(
            expr("See /usr/share/common-licenses/GPL for the GPL.\n"),
            None
        );
    }

    #[test]
    fn several_references_and_what_is_never_mapped() {
        let t = "Licensed under the Apache License.\n\nSee /usr/share/common-licenses/Apache-2.0 and\n/usr/share/common-licenses/MPL-2.0.\n";
        assert_eq!(expr(t).as_deref(), Some("Apache-2.0 AND MPL-2.0"));
        // BSD is not mapped: the whole expression is unknown, names kept.
        let t = "See /usr/share/common-licenses/BSD and /usr/share/common-licenses/Apache-2.0\n";
        let l = from_free_form(t).unwrap();
        assert_eq!(l.expression, None);
        assert_eq!(l.name, "BSD AND Apache-2.0");
        // A later-version wording that is not "any later version": unknown.
        let t = "GPL version 2 or later.\n\n/usr/share/common-licenses/GPL-2\n";
        assert_eq!(expr(t), None);
        // Nothing referenced; a directory mention is no reference.
        assert!(from_free_form("The licenses in /usr/share/common-licenses were taken").is_none());
        assert!(from_free_form("Copyright 2024 Someone. All rights reserved.").is_none());
        // An unknown file name, a version the family has not.
        assert_eq!(expr("/usr/share/common-licenses/GPL-9"), None);
        assert_eq!(expr("/usr/share/common-licenses/Frobnicate"), None);
    }

    #[test]
    fn hostile_text_is_bounded() {
        let many: String = (0..10_000)
            .map(|i| format!("/usr/share/common-licenses/X{i}\n"))
            .collect();
        let l = from_free_form(&many).unwrap();
        assert_eq!(l.name.split(" AND ").count(), MAX_REFS);
        let junk = "/usr/share/common-licenses/".repeat(10_000);
        assert!(from_free_form(&junk).is_none());
    }
}
