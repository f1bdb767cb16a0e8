//! Path resolution with chroot semantics: every component `lstat`ed, symlinks
//! expanded by hand (absolute targets restart from the root), `..` never above
//! the root, at most [`MAX_SYMLINKS`](super::MAX_SYMLINKS) links per lookup.

use super::{FsError, FsErrorKind, RootFs, MAX_SYMLINKS};
use std::ffi::OsString;
use std::fs;
use std::path::{Component, Path, PathBuf};

impl RootFs {
    /// Resolves `path` inside the root to a host path free of symlinks.
    pub(super) fn resolve(&self, path: &Path) -> Result<PathBuf, FsError> {
        let mut pending: Vec<OsString> = Vec::new();
        push_components(&mut pending, path);
        let mut resolved: Vec<OsString> = Vec::new();
        let mut links = 0u32;
        let mut host = self.root.clone();
        while let Some(name) = pending.pop() {
            if name == ".." {
                if resolved.pop().is_some() {
                    host.pop();
                }
                continue;
            }
            host.push(&name);
            let md = match fs::symlink_metadata(&host) {
                Ok(md) => md,
                Err(e) => {
                    resolved.push(name);
                    return Err(FsError::io(&join_rel(&resolved, &pending), &e));
                }
            };
            if md.file_type().is_symlink() {
                links += 1;
                if links > MAX_SYMLINKS {
                    resolved.push(name);
                    return Err(FsError::new(
                        &join_rel(&resolved, &pending),
                        FsErrorKind::SymlinkLoop,
                    ));
                }
                let target = fs::read_link(&host).map_err(|e| FsError::io(path, &e))?;
                host.pop();
                if target.is_absolute() {
                    resolved.clear();
                    host = self.root.clone();
                }
                push_components(&mut pending, &target);
            } else {
                if !md.is_dir() && !pending.is_empty() {
                    resolved.push(name);
                    return Err(FsError::new(
                        &join_rel(&resolved, &pending),
                        FsErrorKind::NotADirectory,
                    ));
                }
                resolved.push(name);
            }
        }
        Ok(host)
    }

    pub(super) fn resolve_parent(&self, path: &Path) -> Result<PathBuf, FsError> {
        let mut comps: Vec<OsString> = Vec::new();
        push_components(&mut comps, path);
        comps.reverse();
        // `..` as the last component would name a directory, never a link.
        let last = match comps.last() {
            Some(l) if l != ".." => comps.pop().unwrap_or_default(),
            _ => return self.resolve(path),
        };
        let parent: PathBuf = comps.iter().collect();
        let mut host = self.resolve(&parent)?;
        host.push(last);
        Ok(host)
    }
}
/// Pushes the normal and `..` components of `p` onto `stack` so that popping
/// yields them in order.
fn push_components(stack: &mut Vec<OsString>, p: &Path) {
    let comps: Vec<OsString> = p
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect();
    stack.extend(comps.into_iter().rev());
}

fn join_rel(resolved: &[OsString], pending: &[OsString]) -> PathBuf {
    let mut p: PathBuf = resolved.iter().collect();
    for c in pending.iter().rev() {
        p.push(c);
    }
    p
}
