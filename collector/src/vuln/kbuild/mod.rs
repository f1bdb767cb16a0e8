//! Which kernel source file is built under which configuration (ISSUE18:
//! kernel CVEs in code that is not built). The kernel CNA's CVE records
//! name the source files of the vulnerable code (`programFiles`); a
//! kernel tree's Kbuild makefiles say which configuration symbols build
//! each object (`obj-$(CONFIG_EXT4_FS) += ext4/`, `ext4-y := super.o …`).
//! [`build`] reads the makefiles of a tree into a [`Map`]: source file stem
//! → the alternatives (any one suffices) of symbol sets (all needed) that
//! build it, from the top makefile down through every directory reference.
//!
//! Conservative by construction — a wrong "not built" hides a real
//! vulnerability: an object referenced in a way this reader does not
//! understand (a conditional block other than `ifdef`/`ifeq` on one
//! symbol, a variable other than `$(CONFIG_…)` on the left, a directory
//! whose parent is not known) is *unknown*, never "not built"; so are
//! headers and files no makefile names. Pure functions: the walk over a
//! tree is the caller's (`cli::vulns`), bounded there.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Alternatives kept per object; past it the object is unknown.
pub const MAX_ALTERNATIVES: usize = 16;
/// Symbols kept per alternative; past it the object is unknown.
pub const MAX_SYMBOLS: usize = 16;
/// Directory and composite-object nesting followed.
const MAX_DEPTH: usize = 24;

/// The conditions building one object: alternatives of symbol sets.
pub type Conds = Vec<BTreeSet<String>>;

/// Source file stem (`fs/ext4/super`) → conditions; stems the makefiles
/// reference in a way [`build`] does not understand are in `unknown`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Map {
    pub files: BTreeMap<String, Conds>,
    pub unknown: BTreeSet<String>,
}

/// Whether a program file is built with the `enabled` symbols (`=y` or
/// `=m`): `Some(true)` built, `Some(false)` not built (the [`Map`] knows
/// every way it is built and none holds), `None` unknown.
pub fn built(map: &Map, file: &str, enabled: &HashSet<String>) -> Option<bool> {
    let stem = source_stem(file)?;
    if map.unknown.contains(stem) {
        return None;
    }
    let conds = map.files.get(stem)?;
    Some(
        conds
            .iter()
            .any(|alt| alt.iter().all(|s| enabled.contains(s))),
    )
}

/// The stem of a C, assembler or Rust source file (`fs/ext4/super.c` →
/// `fs/ext4/super`); `None` for headers and anything else.
pub fn source_stem(file: &str) -> Option<&str> {
    let f = file.trim_start_matches("./");
    [".c", ".S", ".rs"].iter().find_map(|e| f.strip_suffix(e))
}

/// The symbols set to `y` or `m` in a kernel `.config` (`CONFIG_X=y`).
pub fn enabled_symbols(config: &str) -> HashSet<String> {
    config
        .lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once('=')?;
            (config_symbol(k) && (v == "y" || v == "m")).then(|| k.to_string())
        })
        .collect()
}

/// Whether `text` reads as a kernel configuration: a `CONFIG_…=` line or
/// a `# CONFIG_… is not set` line among its first lines, nothing else but
/// comments and blank lines there.
pub fn looks_like_config(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let mut saw = false;
    for l in text.lines().take(40) {
        let l = l.trim();
        if l.is_empty() || (l.starts_with('#') && !l.starts_with("# CONFIG_")) {
            continue;
        }
        let ok = l.split_once('=').is_some_and(|(k, _)| config_symbol(k))
            || (l.starts_with("# CONFIG_") && l.ends_with(" is not set"));
        if !ok {
            return false;
        }
        saw = true;
    }
    saw
}

