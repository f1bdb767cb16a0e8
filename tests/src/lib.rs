//! Helpers shared by the end-to-end tests: locating the built binaries, writing
//! fixture root trees, running the independent checkers (Python venv).
//!
//! # Prerequisites: one rule for the whole suite
//!
//! No test skips itself at run time: a test that prints "skipped" and returns
//! is counted as passed, which hides a missing prerequisite.
//!
//! * A test that needs a program or file from outside cargo (rpmbuild,
//!   chromium, busybox, sshd, ...) calls [`require_tool`] or [`require_path`]
//!   with the Debian package that ships it. When it is absent the test
//!   **fails**, naming the package. `scripts/test` installs every such package
//!   when run as root, and lists the missing ones (exit 1 under `CI=true`)
//!   otherwise; `tests/tests/prerequisites.rs` checks that every package named
//!   in a `require_*` call, and every program a test spawns, is in
//!   `scripts/test`'s list.
//! * A test that cannot run without root (capabilities, device nodes, the
//!   debootstrap rootfs) is `#[ignore = "needs root: ..."]` and calls
//!   [`require_root`] first. nextest counts it as *skipped* in its summary;
//!   `scripts/test` passes `--run-ignored all` when run as root, and under
//!   `CI=true` refuses to run as anyone else, so CI runs every test.
//! * The binaries the tests run are checked against their sources
//!   ([`bin`]): a stale `target/debug/fieldattest*` fails the test instead of
//!   testing old code.
#![forbid(unsafe_code)]

pub mod browser;
pub mod collector;
/// The PostgreSQL test cluster (the collector's unit tests use the same file).
#[path = "../../collector/src/store/pg_cluster.rs"]
pub mod pg;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Path of a binary of the workspace, next to the test executable's `deps/`.
///
/// Panics when the binary is missing or older than a source file it was
/// built from (cargo's dep-info `target/debug/NAME.d` lists them) that was
/// modified before this test run started: cargo did not rebuild it, and the
/// test would run stale code. `cargo nextest run --workspace` (and
/// `scripts/test`) rebuilds both binaries first — the agent and the collector
/// each have an integration test, which makes cargo build their binary; a run
/// limited to `-p fieldattest-tests` does not. A source edited while the run
/// is under way (after the runner — nextest or cargo, this process's parent —
/// started) is not held against it: the run tests the tree it built.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let p = dir.join(name);
    assert!(
        p.exists(),
        "{} not built: run `cargo nextest run --workspace` or `cargo build --workspace --all-features` \
         (the README test command does)",
        p.display()
    );
    static CHECKED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    let mut checked = CHECKED.lock().unwrap_or_else(|e| e.into_inner());
    if !checked.contains(&p) {
        if let Some(why) = stale(&p) {
            panic!(
                "{} is stale: {why}. The test would run old code; run \
                 `cargo nextest run --workspace` (it rebuilds the binaries) or \
                 `cargo build --workspace --all-features` first",
                p.display()
            );
        }
        checked.push(p.clone());
    }
    p
}

/// Why `binary` is older than its sources, if it is: reads cargo's dep-info
/// (`NAME.d` beside the binary, a Makefile rule `binary: src...`).
fn stale(binary: &Path) -> Option<String> {
    let mtime = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    let built = mtime(binary)?;
    let run_started = runner_start();
    let mut dep = binary.as_os_str().to_owned();
    dep.push(".d");
    let Ok(text) = fs::read_to_string(&dep) else {
        return Some(format!(
            "no dep-info {} to check it against its sources",
            Path::new(&dep).display()
        ));
    };
    let line = text.lines().next().unwrap_or_default();
    let Some((_, deps)) = line.split_once(": ") else {
        return Some(format!("unreadable dep-info {}", Path::new(&dep).display()));
    };
    // Spaces inside a path are escaped as "\ ".
    let deps = deps.replace("\\ ", "\0");
    let mut newer = Vec::new();
    for d in deps.split_whitespace() {
        let d = PathBuf::from(d.replace('\0', " "));
        match mtime(&d) {
            Some(t) if t <= built => {}
            // 2 s of margin: the start time is read to the second (btime),
            // and an edit just before the run must not pass as concurrent.
            Some(t) if run_started.is_some_and(|r| t > r + std::time::Duration::from_secs(2)) => {
                eprintln!(
                    "note: {} was edited during this test run; the run tests the binary it built",
                    d.display()
                );
            }
            Some(_) => newer.push(format!(
                "{} was modified after the build, before this run",
                d.display()
            )),
            None => newer.push(format!("{} (a source) is gone", d.display())),
        }
    }
    if newer.is_empty() {
        None
    } else {
        let n = newer.len();
        newer.truncate(3);
        Some(format!("{} ({n} source file(s) in all)", newer.join("; ")))
    }
}

