//! The collector's command line: every subcommand answers `--help` and `-h`
//! with exit 0 and its own usage text (not the global one), refuses an
//! unknown option with exit 2 pointing at its help, and the global usage
//! lists every subcommand.

use fieldattest_tests::bin;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(bin("fieldattest-collector"))
        .args(args)
        .output()
        .unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The subcommands named in the global usage (the word after the program
/// name on each line of its `Usage:` block).
fn commands(usage: &str) -> Vec<String> {
    let mut v: Vec<String> = usage[usage.find("Usage:").unwrap()..]
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.trim().strip_prefix("fieldattest-collector "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    v.dedup();
    v
}

#[test]
fn every_subcommand_has_its_own_help_and_refuses_unknown_options() {
    let g = run(&["--help"]);
    assert_eq!(g.status.code(), Some(0));
    let global = out(&g);
    let cmds = commands(&global);
    for want in [
        "serve",
        "enroll-token",
        "approve",
        "revoke",
        "devices",
        "fleet",
        "audit",
        "device",
        "findings",
        "import",
        "catalog",
        "vulndb",
        "vulns",
        "vex",
        "report",
    ] {
        assert!(cmds.iter().any(|c| c == want), "{want} not in {cmds:?}");
    }
    for c in &cmds {
        let long = run(&[c, "--help"]);
        assert_eq!(long.status.code(), Some(0), "{c} --help: {}", err(&long));
        let text = out(&long);
        assert!(
            text.starts_with(&format!("fieldattest-collector {c} — ")),
            "{c}: {text}"
        );
        assert!(
            text.contains(&format!("\n  fieldattest-collector {c} ")),
            "{c}: {text}"
        );
        assert!(text.contains("Exit status"), "{c}: {text}");
        assert_ne!(text, global, "{c} --help printed the global usage");
        // No other subcommand's synopsis in it.
        for other in cmds.iter().filter(|o| *o != c) {
            assert!(
                !text.contains(&format!("  fieldattest-collector {other} ")),
                "{c} --help shows {other}: {text}"
            );
        }
        let short = run(&[c, "-h"]);
        assert_eq!(short.status.code(), Some(0), "{c} -h");
        assert_eq!(out(&short), text, "{c}: -h differs from --help");
        // --help wins over everything else on the line.
        // (`migrate` takes --from and --to, every other command --db.)
        let opt = if *c == "migrate" { "--from" } else { "--db" };
        let mixed = run(&[c, opt, "/nonexistent/x.db", "--help"]);
        assert_eq!(mixed.status.code(), Some(0), "{c}: {}", err(&mixed));
        assert_eq!(out(&mixed), text);
        let bad = run(&[c, "--no-such-option"]);
        assert_eq!(bad.status.code(), Some(2), "{c}: {}", err(&bad));
        assert!(
            err(&bad).contains(&format!("Try 'fieldattest-collector {c} --help'")),
            "{c}: {}",
            err(&bad)
        );
        assert!(out(&bad).is_empty());
    }
}

#[test]
fn options_of_one_command_are_refused_by_another_and_formats_are_checked() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("c.db");
    let db = db.to_str().unwrap();
    // --status belongs to `vex set`, --site to `enroll-token`.
    for args in [
        vec!["devices", "--status", "x", "--db", db],
        vec!["audit", "--site", "x", "--db", db],
        vec!["devices", "--format", "pdf", "--db", db],
        vec!["report", "1", "--format", "csv", "--db", db],
        vec!["report", "1", "--sl", "9", "--db", db],
        vec!["audit", "--limit", "many", "--db", db],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", err(&o));
        assert!(out(&o).is_empty(), "{args:?}");
    }
    // Options may come before the command, as before.
    let o = run(&["--db", db, "devices", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(out(&o).trim(), "[]");
    // No command, an unknown one: exit 2 with the global pointer.
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("Usage:"));
    let o = run(&["no-such-command"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("Try 'fieldattest-collector --help'"),
        "{}",
        err(&o)
    );
    let o = run(&["--version"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(out(&o).starts_with("fieldattest-collector "));
}