/// Whether `s` is a configuration symbol: `CONFIG_` and at most 128
/// letters, digits and `_` in all.
fn config_symbol(s: &str) -> bool {
    s.starts_with("CONFIG_")
        && s.len() <= 128
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The condition of a Kbuild variable suffix: `y`/`m`/`objs` → always,
/// `$(CONFIG_X)` → X; anything else → `None` (not understood).
fn suffix_cond(suffix: &str) -> Option<Option<String>> {
    match suffix {
        "y" | "m" | "objs" => Some(None),
        s => {
            let inner = s.strip_prefix("$(")?.strip_suffix(')')?;
            config_symbol(inner).then(|| Some(inner.to_string()))
        }
    }
}

/// One understood reference: in directory `dir`, `object` (stem, or
/// `sub/` a directory) is built as part of `parent` (`None`: the
/// directory's own `obj-`) when `cond` (every symbol) holds.
#[derive(Debug, Clone, PartialEq)]
struct Ref {
    parent: Option<String>,
    object: String,
    cond: BTreeSet<String>,
}

/// The references of one makefile of directory `dir` ("" for the top),
/// and the objects it names in ways not understood.
fn references(dir: &str, text: &str) -> (Vec<Ref>, BTreeSet<String>) {
    // Continuation lines joined, comments dropped.
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for raw in text.lines() {
        let l = match raw.find('#') {
            Some(i) => &raw[..i],
            None => raw,
        };
        if let Some(x) = l.strip_suffix('\\') {
            cur.push_str(x);
            cur.push(' ');
            continue;
        }
        cur.push_str(l);
        lines.push(std::mem::take(&mut cur));
    }
    lines.push(cur);
    let mut refs = Vec::new();
    let mut unknown = BTreeSet::new();
    // The conditional blocks around a line: Some(symbol) understood (in
    // its `if` branch), None not understood (or an `else` branch).
    let mut blocks: Vec<Option<String>> = Vec::new();
    for l in &lines {
        let t = l.trim();
        let word = t.split_whitespace().next().unwrap_or("");
        match word {
            "ifdef" | "ifeq" | "ifneq" | "ifndef" => {
                blocks.push(block_cond(t));
                continue;
            }
            "else" => {
                if let Some(b) = blocks.last_mut() {
                    *b = None;
                }
                continue;
            }
            "endif" => {
                blocks.pop();
                continue;
            }
            _ => {}
        }
        let Some((lhs, rhs)) = assignment(t) else {
            continue;
        };
        let objects: Vec<&str> = rhs
            .split_whitespace()
            .filter(|w| w.ends_with(".o") || w.ends_with('/'))
            .collect();
        if objects.is_empty() {
            continue;
        }
        let understood_block = blocks.iter().all(Option::is_some);
        let parsed = parse_lhs(lhs);
        for o in objects {
            let object = if let Some(d) = o.strip_suffix('/') {
                format!("{}/", join(dir, d))
            } else {
                join(dir, o.trim_end_matches(".o"))
            };
            if object.contains('$') {
                unknown.insert(object);
                continue;
            }
            match (&parsed, understood_block) {
                (Some((parent, cond)), true) => {
                    let mut c: BTreeSet<String> = blocks.iter().flatten().cloned().collect();
                    c.extend(cond.iter().cloned());
                    refs.push(Ref {
                        parent: parent.as_ref().map(|p| join(dir, p)),
                        object,
                        cond: c,
                    });
                }
                _ => {
                    unknown.insert(object);
                }
            }
        }
    }
    (refs, unknown)
}

fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    }
}

