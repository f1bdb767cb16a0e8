//! Helpers shared by the end-to-end tests: locating the built binaries, writing
//! fixture root trees, running the independent checkers (Python venv).
#![forbid(unsafe_code)]

pub mod collector;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Path of a binary of the workspace, next to the test executable's `deps/`.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let p = dir.join(name);
    assert!(
        p.exists(),
        "{} not built: run `cargo build --workspace` (the README test command does)",
        p.display()
    );
    p
}

/// Runs `fieldattest` with `args`.
pub fn fieldattest(args: &[&str]) -> Output {
    Command::new(bin("fieldattest"))
        .args(args)
        .output()
        .expect("run fieldattest")
}

/// Runs `fieldattest scan --root ROOT EXTRA...` and asserts exit status 0,
/// showing stderr when it is not.
pub fn scan_ok(root: &str, extra: &[&str]) -> Output {
    let mut args = vec!["scan", "--root", root];
    args.extend_from_slice(extra);
    let out = fieldattest(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "fieldattest {args:?} failed; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A fixture root tree in a temporary directory.
pub struct Tree {
    dir: tempfile::TempDir,
}

impl Default for Tree {
    fn default() -> Self {
        Self::new()
    }
}

impl Tree {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir(dir.path().join("root")).expect("mkdir root");
        Tree { dir }
    }
    /// The root directory to scan.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }
    /// A directory next to (outside) the root.
    pub fn outside(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
    fn at(&self, rel: &str) -> PathBuf {
        let p = self.root().join(rel.trim_start_matches('/'));
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).expect("mkdir -p");
        }
        p
    }
    pub fn file(&self, rel: &str, content: impl AsRef<[u8]>) -> &Self {
        fs::write(self.at(rel), content).expect("write fixture");
        self
    }
    pub fn dir(&self, rel: &str) -> &Self {
        fs::create_dir_all(self.at(rel)).expect("mkdir fixture");
        self
    }
    pub fn link(&self, rel: &str, target: impl AsRef<Path>) -> &Self {
        symlink(target, self.at(rel)).expect("symlink fixture");
        self
    }
    pub fn root_str(&self) -> String {
        self.root().to_string_lossy().into_owned()
    }
}

/// The Python interpreter of the test venv (`FIELDATTEST_PYTHON`, else
/// `<workspace>/.venv/bin/python`), with cyclonedx-python-lib installed.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("FIELDATTEST_PYTHON") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        p.exists(),
        "{} missing: run scripts/test (it creates the venv with the CycloneDX validator and Syft)",
        p.display()
    );
    p
}

/// A Debian-style status paragraph for an installed package.
pub fn dpkg_para(name: &str, version: &str, arch: &str) -> String {
    format!("Package: {name}\nStatus: install ok installed\nPriority: optional\nArchitecture: {arch}\nVersion: {version}\nDescription: test package {name}\n more text\n\n")
}

/// Parses stdout as JSON.
pub fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}