/// When this process's parent (the test runner: nextest or cargo) started,
/// from /proc (start time in clock ticks since boot, USER_HZ = 100 on Linux).
fn runner_start() -> Option<std::time::SystemTime> {
    let after_comm = |stat: &str| -> Vec<String> {
        stat.rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default()
    };
    // Fields after "(comm)": [0] state (field 3), [1] ppid, [19] starttime (field 22).
    let me = after_comm(&fs::read_to_string("/proc/self/stat").ok()?);
    let ppid: u32 = me.get(1)?.parse().ok()?;
    let parent = after_comm(&fs::read_to_string(format!("/proc/{ppid}/stat")).ok()?);
    let ticks: u64 = parent.get(19)?.parse().ok()?;
    let btime: u64 = fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(std::time::UNIX_EPOCH + std::time::Duration::from_millis(btime * 1000 + ticks * 10))
}

/// True when this process runs as root (uid 0).
pub fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

/// Fails the test unless it runs as root. Tests that call it are
/// `#[ignore = "needs root: ..."]`, so nextest shows them as skipped where
/// they are not run; `scripts/test` runs them (`--run-ignored all`) as root.
pub fn require_root(why: &str) {
    assert!(
        is_root(),
        "this test needs root ({why}): run it as root, e.g. `scripts/test` as root \
         (CI runs as root)"
    );
}

/// The path of program `cmd` (searched in `PATH`, then /usr/sbin and /sbin, or taken as is when it
/// contains a `/`), failing the test when it is not installed. `package` is
/// the Debian package that ships it; `scripts/test` installs it as root.
pub fn require_tool(cmd: &str, package: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    let found = if cmd.contains('/') {
        Some(PathBuf::from(cmd)).filter(|p| executable(p))
    } else {
        // sbin is not in every user's PATH (scripts/test looks there too).
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
            .map(|d| d.join(cmd))
            .find(|p| executable(p))
    };
    found.unwrap_or_else(|| {
        panic!(
            "this test needs `{cmd}` (Debian package {package}), which is not installed: \
             `scripts/test` installs it when run as root (or: apt-get install {package})"
        )
    })
}

/// `path` (a file a Debian package installs, e.g. a library the binary
/// identification reads), failing the test when it is absent.
pub fn require_path(path: &str, package: &str) -> PathBuf {
    let p = PathBuf::from(path);
    assert!(
        p.exists(),
        "this test needs {path} (Debian package {package}), which is absent: \
         `scripts/test` installs it when run as root (or: apt-get install {package})"
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

/// The Debian bookworm minbase rootfs that `scripts/test` builds with
/// debootstrap as root: `FIELDATTEST_DEBIAN_ROOTFS`, else
/// `<workspace>/target/rootfs/bookworm-minbase`. Fails the test when it is
/// not there; tests that use it are `#[ignore = "needs root: ..."]`.
pub fn debian_rootfs() -> PathBuf {
    let p = std::env::var_os("FIELDATTEST_DEBIAN_ROOTFS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/rootfs/bookworm-minbase")
        });
    assert!(
        p.join("var/lib/dpkg/status").is_file(),
        "no Debian rootfs at {} (set FIELDATTEST_DEBIAN_ROOTFS): `scripts/test` builds it \
         with debootstrap when run as root",
        p.display()
    );
    p
}

/// The committed rule catalog (tests/data/rule-ids.txt, sorted ids).
pub fn committed_rule_ids() -> Vec<String> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/rule-ids.txt");
    fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

/// `ids` (a catalog or a report's rules) is exactly the committed catalog:
/// a rule that disappears, or a new one nobody recorded, fails.
pub fn assert_rule_catalog(ids: &[&str]) {
    let mut got: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    got.sort();
    let want = committed_rule_ids();
    let gone: Vec<&String> = want.iter().filter(|w| !got.contains(w)).collect();
    let new: Vec<&String> = got.iter().filter(|g| !want.contains(g)).collect();
    assert!(
        gone.is_empty() && new.is_empty() && got.len() == want.len(),
        "the rule catalog differs from tests/data/rule-ids.txt: gone {gone:?}, new {new:?} \
         ({} vs {} ids). If the change is intended, regenerate the list: \
         target/debug/fieldattest rules --format json | python3 -c 'import json,sys; \
         [print(r[\"id\"]) for r in json.load(sys.stdin)[\"rules\"]]' | sort > tests/data/rule-ids.txt",
        got.len(),
        want.len()
    );
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
