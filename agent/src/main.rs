//! `fieldattest` command line. Exit codes (design.md): 0 clean, 1 findings at or
//! above `--fail-on`, 2 usage or configuration error, 3 the scan could not run.
#![forbid(unsafe_code)]

use fieldattest_agent::report::{self, Format};
use fieldattest_agent::root::RootFs;
use fieldattest_agent::ScanOptions;
use fieldattest_protocol::report::{FindingStatus, Severity};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
fieldattest — software inventory and IEC 62443-4-2 checks for embedded Linux devices

Usage:
  fieldattest scan [--root DIR] [--format text|json|cyclonedx] [--output FILE]
                   [--sl 1..4] [--accept FILE] [--fail-on SEVERITY]
                   [--cred-budget-ms MS] [--state-dir DIR] [--max-file-size BYTES]
  fieldattest rules [--format text|json]
  fieldattest --help | --version

Commands:
  scan    Inventory the software of this device (--root /, the default) or of an
          image / mounted rootfs (--root DIR), evaluate the IEC 62443-4-2 rules,
          and print the report.
  rules   Print the rule catalog with its IEC 62443-4-2 mappings.

Options:
  --root DIR            Root of the system to scan; nothing outside it is read
                        (symlinks are resolved inside it). Default: /
  --format FORMAT       text (default), json (fieldattest/report/v1) or
                        cyclonedx (CycloneDX 1.6 JSON SBOM)
  --output FILE         Write the report to FILE (atomically) instead of stdout
  --sl N                Target security level 1..4 (default 2)
  --accept FILE         TOML file of accepted findings with their compensating
                        countermeasure (IEC 62443-4-2 CCSC 2): [[accept]] rule,
                        subject (glob, optional), reason, expires (optional)
  --fail-on SEVERITY    Exit 1 when a finding at or above SEVERITY is not accepted
                        (critical, high, medium, low, info)
  --cred-budget-ms MS   CPU time for re-hashing candidate default passwords
                        (default 2000; 0 = unlimited). Coverage is reported.
  --state-dir DIR       Remember hashes already checked (keyed digests only), so
                        unchanged accounts cost nothing next time
  --max-file-size BYTES Refuse to read files larger than this whole (default 33554432)

Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage error,
3 the scan could not run.
";

struct ScanArgs {
    root: PathBuf,
    format: Format,
    output: Option<PathBuf>,
    sl: u8,
    fail_on: Option<Severity>,
    max_file: u64,
    accept: Option<PathBuf>,
    cred_budget_ms: u64,
    state_dir: Option<PathBuf>,
}

fn parse_severity(s: &str) -> Option<Severity> {
    Some(match s {
        "critical" => Severity::Critical,
        "high" => Severity::High,
        "medium" => Severity::Medium,
        "low" => Severity::Low,
        "info" => Severity::Info,
        _ => return None,
    })
}

fn usage_err(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("fieldattest: {msg}\nTry 'fieldattest --help'.");
    ExitCode::from(2)
}

