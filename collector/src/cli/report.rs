//! report (the evidence report as JSON, HTML or PDF) and catalog import|list.

use super::{fail, find_device, misuse, open, warn, write_out, Command, Opts};
use crate::{emit, PROG};
use fieldattest_collector::fleet::sanitize;
use fieldattest_collector::store::Store;
use fieldattest_collector::{evidence, now, vuln};
use fieldattest_protocol::catalog::{Catalog, MAX_DOCUMENT};
use fieldattest_protocol::fsio;
use std::path::Path;
use std::process::ExitCode;

pub const REPORT: Command = Command {
    name: "report",
    synopsis: &["report DEVICE|--fleet --db PATH [--format json|html|pdf]\n                        [--sl N] [--output FILE] [--feed-max-age DURATION]"],
    about: "writes the IEC 62443-4-2 evidence report of a device or the fleet

Per foundational requirement: the requirements checked with the result of each
rule (metadata from the catalog of the agent version that signed the token),
the SL ceiling against the target --sl N (1..4, default 2), the attestation
they come from re-verified with the device key, the SBOM and HBOM digests and
the vulnerabilities with their VEX status, and how current the vulnerability
data is (feeds older than --feed-max-age, default 7d, are flagged). --fleet:
every active device. JSON by default; html is printable; pdf (needs --output)
is printed by headless Chromium. --output FILE writes a regular file
atomically (keeping its owner and mode), a device node or FIFO in place, and
follows a symlink to its target.",
    values: &["db", "sl", "output", "feed-max-age"],
    flags: &["fleet"],
    formats: &["json", "html", "pdf"],
    run: report,
};

fn report(o: &Opts) -> Result<(), ExitCode> {
    let store = open(o)?;
    let sl: u8 = o.number("sl", 2, "1..4").and_then(|n| {
        if (1..=4).contains(&n) {
            Ok(n)
        } else {
            Err(misuse("--sl: 1..4"))
        }
    })?;
    let ids: Vec<i64> = if o.flag("fleet") {
        store
            .devices()
            .map_err(fail)?
            .into_iter()
            .filter(|d| d.status == "active")
            .map(|d| d.id)
            .collect()
    } else {
        let found = o
            .pos
            .first()
            .map(|s| find_device(&*store, s))
            .transpose()
            .map_err(fail)?
            .flatten();
        match found {
            Some(id) => vec![id],
            None => return Err(misuse("report needs DEVICE or --fleet")),
        }
    };
    let ms = vuln::matches(&*store).map_err(fail)?;
    let max_age = super::vulns::max_age_option(o, "feed-max-age")?;
    let feeds = vuln::feeds::feed_status(&*store, now(), max_age).map_err(fail)?;
    let reports = ids
        .iter()
        .map(|id| evidence::device(&*store, *id, sl, &ms, &feeds))
        .collect::<Result<Vec<_>, _>>()
        .map_err(fail)?;
    let ts = fieldattest_collector::timestamp();
    let body = match o.format {
        "html" | "pdf" => evidence::html(&reports, &ts).into_bytes(),
        _ => serde_json::to_vec_pretty(&serde_json::json!({"generated": ts, "devices": reports}))
            .unwrap_or_default(),
    };
    match (o.format, o.path("output")) {
        ("pdf", Some(out)) => {
            let pdf = print_pdf(&body).map_err(fail)?;
            write_out(&out, &pdf).map_err(fail)?;
            say!("{PROG}: wrote {}", out.display());
            Ok(())
        }
        ("pdf", None) => Err(misuse("--format pdf needs --output FILE")),
        (_, Some(out)) => write_out(&out, &body).map_err(fail),
        (_, None) => emit(&body),
    }
}

/// Prints HTML to PDF with headless Chromium in a private work directory:
/// created by `mkdtemp` (mode 0700, an unpredictable name, never an
/// existing path someone else prepared, so a planted symlink is not
/// followed) and removed afterwards.
fn print_pdf(html: &[u8]) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::PermissionsExt;
    // tempfile's default for directories is 0777 less the umask.
    let dir = tempfile::Builder::new()
        .prefix("fieldattest-report-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .map_err(|e| format!("{}: {e}", std::env::temp_dir().display()))?;
    chromium_print(dir.path(), html)
}

fn chromium_print(dir: &Path, body: &[u8]) -> Result<Vec<u8>, String> {
    let html = dir.join("report.html");
    let out = dir.join("report.pdf");
    std::fs::write(&html, body).map_err(|e| format!("{}: {e}", html.display()))?;
    let st = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|b| {
            std::process::Command::new(b)
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-pdf-header-footer",
                ])
                .arg(format!("--user-data-dir={}", dir.join("profile").display()))
                .arg(format!("--print-to-pdf={}", out.display()))
                .arg(format!("file://{}", html.display()))
                .output()
                .ok()
        });
    match (st, std::fs::read(&out)) {
        (Some(o), Ok(pdf)) if o.status.success() => Ok(pdf),
        (Some(o), _) => Err(format!(
            "chromium --print-to-pdf failed: {}",
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )),
        (None, _) => {
            Err("PDF needs headless Chromium (chromium); use --format html and print it".into())
        }
    }
}

pub const CATALOG: Command = Command {
    name: "catalog",
    synopsis: &["catalog import FILE... --db PATH", "catalog list --db PATH"],
    about: "imports and lists rule catalogs of newer agents

catalog import adds the rule catalog of an agent newer than this collector
('fieldattest rules --format json' of that agent), so evidence reports show
its new rules with their metadata; a malformed catalog is refused (exit 1,
naming the file). catalog list shows the versions held (shipped and imported)
with their number of rules.",
    values: &["db"],
    flags: &[],
    formats: &[],
    run: catalog,
};

fn catalog(o: &Opts) -> Result<(), ExitCode> {
    let store = open(o)?;
    match o.pos.split_first() {
        Some((verb, files)) if verb == "import" && !files.is_empty() => {
            catalog_import(&*store, files)
        }
        Some((verb, [])) if verb == "list" => {
            let cs = evidence::catalogs(&*store).map_err(fail)?;
            let mut out = String::new();
            for v in cs.versions() {
                let n = cs.get(v).map(|c| c.rules.len()).unwrap_or(0);
                out.push_str(&format!("{}\t{n} rules\n", sanitize(v)));
            }
            emit(out)
        }
        _ => Err(misuse(
            "usage: catalog import FILE... --db PATH | catalog list --db PATH",
        )),
    }
}

/// Reads and checks one catalog document.
fn read_catalog(f: &str) -> Result<(Catalog, String), String> {
    let text = match std::fs::read(f) {
        Ok(b) if b.len() > MAX_DOCUMENT => Err("larger than 4 MiB".to_string()),
        Ok(b) => String::from_utf8(b).map_err(|_| "not UTF-8".to_string()),
        Err(e) => Err(e.to_string()),
    }?;
    Catalog::parse(&text).map(|c| (c, text))
}

fn catalog_import(store: &dyn Store, files: &[String]) -> Result<(), ExitCode> {
    let mut failed = false;
    for f in files {
        match read_catalog(f) {
            Ok((c, t)) => {
                store.put_catalog(&c.version, &t, now()).map_err(fail)?;
                emit(format!(
                    "catalog {} {}: {} rules imported\n",
                    sanitize(&c.agent),
                    sanitize(&c.version),
                    c.rules.len()
                ))?;
            }
            Err(e) => {
                warn(format!("catalog: {f}: {e}"));
                failed = true;
            }
        }
    }
    if failed {
        Err(ExitCode::from(1))
    } else {
        Ok(())
    }
}
