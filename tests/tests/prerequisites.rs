//! The suite's prerequisites are all installed by scripts/test: every program
//! a test spawns by name (`Command::new("x")`) and every program or file a
//! test requires (`require_tool`/`require_path`, and the agent's own
//! `require` in its unit tests) appears in scripts/test's TOOLS table — with
//! the same Debian package — and no test announces a skip and returns
//! (see tests/src/lib.rs for the rule).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// scripts/test's TOOLS table: program or file → Debian package.
fn tools_table() -> BTreeMap<String, String> {
    let script = std::fs::read_to_string(workspace().join("scripts/test")).unwrap();
    let start = script
        .find("\nTOOLS=\"")
        .expect("scripts/test: TOOLS=\"...\" table")
        + 8;
    let len = script[start..].find('"').expect("end of the TOOLS table");
    let mut table = BTreeMap::new();
    for line in script[start..start + len].lines() {
        let mut w = line.split_whitespace();
        if let (Some(what), Some(pkg), None) = (w.next(), w.next(), w.next()) {
            table.insert(
                what.replace("$arch", std::env::consts::ARCH),
                pkg.to_string(),
            );
        }
    }
    assert!(table.len() > 20, "TOOLS table not understood: {table:?}");
    table
}

/// Every `.rs` file of the workspace's crates (not target/, not fuzz/, not
/// this file, whose own examples would match).
fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("prerequisites.rs") {
                if let Ok(s) = std::fs::read_to_string(&p) {
                    out.push((p, s));
                }
            }
        }
    }
    let mut out = Vec::new();
    for krate in ["agent", "collector", "protocol", "scan", "tests"] {
        for sub in ["src", "tests", "examples", "benches"] {
            walk(&workspace().join(krate).join(sub), &mut out);
        }
    }
    assert!(out.len() > 30, "found only {} sources", out.len());
    out
}

/// The string literal arguments following each occurrence of `call` in `s`
/// (`call` ends with `(`): `Command::new("x")` → ["x"]; `require_tool("x",
/// "p")` → ["x", "p"]. Calls whose first argument is not a literal are skipped.
fn literal_calls(s: &str, call: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (i, _) in s.match_indices(call) {
        // `require(` must not match inside `require_tool(` etc.: the match is
        // preceded by a non-identifier character.
        if s[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            continue;
        }
        let rest = &s[i + call.len()..];
        let mut args = Vec::new();
        let mut r = rest.trim_start();
        while let Some(body) = r.strip_prefix('"') {
            let Some(end) = body.find('"') else { break };
            args.push(body[..end].to_string());
            r = body[end + 1..].trim_start();
            match r.strip_prefix(',') {
                Some(more) => r = more.trim_start(),
                None => break,
            }
        }
        if !args.is_empty() {
            out.push(args);
        }
    }
    out
}

#[test]
fn every_program_the_tests_use_is_installed_by_scripts_test() {
    let table = tools_table();
    let mut problems = Vec::new();
    let mut seen = 0;
    for (path, src) in sources() {
        let rel = path
            .strip_prefix(workspace())
            .unwrap_or(&path)
            .display()
            .to_string();
        for args in literal_calls(&src, "Command::new(") {
            seen += 1;
            let prog = &args[0];
            if !table.contains_key(prog.as_str()) {
                problems.push(format!(
                    "{rel}: spawns `{prog}`, which is not in scripts/test's TOOLS table"
                ));
            }
        }
        for call in ["require_tool(", "require_path(", "require("] {
            for args in literal_calls(&src, call) {
                if args.len() != 2 {
                    continue;
                }
                seen += 1;
                let (what, pkg) = (&args[0], &args[1]);
                match table.get(what.as_str()) {
                    Some(p) if p == pkg => {}
                    Some(p) => problems.push(format!(
                        "{rel}: {call}\"{what}\", \"{pkg}\") but scripts/test installs it from {p}"
                    )),
                    None => problems.push(format!(
                        "{rel}: {call}\"{what}\", \"{pkg}\"): not in scripts/test's TOOLS table"
                    )),
                }
            }
        }
    }
    assert!(seen > 20, "only {seen} calls found: the scan is broken");
    assert!(
        problems.is_empty(),
        "add these to the TOOLS table of scripts/test (program, Debian package):\n{}",
        problems.join("\n")
    );
}

#[test]
fn no_test_announces_a_skip_and_passes() {
    let mut found = Vec::new();
    for (path, src) in sources() {
        for (n, line) in src.lines().enumerate() {
            let l = line.trim_start().to_ascii_lowercase();
            if l.starts_with("eprintln!(\"skip") || l.starts_with("println!(\"skip") {
                found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "a test that prints \"skipped\" and returns counts as passed: use \
         fieldattest_tests::require_tool/require_path (fail) or #[ignore = \"needs root: ...\"] \
         + require_root:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_table_checks_what_it_claims() {
    // The table has the packages the issue's prerequisites come from.
    let table = tools_table();
    for (what, pkg) in [
        ("rpmbuild", "rpm"),
        ("chromium", "chromium"),
        ("/bin/busybox", "busybox"),
        ("sshd", "openssh-server"),
        ("debootstrap", "debootstrap"),
        ("dpkg-query", "dpkg"),
        ("openssl", "openssl"),
        ("mknod", "coreutils"),
    ] {
        assert_eq!(table.get(what).map(String::as_str), Some(pkg), "{what}");
    }
    // The call scanner: literals only, whole identifiers only.
    let s = r#"Command::new("a") Command::new(x) require_tool("b", "pb"); my_require("c", "d") require("e", "f")"#;
    assert_eq!(
        literal_calls(s, "Command::new("),
        vec![vec!["a".to_string()]]
    );
    assert_eq!(
        literal_calls(s, "require("),
        vec![vec!["e".to_string(), "f".to_string()]]
    );
}
