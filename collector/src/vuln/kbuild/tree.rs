//! The I/O edge of `kbuild`: a kernel source tree's makefiles read from
//! disk, bounded; and the map's stored form.

use super::{join, Conds, Map};

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
