//! Every subcommand of both binaries answers `SUB --help` with status 0 and
//! its own usage on stdout. The subcommands are read from each binary's
//! top-level usage text, so a new one is walked without touching this test.

use fieldattest_tests::bin;
use std::process::{Command, Output};

fn run(prog: &str, args: &[&str]) -> Output {
    Command::new(bin(prog)).args(args).output().unwrap()
}

/// The lines of the `Usage:` section of a help text (up to the first blank
/// line), trimmed.
fn usage_section(text: &str) -> Vec<&str> {
    let Some(i) = text.find("Usage:") else {
        return Vec::new();
    };
    text[i..]
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect()
}

/// The command words of a usage section: the word after `prog` on each
/// line (`a|b|c` split); options (`--help | --version`) are not commands.
fn words(prog: &str, line: &str) -> Vec<String> {
    let mut w = line.split_whitespace();
    if w.next() != Some(prog) {
        return Vec::new();
    }
    w.next()
        .unwrap_or("")
        .split('|')
        .filter(|c| !c.is_empty() && !c.starts_with('-'))
        .map(String::from)
        .collect()
}

/// The subcommands named in `prog --help`, in order, each once.
fn subcommands(prog: &str) -> Vec<String> {
    let o = run(prog, &["--help"]);
    assert_eq!(o.status.code(), Some(0), "{prog} --help");
    let text = String::from_utf8(o.stdout).unwrap();
    let mut subs: Vec<String> = Vec::new();
    for l in usage_section(&text) {
        for w in words(prog, l) {
            if !subs.contains(&w) {
                subs.push(w);
            }
        }
    }
    subs
}

/// Runs `prog SUB FLAG` for every subcommand; returns what is wrong.
fn check(prog: &str, flag: &str, min: usize) -> Vec<String> {
    let subs = subcommands(prog);
    assert!(subs.len() >= min, "{prog}: usage parsed as {subs:?}");
    let mut wrong = Vec::new();
    for sub in &subs {
        let o = run(prog, &[sub, flag]);
        let out = String::from_utf8_lossy(&o.stdout);
        let ctx = format!(
            "{prog} {sub} {flag} (status {:?}, stderr {:?})",
            o.status.code(),
            String::from_utf8_lossy(&o.stderr)
        );
        if o.status.code() != Some(0) {
            wrong.push(format!("{ctx}: status not 0"));
            continue;
        }
        // Its own usage: every line of the Usage section names SUB (a
        // shared line such as `devices|fleet|audit` counts).
        let usage = usage_section(&out);
        let naming = usage
            .iter()
            .filter(|l| words(prog, l).contains(sub))
            .count();
        let others: Vec<&&str> = usage
            .iter()
            .filter(|l| l.starts_with(&format!("{prog} ")) && !words(prog, l).contains(sub))
            .collect();
        if naming == 0 {
            wrong.push(format!("{ctx}: no usage naming '{prog} {sub}' in {out:?}"));
        } else if !others.is_empty() {
            wrong.push(format!("{ctx}: not its own usage, also {others:?}"));
        }
    }
    wrong
}

#[test]
fn every_agent_subcommand_answers_help_and_h_with_its_own_usage() {
    let mut wrong = check("fieldattest", "--help", 9);
    wrong.extend(check("fieldattest", "-h", 9));
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The walk can fail: a word that is not a subcommand is refused.
    let o = run("fieldattest", &["no-such-command", "--help"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
}

#[test]
fn every_collector_subcommand_answers_help_with_its_own_usage() {
    let wrong = check("fieldattest-collector", "--help", 15);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let o = run("fieldattest-collector", &["no-such-command", "--help"]);
    assert_ne!(o.status.code(), Some(0));
}