fn parse_scan(mut p: lexopt::Parser) -> Result<ScanArgs, String> {
    use lexopt::prelude::*;
    let mut a = ScanArgs {
        root: PathBuf::from("/"),
        format: Format::Text,
        output: None,
        sl: 2,
        fail_on: None,
        max_file: fieldattest_agent::root::DEFAULT_MAX_FILE,
        accept: None,
        cred_budget_ms: 2000,
        state_dir: None,
    };
    let val = |p: &mut lexopt::Parser, name: &str| -> Result<String, String> {
        p.value()
            .map_err(|e| e.to_string())?
            .into_string()
            .map_err(|_| format!("{name}: value is not valid UTF-8"))
    };
    while let Some(arg) = p.next().map_err(|e| e.to_string())? {
        match arg {
            Long("root") => a.root = PathBuf::from(p.value().map_err(|e| e.to_string())?),
            Long("output") | Short('o') => {
                a.output = Some(PathBuf::from(p.value().map_err(|e| e.to_string())?))
            }
            Long("format") | Short('f') => {
                let v = val(&mut p, "--format")?;
                a.format = Format::parse(&v).ok_or_else(|| {
                    format!("--format: unknown format {v:?} (text, json, cyclonedx)")
                })?;
            }
            Long("sl") => {
                let v = val(&mut p, "--sl")?;
                a.sl = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=4).contains(n))
                    .ok_or_else(|| format!("--sl: {v:?} is not 1, 2, 3 or 4"))?;
            }
            Long("fail-on") => {
                let v = val(&mut p, "--fail-on")?;
                a.fail_on = Some(
                    parse_severity(&v)
                        .ok_or_else(|| format!("--fail-on: unknown severity {v:?}"))?,
                );
            }
            Long("max-file-size") => {
                let v = val(&mut p, "--max-file-size")?;
                a.max_file =
                    v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        format!("--max-file-size: {v:?} is not a positive number")
                    })?;
            }
            Long("cred-budget-ms") => {
                let v = val(&mut p, "--cred-budget-ms")?;
                a.cred_budget_ms = v
                    .parse()
                    .map_err(|_| format!("--cred-budget-ms: {v:?} is not a number"))?;
            }
            Long("state-dir") => {
                a.state_dir = Some(PathBuf::from(p.value().map_err(|e| e.to_string())?))
            }
            Long("accept") => a.accept = Some(PathBuf::from(p.value().map_err(|e| e.to_string())?)),
            Long("help") | Short('h') => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(other.unexpected().to_string()),
        }
    }
    Ok(a)
}

/// Reads and validates the accept file; errors are usage errors (exit 2).
fn load_accept(path: &Path) -> Result<Vec<fieldattest_agent::accept::Acceptance>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let ids: Vec<&str> = fieldattest_agent::rules::catalog()
        .iter()
        .map(|r| r.meta.id)
        .collect();
    let acc = fieldattest_agent::accept::parse(&text, &path.display().to_string(), &ids)?;
    let today = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d.as_secs() / 86_400) as i64)
        .unwrap_or(0);
    for a in acc
        .iter()
        .filter(|a| a.expires.map(|d| d < today).unwrap_or(false))
    {
        eprintln!(
            "fieldattest: warning: {}: acceptance of {} expired on {}; it no longer applies",
            path.display(),
            a.rule,
            a.expires_text.as_deref().unwrap_or("?")
        );
    }
    Ok(acc)
}

