//! The seams of ARCHITECTURE.md, checked from cargo's own resolve graph:
//! the scanning library has no async runtime, network, TLS or privilege
//! crates in its tree; the collector depends on neither the agent nor the
//! scanning library (it reads the rule catalog from the protocol crate); and
//! no source file of the four library/binary crates grows past 600 lines
//! unless it holds one concept and says so at its top.

use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn metadata() -> Value {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(workspace())
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata JSON")
}

/// Package names in the tree of `root` as `cargo tree -p ROOT` shows it:
/// normal and build dependencies transitively, plus the root's own
/// dev-dependencies (on every platform, so a target-specific dependency
/// counts too).
fn tree(meta: &Value, root: &str) -> BTreeSet<String> {
    let name_of: HashMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: HashMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let root_id = *name_of
        .iter()
        .find(|(_, n)| **n == root)
        .unwrap_or_else(|| panic!("no package {root}"))
        .0;
    let mut seen = BTreeSet::new();
    let mut stack = vec![(root_id, true)];
    while let Some((id, is_root)) = stack.pop() {
        for d in nodes[id]["deps"].as_array().into_iter().flatten() {
            let kinds: Vec<Option<&str>> = d["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|k| k["kind"].as_str())
                .collect();
            let follow = kinds
                .iter()
                .any(|k| matches!(k, None | Some("build")) || (is_root && *k == Some("dev")));
            let pkg = d["pkg"].as_str().unwrap();
            if follow && seen.insert(name_of[pkg].to_string()) {
                stack.push((pkg, false));
            }
        }
    }
    seen
}

#[test]
fn scanning_library_has_no_runtime_network_tls_or_privilege_crates() {
    let meta = metadata();
    let t = tree(&meta, "fieldattest-scan");
    assert!(t.contains("fieldattest-protocol"), "{t:?}");
    let forbidden = [
        "tokio",
        "hyper",
        "hyper-util",
        "rustls",
        "tokio-rustls",
        "nix",
        "caps",
        "fieldattest-agent",
    ];
    let found: Vec<&&str> = forbidden.iter().filter(|f| t.contains(**f)).collect();
    assert!(
        found.is_empty(),
        "fieldattest-scan's tree holds {found:?} (the scanner must stay free of them)"
    );
}

#[test]
fn collector_depends_on_protocol_only() {
    let meta = metadata();
    let t = tree(&meta, "fieldattest-collector");
    assert!(t.contains("fieldattest-protocol"), "{t:?}");
    for f in ["fieldattest-agent", "fieldattest-scan"] {
        assert!(
            !t.contains(f),
            "fieldattest-collector's tree holds {f}: the collector reads the rule catalog from fieldattest-protocol"
        );
    }
}

#[test]
fn agent_builds_on_the_scanning_library() {
    let meta = metadata();
    let t = tree(&meta, "fieldattest-agent");
    assert!(t.contains("fieldattest-scan"), "{t:?}");
}

/// Files over 600 lines must say at their top (first 10 lines) that they
/// hold one concept, and why: "One concept: …".
#[test]
fn no_source_file_over_600_lines_without_a_reason() {
    let mut long = Vec::new();
    let mut seen = 0;
    for krate in ["scan", "agent", "collector", "protocol"] {
        let mut dirs = vec![workspace().join(krate).join("src")];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    seen += 1;
                    let text = std::fs::read_to_string(&p).unwrap();
                    let lines = text.lines().count();
                    let head: String = text.lines().take(10).collect::<Vec<_>>().join("\n");
                    if lines > 600 && !head.contains("One concept:") {
                        long.push(format!("{} ({lines} lines)", p.display()));
                    }
                }
            }
        }
    }
    assert!(seen > 50, "walked only {seen} files");
    assert!(
        long.is_empty(),
        "split by concept, or say \"One concept: why\" at the top: {long:#?}"
    );
}
