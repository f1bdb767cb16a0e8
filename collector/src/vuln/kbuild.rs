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
fn source_stem(file: &str) -> Option<&str> {
    let f = file.trim_start_matches("./");
    [".c", ".S", ".rs"].iter().find_map(|e| f.strip_suffix(e))
}

/// The symbols set to `y` or `m` in a kernel `.config` (`CONFIG_X=y`).
pub fn enabled_symbols(config: &str) -> HashSet<String> {
    config
        .lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once('=')?;
            (k.starts_with("CONFIG_") && symbol_ok(k) && (v == "y" || v == "m"))
                .then(|| k.to_string())
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
        let ok = l
            .split_once('=')
            .is_some_and(|(k, _)| k.starts_with("CONFIG_") && symbol_ok(k))
            || (l.starts_with("# CONFIG_") && l.ends_with(" is not set"));
        if !ok {
            return false;
        }
        saw = true;
    }
    saw
}

fn symbol_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The condition of a Kbuild variable suffix: `y`/`m`/`objs` → always,
/// `$(CONFIG_X)` → X; anything else → `None` (not understood).
fn suffix_cond(suffix: &str) -> Option<Option<String>> {
    match suffix {
        "y" | "m" | "objs" => Some(None),
        s => {
            let inner = s.strip_prefix("$(")?.strip_suffix(')')?;
            (inner.starts_with("CONFIG_") && symbol_ok(inner)).then(|| Some(inner.to_string()))
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
        "ifdef" => (arg.starts_with("CONFIG_") && symbol_ok(arg)).then(|| arg.to_string()),
        "ifeq" | "ifneq" => {
            let inner = arg.strip_prefix('(')?.strip_suffix(')')?;
            let (a, b) = inner.split_once(',')?;
            let sym = a.trim().strip_prefix("$(")?.strip_suffix(')')?;
            if !(sym.starts_with("CONFIG_") && symbol_ok(sym)) {
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

/// Makefiles read from one tree at most.
pub const MAX_MAKEFILES: usize = 50_000;
/// Largest makefile read.
pub const MAX_MAKEFILE: u64 = 1 << 20;
/// Directory depth walked.
const MAX_TREE_DEPTH: usize = 32;

/// What [`read_tree`] found: each directory's makefile (relative
/// directory, text), the kernel version of the top makefile, and what was
/// skipped (path, reason).
#[derive(Debug, Default)]
pub struct Tree {
    pub makefiles: Vec<(String, String)>,
    pub version: Option<String>,
    pub skipped: Vec<(String, String)>,
}

/// Reads a kernel source tree's makefiles (the I/O edge of this module):
/// per directory its `Kbuild`, else its `Makefile`; symbolic links are not
/// followed, `.git`, `Documentation`, `tools`, `scripts` and `samples` not
/// entered (userspace and build helpers). Bounded by [`MAX_MAKEFILES`],
/// [`MAX_MAKEFILE`] and the depth. Fails when `top` has no `Makefile`.
pub fn read_tree(top: &std::path::Path) -> Result<Tree, String> {
    use std::io::Read;
    let top_mk = std::fs::read_to_string(top.join("Makefile")).map_err(|e| {
        format!(
            "{}: not a kernel source tree ({e})",
            top.join("Makefile").display()
        )
    })?;
    let field = |k: &str| {
        top_mk.lines().find_map(|l| {
            let (a, b) = l.split_once('=')?;
            (a.trim() == k).then(|| b.trim().to_string())
        })
    };
    let version = match (field("VERSION"), field("PATCHLEVEL"), field("SUBLEVEL")) {
        (Some(v), Some(p), Some(s)) if !v.is_empty() => Some(format!("{v}.{p}.{s}")),
        _ => None,
    };
    let mut t = Tree {
        version,
        ..Default::default()
    };
    let mut stack = vec![(top.to_path_buf(), String::new(), 0usize)];
    while let Some((dir, rel, depth)) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                t.skipped.push((rel.clone(), e.to_string()));
                continue;
            }
        };
        let mut subdirs = Vec::new();
        let mut files = Vec::new();
        for e in entries.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            let name = e.file_name().to_string_lossy().into_owned();
            if ft.is_dir() {
                subdirs.push(name);
            } else if ft.is_file() && (name == "Kbuild" || name == "Makefile") {
                files.push(name);
            }
        }
        let pick = if files.iter().any(|f| f == "Kbuild") {
            "Kbuild"
        } else {
            "Makefile"
        };
        if files.iter().any(|f| f == pick) {
            if t.makefiles.len() >= MAX_MAKEFILES {
                t.skipped
                    .push((rel.clone(), format!("more than {MAX_MAKEFILES} makefiles")));
                break;
            }
            let path = dir.join(pick);
            let mut b = Vec::new();
            match std::fs::File::open(&path)
                .and_then(|f| f.take(MAX_MAKEFILE + 1).read_to_end(&mut b))
            {
                Ok(_) if b.len() as u64 > MAX_MAKEFILE => {
                    t.skipped.push((
                        join(&rel, pick),
                        format!("larger than {} KiB", MAX_MAKEFILE >> 10),
                    ));
                }
                Ok(_) => t
                    .makefiles
                    .push((rel.clone(), String::from_utf8_lossy(&b).into_owned())),
                Err(e) => t.skipped.push((join(&rel, pick), e.to_string())),
            }
        }
        if depth >= MAX_TREE_DEPTH {
            continue;
        }
        subdirs.sort();
        for s in subdirs.into_iter().rev() {
            if depth == 0
                && matches!(
                    s.as_str(),
                    "Documentation" | "tools" | "scripts" | "samples"
                )
            {
                continue;
            }
            if s.starts_with('.') {
                continue;
            }
            stack.push((dir.join(&s), join(&rel, &s), depth + 1));
        }
    }
    Ok(t)
}

/// A map's rows as stored: (stem, `a&b|c` conditions, `None` unknown).
pub fn to_rows(m: &Map) -> Vec<(String, Option<String>)> {
    let enc = |c: &Conds| {
        c.iter()
            .map(|alt| alt.iter().cloned().collect::<Vec<_>>().join("&"))
            .collect::<Vec<_>>()
            .join("|")
    };
    m.files
        .iter()
        .map(|(f, c)| (f.clone(), Some(enc(c))))
        .chain(
            m.unknown
                .iter()
                .filter(|u| !u.ends_with('/'))
                .map(|u| (u.clone(), None)),
        )
        .collect()
}

/// The map of stored rows (the inverse of [`to_rows`]).
pub fn from_rows(rows: Vec<(String, Option<String>)>) -> Map {
    let mut m = Map::default();
    for (stem, conds) in rows {
        match conds {
            None => {
                m.unknown.insert(stem);
            }
            Some(c) => {
                let alts: Conds = c
                    .split('|')
                    .map(|alt| {
                        alt.split('&')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .collect();
                m.files.insert(stem, alts);
            }
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &[&str]) -> HashSet<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    fn tree() -> Map {
        let mk = |d: &str, t: &str| (d.to_string(), t.to_string());
        build(&[
            mk("", "obj-y += init/ kernel/\nobj-y += fs/ drivers/\nobj-y += arch/$(SRCARCH)/\n"),
            mk("kernel", "obj-y = fork.o exit.o\nobj-$(CONFIG_KEXEC) += kexec.o\n"),
            mk(
                "fs",
                "obj-y := open.o\nobj-$(CONFIG_EXT4_FS)\t+= ext4/\nobj-$(CONFIG_NFS_FS) += nfs/ # network\n",
            ),
            mk(
                "fs/ext4",
                "obj-$(CONFIG_EXT4_FS) += ext4.o\n\next4-y := balloc.o \\\n\t\tsuper.o\next4-$(CONFIG_EXT4_FS_POSIX_ACL) += acl.o\n",
            ),
            mk("drivers", "obj-$(CONFIG_NFC) += nfc/\nobj-$(CONFIG_WEIRD) += $(weird-dirs)\n"),
            mk(
                "drivers/nfc",
                "obj-$(CONFIG_NFC_PN533) += pn533.o\nifdef CONFIG_NFC_DEBUG\nobj-y += debug.o\nelse\nobj-y += quiet.o\nendif\nifeq ($(CONFIG_X86),y)\nobj-y += x86.o\nendif\nifeq ($(ARCH),arm)\nobj-y += armonly.o\nendif\nobj-$(subst m,y,$(CONFIG_NFC_SUBST)) += subst.o\n",
            ),
            mk("lost", "obj-y += orphan.o\n"),
        ])
    }

    #[test]
    fn files_get_the_symbols_of_their_whole_chain() {
        let m = tree();
        let c = |f: &str| m.files.get(f).cloned();
        let alt = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(c("kernel/fork"), Some(vec![alt(&[])]));
        assert_eq!(c("kernel/kexec"), Some(vec![alt(&["CONFIG_KEXEC"])]));
        assert_eq!(c("fs/ext4/super"), Some(vec![alt(&["CONFIG_EXT4_FS"])]));
        assert_eq!(
            c("fs/ext4/acl"),
            Some(vec![alt(&["CONFIG_EXT4_FS", "CONFIG_EXT4_FS_POSIX_ACL"])])
        );
        assert_eq!(c("fs/ext4/ext4"), None, "a composite is not a file");
        assert_eq!(
            c("drivers/nfc/debug"),
            Some(vec![alt(&["CONFIG_NFC", "CONFIG_NFC_DEBUG"])])
        );
        assert_eq!(
            c("drivers/nfc/x86"),
            Some(vec![alt(&["CONFIG_NFC", "CONFIG_X86"])])
        );
        // Not understood: an else branch, a condition on something else, a
        // function on the left, a directory nobody references.
        for f in [
            "drivers/nfc/quiet",
            "drivers/nfc/armonly",
            "drivers/nfc/subst",
            "lost/orphan",
        ] {
            assert!(c(f).is_none(), "{f}");
            assert_eq!(built(&m, &format!("{f}.c"), &set(&[])), None, "{f}");
        }
    }

    #[test]
    fn built_not_built_or_unknown() {
        let m = tree();
        let on = set(&["CONFIG_EXT4_FS"]);
        assert_eq!(built(&m, "fs/ext4/super.c", &on), Some(true));
        assert_eq!(built(&m, "fs/ext4/acl.c", &on), Some(false));
        assert_eq!(built(&m, "drivers/nfc/pn533.c", &on), Some(false));
        assert_eq!(built(&m, "kernel/fork.c", &set(&[])), Some(true));
        // Headers, files no makefile names, other trees: unknown.
        assert_eq!(built(&m, "fs/ext4/ext4.h", &on), None);
        assert_eq!(built(&m, "mm/mmap.c", &on), None);
        assert_eq!(built(&m, "arch/arm64/kernel/setup.c", &on), None);
    }

    #[test]
    fn configurations_are_read_and_recognised() {
        let cfg = "#\n# Automatically generated file; DO NOT EDIT.\n# Linux/arm64 6.6.52 Kernel Configuration\n#\nCONFIG_EXT4_FS=y\nCONFIG_NFC=m\n# CONFIG_KEXEC is not set\nCONFIG_LOCALVERSION=\"-v8\"\nCONFIG_HZ=250\n";
        assert_eq!(enabled_symbols(cfg), set(&["CONFIG_EXT4_FS", "CONFIG_NFC"]));
        assert!(looks_like_config(cfg.as_bytes()));
        assert!(looks_like_config(b"# CONFIG_A is not set\n"));
        for not in [
            &b"{\"id\": 1}"[..],
            b"cve,epss,percentile\n",
            b"",
            b"# only a comment\n",
            b"CONFIG_A=y\nrm -rf /\n",
        ] {
            assert!(!looks_like_config(not), "{}", String::from_utf8_lossy(not));
        }
    }

    #[test]
    fn cycles_and_hostile_makefiles_end() {
        let mk = |d: &str, t: &str| (d.to_string(), t.to_string());
        let m = build(&[
            mk("", "obj-y += a/\n"),
            mk("a", "x-y += y.o\ny-y += x.o\nobj-y += x.o\n"),
            mk(
                "b",
                "\\\n\\\n=\n-=\nobj-$( += z.o\nifeq\nelse\nendif\nendif\n",
            ),
        ]);
        assert_eq!(built(&m, "a/x.c", &set(&[])), None);
        assert_eq!(built(&m, "b/z.c", &set(&[])), None);
        // Too many alternatives: unknown, not a guess.
        let mut text = String::new();
        for i in 0..(MAX_ALTERNATIVES + 2) {
            text += &format!("obj-$(CONFIG_S{i}) += many.o\n");
        }
        let m = build(&[mk("", "obj-y += d/\n"), mk("d", &text)]);
        assert_eq!(built(&m, "d/many.c", &set(&[])), None);
    }

    #[test]
    fn rows_round_trip_and_a_tree_is_read_from_disk() {
        let d = tempfile::tempdir().unwrap();
        let w = |p: &str, t: &str| {
            let p = d.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, t).unwrap();
        };
        w(
            "Makefile",
            "VERSION = 6\nPATCHLEVEL = 6\nSUBLEVEL = 52\nEXTRAVERSION =\n",
        );
        w("Kbuild", "obj-y += fs/ kernel/\n");
        w("fs/Makefile", "obj-$(CONFIG_EXT4_FS) += ext4/\n");
        w(
            "fs/ext4/Makefile",
            "obj-$(CONFIG_EXT4_FS) += ext4.o\next4-y := super.o\next4-$(CONFIG_X) += acl.o\n",
        );
        w("fs/ext4/Kbuild", "obj-y += preferred.o\n");
        w("kernel/Makefile", "obj-y += fork.o\n");
        w("tools/Makefile", "obj-y += tool.o\n");
        let t = read_tree(d.path()).unwrap();
        assert_eq!(t.version.as_deref(), Some("6.6.52"));
        let dirs: Vec<&str> = t.makefiles.iter().map(|(d, _)| d.as_str()).collect();
        assert_eq!(dirs, ["", "fs", "fs/ext4", "kernel"]);
        let m = build(&t.makefiles);
        // fs/ext4's Kbuild is read, not its Makefile.
        assert_eq!(
            built(&m, "fs/ext4/preferred.c", &set(&["CONFIG_EXT4_FS"])),
            Some(true)
        );
        assert_eq!(
            built(&m, "fs/ext4/super.c", &set(&["CONFIG_EXT4_FS"])),
            None
        );
        assert_eq!(built(&m, "kernel/fork.c", &set(&[])), Some(true));
        assert_eq!(
            from_rows(to_rows(&m)),
            Map {
                unknown: m
                    .unknown
                    .iter()
                    .filter(|u| !u.ends_with('/'))
                    .cloned()
                    .collect(),
                ..m.clone()
            }
        );
        assert!(read_tree(&d.path().join("fs/ext4/missing")).is_err());
    }

    #[test]
    fn generated_makefiles_never_panic_and_round_trip() {
        // Makefiles assembled from Kbuild's own tokens and hostile ones.
        const TOKENS: [&str; 24] = [
            "obj-y",
            "obj-m",
            "obj-$(CONFIG_A)",
            "obj-$(CONFIG_",
            "x-y",
            "x-objs",
            "x-$(CONFIG_B)",
            " += ",
            " := ",
            "=",
            "a.o",
            "x.o",
            "sub/",
            "../up/",
            "$(dirs)/",
            "\\\n",
            "\n",
            "#",
            "ifdef CONFIG_A\n",
            "ifeq ($(CONFIG_B),y)\n",
            "else\n",
            "endif\n",
            "é",
            "\t",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut tokens = 0;
        for i in 0..2_000u64 {
            let mut text = String::new();
            for _ in 0..(i % 40) {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                text.push_str(TOKENS[(seed >> 33) as usize % TOKENS.len()]);
                tokens += 1;
            }
            let m = build(&[
                (String::new(), format!("obj-y += sub/\n{text}")),
                ("sub".into(), text.clone()),
                ("sub/sub".into(), text.clone()),
            ]);
            assert_eq!(from_rows(to_rows(&m)).files, m.files, "{text:?}");
            for f in ["sub/a.c", "sub/x.c", "sub/sub/a.c", "a.c", "up/a.c"] {
                let _ = built(&m, f, &set(&["CONFIG_A", "CONFIG_B"]));
            }
            let _ = looks_like_config(text.as_bytes());
        }
        assert!(tokens > 30_000, "{tokens}");
    }
}