fn run_scan(a: ScanArgs) -> ExitCode {
    let accept = match a.accept.as_deref().map(load_accept).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(e) => {
            eprintln!("fieldattest: accept file: {e}");
            return ExitCode::from(2);
        }
    };
    let root = match RootFs::new(&a.root) {
        Ok(r) => r.with_max_file(a.max_file),
        Err(e) => {
            eprintln!("fieldattest: cannot scan root {e}");
            return ExitCode::from(3);
        }
    };
    let (rep, warnings) = fieldattest_agent::scan_with_warnings(
        &root,
        &ScanOptions {
            root_display: a.root.display().to_string(),
            target_sl: a.sl,
            accept,
            cred_budget: (a.cred_budget_ms > 0)
                .then(|| std::time::Duration::from_millis(a.cred_budget_ms)),
            state_dir: a.state_dir.clone(),
        },
    );
    for w in &warnings {
        eprintln!("fieldattest: warning: {w}");
    }
    for e in &rep.inventory.errors {
        let line = e.line.map(|l| format!(":{l}")).unwrap_or_default();
        eprintln!(
            "fieldattest: warning: [{}] {}{}: {}",
            e.source, e.path, line, e.message
        );
    }
    let to_tty = a.output.is_none() && std::io::stdout().is_terminal();
    let out = match a.format {
        Format::Json => report::render_json(&rep),
        Format::Text => report::render_text(&rep, to_tty && std::env::var_os("NO_COLOR").is_none()),
        Format::CycloneDx => {
            let mut serial = [0u8; 16];
            if let Err(e) = getrandom::getrandom(&mut serial) {
                eprintln!("fieldattest: no randomness for the BOM serial number: {e}");
                return ExitCode::from(3);
            }
            report::render_cyclonedx(&rep, serial)
        }
    };
    let written = match &a.output {
        Some(p) => fieldattest_agent::state::write_atomic(p, out.as_bytes(), 0o644)
            .map_err(|e| format!("{}: {e}", p.display())),
        None => {
            let mut so = std::io::stdout().lock();
            so.write_all(out.as_bytes())
                .and_then(|_| so.flush())
                .map_err(|e| format!("stdout: {e}"))
        }
    };
    if let Err(e) = written {
        eprintln!("fieldattest: cannot write report: {e}");
        return ExitCode::from(3);
    }
    if let Some(th) = a.fail_on {
        if rep
            .findings
            .iter()
            .any(|f| f.status == FindingStatus::Fail && f.severity >= th)
        {
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}

fn run_rules(mut p: lexopt::Parser) -> ExitCode {
    use lexopt::prelude::*;
    let mut json = false;
    loop {
        match p.next() {
            Ok(None) => break,
            Ok(Some(Long("format") | Short('f'))) => match p.value().map(|v| v.into_string()) {
                Ok(Ok(v)) if v == "json" => json = true,
                Ok(Ok(v)) if v == "text" => json = false,
                _ => return usage_err("--format: text or json"),
            },
            Ok(Some(Long("help") | Short('h'))) => {
                print!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            Ok(Some(other)) => return usage_err(other.unexpected()),
            Err(e) => return usage_err(e),
        }
    }
    let cat = fieldattest_agent::rules::catalog();
    let out = if json {
        let v: Vec<serde_json::Value> = cat
            .iter()
            .map(|r| {
                let m = &r.meta;
                serde_json::json!({
                    "id": m.id,
                    "title": m.title,
                    "fr": m.fr,
                    "severity": report::severity_name(m.severity),
                    "iec62443": m.reqs.iter().map(|(req, sl)| serde_json::json!({"req": req, "sl": sl})).collect::<Vec<_>>(),
                    "min_sl": m.min_sl(),
                    "remediation": m.remediation,
                    "reference": m.reference,
                })
            })
            .collect();
        let mut s = serde_json::to_string_pretty(&serde_json::json!({"catalog": "fieldattest-ccsc", "version": report::AGENT_VERSION, "rules": v})).unwrap_or_default();
        s.push('\n');
        s
    } else {
        let mut s = format!("fieldattest rule catalog ({} rules)\n", cat.len());
        for r in &cat {
            let m = &r.meta;
            let reqs: Vec<String> = m
                .reqs
                .iter()
                .map(|(q, sl)| format!("{q} (SL{sl})"))
                .collect();
            s.push_str(&format!(
                "{:<40} {:<8} {}  {}\n    {}\n    ref: {}\n",
                m.id,
                report::severity_name(m.severity),
                m.fr,
                reqs.join(", "),
                m.title,
                m.reference
            ));
        }
        s
    };
    print!("{out}");
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_env();
    match p.next() {
        Ok(Some(Value(cmd))) => match cmd.to_str() {
            Some("scan") => match parse_scan(p) {
                Ok(a) => run_scan(a),
                Err(e) => usage_err(e),
            },
            Some("rules") => run_rules(p),
            _ => usage_err(format!("unknown command {:?}", cmd.to_string_lossy())),
        },
        Ok(Some(Long("help") | Short('h'))) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Some(Long("version") | Short('V'))) => {
            println!("fieldattest {}", report::AGENT_VERSION);
            ExitCode::SUCCESS
        }
        Ok(None) => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
        Ok(Some(other)) => usage_err(other.unexpected()),
        Err(e) => usage_err(e),
    }
}