/// `ifdef CONFIG_X`, `ifeq ($(CONFIG_X),y)`, `ifneq ($(CONFIG_X),)` → X.
fn block_cond(t: &str) -> Option<String> {
    let mut w = t.splitn(2, char::is_whitespace);
    let kw = w.next()?;
    let arg = w.next()?.trim();
    match kw {
        "ifdef" => config_symbol(arg).then(|| arg.to_string()),
        "ifeq" | "ifneq" => {
            let inner = arg.strip_prefix('(')?.strip_suffix(')')?;
            let (a, b) = inner.split_once(',')?;
            let sym = a.trim().strip_prefix("$(")?.strip_suffix(')')?;
            if !config_symbol(sym) {
                return None;
            }
            match (kw, b.trim()) {
                ("ifeq", "y") | ("ifneq", "") => Some(sym.to_string()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `lhs op rhs` for `+=`, `:=`, `=`, `?=`.
fn assignment(t: &str) -> Option<(&str, &str)> {
    let i = t.find('=')?;
    let (l, r) = (&t[..i], &t[i + 1..]);
    let l = l.trim_end_matches([':', '+', '?']).trim();
    (!l.is_empty() && !l.contains(char::is_whitespace)).then_some((l, r))
}

/// The left side: `obj-…`/`lib-…` (and the top makefile's `core-…`,
/// `drivers-…`, `libs-…`, `net-…`, `virt-…`, `init-…`) → (None, cond);
/// `name-…` → (Some(name), cond); `None` when not understood.
fn parse_lhs(lhs: &str) -> Option<(Option<String>, Vec<String>)> {
    let i = lhs.find('-')?;
    let (name, suffix) = (&lhs[..i], &lhs[i + 1..]);
    let cond = suffix_cond(suffix)?;
    let cond: Vec<String> = cond.into_iter().collect();
    match name {
        "obj" | "lib" | "core" | "drivers" | "libs" | "net" | "virt" | "init" => Some((None, cond)),
        "subdir" | "always" | "hostprogs" | "extra" | "targets" | "clean" | "ccflags"
        | "asflags" | "ldflags" | "cflags" | "userprogs" | "userccflags" => None,
        n if !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => {
            Some((Some(n.to_string()), cond))
        }
        _ => None,
    }
}

/// The map of a tree's makefiles: (directory relative to the tree's top,
/// "" for the top; the text of its `Kbuild`, else its `Makefile`).
pub fn build(makefiles: &[(String, String)]) -> Map {
    let mut refs: Vec<Ref> = Vec::new();
    let mut unknown: BTreeSet<String> = BTreeSet::new();
    for (dir, text) in makefiles {
        let (r, u) = references(dir.trim_matches('/'), text);
        refs.extend(r);
        unknown.extend(u);
    }
    // object (stem or `dir/`) → its references.
    let mut by_object: HashMap<&str, Vec<&Ref>> = HashMap::new();
    for r in &refs {
        by_object.entry(r.object.as_str()).or_default().push(r);
    }
    // Composite objects are not files: stems with parts of their own.
    let composites: HashSet<&str> = refs.iter().filter_map(|r| r.parent.as_deref()).collect();
    let mut memo: HashMap<String, Option<Conds>> = HashMap::new();
    let mut files = BTreeMap::new();
    for r in &refs {
        if r.object.ends_with('/')
            || files.contains_key(&r.object)
            || composites.contains(r.object.as_str())
        {
            continue;
        }
        match conds_of(&r.object, &by_object, &unknown, &mut memo, 0) {
            Some(c) => {
                files.insert(r.object.clone(), c);
            }
            None => {
                unknown.insert(r.object.clone());
            }
        }
    }
    Map { files, unknown }
}

/// The conditions of `object` (a stem or `dir/`): the union over its
/// references of (the conditions of what contains it) × (the reference's
/// symbols). `None` when unknown: no reference (a directory other than
/// the top), one through something unknown, or past the bounds.
fn conds_of(
    object: &str,
    by_object: &HashMap<&str, Vec<&Ref>>,
    unknown: &BTreeSet<String>,
    memo: &mut HashMap<String, Option<Conds>>,
    depth: usize,
) -> Option<Conds> {
    if let Some(c) = memo.get(object) {
        return c.clone();
    }
    if depth > MAX_DEPTH || unknown.contains(object) {
        return None;
    }
    // Guard against cycles: unknown while being computed.
    memo.insert(object.to_string(), None);
    let refs = by_object.get(object).map(Vec::as_slice).unwrap_or(&[]);
    let result = (|| {
        if refs.is_empty() {
            return None;
        }
        let mut out: Conds = Vec::new();
        for r in refs {
            // What contains the reference: its composite, else its directory.
            let container = match &r.parent {
                Some(p) => p.clone(),
                None => {
                    let dir = object.trim_end_matches('/');
                    match dir.rfind('/') {
                        Some(i) => format!("{}/", &dir[..i]),
                        None => String::new(),
                    }
                }
            };
            let outer: Conds = if container.is_empty() {
                vec![BTreeSet::new()]
            } else {
                conds_of(&container, by_object, unknown, memo, depth + 1)?
            };
            for o in outer {
                let mut alt = o.clone();
                alt.extend(r.cond.iter().cloned());
                if alt.len() > MAX_SYMBOLS {
                    return None;
                }
                if !out.contains(&alt) {
                    out.push(alt);
                }
            }
            if out.len() > MAX_ALTERNATIVES {
                return None;
            }
        }
        Some(out)
    })();
    memo.insert(object.to_string(), result.clone());
    result
}

mod tree;
pub use tree::{from_rows, read_tree, to_rows, Tree, MAX_MAKEFILE, MAX_MAKEFILES};

#[cfg(test)]
mod tests;
