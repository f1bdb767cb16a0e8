//! `fieldattest scan`, and the scan it shares with `attest`.

use super::flags;
use super::{emit, usage_err, write_out, Command, Exit, Opts};
use fieldattest_protocol::report::{FindingStatus, Report};
use fieldattest_scan::report::{self, Format};
use fieldattest_scan::root::RootFs;
use fieldattest_scan::ScanOptions;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub const COMMAND: Command = Command {
    name: "scan",
    bit: flags::SCAN,
    usage: "\
fieldattest scan [--root DIR] [--format text|json|cyclonedx|spdx-json|spdx3]
                 [--output FILE] [--write FORMAT=FILE]... [--sl 1..4]
                 [--accept FILE] [--fail-on SEVERITY]
                 [--cred-budget-ms MS|unlimited] [--no-cred-check]
                 [--state-dir DIR] [--max-file-size BYTES] [--hardware-ids]",
    about: "Inventory the software of this device (--root /, the default) or of \
            an image / mounted rootfs (--root DIR), evaluate the IEC 62443-4-2 \
            rules, and print the report. --write renders more formats of the \
            same scan into files.",
    operands: &[],
    run,
};

/// Reads and validates the accept file; errors are usage errors (exit 2).
pub fn load_accept(path: &Path) -> Result<Vec<fieldattest_scan::accept::Acceptance>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let ids: Vec<&str> = fieldattest_scan::rules::catalog()
        .iter()
        .map(|r| r.meta.id)
        .collect();
    let acc = fieldattest_scan::accept::parse(&text, &path.display().to_string(), &ids)?;
    let today = super::now() / 86_400;
    for a in acc
        .iter()
        .filter(|a| a.expires.map(|d| d < today).unwrap_or(false))
    {
        say!(
            "fieldattest: warning: {}: acceptance of {} expired on {}; it no longer applies",
            path.display(),
            a.rule,
            a.expires_text.as_deref().unwrap_or("?")
        );
    }
    Ok(acc)
}

/// The scan shared by `scan` and `attest`: accept file (exit 2 when
/// malformed), root (exit 3 when unusable), the scan itself, and its warnings.
pub fn scan(o: &Opts, state_dir: Option<PathBuf>) -> Result<(RootFs, Report), Exit> {
    let accept = match o.accept.as_deref().map(load_accept).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(e) => {
            say!("fieldattest: accept file: {e}");
            return Err(Exit::Usage);
        }
    };
    let root = match RootFs::new(&o.root) {
        Ok(r) => r.with_max_file(o.max_file),
        Err(e) => {
            say!("fieldattest: cannot scan root {e}");
            return Err(Exit::Failed);
        }
    };
    let opts = ScanOptions {
        root_display: o.root.display().to_string(),
        target_sl: o.sl,
        accept,
        cred_budget: o.cred_budget_ms.map(std::time::Duration::from_millis),
        cred_skip: if o.no_cred_check {
            Some("--no-cred-check".into())
        } else if o.cred_budget_ms == Some(0) {
            Some("--cred-budget-ms 0".into())
        } else {
            None
        },
        state_dir,
        reveal_hardware_ids: o.hardware_ids,
    };
    let (rep, warnings) = fieldattest_scan::scan_with_warnings(&root, &opts);
    for w in &warnings {
        say!("fieldattest: warning: {w}");
    }
    Ok((root, rep))
}

/// `--format` (default text); an unknown one is a usage error.
pub fn format(o: &Opts) -> Result<Format, Exit> {
    match o.format.as_deref().map(|v| (v, Format::parse(v))) {
        None => Ok(Format::Text),
        Some((_, Some(f))) => Ok(f),
        Some((v, None)) => Err(usage_err(format_args!(
            "--format: unknown format {v:?} ({})",
            report::FORMATS
        ))),
    }
}

fn run(o: Opts) -> Exit {
    let format = match format(&o) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let (_, rep) = match scan(&o, o.state_dir.clone()) {
        Ok(x) => x,
        Err(code) => return code,
    };
    for e in &rep.inventory.errors {
        let line = e.line.map(|l| format!(":{l}")).unwrap_or_default();
        say!(
            "fieldattest: warning: [{}] {}{}: {}",
            e.source,
            e.path,
            line,
            e.message
        );
    }
    // Every rendering comes from this one scan: the --write files first,
    // then the report (--output, or stdout, the only place with colour).
    let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut serial = None;
    let outputs = o
        .writes
        .iter()
        .map(|(f, p)| (*f, Some(p)))
        .chain([(format, o.output.as_ref())]);
    for (f, path) in outputs {
        let out = match f {
            Format::Json => report::render_json(&rep),
            Format::Text => report::render_text(&rep, path.is_none() && colour),
            f => {
                if serial.is_none() {
                    let mut s = [0u8; 16];
                    if let Err(e) = getrandom::getrandom(&mut s) {
                        say!("fieldattest: no randomness for the BOM serial number: {e}");
                        return Exit::Failed;
                    }
                    serial = Some(s);
                }
                let serial = serial.unwrap_or_default();
                match f {
                    #[cfg(feature = "spdx")]
                    Format::Spdx(v) => match report::render_spdx(&rep, serial, v) {
                        Ok(s) => s,
                        Err(e) => {
                            say!("fieldattest: cannot render SPDX: {e}");
                            return Exit::Failed;
                        }
                    },
                    _ => report::render_cyclonedx(&rep, serial),
                }
            }
        };
        let written = match path {
            Some(p) => write_out(p, out.as_bytes(), 0o644).map_err(|e| {
                say!("fieldattest: cannot write report: {e}");
                Exit::Failed
            }),
            None => emit(&out),
        };
        if let Err(code) = written {
            return code;
        }
    }
    match o.fail_on {
        Some(th)
            if rep
                .findings
                .iter()
                .any(|f| f.status == FindingStatus::Fail && f.severity >= th) =>
        {
            Exit::Findings
        }
        _ => Exit::Clean,
    }
}
